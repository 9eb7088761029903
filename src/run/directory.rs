//! The run directory: `run.json` (plan, machine, interpreters, summary) and
//! `trials.jsonl` (one trial per line, appended and flushed to disk as each
//! trial ends, so a crash or Ctrl-C loses nothing that finished).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::protocol::inside::InsideFile;
use crate::run::loaded::LoadedRun;
use crate::run::record::{RunFile, SCHEMA_VERSION, TrialRecord};
use crate::run::service::ServiceRun;

/// Name of the run file.
pub const RUN_FILE: &str = "run.json";
/// Name of the trials file.
pub const TRIALS_FILE: &str = "trials.jsonl";
/// The interpreters' inspections (`inside.json`), when the run made them.
pub const INSIDE_FILE: &str = "inside.json";
/// The `service` scenario's results.
pub const SERVICE_FILE: &str = "service.json";

/// An open run directory, ready to append trials.
pub struct RunDir {
    dir: PathBuf,
    trials: File,
}

impl RunDir {
    /// Creates a new run directory (it must not hold a run already) and writes
    /// its first `run.json`.
    pub fn create(dir: &Path, run: &RunFile) -> Result<RunDir> {
        if dir.join(RUN_FILE).exists() {
            bail!(
                "{} already holds a run: choose another --output, or continue it with --resume {}",
                dir.display(),
                crate::shell::quote_path(dir)
            );
        }
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "cannot create the run directory {}: choose another --output",
                dir.display()
            )
        })?;
        write_run_file(dir, run)?;
        let trials = open_trials(dir, true)?;
        Ok(RunDir {
            dir: dir.to_path_buf(),
            trials,
        })
    }

    /// Opens an existing run directory to append more trials (`--resume`).
    pub fn reopen(dir: &Path) -> Result<RunDir> {
        drop_partial_line(&dir.join(TRIALS_FILE))?;
        let trials = open_trials(dir, false)?;
        Ok(RunDir {
            dir: dir.to_path_buf(),
            trials,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Appends one trial as a JSON line and flushes it to disk before
    /// returning: the next trial starts only once this one is safe.
    pub fn append(&mut self, trial: &TrialRecord) -> Result<()> {
        let mut line = serde_json::to_vec(trial).context("cannot serialise a trial record")?;
        line.push(b'\n');
        self.trials
            .write_all(&line)
            .and_then(|()| self.trials.sync_data())
            .with_context(|| format!("cannot write {}", self.dir.join(TRIALS_FILE).display()))
    }

    /// Rewrites `run.json` (atomically: a reader sees the old or the new file).
    pub fn write_run(&self, run: &RunFile) -> Result<()> {
        write_run_file(&self.dir, run)
    }
}

/// Cuts a last line left half-written by a crash, so that appended trials
/// start on a line of their own.
fn drop_partial_line(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.set_len(keep as u64)
        .with_context(|| format!("cannot repair {}", path.display()))
}

fn open_trials(dir: &Path, create: bool) -> Result<File> {
    let path = dir.join(TRIALS_FILE);
    OpenOptions::new()
        .append(true)
        .create(create)
        .open(&path)
        .with_context(|| format!("cannot open {} for appending", path.display()))
}

fn write_run_file(dir: &Path, run: &RunFile) -> Result<()> {
    write_json(dir, RUN_FILE, run)
}

/// Writes `inside.json`: the interpreters' inspections (docs/inside-cpython.md).
pub fn write_inside(dir: &Path, inside: &InsideFile) -> Result<()> {
    write_json(dir, INSIDE_FILE, inside)
}

/// Reads `inside.json`: None when the run has none (made with `--no-inspect`
/// or before gil-lab inspected interpreters), an error when it is damaged.
pub fn read_inside(dir: &Path) -> Result<Option<InsideFile>> {
    read_optional_json(dir, INSIDE_FILE)
}

/// Writes `service.json`: the `service` scenario (docs/service.md).
pub fn write_service(dir: &Path, service: &ServiceRun) -> Result<()> {
    write_json(dir, SERVICE_FILE, service)
}

/// Reads `service.json`: None when the run had no `service` scenario.
pub fn read_service(dir: &Path) -> Result<Option<ServiceRun>> {
    read_optional_json(dir, SERVICE_FILE)
}

/// Reads the optional file `name` of a run directory: None when it is not
/// there, an error that says how to do without it when it is damaged.
fn read_optional_json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<T>> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).map(Some).with_context(|| {
        format!(
            "{} is damaged: delete it to view the run without it",
            path.display()
        )
    })
}

/// Writes `name` in `dir` as pretty JSON, through a staging file renamed
/// into place (a reader never sees half a file).
fn write_json<T: serde::Serialize>(dir: &Path, name: &str, value: &T) -> Result<()> {
    let path = dir.join(name);
    let staging = dir.join(format!(".{name}.tmp"));
    let mut text =
        serde_json::to_vec_pretty(value).with_context(|| format!("cannot serialise {name}"))?;
    text.push(b'\n');
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&staging)?;
        file.write_all(&text)?;
        file.sync_data()?;
        std::fs::rename(&staging, &path)
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// Reads a run directory: `run.json` and every complete line of
/// `trials.jsonl`, with the summary stored or computed ([`LoadedRun`]).
pub fn load(dir: &Path) -> Result<LoadedRun> {
    let mut loaded = LoadedRun::new(dir.to_path_buf(), read_run_file(dir)?, read_trials(dir)?);
    loaded.inside = read_inside(dir)?;
    loaded.service = read_service(dir)?;
    Ok(loaded)
}

/// Reads `run.json`, refusing a schema this gil-lab does not know.
pub fn read_run_file(dir: &Path) -> Result<RunFile> {
    let run_path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&run_path).with_context(|| {
        format!(
            "{} is not a gil-lab run directory (no readable {RUN_FILE})",
            dir.display()
        )
    })?;
    let schema = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("schema").and_then(|s| s.as_u64()));
    if schema != Some(u64::from(SCHEMA_VERSION)) {
        bail!(
            "{} has schema {}, this gil-lab reads schema {SCHEMA_VERSION}: use the gil-lab version that wrote it",
            run_path.display(),
            schema.map_or("(none)".to_string(), |s| s.to_string())
        );
    }
    serde_json::from_str(&text).with_context(|| format!("{} is damaged", run_path.display()))
}

/// Reads every complete line of `trials.jsonl` (none when it does not exist
/// yet). A last line cut short by a crash mid-write is ignored; any other bad
/// line is an error naming the line.
pub fn read_trials(dir: &Path) -> Result<Vec<TrialRecord>> {
    let trials_path = dir.join(TRIALS_FILE);
    let mut trials = Vec::new();
    if trials_path.exists() {
        let file = File::open(&trials_path)
            .with_context(|| format!("cannot read {}", trials_path.display()))?;
        let lines: Vec<String> = BufReader::new(file)
            .lines()
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("cannot read {}", trials_path.display()))?;
        let count = lines.len();
        for (n, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<TrialRecord>(line) {
                Ok(trial) => trials.push(trial),
                // Only the very last line can be half-written (the process
                // died mid-append); everything before it was flushed whole.
                Err(_) if n + 1 == count => {}
                Err(err) => bail!("{} line {}: {err}", trials_path.display(), n + 1),
            }
        }
    }
    Ok(trials)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::{cell, run_file, trial};

    #[test]
    fn trials_are_appended_and_read_back_and_a_cut_last_line_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let key = cell("py", "sequential", 1);
        let run = run_file(std::slice::from_ref(&key));
        let mut run_dir = RunDir::create(&dir, &run).unwrap();
        run_dir.append(&trial(0, &key, 0, true, 0.5)).unwrap();
        run_dir.append(&trial(1, &key, 1, false, 0.4)).unwrap();
        let loaded = load(&dir).unwrap();
        assert_eq!(loaded.run, run);
        assert_eq!(loaded.trials.len(), 2);
        assert_eq!(loaded.trials[1], trial(1, &key, 1, false, 0.4));

        // A crash in the middle of an append leaves half a line: it is
        // ignored on load and cut before the next append.
        drop(run_dir);
        let path = dir.join(TRIALS_FILE);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"schema\": 1, \"ind").unwrap();
        assert_eq!(load(&dir).unwrap().trials.len(), 2);
        let mut run_dir = RunDir::reopen(&dir).unwrap();
        run_dir.append(&trial(2, &key, 2, false, 0.4)).unwrap();
        let loaded = load(&dir).unwrap();
        assert_eq!(
            loaded.trials.iter().map(|t| t.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
    }

    #[test]
    fn refuses_to_overwrite_a_run_and_reads_only_known_schemas() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let run = run_file(&[cell("py", "sequential", 1)]);
        RunDir::create(&dir, &run).unwrap();
        let err = RunDir::create(&dir, &run).err().unwrap();
        assert!(err.to_string().contains("--resume"), "{err}");

        let text = std::fs::read_to_string(dir.join(RUN_FILE)).unwrap();
        std::fs::write(
            dir.join(RUN_FILE),
            text.replace("\"schema\": 1", "\"schema\": 99"),
        )
        .unwrap();
        let err = load(&dir).unwrap_err();
        assert!(err.to_string().contains("schema 99"), "{err}");

        let err = load(tmp.path()).unwrap_err();
        assert!(
            err.to_string().contains("not a gil-lab run directory"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let key = cell("py", "sequential", 1);
        let mut run_dir = RunDir::create(&dir, &run_file(std::slice::from_ref(&key))).unwrap();
        run_dir.append(&trial(0, &key, 0, false, 0.5)).unwrap();
        let path = dir.join(TRIALS_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.insert_str(0, "not json\n");
        std::fs::write(&path, text).unwrap();
        let err = load(&dir).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}

//! Running the build's tools (apt-get, uv, configure, make) with their whole
//! output kept in a log file, line by line, so that progress can be shown
//! while they run and the log explains a failure afterwards.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{Context, Result};

/// How a command is named in messages: the program and its arguments,
/// quoted so that it can be pasted into a shell.
pub fn describe(command: &Command) -> String {
    let words: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| word.to_string_lossy().into_owned())
        .collect();
    crate::shell::join(words.iter().map(String::as_str))
}

/// A build log: every command and every line it printed.
#[derive(Debug)]
pub struct Log {
    file: File,
    path: PathBuf,
}

impl Log {
    /// Creates (or truncates) the log at `path`.
    pub fn create(path: &Path) -> Result<Log> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let file = File::create(path)
            .with_context(|| format!("cannot create the log {}", path.display()))?;
        Ok(Log {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a line of gil-lab's own (what it decided and why).
    pub fn note(&mut self, line: &str) {
        // A log that cannot be written must not stop the install.
        let _ = writeln!(self.file, "# {line}");
    }

    /// The log's last `count` lines, for an error message.
    pub fn tail(&self, count: usize) -> String {
        tail(&self.path, count)
    }
}

/// Runs `command` with stdout and stderr merged into one pipe (so lines keep
/// their order), appends every line to `log`, and calls `on_line` for each.
pub fn run_logged(
    mut command: Command,
    log: &mut Log,
    mut on_line: impl FnMut(&str),
) -> Result<ExitStatus> {
    let log = &mut log.file;
    let described = describe(&command);
    writeln!(log, "\n$ {described}").context("cannot write the build log")?;
    let (reader, writer) = std::io::pipe().context("cannot create a pipe")?;
    command
        .stdin(Stdio::null())
        .stdout(writer.try_clone().context("cannot duplicate a pipe")?)
        .stderr(writer);
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start `{described}`"))?;
    // The Command still holds the pipe's write ends: drop it, or the reader
    // would never see end-of-file.
    drop(command);
    let mut lines = BufReader::new(reader);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let read = lines
            .read_until(b'\n', &mut buffer)
            .context("cannot read a child's output")?;
        if read == 0 {
            break;
        }
        log.write_all(&buffer)
            .context("cannot write the build log")?;
        // Compilers print file names in the system's encoding: be lenient.
        on_line(String::from_utf8_lossy(&buffer).trim_end());
    }
    let status = child
        .wait()
        .with_context(|| format!("cannot wait for `{described}`"))?;
    writeln!(log, "[exit: {status}]").context("cannot write the build log")?;
    Ok(status)
}

/// The last `count` lines of a log file, for an error message.
pub fn tail(path: &Path, count: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(count);
    lines[start..].join("\n")
}

/// Whether a program can be found on PATH (and is a file we could run).
pub fn on_path(program: &str) -> bool {
    find_on_path(program).is_some()
}

/// Where a program is on PATH (a file we could run), if anywhere.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate.is_file()
                && std::fs::metadata(candidate)
                    .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
                    .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_both_streams_in_order_and_reports_the_status() {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("log");
        let mut log = Log::create(&log_path).unwrap();
        let mut command = Command::new("sh");
        command.args(["-c", "echo one; echo two >&2; echo three; exit 3"]);
        let mut seen = Vec::new();
        let status = run_logged(command, &mut log, |line| seen.push(line.to_string())).unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(seen, ["one", "two", "three"]);
        assert_eq!(tail(&log_path, 2), "three\n[exit: exit status: 3]");
    }

    #[test]
    fn finds_programs_on_path() {
        assert!(on_path("sh"));
        assert!(!on_path("surely-no-such-program-gil-lab"));
    }
}

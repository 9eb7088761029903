//! What `gil-lab learn` keeps between sessions: which lessons ran, when, and
//! what each one measured and explained (`progress.json` in the learning
//! directory). `gil-lab learn` resumes at the first lesson not in it, and
//! the notebook page (`learn.html`) is drawn from it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The file of the progress, in the learning directory.
pub const PROGRESS_FILE: &str = "progress.json";

/// Version of `progress.json`; a file of another version is started afresh.
pub const PROGRESS_SCHEMA: u32 = 1;

/// Every lesson run so far.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    /// [`PROGRESS_SCHEMA`].
    pub schema: u32,
    /// The lessons run, one entry per lesson (the latest run of it), in
    /// lesson order.
    pub lessons: Vec<LessonResult>,
}

/// What one lesson measured and said.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LessonResult {
    /// 1 to 6.
    pub number: u8,
    /// The lesson's title.
    pub title: String,
    /// When the lesson's experiment ended (UTC, RFC 3339).
    pub finished_at: String,
    /// The figures of the experiment, each with the file it was read from.
    pub figures: Vec<Figure>,
    /// What the lesson shows: explanations, code, tables, drawings, in order.
    pub blocks: Vec<Block>,
    /// What could not be measured here, and how to get it.
    pub missing: Vec<String>,
    /// The commands that go deeper.
    pub deeper: Vec<String>,
    /// Run directories (`gil-lab bench`) the experiment made.
    pub runs: Vec<PathBuf>,
}

/// One measured figure of a lesson.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Figure {
    /// What it is (`cpu threads ×2 speedup on CPython 3.13.5`).
    pub name: String,
    /// Its value, in the unit of `unit`.
    pub value: f64,
    /// `s`, `×`, `%`, `ms`, ...
    pub unit: String,
    /// Where it was read from: a run directory's `run.json`, or the
    /// experiment's own output.
    pub source: String,
}

/// One piece of a lesson's page.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A heading.
    Heading {
        /// Its text.
        text: String,
    },
    /// A paragraph in plain words.
    Text {
        /// Its text.
        text: String,
    },
    /// Code or command output, shown as is.
    Code {
        /// What it is.
        caption: String,
        /// The text.
        text: String,
    },
    /// A table.
    Table {
        /// Column headings.
        header: Vec<String>,
        /// Rows, one cell per heading.
        rows: Vec<Vec<String>>,
    },
    /// A drawing (SVG) for the notebook page; the terminal names it only.
    Drawing {
        /// What it shows.
        caption: String,
        /// The SVG markup, made by the dashboard's drawing code.
        svg: String,
    },
}

impl Progress {
    /// Reads `progress.json` from `dir`; nothing yet (or another version):
    /// empty.
    pub fn load(dir: &Path) -> Result<Progress> {
        let path = dir.join(PROGRESS_FILE);
        if !path.exists() {
            return Ok(Progress::new());
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let progress: Progress = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not gil-lab's progress file: remove it, or choose another --dir",
                path.display()
            )
        })?;
        Ok(if progress.schema == PROGRESS_SCHEMA {
            progress
        } else {
            Progress::new()
        })
    }

    /// No lesson run.
    pub fn new() -> Progress {
        Progress {
            schema: PROGRESS_SCHEMA,
            lessons: Vec::new(),
        }
    }

    /// Writes it to `dir` (through a temporary file: a stopped session
    /// never leaves half a file).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(PROGRESS_FILE);
        let tmp = dir.join(format!("{PROGRESS_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self).context("cannot write the progress")?;
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Records a lesson's result, replacing an earlier run of it.
    pub fn record(&mut self, result: LessonResult) {
        self.lessons.retain(|l| l.number != result.number);
        self.lessons.push(result);
        self.lessons.sort_by_key(|l| l.number);
    }

    /// The lesson numbered `number`, when it ran.
    pub fn lesson(&self, number: u8) -> Option<&LessonResult> {
        self.lessons.iter().find(|l| l.number == number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(number: u8) -> LessonResult {
        LessonResult {
            number,
            title: format!("lesson {number}"),
            finished_at: "2025-01-01T00:00:00Z".into(),
            figures: vec![],
            blocks: vec![Block::Text { text: "x".into() }],
            missing: vec![],
            deeper: vec![],
            runs: vec![],
        }
    }

    #[test]
    fn progress_round_trips_and_keeps_the_latest_run_of_a_lesson() {
        let dir = tempfile::tempdir().unwrap();
        let mut progress = Progress::load(dir.path()).unwrap();
        assert!(progress.lessons.is_empty());
        progress.record(result(3));
        progress.record(result(1));
        let mut again = result(3);
        again.title = "again".into();
        progress.record(again);
        progress.save(dir.path()).unwrap();
        let read = Progress::load(dir.path()).unwrap();
        let numbers: Vec<u8> = read.lessons.iter().map(|l| l.number).collect();
        assert_eq!(numbers, [1, 3]);
        assert_eq!(read.lesson(3).unwrap().title, "again");
        std::fs::write(dir.path().join(PROGRESS_FILE), "[]").unwrap();
        let err = Progress::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("--dir"), "{err}");
    }
}

//! The lab notebook: `learn.html` in the learning directory, every lesson
//! run so far with its results and explanations, in the dashboard's look
//! (its stylesheet, through the dashboard's template environment).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use minijinja::context;

use super::lessons::LESSONS;
use super::progress::Progress;

/// The notebook's file name.
pub const NOTEBOOK_FILE: &str = "learn.html";

/// Renders the notebook page of `progress`.
pub fn render(progress: &Progress) -> Result<String> {
    let mut env = crate::dashboard::report::environment()?;
    env.add_template("learn.html", include_str!("templates/learn.html"))
        .map_err(|e| anyhow!("the notebook template does not parse: {e:#}"))?;
    let lessons: Vec<_> = LESSONS
        .iter()
        .map(|l| {
            minijinja::context! {
                number => l.number,
                title => l.title,
                question => l.question,
                result => minijinja::Value::from(minijinja::value::Serde(progress.lesson(l.number))),
            }
        })
        .collect();
    env.get_template("learn.html")
        .and_then(|t| {
            t.render(context! {
                lessons => lessons,
                version => env!("CARGO_PKG_VERSION"),
            })
        })
        .map_err(|e| anyhow!("cannot render the notebook: {e:#}"))
}

/// Writes `learn.html` into `dir`; returns its path.
pub fn write(progress: &Progress, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(NOTEBOOK_FILE);
    std::fs::write(&path, render(progress)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

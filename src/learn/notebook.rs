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
    env.add_filter("inline_code", |text: &str| inline_code(text));
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

/// A paragraph's text as HTML: escaped first, then each `x` between
/// backticks shown as code (an unmatched backtick stays as it is).
fn inline_code(text: &str) -> minijinja::Value {
    let escaped = minijinja::HtmlEscape(text).to_string();
    let pieces: Vec<&str> = escaped.split('`').collect();
    let mut html = String::with_capacity(escaped.len());
    for (i, piece) in pieces.iter().enumerate() {
        match (i % 2 == 1, i + 1 < pieces.len()) {
            (true, true) => {
                html.push_str("<code>");
                html.push_str(piece);
                html.push_str("</code>");
            }
            (true, false) => {
                html.push('`');
                html.push_str(piece);
            }
            (false, _) => html.push_str(piece),
        }
    }
    minijinja::Value::from_safe_string(html)
}

/// Writes `learn.html` into `dir`; returns its path.
pub fn write(progress: &Progress, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(NOTEBOOK_FILE);
    std::fs::write(&path, render(progress)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_code_is_escaped_before_it_is_marked_up() {
        assert_eq!(
            inline_code("run `gil-lab learn 3` & <b>look</b>").to_string(),
            "run <code>gil-lab learn 3</code> &amp; &lt;b&gt;look&lt;&#x2f;b&gt;"
        );
        assert_eq!(
            inline_code("`<script>alert(1)</script>`").to_string(),
            "<code>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</code>"
        );
        assert_eq!(inline_code("a ` alone").to_string(), "a ` alone");
    }
}

//! How a lesson reads on the terminal: its blocks in order (paragraphs
//! wrapped, code indented, tables drawn with comfy-table, drawings named),
//! then what is missing and the commands that go deeper; and `--list`.

use std::io::Write;
use std::path::Path;

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::lessons::LESSONS;
use super::progress::{Block, LessonResult, Progress};

/// Width paragraphs are wrapped to.
const WIDTH: usize = 88;

/// `text` wrapped at [`WIDTH`] columns, each line indented by `indent`.
fn wrap(text: &str, indent: &str) -> String {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > WIDTH {
            lines.push(format!("{indent}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(format!("{indent}{line}"));
    }
    lines.join("\n")
}

/// Prints one lesson's result.
pub fn print(out: &mut dyn Write, result: &LessonResult) -> std::io::Result<()> {
    for block in &result.blocks {
        match block {
            Block::Heading { text } => writeln!(out, "\n{text}")?,
            Block::Text { text } => writeln!(out, "{}", wrap(text, "  "))?,
            Block::Code { caption, text } => {
                writeln!(out, "  ┌ {caption}")?;
                for line in text.lines() {
                    writeln!(out, "  │ {line}")?;
                }
            }
            Block::Table { header, rows } => {
                let mut table = Table::new();
                table.load_style(UTF8_FULL_CONDENSED).set_header(header);
                for row in rows {
                    table.add_row(row);
                }
                for line in table.to_string().lines() {
                    writeln!(out, "  {line}")?;
                }
            }
            Block::Drawing { caption, .. } => {
                writeln!(out, "  (drawing in the notebook page: {caption})")?
            }
        }
    }
    if !result.missing.is_empty() {
        writeln!(out, "\nNot measured here:")?;
        for m in &result.missing {
            writeln!(out, "{}", wrap(&format!("- {m}"), "  "))?;
        }
    }
    if !result.deeper.is_empty() {
        writeln!(out, "\nGoing deeper:")?;
        for c in &result.deeper {
            writeln!(out, "  $ {c}")?;
        }
    }
    Ok(())
}

/// `gil-lab learn --list`.
pub fn list(out: &mut dyn Write, progress: &Progress, dir: &Path) -> std::io::Result<()> {
    for lesson in &LESSONS {
        let done = progress.lesson(lesson.number);
        writeln!(
            out,
            "{} {}. {}{}\n     {}",
            if done.is_some() { "✓" } else { " " },
            lesson.number,
            lesson.title,
            done.map(|d| format!(" (ran {})", d.finished_at))
                .unwrap_or_default(),
            lesson.question
        )?;
    }
    writeln!(out, "Learning directory: {}", dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_within_the_width() {
        let text = "word ".repeat(60);
        let wrapped = wrap(&text, "  ");
        assert!(wrapped.lines().all(|l| l.chars().count() <= WIDTH + 2));
        assert_eq!(wrapped.split_whitespace().count(), 60);
    }
}

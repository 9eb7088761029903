//! The plain tables of the `gil-lab python` commands: no borders, a bold
//! header, colour only where it helps and only on a terminal.

use std::io::IsTerminal;

use comfy_table::{Attribute, Cell, Table, presets};

/// Colour only on a terminal, and never when NO_COLOR is set (no-color.org).
pub fn use_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// An empty table with these column titles; styled (colours, bold) only
/// when `colour` is true.
pub fn new(titles: &[&str], colour: bool) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    if colour {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table.set_header(
        titles
            .iter()
            .map(|title| Cell::new(title).add_attribute(Attribute::Bold)),
    );
    table
}

/// The table as text ending in a newline. comfy-table pads every line to
/// the full width; trailing spaces only get in the way of copying and of
/// `diff`, so they are cut.
pub fn render(table: &Table) -> String {
    let mut text: String = table
        .to_string()
        .lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect();
    if text.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_without_trailing_spaces_or_colour() {
        let mut table = new(&["a", "long title"], false);
        table.add_row(vec!["1", ""]);
        let text = render(&table);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.lines().all(|line| !line.ends_with(' ')), "{text:?}");
        assert!(text.ends_with('\n') && !text.contains('\u{1b}'));
        assert!(render(&new(&["a"], true)).contains('\u{1b}'));
    }
}

//! `gil-lab inspect` in the terminal: the interpreters side by side (what
//! each offers, the specialised share of each unit's hot functions, the
//! collector's work), and with `--dis` each hot function's bytecode before
//! and after specialisation.

use std::fmt::Write as _;

use comfy_table::Cell;

use crate::interpreters::table;
use crate::protocol::inside::{
    InsideFile, InsideReport, Inspection, InspectionOutcome, Unit, common_functions, counts_text,
};

/// The features' rows: key and the words a reader knows.
const FEATURES: [(&str, &str); 7] = [
    ("gil", "GIL"),
    ("specializing_interpreter", "specialising interpreter"),
    ("jit", "JIT compiler"),
    ("gc", "garbage collector"),
    ("immortal_objects", "immortal objects"),
    ("biased_reference_counting", "biased reference counting"),
    ("mimalloc", "mimalloc allocator"),
];

/// The whole text of `gil-lab inspect`.
pub fn render(inside: &InsideFile, listings: bool, colour: bool) -> String {
    let answered: Vec<(&Inspection, &InsideReport)> = inside
        .inspections
        .iter()
        .filter_map(|i| i.report().map(|r| (i, r)))
        .collect();
    let mut out = String::new();
    for inspection in &inside.inspections {
        if let InspectionOutcome::Failed(why) = &inspection.outcome {
            let _ = writeln!(out, "{}: no inspection: {why}", inspection.label);
        }
    }
    if answered.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "Inside CPython: the hot functions of each unit after {} warm-up tasks, on {} interpreter{}\n",
        inside.tasks,
        answered.len(),
        if answered.len() == 1 { "" } else { "s" }
    );
    out.push_str(&features_table(&answered, colour));
    out.push('\n');
    out.push_str(&specialisation_table(&answered, colour));
    out.push_str(&top_specialisations(&answered));
    out.push('\n');
    out.push_str(&memory_table(&answered, colour));
    if listings {
        for unit in unit_names(&answered) {
            out.push('\n');
            out.push_str(&listing(&answered, &unit));
        }
    } else {
        out.push_str("\n`gil-lab inspect --dis` shows each hot function's bytecode before and after specialisation.\n");
    }
    out.push_str("What every figure means: docs/inside-cpython.md\n");
    out
}

fn titles<'a>(first: &[&'a str], answered: &'a [(&Inspection, &InsideReport)]) -> Vec<&'a str> {
    first
        .iter()
        .copied()
        .chain(answered.iter().map(|(i, _)| i.label.as_str()))
        .collect()
}

/// `on`, `off`, `absent`; the collector's row says which kind.
fn feature_text(report: &InsideReport, key: &str) -> String {
    report
        .feature(key)
        .map_or_else(|| "-".into(), |f| f.cell_text())
}

fn features_table(answered: &[(&Inspection, &InsideReport)], colour: bool) -> String {
    let mut out = String::from("What each interpreter offers\n");
    let mut features = table::new(&titles(&["feature"], answered), colour);
    for (key, words) in FEATURES {
        let row = std::iter::once(Cell::new(words)).chain(
            answered
                .iter()
                .map(|(_, r)| Cell::new(feature_text(r, key))),
        );
        features.add_row(row.collect::<Vec<_>>());
    }
    out.push_str(&table::render(&features));
    out
}

fn unit_names(answered: &[(&Inspection, &InsideReport)]) -> Vec<String> {
    crate::protocol::inside::unit_names(answered.iter().map(|(_, r)| *r))
}

/// `50/56 (89%)`, `absent`, or `-` where the unit was not inspected.
pub fn share_text(unit: Option<&Unit>) -> String {
    unit.map_or_else(|| "-".into(), Unit::share_text)
}

/// Each interpreter's share of `unit`, over the hot functions every
/// specialising interpreter reported (their own sets where they share none).
fn comparable_shares(answered: &[(&Inspection, &InsideReport)], unit: &str) -> Vec<String> {
    let specialising: Vec<&Unit> = answered
        .iter()
        .filter_map(|(_, r)| r.unit(unit))
        .filter(|u| u.specialisation.is_some())
        .collect();
    let common = common_functions(&specialising);
    answered
        .iter()
        .map(|(_, r)| match r.unit(unit) {
            Some(u) if !common.is_empty() => u
                .counts_over(&common)
                .map_or_else(|| u.share_text(), |(a, b)| counts_text(a, b)),
            other => share_text(other),
        })
        .collect()
}

fn specialisation_table(answered: &[(&Inspection, &InsideReport)], colour: bool) -> String {
    let mut out = String::from(
        "Specialised instructions in each unit's hot functions (specialised / specialisable, after warm-up;\nover the hot functions the interpreters have in common)\n",
    );
    let mut shares = table::new(&titles(&["unit", "hottest function"], answered), colour);
    for name in unit_names(answered) {
        // As a specialising CPython profiles it (PyPy's JIT shifts the time
        // around; before 3.11 a code object has no qualified name).
        let hottest = answered
            .iter()
            .filter(|(_, r)| r.unit(&name).is_some_and(|u| u.specialisation.is_some()))
            .chain(answered.iter())
            .find_map(|(_, r)| r.unit(&name)?.functions.first())
            .map(|f| format!("{} ({:.0}%)", f.name, f.own_time_share * 100.0))
            .unwrap_or_default();
        let row = [Cell::new(&name), Cell::new(hottest)].into_iter().chain(
            comparable_shares(answered, &name)
                .into_iter()
                .map(Cell::new),
        );
        shares.add_row(row.collect::<Vec<_>>());
    }
    out.push_str(&table::render(&shares));
    out
}

fn top_specialisations(answered: &[(&Inspection, &InsideReport)]) -> String {
    let mut out = String::new();
    for (inspection, report) in answered {
        let top = report.top_specialisations();
        if top.is_empty() {
            continue;
        }
        let words: Vec<String> = top
            .iter()
            .take(5)
            .map(|(n, c)| format!("{n} ×{c}"))
            .collect();
        let _ = writeln!(
            out,
            "  most frequent on {}: {}",
            inspection.label,
            words.join(", ")
        );
    }
    out
}

fn memory_table(answered: &[(&Inspection, &InsideReport)], colour: bool) -> String {
    let mut out = String::from(
        "Memory management per task: the collector's runs by generation (young · middle · old; PyPy: minor · major)\nand the peak one task allocated (tracemalloc); 0 runs: reference counting freed every object the moment it was last used\n",
    );
    let mut memory = table::new(&titles(&["unit"], answered), colour);
    for name in unit_names(answered) {
        let row = std::iter::once(Cell::new(&name)).chain(
            answered
                .iter()
                .map(|(_, r)| Cell::new(crate::run::inside::memory_text(r.unit(&name)))),
        );
        memory.add_row(row.collect::<Vec<_>>());
    }
    out.push_str(&table::render(&memory));
    let thresholds: Vec<String> = answered
        .iter()
        .filter_map(|(i, r)| {
            let t = r.gc_thresholds.as_ref()?;
            let t: Vec<String> = t.iter().map(u64::to_string).collect();
            Some(format!("{} ({})", i.label, t.join(", ")))
        })
        .collect();
    if !thresholds.is_empty() {
        let _ = writeln!(out, "  collector thresholds: {}", thresholds.join("; "));
    }
    out
}

/// The hottest function of `unit` on every interpreter, one listing per
/// distinct bytecode, with each interpreter's specialised form beside it.
fn listing(answered: &[(&Inspection, &InsideReport)], unit: &str) -> String {
    let mut out = String::new();
    for group in crate::run::inside::listing_groups(answered, unit) {
        let function = group.function;
        let _ = writeln!(
            out,
            "{unit}: {} ({}:{}), {:.0}% of its time; bytecode of {}",
            function.name,
            function.file,
            function.line,
            function.own_time_share * 100.0,
            group.labels.join(", ")
        );
        let forms = &group.forms;
        let mut columns = vec!["offset", "line", "instruction", "argument"];
        columns.extend(group.labels.iter().map(String::as_str));
        let mut rows = table::new(&columns, false);
        for (n, instruction) in function.listing.iter().flatten().enumerate() {
            let mut row = vec![
                Cell::new(instruction.offset),
                Cell::new(instruction.line.map(|l| l.to_string()).unwrap_or_default()),
                Cell::new(&instruction.opname),
                Cell::new(shorten(&instruction.argrepr, 28)),
            ];
            for form in forms {
                let text = match form.get(n) {
                    Some(Some(name)) => format!("→ {name}"),
                    _ => "·".into(),
                };
                row.push(Cell::new(text));
            }
            rows.add_row(row);
        }
        out.push_str(&table::render(&rows));
    }
    out
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.into();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

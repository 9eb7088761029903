//! One hot function's bytecode in the dashboard's "Inside CPython" section:
//! every instruction as compiled, and beside it, per interpreter, the
//! specialised form the adaptive interpreter rewrote it into after warm-up
//! (interpreters whose function compiled to the same bytecode side by side).

use serde::Serialize;

use crate::protocol::inside::{InsideReport, Inspection};

/// The unit whose hottest function the page lists instruction by
/// instruction: short, and every build runs it.
const LISTED_UNIT: &str = "solver";

/// A hot function's bytecode, with each interpreter's specialised form.
#[derive(Debug, Clone, Serialize)]
pub struct ListingView {
    /// The unit.
    pub unit: String,
    /// The function's qualified name.
    pub function: String,
    /// `gil_lab/agents/solver.py:24`.
    pub location: String,
    /// Its share of the unit's own Python time, percent.
    pub own_time_pct: f64,
    /// Interpreters with this bytecode: the columns.
    pub interpreters: Vec<String>,
    /// Instructions each interpreter rewrote, per column.
    pub rewritten: Vec<usize>,
    /// The instructions.
    pub rows: Vec<ListingRow>,
}

/// One instruction of a listing.
#[derive(Debug, Clone, Serialize)]
pub struct ListingRow {
    /// Byte offset.
    pub offset: u32,
    /// The source line it starts.
    pub line: Option<u32>,
    /// The instruction as compiled.
    pub opname: String,
    /// Its argument.
    pub argrepr: String,
    /// Per column, the specialised form when it was rewritten.
    pub forms: Vec<Option<String>>,
    /// Some column rewrote it.
    pub rewritten: bool,
}

/// The hottest function of [`LISTED_UNIT`] (or of the first unit of `names`
/// with a listing), interpreters with the same bytecode side by side.
pub fn listings(answered: &[(&Inspection, &InsideReport)], names: &[String]) -> Vec<ListingView> {
    let listed = |r: &InsideReport, unit: &str| {
        r.unit(unit)
            .and_then(|u| u.functions.first())
            .is_some_and(|f| f.listing.is_some())
    };
    let Some(unit) = std::iter::once(LISTED_UNIT)
        .chain(names.iter().map(String::as_str))
        .find(|u| answered.iter().any(|(_, r)| listed(r, u)))
    else {
        return Vec::new();
    };
    crate::run::inside::listing_groups(answered, unit)
        .into_iter()
        .map(|group| {
            let (interpreters, function, columns) = (group.labels, group.function, group.forms);
            let rows: Vec<ListingRow> = function
                .listing
                .iter()
                .flatten()
                .enumerate()
                .map(|(n, i)| {
                    let forms: Vec<Option<String>> = columns
                        .iter()
                        .map(|c| c.get(n).cloned().flatten())
                        .collect();
                    ListingRow {
                        offset: i.offset,
                        line: i.line,
                        opname: i.opname.clone(),
                        argrepr: i.argrepr.clone(),
                        rewritten: forms.iter().any(Option::is_some),
                        forms,
                    }
                })
                .collect();
            ListingView {
                unit: unit.into(),
                location: format!("{}:{}", function.file, function.line),
                function: function.name.clone(),
                own_time_pct: function.own_time_share * 100.0,
                rewritten: (0..interpreters.len())
                    .map(|c| rows.iter().filter(|r| r.forms[c].is_some()).count())
                    .collect(),
                interpreters,
                rows,
            }
        })
        .collect()
}

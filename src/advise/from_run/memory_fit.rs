//! What `--memory-limit` says about a scenario's cells: the ones the kernel
//! stopped at the limit do not fit ("processes ×4 does not fit in 512 MB"),
//! and a recommended cell that was stopped now and then is a warning. A
//! team sizing a container reads which approach fits in it here.

use crate::run::format::format_bytes;

use super::super::advice::Recommendation;
use super::super::finding::Alternative;
use super::view::RunView;

/// Adds the cells of `scenario` that do not fit in the run's memory limit
/// to `rec`'s alternatives, and a warning when `picked` is one of them.
pub(super) fn memory_fit(
    view: &RunView,
    scenario: &str,
    picked: Option<&crate::run::record::CellKey>,
    rec: &mut Recommendation,
) {
    let Some(limit) = &view.loaded.run.settings.memory_limit else {
        return;
    };
    for cell in view
        .summary
        .cells
        .iter()
        .filter(|c| c.cell.scenario == scenario)
    {
        let Some(over) = &cell.over_memory_limit else {
            continue;
        };
        let name = view.name(&cell.cell);
        let peak = over
            .peak_bytes
            .map(|p| format!("; its cgroup peaked at {}", format_bytes(p)))
            .unwrap_or_default();
        let why = format!(
            "{}: the kernel stopped {} of its {} trials at --memory-limit ({}){peak}",
            over.words(),
            over.stopped,
            over.stopped + over.fitted,
            limit.enforced_by.describe()
        );
        if picked == Some(&cell.cell) {
            rec.warnings.push(format!("{name} {why}"));
        } else {
            rec.alternatives.push(Alternative {
                approach: name,
                why_not: why,
            });
        }
    }
    if let Some(picked) = picked
        && !view
            .summary
            .cells
            .iter()
            .any(|c| &c.cell == picked && c.over_memory_limit.is_some())
    {
        rec.costs.push(format!(
            "fits in {} MB (--memory-limit, enforced by {})",
            limit.mb,
            limit.enforced_by.describe()
        ));
    }
}

//! How every view writes the figures of a run: times, sizes, medians with
//! their CI, ratios with their CI. The terminal tables, the exports, the
//! advice, `compare` and the dashboard all use these, so one figure reads the
//! same everywhere.

use crate::run::record::{CellKey, Drift, RunFile, TimeSpent};
use crate::stats::{Estimate, Summary};

/// `212.3 ms` / `1.234 s`.
pub fn format_seconds(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.3} s")
    }
}

/// `212.3 ms ±1.2%`: a median with its CI half-width relative to it.
pub fn format_summary(summary: &Summary) -> String {
    format!(
        "{} ±{:.1}%",
        format_seconds(summary.median),
        summary.relative_half_width() * 100.0
    )
}

/// `1.93× (1.88–1.98)`.
pub fn format_ratio(estimate: &Estimate) -> String {
    format!(
        "{:.2}× ({:.2}–{:.2})",
        estimate.point, estimate.ci_low, estimate.ci_high
    )
}

/// `45.2 MiB`.
pub fn format_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = bytes as f64 / MIB;
    if mib >= 1024.0 {
        format!("{:.2} GiB", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB")
    }
}

/// How a cell is named for humans: `threads ×2 on CPython 3.13.5t`.
pub fn describe(run: &RunFile, cell: &CellKey) -> String {
    let label = run
        .interpreter(&cell.interpreter)
        .map_or(cell.interpreter.as_str(), |i| i.label.as_str());
    if cell.is_baseline() {
        format!("{} on {label}", cell.approach)
    } else {
        format!("{} ×{} on {label}", cell.approach, cell.workers)
    }
}

/// `Measuring: 92.7 s of the 110 s budget: 58.3 s screening, racing 12.0 s cpu + 20.3 s shared (24 rounds).`
pub fn format_time_spent(time: &TimeSpent, budget_s: f64) -> String {
    let racing: Vec<String> = time
        .racing_s
        .iter()
        .map(|(scenario, s)| format!("{s:.1} s {scenario}"))
        .collect();
    let overrun = if time.screening_s > budget_s && budget_s > 0.0 {
        "; screening alone took longer than the budget: the plan is too large for this machine (fewer interpreters with --python, or scenarios with --scenario)"
    } else {
        ""
    };
    format!(
        "Measuring: {:.1} s of the {budget_s:.0} s budget: {:.1} s screening, racing {} ({} rounds){overrun}.",
        // + 0.0: an empty sum of f64 is -0.0, which would print as "-0.0".
        time.measuring_s() + 0.0,
        time.screening_s + 0.0,
        if racing.is_empty() {
            "none".to_string()
        } else {
            racing.join(" + ")
        },
        time.rounds
    )
}

/// `Set-up: 2.1 s before the first round (...), not counted in the budget; 94.8 s in all.`
pub fn format_setup_time(time: &TimeSpent) -> String {
    format!(
        "Set-up: {:.1} s before the first round (finding and provisioning interpreters, the twin's check, inspection), not counted in the budget; {:.1} s in all.",
        time.startup_s,
        time.total_s()
    )
}

/// `Machine speed (reference loop before each round): 10.1 ms at the start, ...`
pub fn format_drift(drift: &Drift) -> String {
    format!(
        "Machine speed (gil-lab's reference loop, timed before each round): {} at the start, {} at the end ({:+.0}%), {}–{} over {} rounds.",
        format_seconds(drift.first_s),
        format_seconds(drift.last_s),
        drift.change() * 100.0,
        format_seconds(drift.min_s),
        format_seconds(drift.max_s),
        drift.rounds
    )
}

/// What follows a speedup beyond the cores wherever it is written:
/// ` ⚠ noise: more than the 2 usable cores allow`.
pub fn noise_note(cell: &crate::run::record::CellSummary) -> String {
    cell.speedup_flag.map_or(String::new(), |flag| {
        format!(
            " ⚠ noise: more than {} worker(s) on the usable cores allow for CPU-bound work",
            flag.limit
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Estimate;

    #[test]
    fn formats() {
        assert_eq!(format_seconds(0.2123), "212.3 ms");
        assert_eq!(format_seconds(1.5), "1.500 s");
        assert_eq!(format_bytes(47_395_635), "45.2 MiB");
        let e = Estimate {
            point: 1.934,
            ci_low: 1.88,
            ci_high: 1.981,
        };
        assert_eq!(format_ratio(&e), "1.93× (1.88–1.98)");
    }
}

//! What `gil-lab bench` shows: a progress bar with ETA and the current cell
//! while it runs (on stderr), then the lesson (CPU-bound against I/O-bound,
//! approach × build), per scenario a table of every cell, the verdict, the
//! warnings and where the time went (on stdout).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::run::format::{
    format_bytes, format_drift, format_ratio, format_seconds, format_summary, format_time_spent,
};
use crate::run::lesson::{HELPS_ABOVE, Helps, Lesson, lesson};
use crate::run::record::{
    CellState, CellSummary, InterpreterKind, RunFile, RunSummary, WarningKind,
};

/// Whether to colour what goes to stdout: a terminal, and NO_COLOR unset
/// (<https://no-color.org>).
pub fn colour_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The progress bar of a run (drawn on stderr when it is a terminal).
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` trials (the length grows if cells need more).
    pub fn new(total: u64, done: u64, visible: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(
            Some(total),
            if visible {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed:>4} [{bar:28}] {pos}/{len} trials, ETA {eta:>3}  {wide_msg}",
            )
            .expect("the progress template is valid")
            .progress_chars("=> "),
        );
        bar.set_position(done);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar }
    }

    /// Shows the cell about to run and the expected total.
    pub fn start_trial(&self, cell: &str, total: u64) {
        self.bar.set_length(total);
        self.bar.set_message(cell.to_string());
    }

    /// Counts a finished trial.
    pub fn finish_trial(&self) {
        self.bar.inc(1);
    }

    /// Prints a line above the bar.
    pub fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Rows of a scenario in display order: Python approaches in their usual
/// order (interpreters in plan order within each), the native twin last.
fn ordered<'a>(run: &RunFile, cells: &'a [CellSummary], scenario: &str) -> Vec<&'a CellSummary> {
    let is_native = |c: &CellSummary| {
        run.interpreter(&c.cell.interpreter)
            .is_some_and(|i| i.kind == InterpreterKind::Native)
    };
    let rank = |c: &CellSummary| (is_native(c), c.cell.approach.display_rank(), c.cell.workers);
    let mut rows: Vec<(usize, &CellSummary)> = cells
        .iter()
        .enumerate()
        .filter(|(_, c)| c.cell.scenario == scenario)
        .collect();
    rows.sort_by_key(|(i, c)| (rank(c), *i));
    rows.into_iter().map(|(_, c)| c).collect()
}

/// The table of one scenario.
fn scenario_table(run: &RunFile, summary: &RunSummary, scenario: &str, colour: bool) -> Table {
    let winner = summary
        .scenarios
        .iter()
        .find(|v| v.scenario == scenario)
        .and_then(|v| v.winner.clone());
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            "approach",
            "workers",
            "interpreter",
            "work ±CI",
            "speedup",
            "end-to-end",
            "efficiency",
            "parallelism",
            "memory (PSS)",
            "lock wait",
            "start + pool",
            "trials",
        ]);
    for cell in ordered(run, &summary.cells, scenario) {
        let label = run
            .interpreter(&cell.cell.interpreter)
            .map_or(cell.cell.interpreter.clone(), |i| i.label.clone());
        let dash = || "–".to_string();
        let (work, note) = match cell.state {
            CellState::Measured => (cell.work.as_ref().map_or_else(dash, format_summary), None),
            CellState::Skipped => ("skipped".into(), Some(Color::DarkGrey)),
            CellState::Failed => match &cell.over_memory_limit {
                Some(over) => (over.words(), Some(Color::Red)),
                None => ("FAILED".into(), Some(Color::Red)),
            },
            CellState::Pending => ("not run".into(), Some(Color::DarkGrey)),
        };
        let row = vec![
            cell.cell.approach.to_string(),
            cell.cell.workers.to_string(),
            label,
            work,
            cell.speedup.as_ref().map_or_else(dash, |s| {
                let noise = if cell.speedup_flag.is_some() {
                    " ⚠ noise"
                } else {
                    ""
                };
                format!("{}{noise}", format_ratio(s))
            }),
            cell.end_to_end_speedup
                .as_ref()
                .map_or_else(dash, format_ratio),
            cell.efficiency
                .map_or_else(dash, |e| format!("{:.0}%", e.point * 100.0)),
            match (&cell.parallelism, &cell.work_parallelism) {
                (Some(p), Some(w)) => format!("{:.2} (work {:.2})", p.median, w.median),
                (Some(p), None) => format!("{:.2}", p.median),
                _ => dash(),
            },
            match (&cell.over_memory_limit, cell.state) {
                (Some(over), CellState::Measured) => format!(
                    "{} ⚠ {}",
                    cell.peak_memory_bytes.map_or_else(dash, format_bytes),
                    over.words()
                ),
                _ => cell.peak_memory_bytes.map_or_else(dash, format_bytes),
            },
            cell.thread_states
                .map_or_else(dash, |s| format!("{:.0}%", s.lock_wait * 100.0)),
            cell.orchestration.as_ref().map_or_else(dash, |o| {
                format!(
                    "{} + {}",
                    format_seconds(o.interpreter_start_s),
                    format_seconds(o.pool_start_s)
                )
            }),
            {
                let failed = if cell.failed > 0 {
                    format!(" ({} failed)", cell.failed)
                } else {
                    String::new()
                };
                let stop = cell.stop.map_or("", |s| s.word());
                format!("{}{failed} {stop}", cell.trials)
                    .trim_end()
                    .to_string()
            },
        ];
        let is_winner = winner.as_ref() == Some(&cell.cell);
        table.add_row(row.into_iter().map(|text| {
            let mut c = Cell::new(text);
            if colour {
                if let Some(color) = note {
                    c = c.fg(color);
                } else if is_winner {
                    c = c.fg(Color::Green).add_attribute(Attribute::Bold);
                }
            }
            c
        }));
    }
    table
}

/// The lesson's matrix: approach × (scenario, build), speedups marked
/// ✓ helps, ✗ does not, ? unclear.
fn lesson_table(lesson: &Lesson, colour: bool) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    let mut header = vec!["approach".to_string()];
    header.extend(lesson.columns.iter().map(|c| c.label.clone()));
    table.set_header(header);
    for row in &lesson.rows {
        let mut cells = vec![Cell::new(row.approach.to_string())];
        for entry in &row.entries {
            cells.push(match entry {
                None => Cell::new("–"),
                Some(e) => {
                    let (mark, color) = match e.helps {
                        Helps::Yes => ("✓", Color::Green),
                        Helps::No => ("✗", Color::DarkGrey),
                        Helps::Unclear => ("?", Color::Yellow),
                    };
                    let noise = if e.noise { " ⚠" } else { "" };
                    let text = format!("{} ×{} {mark}{noise}", e.text, e.workers);
                    if colour {
                        Cell::new(text).fg(color)
                    } else {
                        Cell::new(text)
                    }
                }
            });
        }
        table.add_row(cells);
    }
    table
}

/// Writes the final report: the lesson (CPU-bound against I/O-bound), per
/// scenario a table and the verdict, then the warnings.
pub fn print_report(
    out: &mut dyn Write,
    run: &RunFile,
    summary: &RunSummary,
    trials: &[crate::run::record::TrialRecord],
    colour: bool,
) -> std::io::Result<()> {
    if let Some(mut lesson) = lesson(run, summary) {
        lesson.add_ceilings(trials);
        writeln!(
            out,
            "\nCPU-bound or I/O-bound? Speedup over sequential on the same interpreter, ×workers (✓ helps: its 95% CI above {HELPS_ABOVE}×; ✗ does not: its CI below, or, for CPU-bound work, its work phase used too few cores to be {HELPS_ABOVE}× faster; ? still open; ⚠ noise):"
        )?;
        writeln!(out, "{}", lesson_table(&lesson, colour))?;
        for conclusion in &lesson.conclusions {
            writeln!(out, "  - {conclusion}")?;
        }
        for line in &lesson.by_cores {
            writeln!(out, "  - {line}")?;
        }
        for line in &lesson.ceilings {
            writeln!(out, "  - Where the rest of the ideal went: {line}.")?;
        }
        if !lesson.open.is_empty() {
            let quick = if run.settings.preset == "quick" {
                " (--quick measures too little to settle the lesson: run `gil-lab bench`)"
            } else {
                ""
            };
            writeln!(out, "  Still open (?){quick}:")?;
            for line in &lesson.open {
                writeln!(out, "    {line}")?;
            }
        }
    }
    for verdict in &summary.scenarios {
        writeln!(
            out,
            "\nScenario `{}`: work = the runner's steady work phase (median, ±95% CI); speedup = `sequential` ÷ this, same interpreter, paired over the rounds both ran in (95% CI in brackets; ⚠ noise = more than the usable cores allow), end-to-end = the same with whole-trial wall time; start + pool = interpreter start-up/exit and pool start (medians); trials = measured trials and why they stopped",
            verdict.scenario
        )?;
        let native_scale = run
            .plan
            .iter()
            .filter(|p| p.cell.scenario == verdict.scenario)
            .filter(|p| {
                run.interpreter(&p.cell.interpreter)
                    .is_some_and(|i| i.kind == InterpreterKind::Native)
            })
            .map(|p| p.spec.scale)
            .next()
            .filter(|&scale| scale != run.settings.scale);
        if let Some(scale) = native_scale {
            writeln!(
                out,
                "(Python at scale {}; the native twin at scale {scale}, its work being much shorter: compare its speedups, not its times)",
                run.settings.scale
            )?;
        }
        writeln!(
            out,
            "{}",
            scenario_table(run, summary, &verdict.scenario, colour)
        )?;
        if let Some(note) = crate::run::builds::note(run, &verdict.scenario) {
            writeln!(out, "Builds differ: {note}")?;
        }
        writeln!(out, "Verdict: {}", verdict.explanation)?;
    }
    if !summary.warnings.is_empty() {
        writeln!(out, "\nWarnings:")?;
        for warning in &summary.warnings {
            let loud = matches!(warning.kind, WarningKind::Digest | WarningKind::Impossible);
            let line = format!("  - {}", warning.message);
            if colour && loud {
                writeln!(out, "\x1b[1;31m{line}\x1b[0m")?;
            } else {
                writeln!(out, "{line}")?;
            }
        }
    }
    let totals = &summary.totals;
    writeln!(
        out,
        "\n{} trials ({} measured, {} warmup, {} failed), {:.1} s of trials.",
        totals.trials,
        totals.measured,
        totals.warmups,
        totals.failed,
        // + 0.0: an empty sum of f64 is -0.0 (a run of the service scenario alone).
        totals.trial_time_s + 0.0
    )?;
    if let Some(time) = &run.time_spent {
        writeln!(out, "{}", format_time_spent(time, run.settings.budget_s))?;
        writeln!(out, "{}", crate::run::format::format_setup_time(time))?;
    }
    if let Some(drift) = &summary.drift {
        writeln!(out, "{}", format_drift(drift))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::analysis::summarize;
    use crate::run::fixtures::{cell, run_file, trial};
    use std::collections::BTreeMap;

    #[test]
    fn a_speedup_beyond_the_cores_is_never_shown_without_its_flag() {
        let sequential = cell("py", "sequential", 1);
        let processes = cell("py", "processes", 2);
        let run = run_file(&[sequential.clone(), processes.clone()]);
        let mut trials = Vec::new();
        for (round, jitter) in [0.0, 0.01, -0.01].iter().enumerate() {
            trials.push(trial(
                2 * round as u64,
                &sequential,
                round as u32,
                false,
                1.0,
            ));
            let fast = 0.38 + jitter;
            trials.push(trial(
                2 * round as u64 + 1,
                &processes,
                round as u32,
                false,
                fast,
            ));
        }
        let summary = summarize(&run, &trials, &BTreeMap::new(), &[]);
        let mut out = Vec::new();
        print_report(&mut out, &run, &summary, &[], false).unwrap();
        let text = String::from_utf8(out).unwrap();
        let row = text
            .lines()
            .find(|l| l.contains("processes") && l.contains("2.63× ("))
            .unwrap_or_else(|| panic!("no processes row in\n{text}"));
        assert!(row.contains("⚠ noise"), "{row}");
        assert!(text.contains("NOISE: processes ×2"), "{text}");
        // The lesson's matrix marks it too.
        assert!(text.contains("CPU-bound or I/O-bound?"), "{text}");
        let matrix_row = text
            .lines()
            .find(|l| l.contains("×2 ✓ ⚠"))
            .unwrap_or_default();
        assert!(matrix_row.contains("processes"), "{text}");
    }

    #[test]
    fn an_open_lesson_cell_and_the_set_up_are_said_apart() {
        let sequential = cell("py", "sequential", 1);
        let threads = cell("py", "threads", 2);
        let mut run = run_file(&[sequential.clone(), threads.clone()]);
        run.settings.preset = "quick".into();
        run.time_spent = Some(crate::run::record::TimeSpent {
            startup_s: 351.5,
            screening_s: 18.0,
            racing_s: BTreeMap::new(),
            rounds: 3,
        });
        let mut trials = Vec::new();
        // Threads all over the place: neither shown to help nor not to.
        for (round, work) in [0.6, 1.3, 0.8].into_iter().enumerate() {
            trials.push(trial(
                2 * round as u64,
                &sequential,
                round as u32,
                false,
                1.0,
            ));
            trials.push(trial(
                2 * round as u64 + 1,
                &threads,
                round as u32,
                false,
                work,
            ));
        }
        let summary = summarize(&run, &trials, &BTreeMap::new(), &[]);
        let mut out = Vec::new();
        print_report(&mut out, &run, &summary, &trials, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("Still open (?) (--quick measures too little to settle the lesson"),
            "{text}"
        );
        assert!(
            text.contains("threads ×2 on cpu (CPU-bound) · GIL: CI "),
            "{text}"
        );
        assert!(
            text.contains(
                "Measuring: 18.0 s of the 100 s budget: 18.0 s screening, racing none (3 rounds)."
            ),
            "{text}"
        );
        assert!(
            text.contains("Set-up: 351.5 s before the first round"),
            "{text}"
        );
    }
}

//! `gil-lab compare RUN_A RUN_B`: how each cell's work phase changed from one
//! run to another (e.g. before and after upgrading an interpreter or changing
//! the workload). Per cell present in both runs: the ratio of median
//! work-phase times B ÷ A with its 95% bootstrap CI, and a verdict from the
//! two-sided Mann-Whitney U test: B is `faster`, `slower`, or a `tie` when the
//! difference is within noise.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;

use crate::run::LoadedRun;
use crate::run::directory;
use crate::run::format::format_summary;
use crate::run::record::CellKey;
use crate::stats::{Comparison, DEFAULT_ALPHA, Summary, Verdict};

/// Seed of the bootstrap behind every interval `compare` shows: fixed, so
/// comparing the same runs twice prints the same numbers.
const SEED: u64 = 1;

/// Arguments of `gil-lab compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline run directory.
    #[arg(value_name = "RUN_A")]
    pub run_a: PathBuf,

    /// The run directory compared with the baseline.
    #[arg(value_name = "RUN_B")]
    pub run_b: PathBuf,

    /// Significance level: a change with a larger p-value is called a tie.
    #[arg(long, default_value_t = DEFAULT_ALPHA, value_parser = parse_alpha)]
    pub alpha: f64,

    /// Print the comparison as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// A level strictly between 0 and 1.
fn parse_alpha(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(alpha) if alpha > 0.0 && alpha < 1.0 => Ok(alpha),
        _ => Err(format!(
            "`{text}` is not a level between 0 and 1 (e.g. 0.05)"
        )),
    }
}

/// The change of one cell from run A to run B.
#[derive(Debug, Serialize)]
struct CellChange {
    /// The cell.
    cell: CellKey,
    /// Work-phase times of run A, seconds.
    a: Summary,
    /// Work-phase times of run B, seconds.
    b: Summary,
    /// B against A: verdict, ratio B ÷ A, Hodges-Lehmann shift B − A, test.
    comparison: Comparison,
}

/// What `compare` reports (also its `--json` document).
#[derive(Debug, Serialize)]
struct Report {
    /// The baseline run directory.
    run_a: PathBuf,
    /// The run compared with it.
    run_b: PathBuf,
    /// Significance level of the verdicts.
    alpha: f64,
    /// Cells with measured trials in both runs, in run A's order.
    cells: Vec<CellChange>,
    /// Cells measured only in run A.
    only_in_a: Vec<CellKey>,
    /// Cells measured only in run B.
    only_in_b: Vec<CellKey>,
    /// Reasons the runs may not be comparable.
    warnings: Vec<String>,
}

/// Work-phase times of every measured trial, per cell, in order of each
/// cell's first measured trial.
fn work_samples(run: &LoadedRun) -> Vec<(CellKey, Vec<f64>)> {
    let mut order: Vec<CellKey> = Vec::new();
    let mut samples: BTreeMap<CellKey, Vec<f64>> = BTreeMap::new();
    for trial in run.trials.iter().filter(|t| t.is_measured()) {
        if let Some(work) = trial.work_s() {
            if !samples.contains_key(&trial.cell) {
                order.push(trial.cell.clone());
            }
            samples.entry(trial.cell.clone()).or_default().push(work);
        }
    }
    order
        .into_iter()
        .map(|cell| {
            let values = samples.remove(&cell).unwrap_or_default();
            (cell, values)
        })
        .collect()
}

/// Differences in how the two runs were made that make times incomparable.
fn comparability_warnings(a: &LoadedRun, b: &LoadedRun) -> Vec<String> {
    let (sa, sb) = (&a.run.settings, &b.run.settings);
    let mut warnings = Vec::new();
    if sa.scale != sb.scale {
        warnings.push(format!(
            "the runs used different --scale ({} and {}): their times measure different amounts of work",
            sa.scale, sb.scale
        ));
    }
    if sa.seed != sb.seed {
        warnings.push(format!(
            "the runs used different --seed ({} and {}): their agents did different tasks",
            sa.seed, sb.seed
        ));
    }
    warnings
}

fn compare(a: &LoadedRun, b: &LoadedRun, alpha: f64) -> Result<Report> {
    let samples_a = work_samples(a);
    let samples_b: BTreeMap<CellKey, Vec<f64>> = work_samples(b).into_iter().collect();
    let mut cells = Vec::new();
    let mut only_in_a = Vec::new();
    for (cell, times_a) in &samples_a {
        match samples_b.get(cell) {
            Some(times_b) => cells.push(CellChange {
                cell: cell.clone(),
                a: Summary::of(times_a, SEED),
                b: Summary::of(times_b, SEED),
                comparison: Comparison::of(times_a, times_b, alpha, SEED),
            }),
            None => only_in_a.push(cell.clone()),
        }
    }
    let in_a: Vec<&CellKey> = samples_a.iter().map(|(cell, _)| cell).collect();
    let only_in_b: Vec<CellKey> = samples_b
        .keys()
        .filter(|cell| !in_a.contains(cell))
        .cloned()
        .collect();
    if cells.is_empty() {
        bail!(
            "{} and {} have no cell measured in both: compare runs of the same scenarios, interpreters, approaches and workers",
            a.dir.display(),
            b.dir.display()
        );
    }
    Ok(Report {
        run_a: a.dir.clone(),
        run_b: b.dir.clone(),
        alpha,
        cells,
        only_in_a,
        only_in_b,
        warnings: comparability_warnings(a, b),
    })
}

/// A ratio B ÷ A as a signed change with its CI: `-2.7% [-5.0%, -1.0%]`.
fn change(comparison: &Comparison) -> String {
    let percent = |ratio: f64| (ratio - 1.0) * 100.0;
    let ratio = &comparison.ratio;
    format!(
        "{:+.1}% [{:+.1}%, {:+.1}%]",
        percent(ratio.point),
        percent(ratio.ci_low),
        percent(ratio.ci_high)
    )
}

/// The report as a table for the terminal.
fn render(report: &Report) -> String {
    let header = [
        "cell".to_string(),
        "A median".to_string(),
        "B median".to_string(),
        "change B/A (95% CI)".to_string(),
        "p".to_string(),
        "B is".to_string(),
    ];
    let rows: Vec<[String; 6]> = report
        .cells
        .iter()
        .map(|c| {
            [
                c.cell.to_string(),
                format_summary(&c.a),
                format_summary(&c.b),
                change(&c.comparison),
                format!("{:.3}", c.comparison.test.p_value),
                c.comparison.verdict.to_string(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "A: {}", report.run_a.display());
    let _ = writeln!(out, "B: {}\n", report.run_b.display());
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (text, width))| {
                // The cell name reads best left-aligned, numbers right-aligned.
                if i == 0 || i == 5 {
                    format!("{text:<width$}")
                } else {
                    format!("{text:>width$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    let count = |verdict: Verdict| {
        report
            .cells
            .iter()
            .filter(|c| c.comparison.verdict == verdict)
            .count()
    };
    let _ = writeln!(
        out,
        "\nB against A: {} faster, {} slower, {} within noise (tie). Times are median work-phase \
         times ±95% CI half-width; faster/slower only when the Mann-Whitney U test gives p < {}.",
        count(Verdict::Faster),
        count(Verdict::Slower),
        count(Verdict::Tie),
        report.alpha
    );
    for (cells, run) in [(&report.only_in_a, "A"), (&report.only_in_b, "B")] {
        if !cells.is_empty() {
            let names: Vec<String> = cells.iter().map(CellKey::to_string).collect();
            let _ = writeln!(out, "Only in {run}: {}", names.join(", "));
        }
    }
    out
}

/// Runs `gil-lab compare`.
pub fn run(args: CompareArgs) -> Result<ExitCode> {
    let a = directory::load(&args.run_a).context("cannot read RUN_A")?;
    let b = directory::load(&args.run_b).context("cannot read RUN_B")?;
    let report = compare(&a, &b, args.alpha)?;
    if args.json {
        let text =
            serde_json::to_string_pretty(&report).context("cannot serialise the comparison")?;
        println!("{text}");
    } else {
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
        print!("{}", render(&report));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_must_be_a_level() {
        assert_eq!(parse_alpha("0.01"), Ok(0.01));
        assert!(parse_alpha("0").is_err());
        assert!(parse_alpha("1").is_err());
        assert!(parse_alpha("five").is_err());
    }

    #[test]
    fn changes_read_as_signed_percentages() {
        let c = Comparison::of(
            &[1.0, 1.01, 0.99, 1.0, 1.02],
            &[0.5, 0.51, 0.49, 0.5, 0.52],
            0.05,
            1,
        );
        assert!(change(&c).starts_with("-50.0% ["), "{}", change(&c));
        assert_eq!(c.verdict, Verdict::Faster);
    }
}

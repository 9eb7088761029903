//! Is the first run's answer the right one on this machine? Runs the default
//! `gil-lab bench` N times in a row (each a new run directory under a
//! temporary directory) and prints, per run: its wall time (the whole
//! command, set-up included) and its measuring time against the budget,
//! each scenario's verdict (winner, tie or undecided, and the recommended
//! cell), the lesson matrix's open (`?`) cells, and the relative half-width
//! of the 95% CI of the deciding cells (each verdict's leader and
//! runner-up). Figures to read, not pass/fail: how stable the answer is
//! depends on the machine and what else runs on it.
//!
//! `cargo bench --bench stability [-- --runs N] [-- BENCH ARGS...]`: N
//! defaults to 3; arguments after a second `--` go to `gil-lab bench`
//! (e.g. `--quick`, `--python 3.13 --python 3.13t`).

use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

fn main() {
    if let Err(err) = run() {
        eprintln!("Error: {err:#}");
        std::process::exit(1);
    }
}

/// `--runs N` (default 3) and the arguments after `--`; cargo's own
/// `--bench` flag is ignored.
fn args() -> Result<(usize, Vec<String>)> {
    let mut runs = 3;
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--runs" => {
                let value = args.next().context("--runs needs a number")?;
                runs = value
                    .parse()
                    .with_context(|| format!("--runs {value}: not a number"))?;
            }
            "--" => rest.extend(args.by_ref()),
            other => bail!("unknown argument {other}: use --runs N [-- BENCH ARGS...]"),
        }
    }
    Ok((runs, rest))
}

fn run() -> Result<()> {
    let (runs, extra) = args()?;
    let exe = env!("CARGO_BIN_EXE_gil-lab");
    let tmp = tempfile::tempdir().context("cannot make a temporary directory")?;
    println!(
        "gil-lab bench {} × {runs} (each line: one run)",
        extra.join(" ")
    );
    for n in 1..=runs {
        let output = tmp.path().join(format!("run-{n}"));
        let started = Instant::now();
        let out = Command::new(exe)
            .arg("bench")
            .args(&extra)
            .args(["--json", "--no-report", "--output"])
            .arg(&output)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .context("cannot run gil-lab bench")?;
        let wall = started.elapsed().as_secs_f64();
        let json: Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "run {n}: gil-lab bench printed no JSON (exit {})",
                out.status
            )
        })?;
        print_run(n, wall, &json, &output);
    }
    Ok(())
}

/// One run's lines.
fn print_run(n: usize, wall: f64, json: &Value, dir: &std::path::Path) {
    let budget = json["settings"]["budget_s"].as_f64().unwrap_or(0.0);
    let measuring = measuring_s(dir);
    println!(
        "\nrun {n}: {wall:.1} s wall ({} measuring of the {budget:.0} s budget)",
        measuring.map_or("?".into(), |m| format!("{m:.1} s"))
    );
    let cells = json["summary"]["cells"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for verdict in json["summary"]["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let scenario = verdict["scenario"].as_str().unwrap_or("?");
        let decision = verdict["decision"].as_str().unwrap_or("?");
        let recommended = json["advice"]["recommendations"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["topic"] == scenario)
            .map(|r| {
                format!(
                    "{} ×{} on {}",
                    r["approach"].as_str().unwrap_or("?"),
                    r["workers"].as_u64().unwrap_or(0),
                    r["interpreter"].as_str().unwrap_or("?")
                )
            })
            .unwrap_or_default();
        let widths: Vec<String> = [&verdict["winner"], &verdict["runner_up"]]
            .into_iter()
            .filter(|c| !c.is_null())
            .filter_map(|key| {
                let cell = cells.iter().find(|c| &c["cell"] == key)?;
                let work = &cell["work"];
                let (low, high, median) = (
                    work["ci_low"].as_f64()?,
                    work["ci_high"].as_f64()?,
                    work["median"].as_f64()?,
                );
                Some(format!(
                    "{} {}: ±{:.1}%",
                    key["approach"].as_str().unwrap_or("?"),
                    key["interpreter"].as_str().unwrap_or("?"),
                    (high - low) / 2.0 / median * 100.0
                ))
            })
            .collect();
        println!(
            "  {scenario}: {decision}; advice {recommended}; deciding cells' CI half-width {}",
            widths.join(", ")
        );
    }
    let open: Vec<&str> = json["lesson"]["open"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if open.is_empty() {
        println!("  lesson: no open (?) cell");
    } else {
        println!("  lesson: {} open (?) cell(s):", open.len());
        for line in open {
            println!("    {line}");
        }
    }
}

/// The run's measuring time (screening and racing), from its `run.json`.
fn measuring_s(dir: &std::path::Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("run.json")).ok()?;
    let run: Value = serde_json::from_str(&text).ok()?;
    let time = &run["time_spent"];
    let racing: f64 = time["racing_s"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_f64).sum())
        .unwrap_or(0.0);
    Some(time["screening_s"].as_f64()? + racing)
}

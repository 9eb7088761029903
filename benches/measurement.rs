//! How far gil-lab's own measurement can be trusted on this machine, as
//! figures with confidence intervals (not pass/fail: on a noisy VM a timing
//! bound either fails on noise or is too loose to mean anything).
//!
//! `cargo bench --bench measurement [-- --pairs N]` prints:
//! - **agreement with hyperfine**: the same command timed by gil-lab's trial
//!   and by `hyperfine -N --runs 1`, in pairs that run back to back, the
//!   order alternating from pair to pair so that neither timer always runs
//!   first. Each pair gives a ratio (gil-lab ÷ hyperfine) and a difference;
//!   their medians are shown with 95% bootstrap CIs. Two commands: a sleep
//!   (little CPU, so host noise barely touches it: a systematic offset in
//!   where either clock starts or stops shows up here, in milliseconds) and
//!   the workload's runner on the `cpu` scenario (what a trial really is).
//! - **the sampler's cost**: a 2-process × 2-thread spinning trial, with the
//!   sampler on and off in alternating pairs: the sampler's own CPU time as
//!   a share of the trial's wall time, and the paired ratio of wall times
//!   (sampler on ÷ off).
//!
//! Needs `hyperfine` (Debian package) and `/usr/bin/python3`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use gil_lab::bench::trial::{TrialCommand, TrialOptions, TrialOutcome, run_trial_with};
use gil_lab::stats::Summary;

const PYTHON: &str = "/usr/bin/python3";
const SEED: u64 = 17;

fn main() {
    if let Err(err) = run() {
        eprintln!("Error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let pairs = pairs_from_args()?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("gil-lab measurement benchmark: {pairs} pairs per figure, {cpus} cores\n");

    println!("wall time, gil-lab's trial vs hyperfine -N --runs 1 (paired, alternating order)");
    let sleep = python(&["-c", "import time; time.sleep(0.3)"], None);
    agreement("sleep 0.3 s", &sleep, pairs)?;
    let runner = python(
        &[
            "-m",
            "gil_lab.runner",
            r#"{"scenario":"cpu","approach":"sequential","workers":1,"scale":0.3,"seed":1}"#,
        ],
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("workload")),
    );
    agreement("runner, cpu scenario", &runner, pairs)?;

    println!(
        "\nthe sampler's cost (2 processes x 2 threads spinning 0.5 s each; on/off alternating)"
    );
    sampler_cost(pairs)?;
    Ok(())
}

/// `--pairs N` (default 30); cargo's own `--bench` flag is ignored.
fn pairs_from_args() -> Result<usize> {
    let mut pairs = 30;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--pairs" => {
                let value = args
                    .next()
                    .context("--pairs needs a number, e.g. --pairs 30")?;
                pairs = value
                    .parse()
                    .ok()
                    .filter(|&n: &usize| n >= 3)
                    .with_context(|| {
                        format!("--pairs {value}: give a whole number of 3 or more")
                    })?;
            }
            other => bail!("unknown argument {other}: the only option is --pairs N"),
        }
    }
    Ok(pairs)
}

/// `python3 -B ARGS` with only `LC_ALL` in its environment.
fn python(args: &[&str], cwd: Option<PathBuf>) -> TrialCommand {
    let mut all = vec![OsString::from("-B")];
    all.extend(args.iter().map(OsString::from));
    TrialCommand {
        program: PYTHON.into(),
        args: all,
        env: vec![("LC_ALL".into(), "C.UTF-8".into())],
        cwd,
    }
}

/// One trial, as `bench` runs it (sampler at its default interval) or
/// without the sampler.
fn trial(cmd: &TrialCommand, sampler: bool) -> Result<TrialOutcome> {
    let mut options = TrialOptions::new(Duration::from_secs(120));
    if !sampler {
        options.sample_interval = None;
    }
    let outcome = run_trial_with(cmd, &options, &AtomicBool::new(false))?;
    ensure!(
        outcome.exit.success(),
        "{} failed ({:?}): {}",
        cmd.program.display(),
        outcome.exit,
        outcome.stderr
    );
    Ok(outcome)
}

/// The wall time of one run of `cmd` as hyperfine measures it.
fn hyperfine(cmd: &TrialCommand) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let json = dir.path().join("hyperfine.json");
    // hyperfine splits its command line like a POSIX shell: quote each word.
    let quote = |word: &str| format!("'{}'", word.replace('\'', r"'\''"));
    let mut line = quote(&cmd.program.display().to_string());
    for arg in &cmd.args {
        line.push(' ');
        line.push_str(&quote(&arg.to_string_lossy()));
    }
    let status = Command::new("hyperfine")
        .args([
            "--shell=none",
            "--style=none",
            "--runs",
            "1",
            "--export-json",
        ])
        .arg(&json)
        .arg(&line)
        .current_dir(cmd.cwd.as_deref().unwrap_or(Path::new(".")))
        .env_clear()
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .status()
        .context("cannot run hyperfine: install it (apt-get install hyperfine)")?;
    ensure!(status.success(), "hyperfine failed on {line}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
    report["results"][0]["times"][0]
        .as_f64()
        .context("hyperfine's JSON has no results[0].times[0]")
}

/// Median with its 95% bootstrap CI, as `low..high`.
fn show(samples: &[f64], scale: f64, digits: usize) -> String {
    let s = Summary::of(samples, SEED);
    format!(
        "{:.d$} [{:.d$}, {:.d$}]",
        s.median * scale,
        s.ci_low * scale,
        s.ci_high * scale,
        d = digits
    )
}

fn agreement(label: &str, cmd: &TrialCommand, pairs: usize) -> Result<()> {
    // One warm-up of each, unmeasured: page cache, the runner's bytecode.
    trial(cmd, true)?;
    hyperfine(cmd)?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for pair in 0..pairs {
        let (gil_lab, hyperfine) = if pair % 2 == 0 {
            let h = hyperfine(cmd)?;
            (trial(cmd, true)?.wall_s, h)
        } else {
            let g = trial(cmd, true)?.wall_s;
            (g, hyperfine(cmd)?)
        };
        ours.push(gil_lab);
        theirs.push(hyperfine);
    }
    let ratios: Vec<f64> = ours.iter().zip(&theirs).map(|(g, h)| g / h).collect();
    let differences: Vec<f64> = ours.iter().zip(&theirs).map(|(g, h)| g - h).collect();
    let first = |wanted: usize| -> Vec<f64> {
        (0..pairs)
            .filter(|p| p % 2 == wanted)
            .map(|p| ratios[p])
            .collect()
    };
    println!("  {label}:");
    println!(
        "    median wall time     gil-lab {} s, hyperfine {} s",
        show(&ours, 1.0, 4),
        show(&theirs, 1.0, 4)
    );
    println!(
        "    gil-lab ÷ hyperfine  {}   (paired ratio; hyperfine first {}, gil-lab first {})",
        show(&ratios, 1.0, 4),
        show(&first(0), 1.0, 3),
        show(&first(1), 1.0, 3)
    );
    println!("    gil-lab − hyperfine  {} ms", show(&differences, 1e3, 2));
    Ok(())
}

fn sampler_cost(pairs: usize) -> Result<()> {
    let spin = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/spin.py");
    let cmd = python(
        &[
            &spin.to_string_lossy(),
            "--processes",
            "2",
            "--threads",
            "2",
            "--cpu",
            "0.5",
        ],
        None,
    );
    trial(&cmd, true)?;
    let (mut shares, mut ratios, mut per_sample_us) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..pairs {
        let (on, off) = if pair % 2 == 0 {
            let on = trial(&cmd, true)?;
            (on, trial(&cmd, false)?)
        } else {
            let off = trial(&cmd, false)?;
            (trial(&cmd, true)?, off)
        };
        let report = &on.sampler;
        ensure!(report.samples > 0, "the sampler took no sample");
        shares.push(report.cpu_s / on.wall_s);
        per_sample_us.push(report.cpu_s * 1e6 / f64::from(report.samples));
        ratios.push(on.wall_s / off.wall_s);
    }
    println!(
        "  sampler CPU ÷ trial wall time   {} %   (target: under 1% in a release build)",
        show(&shares, 100.0, 3)
    );
    println!(
        "  sampler CPU per sample          {} µs",
        show(&per_sample_us, 1.0, 1)
    );
    println!(
        "  wall time, sampler on ÷ off     {}   (paired)",
        show(&ratios, 1.0, 4)
    );
    Ok(())
}

//! The run loop on a noisy machine: a fake executor whose trials carry 20%
//! noise (σ of the log of each work time, like this 2-core VM's) and the
//! cores each cell's work phase used. The lesson's cells are decided within
//! the budget, set-up time never shortens the measurement, and the advice
//! of a run that ends undecided neither treats it as a tie nor recommends
//! threads on the GIL build for CPU-bound agents.

use std::sync::atomic::AtomicBool;

use super::*;
use crate::advise::for_run;
use crate::bench::executor::fake::{FakeExecutor, Scripted};
use crate::run::LoadedRun;
use crate::run::directory::{self, RunDir};
use crate::run::fixtures::run_file;
use crate::run::lesson::lesson;
use crate::vocabulary::Approach;

/// σ of the noise: 20% per trial.
const SIGMA: f64 = 0.20;

/// A fixed stream of standard normal numbers per (seed, cell, trial).
fn normal(seed: u64, cell: &CellKey, n: u32) -> f64 {
    let mut x = seed ^ u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in format!("{cell:?}").bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    let mut next = || {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let (u1, u2) = (next().max(1e-12), next());
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn key(scenario: &str, interpreter: &str, approach: Approach, workers: u32) -> CellKey {
    CellKey {
        scenario: scenario.into(),
        interpreter: interpreter.into(),
        approach,
        workers,
    }
}

/// `cpu` and `io` on a GIL build (`py`) and a free-threaded one (`pyt`):
/// (cell, median work time, cores used, worker threads). Under the GIL
/// threads take turns on one core; processes and free-threaded threads use
/// about 1.8 of the 2 cores; `io` waits.
fn cells() -> Vec<(CellKey, f64, f64, u32)> {
    use Approach::*;
    vec![
        (key("cpu", "py", Sequential, 1), 1.0, 1.0, 1),
        (key("cpu", "py", Threads, 2), 1.02, 1.0, 2),
        (key("cpu", "py", Processes, 2), 0.56, 1.8, 2),
        (key("cpu", "pyt", Sequential, 1), 1.3, 1.0, 1),
        (key("cpu", "pyt", Threads, 2), 0.74, 1.8, 2),
        (key("cpu", "pyt", Processes, 2), 0.74, 1.8, 2),
        (key("io", "py", Sequential, 1), 0.4, 0.1, 1),
        (key("io", "py", Threads, 4), 0.11, 0.36, 4),
        (key("io", "py", Processes, 4), 0.16, 0.3, 4),
        (key("io", "pyt", Sequential, 1), 0.4, 0.1, 1),
        (key("io", "pyt", Threads, 4), 0.11, 0.36, 4),
        (key("io", "pyt", Processes, 4), 0.16, 0.3, 4),
    ]
}

/// The run of [`cells`] with this budget, the default preset's rounds.
fn noisy_run(budget_s: f64) -> RunFile {
    let cells = cells();
    let keys: Vec<CellKey> = cells.iter().map(|c| c.0.clone()).collect();
    let mut run = run_file(&keys);
    crate::run::fixtures::with_free_threaded(&mut run);
    run.settings.warmup = 0;
    run.settings.min_runs = 3;
    run.settings.max_runs = 20;
    run.settings.target_rel_ci = 0.05;
    run.settings.budget_s = budget_s;
    run
}

/// A fake whose trials are [`cells`] with σ 20% noise.
fn noisy_fake(seed: u64) -> FakeExecutor {
    let cells = cells();
    FakeExecutor::new(move |cell, n| {
        let (_, work, cores, lanes) = cells
            .iter()
            .find(|c| &c.0 == cell)
            .cloned()
            .expect("a planned cell");
        Scripted::Measured {
            work_s: work * (SIGMA * normal(seed, cell, n)).exp(),
            cores,
            lanes,
        }
    })
}

/// Runs the loop after `startup_s` of set-up; the run (summary and time
/// included) and its trials.
fn run_noisy(run: &RunFile, fake: &mut FakeExecutor, startup_s: f64) -> LoadedRun {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run");
    let mut dir = RunDir::create(&path, run).unwrap();
    let mut state = RunState::new(run, &[]);
    state.add_startup(startup_s);
    let progress = Progress::new(0, 0, false);
    super::run(
        run,
        &mut state,
        &mut dir,
        fake,
        &AtomicBool::new(false),
        &progress,
    )
    .unwrap();
    progress.finish();
    let trials = directory::load(&path).unwrap().trials;
    let mut run = run.clone();
    run.time_spent = Some(state.time_spent().clone());
    run.summary = Some(analysis::summarize(&run, &trials, &state.stops(), &[]));
    LoadedRun::new(path, run, trials)
}

#[test]
fn the_lessons_cells_are_decided_within_the_budget_despite_the_noise() {
    for seed in 0..2 {
        let run = noisy_run(110.0);
        let loaded = run_noisy(&run, &mut noisy_fake(seed), 0.0);
        let lesson = lesson(&loaded.run, &loaded.summary).unwrap();
        assert!(lesson.open.is_empty(), "seed {seed}: {:?}", lesson.open);
        let time = loaded.run.time_spent.as_ref().unwrap();
        assert!(time.measuring_s() <= 110.0 + 10.0, "seed {seed}: {time:?}");
        // Threads under the GIL on `cpu`: decided by the cores, not the noise.
        assert!(
            lesson
                .by_cores
                .iter()
                .any(|l| l.starts_with("threads ×2 on cpu")
                    && l.contains("GIL:")
                    && l.contains("used 1.00 cores, 50% of its time waiting on the GIL")),
            "seed {seed}: {:?}",
            lesson.by_cores
        );
    }
}

#[test]
fn set_up_time_never_shortens_the_measurement() {
    let run = noisy_run(40.0);
    let quick_setup = run_noisy(&run, &mut noisy_fake(7), 0.5);
    let long_setup = run_noisy(&run, &mut noisy_fake(7), 351.5);
    let rounds = |l: &LoadedRun| l.run.time_spent.as_ref().unwrap().rounds;
    assert_eq!(rounds(&quick_setup), rounds(&long_setup));
    assert_eq!(quick_setup.trials.len(), long_setup.trials.len());
    assert!(rounds(&long_setup) > 3, "racing ran after the screening");
    let time = long_setup.run.time_spent.as_ref().unwrap();
    assert_eq!(time.startup_s, 351.5);
    assert!(time.measuring_s() < 40.0 + 10.0);
}

/// The recommendation for `cpu` and the summary of its cell.
fn cpu_pick(loaded: &LoadedRun) -> (&crate::run::record::CellSummary, bool) {
    let advice = for_run(loaded);
    let rec = advice
        .recommendations
        .iter()
        .find(|r| r.topic == "cpu")
        .unwrap();
    let free = rec.interpreter.ends_with("(free-threaded)");
    let cell = loaded
        .summary
        .cells
        .iter()
        .find(|c| {
            c.cell.scenario == "cpu"
                && c.cell.approach.name() == rec.approach
                && (c.cell.interpreter == "pyt") == free
        })
        .unwrap();
    (cell, rec.undecided)
}

#[test]
fn an_undecided_run_recommends_neither_an_unproven_cell_nor_gil_threads_for_cpu() {
    let mut undecided = 0;
    for seed in 0..6 {
        // Screening and little else: verdicts stay open.
        let run = noisy_run(25.0);
        let loaded = run_noisy(&run, &mut noisy_fake(seed), 0.0);
        let (pick, is_undecided) = cpu_pick(&loaded);
        let cpu: Vec<_> = loaded
            .summary
            .cells
            .iter()
            .filter(|c| c.cell.scenario == "cpu" && c.work.is_some())
            .collect();
        let established = |c: &crate::run::record::CellSummary| {
            !c.cell.is_baseline() && c.speedup.is_some_and(|s| s.ci_low > 1.0)
        };
        let fastest = cpu
            .iter()
            .min_by(|a, b| {
                let m = |c: &&&crate::run::record::CellSummary| c.work.as_ref().unwrap().median;
                m(a).total_cmp(&m(b))
            })
            .unwrap();
        if is_undecided {
            undecided += 1;
            if cpu.iter().any(|c| established(c)) {
                assert!(established(pick), "seed {seed}: {:?}", pick.cell);
            }
        }
        if pick.cell.approach == Approach::Threads && pick.cell.interpreter == "py" {
            assert_eq!(pick.cell, fastest.cell, "seed {seed}: GIL threads picked");
        }
    }
    assert!(undecided > 0, "some runs end undecided with this budget");
}

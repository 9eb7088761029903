//! Unit tests of the plan: presets, filters, interpreter choice, help.

use super::*;
use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    args: BenchArgs,
}

fn args(flags: &[&str]) -> BenchArgs {
    let mut argv = vec!["bench"];
    argv.extend_from_slice(flags);
    Wrapper::try_parse_from(argv).unwrap().args
}

pub(crate) fn python(id: &str, version: &str, free_threaded: bool) -> InterpreterRecord {
    InterpreterRecord {
        id: id.into(),
        label: format!("CPython {version}{}", if free_threaded { "t" } else { "" }),
        kind: InterpreterKind::Python,
        path: PathBuf::from(format!("/nonexistent/{id}")),
        flags: vec![],
        implementation: "CPython".into(),
        version: version.into(),
        free_threaded,
        gil_forced: None,
        facts: None,
    }
}

fn twin() -> InterpreterRecord {
    InterpreterRecord {
        kind: InterpreterKind::Native,
        implementation: "native".into(),
        ..python("native", "0.1.0", false)
    }
}

fn found() -> Vec<InterpreterRecord> {
    vec![
        python("cpython-3.9.18", "3.9.18", false),
        python("cpython-3.12.1", "3.12.1", false),
        python("cpython-3.13.0", "3.13.0", false),
        python("cpython-3.13.5", "3.13.5", false),
        python("cpython-3.13.5t", "3.13.5", true),
    ]
}

#[test]
fn default_plan_pairs_the_free_threaded_build_with_its_default_build() {
    let plan = build(&args(&[]), &found(), Some(twin()), 2).unwrap();
    let ids: Vec<&str> = plan.interpreters.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "cpython-3.13.5",
            "cpython-3.13.5t",
            "cpython-3.13.5t-gil1",
            "native"
        ]
    );
    assert_eq!(plan.interpreters[2].flags, ["-X", "gil=1"]);
    // cpu, shared, io: 2 builds × 6 approaches, the forced-GIL control's
    // sequential and threads, and the twin's 3 (io: 5) approaches.
    assert_eq!(plan.cells.len(), 2 * (2 * 6 + 2 + 3) + (2 * 6 + 2 + 5));
    let control: Vec<Approach> = plan
        .cells
        .iter()
        .filter(|c| c.interpreter == "cpython-3.13.5t-gil1" && c.scenario == "cpu")
        .map(|c| c.approach)
        .collect();
    assert_eq!(control, [Approach::Sequential, Approach::Threads]);
    let latency = |plan: &Plan| {
        plan.settings
            .llm
            .as_ref()
            .unwrap()
            .server
            .as_ref()
            .unwrap()
            .latency
            .latency_ms
    };
    assert_eq!(latency(&plan), 20.0);
    // Asked for: every approach on the control too; mixed as well.
    let plan = build(
        &args(&[
            "--scenario",
            "cpu,io,mixed",
            "--approach",
            "sequential,threads,processes,interpreters,asyncio,asyncio+threads",
        ]),
        &found(),
        Some(twin()),
        2,
    )
    .unwrap();
    assert_eq!(plan.cells.len(), (3 * 6 + 3) + 2 * (3 * 6 + 5));
    assert!(plan.cells.iter().all(|c| c.workers
        == match (c.approach, c.scenario.as_str()) {
            (Approach::Sequential, _) => 1,
            (_, "io" | "mixed") => 4,
            _ => 2,
        }));
    let full = build(&args(&["--full", "--scenario", "io"]), &found(), None, 2).unwrap();
    assert_eq!(latency(&full), crate::llm::bench::BENCH_LATENCY_MS);
    assert!(plan.settings.llm.is_some());
    assert_eq!(plan.cells[0].approach, Approach::Sequential);
    assert_eq!(plan.settings.min_runs, 3);
}

#[test]
fn a_probed_forced_gil_variant_from_discovery_is_used() {
    let mut found = found();
    let probed = InterpreterRecord {
        label: "probed with -X gil=1".into(),
        ..forced_gil_variant(&found[4])
    };
    found.push(probed.clone());
    let plan = build(&args(&["--no-twin"]), &found, None, 2).unwrap();
    assert_eq!(plan.interpreters.len(), 3);
    assert_eq!(plan.interpreters[2], probed);
}

#[test]
fn without_free_threaded_build_the_newest_default_build_is_used() {
    let found: Vec<_> = found().into_iter().filter(|i| !i.free_threaded).collect();
    let plan = build(&args(&["--no-twin"]), &found, Some(twin()), 2).unwrap();
    let ids: Vec<&str> = plan.interpreters.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["cpython-3.13.5"]);
}

#[test]
fn filters_narrow_the_plan_but_keep_the_baseline() {
    let plan = build(
        &args(&[
            "--scenario",
            "cpu",
            "--approach",
            "threads",
            "--python",
            "3.12",
            "--workers",
            "1,4",
        ]),
        &found(),
        None,
        2,
    )
    .unwrap();
    let cells: Vec<String> = plan.cells.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        cells,
        [
            "cpu/cpython-3.12.1/sequential/1",
            "cpu/cpython-3.12.1/threads/1",
            "cpu/cpython-3.12.1/threads/4"
        ]
    );
}

#[test]
fn full_takes_every_supported_interpreter_and_worker_counts() {
    let mut found = found();
    found.push(InterpreterRecord {
        implementation: "PyPy".into(),
        ..python("pypy-3.9.16", "3.9.16", false)
    });
    let plan = build(&args(&["--full", "--scenario", "cpu"]), &found, None, 2).unwrap();
    assert!(
        plan.interpreters.iter().any(|i| i.id == "pypy-3.9.16"),
        "PyPy 3.9 runs the workload"
    );
    assert!(
        !plan.interpreters.iter().any(|i| i.id == "cpython-3.9.18"),
        "CPython 3.9 does not"
    );
    let plan = build(
        &args(&["--full", "--scenario", "cpu"]),
        &found[..5],
        None,
        2,
    )
    .unwrap();
    assert_eq!(
        plan.interpreters.len(),
        5,
        "3.9 is left out, 3.13.5t gets its GIL variant"
    );
    let workers: Vec<u32> = plan
        .cells
        .iter()
        .filter(|c| c.approach == Approach::Threads && c.interpreter == "cpython-3.12.1")
        .map(|c| c.workers)
        .collect();
    assert_eq!(workers, [1, 2, 4, 8]);
}

#[test]
fn runs_and_bad_selectors() {
    let plan = build(&args(&["--runs", "7", "--quick"]), &found(), None, 2).unwrap();
    assert_eq!((plan.settings.min_runs, plan.settings.max_runs), (7, 7));
    let err = build(&args(&["--python", "3.11"]), &found(), None, 2).unwrap_err();
    assert!(err.to_string().contains("--python 3.11"), "{err}");
    let err = build(&args(&["--python", "three"]), &found(), None, 2).unwrap_err();
    assert!(err.to_string().contains("expected a path"), "{err}");
    let err = build(
        &args(&["--min-runs", "9", "--max-runs", "3"]),
        &found(),
        None,
        2,
    )
    .unwrap_err();
    assert!(err.to_string().contains("--max-runs"), "{err}");
}

#[test]
fn help_states_the_preset_defaults() {
    use clap::CommandFactory;
    let help = Wrapper::command()
        .term_width(10_000)
        .render_help()
        .to_string();
    let expected = [
        format!(
            "[default: {}; --quick {}; --full {}]",
            DEFAULT.scale, QUICK.scale, FULL.scale
        ),
        format!("[default: {}; --full {}]", DEFAULT.min_runs, FULL.min_runs),
        format!(
            "[default: {}; --quick {}; --full {}]",
            DEFAULT.max_runs, QUICK.max_runs, FULL.max_runs
        ),
        format!(
            "[default: {}; --quick {}; --full {}]",
            DEFAULT.warmup, QUICK.warmup, FULL.warmup
        ),
        format!(
            "[default: {}; --quick {}; --full {}]",
            DEFAULT.budget_s, QUICK.budget_s, FULL.budget_s
        ),
        format!("[default: {}]", DEFAULT_TIMEOUT_S),
        format!("[default: {}]", DEFAULT_TARGET_REL_CI * 100.0),
        format!("[default: {}]", crate::run::verdict::DEFAULT_MARGIN * 100.0),
        format!("[default: {}]", DEFAULT_SEED),
        format!("[default: {NATIVE_SCALE_FACTOR} × the scale]"),
    ];
    assert_eq!(QUICK.min_runs, DEFAULT.min_runs);
    for text in expected {
        assert!(help.contains(&text), "--help says {text}:\n{help}");
    }
}

#[test]
fn the_twin_runs_a_larger_scale_in_the_cpu_bound_scenarios_only() {
    let plan = build(
        &args(&["--scenario", "cpu,io", "--scale", "0.5"]),
        &found(),
        Some(twin()),
        2,
    )
    .unwrap();
    let scale = |scenario: &str, interpreter: &str| {
        let cell = plan
            .cells
            .iter()
            .find(|c| c.scenario == scenario && c.interpreter == interpreter)
            .unwrap();
        let kind = plan
            .interpreters
            .iter()
            .find(|i| i.id == interpreter)
            .unwrap()
            .kind;
        spec(cell, kind, &plan.settings).unwrap().scale
    };
    assert_eq!(scale("cpu", "cpython-3.13.5"), 0.5);
    assert_eq!(scale("cpu", "native"), 0.5 * NATIVE_SCALE_FACTOR);
    assert_eq!(scale("io", "native"), 0.5);
    let plan = build(&args(&["--native-scale", "2"]), &found(), Some(twin()), 2).unwrap();
    assert_eq!(plan.settings.native_scale, 2.0);
}

#[test]
fn a_newer_default_build_runs_only_what_compares_it_so_screening_fits() {
    let mut found = found();
    found.push(python("cpython-3.15.2", "3.15.2", false));
    let plan = build(&args(&["--no-twin"]), &found, None, 2).unwrap();
    let approaches_on = |id: &str| -> Vec<Approach> {
        let mut a: Vec<Approach> = plan
            .cells
            .iter()
            .filter(|c| c.interpreter == id && c.scenario == "cpu")
            .map(|c| c.approach)
            .collect();
        a.dedup();
        a
    };
    assert_eq!(
        approaches_on("cpython-3.15.2"),
        [Approach::Sequential, Approach::Threads, Approach::Processes]
    );
    // The lesson's builds run every approach.
    assert!(approaches_on("cpython-3.13.5t").contains(&Approach::Asyncio));
    assert!(approaches_on("cpython-3.13.5").contains(&Approach::Interpreters));
    // --quick keeps to the lesson's two builds.
    let quick = build(&args(&["--quick", "--no-twin"]), &found, None, 2).unwrap();
    assert!(
        quick.interpreters.iter().all(|i| i.id != "cpython-3.15.2"),
        "{:?}",
        quick.interpreters
    );
    // Named with --python, it runs everything.
    let named = build(
        &args(&["--no-twin", "--python", "3.15", "--python", "3.13t"]),
        &found,
        None,
        2,
    )
    .unwrap();
    assert!(
        named
            .cells
            .iter()
            .any(|c| c.interpreter == "cpython-3.15.2" && c.approach == Approach::Asyncio)
    );
}

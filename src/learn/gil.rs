//! Lesson 3, the traditional GIL: two threads computing against two threads
//! waiting on the model, on a default (GIL) build; what each thread was
//! doing (the sampler's thread states, and the dashboard's swimlanes
//! showing the turns); then how long a thread whose wait has ended waits for
//! its turn, under three switch intervals (`gil_lab.lessons.switch_interval`).

use anyhow::{Context, Result};
use serde::Deserialize;

use super::lab::{self, Lab};
use super::lessons::Page;
use crate::run::format::{format_ratio, format_seconds};
use crate::run::thread_states::ThreadState;

/// One lateness measurement of the switch-interval experiment.
#[derive(Deserialize)]
struct Lateness {
    #[serde(default)]
    switch_interval_s: f64,
    median_late_s: f64,
    p90_late_s: f64,
}

/// What `gil_lab.lessons.switch_interval` prints.
#[derive(Deserialize)]
struct SwitchAnswer {
    gil_enabled: bool,
    sleep_s: f64,
    default_switch_interval_s: f64,
    alone: Lateness,
    intervals: Vec<Lateness>,
}

/// Runs lesson 3.
pub fn run(lab: &Lab, page: &mut Page) -> Result<()> {
    let Some(python) = &lab.default_build else {
        page.missing(
            "no default (GIL) CPython build found: `gil-lab python install 3.13` provides one"
                .to_string(),
        );
        return Ok(());
    };
    page.text("Python code runs inside an interpreter, and CPython's interpreter has one lock, the global interpreter lock (GIL): a thread must hold it to run Python code. So threads of one Python process take turns: one runs, the others wait for the lock. A thread that waits for something else (a reply from a model over the network, a file) lets go of the lock while it waits. The experiment: the same agents run one after another (sequential) and in two threads, once when they compute and once when they wait on a language model (gil-lab's built-in endpoint, 20 ms per call).");
    let loaded = lab.brief(
        page,
        "lesson3-gil",
        &[python],
        "cpu,io",
        "sequential,threads",
        &["--workers", "2", "--runs", "3", "--no-inspect"],
    )?;
    let source = lab::source(&loaded);
    let record = lab::in_run(&loaded, python, false).context("the run lost its interpreter")?;

    page.heading("Two threads computing, two threads waiting");
    let mut rows = Vec::new();
    let mut speedups = Vec::new();
    for (scenario, what) in [("cpu", "computing"), ("io", "waiting on the model")] {
        let seq =
            lab::cell(&loaded, scenario, &record.id, "sequential", 1).and_then(lab::median_work);
        let threads = lab::cell(&loaded, scenario, &record.id, "threads", 2);
        let (Some(seq), Some(threads)) = (seq, threads) else {
            page.missing(format!(
                "{scenario}: a cell did not succeed (see {})",
                lab::shown(&loaded.dir)
            ));
            continue;
        };
        let time = lab::median_work(threads).unwrap_or(f64::NAN);
        let shares = threads.thread_states.as_ref();
        let share =
            |s: ThreadState| shares.map_or("-".to_string(), |x| format!("{:.0}%", x.of(s) * 100.0));
        page.figure(
            format!("{scenario} sequential work time ({})", record.label),
            seq,
            "s",
            &source,
        );
        page.figure(
            format!("{scenario} threads ×2 work time ({})", record.label),
            time,
            "s",
            &source,
        );
        if let Some(sp) = &threads.speedup {
            page.figure(
                format!("{scenario} threads ×2 speedup ({})", record.label),
                sp.point,
                "×",
                &source,
            );
            speedups.push((scenario, sp.point));
        }
        if let Some(x) = shares {
            page.figure(
                format!(
                    "{scenario} threads ×2 share waiting on a lock ({})",
                    record.label
                ),
                x.of(ThreadState::LockWait),
                "share",
                &source,
            );
        }
        rows.push(vec![
            format!("{what} ({scenario})"),
            format_seconds(seq),
            format_seconds(time),
            threads
                .speedup
                .as_ref()
                .map(format_ratio)
                .unwrap_or_else(|| "-".into()),
            share(ThreadState::Running),
            share(ThreadState::LockWait),
            share(ThreadState::IoWait),
            share(ThreadState::CoreWait),
        ]);
    }
    page.table(
        &[
            "agents",
            "one after another",
            "two threads",
            "speedup",
            "running",
            "waiting on a lock (the GIL)",
            "waiting on I/O",
            "waiting for a core",
        ],
        rows,
    );
    let cpu = speedups.iter().find(|s| s.0 == "cpu").map(|s| s.1);
    let io = speedups.iter().find(|s| s.0 == "io").map(|s| s.1);
    if let (Some(cpu), Some(io)) = (cpu, io) {
        let lock = lab::cell(&loaded, "cpu", &record.id, "threads", 2)
            .and_then(|c| c.thread_states.as_ref())
            .map(|s| (s.of(ThreadState::LockWait), s.of(ThreadState::CoreWait)));
        let interval = lab::cell(&loaded, "cpu", &record.id, "threads", 2)
            .and_then(|c| c.speedup)
            .map_or((cpu, cpu), |e| (e.ci_low, e.ci_high));
        let cpu_reading = if interval.1 < 1.15 {
            "the second computing thread added next to no speed".to_string()
        } else if interval.0 <= 1.15 {
            format!(
                "this brief measurement cannot tell whether the second computing thread added speed (the speedup's 95% interval, {:.2}–{:.2}, holds both); the share of time waiting on the GIL shows the turns",
                interval.0, interval.1
            )
        } else {
            format!(
                "here the computing threads came out faster too, which the GIL does not allow on an idle machine: the machine was busy ({} of the threads' time was spent waiting for a free core, taken by other programs), and a busy machine slows one thread working alone more than two; the share waiting on the GIL still shows the turns",
                lock.map_or("some".to_string(), |l| format!("{:.0}%", l.1 * 100.0))
            )
        };
        page.text(format!(
            "Read the speedup column: two computing threads made the work {cpu:.2}× as fast as one thread doing it all, two waiting threads {io:.2}× as fast. Computing threads both need the lock all the time, so only one computes at any moment and the other waits for the lock: {cpu_reading}. The state columns say where the threads' time went{}. Waiting threads hold the lock only for the short moments between calls, so while one waits for the model the other runs: their waits overlap and the work finishes sooner. The rule the chapter draws from it: under the GIL, threads help I/O-bound work and not CPU-bound work; to compute in parallel, use processes or a free-threaded build (lesson 4).",
            lock.map_or(String::new(), |l| format!(": the computing threads spent {:.0}% of it waiting on a lock, which under the GIL is the GIL", l.0 * 100.0))
        ));
    }
    timeline(&loaded, &record.id, page);

    page.heading("The switch interval: how long a waiting thread waits for its turn");
    switch_interval(lab, python, page)?;
    if let Some(ft) = &lab.free_threaded {
        switch_interval(lab, ft, page)?;
    }
    page.deeper(format!("gil-lab bench --python {} --scenario cpu,io --approach sequential,threads,processes,asyncio", crate::shell::quote_path(&python.path)));
    page.deeper(format!(
        "gil-lab report {}    (the dashboard's timelines: #timeline-cpu, #timeline-io)",
        lab::shown(&loaded.dir)
    ));
    Ok(())
}

/// The dashboard's thread-state swimlanes of the threads cells.
fn timeline(loaded: &crate::run::LoadedRun, interpreter: &str, page: &mut Page) {
    for (scenario, caption) in [
        (
            "cpu",
            "two computing threads: green is running, red waiting for the GIL, orange waiting for a free core — they take turns",
        ),
        (
            "io",
            "two threads waiting on the model: blue is waiting on I/O, during which the other runs",
        ),
    ] {
        let cells: Vec<&crate::run::record::CellSummary> = loaded
            .summary
            .cells
            .iter()
            .filter(|c| c.cell.scenario == scenario)
            .collect();
        let Ok((_, svgs)) =
            crate::dashboard::timeline::scenario_timelines(loaded, scenario, &cells)
        else {
            continue;
        };
        let id = format!("{scenario}-{interpreter}-threads");
        if let Some(svg) = svgs.get(&format!("{id}-states")).or_else(|| svgs.get(&id)) {
            page.drawing(caption, svg.clone());
        }
    }
}

/// The switch-interval experiment on one interpreter.
fn switch_interval(
    lab: &Lab,
    python: &crate::interpreters::Interpreter,
    page: &mut Page,
) -> Result<()> {
    eprintln!(
        "  timing a waiting thread's wake-ups on {}...",
        python.label
    );
    let out = lab.module(python, "gil_lab.lessons.switch_interval")?;
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("the switch-interval experiment printed no answer")?;
    let answer: SwitchAnswer = serde_json::from_str(line)
        .context("the switch-interval experiment's answer does not parse")?;
    let from = format!("gil_lab.lessons.switch_interval on {}", python.label);
    let ms = |s: f64| format!("{:.2} ms", s * 1000.0);
    let mut rows = vec![vec![
        "alone (nobody computing)".to_string(),
        ms(answer.alone.median_late_s),
        ms(answer.alone.p90_late_s),
    ]];
    page.figure(
        format!("late wake-up, alone ({})", python.label),
        answer.alone.median_late_s,
        "s",
        &from,
    );
    for l in &answer.intervals {
        rows.push(vec![
            format!(
                "one thread computing, switch interval {}",
                ms(l.switch_interval_s)
            ),
            ms(l.median_late_s),
            ms(l.p90_late_s),
        ]);
        page.figure(
            format!(
                "late wake-up, switch interval {} ({})",
                ms(l.switch_interval_s),
                python.label
            ),
            l.median_late_s,
            "s",
            &from,
        );
    }
    page.table(
        &[
            &format!(
                "{} — GIL {}",
                python.label,
                if answer.gil_enabled { "on" } else { "off" }
            ),
            "median lateness",
            "90th percentile",
        ],
        rows,
    );
    let longest = answer.intervals.last();
    if answer.gil_enabled {
        page.text(format!(
            "The main thread asks to sleep {} and measures how late it wakes up. Alone it is {} late. While another thread computes, waking up is not enough: it must get the GIL back, and the computing thread gives it up only when the switch interval has passed (CPython asks it to, every `sys.getswitchinterval()` seconds, {} by default). So the lateness follows the interval{}. A shorter interval makes waiting threads (a server answering requests) respond sooner and costs more switches; `sys.setswitchinterval()` sets it.",
            ms(answer.sleep_s),
            ms(answer.alone.median_late_s),
            ms(answer.default_switch_interval_s),
            longest.map(|l| format!(": {} late at {}", ms(l.median_late_s), ms(l.switch_interval_s))).unwrap_or_default()
        ));
    } else {
        page.text(format!(
            "The same on {}, with no GIL: the waking thread does not need a lock back from the computing one, so its lateness stays near the alone figure whatever the switch interval (with two cores; on a busy machine it may wait for a core instead).",
            python.label
        ));
    }
    Ok(())
}

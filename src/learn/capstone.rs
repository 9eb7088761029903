//! Lesson 6, the capstone: the full `gil-lab bench` (`--quick` with `learn
//! --quick`), the benchmark comparing every approach on every build, then
//! where each earlier lesson shows in its dashboard.

use anyhow::Result;

use super::lab::{self, Lab};
use super::lessons::Page;

/// Each earlier lesson's section of the dashboard (`report.html#anchor`).
const SECTIONS: [(u8, &str, &str); 6] = [
    (
        1,
        "inside-cpython",
        "Inside CPython: each agent's bytecode, specialised or not, per interpreter",
    ),
    (
        2,
        "interpreters",
        "Interpreters: versions and build recipes, and the collector's work under Inside CPython",
    ),
    (
        3,
        "lesson",
        "CPU or I/O?: threads against processes under the GIL and without it",
    ),
    (
        3,
        "timeline-cpu",
        "the cpu timeline: threads taking turns under the GIL, side by side without it",
    ),
    (
        4,
        "claims",
        "Claims check: the free-threaded build's single-thread cost next to the published figures",
    ),
    (
        5,
        "advice",
        "Advice and Verdict: which approach and interpreter to use, with the evidence",
    ),
];

/// Runs lesson 6.
pub fn run(lab: &Lab, page: &mut Page) -> Result<()> {
    let mut args: Vec<String> = Vec::new();
    if lab.quick {
        args.push("--quick".into());
    }
    for python in [&lab.default_build, &lab.free_threaded]
        .into_iter()
        .flatten()
    {
        args.push("--python".into());
        args.push(python.path.to_string_lossy().into_owned());
    }
    page.text(format!(
        "The chapter's capstone is a benchmark comparing the approaches. `gil-lab bench` is that benchmark: the agents under every approach (sequential, threads, processes, asyncio, subinterpreters, hybrids) on the default build, the free-threaded one and the free-threaded one with the GIL forced back on, in paired rounds, with a verdict per scenario.{}",
        if lab.quick { " This is `--quick` (the cpu scenario, three approaches); without --quick the lesson runs the default bench (about two minutes)." } else { "" }
    ));
    let loaded = lab.bench("lesson6-capstone", &args, true)?;
    page.run(loaded.dir.clone());
    let source = lab::source(&loaded);
    let mut rows = Vec::new();
    for verdict in &loaded.summary.scenarios {
        let winner = verdict
            .winner
            .as_ref()
            .map(|w| crate::run::format::describe(&loaded.run, w));
        if let Some(w) = verdict
            .winner
            .as_ref()
            .and_then(|w| loaded.summary.cells.iter().find(|c| &c.cell == w))
            .and_then(lab::median_work)
        {
            page.figure(
                format!("{} leader's median work time", verdict.scenario),
                w,
                "s",
                &source,
            );
        }
        rows.push(vec![
            verdict.scenario.clone(),
            format!("{:?}", verdict.decision()).to_lowercase(),
            winner.unwrap_or_else(|| "-".into()),
            verdict.explanation.clone(),
        ]);
    }
    page.table(&["scenario", "decision", "fastest", "why"], rows);
    let report = loaded.dir.join(crate::dashboard::REPORT_FILE);
    let mut sections = Vec::new();
    for (lesson, anchor, what) in SECTIONS {
        sections.push(vec![
            format!("lesson {lesson}"),
            format!("{}#{anchor}", report.display()),
            what.to_string(),
        ]);
    }
    page.heading("Where each lesson shows in the dashboard");
    page.table(&["lesson", "section", "what it shows"], sections);
    page.text("Open the dashboard in a browser: every figure in it comes from the trials of this run, and each section answers one of the earlier lessons' questions with the whole run's numbers.");
    page.deeper(format!("gil-lab serve {}", lab::shown(&loaded.dir)));
    page.deeper(
        "gil-lab bench --full    (every interpreter, several worker counts; longer)".to_string(),
    );
    page.deeper(format!(
        "gil-lab export {} --markdown results.md",
        lab::shown(&loaded.dir)
    ));
    Ok(())
}

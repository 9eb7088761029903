//! Lesson 5, choosing an approach: the chapter's five situations (EVAL-003).
//! The learner picks an approach for each (on the terminal, or with
//! `--answers`); one short `bench` run measures every situation's
//! candidates; each situation then shows which choice the measurement
//! supports, with the published rules' advice (`advise --workload`) beside
//! it. The fifth situation's extension is built and imported live.

use std::io::{BufRead, Write};

use anyhow::{Result, bail};

use super::extension;
use super::lab::{self, Lab};
use super::lessons::Page;
use crate::advise::from_situation::advice_for;
use crate::advise::situation::{ExtensionCheck, ImportCheck, ImportOutcome, Situation, Workload};
use crate::interpreters::check_imports::Outcome;
use crate::run::format::format_seconds;

/// The approaches a learner can pick.
pub const CHOICES: [&str; 5] = [
    "threads",
    "asyncio",
    "processes",
    "free-threaded",
    "sequential",
];

/// One of the five situations.
struct Case {
    /// What the team has.
    story: &'static str,
    /// The scenario that measures it.
    scenario: &'static str,
    /// The advice rules' description of it.
    workload: Workload,
    shared_state: bool,
    large_inputs: bool,
    /// Code imports an extension that turns the GIL back on.
    gil_extension: bool,
}

const CASES: [Case; 5] = [
    Case {
        story: "CPU-bound agents, independent of each other (planning, constraint solving, search), each on its own input",
        scenario: "cpu",
        workload: Workload::Cpu,
        shared_state: false,
        large_inputs: false,
        gil_extension: false,
    },
    Case {
        story: "I/O-bound agents that spend their time waiting on many model (LLM) calls",
        scenario: "io",
        workload: Workload::Io,
        shared_state: false,
        large_inputs: false,
        gil_extension: false,
    },
    Case {
        story: "Mixed agents: each calls the model, then computes on its answer",
        scenario: "mixed",
        workload: Workload::Mixed,
        shared_state: false,
        large_inputs: false,
        gil_extension: false,
    },
    Case {
        story: "CPU-bound agents that all query one large, shared, read-only knowledge base",
        scenario: "shared",
        workload: Workload::Cpu,
        shared_state: true,
        large_inputs: true,
        gil_extension: false,
    },
    Case {
        story: "CPU-bound agents whose code imports a C extension that turns the GIL back on",
        scenario: "cpu",
        workload: Workload::Cpu,
        shared_state: false,
        large_inputs: false,
        gil_extension: true,
    },
];

/// `--answers`: five choices of [`CHOICES`].
pub fn parse_answers(answers: &[String]) -> Result<Vec<String>> {
    let answers: Vec<String> = answers.iter().map(|a| a.trim().to_lowercase()).collect();
    if answers.len() != CASES.len() {
        bail!(
            "--answers needs {} choices, one per situation of lesson 5, comma-separated (got {}): each one of {}",
            CASES.len(),
            answers.len(),
            CHOICES.join(", ")
        );
    }
    for a in &answers {
        if !CHOICES.contains(&a.as_str()) {
            bail!("--answers: `{a}` is not one of {}", CHOICES.join(", "));
        }
    }
    Ok(answers)
}

/// Asks the learner for a choice per situation on the terminal.
pub fn ask(input: &mut dyn BufRead, out: &mut dyn Write) -> Result<Vec<String>> {
    writeln!(
        out,
        "For each situation, pick the approach you would use: {}.",
        CHOICES.join(", ")
    )?;
    let mut answers = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        loop {
            write!(out, "\n{}. {}\n   your choice: ", i + 1, case.story)?;
            out.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                bail!(
                    "no answer for situation {} (end of input): give them with --answers",
                    i + 1
                );
            }
            let answer = line.trim().to_lowercase();
            if CHOICES.contains(&answer.as_str()) {
                answers.push(answer);
                break;
            }
            writeln!(out, "   `{answer}` is not one of {}", CHOICES.join(", "))?;
        }
    }
    Ok(answers)
}

/// Runs lesson 5 with the learner's `answers`.
pub fn run(lab: &Lab, answers: &[String], page: &mut Page) -> Result<()> {
    let Some(default) = &lab.default_build else {
        page.missing(
            "no default CPython build found: `gil-lab python install 3.13` provides one"
                .to_string(),
        );
        return Ok(());
    };
    let mut args = vec![
        "--python".to_string(),
        default.path.to_string_lossy().into_owned(),
    ];
    if let Some(ft) = &lab.free_threaded {
        args.extend([
            "--python".to_string(),
            ft.path.to_string_lossy().into_owned(),
        ]);
    } else {
        page.missing("no free-threaded CPython found: the `free-threaded` choice cannot be measured; `gil-lab python install 3.13t` provides one".to_string());
    }
    args.extend(
        [
            "--scenario",
            "cpu,shared,io,mixed",
            "--approach",
            "sequential,threads,processes,asyncio",
            "--workers",
            "2",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--scale",
            "0.1",
            "--no-inspect",
        ]
        .map(String::from),
    );
    let loaded = lab.bench("lesson5-situations", &args, false)?;
    page.run(loaded.dir.clone());
    let source = lab::source(&loaded);
    let default_id = lab::in_run(&loaded, default, false).map(|r| r.id.clone());
    let ft_id = lab
        .free_threaded
        .as_ref()
        .and_then(|ft| lab::in_run(&loaded, ft, false))
        .map(|r| r.id.clone());
    let forced_id = lab
        .free_threaded
        .as_ref()
        .and_then(|ft| lab::in_run(&loaded, ft, true))
        .map(|r| r.id.clone());
    let gil_check = lab
        .free_threaded
        .as_ref()
        .map(|ft| extension::check(ft, lab));

    let mut score = 0;
    for (i, (case, answer)) in CASES.iter().zip(answers).enumerate() {
        page.heading(format!("Situation {}: {}", i + 1, case.story));
        // With the extension the free-threaded build runs with its GIL on.
        let (plain, free) = if case.gil_extension {
            (forced_id.clone().or(default_id.clone()), forced_id.clone())
        } else {
            (default_id.clone(), ft_id.clone())
        };
        let mut measured: Vec<(&str, f64, String)> = Vec::new();
        for choice in CHOICES {
            let (interpreter, approach, workers) = match choice {
                "free-threaded" => (free.as_deref(), "threads", 2),
                "sequential" => (plain.as_deref(), "sequential", 1),
                other => (plain.as_deref(), other, 2),
            };
            let Some(cell) =
                interpreter.and_then(|id| lab::cell(&loaded, case.scenario, id, approach, workers))
            else {
                continue;
            };
            let Some(median) = lab::median_work(cell) else {
                continue;
            };
            let label = loaded
                .run
                .interpreter(&cell.cell.interpreter)
                .map_or(cell.cell.interpreter.clone(), |r| r.label.clone());
            page.figure(
                format!("situation {}: {choice} work time", i + 1),
                median,
                "s",
                &source,
            );
            measured.push((
                choice,
                median,
                format!(
                    "{approach}{} on {label}",
                    if workers > 1 { " ×2" } else { "" }
                ),
            ));
        }
        let Some(best) = measured.iter().min_by(|a, b| a.1.total_cmp(&b.1)).cloned() else {
            page.missing(format!(
                "situation {}: nothing measured (see {})",
                i + 1,
                lab::shown(&loaded.dir)
            ));
            continue;
        };
        let rows = measured
            .iter()
            .map(|(choice, median, what)| {
                vec![
                    format!(
                        "{choice}{}{}",
                        if *choice == answer.as_str() {
                            " ← yours"
                        } else {
                            ""
                        },
                        if *choice == best.0 { " (fastest)" } else { "" }
                    ),
                    what.clone(),
                    format_seconds(*median),
                    format!("{:.2}×", median / best.1),
                ]
            })
            .collect();
        page.table(
            &[
                "choice",
                "measured as",
                "median work time",
                "vs the fastest",
            ],
            rows,
        );
        let mine = measured.iter().find(|m| m.0 == answer.as_str());
        let verdict = match mine {
            Some(m) if m.0 == best.0 => {
                score += 1;
                format!(
                    "Your choice, {answer}, is what the measurement supports: it was the fastest here."
                )
            }
            Some(m) if m.1 / best.1 <= 1.10 => {
                score += 1;
                format!(
                    "Your choice, {answer}, was within 10% of the fastest ({}): on this brief measurement they are as good as each other; the simpler one wins a tie.",
                    best.0
                )
            }
            Some(m) => format!(
                "Your choice, {answer}, took {:.2}× the time of {} (the fastest here).",
                m.1 / best.1,
                best.0
            ),
            None => format!(
                "Your choice, {answer}, could not be measured here; the fastest was {}.",
                best.0
            ),
        };
        page.text(verdict);
        let situation = Situation {
            workload: case.workload,
            shared_state: case.shared_state,
            large_inputs: case.large_inputs,
            c_extensions: if case.gil_extension {
                vec![extension::MODULE.into()]
            } else {
                vec![]
            },
            python: None,
            latency_sensitive: false,
            beyond_one_machine: false,
        };
        let checked = match (&gil_check, case.gil_extension) {
            (_, false) => ExtensionCheck::NotAsked,
            (Some(Ok((check, _))), true) => ExtensionCheck::Checked(vec![ImportCheck {
                interpreter: check.interpreter.clone(),
                module: check.module.clone(),
                outcome: match check.outcome {
                    Outcome::KeptGilOff => ImportOutcome::KeptGilOff,
                    Outcome::EnabledGil => ImportOutcome::EnabledGil,
                    Outcome::ImportFailed => ImportOutcome::ImportFailed,
                    Outcome::NotApplicable => ImportOutcome::NotApplicable,
                },
                detail: check.detail.clone(),
            }]),
            (_, true) => ExtensionCheck::NoFreeThreaded,
        };
        let advice = advice_for(&situation, &checked);
        if let Some(r) = advice.recommendations.first() {
            page.text(format!(
                "Why: {} The published rules (`gil-lab advise --workload {}`) say: {}{}.",
                explanation(case, best.0),
                case.workload.scenario(),
                r.headline,
                r.reasons
                    .first()
                    .map(|x| format!(" — {x}"))
                    .unwrap_or_default()
            ));
        }
    }
    page.figure(
        "situations where your choice was supported",
        f64::from(score),
        &format!("of {}", CASES.len()),
        &source,
    );
    page.text(format!(
        "{score} of {} of your choices were supported by the measurement. These trials were brief (two rounds, a small scale) on a shared machine: treat a difference under 10-20% as a tie, and measure your own code before deciding (below).",
        CASES.len()
    ));
    page.deeper("gil-lab advise --workload cpu --shared-state --large-inputs".to_string());
    page.deeper(
        "gil-lab bench --task my_module.py:handle    (your own function, every approach)"
            .to_string(),
    );
    page.deeper(format!("gil-lab advise {}", lab::shown(&loaded.dir)));
    Ok(())
}

/// Why the measured best is what it is, in plain words.
fn explanation(case: &Case, best: &str) -> String {
    let general = match (case.scenario, case.gil_extension) {
        ("io", _) => {
            "waiting agents need no core while they wait, so anything that overlaps the waits (threads, asyncio) helps, GIL or not, and asyncio does it with the least machinery."
        }
        ("mixed", _) => {
            "the waits overlap under any approach, and the computing part needs a core of its own to go faster: threads under the GIL overlap the waits only; free-threaded threads or processes overlap both."
        }
        ("shared", _) => {
            "processes run the computation in parallel but each needs the shared data (copied, or inherited on fork); free-threaded threads share it at no cost and run in parallel too."
        }
        (_, true) => {
            "the extension turned the GIL back on, so the free-threaded build's threads take turns like the default build's: only processes compute in parallel."
        }
        _ => {
            "computation needs a core per worker: under the GIL threads take turns, so processes (or free-threaded threads) are what runs agents in parallel."
        }
    };
    format!("here {best} was fastest; {general}")
}

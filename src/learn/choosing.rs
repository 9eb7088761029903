//! Lesson 5, choosing an approach: the chapter's five situations (EVAL-003).
//! The learner picks an approach for each (on the terminal, or with
//! `--answers`); two brief `bench` runs measure the candidates (computing
//! situations, waiting situations); each situation then shows how every
//! choice compares with the fastest, what the measurement decides (or that
//! it is undecided), whether each textbook expectation held here
//! ([`super::supported`]), and the published rules' advice
//! (`advise --workload`) beside it. The fifth situation's extension is built
//! and imported live.
use std::io::{BufRead, Write};

use anyhow::{Result, bail};

use super::extension;
use super::lab::{self, Lab};
use super::lessons::Page;
use super::supported::{
    Comparison, Expectation, Held, Measured, Reading, check, checks_note, compare, ratio_text,
};
use crate::advise::from_situation::advice_for;
use crate::advise::situation::{ExtensionCheck, ImportCheck, ImportOutcome, Situation, Workload};
use crate::interpreters::check_imports::Outcome;
use crate::run::format::{describe, format_seconds};
use crate::run::pairing::Rounds;

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
    /// What the textbook reasoning expects of the choices, checked against
    /// the measurement.
    expect: &'static [Expectation],
}

const PROCESSES_COMPUTE: Expectation = Expectation {
    choice: "processes",
    faster: true,
    because: "each process has its own interpreter and its own GIL, so two processes compute on two cores at once",
};
const GIL_THREADS_TAKE_TURNS: Expectation = Expectation {
    choice: "threads",
    faster: false,
    because: "under the GIL only one thread runs Python code at a time, so two computing threads take turns",
};
const FREE_THREADS_COMPUTE: Expectation = Expectation {
    choice: "free-threaded",
    faster: true,
    because: "without a GIL, two threads of one process compute on two cores at once",
};

const CASES: [Case; 5] = [
    Case {
        story: "CPU-bound agents, independent of each other (planning, constraint solving, search), each on its own input",
        scenario: "cpu",
        workload: Workload::Cpu,
        shared_state: false,
        large_inputs: false,
        gil_extension: false,
        expect: &[
            PROCESSES_COMPUTE,
            GIL_THREADS_TAKE_TURNS,
            FREE_THREADS_COMPUTE,
        ],
    },
    Case {
        story: "I/O-bound agents that spend their time waiting on many model (LLM) calls",
        scenario: "io",
        workload: Workload::Io,
        shared_state: false,
        large_inputs: false,
        gil_extension: false,
        expect: &[
            Expectation {
                choice: "threads",
                faster: true,
                because: "a thread waiting on the model lets go of the GIL, so the waits of two threads overlap",
            },
            Expectation {
                choice: "asyncio",
                faster: true,
                because: "one event loop overlaps the waits of all the calls, without any extra thread",
            },
        ],
    },
    Case {
        story: "Mixed agents: each calls the model, then computes on its answer",
        scenario: "mixed",
        workload: Workload::Mixed,
        shared_state: false,
        large_inputs: false,
        gil_extension: false,
        expect: &[
            Expectation {
                choice: "threads",
                faster: true,
                because: "the waits overlap, even though the computing parts take turns under the GIL",
            },
            Expectation {
                choice: "asyncio",
                faster: true,
                because: "the event loop overlaps the waits; the computing parts still run one at a time",
            },
            Expectation {
                choice: "free-threaded",
                faster: true,
                because: "threads without a GIL overlap the waits and compute at once",
            },
        ],
    },
    Case {
        story: "CPU-bound agents that all query one large, shared, read-only knowledge base",
        scenario: "shared",
        workload: Workload::Cpu,
        shared_state: true,
        large_inputs: true,
        gil_extension: false,
        expect: &[
            Expectation {
                choice: "processes",
                faster: true,
                because: "processes compute at once, though each needs its own copy of the knowledge base (start-up time and memory)",
            },
            GIL_THREADS_TAKE_TURNS,
            Expectation {
                choice: "free-threaded",
                faster: true,
                because: "threads without a GIL compute at once and share the knowledge base without copying it",
            },
        ],
    },
    Case {
        story: "CPU-bound agents whose code imports a C extension that turns the GIL back on",
        scenario: "cpu",
        workload: Workload::Cpu,
        shared_state: false,
        large_inputs: false,
        gil_extension: true,
        expect: &[
            Expectation {
                choice: "free-threaded",
                faster: false,
                because: "importing the extension turns the GIL back on, so the free-threaded build's threads take turns too",
            },
            PROCESSES_COMPUTE,
        ],
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

/// The two brief measurements: the computing situations (1, 4, 5) with
/// sequential, threads and processes; the waiting ones (2, 3) with
/// sequential, threads and asyncio. Each on the default and free-threaded
/// builds (`bench` adds the free-threaded build with its GIL forced on,
/// which situation 5 reads), two rounds at a small scale, a few more rounds
/// for the undecided cells while a 25 s budget allows.
const MEASUREMENTS: [(&str, &str, &str); 2] = [
    (
        "lesson5-computing",
        "cpu,shared",
        "sequential,threads,processes",
    ),
    ("lesson5-waiting", "io,mixed", "sequential,threads,asyncio"),
];

/// Runs lesson 5 with the learner's `answers`.
pub fn run(lab: &Lab, answers: &[String], page: &mut Page) -> Result<()> {
    let Some(default) = &lab.default_build else {
        page.missing(
            "no default CPython build found: `gil-lab python install 3.13` provides one"
                .to_string(),
        );
        return Ok(());
    };
    let mut pythons = vec![default];
    if let Some(ft) = &lab.free_threaded {
        pythons.push(ft);
    } else {
        page.missing("no free-threaded CPython found: the `free-threaded` choice cannot be measured; `gil-lab python install 3.13t` provides one".to_string());
    }
    let mut runs = Vec::new();
    for (name, scenarios, approaches) in MEASUREMENTS {
        let loaded = lab.brief(
            page,
            name,
            &pythons,
            scenarios,
            approaches,
            &[
                "--workers",
                "2",
                "--min-runs",
                "2",
                "--max-runs",
                "4",
                "--budget",
                "25",
                "--scale",
                "0.1",
                "--no-inspect",
            ],
        )?;
        runs.push((scenarios, loaded));
    }
    let gil_check = lab
        .free_threaded
        .as_ref()
        .map(|ft| extension::check(ft, lab));

    let mut supported = 0;
    let mut open = 0;
    for (i, (case, answer)) in CASES.iter().zip(answers).enumerate() {
        let n = i + 1;
        page.heading(format!("Situation {n}: {}", case.story));
        let Some((_, loaded)) = runs
            .iter()
            .find(|(scenarios, _)| scenarios.split(',').any(|s| s == case.scenario))
        else {
            continue;
        };
        let source = lab::source(loaded);
        let margin = crate::run::verdict::margin_of(&loaded.run);
        let default_id = lab::in_run(loaded, default, false).map(|r| r.id.clone());
        // With the extension imported the free-threaded build runs with its
        // GIL on: the forced-GIL control measures exactly that.
        let free_id = lab
            .free_threaded
            .as_ref()
            .and_then(|ft| lab::in_run(loaded, ft, case.gil_extension))
            .map(|r| r.id.clone());
        let mut measured = Vec::new();
        for choice in CHOICES {
            let (interpreter, approach, workers) = match choice {
                "free-threaded" => (free_id.as_deref(), "threads", 2),
                "sequential" => (default_id.as_deref(), "sequential", 1),
                other => (default_id.as_deref(), other, 2),
            };
            let Some(cell) =
                interpreter.and_then(|id| lab::cell(loaded, case.scenario, id, approach, workers))
            else {
                continue;
            };
            let Some(median) = lab::median_work(cell) else {
                continue;
            };
            page.figure(
                format!("situation {n}: {choice} work time"),
                median,
                "s",
                &source,
            );
            measured.push(Measured {
                choice,
                cell: cell.cell.clone(),
                median,
                what: describe(&loaded.run, &cell.cell),
            });
        }
        let rounds = Rounds::new(&loaded.trials);
        let Some(reading) = Reading::new(&rounds, measured, margin) else {
            page.missing(format!(
                "situation {n}: nothing measured (see {})",
                lab::shown(&loaded.dir)
            ));
            continue;
        };
        let rows = reading
            .measured
            .iter()
            .enumerate()
            .map(|(k, m)| {
                vec![
                    format!(
                        "{}{}",
                        m.choice,
                        if m.choice == answer.as_str() {
                            " ← yours"
                        } else {
                            ""
                        }
                    ),
                    m.what.clone(),
                    format_seconds(m.median),
                    reading.cell_text(k),
                ]
            })
            .collect();
        page.table(
            &[
                "choice",
                "measured as",
                "median work time",
                "time vs the fastest",
            ],
            rows,
        );
        page.text(reading.decision(margin));
        let fastest = reading.fastest().choice;
        let verdict = match reading.standing(answer) {
            Some((_, None)) => {
                supported += 1;
                format!("Your choice, {answer}, had the lowest median here.")
            }
            Some((_, Some(Comparison::Same(r)))) => {
                supported += 1;
                format!(
                    "Your choice, {answer}, is a tie with {fastest}: {} its time, within ±{:.0}%.",
                    ratio_text(&r),
                    margin * 100.0
                )
            }
            Some((_, Some(Comparison::Slower(r)))) => format!(
                "Your choice, {answer}, is not supported here: it took {} the time of {fastest}, slower beyond the noise.",
                ratio_text(&r)
            ),
            Some((_, Some(Comparison::Open(_) | Comparison::Faster(_)))) => {
                open += 1;
                format!(
                    "Your choice, {answer}, is undecided against {fastest}: this brief measurement cannot tell them apart."
                )
            }
            None => format!(
                "Your choice, {answer}, was not measured for this situation (this lesson measures {}); `gil-lab bench --scenario {} --approach {}` measures it.",
                reading
                    .measured
                    .iter()
                    .map(|m| m.choice)
                    .collect::<Vec<_>>()
                    .join(", "),
                case.scenario,
                if *answer == "free-threaded" {
                    "threads --python 3.13t"
                } else {
                    answer.as_str()
                }
            ),
        };
        page.text(verdict);
        let sequential = reading.standing("sequential").map(|(m, _)| m.cell.clone());
        let checks: Vec<(Held, String)> = case
            .expect
            .iter()
            .filter_map(|e| {
                let (m, _) = reading.standing(e.choice)?;
                let baseline = sequential.as_ref()?;
                Some(check(e, compare(&rounds, &m.cell, baseline, margin)))
            })
            .collect();
        if !checks.is_empty() {
            let held: Vec<Held> = checks.iter().map(|c| c.0).collect();
            let sentences: Vec<&str> = checks.iter().map(|c| c.1.as_str()).collect();
            page.text(format!(
                "Why, as measured here: {}{}",
                sentences.join(" "),
                checks_note(&held)
            ));
        }
        let advice = advice_for(&situation(case), &extension_check(&gil_check, case));
        if let Some(r) = advice.recommendations.first() {
            let here = match reading.standing(&r.approach) {
                Some((_, None | Some(Comparison::Same(_)))) => {
                    "; this measurement agrees".to_string()
                }
                Some((_, Some(Comparison::Slower(_)))) => format!(
                    "; this brief measurement does not agree ({fastest} was faster beyond the noise)"
                ),
                Some(_) => "; this brief measurement cannot tell".to_string(),
                None => String::new(),
            };
            page.text(format!(
                "The published rules (`gil-lab advise --workload {}`) say: {}{}{here}.",
                case.workload.scenario(),
                r.headline,
                r.reasons
                    .first()
                    .map(|x| format!(" — {x}"))
                    .unwrap_or_default()
            ));
        }
    }
    let source = runs
        .first()
        .map(|(_, loaded)| lab::source(loaded))
        .unwrap_or_default();
    page.figure(
        "situations where your choice was supported",
        f64::from(supported),
        &format!("of {}", CASES.len()),
        &source,
    );
    page.text(format!(
        "{supported} of {} of your choices were supported by the measurement (the fastest, or a tie with it); {open} undecided. These trials were brief (two to four rounds, a small scale) on a shared machine: an undecided answer is not a tie, and your own code is worth measuring before deciding (below).",
        CASES.len()
    ));
    page.deeper("gil-lab advise --workload cpu --shared-state --large-inputs".to_string());
    page.deeper(
        "gil-lab bench --task my_module.py:handle    (your own function, every approach)"
            .to_string(),
    );
    for (_, loaded) in &runs {
        page.deeper(format!("gil-lab advise {}", lab::shown(&loaded.dir)));
    }
    Ok(())
}

/// The advice rules' description of a situation.
fn situation(case: &Case) -> Situation {
    Situation {
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
    }
}

/// The live import check of the extension, as the advice rules read it.
fn extension_check(
    gil_check: &Option<
        Result<(
            crate::interpreters::check_imports::Check,
            std::path::PathBuf,
        )>,
    >,
    case: &Case,
) -> ExtensionCheck {
    match (gil_check, case.gil_extension) {
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
    }
}

//! The advice for people (terminal text) and for machines (JSON). Both
//! render the same [`Advice`]: the JSON holds everything the text shows.

use std::io::Write;

use anyhow::{Context, Result};

use super::advice::{Advice, Basis};

fn list(out: &mut dyn Write, title: &str, items: &[String]) -> std::io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(out, "  {title}:")?;
    for item in items {
        writeln!(out, "    - {item}")?;
    }
    Ok(())
}

/// Writes the advice as text: per recommendation the headline, the
/// reasons, costs, warnings, alternatives and commands, then the sources.
pub fn terminal(out: &mut dyn Write, advice: &Advice) -> std::io::Result<()> {
    match (&advice.basis, &advice.run_dir, &advice.situation) {
        (Basis::Run, Some(dir), _) => writeln!(
            out,
            "\nAdvice from the measured numbers of {} (work = the steady work phase; ratios are medians with 95% CIs):",
            dir.display()
        )?,
        (Basis::Situation, _, Some(s)) => {
            let mut flags = vec![format!("--workload {}", s.workload.scenario())];
            for (on, flag) in [
                (s.shared_state, "--shared-state"),
                (s.large_inputs, "--large-inputs"),
                (s.latency_sensitive, "--latency-sensitive"),
                (s.beyond_one_machine, "--beyond-one-machine"),
            ] {
                if on {
                    flags.push(flag.into());
                }
            }
            if !s.c_extensions.is_empty() {
                flags.push(format!("--c-extensions {}", s.c_extensions.join(",")));
            }
            if let Some(python) = &s.python {
                flags.push(format!("--python {python}"));
            }
            writeln!(
                out,
                "\nAdvice for {} (from published facts and what was checked here, not from measurements):",
                flags.join(" ")
            )?;
        }
        _ => writeln!(out, "\nAdvice:")?,
    }
    for warning in &advice.warnings {
        writeln!(out, "  ⚠ {warning}")?;
    }
    if !advice.lessons.is_empty() {
        writeln!(out, "\nWhat this run shows:")?;
        for lesson in &advice.lessons {
            writeln!(out, "  - {lesson}")?;
        }
    }
    for rec in &advice.recommendations {
        writeln!(out, "\n{}", rec.headline)?;
        // From a situation the headline already is the recommendation.
        if rec.approach != "none" && advice.basis == Basis::Run {
            let workers = rec
                .workers
                .filter(|_| rec.approach != "sequential")
                .map(|w| format!(" ×{w}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  Recommended: {}{workers} on {}{}",
                rec.approach,
                rec.interpreter,
                if rec.tie {
                    " (tie: the simpler approach)"
                } else {
                    ""
                }
            )?;
        }
        list(out, "Why", &rec.reasons)?;
        list(out, "Costs beyond time", &rec.costs)?;
        list(out, "Warnings", &rec.warnings)?;
        let alternatives: Vec<String> = rec
            .alternatives
            .iter()
            .map(|a| format!("{}: {}", a.approach, a.why_not))
            .collect();
        list(out, "Alternatives", &alternatives)?;
        if !rec.measure.is_empty() {
            writeln!(out, "  To measure it:")?;
            for command in &rec.measure {
                writeln!(out, "    $ {command}")?;
            }
        }
        if !rec.cites.is_empty() {
            let cites: Vec<String> = rec.cites.iter().map(|c| format!("[{c}]")).collect();
            writeln!(out, "  Sources: {}", cites.join(" "))?;
        }
    }
    if !advice.facts.is_empty() {
        writeln!(out, "\nSources:")?;
        for fact in &advice.facts {
            writeln!(
                out,
                "  [{}] {} ({}, {})",
                fact.id, fact.claim, fact.source, fact.url
            )?;
        }
    }
    Ok(())
}

/// Writes the advice as one pretty-printed JSON object.
pub fn json(out: &mut dyn Write, advice: &Advice) -> Result<()> {
    let text = serde_json::to_string_pretty(advice).context("cannot serialise the advice")?;
    writeln!(out, "{text}").context("cannot write the advice")
}

//! Advice without a run: the [`Situation`] described with `--workload ...`,
//! reasoned about by the [`super::rules`]. `--c-extensions` is checked now,
//! by importing each module on the free-threaded interpreters found (the
//! `python check-imports` machinery), or read from a saved check.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::advice::{self, Advice, Basis, Recommendation};
use super::args::AdviseArgs;
use super::finding::{Alternative, Finding};
use super::rules;
use super::situation::{ExtensionCheck, ImportCheck, ImportOutcome, Situation, Target};
use crate::interpreters::Interpreter;
use crate::interpreters::check_imports::{self, Outcome};
use crate::interpreters::discovery;

/// The situation of `advise --workload ...`.
pub fn from_args(workload: &str, args: &AdviseArgs) -> Result<Situation> {
    for module in &args.c_extensions {
        if !check_imports::is_module_name(module) {
            bail!(
                "--c-extensions {module:?} is not a module name: give dotted names such as `numpy` or `package.module`, comma-separated"
            );
        }
    }
    Ok(Situation {
        workload: workload.parse()?,
        shared_state: args.shared_state,
        large_inputs: args.large_inputs,
        c_extensions: args.c_extensions.clone(),
        python: args.python.as_deref().map(str::parse).transpose()?,
        latency_sensitive: args.latency_sensitive,
        beyond_one_machine: args.beyond_one_machine,
    })
}

/// Reads a `python check-imports --json` file, keeping the free-threaded
/// rows of the modules asked about.
fn read_checks(path: &Path, modules: &[String]) -> Result<ExtensionCheck> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --import-checks {}", path.display()))?;
    let checks: Vec<ImportCheck> = serde_json::from_str(&text).with_context(|| {
        format!(
            "--import-checks {} is not `gil-lab python check-imports --json` output",
            path.display()
        )
    })?;
    let checks: Vec<ImportCheck> = checks
        .into_iter()
        .filter(|c| c.outcome != ImportOutcome::NotApplicable && modules.contains(&c.module))
        .collect();
    Ok(if checks.is_empty() {
        ExtensionCheck::NoFreeThreaded
    } else {
        ExtensionCheck::Checked(checks)
    })
}

/// Imports each module now on every free-threaded interpreter found (of the
/// version asked for, when a free-threaded one was named).
fn check_now(modules: &[String], target: Option<&Target>) -> Result<ExtensionCheck> {
    let found = discovery::discover(&discovery::Options::default())?.interpreters;
    let wanted = |i: &Interpreter| {
        i.is_free_threaded_as_built()
            && target
                .filter(|t| t.free_threaded)
                .is_none_or(|t| i.facts.version_info[..2] == [t.major, t.minor])
    };
    let interpreters: Vec<&Interpreter> = found.iter().filter(|i| wanted(i)).collect();
    if interpreters.is_empty() {
        return Ok(ExtensionCheck::NoFreeThreaded);
    }
    let mut checks = Vec::new();
    for interpreter in interpreters {
        for module in modules {
            let check = check_imports::check(interpreter, module, &[])?;
            checks.push(ImportCheck {
                interpreter: check.interpreter,
                module: check.module,
                outcome: match check.outcome {
                    Outcome::KeptGilOff => ImportOutcome::KeptGilOff,
                    Outcome::EnabledGil => ImportOutcome::EnabledGil,
                    Outcome::ImportFailed => ImportOutcome::ImportFailed,
                    Outcome::NotApplicable => ImportOutcome::NotApplicable,
                },
                detail: check.detail,
            });
        }
    }
    Ok(ExtensionCheck::Checked(checks))
}

/// Pushes the items not already there.
fn extend_unique<T: PartialEq + Clone>(into: &mut Vec<T>, items: &[T]) {
    for item in items {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

/// One recommendation from the findings: the deciding one's choice and
/// reasons first, then what the other rules add.
pub fn recommend(s: &Situation, findings: &[Finding]) -> Recommendation {
    let decision = rules::decision(findings).expect("every workload has a deciding rule");
    let choice = decision.choice.clone().expect("the decision has a choice");
    let mut ordered: Vec<&Finding> = vec![decision];
    ordered.extend(findings.iter().filter(|f| f.rule != decision.rule));
    let mut recommendation = Recommendation {
        approach: choice.approach.name().into(),
        interpreter: choice.interpreter.clone(),
        headline: format!(
            "{}: {} on {}",
            s.workload.words(),
            choice.approach.name(),
            choice.interpreter
        ),
        ..Recommendation::new(s.workload.scenario())
    };
    for f in ordered {
        let r = &mut recommendation;
        // A rule whose choice was outranked becomes an alternative: its
        // reasons argue for something else.
        if let Some(other) = f.choice.as_ref().filter(|_| f.rule != decision.rule) {
            r.alternatives.push(Alternative {
                approach: format!("{} on {}", other.approach.name(), other.interpreter),
                why_not: format!(
                    "the choice for this workload otherwise ({}), but {}",
                    f.reasons.join("; "),
                    match decision.rule {
                        "beyond_one_machine" => "the work outgrows one machine",
                        "extensions_reenable_gil" => "an extension turns the GIL back on",
                        _ => "another rule outranks it",
                    }
                ),
            });
            extend_unique(&mut r.measure, &f.measure);
            extend_unique(&mut r.rules, &[f.rule.to_string()]);
            let cites: Vec<String> = f.cites.iter().map(|c| c.to_string()).collect();
            extend_unique(&mut r.cites, &cites);
            continue;
        }
        extend_unique(&mut r.reasons, &f.reasons);
        extend_unique(&mut r.costs, &f.costs);
        extend_unique(&mut r.alternatives, &f.alternatives);
        extend_unique(&mut r.measure, &f.measure);
        extend_unique(&mut r.rules, &[f.rule.to_string()]);
        let cites: Vec<String> = f.cites.iter().map(|c| c.to_string()).collect();
        extend_unique(&mut r.cites, &cites);
    }
    // The decision is about numbers gil-lab does not have: say so.
    recommendation.reasons.push(
        "these are published figures, not measurements of your code: run the bench commands below to decide with numbers"
            .into(),
    );
    recommendation
}

/// The advice for a situation with what is known of its extensions.
pub fn advice_for(s: &Situation, checked: &ExtensionCheck) -> Advice {
    let findings = rules::findings(s, checked);
    let recommendation = recommend(s, &findings);
    let facts = advice::cited_by(std::slice::from_ref(&recommendation));
    Advice {
        basis: Basis::Situation,
        run_dir: None,
        situation: Some(s.clone()),
        warnings: Vec::new(),
        lessons: Vec::new(),
        recommendations: vec![recommendation],
        facts,
    }
}

/// `advise --workload ...`: checks the extensions (now, or from the saved
/// file), then reasons.
pub fn advise(s: &Situation, args: &AdviseArgs) -> Result<Advice> {
    let checked = if s.c_extensions.is_empty() {
        ExtensionCheck::NotAsked
    } else if let Some(path) = &args.import_checks {
        read_checks(path, &s.c_extensions)?
    } else {
        check_now(&s.c_extensions, s.python.as_ref())?
    };
    Ok(advice_for(s, &checked))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_checks_keep_free_threaded_rows_of_the_modules_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("checks.json");
        std::fs::write(
            &path,
            r#"[{"interpreter": "CPython 3.13.5t", "path": "/x", "module": "fastlib",
                 "outcome": "enabled_gil", "gil_before": false, "gil_after": true,
                 "warnings": [], "detail": null},
                {"interpreter": "CPython 3.12.1", "path": "/y", "module": "fastlib",
                 "outcome": "not_applicable", "gil_before": null, "gil_after": null,
                 "warnings": [], "detail": "default build"},
                {"interpreter": "CPython 3.13.5t", "path": "/x", "module": "other",
                 "outcome": "kept_gil_off", "gil_before": false, "gil_after": false,
                 "warnings": [], "detail": null}]"#,
        )
        .unwrap();
        let ExtensionCheck::Checked(checks) = read_checks(&path, &["fastlib".into()]).unwrap()
        else {
            panic!("checked")
        };
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].outcome, ImportOutcome::EnabledGil);
        assert_eq!(
            read_checks(&path, &["absent".into()]).unwrap(),
            ExtensionCheck::NoFreeThreaded
        );
        std::fs::write(&path, "{}").unwrap();
        let err = read_checks(&path, &["fastlib".into()]).unwrap_err();
        assert!(err.to_string().contains("check-imports --json"), "{err}");
    }
}

//! What `gil-lab ready` prints: per interpreter, its verdict and a table of
//! the distributions (how each installs, what importing it did, its fix);
//! or, with `--json`, one flat record per distribution × interpreter.

use std::fmt::Write as _;
use std::path::Path;

use comfy_table::{Cell, Color};
use serde::Serialize;

use crate::run::readiness::{
    DistributionCheck, InstallKind, InterpreterReadiness, Readiness, Verdict,
};

/// One `--json` record: a distribution on an interpreter.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    /// The interpreter's label (or `3.14t (registry)`).
    pub interpreter: &'a str,
    /// Its executable (absent for `--target`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a Path>,
    /// The wheel tag it needs.
    pub tag: &'a str,
    /// A free-threaded build.
    pub free_threaded: bool,
    /// Answered from the registry alone.
    pub registry_only: bool,
    /// The interpreter's verdict.
    pub interpreter_verdict: Verdict,
    /// The distribution's checks and verdict.
    #[serde(flatten)]
    pub distribution: &'a DistributionCheck,
}

/// The `--json` records.
pub fn records(readiness: &Readiness) -> Vec<Record<'_>> {
    readiness
        .interpreters
        .iter()
        .flat_map(|i| {
            i.distributions.iter().map(move |d| Record {
                interpreter: &i.interpreter,
                path: i.path.as_deref(),
                tag: &i.tag,
                free_threaded: i.free_threaded,
                registry_only: i.registry_only,
                interpreter_verdict: i.verdict,
                distribution: d,
            })
        })
        .collect()
}

fn install_words(d: &DistributionCheck, tag: &str) -> String {
    match d.install {
        InstallKind::Wheel => format!("wheel ({tag})"),
        InstallKind::Pure => "pure Python".into(),
        InstallKind::Source => match d.built {
            Some(true) => "source (built)".into(),
            Some(false) => "source (build failed)".into(),
            None => "source".into(),
        },
        InstallKind::NoWheel => format!("no wheel for {tag}"),
        InstallKind::Unresolved => "not resolved".into(),
    }
}

fn imports_words(d: &DistributionCheck, free_threaded: bool) -> String {
    if d.imports.is_empty() {
        return "-".into();
    }
    d.imports
        .iter()
        .map(|i| {
            let what = if !i.imported {
                "fails"
            } else if i.gil_after == Some(true) {
                "GIL on"
            } else if free_threaded {
                "GIL off"
            } else {
                "ok"
            };
            let sub = match i.subinterpreter {
                Some(false) => ", not in a subinterpreter",
                _ => "",
            };
            format!("{}: {what}{sub}", i.module)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn verdict_cell(verdict: Verdict, words: String) -> Cell {
    let colour = match verdict {
        Verdict::Ready => Color::Green,
        Verdict::GilReEnabled => Color::Yellow,
        Verdict::Blocked => Color::Red,
    };
    Cell::new(words).fg(colour)
}

/// The readable output: per interpreter, its verdict line and its table.
pub fn table(readiness: &Readiness, colour: bool) -> String {
    let mut out = String::new();
    for interpreter in &readiness.interpreters {
        interpreter_table(&mut out, interpreter, colour);
    }
    let ready = readiness
        .interpreters
        .iter()
        .filter(|i| i.verdict == Verdict::Ready)
        .count();
    let _ = writeln!(
        out,
        "{ready} of {} interpreter(s) ready for {} (docs/ready.md: an import test does not prove thread safety).",
        readiness.interpreters.len(),
        readiness.source.display()
    );
    out
}

fn interpreter_table(out: &mut String, interpreter: &InterpreterReadiness, colour: bool) {
    let consequence = interpreter.consequence();
    let _ = writeln!(
        out,
        "{} ({}): {}{}",
        interpreter.interpreter,
        interpreter.tag,
        interpreter.verdict_words(),
        if consequence.is_empty() {
            String::new()
        } else {
            format!(" — {consequence}")
        }
    );
    let mut table = crate::interpreters::table::new(
        &[
            "distribution",
            "version",
            "installs",
            "imports",
            "verdict",
            "fix",
        ],
        colour,
    );
    for d in &interpreter.distributions {
        let verdict = match d.verdict {
            Verdict::Ready => "ready".to_owned(),
            Verdict::GilReEnabled => "GIL re-enabled".to_owned(),
            Verdict::Blocked => format!("blocked: {}", d.reason),
        };
        let fix = match &d.fix {
            Some(fix) => match &fix.version {
                Some(version) => format!("{}>={version}", d.name),
                None if d.verdict == Verdict::GilReEnabled => {
                    "none yet (PYTHON_GIL=0 at a risk)".to_owned()
                }
                None => "none yet".to_owned(),
            },
            None => String::new(),
        };
        table.add_row(vec![
            Cell::new(format!(
                "{}{}{}",
                d.name,
                if d.requested { "" } else { " (dep)" },
                if d.cached { " *" } else { "" }
            )),
            Cell::new(d.version.as_deref().unwrap_or("-")),
            Cell::new(install_words(d, &interpreter.tag)),
            Cell::new(imports_words(d, interpreter.free_threaded)),
            verdict_cell(d.verdict, verdict),
            Cell::new(fix),
        ]);
    }
    out.push_str(&crate::interpreters::table::render(&table));
    for d in interpreter
        .distributions
        .iter()
        .filter_map(|d| d.fix.as_ref().map(|f| (d, f)))
    {
        let (d, fix) = d;
        let _ = writeln!(out, "  fix for {}: {}", d.name, fix.advice);
    }
    if interpreter.distributions.iter().any(|d| d.cached) {
        let _ = writeln!(
            out,
            "  * from the cache (this release was checked on this interpreter before; --refresh checks again)"
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::readiness::{Fix, ModuleImport};

    fn dist(name: &str, verdict: Verdict) -> DistributionCheck {
        DistributionCheck {
            name: name.into(),
            version: Some("1.0".into()),
            requested: true,
            install: InstallKind::Source,
            file: None,
            built: Some(true),
            log: None,
            imports: vec![ModuleImport {
                module: name.into(),
                imported: true,
                gil_after: Some(verdict == Verdict::GilReEnabled),
                gil_enabled_by: (verdict == Verdict::GilReEnabled).then(|| name.to_owned()),
                subinterpreter: Some(false),
                detail: None,
            }],
            verdict,
            reason: "built from source".into(),
            fix: (verdict != Verdict::Ready).then(|| Fix {
                version: Some("2.0".into()),
                tried: vec!["2.0".into()],
                advice: "upgrade".into(),
            }),
            cached: false,
        }
    }

    #[test]
    fn the_table_states_the_verdict_and_the_fix() {
        let distributions = vec![
            dist("ujson", Verdict::GilReEnabled),
            dist("six", Verdict::Ready),
        ];
        let (verdict, blockers) = crate::run::readiness::combine(distributions.iter());
        let readiness = Readiness {
            source: "requirements.txt".into(),
            interpreters: vec![InterpreterReadiness {
                interpreter: "CPython 3.13t".into(),
                path: None,
                tag: "cp313t".into(),
                free_threaded: true,
                registry_only: false,
                verdict,
                blockers,
                distributions,
            }],
        };
        let text = table(&readiness, false);
        assert!(
            text.contains("GIL re-enabled by ujson — threads are serialised"),
            "{text}"
        );
        assert!(text.contains("ujson>=2.0"), "{text}");
        assert!(text.contains("not in a subinterpreter"), "{text}");
        assert!(text.contains("0 of 1 interpreter(s) ready"), "{text}");
        let json = serde_json::to_value(records(&readiness)).unwrap();
        assert_eq!(json[0]["interpreter_verdict"], "gil_re_enabled");
        assert_eq!(json[0]["name"], "ujson");
        assert_eq!(json[1]["verdict"], "ready");
    }
}

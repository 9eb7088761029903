//! `gil-lab python list`: every interpreter found, as a table or JSON.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use comfy_table::{Attribute, Cell, Color};

use serde::Serialize;

use super::discovery::{self, Discovery};
use super::facts::{BuildVariant, Facts, SubinterpreterSupport};
use super::interpreter::{Interpreter, Source};
use super::recipe::Recipe;
use super::select_args::SelectArgs;

/// Lists the interpreters gil-lab finds (and those given with --python),
/// with the facts that matter for concurrency. Free-threaded builds are
/// marked with `*`; each is listed a second time as "with PYTHON_GIL=1",
/// started with -X gil=1 (the GIL forced back on), as the bench measures it.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Also show executables that were found but cannot be used, and why
    /// (e.g. Python 2, or a version older than gil-lab supports).
    #[arg(long)]
    pub all: bool,
    /// Print a JSON array (one object per interpreter) instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `python list`.
pub fn run(args: &ListArgs) -> Result<ExitCode> {
    let mut options = discovery::Options::from_args(&args.select);
    options.forced_gil_variants = true;
    let found = discovery::discover(&options)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let json = to_json(&found, args.all)?;
        writeln!(stdout, "{json}")?;
        return Ok(ExitCode::SUCCESS);
    }
    if found.interpreters.is_empty() {
        anyhow::bail!(
            "no usable Python interpreter found: install one with `gil-lab python install 3.13t` or give one with --python"
        );
    }
    write!(
        stdout,
        "{}",
        table(&found.interpreters, super::table::use_colour())
    )?;
    if found.interpreters.iter().any(Interpreter::is_free_threaded) {
        writeln!(
            stdout,
            "* free-threaded build; \"with PYTHON_GIL=1\": the same build started with -X gil=1"
        )?;
    }
    write_ray_notes(&mut stdout, &found.interpreters)?;
    if args.all && !found.unusable.is_empty() {
        writeln!(stdout, "\nFound but not usable:")?;
        for unusable in &found.unusable {
            writeln!(
                stdout,
                "  {} ({}): {}",
                unusable.path.display(),
                unusable.source,
                unusable.reason
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Under the table: what the ray column means, each reason for `no wheels`
/// once, with its source.
fn write_ray_notes(out: &mut impl Write, interpreters: &[Interpreter]) -> Result<()> {
    let mut reasons = Vec::new();
    for interpreter in interpreters {
        if let super::ray::Readiness::NoWheels(why) =
            super::ray::readiness(&interpreter.path, &interpreter.facts)
        {
            let line = why.to_string();
            if !reasons.contains(&line) {
                reasons.push(line);
            }
        }
    }
    writeln!(
        out,
        "ray: Ray {} for the ray approach; `gil-lab python ray-env` (or `bench --approach ray`) sets it up",
        super::ray::RAY_VERSION
    )?;
    for reason in reasons {
        writeln!(out, "  no wheels: {reason}")?;
    }
    Ok(())
}

/// One element of `python list --json`: the facts scripts need most at the
/// top level, everything the probe said under `facts`.
#[derive(Debug, Serialize)]
struct JsonEntry<'a> {
    /// Always true here; unusable candidates (`--all`) have `usable: false`.
    usable: bool,
    /// The interpreter's unique label, e.g. `CPython 3.13.5t with PYTHON_GIL=1`.
    label: &'a str,
    /// The executable to run.
    executable: &'a Path,
    /// The path it was found or given as.
    found_as: &'a Path,
    /// Where it was found (`pyenv`, `PATH`, `--python`, ...).
    source: Source,
    /// `sys.implementation.name`: `cpython`, `pypy`.
    implementation: &'a str,
    /// Full version, e.g. `3.13.5`.
    version: &'a str,
    /// `default`, `free-threaded`, `debug`, `free-threaded-debug`.
    variant: BuildVariant,
    /// A free-threaded build.
    free_threaded: bool,
    /// `-X gil` can switch the GIL on and off (free-threaded builds).
    gil_switchable: bool,
    /// `true` when started with `-X gil=1`, `false` with `-X gil=0`, `null`
    /// for the build's default.
    gil_forced: Option<bool>,
    /// Flags to start it this way (e.g. `["-X", "gil=1"]`).
    interpreter_flags: Vec<String>,
    /// Whether the GIL was on at start-up.
    gil_at_start: bool,
    /// Subinterpreters have a GIL of their own (CPython 3.12+).
    subinterpreters_own_gil: bool,
    /// Whether gil-lab runs the workload on it (its version is supported;
    /// see `src/interpreters/supported.rs`). Always true here: false only
    /// for unusable candidates (`--all`).
    runs_workload: bool,
    /// Ray for the `ray` approach: `ready`, `not set up` or `no wheels`.
    ray: &'static str,
    /// The same in words, with the reason and its source when there are
    /// no wheels.
    ray_detail: String,
    /// The Python of its Ray environment, when ready.
    ray_python: Option<std::path::PathBuf>,
    /// How it was built: PGO, LTO, `--disable-gil`, compiler, `-O` level
    /// (derived from `facts.build`).
    recipe: Recipe,
    /// Everything the probe reported.
    facts: &'a Facts,
}

/// An unusable candidate in `python list --all --json`.
#[derive(Debug, Serialize)]
struct JsonUnusable<'a> {
    /// Always false.
    usable: bool,
    /// The executable found.
    executable: &'a Path,
    /// Where it was found.
    source: Source,
    /// Why it cannot be used.
    reason: &'a str,
    /// Always false: gil-lab runs nothing on it.
    runs_workload: bool,
}

/// The JSON array: every usable interpreter, then, with `all`, the
/// unusable ones (`"usable": false`).
fn to_json(found: &Discovery, all: bool) -> Result<String> {
    let mut items = Vec::new();
    for interpreter in &found.interpreters {
        let ray = super::ray::readiness(&interpreter.path, &interpreter.facts);
        let entry = JsonEntry {
            usable: true,
            label: &interpreter.label,
            executable: &interpreter.path,
            found_as: &interpreter.found_as,
            source: interpreter.source,
            implementation: &interpreter.facts.implementation,
            version: &interpreter.facts.version,
            variant: interpreter.variant,
            free_threaded: interpreter.is_free_threaded(),
            gil_switchable: interpreter.facts.gil_switchable(),
            gil_forced: interpreter.gil_forced,
            interpreter_flags: interpreter.interpreter_flags(),
            gil_at_start: interpreter.gil_at_start(),
            subinterpreters_own_gil: interpreter.facts.subinterpreters_own_gil(),
            runs_workload: interpreter.facts.runs_workload(),
            ray: ray.short(),
            ray_detail: ray.words(),
            ray_python: match ray {
                super::ray::Readiness::Ready(python) => Some(python),
                _ => None,
            },
            recipe: interpreter.facts.recipe(),
            facts: &interpreter.facts,
        };
        items.push(serde_json::to_value(entry).context("cannot encode an interpreter")?);
    }
    if all {
        for unusable in &found.unusable {
            let entry = JsonUnusable {
                usable: false,
                executable: &unusable.path,
                source: unusable.source,
                reason: &unusable.reason,
                runs_workload: false,
            };
            items.push(serde_json::to_value(entry).context("cannot encode an entry")?);
        }
    }
    serde_json::to_string_pretty(&items).context("cannot encode the list")
}

/// The readable table; free-threaded builds carry a `*` (and colour).
fn table(interpreters: &[Interpreter], colour: bool) -> String {
    let mut table = super::table::new(
        &[
            "",
            "interpreter",
            "variant",
            "build",
            "GIL at start",
            "subinterpreters",
            "start method",
            "ray",
            "found in",
            "path",
        ],
        colour,
    );
    for interpreter in interpreters {
        let free_threaded = interpreter.is_free_threaded();
        let highlight = |cell: Cell| {
            if free_threaded {
                cell.fg(Color::Green)
            } else {
                cell
            }
        };
        let gil = match (interpreter.gil_at_start(), interpreter.gil_forced) {
            (false, _) => Cell::new("off").fg(Color::Green),
            (true, Some(true)) => Cell::new("on (-X gil=1)").fg(Color::Yellow),
            (true, _) if free_threaded => Cell::new("on").fg(Color::Yellow),
            (true, _) => Cell::new("on"),
        };
        let facts = &interpreter.facts;
        let mut subinterpreters = facts.subinterpreters.module().to_owned();
        if facts.interpreter_pool_executor {
            subinterpreters.push_str(" + pool");
        }
        if facts.subinterpreters != SubinterpreterSupport::None && !facts.subinterpreters_own_gil()
        {
            subinterpreters.push_str(" (shared GIL)");
        }
        table.add_row(vec![
            highlight(Cell::new(if free_threaded { "*" } else { "" })),
            highlight(Cell::new(&interpreter.label)).add_attribute(Attribute::Bold),
            highlight(Cell::new(interpreter.variant.describe())),
            // The recipe's words (PGO, LTO, configure) are CPython's.
            Cell::new(if facts.implementation == "cpython" {
                facts.recipe().short()
            } else {
                "-".to_string()
            }),
            gil,
            Cell::new(subinterpreters),
            Cell::new(facts.default_start_method.as_deref().unwrap_or("-")),
            Cell::new(super::ray::readiness(&interpreter.path, facts).short()),
            Cell::new(interpreter.source.to_string()),
            Cell::new(interpreter.path.display()),
        ]);
    }
    super::table::render(&table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpreters::facts::tests::free_threaded_facts;

    fn free_threaded(gil: Option<bool>) -> Interpreter {
        let mut facts = free_threaded_facts();
        facts.gil_enabled = Some(gil == Some(true));
        let label = match gil {
            Some(true) => "CPython 3.13.5t with PYTHON_GIL=1",
            _ => "CPython 3.13.5t",
        };
        Interpreter {
            label: label.into(),
            path: "/opt/py/bin/python3.13t".into(),
            found_as: "/opt/py/bin/python3.13t".into(),
            source: Source::Prefix,
            variant: facts.variant(),
            gil_forced: gil,
            facts,
        }
    }

    #[test]
    fn table_marks_free_threaded_builds_and_the_forced_gil() {
        let text = table(&[free_threaded(None), free_threaded(Some(true))], false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].contains("GIL at start"), "{text}");
        assert!(
            lines[1].trim_start().starts_with('*') && lines[1].contains(" CPython 3.13.5t "),
            "{text}"
        );
        assert!(lines[1].contains(" off "), "{text}");
        assert!(
            lines[2].contains("CPython 3.13.5t with PYTHON_GIL=1"),
            "{text}"
        );
        assert!(lines[2].contains("on (-X gil=1)"), "{text}");
        assert!(!text.contains('\u{1b}'), "no colour codes when not asked");
        assert!(lines.iter().all(|line| !line.ends_with(' ')));
    }

    #[test]
    fn colour_when_asked() {
        let text = table(&[free_threaded(None)], true);
        assert!(text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn json_has_derived_fields_and_unusable_entries() {
        let found = Discovery {
            interpreters: vec![free_threaded(Some(true))],
            unusable: vec![discovery::Unusable {
                path: "/usr/bin/python2.7".into(),
                source: Source::Prefix,
                reason: "too old".into(),
            }],
        };
        let value: serde_json::Value =
            serde_json::from_str(&to_json(&found, true).unwrap()).unwrap();
        let items = value.as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["free_threaded"], true);
        assert_eq!(items[0]["gil_at_start"], true);
        assert_eq!(items[0]["gil_forced"], true);
        assert_eq!(items[0]["implementation"], "cpython");
        assert_eq!(items[0]["version"], "3.13.5");
        assert_eq!(items[0]["executable"], "/opt/py/bin/python3.13t");
        assert_eq!(
            items[0]["interpreter_flags"],
            serde_json::json!(["-X", "gil=1"])
        );
        assert_eq!(items[0]["variant"], "free-threaded");
        assert_eq!(items[0]["facts"]["version"], "3.13.5");
        assert_eq!(items[1]["usable"], false);
        let without: serde_json::Value =
            serde_json::from_str(&to_json(&found, false).unwrap()).unwrap();
        assert_eq!(without.as_array().unwrap().len(), 1);
    }
}

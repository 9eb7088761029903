//! Lesson 1, what CPython is: one agent function (the solver's hottest),
//! its source, the bytecode CPython compiled it to and the specialised
//! forms the adaptive interpreter rewrote it into after warm-up (the
//! inspection of `gil-lab inspect`), and the same agents' time on PyPy when
//! one is found: Python is a language, CPython one implementation of it.

use anyhow::{Context, Result};

use super::lab::{self, Lab};
use super::lessons::Page;
use crate::inside::runner;
use crate::protocol::inside::{HotFunction, InsideSpec, counts_text};
use crate::run::format::format_seconds;

/// The unit whose hottest function the lesson shows.
const UNIT: &str = "solver";
/// Source lines shown at most.
const SOURCE_LINES: usize = 14;
/// Instructions shown at most.
const LISTING_ROWS: usize = 24;

/// The function's source, from the extracted workload package.
fn source_of(function: &HotFunction) -> Result<String> {
    let path = crate::embedded::package_root()?.join(&function.file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let first = (function.line as usize).saturating_sub(1);
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = lines.get(first).map_or(0, |l| indent(l));
    let mut shown = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(first) {
        if i > first && !line.trim().is_empty() && indent(line) <= base {
            break;
        }
        if shown.len() == SOURCE_LINES {
            shown.push(format!("{}...", " ".repeat(base + 4)));
            break;
        }
        shown.push(format!("{:>4}  {line}", i + 1));
    }
    Ok(shown.join("\n"))
}

/// Runs lesson 1.
pub fn run(lab: &Lab, page: &mut Page) -> Result<()> {
    let Some(cpython) = lab.default_build.as_ref().or(lab.free_threaded.as_ref()) else {
        page.missing("no CPython found: `gil-lab python install 3.13` provides one".to_string());
        return Ok(());
    };
    let spec = InsideSpec {
        units: vec![UNIT.into()],
        task: None,
        tasks: 2,
        seed: 42,
        listing: true,
        peak: false,
    };
    eprintln!("  inspecting the {UNIT} agent on {}...", cpython.label);
    let record = crate::choice::interpreter_record(cpython);
    let inspection = runner::inspect(&record, &spec);
    let report = match &inspection.outcome {
        crate::protocol::inside::InspectionOutcome::Report(r) => r,
        crate::protocol::inside::InspectionOutcome::Failed(why) => {
            anyhow::bail!("the inspection of {} failed: {why}", cpython.label)
        }
    };
    let unit = report
        .unit(UNIT)
        .with_context(|| format!("the inspection has no {UNIT} unit"))?;
    let function = unit
        .functions
        .iter()
        .find(|f| f.listing.is_some())
        .with_context(|| format!("the inspection lists no function of {UNIT}"))?;
    let from = format!("the inspection just run on {}", cpython.label);

    page.heading("1. Source");
    page.text(format!(
        "The solver agent counts placements of queens on a board. Its hottest function, `{}` in {}, took {:.0}% of the agent's Python time under the profiler. This is what you write:",
        function.name,
        function.file,
        function.own_time_share * 100.0
    ));
    page.code(
        format!("{}:{}", function.file, function.line),
        source_of(function)?,
    );

    page.heading("2. Bytecode, then specialised bytecode");
    let listing = function.listing.as_deref().unwrap_or_default();
    let rewritten = listing.iter().filter(|i| i.adaptive.is_some()).count();
    page.text(format!(
        "CPython does not run the source. It compiles it to bytecode, small instructions for a virtual machine ({} instructions here), and its interpreter loop runs them one after another. Since 3.11 that loop is adaptive: after a function has run a few times, it rewrites generic instructions into forms specialised for the types it saw (an addition of two ints, a read of a list item by an int index). After warming the agent up with {} tasks, {} of this function's {} instructions had been rewritten; over the agent's hot functions, {} of the instructions that can be specialised were.",
        listing.len(),
        unit.tasks,
        rewritten,
        listing.len(),
        unit.share_text()
    ));
    let rows = listing
        .iter()
        .take(LISTING_ROWS)
        .map(|i| {
            vec![
                i.offset.to_string(),
                i.line.map(|l| l.to_string()).unwrap_or_default(),
                i.opname.clone(),
                i.adaptive.clone().unwrap_or_else(|| "·".into()),
                i.argrepr.clone(),
            ]
        })
        .collect();
    page.table(
        &["offset", "line", "compiled", "after warm-up", "argument"],
        rows,
    );
    page.figure(
        format!(
            "{} instructions rewritten after warm-up ({})",
            function.name, cpython.label
        ),
        rewritten as f64,
        "instructions",
        &from,
    );
    if let Some(s) = &unit.specialisation {
        page.figure(
            format!("{UNIT} hot instructions specialised ({})", cpython.label),
            f64::from(s.specialised),
            &format!("of {} specialisable", s.specialisable),
            &from,
        );
        page.text(format!(
            "Specialised over the hot functions: {}. The most frequent forms: {}.",
            counts_text(s.specialised, s.specialisable),
            s.top
                .iter()
                .take(4)
                .map(|(name, n)| format!("{name} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    page.heading("3. The same agents on another implementation");
    pypy(lab, cpython, page)?;
    page.deeper(format!(
        "gil-lab inspect --python {} --unit {UNIT} --dis",
        crate::shell::quote_path(&cpython.path)
    ));
    page.deeper("gil-lab inspect    (every agent, every interpreter, side by side)".to_string());
    Ok(())
}

/// The cpu agents' sequential time on CPython and on PyPy, when found.
fn pypy(lab: &Lab, cpython: &crate::interpreters::Interpreter, page: &mut Page) -> Result<()> {
    let Some(pypy) = &lab.pypy else {
        page.text("Python is a language; CPython is its reference implementation, written in C. PyPy is another, with a tracing JIT compiler that turns hot loops into machine code: the same agents usually run several times faster on it.");
        page.missing("no PyPy found: this would time the same agents on PyPy next to CPython; on Debian or Ubuntu `sudo apt-get install pypy3` installs one (gil-lab finds it on PATH)".to_string());
        return Ok(());
    };
    let loaded = lab.brief(
        page,
        "lesson1-pypy",
        &[cpython, pypy],
        "cpu",
        "sequential",
        &lab::THREE_ROUNDS,
    )?;
    let source = lab::source(&loaded);
    let mut rows = Vec::new();
    let mut times = Vec::new();
    for interpreter in [cpython, pypy] {
        let Some(record) = lab::in_run(&loaded, interpreter, false) else {
            continue;
        };
        let Some(median) =
            lab::cell(&loaded, "cpu", &record.id, "sequential", 1).and_then(lab::median_work)
        else {
            page.missing(format!(
                "{}: its cpu trials did not succeed (see {})",
                interpreter.label,
                lab::shown(&loaded.dir)
            ));
            continue;
        };
        page.figure(
            format!("cpu sequential work time on {}", interpreter.label),
            median,
            "s",
            &source,
        );
        rows.push(vec![interpreter.label.clone(), format_seconds(median)]);
        times.push(median);
    }
    page.table(
        &["interpreter", "cpu agents, one thread (median work time)"],
        rows,
    );
    if let [cp, pp] = times[..] {
        page.figure(
            "PyPy speed-up over CPython (cpu, sequential)",
            cp / pp,
            "×",
            &source,
        );
        page.text(format!(
            "Same source, same answers (gil-lab checks the digest of every trial), different implementation: {} ran the cpu agents in {} against {} on {}, {:.1}× {}. Python is a language; CPython is its reference implementation, written in C, with the bytecode interpreter you just saw. PyPy compiles hot loops to machine code with a tracing JIT; it has a GIL too, and it lags CPython's versions ({}).",
            pypy.label,
            format_seconds(pp),
            format_seconds(cp),
            cpython.label,
            if pp < cp { cp / pp } else { pp / cp },
            if pp < cp { "faster" } else { "slower" },
            pypy.facts.version_info.map(|v| v.to_string()).join(".")
        ));
    }
    page.deeper(format!(
        "gil-lab bench --python {} --scenario cpu,shared",
        crate::shell::quote_path(&pypy.path)
    ));
    Ok(())
}

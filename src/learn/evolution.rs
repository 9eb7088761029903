//! Lesson 2, performance evolution: the cpu agents' single-thread time on
//! each CPython minor version installed (3.13, 3.14, 3.15 when present),
//! each build's recipe (a compiler and its options differ as much as the
//! version), the collector's work per task, and what changed between the
//! versions (the features the inspection reports).

use anyhow::Result;

use super::lab::{self, Lab};
use super::lessons::Page;
use crate::interpreters::recipe::Recipe;
use crate::run::format::format_seconds;

/// The minor versions the lesson looks for.
const MINORS: [u32; 3] = [13, 14, 15];

/// Runs lesson 2.
pub fn run(lab: &Lab, page: &mut Page) -> Result<()> {
    for minor in MINORS {
        if !lab.minors.iter().any(|i| i.facts.version_info[1] == minor) {
            page.missing(format!(
                "CPython 3.{minor} not found: this would add its time, recipe and features to the comparison; `gil-lab python install 3.{minor}` provides it"
            ));
        }
    }
    if lab.minors.is_empty() {
        return Ok(());
    }
    let minors: Vec<&crate::interpreters::Interpreter> = lab.minors.iter().collect();
    let loaded = lab.brief(
        page,
        "lesson2-versions",
        &minors,
        "cpu",
        "sequential",
        &["--runs", "3"],
    )?;
    let source = lab::source(&loaded);
    let inside_source = loaded.dir.join("inside.json").display().to_string();
    let units = crate::run::inside::scenario_units("cpu");

    page.heading("The same agents, one thread, each version");
    let mut rows = Vec::new();
    let mut first: Option<f64> = None;
    let mut times = Vec::new();
    for interpreter in &lab.minors {
        let Some(record) = lab::in_run(&loaded, interpreter, false) else {
            continue;
        };
        let median =
            lab::cell(&loaded, "cpu", &record.id, "sequential", 1).and_then(lab::median_work);
        let report = loaded.inside.as_ref().and_then(|f| {
            f.inspections
                .iter()
                .find(|i| i.interpreter == record.id)
                .and_then(|i| i.report())
        });
        let collections: Option<f64> = report.map(|r| {
            units
                .iter()
                .filter_map(|u| r.unit(u))
                .filter_map(|u| u.memory.collections_per_task.as_ref())
                .map(|c| c.iter().sum::<f64>())
                .sum()
        });
        let specialised = report.map(|r| {
            let (done, all) = units
                .iter()
                .filter_map(|u| r.unit(u)?.specialisation.as_ref())
                .fold((0, 0), |(d, a), s| (d + s.specialised, a + s.specialisable));
            crate::protocol::inside::counts_text(done, all)
        });
        if let Some(m) = median {
            page.figure(
                format!("cpu sequential work time on {}", record.label),
                m,
                "s",
                &source,
            );
            first.get_or_insert(m);
            times.push((record.label.clone(), m));
        }
        if let Some(c) = collections {
            page.figure(
                format!("collections per task, cpu agents, {}", record.label),
                c,
                "collections",
                &inside_source,
            );
        }
        rows.push(vec![
            record.label.clone(),
            Recipe::of(&interpreter.facts.build).short(),
            median
                .map(format_seconds)
                .unwrap_or_else(|| "failed".into()),
            match (median, first) {
                (Some(m), Some(f)) => format!("{:.2}×", m / f),
                _ => "-".into(),
            },
            collections
                .map(|c| format!("{c:.1}"))
                .unwrap_or_else(|| "-".into()),
            specialised.unwrap_or_else(|| "-".into()),
        ]);
    }
    page.table(
        &[
            "interpreter",
            "build recipe",
            "median work time",
            "vs the oldest",
            "collections per task",
            "specialised",
        ],
        rows,
    );
    if let (Some((old_label, old)), Some((new_label, new))) = (times.first(), times.last())
        && times.len() > 1
    {
        page.text(format!(
            "The same agents, the same answers, one thread: {new_label} took {} where {old_label} took {} ({:.2}× the time). Each new minor version of CPython changes the interpreter loop, the specialiser and the memory manager; the release notes publish pyperformance gains of a few percent per version. Read the recipe column before crediting the version: a build's compiler, its optimisation level and profile-guided optimisation (PGO) with link-time optimisation (LTO) move the time by 10-30% on their own, so two builds made differently differ by more than their version.",
            format_seconds(*new),
            format_seconds(*old),
            new / old
        ));
    } else {
        page.text("With one version only, there is nothing to compare yet: install another minor version (see below) and run the lesson again.");
    }
    page.text("The collector column counts the cyclic garbage collector's passes per agent task: the agents allocate many short-lived objects, and how often the collector runs is part of what changes from version to version.");

    page.heading("What changed between the versions");
    features(&loaded, lab, page);
    page.deeper("gil-lab python list    (each build's recipe)".to_string());
    page.deeper(format!("gil-lab inspect --run {}", lab::shown(&loaded.dir)));
    page.deeper(
        "gil-lab bench --python 3.13 --python 3.14 --python 3.15 --scenario cpu,shared".to_string(),
    );
    Ok(())
}

/// The features of each version side by side, those that differ first.
fn features(loaded: &crate::run::LoadedRun, lab: &Lab, page: &mut Page) {
    let Some(inside) = &loaded.inside else {
        page.missing(
            "the run made no inspection: `gil-lab inspect --run RUN_DIR` adds it".to_string(),
        );
        return;
    };
    let reports: Vec<(String, &crate::protocol::inside::InsideReport)> = lab
        .minors
        .iter()
        .filter_map(|i| {
            let record = lab::in_run(loaded, i, false)?;
            let report = inside
                .inspections
                .iter()
                .find(|x| x.interpreter == record.id)?
                .report()?;
            Some((record.label.clone(), report))
        })
        .collect();
    let Some((_, first)) = reports.first() else {
        return;
    };
    let mut differing = Vec::new();
    let mut rows = Vec::new();
    for feature in &first.features {
        let states: Vec<String> = reports
            .iter()
            .map(|(_, r)| {
                r.feature(&feature.key)
                    .map_or("-".to_string(), |f| f.state.words().to_string())
            })
            .collect();
        let differs = states.iter().any(|s| *s != states[0]);
        if differs {
            let details: Vec<String> = reports
                .iter()
                .filter_map(|(label, r)| {
                    Some(format!("{label}: {}", r.feature(&feature.key)?.detail))
                })
                .collect();
            differing.push(format!("{} — {}", feature.key, details.join("; ")));
        }
        let mut row = vec![format!(
            "{}{}",
            feature.key,
            if differs { " *" } else { "" }
        )];
        row.extend(states);
        rows.push(row);
    }
    let mut header: Vec<&str> = vec!["feature"];
    header.extend(reports.iter().map(|(l, _)| l.as_str()));
    page.table(&header, rows);
    if differing.is_empty() {
        page.text("These builds report the same features.");
    } else {
        page.text(format!(
            "What differs (*), as each interpreter reports it: {}.",
            differing.join(" · ")
        ));
    }
}

//! Lesson 4, free-threaded Python: the detection code, printed and run on
//! each build and under each runtime control (`PYTHON_GIL`, `-X gil`, and
//! isolated mode `-I`, which ignores `PYTHON_GIL`); an extension that turns
//! the GIL back on, built and imported live; the single-thread cost measured
//! here next to the published figures (the dashboard's claims check).

use anyhow::Result;

use super::extension;
use super::lab::{self, Lab};
use super::lessons::Page;
use crate::interpreters::Interpreter;
use crate::interpreters::check_imports::Outcome;

/// The detection code the lesson prints and runs.
pub const DETECTION: &str = r#"import sys, sysconfig

built_free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
gil_enabled = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
print(f"free-threaded build: {built_free_threaded}; GIL enabled now: {gil_enabled}")"#;

/// How the detection code is started: label, interpreter, flags, environment.
type Started<'a> = (
    String,
    &'a Interpreter,
    Vec<&'a str>,
    Vec<(&'a str, &'a str)>,
);

/// Runs lesson 4.
pub fn run(lab: &Lab, page: &mut Page) -> Result<()> {
    page.heading("Detecting it");
    page.text("Since 3.13 CPython comes in two builds: the default one, with the GIL, and a free-threaded one (`python3.13t`), built with `--disable-gil`, where threads run Python code side by side. A program asks two questions: was this interpreter built free-threaded (a build-time setting, read from `sysconfig`), and is the GIL off right now (it can be turned back on at run time)?");
    page.code("detect.py", DETECTION);
    let Some(ft) = &lab.free_threaded else {
        page.missing("no free-threaded CPython found: this lesson would run the code on it, turn its GIL on and off, and measure its single-thread cost; `gil-lab python install 3.13t` provides one".to_string());
        if let Some(default) = &lab.default_build {
            let out = lab.python(default, &[], &[], DETECTION)?;
            page.code(
                format!("{} (default build)", default.label),
                out.trim().to_string(),
            );
        }
        return Ok(());
    };
    let mut runs: Vec<Started> = Vec::new();
    if let Some(default) = &lab.default_build {
        runs.push((
            format!("{} (default build)", default.label),
            default,
            vec![],
            vec![],
        ));
    }
    runs.push((ft.label.clone(), ft, vec![], vec![]));
    runs.push((
        format!("PYTHON_GIL=1 {}", ft.label),
        ft,
        vec![],
        vec![("PYTHON_GIL", "1")],
    ));
    runs.push((
        format!("{} -X gil=1", ft.label),
        ft,
        vec!["-X", "gil=1"],
        vec![],
    ));
    runs.push((
        format!("PYTHON_GIL=1 {} -I", ft.label),
        ft,
        vec!["-I"],
        vec![("PYTHON_GIL", "1")],
    ));
    let mut rows = Vec::new();
    for (how, python, flags, env) in &runs {
        let out = lab.python(python, flags, env, DETECTION)?;
        let gil_on = out.contains("GIL enabled now: True");
        page.figure(
            format!("GIL enabled: {how}"),
            if gil_on { 1.0 } else { 0.0 },
            "bool",
            "the detection code, run now",
        );
        rows.push(vec![how.clone(), out.trim().to_string()]);
    }
    page.table(&["run as", "what the code printed"], rows);
    page.text("Runtime control: on a free-threaded build the environment variable `PYTHON_GIL=1` or the option `-X gil=1` turns the GIL back on for that run (`0` keeps it off even when an extension asks for it). Isolated mode (`-I`), which ignores every PYTHON* variable, ignores `PYTHON_GIL` too: the last row still runs without the GIL; `-X gil=1` works in every mode. On a default build neither does anything: its GIL is always on.");

    page.heading("An extension that turns the GIL back on");
    match extension::check(ft, lab) {
        Ok((check, dir)) => {
            page.code(
                format!("{}/needs_gil.c", dir.display()),
                extension::SOURCE.trim().to_string(),
            );
            let before = check.gil_before.map_or("?".into(), |b| b.to_string());
            let after = check.gil_after.map_or("?".into(), |b| b.to_string());
            page.figure(
                format!("GIL enabled after importing needs_gil on {}", ft.label),
                if check.gil_after == Some(true) {
                    1.0
                } else {
                    0.0
                },
                "bool",
                "python check-imports, run now",
            );
            page.table(
                &[
                    "interpreter",
                    "module",
                    "GIL before",
                    "GIL after",
                    "outcome",
                ],
                vec![vec![
                    ft.label.clone(),
                    extension::MODULE.into(),
                    before,
                    after,
                    check.outcome_words().into(),
                ]],
            );
            if let Some(w) = check.warnings.first() {
                page.code("the warning the import raised", w.clone());
            }
            page.text(if check.outcome == Outcome::EnabledGil {
                "Every C extension module must declare that it is safe without the GIL (the `Py_mod_gil` slot set to `Py_MOD_GIL_NOT_USED`). This one, built just now with gcc, declares nothing, so importing it turned the GIL back on for the whole process, with a RuntimeWarning: the program keeps working, its threads take turns again. Check your own dependencies the same way before you count on free-threading."
            } else {
                "This import did not turn the GIL on here (see the outcome); an extension without the `Py_mod_gil` slot normally does."
            });
            page.deeper(format!(
                "gil-lab python check-imports {} --path {}",
                extension::MODULE,
                lab::shown(&dir)
            ));
        }
        Err(err) => page.missing(format!(
            "the extension could not be built or imported: {err:#}"
        )),
    }
    page.deeper(
        "gil-lab python check-imports numpy your_package    (your own dependencies)".to_string(),
    );

    page.heading("What it costs on one thread");
    cost(lab, ft, page)?;
    Ok(())
}

/// The free-threaded build's single-thread cost, as the claims check reads it.
fn cost(lab: &Lab, ft: &Interpreter, page: &mut Page) -> Result<()> {
    let Some(default) = &lab.default_build else {
        page.missing("no default build to compare the free-threaded one with: `gil-lab python install` the same version without the t".to_string());
        return Ok(());
    };
    let loaded = lab.brief(
        page,
        "lesson4-cost",
        &[default, ft],
        "cpu",
        "sequential",
        &lab::THREE_ROUNDS,
    )?;
    let source = lab::source(&loaded);
    let claims = crate::dashboard::claims::check(&loaded, &loaded.summary);
    let mut rows = Vec::new();
    for m in &claims.measured {
        page.figure(
            format!(
                "{} vs {} sequential work time ({})",
                m.subject, m.baseline, m.scenario
            ),
            m.time_ratio.point,
            "×",
            &source,
        );
        rows.push(vec![
            format!("{} against {}", m.subject, m.baseline),
            m.time_text.clone(),
        ]);
    }
    if rows.is_empty() {
        page.missing(claims.missing.unwrap_or_else(|| {
            format!(
                "no cost could be measured (see {})",
                lab::shown(&loaded.dir)
            )
        }));
        return Ok(());
    }
    page.table(
        &[
            "measured here (cpu agents, one thread)",
            "work time ratio (95% CI)",
        ],
        rows,
    );
    let minor = format!("{}.{}", ft.facts.version_info[0], ft.facts.version_info[1]);
    let published: Vec<Vec<String>> = claims
        .published
        .iter()
        .map(|p| {
            vec![
                p.applies_to.clone(),
                p.figure.clone(),
                format!("{} ({})", p.source, p.url),
            ]
        })
        .collect();
    page.table(
        &["version", "published single-thread cost", "source"],
        published,
    );
    page.text(format!(
        "The free-threaded build pays for running without the GIL on every thread, including a lone one: reference counts become per-thread (biased reference counting), objects carry their own locks, and in 3.13 the specialising interpreter of lesson 1 is switched off in this build. The measured ratio above is this machine's figure for {minor}; the published ones are pyperformance averages. The second row, when present, is the same free-threaded build run with the GIL forced back on, against the GIL off: the build's cost stays when the GIL returns (as with the extension above)."
    ));
    page.deeper(format!(
        "gil-lab report {}    (the dashboard's claims check, #claims)",
        lab::shown(&loaded.dir)
    ));
    Ok(())
}

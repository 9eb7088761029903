//! The `service` scenario's dashboard section in a real browser: a real
//! short run (`bench --quick --scenario service` on pyenv's CPython 3.13.0,
//! threads and asyncio, against the built-in endpoint) is rendered by
//! `gil-lab report` and loaded offline in headless Chromium (Debian's
//! `chromium`). The section must be there, log nothing to the console, and
//! every service chart must draw marks; the screenshot is kept under
//! `target/test-artifacts/` for a person to look at. No assertion is on a
//! timing: which levels pass is the machine's business.

mod common;

use std::time::Duration;

use common::browser::{OFFLINE, artifacts, offline_dom, screenshot};

#[test]
fn the_service_section_draws_its_charts_in_a_browser() {
    let python = common::default_python();
    let dir = artifacts().join("browser-service-run");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let csv = artifacts().join("browser-service-trials.csv");
    let output = common::gil_lab()
        .args(["bench", "--quick", "--scenario", "service", "--no-inspect"])
        .args(["--approach", "threads,asyncio", "--slo", "1000", "--python"])
        .arg(&python)
        .arg("--export-csv")
        .arg(&csv)
        .arg("--output")
        .arg(&dir)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stdout = common::assert_success(&output, "bench --scenario service");
    assert!(stdout.contains("Service (open-loop arrivals"), "{stdout}");
    assert!(!stdout.contains("-0.0 s"), "{stdout}");
    // The CSV of service levels sits beside the trials' CSV, percentiles in it.
    let levels = std::fs::read_to_string(artifacts().join("browser-service-trials.service.csv"))
        .expect("the service CSV beside --export-csv");
    let header = levels.lines().next().unwrap_or_default();
    for column in [
        "offered_rps",
        "p50_ms",
        "p99_ms",
        "p99_9_ms",
        "max_ms",
        "answer_wait_p99_ms",
    ] {
        assert!(
            header.split(',').any(|c| c == column),
            "{column} in {header}"
        );
    }
    assert!(levels.lines().count() > 2, "{levels}");

    let report = artifacts().join("service-report.html");
    common::gil_lab()
        .arg("report")
        .arg(&dir)
        .arg("-o")
        .arg(&report)
        .assert()
        .success();
    let url = format!("file://{}", report.display());
    let dom = offline_dom(&url);
    let start = dom
        .find("<section id=\"service\"")
        .expect("a service section");
    let section = &dom[start..start + dom[start..].find("</section>").unwrap()];
    let mut charts = 0;
    for (at, _) in section.match_indices("<figure class=\"chart") {
        let figure = &section[at..at + section[at..].find("</figure>").unwrap()];
        let marks: usize = figure
            .split("data-marks=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        assert!(marks > 0, "a service chart without marks: {figure:.200}");
        assert!(figure.contains("<circle"), "a service chart drew no points");
        charts += 1;
    }
    // Per interpreter: the percentile chart and the throughput-vs-p99 curve.
    assert_eq!(charts, 2, "{section:.500}");
    for text in [
        "Latency percentiles on",
        "Throughput vs p99 on",
        "threads",
        "asyncio",
    ] {
        assert!(section.contains(text), "{text} in the section");
    }

    screenshot(&url, "service.png", 2400, &[OFFLINE]);
}

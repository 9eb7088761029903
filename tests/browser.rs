//! The dashboard in a real browser: headless Chromium (Debian package
//! `chromium`, installed by scripts/test) loads the report of a real small
//! run offline and a live `gil-lab serve` page while trials are still being
//! appended. Each must log nothing to the console and draw marks in every
//! chart; screenshots are kept under `target/test-artifacts/`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use common::browser::{artifacts, console_messages, headless, offline_dom};

/// A screenshot of `url` kept as the test artifact `name` (see
/// `common::browser::screenshot`).
fn screenshot(url: &str, name: &str, height: u32) {
    common::browser::screenshot(url, name, height, &[]);
}

/// Checks that every chart of a DOM has marks: its `data-marks` is positive
/// and its SVG holds shapes besides the invisible hover areas.
fn assert_every_chart_drawn(dom: &str) -> usize {
    let mut charts = 0;
    for (start, _) in dom.match_indices("<figure class=\"chart") {
        let figure = &dom[start..start + dom[start..].find("</figure>").unwrap()];
        let id = figure
            .split("id=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let marks: usize = figure
            .split("data-marks=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(marks > 0, "{id} has no marks");
        let shapes = ["<polygon", "<circle", "<path", "<polyline"]
            .iter()
            .map(|s| figure.matches(s).count())
            .sum::<usize>()
            + figure.matches("<rect").count()
            - figure.matches("class=\"hit\"").count();
        assert!(shapes > 0, "{id} drew nothing");
        charts += 1;
    }
    charts
}

/// A real small run (`bench --quick` of the `cpu` and `io` scenarios with the
/// provisioned free-threaded CPython and the default build of the same
/// sources), made once per test binary.
fn real_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = artifacts().join("browser-run");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let free_threaded = common::free_threaded_python();
        let output = common::gil_lab()
            .args(["bench", "--quick", "--scenario", "cpu,io", "--python"])
            .arg(&free_threaded)
            // The default build of the same sources by path: `--python
            // 3.13` would also take whatever other 3.13 builds the machine
            // has (pyenv's), and the page's size with them.
            .arg("--python")
            .arg(common::default_python())
            .arg("--output")
            .arg(&dir)
            .timeout(Duration::from_secs(600))
            .output()
            .unwrap();
        common::assert_success(&output, "bench --quick");
        dir
    })
}

#[test]
fn report_of_a_real_run_opens_offline_without_errors() {
    let run = real_run();
    let report = artifacts().join("report.html");
    common::gil_lab()
        .arg("report")
        .arg(run)
        .arg("-o")
        .arg(&report)
        .assert()
        .success();
    let size = std::fs::metadata(&report).unwrap().len();
    // The timelines are drawn over a fixed number of time groups per lane
    // (dashboard::timeline), but how many state segments a group holds
    // depends on how the machine interleaved the threads: 1.4 MB on a quiet
    // machine, 2.1-2.3 MB on one loaded with other builds. The bound is one
    // that load cannot reach, and still catches a page that embeds raw
    // samples or repeats itself.
    assert!(size < 4 * 1024 * 1024, "the report is {size} bytes");
    let url = format!("file://{}", report.display());
    let dom = offline_dom(&url);
    for section in [
        "lesson",
        "verdict",
        "interpreters",
        "scenario-cpu",
        "timeline-cpu",
        "claims",
        "machine",
        "warnings",
        "cells",
        "raw",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{section}\"")),
            "no {section}"
        );
    }
    let charts = assert_every_chart_drawn(&dom);
    assert!(charts >= 6, "only {charts} charts");
    assert!(
        dom.contains("free-threaded (no GIL)"),
        "no free-threaded build marked"
    );

    screenshot(&url, "report.png", 9000);
}

#[test]
fn the_lesson_contrasts_cpu_bound_and_io_bound_work() {
    let run = real_run();
    // The run's data: threads under the GIL near 1× on cpu (the GIL lets one
    // thread run Python at a time), clearly above 1× on io (waiting threads
    // let go of it). Physical bounds with wide margins, not timings.
    let run_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    // The default build of the free-threaded build's version.
    let free_threaded = run_json["interpreters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["free_threaded"] == true && i["gil_forced"].is_null())
        .unwrap();
    let default_id = free_threaded["id"].as_str().unwrap().trim_end_matches('t');
    let threads_cell = |scenario: &str| -> serde_json::Value {
        let cells = run_json["summary"]["cells"].as_array().unwrap();
        let cell = cells
            .iter()
            .find(|c| {
                c["cell"]["scenario"] == scenario
                    && c["cell"]["approach"] == "threads"
                    && c["cell"]["interpreter"] == default_id
            })
            .unwrap_or_else(|| panic!("no threads cell of {scenario} on {default_id}"));
        cell.clone()
    };
    // cpu: under the GIL one thread runs Python at a time, so the threads'
    // CPU over their work phase stays near one core whatever the load: their
    // speedup cannot come from running side by side.
    let cpu = threads_cell("cpu");
    let parallelism = cpu["work_parallelism"]["median"].as_f64().unwrap();
    assert!(
        parallelism < 1.25,
        "threads under the GIL on cpu used {parallelism} cores"
    );
    eprintln!(
        "threads under the GIL: cpu {:.2}x (on {parallelism:.2} cores)",
        cpu["speedup"]["point"].as_f64().unwrap()
    );
    // io: four agents waiting at once, each call 20 ms of waiting.
    let io = threads_cell("io")["speedup"]["point"].as_f64().unwrap();
    assert!(io > 2.0, "threads under the GIL on io: {io}");

    let report = artifacts().join("lesson.html");
    common::gil_lab()
        .arg("report")
        .arg(run)
        .arg("-o")
        .arg(&report)
        .assert()
        .success();
    let url = format!("file://{}", report.display());
    let output = headless(&url, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&output.stdout);
    let lesson = &dom[dom
        .find("<section id=\"lesson\"")
        .expect("a lesson section")..];
    let lesson = &lesson[..lesson.find("</section>").unwrap()];
    for text in [
        "cpu (CPU-bound) · GIL",
        "cpu (CPU-bound) · free-threaded",
        "io (I/O-bound) · GIL",
        "io (I/O-bound) · free-threaded",
        "CPU-bound work (cpu): threads",
        "I/O-bound work (io): threads",
    ] {
        assert!(lesson.contains(text), "{text} in {lesson}");
    }
    // The section comes before the verdict: the first thing a reader sees.
    assert!(dom.find("id=\"lesson\"").unwrap() < dom.find("id=\"verdict\"").unwrap());
    screenshot(&format!("{url}#lesson"), "lesson.png", 1400);
}

/// A script the test adds to a copy of the report: sorts the table of cells
/// by work time both ways, unpacks the embedded run.json as the download
/// button does, and logs what it saw.
const PROBE: &str = r##"<script>
window.addEventListener("load", function () {
  var th = document.querySelectorAll("#cells-table th")[5];
  var column = function () {
    return [].map.call(document.querySelectorAll("#cells-table tbody tr"), function (r) {
      return r.cells[5].dataset.sort;
    }).filter(function (v) { return v !== ""; }).map(parseFloat);
  };
  th.click();
  console.log("PROBE asc " + JSON.stringify(column()));
  th.click();
  console.log("PROBE desc " + JSON.stringify(column()));
  var button = document.querySelector("button.download");
  var packed = document.getElementById(button.dataset.packed).textContent.trim();
  var binary = atob(packed);
  var bytes = new Uint8Array(binary.length);
  for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")))
    .text()
    .then(function (text) { console.log("PROBE raw " + button.dataset.name + " schema " + JSON.parse(text).schema); });
});
</script>"##;

/// The JSON after `PROBE <what> ` in the console output.
fn probe(output: &Output, what: &str) -> String {
    let prefix = format!("PROBE {what} ");
    console_messages(output)
        .iter()
        .find_map(|l| {
            let start = l.find(&prefix)? + prefix.len();
            Some(l[start..l[start..].find("\", source:")? + start].to_string())
        })
        .unwrap_or_else(|| panic!("no `{prefix}` in {:?}", console_messages(output)))
}

#[test]
fn report_table_sorts_and_raw_json_unpacks_in_the_browser() {
    let run = real_run();
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report.html");
    common::gil_lab()
        .arg("report")
        .arg(run)
        .arg("-o")
        .arg(&report)
        .assert()
        .success();
    let html = std::fs::read_to_string(&report).unwrap();
    let at = html.rfind("</body>").unwrap();
    std::fs::write(&report, format!("{}{PROBE}{}", &html[..at], &html[at..])).unwrap();
    let url = format!("file://{}", report.display());
    let output = headless(&url, &["--virtual-time-budget=5000", "--dump-dom"]);
    assert!(output.status.success(), "chromium failed: {output:?}");
    let parse = |what| -> Vec<f64> { serde_json::from_str(&probe(&output, what)).unwrap() };
    let ascending = parse("asc");
    let descending = parse("desc");
    assert!(ascending.len() >= 6, "{ascending:?}");
    assert!(ascending.windows(2).all(|w| w[0] <= w[1]), "{ascending:?}");
    let mut reversed = descending.clone();
    reversed.reverse();
    assert_eq!(reversed, ascending);
    assert_eq!(probe(&output, "raw"), "run.json schema 1");
}

#[test]
fn live_serve_page_fills_in_as_trials_finish() {
    let run = real_run();
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    // The run as it was half-way: the first half of its trials, running.
    let trials = std::fs::read_to_string(run.join("trials.jsonl")).unwrap();
    let lines: Vec<&str> = trials.lines().collect();
    let half = lines.len() / 2;
    std::fs::write(live.join("trials.jsonl"), lines[..half].join("\n") + "\n").unwrap();
    let run_json = std::fs::read_to_string(run.join("run.json")).unwrap();
    let mut running: serde_json::Value = serde_json::from_str(&run_json).unwrap();
    running["status"] = "running".into();
    running.as_object_mut().unwrap().remove("summary");
    running.as_object_mut().unwrap().remove("finished_at");
    std::fs::write(live.join("run.json"), running.to_string()).unwrap();

    // A `gil-lab serve` child, killed when dropped.
    let (_server, url) = common::ChildGuard::start_server(
        Command::new(env!("CARGO_BIN_EXE_gil-lab"))
            .arg("serve")
            .arg(&live)
            .args(["--port", "0"]),
    );
    let page = format!("{url}runs/0/");

    // While the browser has the page open: the other trials end one by one,
    // then the run.
    let writer = {
        let live = live.clone();
        let rest: Vec<String> = lines[half..].iter().map(|l| l.to_string()).collect();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(2));
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(live.join("trials.jsonl"))
                .unwrap();
            for line in rest {
                writeln!(file, "{line}").unwrap();
                std::thread::sleep(Duration::from_millis(30));
            }
            std::thread::sleep(Duration::from_secs(1));
            std::fs::write(live.join("run.json"), run_json).unwrap();
        })
    };
    // Virtual time lets the page's script run for a while before the DOM
    // is taken; the page closes its event stream on `done`.
    let output = headless(&page, &["--virtual-time-budget=20000", "--dump-dom"]);
    writer.join().unwrap();
    assert!(output.status.success(), "chromium failed: {output:?}");
    assert_eq!(console_messages(&output), Vec::<String>::new());
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains(&format!("{} trials recorded", lines.len())),
        "the page did not fill in to all {} trials",
        lines.len()
    );
    assert!(
        dom.contains("status-complete"),
        "the page did not see the run end"
    );
    assert_every_chart_drawn(&dom);

    screenshot(&page, "serve-live.png", 3000);
}

/// Clicks "CPU use" on the first timeline, then "thread states", and logs
/// which view is visible each time.
const LANE_VIEW_PROBE: &str = r##"<script>
window.addEventListener("load", function () {
  var figure = document.querySelector("#timeline-cpu figure[data-view]");
  var shown = function () {
    var visible = function (sel) { return figure.querySelector(sel).offsetParent !== null; };
    return figure.dataset.view + ":" + visible(".svg-states") + "," + visible(".svg-cpu");
  };
  var first = shown();
  figure.querySelector('button[data-view="cpu"]').click();
  var cpu = shown();
  figure.querySelector('button[data-view="states"]').click();
  console.log("PROBE views " + JSON.stringify([first, cpu, shown()]));
});
</script>"##;

#[test]
fn timelines_show_thread_states_and_switch_to_cpu_use() {
    let run = real_run();
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report.html");
    common::gil_lab()
        .arg("report")
        .arg(run)
        .arg("-o")
        .arg(&report)
        .assert()
        .success();
    let html = std::fs::read_to_string(&report).unwrap();
    // The state legend explains every state in words ("/" is escaped).
    for words in [
        "running",
        "waiting for a core",
        "waiting on a lock",
        "waiting on I",
    ] {
        assert!(html.contains(&format!("<b>{words}")), "no {words}");
    }
    assert!(html.contains("svg-states"), "no thread-state view");
    let at = html.rfind("</body>").unwrap();
    std::fs::write(
        &report,
        format!("{}{LANE_VIEW_PROBE}{}", &html[..at], &html[at..]),
    )
    .unwrap();
    let url = format!("file://{}", report.display());
    let output = headless(&url, &["--virtual-time-budget=5000", "--dump-dom"]);
    assert!(output.status.success(), "chromium failed: {output:?}");
    let views: Vec<String> = serde_json::from_str(&probe(&output, "views")).unwrap();
    assert_eq!(
        views,
        ["states:true,false", "cpu:false,true", "states:true,false"]
    );

    // A screenshot of the cpu timelines alone, for a person to look at.
    let only = artifacts().join("timeline-states.html");
    let style = "<style>main > *:not(#timeline-cpu), body > *:not(main) { display: none !important }</style></head>";
    std::fs::write(&only, html.replacen("</head>", style, 1)).unwrap();
    screenshot(
        &format!("file://{}", only.display()),
        "timeline-states.png",
        2400,
    );
}

/// The report of a team's own task (`bench --task`, a racy one): the same
/// page as for the built-in scenarios, plus the task's verdicts.
#[test]
fn report_of_a_task_run_shows_its_verdicts() {
    let dir = artifacts().join("browser-task-run");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let task = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tasks/race.py");
    let output = common::gil_lab()
        .args([
            "bench",
            "--no-provision",
            "--runs",
            "2",
            "--task-calls",
            "100",
        ])
        .arg("--task")
        .arg(format!("{}:tally", task.display()))
        .args(["--approach", "threads,processes", "--python"])
        .arg(common::free_threaded_python())
        .arg("--output")
        .arg(&dir)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    common::assert_success(&output, "bench --task");
    let url = format!("file://{}", dir.join("report.html").display());
    let dom = offline_dom(&url);
    for section in [
        "verdict",
        "task",
        "advice",
        "scenario-tally",
        "timeline-tally",
        "cells",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{section}\"")),
            "no {section}"
        );
    }
    assert_every_chart_drawn(&dom);
    assert!(dom.contains("NOT SAFE: threads"), "the race is flagged");
    assert!(dom.contains("data race"));
    screenshot(&url, "task-report.png", 4000);
}

/// Logs the rendered text of the "Inside CPython" section.
const INSIDE_PROBE: &str = r##"<script>
window.addEventListener("load", function () {
  var s = document.getElementById("inside-cpython");
  console.log("PROBE inside " + JSON.stringify([s.offsetHeight > 0, s.innerText]));
});
</script>"##;

#[test]
fn inside_cpython_shows_the_cost_next_to_both_shares() {
    let run = real_run();
    assert!(run.join("inside.json").is_file(), "bench inspected nothing");
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report.html");
    let mut cmd = common::gil_lab();
    cmd.arg("report").arg(run).arg("-o").arg(&report);
    cmd.assert().success();
    let html = std::fs::read_to_string(&report).unwrap();
    // What the page shows, from its own data.
    let data = common::embedded_data(&html);
    let costs = data["inside"]["scenarios"].as_array().unwrap();
    let cpu = costs.iter().find(|s| s["scenario"] == "cpu").expect("cpu");
    let cost = &cpu["costs"][0];
    let at = html.rfind("</body>").unwrap();
    std::fs::write(
        &report,
        format!("{}{INSIDE_PROBE}{}", &html[..at], &html[at..]),
    )
    .unwrap();
    let url = format!("file://{}", report.display());
    let output = headless(&url, &["--virtual-time-budget=5000", "--dump-dom"]);
    assert!(output.status.success(), "chromium failed: {output:?}");
    let (visible, text): (bool, String) = serde_json::from_str(&probe(&output, "inside")).unwrap();
    assert!(visible, "the section is not drawn");
    for shown in ["time_text", "sentence", "reading_words"]
        .map(|k| cost[k].as_str().unwrap())
        .into_iter()
        .chain(["subject_share", "baseline_share"].map(|k| cost[k]["text"].as_str().unwrap()))
    {
        assert!(text.contains(shown), "{shown:?} not shown in {text}");
    }
    assert!(text.contains("What each interpreter offers"), "{text}");
    let style = "<style>main > *:not(#inside-cpython), body > *:not(main) { display: none !important }</style></head>";
    let only = artifacts().join("inside-cpython.html");
    std::fs::write(&only, html.replacen("</head>", style, 1)).unwrap();
    screenshot(
        &format!("file://{}", only.display()),
        "inside-cpython.png",
        1800,
    );
}

/// A task run with `--task-requirements` whose dependency turns the GIL
/// back on (`ujson==5.10.0`, built from source on 3.13t): the page's "Your
/// task" section states it next to the measured threads speedup, and the
/// advice says so.
#[test]
fn report_of_a_task_run_states_the_readiness_of_its_requirements() {
    let dir = artifacts().join("browser-task-readiness");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let work = tempfile::tempdir().unwrap();
    let requirements = work.path().join("requirements.txt");
    std::fs::write(&requirements, "ujson==5.10.0\n").unwrap();
    let task = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scoring_agent.py");
    let output = common::gil_lab()
        .args([
            "bench",
            "--no-provision",
            "--no-inspect",
            "--runs",
            "1",
            "--warmup",
            "0",
        ])
        .args([
            "--task-calls",
            "4",
            "--approach",
            "sequential,threads",
            "--task",
        ])
        .arg(format!("{}:plan_route", task.display()))
        .arg("--task-requirements")
        .arg(&requirements)
        .arg("--python")
        .arg(common::free_threaded_python())
        .arg("--output")
        .arg(&dir)
        .timeout(Duration::from_secs(3600))
        .output()
        .unwrap();
    common::assert_success(&output, "bench --task");
    let url = format!("file://{}", dir.join("report.html").display());
    let dom = offline_dom(&url);
    assert!(dom.contains("id=\"task-readiness\""), "no readiness block");
    let block = &dom[dom.find("id=\"task-readiness\"").unwrap()..];
    let block = &block[..block.find("</div>").unwrap_or(block.len())];
    assert!(block.contains("GIL re-enabled by ujson"), "{block}");
    assert!(
        block.contains("free-threaded speedups do not apply"),
        "{block}"
    );
    assert!(
        block.contains("measured threads speedup of the task"),
        "{block}"
    );
    assert!(dom.contains("GIL re-enabled by ujson"));
    screenshot(&url, "task-readiness.png", 3000);
}

//! `gil-lab learn` end to end on the provisioned 3.13 and 3.13t: all six
//! lessons non-interactively (lesson 6 with --quick), each lesson's figures
//! checked against the run its experiment made; the interactive path in a
//! real pseudo-terminal (tmux); the notebook page in headless Chromium
//! (screenshot kept under target/test-artifacts/).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

fn progress(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("progress.json")).unwrap()).unwrap()
}

/// The median work time of a cell of a run, by interpreter label.
fn median(run_dir: &str, scenario: &str, label: &str, approach: &str) -> Option<f64> {
    let run: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(run_dir).join("run.json")).unwrap(),
    )
    .unwrap();
    let id = run["interpreters"]
        .as_array()?
        .iter()
        .find(|i| i["label"] == label)?["id"]
        .clone();
    run["summary"]["cells"].as_array()?.iter().find_map(|c| {
        (c["cell"]["scenario"] == scenario
            && c["cell"]["interpreter"] == id
            && c["cell"]["approach"] == approach)
            .then(|| c["work"]["median"].as_f64())
            .flatten()
    })
}

#[test]
fn all_six_lessons_run_non_interactively_with_the_figures_of_their_experiments() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::gil_lab()
        .args([
            "learn",
            "--all",
            "--quick",
            "--python",
            "3.13",
            "--python",
            "3.13t",
            "--answers",
        ])
        .arg("processes,asyncio,threads,free-threaded,processes")
        .arg("--dir")
        .arg(dir.path())
        .timeout(Duration::from_secs(1800))
        .output()
        .unwrap();
    common::assert_success(&output, "learn");
    let progress = progress(dir.path());
    let lessons = progress["lessons"].as_array().unwrap();
    let numbers: Vec<u64> = lessons
        .iter()
        .map(|l| l["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
    for lesson in lessons {
        assert!(
            !lesson["figures"].as_array().unwrap().is_empty(),
            "lesson {} has no figure",
            lesson["number"]
        );
    }
    // Lesson 2: each version's time is the median of its run's cell.
    let two = &lessons[1];
    let run = two["runs"][0].as_str().unwrap();
    let mut checked = 0;
    for figure in two["figures"].as_array().unwrap() {
        let name = figure["name"].as_str().unwrap();
        if let Some(label) = name.strip_prefix("cpu sequential work time on ") {
            assert_eq!(
                figure["value"].as_f64(),
                median(run, "cpu", label, "sequential"),
                "{name}"
            );
            assert_eq!(
                figure["source"].as_str().unwrap(),
                format!("{run}/run.json")
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "lesson 2 reports no version's time");
    // Lesson 3: the GIL build's threads time is the run's.
    let three = &lessons[2];
    let run = three["runs"][0].as_str().unwrap();
    let figure = three["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["name"]
                .as_str()
                .unwrap()
                .starts_with("cpu threads ×2 work time")
        })
        .expect("cpu threads figure");
    let label = figure["name"]
        .as_str()
        .unwrap()
        .rsplit_once('(')
        .unwrap()
        .1
        .trim_end_matches(')');
    assert_eq!(
        figure["value"].as_f64(),
        median(run, "cpu", label, "threads")
    );
    // Lesson 4: the detection code saw the build and the runtime controls.
    let four = &lessons[3];
    let flag = |prefix: &str| {
        four["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"].as_str().unwrap().starts_with(prefix))
            .map(|f| f["value"].as_f64().unwrap())
    };
    let gil = |how: &str| {
        four["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"].as_str().unwrap() == format!("GIL enabled: {how}"))
            .map(|f| f["value"].as_f64().unwrap())
    };
    let ft_label = four["figures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            f["name"]
                .as_str()
                .unwrap()
                .strip_prefix("GIL enabled: PYTHON_GIL=1 ")
        })
        .find(|rest| !rest.ends_with(" -I"))
        .unwrap()
        .to_string();
    assert_eq!(gil(&ft_label), Some(0.0), "free-threaded: GIL off");
    assert_eq!(gil(&format!("PYTHON_GIL=1 {ft_label}")), Some(1.0));
    assert_eq!(gil(&format!("{ft_label} -X gil=1")), Some(1.0));
    assert_eq!(
        gil(&format!("PYTHON_GIL=1 {ft_label} -I")),
        Some(0.0),
        "-I ignores PYTHON_GIL"
    );
    assert_eq!(flag("GIL enabled after importing needs_gil"), Some(1.0));
    // Lesson 5: one figure per situation's choices, and the score.
    let five = &lessons[4];
    assert!(
        five["figures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "situations where your choice was supported")
    );
    // The notebook.
    let page = std::fs::read_to_string(dir.path().join("learn.html")).unwrap();
    for n in 1..=6 {
        assert!(page.contains(&format!("id=\"lesson-{n}\"")));
    }
    assert!(page.contains("<svg"), "lesson 3's swimlanes are drawn");
    assert!(!page.contains("Not run yet"));
    // A screenshot for a person to look at.
    let artifacts = common::browser::artifacts();
    std::fs::copy(dir.path().join("learn.html"), artifacts.join("learn.html")).unwrap();
    let shot = artifacts.join("learn.png");
    let url = format!("file://{}", artifacts.join("learn.html").display());
    let status = common::browser::headless(
        &url,
        &[
            "--window-size=1300,6000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(status.status.success() && shot.is_file(), "{status:?}");
}

/// Waits until the tmux pane shows `text`.
fn wait_for(session: &str, text: &str, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-J", "-S", "-", "-t", session])
            .output()
            .unwrap();
        let pane = String::from_utf8_lossy(&out.stdout).into_owned();
        if pane.contains(text) {
            return pane;
        }
        assert!(
            start.elapsed() < limit,
            "the pane never showed {text:?}:\n{pane}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn the_interactive_path_asks_between_lessons_and_resumes_in_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let exe = assert_cmd::cargo::cargo_bin("gil-lab");
    let session = format!("gil-lab-learn-{}", std::process::id());
    let command = format!(
        "{} learn --python 3.13 --python 3.13t --dir {}; echo EXITED $?; sleep 30",
        exe.display(),
        dir.path().display()
    );
    let started = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-x",
            "200",
            "-y",
            "50",
            "-s",
            &session,
            &command,
        ])
        .status()
        .unwrap();
    assert!(started.success());
    let _kill = scopeguard(&session);
    wait_for(&session, "Next: lesson 2", Duration::from_secs(600));
    Command::new("tmux")
        .args(["send-keys", "-t", &session, "q", "Enter"])
        .status()
        .unwrap();
    let pane = wait_for(&session, "EXITED", Duration::from_secs(60));
    assert!(pane.contains("resumes at lesson 2"), "{pane}");
    assert!(pane.contains("EXITED 0"), "{pane}");
    let numbers: Vec<u64> = progress(dir.path())["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1]);
    let list = common::gil_lab()
        .args(["learn", "--list", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("✓ 1. What CPython is"), "{text}");
    assert!(text.contains("  2. Performance evolution"), "{text}");
}

#[test]
fn lesson_five_without_answers_or_terminal_says_how_to_give_them() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::gil_lab()
        .args(["learn", "5", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--answers"), "{stderr}");
    let output = common::gil_lab()
        .args(["learn", "5", "--answers", "threads,gpu", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--answers needs 5 choices"));
}

/// Kills the tmux session when dropped.
struct Session(String);
impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}
fn scopeguard(name: &str) -> Session {
    Session(name.to_string())
}

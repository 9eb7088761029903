//! Headless Chromium (Debian's `chromium`, installed by scripts/test) for
//! the tests that load a report or a live page in a real browser, and the
//! directory where their screenshots are kept for a person to look at.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

/// A switch that sends every request through a proxy that does not exist:
/// any attempt to fetch something from a network fails and is logged as a
/// console error, so a page that loads with it works offline.
pub const OFFLINE: &str = "--proxy-server=http://127.0.0.1:9";

/// Where screenshots and reports are kept for a person to look at
/// (`target/test-artifacts/`, created if missing).
pub fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the page wrote to the console (Chromium logs it as `CONSOLE` lines
/// on stderr with `--enable-logging=stderr`, which [`headless`] sets).
pub fn console_messages(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect()
}

/// The Chromium executable (Debian's `chromium`).
pub fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let path = dir.join(name);
            if path.is_file() {
                return path;
            }
        }
    }
    panic!("no chromium on PATH: install the Debian package `chromium` (scripts/test does)");
}

/// Runs headless Chromium on `url` with `extra` switches (a fresh profile,
/// no network services, console messages logged to stderr), killed after
/// two minutes.
pub fn headless(url: &str, extra: &[&str]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read both pipes while it runs so that a full pipe cannot block it.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).ok();
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).ok();
        buf
    });
    let status = match child.wait_timeout(Duration::from_secs(120)).unwrap() {
        Some(status) => status,
        None => {
            child.kill().ok();
            child.wait().unwrap();
            panic!("chromium did not finish {url} within 2 minutes");
        }
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// The DOM of `url` loaded offline (see [`OFFLINE`]) in headless Chromium,
/// after checking that Chromium succeeded and that the page logged nothing
/// to the console.
pub fn offline_dom(url: &str) -> String {
    let output = headless(url, &[OFFLINE, "--dump-dom"]);
    assert!(output.status.success(), "chromium failed: {output:?}");
    assert_eq!(console_messages(&output), Vec::<String>::new());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Saves a screenshot of `url` (1300 px wide, `height` tall, with the
/// `extra` switches) as the test artifact `name`, and checks that it is not
/// blank.
pub fn screenshot(url: &str, name: &str, height: u32, extra: &[&str]) {
    let png = artifacts().join(name);
    let _ = std::fs::remove_file(&png);
    let shot = format!("--screenshot={}", png.display());
    let size = format!("--window-size=1300,{height}");
    let mut switches = extra.to_vec();
    switches.extend([size.as_str(), shot.as_str()]);
    let output = headless(url, &switches);
    assert!(output.status.success(), "screenshot failed: {output:?}");
    // A blank page compresses to a few kilobytes; a drawn one does not.
    assert!(
        std::fs::metadata(&png).unwrap().len() > 20_000,
        "{name} is blank"
    );
}

//! Runs a short-lived child process (the probe, an import check) to the end
//! or until a timeout, collecting what it printed.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

/// What a child printed, kept for error messages.
#[derive(Debug, Clone, Default)]
pub struct ChildOutput {
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl ChildOutput {
    /// A one-line summary of the output for error messages: the last lines of
    /// stderr (where interpreters and shells explain themselves), else the
    /// start of stdout, shortened.
    pub fn summary(&self) -> String {
        let stderr: Vec<&str> = self
            .stderr
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let (label, text) = if stderr.is_empty() {
            let first = self.stdout.lines().map(str::trim).find(|l| !l.is_empty());
            match first {
                Some(line) => ("stdout", line.to_owned()),
                None => return "it printed nothing".to_owned(),
            }
        } else {
            // The last two lines: a traceback's exception line, or a shell's
            // message, without the noise above it.
            let start = stderr.len().saturating_sub(2);
            ("stderr", stderr[start..].join(" | "))
        };
        format!("{label}: {}", shorten(&text, 240))
    }
}

/// An exit status in words: `status 3`, `signal 9`.
pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "an unknown status".to_owned(),
    }
}

/// Cuts `text` to at most `max` characters, marking the cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}...")
}

/// How a child run ended.
#[derive(Debug)]
pub enum Finished {
    /// The child exited (or was killed by a signal) on its own.
    Exited(ExitStatus, ChildOutput),
    /// The child was still running at the timeout and was killed with its
    /// whole process group.
    TimedOut(ChildOutput),
}

/// Runs `command` with stdin closed and stdout/stderr captured, killing it
/// (and every process it started in its process group) after `timeout`.
///
/// The child gets its own process group so that a wrapper script that hangs
/// in a grandchild (`sleep`) is killed entirely: otherwise the grandchild
/// would keep the pipes open and reading them would block.
pub fn run(mut command: Command, timeout: Duration) -> std::io::Result<Finished> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let deadline = Instant::now() + timeout;
    let mut child = command.spawn()?;
    // Read both pipes on threads so that a child filling one pipe never
    // blocks while we wait on the other.
    let stdout = child.stdout.take().map(read_to_end_on_thread);
    let stderr = child.stderr.take().map(read_to_end_on_thread);
    let status = match child.wait_timeout(timeout) {
        Ok(status) => status,
        Err(error) => {
            kill_group(&mut child);
            return Err(error);
        }
    };
    let timed_out = status.is_none();
    if timed_out {
        kill_group(&mut child);
    }
    // A grandchild left behind in the group (a daemon the interpreter
    // started) may hold the pipes open after the child exited. What the
    // child wrote is already in the pipe: after a short grace, kill the
    // group so that the pipe closes, and take the output.
    let mut collect = |reader: Option<Reader>| match reader {
        None => Vec::new(),
        Some(reader) => {
            let grace = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1));
            reader.recv_timeout(grace).unwrap_or_else(|_| {
                kill_group(&mut child);
                reader
                    .recv_timeout(Duration::from_secs(5))
                    .unwrap_or_default()
            })
        }
    };
    let stdout = collect(stdout);
    let stderr = collect(stderr);
    let output = ChildOutput {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    Ok(match status {
        Some(status) => Finished::Exited(status, output),
        None => Finished::TimedOut(output),
    })
}

/// Delivers everything a pipe carried once it is closed.
type Reader = mpsc::Receiver<Vec<u8>>;

fn read_to_end_on_thread<R: Read + Send + 'static>(mut pipe: R) -> Reader {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error (e.g. the child was killed) leaves what was read so far.
        let _ = pipe.read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    receiver
}

/// Kills the child's whole process group and reaps the child.
fn kill_group(child: &mut std::process::Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: killpg only sends a signal; the group id is the child's pid
        // because the child was started with process_group(0).
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_output_and_status() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let Finished::Exited(status, output) = run(command, Duration::from_secs(10)).unwrap()
        else {
            panic!("expected the child to exit");
        };
        assert_eq!(status.code(), Some(3));
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.summary(), "stderr: err");
    }

    #[test]
    fn timeout_kills_grandchildren_too() {
        let mut command = Command::new("sh");
        // The grandchild `sleep` holds stdout open; only killing the group
        // lets the readers finish.
        command.args(["-c", "echo started; sleep 30; echo never"]);
        let begin = Instant::now();
        let finished = run(command, Duration::from_millis(300)).unwrap();
        assert!(begin.elapsed() < Duration::from_secs(10));
        let Finished::TimedOut(output) = finished else {
            panic!("expected a timeout, got {finished:?}");
        };
        assert_eq!(output.stdout, "started\n");
    }

    #[test]
    fn a_grandchild_holding_the_pipes_does_not_block() {
        let mut command = Command::new("sh");
        // The child exits at once; its background grandchild keeps stdout.
        command.args(["-c", "sleep 30 & echo parent done"]);
        let begin = Instant::now();
        let finished = run(command, Duration::from_secs(20)).unwrap();
        assert!(begin.elapsed() < Duration::from_secs(10));
        let Finished::Exited(status, output) = finished else {
            panic!("expected the child to exit, got {finished:?}");
        };
        assert!(status.success());
        assert_eq!(output.stdout, "parent done\n");
    }

    #[test]
    fn summary_shortens_and_prefers_stderr() {
        let output = ChildOutput {
            stdout: "x".repeat(1000),
            stderr: String::new(),
        };
        let summary = output.summary();
        assert!(summary.starts_with("stdout: xxx"));
        assert!(summary.ends_with("..."));
        assert!(summary.len() < 260);
        assert_eq!(ChildOutput::default().summary(), "it printed nothing");
    }
}

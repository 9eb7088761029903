//! What an install shows while it runs: a spinner with the current stage
//! (and a bar while compiling) on a terminal, plain stage lines on stderr
//! otherwise (CI logs, tests), so the user always knows what is happening.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress display of one install.
pub struct Progress {
    bar: ProgressBar,
    /// What is being installed, e.g. `CPython 3.13.5t`: prefixes plain lines.
    label: String,
    /// Last tenth of the compile step printed in plain mode.
    last_tenth: std::cell::Cell<u64>,
}

impl Progress {
    /// A display for installing `label`.
    pub fn new(label: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(spinner_style());
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            bar,
            label: label.to_string(),
            last_tenth: std::cell::Cell::new(0),
        }
    }

    /// Whether stderr is not a terminal: the bar is invisible, so stages are
    /// printed as lines.
    fn plain(&self) -> bool {
        self.bar.is_hidden()
    }

    /// Enters a new stage (`downloading ...`, `configuring`, ...).
    pub fn stage(&self, message: &str) {
        self.bar.set_style(spinner_style());
        self.bar.set_message(message.to_string());
        if self.plain() {
            eprintln!("{}: {message}", self.label);
        }
    }

    /// Updates the current stage's message on a terminal only (plain
    /// output keeps the stage line: no line per small step).
    pub fn update(&self, message: &str) {
        self.bar.set_message(message.to_string());
    }

    /// Compile progress: `done` of `total` objects built.
    pub fn compiling(&self, done: u64, total: u64) {
        let total = total.max(done).max(1);
        if self.bar.length() != Some(total) {
            self.bar.set_style(bar_style());
            self.bar.set_length(total);
            self.bar.set_message("compiling");
        }
        self.bar.set_position(done);
        let tenth = done * 10 / total;
        if self.plain() && tenth > self.last_tenth.get() {
            self.last_tenth.set(tenth);
            eprintln!("{}: compiling {done}/{total}", self.label);
        }
    }

    /// A message that stays (above the spinner on a terminal).
    pub fn println(&self, message: &str) {
        if self.plain() {
            eprintln!("{message}");
        } else {
            self.bar.suspend(|| eprintln!("{message}"));
        }
    }

    /// Asks a yes/no question on the terminal (the display paused) and
    /// returns whether the answer was yes; false at once when stdin or
    /// stderr is not a terminal, so nothing waits for an answer in CI.
    pub fn ask(&self, question: &str) -> bool {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return false;
        }
        self.bar.suspend(|| {
            eprint!("{question} [y/N] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let read = std::io::stdin().lock().read_line(&mut answer);
            read.is_ok() && matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES")
        })
    }

    /// Removes the display.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An error leaves through `?`: never keep a spinner under the message.
        self.bar.finish_and_clear();
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {msg} {pos}/{len} {wide_bar}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

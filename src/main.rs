//! gil-lab: measures which concurrency approach a multi-agent Python workload
//! should use, on which interpreter. See README.md and docs/architecture.md.

use std::process::ExitCode;

use clap::Parser;
use gil_lab::cli;

fn main() -> ExitCode {
    // Restore the default SIGPIPE action so that `gil-lab ... | head` ends
    // quietly instead of panicking on a closed pipe, like other Unix tools.
    // SAFETY: called once at start-up, before any thread is spawned.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

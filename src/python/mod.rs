//! Python interpreters: discovery, probing, import checks and provisioning.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PythonCommand {}

pub fn run(command: PythonCommand) -> anyhow::Result<ExitCode> {
    match command {}
}

//! gil-lab as a library: everything the `gil-lab` binary does, so that the
//! integration tests and the benchmarks use the same code the binary runs.
//! The binary itself (`main.rs`) only parses the command line and prints
//! errors. `docs/architecture.md` walks through the modules in order.

pub mod advise;
pub mod bench;
pub mod choice;
pub mod cli;
pub mod compare;
pub mod dashboard;
pub mod deploy;
pub mod embedded;
pub mod export;
pub mod hash;
pub mod http_server;
pub mod inside;
pub mod interpreters;
pub mod kernel_limit;
pub mod learn;
pub mod llm;
pub mod paths;
pub mod prng;
pub mod protocol;
pub mod ready;
pub mod run;
pub mod service;
pub mod shell;
pub mod stats;
pub mod task;
pub mod twin;
pub mod vocabulary;

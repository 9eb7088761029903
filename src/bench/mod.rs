//! `gil-lab bench`: plans cells, runs their trials interleaved, records every
//! trial as it ends, and summarises the run.

pub mod record;
pub mod runner_output;

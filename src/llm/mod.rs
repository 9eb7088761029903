//! The built-in OpenAI-compatible LLM endpoint that the `io` and `mixed`
//! scenarios' agents call: `gil-lab llm-serve`, and started in-process by
//! `bench` on an ephemeral port ([`server::start`]).

pub mod bench;
pub mod cli;
pub mod completion;
pub mod limits;
pub mod load;
pub mod server;

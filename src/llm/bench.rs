//! How `bench` gives the `io` and `mixed` scenarios their LLM endpoint: the
//! built-in one, started in-process on an ephemeral port for the run, or a
//! real OpenAI-compatible server named with `--llm-url`.
//!
//! The API key of a real server is read from the environment variable named
//! by `--llm-api-key-env` when each trial starts and handed to that trial's
//! environment only: the run records the variable's name, never its value.

use std::ffi::OsString;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::server::{self, DEFAULT_MODEL, LatencyModel, ServerConfig, ServerHandle};
use crate::protocol::LlmSpec;
use crate::protocol::spec::{DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_S};
use crate::vocabulary::{Scenario, scenario_uses_llm};

/// Agents waiting on the model at once in the `io` and `mixed` cells by
/// default: one per agent, whatever the number of cores (waiting needs none).
pub const LLM_WORKERS: u32 = 4;
/// Latency of the built-in endpoint in a `--full` run, milliseconds: a fast
/// hosted model's time to first token.
pub const BENCH_LATENCY_MS: f64 = 50.0;

/// Which endpoint a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// gil-lab's own endpoint, in-process: answers are deterministic, so
    /// digests are compared as in every other scenario.
    Builtin,
    /// A real server (`--llm-url`): answers vary, digests are not compared;
    /// each call's success and latency is recorded.
    External,
}

/// The endpoint settings of a run (`run.json`, `settings.llm`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlmSettings {
    /// Built-in or external.
    pub endpoint: EndpointKind,
    /// Base URL the trials call (built-in: that of the latest invocation,
    /// an ephemeral port on 127.0.0.1).
    pub url: String,
    /// Model name sent with every request.
    pub model: String,
    /// Name of the environment variable holding the API key (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Built-in: how the endpoint was configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerConfig>,
}

impl LlmSettings {
    /// The spec's `llm` object (docs/trial-protocol.md).
    pub fn spec(&self) -> LlmSpec {
        LlmSpec {
            url: self.url.clone(),
            model: self.model.clone(),
            api_key_env: self.api_key_env.clone(),
            timeout_s: DEFAULT_TIMEOUT_S,
            max_retries: DEFAULT_MAX_RETRIES,
            strict: self.endpoint == EndpointKind::Builtin,
        }
    }
}

/// The endpoint settings for a plan with these scenarios: None when no
/// scenario calls a model.
pub fn settings(
    scenarios: &[Scenario],
    url: Option<&str>,
    model: Option<&str>,
    api_key_env: Option<&str>,
    seed: u64,
    latency_ms: f64,
) -> Result<Option<LlmSettings>> {
    if !scenarios.iter().any(|s| s.uses_llm()) {
        return Ok(None);
    }
    if let Some(name) = api_key_env {
        if url.is_none() {
            bail!("--llm-api-key-env needs --llm-url: the built-in endpoint takes no key");
        }
        if std::env::var_os(name).is_none() {
            bail!(
                "--llm-api-key-env {name}: the variable {name} is not set; export the API key in it"
            );
        }
    }
    Ok(Some(match url {
        Some(url) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!(
                    "--llm-url {url}: expected an http:// or https:// base URL such as http://127.0.0.1:8000/v1"
                );
            }
            LlmSettings {
                endpoint: EndpointKind::External,
                url: url.trim_end_matches('/').to_string(),
                model: model.unwrap_or(DEFAULT_MODEL).to_string(),
                api_key_env: api_key_env.map(str::to_string),
                server: None,
            }
        }
        None => LlmSettings {
            endpoint: EndpointKind::Builtin,
            url: String::new(),
            model: model.unwrap_or(DEFAULT_MODEL).to_string(),
            api_key_env: None,
            server: Some(ServerConfig {
                model: model.unwrap_or(DEFAULT_MODEL).to_string(),
                latency: LatencyModel {
                    latency_ms,
                    per_token_ms: 0.0,
                    jitter_pct: 0.0,
                    seed,
                },
                // Two runtime threads are plenty for a few agents and keep
                // the endpoint light next to the trial it serves.
                threads: Some(2),
                ..ServerConfig::default()
            }),
        },
    }))
}

/// Starts the built-in endpoint when the run uses it, and points the
/// settings at its URL; the endpoint stops when the handle is dropped.
pub fn start(settings: &mut Option<LlmSettings>) -> Result<Option<ServerHandle>> {
    let Some(llm) = settings.as_mut() else {
        return Ok(None);
    };
    let Some(config) = llm
        .server
        .clone()
        .filter(|_| llm.endpoint == EndpointKind::Builtin)
    else {
        return Ok(None);
    };
    let handle = server::start(ServerConfig { port: 0, ..config })
        .context("cannot start the built-in LLM endpoint for the io and mixed scenarios")?;
    llm.url = handle.url();
    Ok(Some(handle))
}

/// Whether trials of this scenario are checked against the reference
/// digest: not when a real server answers (its answers vary).
pub fn compares_digest(settings: &Option<LlmSettings>, scenario: &str) -> bool {
    !(scenario_uses_llm(scenario)
        && settings
            .as_ref()
            .is_some_and(|l| l.endpoint == EndpointKind::External))
}

/// The API key's variable, added to one trial's environment (read now from
/// gil-lab's environment; it is never written anywhere).
pub fn secret_env(settings: &Option<LlmSettings>, scenario: &str) -> Option<(OsString, OsString)> {
    let name = settings.as_ref()?.api_key_env.as_ref()?;
    if !scenario_uses_llm(scenario) {
        return None;
    }
    let value = std::env::var_os(name)?;
    Some((OsString::from(name), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<Scenario> {
        list.iter().filter_map(|s| Scenario::from_name(s)).collect()
    }

    #[test]
    fn only_llm_scenarios_get_an_endpoint() {
        assert_eq!(
            settings(&names(&["cpu"]), None, None, None, 1, BENCH_LATENCY_MS).unwrap(),
            None
        );
        let builtin = settings(
            &names(&["cpu", "io"]),
            None,
            None,
            None,
            1,
            BENCH_LATENCY_MS,
        )
        .unwrap()
        .unwrap();
        assert_eq!(builtin.endpoint, EndpointKind::Builtin);
        assert_eq!(builtin.server.unwrap().latency.latency_ms, BENCH_LATENCY_MS);
        let external = Some(
            settings(
                &names(&["mixed"]),
                Some("http://h:1/v1/"),
                Some("m"),
                None,
                1,
                BENCH_LATENCY_MS,
            )
            .unwrap()
            .unwrap(),
        );
        assert_eq!(external.as_ref().unwrap().url, "http://h:1/v1");
        assert!(!compares_digest(&external, "mixed"));
        assert!(compares_digest(&external, "cpu"));
        let err = settings(
            &names(&["io"]),
            Some("h:1"),
            None,
            None,
            1,
            BENCH_LATENCY_MS,
        )
        .unwrap_err();
        assert!(err.to_string().contains("--llm-url"), "{err}");
        let err = settings(
            &names(&["io"]),
            None,
            None,
            Some("HOME"),
            1,
            BENCH_LATENCY_MS,
        )
        .unwrap_err();
        assert!(err.to_string().contains("needs --llm-url"), "{err}");
        let err = settings(
            &names(&["io"]),
            Some("http://h/v1"),
            None,
            Some("GIL_LAB_NO_SUCH_VAR"),
            1,
            BENCH_LATENCY_MS,
        )
        .unwrap_err();
        assert!(err.to_string().contains("is not set"), "{err}");
    }

    #[test]
    fn the_builtin_endpoint_starts_on_an_ephemeral_port() {
        let mut llm = settings(&names(&["io"]), None, None, None, 1, BENCH_LATENCY_MS).unwrap();
        let handle = start(&mut llm).unwrap().unwrap();
        assert_eq!(llm.as_ref().unwrap().url, handle.url());
        assert!(handle.url().starts_with("http://127.0.0.1:"));
        assert!(!handle.url().ends_with(":0/v1"));
        assert_eq!(handle.stats().completions, 0);
    }
}

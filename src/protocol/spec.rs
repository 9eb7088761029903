//! The trial spec (docs/trial-protocol.md): the one JSON object gil-lab's
//! plan writes as a runner's argument, stored with the plan in `run.json`,
//! and read back, checked and echoed by the native twin under the same rules
//! as the Python runner (`workload/gil_lab/trial.py`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::vocabulary::{Approach, Scenario};

/// The model name sent when a spec names none (the built-in endpoint's).
pub const DEFAULT_MODEL: &str = "gil-lab-sim";
/// Seconds per model call attempt when a spec's `llm` names none.
pub const DEFAULT_TIMEOUT_S: f64 = 30.0;
/// Retries of a model call when a spec's `llm` names none.
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// Tasks per agent at scale 1.0.
const TASKS_PER_AGENT: f64 = 8.0;
/// multiprocessing start methods a spec may name.
pub const START_METHODS: [&str; 3] = ["fork", "spawn", "forkserver"];
/// Most tasks a spec may ask for: far beyond any useful scale (scale 1.0 is
/// 32 tasks), low enough that the task list always fits in memory.
const MAX_TASKS: u64 = 1 << 20;

/// The number of tasks a scale makes: 4 × max(1, floor(8 × scale + 0.5)),
/// computed in IEEE double like Python's `int(8 * scale + 0.5)`
/// (docs/agents.md).
pub fn task_count(scale: f64) -> u64 {
    4 * ((TASKS_PER_AGENT * scale + 0.5).floor() as u64).max(1)
}

/// A trial spec; as read by [`parse_spec`], with its defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialSpec {
    /// What the agents do; `task` for a team's own function (then `task`
    /// says which, and `gil_lab.task.runner` runs it).
    pub scenario: Scenario,
    /// How they run.
    pub approach: Approach,
    /// Threads / processes / interpreters / tasks at once (>= 1).
    pub workers: u32,
    /// Sizes the work (> 0); 1.0 makes 32 tasks.
    pub scale: f64,
    /// Seeds the PRNG that makes every task.
    pub seed: u64,
    /// `processes` only: the start method (null: the interpreter's
    /// default); the twin's workers are always started fresh by re-executing
    /// gil-lab, which is `spawn`.
    pub start_method: Option<String>,
    /// `io` and `mixed`: the LLM endpoint (null otherwise).
    pub llm: Option<LlmSpec>,
    /// Scenario `task`: the team's function and how it is run
    /// (docs/tasks.md); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<super::TaskSpec>,
    /// `ray` only: the address of an existing Ray cluster (`host:port`);
    /// absent: the trial starts a local cluster of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ray_address: Option<String>,
}

impl TrialSpec {
    /// [`TrialSpec::workers`] as a count of things to start.
    pub fn worker_count(&self) -> usize {
        self.workers as usize
    }

    /// The spec as the one JSON argument of a runner.
    pub fn to_json(&self) -> String {
        // A struct of strings and numbers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The spec cannot be run as given; the message names the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadSpec(pub String);

/// The spec from the command line, checked, with defaults filled in, under
/// the same rules as the Python runner.
pub fn parse_spec(args: &[String]) -> Result<TrialSpec, BadSpec> {
    let bad = |message: String| Err(BadSpec(message));
    let [text] = args else {
        return bad(
            "expected exactly one argument, the trial spec as JSON, e.g. \
             '{\"scenario\": \"cpu\", \"approach\": \"threads\", \"workers\": 2}'"
                .into(),
        );
    };
    let raw: Value = match serde_json::from_str(text) {
        Ok(raw) => raw,
        Err(error) => {
            return bad(format!(
                "the spec is not valid JSON ({error}); pass one JSON object"
            ));
        }
    };
    let Value::Object(raw) = raw else {
        return bad(
            "the spec must be a JSON object, e.g. {\"scenario\": \"cpu\", \"approach\": \"sequential\"}"
                .into(),
        );
    };
    let field = |name: &str| raw.get(name).unwrap_or(&Value::Null);

    let Some(scenario) = field("scenario").as_str().and_then(Scenario::from_name) else {
        return bad(format!(
            "unknown scenario {}; set \"scenario\" to one of {}",
            field("scenario"),
            Scenario::ALL.map(Scenario::name).join(", ")
        ));
    };
    // Every approach a spec may name is the Python runner's; the twin runs
    // some of them and reports the others as skipped.
    let Some(approach) = field("approach").as_str().and_then(Approach::from_name) else {
        return bad(format!(
            "unknown approach {}; set \"approach\" to one of {}",
            field("approach"),
            Approach::ALL.map(Approach::name).join(", ")
        ));
    };
    let workers = match raw.get("workers") {
        None => 1,
        Some(value) => match value.as_u64().and_then(|w| u32::try_from(w).ok()) {
            Some(w) if w >= 1 => w,
            _ => return bad(format!("\"workers\" must be an integer >= 1, got {value}")),
        },
    };
    let scale = match raw.get("scale") {
        None => 1.0,
        Some(value) => match value.as_f64() {
            Some(s) if s.is_finite() && s > 0.0 => s,
            _ => return bad(format!("\"scale\" must be a number > 0, got {value}")),
        },
    };
    if task_count(scale) > MAX_TASKS {
        return bad(format!(
            "\"scale\" {scale} makes more than {MAX_TASKS} tasks; use a scale below {}",
            (MAX_TASKS / 32) as f64
        ));
    }
    let seed = match raw.get("seed") {
        None => 1,
        Some(value) => match value.as_u64() {
            Some(seed) => seed,
            None => {
                return bad(format!(
                    "\"seed\" must be an integer in [0, 2^64), got {value}"
                ));
            }
        },
    };
    let start_method = match field("start_method") {
        Value::Null => None,
        Value::String(m) if START_METHODS.contains(&m.as_str()) => Some(m.clone()),
        other => {
            return bad(format!(
                "\"start_method\" must be null or one of {}, got {other}",
                START_METHODS.join(", ")
            ));
        }
    };
    let llm = match field("llm") {
        Value::Null if scenario.uses_llm() => {
            return bad(format!(
                "the {} scenario calls an LLM endpoint: give the spec an \"llm\" object, e.g. {{\"url\": \"http://127.0.0.1:8000/v1\"}} (`gil-lab llm-serve` runs one)",
                field("scenario").as_str().unwrap_or_default()
            ));
        }
        Value::Null => None,
        _ if !scenario.uses_llm() => None,
        raw => Some(LlmSpec::from_json(raw).map_err(BadSpec)?),
    };
    let ray_address = match field("ray_address") {
        _ if approach != Approach::Ray => None,
        Value::Null => None,
        Value::String(address) if !address.is_empty() => Some(address.clone()),
        other => {
            return bad(format!(
                "\"ray_address\" must be null or a cluster address such as \"127.0.0.1:6379\", got {other}"
            ));
        }
    };
    Ok(TrialSpec {
        scenario,
        approach,
        workers,
        scale,
        seed,
        start_method,
        llm,
        task: None,
        ray_address,
    })
}

/// The spec's `llm` object: where the model is. Missing fields take the
/// runner's defaults, in [`LlmSpec::from_json`] and when a stored plan is
/// read back (runs written before these fields were stated leave them out).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlmSpec {
    /// Base URL, e.g. `http://127.0.0.1:8000/v1`.
    pub url: String,
    /// Model name sent with every request.
    #[serde(default = "default_model")]
    pub model: String,
    /// Name of the environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Seconds per attempt.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// Attempts after the first.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Whether a call that fails for good fails the trial (always, in the twin).
    #[serde(default = "default_strict")]
    pub strict: bool,
}

fn default_model() -> String {
    DEFAULT_MODEL.into()
}

fn default_timeout_s() -> f64 {
    DEFAULT_TIMEOUT_S
}

fn default_max_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}

fn default_strict() -> bool {
    true
}

impl LlmSpec {
    /// Reads the spec's `llm` object; the error names the field to fix.
    pub fn from_json(raw: &Value) -> Result<LlmSpec, String> {
        let Value::Object(raw) = raw else {
            return Err("\"llm\" must be an object with at least \"url\"".into());
        };
        let url = match raw.get("url") {
            Some(Value::String(u)) if u.starts_with("http://") || u.starts_with("https://") => {
                u.trim_end_matches('/').to_string()
            }
            other => {
                return Err(format!(
                    "\"llm.url\" must be an http:// or https:// URL, got {}",
                    other.unwrap_or(&Value::Null)
                ));
            }
        };
        let model = match raw.get("model") {
            None | Some(Value::Null) => DEFAULT_MODEL.to_string(),
            Some(Value::String(m)) if !m.is_empty() => m.clone(),
            Some(other) => {
                return Err(format!(
                    "\"llm.model\" must be a non-empty string, got {other}"
                ));
            }
        };
        let api_key_env = match raw.get("api_key_env") {
            None | Some(Value::Null) => None,
            Some(Value::String(v)) if !v.is_empty() => Some(v.clone()),
            Some(other) => {
                return Err(format!(
                    "\"llm.api_key_env\" must be null or a variable name, got {other}"
                ));
            }
        };
        let timeout_s = match raw.get("timeout_s") {
            None | Some(Value::Null) => DEFAULT_TIMEOUT_S,
            Some(v) => match v.as_f64() {
                Some(t) if t.is_finite() && t > 0.0 => t,
                _ => return Err(format!("\"llm.timeout_s\" must be a number > 0, got {v}")),
            },
        };
        let max_retries = match raw.get("max_retries") {
            None | Some(Value::Null) => DEFAULT_MAX_RETRIES,
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => n,
                None => {
                    return Err(format!(
                        "\"llm.max_retries\" must be an integer >= 0, got {v}"
                    ));
                }
            },
        };
        let strict = match raw.get("strict") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(format!("\"llm.strict\" must be true or false, got {other}"));
            }
        };
        Ok(LlmSpec {
            url,
            model,
            api_key_env,
            timeout_s,
            max_retries,
            strict,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<TrialSpec, BadSpec> {
        parse_spec(&[text.to_string()])
    }

    #[test]
    fn defaults_are_filled_in() {
        let spec = parse(r#"{"scenario": "cpu", "approach": "threads", "extra": 1}"#).unwrap();
        assert_eq!(
            spec,
            TrialSpec {
                scenario: Scenario::Cpu,
                approach: Approach::Threads,
                workers: 1,
                scale: 1.0,
                seed: 1,
                start_method: None,
                llm: None,
                task: None,
                ray_address: None,
            }
        );
        let spec = parse(
            r#"{"scenario": "shared", "approach": "processes", "workers": 3, "scale": 2,
                "seed": 18446744073709551615, "start_method": "spawn"}"#,
        )
        .unwrap();
        assert_eq!((spec.workers, spec.scale, spec.seed), (3, 2.0, u64::MAX));
    }

    #[test]
    fn a_stored_spec_without_the_llm_defaults_reads_back() {
        // As run.json stored it before the timeout and retries were stated.
        let old = r#"{"approach":"threads","llm":{"api_key_env":null,"model":"gil-lab-sim",
            "strict":true,"url":"http://127.0.0.1:9/v1"},"scale":0.3,"scenario":"io",
            "seed":1,"start_method":null,"workers":4}"#;
        let spec: TrialSpec = serde_json::from_str(old).unwrap();
        let llm = spec.llm.unwrap();
        assert_eq!((llm.timeout_s, llm.max_retries), (30.0, 5));
        assert_eq!(spec.approach, Approach::Threads);
    }

    #[test]
    fn bad_values_name_the_field_to_fix() {
        let cases = [
            ("", "exactly one argument"),
            ("{", "not valid JSON"),
            ("[1]", "must be a JSON object"),
            (r#"{"approach": "threads"}"#, "set \"scenario\""),
            (
                r#"{"scenario": "io", "approach": "threads"}"#,
                "give the spec an \"llm\" object",
            ),
            (
                r#"{"scenario": "mixed", "approach": "threads", "llm": {"url": "x"}}"#,
                "\"llm.url\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "fibers"}"#,
                "set \"approach\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "workers": 0}"#,
                "\"workers\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "workers": 2.0}"#,
                "\"workers\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "workers": true}"#,
                "\"workers\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "scale": 0}"#,
                "\"scale\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "scale": "1"}"#,
                "\"scale\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "scale": 1e12}"#,
                "\"scale\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "seed": -1}"#,
                "\"seed\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "seed": 18446744073709551616}"#,
                "\"seed\"",
            ),
            (
                r#"{"scenario": "cpu", "approach": "threads", "start_method": "fork2"}"#,
                "\"start_method\"",
            ),
        ];
        for (text, wanted) in cases {
            let args: Vec<String> = if text.is_empty() {
                vec![]
            } else {
                vec![text.into()]
            };
            let message = parse_spec(&args).unwrap_err().to_string();
            assert!(message.contains(wanted), "{text}: {message}");
        }
    }

    #[test]
    fn llm_spec_defaults_and_errors() {
        let spec = LlmSpec::from_json(&json!({"url": "http://127.0.0.1:1/v1/"})).unwrap();
        assert_eq!(spec.url, "http://127.0.0.1:1/v1");
        assert_eq!((spec.max_retries, spec.strict), (5, true));
        for (raw, wanted) in [
            (json!(1), "must be an object"),
            (json!({"url": "ftp://x"}), "llm.url"),
            (json!({"url": "http://x", "timeout_s": 0}), "llm.timeout_s"),
            (
                json!({"url": "http://x", "max_retries": -1}),
                "llm.max_retries",
            ),
        ] {
            let message = LlmSpec::from_json(&raw).unwrap_err();
            assert!(message.contains(wanted), "{message}");
        }
    }
}

//! Reading a `POST /v1/chat/completions` body into a [`ChatRequest`],
//! field by field, with an error that names the field to fix.

use serde_json::Value;

use crate::llm::completion::Message;

/// A chat-completion request, checked.
#[derive(Debug)]
pub(super) struct ChatRequest {
    pub(super) model: String,
    pub(super) messages: Vec<Message>,
    pub(super) max_tokens: Option<u64>,
    pub(super) stream: bool,
    pub(super) include_usage: bool,
}

/// The text of a message's `content`: a string, an array of text parts, or
/// null (an assistant message that only called tools).
fn content_text(content: &Value, i: usize) -> Result<String, String> {
    match content {
        Value::String(text) => Ok(text.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(parts) => parts
            .iter()
            .map(|part| match (part.get("type"), part.get("text")) {
                (Some(Value::String(t)), Some(Value::String(text))) if t == "text" => {
                    Ok(text.as_str())
                }
                _ => Err(format!(
                    "messages[{i}].content: only text parts ({{\"type\": \"text\", \"text\": \"...\"}}) are supported"
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|texts| texts.concat()),
        _ => Err(format!(
            "messages[{i}].content must be a string or an array of text parts"
        )),
    }
}

/// Reads and checks a request body; the error names the field to fix.
pub(super) fn parse_request(body: &[u8]) -> Result<ChatRequest, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        format!("the request body is not valid JSON ({e}); send a JSON object with \"model\" and \"messages\"")
    })?;
    let Value::Object(object) = value else {
        return Err(
            "the request body must be a JSON object with \"model\" and \"messages\"".into(),
        );
    };
    let model = match object.get("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        _ => return Err("\"model\" is required: a model name, e.g. \"gil-lab-sim\"".into()),
    };
    let Some(Value::Array(raw)) = object.get("messages") else {
        return Err(
            "\"messages\" is required: a non-empty array of {\"role\", \"content\"} objects".into(),
        );
    };
    if raw.is_empty() {
        return Err("\"messages\" must not be empty".into());
    }
    let mut messages = Vec::with_capacity(raw.len());
    for (i, message) in raw.iter().enumerate() {
        let Some(Value::String(role)) = message.get("role") else {
            return Err(format!(
                "messages[{i}].role is required (a string such as \"user\")"
            ));
        };
        let content = content_text(message.get("content").unwrap_or(&Value::Null), i)?;
        messages.push(Message {
            role: role.clone(),
            content,
        });
    }
    let mut max_tokens = None;
    for field in ["max_tokens", "max_completion_tokens"] {
        match object.get(field) {
            None | Some(Value::Null) => {}
            Some(value) => match value.as_u64() {
                Some(n) if n >= 1 => max_tokens = Some(n),
                _ => return Err(format!("\"{field}\" must be an integer >= 1, got {value}")),
            },
        }
    }
    let stream = match object.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => *stream,
        Some(other) => return Err(format!("\"stream\" must be true or false, got {other}")),
    };
    match object.get("n") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_u64() == Some(1) => {}
        Some(n) => return Err(format!("\"n\" must be 1 (one choice per request), got {n}")),
    }
    let include_usage = object
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(ChatRequest {
        model,
        messages,
        max_tokens,
        stream,
        include_usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_field_by_field() {
        let ok = parse_request(
            br#"{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                 "max_tokens": 4, "stream": true, "stream_options": {"include_usage": true}}"#,
        )
        .unwrap();
        assert_eq!(ok.messages[0].content, "hi");
        assert_eq!(
            (ok.max_tokens, ok.stream, ok.include_usage),
            (Some(4), true, true)
        );
        let cases: [(&[u8], &str); 8] = [
            (b"{", "not valid JSON"),
            (b"[]", "JSON object"),
            (br#"{"messages": []}"#, "\"model\""),
            (br#"{"model": "m"}"#, "\"messages\" is required"),
            (br#"{"model": "m", "messages": []}"#, "must not be empty"),
            (br#"{"model": "m", "messages": [{"content": "x"}]}"#, "role"),
            (
                br#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}"#,
                "max_tokens",
            ),
            (
                br#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}"#,
                "stream",
            ),
        ];
        for (body, wanted) in cases {
            let message = parse_request(body).unwrap_err();
            assert!(message.contains(wanted), "{message}");
        }
    }
}

//! A chat completion streamed as server-sent events, paced like a hosted
//! model: the role, then one chunk per token (the first after the latency,
//! the others `per_token_ms` apart), the finish reason, the usage when it
//! was asked for, and `data: [DONE]`.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::handlers::usage;
use crate::llm::completion::Completion;

/// One answer to stream, with what each of its chunks repeats.
pub(super) struct Answer {
    pub(super) id: String,
    pub(super) created: u64,
    pub(super) model: String,
    pub(super) completion: Completion,
    pub(super) include_usage: bool,
}

impl Answer {
    /// The chunks in order (without the final `[DONE]`).
    fn chunks(&self) -> Vec<Value> {
        let chunk = |delta: Value, finish: Value| {
            json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "system_fingerprint": "gil-lab",
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            })
        };
        let mut chunks = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )];
        chunks.extend(
            self.completion
                .pieces()
                .into_iter()
                .map(|piece| chunk(json!({"content": piece}), Value::Null)),
        );
        chunks.push(chunk(json!({}), json!(self.completion.finish_reason)));
        if self.include_usage {
            chunks.push(json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [], "usage": usage(&self.completion),
            }));
        }
        chunks
    }
}

/// Streams `answer`: the first token `first` after the start, the others
/// `gap` apart. The concurrency `permit` is held until the stream ends (or
/// the client goes away).
pub(super) fn respond(
    answer: Answer,
    first: Duration,
    gap: Duration,
    permit: Option<OwnedSemaphorePermit>,
) -> Response {
    let (sender, receiver) = mpsc::channel::<Event>(4);
    tokio::spawn(async move {
        let _permit = permit;
        let tokens = answer.completion.tokens();
        for (i, chunk) in answer.chunks().into_iter().enumerate() {
            // Chunk 1 carries the first token, chunks 2..=tokens the others.
            if i == 1 {
                tokio::time::sleep(first).await;
            } else if (2..=tokens).contains(&i) {
                tokio::time::sleep(gap).await;
            }
            if sender
                .send(Event::default().data(chunk.to_string()))
                .await
                .is_err()
            {
                return; // the client went away
            }
        }
        let _ = sender.send(Event::default().data("[DONE]")).await;
    });
    let stream = tokio_stream::StreamExt::map(ReceiverStream::new(receiver), Ok::<_, Infallible>);
    Sse::new(stream).into_response()
}

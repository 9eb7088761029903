//! What the built-in endpoint answers: a completion that is a pure function
//! of the request's messages, so that an agent's results (and the trial's
//! digest) are the same on every approach, interpreter and language.
//!
//! The same text hash is used by the agents (workload/gil_lab/io_scenario.py
//! and the native twin) to turn an answer into a number: FNV-1a 64 over the
//! UTF-8 bytes, finished with SplitMix64's `mix64`.

use crate::hash::fnv1a_64;
use crate::prng::{SplitMix64, mix64};

/// Words the simulated model answers with: plain ASCII, so that "tokens"
/// are words and counting them is unambiguous.
const VOCABULARY: [&str; 32] = [
    "plan", "route", "search", "queen", "board", "move", "alarm", "sample", "node", "edge", "cost",
    "goal", "state", "guess", "check", "prove", "block", "open", "close", "score", "depth",
    "value", "prior", "merge", "split", "count", "order", "chain", "frame", "trace", "graph",
    "agent",
];
/// Fewest words the model wants to say.
const MIN_WORDS: u64 = 8;
/// Most words the model wants to say.
const MAX_WORDS: u64 = 16;

/// The 64-bit hash of a text: FNV-1a over its UTF-8 bytes, then `mix64`.
pub fn text_hash(text: &str) -> u64 {
    mix64(fnv1a_64(text.as_bytes()))
}

/// One chat message of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user`, `assistant`, ...
    pub role: String,
    /// The text.
    pub content: String,
}

/// The seed of a request's answer: the hash of every message's role and
/// content, each followed by a NUL byte (the model name and sampling options
/// do not change the answer).
pub fn request_seed(messages: &[Message]) -> u64 {
    let mut text = String::new();
    for message in messages {
        text.push_str(&message.role);
        text.push('\0');
        text.push_str(&message.content);
        text.push('\0');
    }
    text_hash(&text)
}

/// A deterministic answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The words, in order (each is one completion token).
    pub words: Vec<&'static str>,
    /// `stop` when the model said everything, `length` when `max_tokens`
    /// cut it short.
    pub finish_reason: &'static str,
    /// Words in the prompt (the `usage.prompt_tokens` it reports).
    pub prompt_tokens: usize,
}

impl Completion {
    /// The answer to `messages`: 8 to 16 words drawn from SplitMix64 seeded
    /// with [`request_seed`], cut to `max_tokens` when that is smaller.
    pub fn answer(messages: &[Message], max_tokens: Option<u64>) -> Completion {
        let mut rng = SplitMix64::new(request_seed(messages));
        let wanted = MIN_WORDS + rng.below(MAX_WORDS - MIN_WORDS + 1);
        let length = max_tokens.map_or(wanted, |m| m.min(wanted));
        let words = (0..length)
            .map(|_| VOCABULARY[rng.below(VOCABULARY.len() as u64) as usize])
            .collect();
        Completion {
            words,
            finish_reason: if length < wanted { "length" } else { "stop" },
            prompt_tokens: messages
                .iter()
                .map(|m| m.content.split_whitespace().count())
                .sum(),
        }
    }

    /// The whole text: the words separated by single spaces.
    pub fn text(&self) -> String {
        self.words.join(" ")
    }

    /// Completion tokens (words).
    pub fn tokens(&self) -> usize {
        self.words.len()
    }

    /// The streamed pieces: the first word, then each further word with its
    /// leading space, so that the pieces concatenate to [`Completion::text`].
    pub fn pieces(&self) -> Vec<String> {
        self.words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    w.to_string()
                } else {
                    format!(" {w}")
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Vec<Message> {
        vec![Message {
            role: "user".into(),
            content: text.into(),
        }]
    }

    #[test]
    fn text_hash_is_fnv1a_then_mix64() {
        // FNV-1a 64 of "" and "a" are published constants.
        assert_eq!(text_hash(""), mix64(0xcbf2_9ce4_8422_2325));
        assert_eq!(text_hash("a"), mix64(0xaf63_dc4c_8601_ec8c));
    }

    #[test]
    fn answers_depend_on_the_messages_only() {
        let a = Completion::answer(&user("hello there"), None);
        assert_eq!(a, Completion::answer(&user("hello there"), None));
        assert_ne!(
            a.text(),
            Completion::answer(&user("hello where"), None).text()
        );
        assert!((8..=16).contains(&a.tokens()));
        assert_eq!(a.finish_reason, "stop");
        assert_eq!(a.prompt_tokens, 2);
        assert_eq!(a.pieces().concat(), a.text());
        let cut = Completion::answer(&user("hello there"), Some(3));
        assert_eq!(cut.words, a.words[..3]);
        assert_eq!(cut.finish_reason, "length");
    }
}

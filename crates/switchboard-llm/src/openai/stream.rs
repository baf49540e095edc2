//! A streamed Chat Completion: SSE `data:` events, each a `chat.completion.chunk`,
//! ended by `data: [DONE]`. Text deltas go to the caller as they come; tool
//! calls arrive as fragments keyed by `index` (the first carries `id` and
//! `function.name`, the rest pieces of `function.arguments`) and are handed
//! over whole, checked against their schemas, when the model finishes.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use eventsource_stream::{EventStream, EventStreamError, Eventsource};
use futures::stream::{self, Stream, StreamExt};
use tokio::time::Instant;

use super::{Inner, next_chunk, tool_call, wire};
use crate::error::LlmError;
use crate::types::{ChatEvent, ChatRequest, ChatStream, FinishReason};

type Bodies = Pin<Box<dyn Stream<Item = Result<Bytes, LlmError>> + Send>>;
type Events = EventStream<Bodies>;

enum Phase {
    Start,
    Reading(Box<Events>),
    Done,
}

/// A tool call while its fragments arrive.
#[derive(Default)]
struct Partial {
    id: String,
    name: String,
    arguments: String,
}

struct State {
    inner: Arc<Inner>,
    request: ChatRequest,
    deadline: Instant,
    phase: Phase,
    ready: VecDeque<ChatEvent>,
    model: String,
    text: String,
    calls: BTreeMap<usize, Partial>,
    finish: Option<String>,
    usage: Option<wire::WireUsage>,
}

pub(super) fn start(inner: Arc<Inner>, request: ChatRequest) -> ChatStream {
    let deadline = inner.deadline(&request);
    let state = State {
        inner,
        request,
        deadline,
        phase: Phase::Start,
        ready: VecDeque::new(),
        model: String::new(),
        text: String::new(),
        calls: BTreeMap::new(),
        finish: None,
        usage: None,
    };
    stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    })
    .boxed()
}

/// The response body as a stream of chunks, within the size limit, the
/// deadline and the idle timeout.
fn body(response: reqwest::Response, limit: usize, deadline: Instant, idle: std::time::Duration) -> Bodies {
    stream::unfold(Some((response, 0usize)), move |state| async move {
        let (mut response, seen) = state?;
        match next_chunk(&mut response, deadline, idle).await {
            Err(e) => Some((Err(e), None)),
            Ok(None) => None,
            Ok(Some(chunk)) => {
                let seen = seen + chunk.len();
                if seen > limit {
                    Some((Err(LlmError::TooLarge { limit }), None))
                } else {
                    Some((Ok(chunk), Some((response, seen))))
                }
            }
        }
    })
    .boxed()
}

impl State {
    async fn next(&mut self) -> Option<Result<ChatEvent, LlmError>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            match &mut self.phase {
                Phase::Done => return None,
                Phase::Start => match self.inner.send(&self.request, true, self.deadline).await {
                    Ok(response) => {
                        let config = &self.inner.config;
                        let bodies = body(response, config.max_response_bytes, self.deadline, config.timeouts.idle);
                        self.phase = Phase::Reading(Box::new(bodies.eventsource()));
                    }
                    Err(e) => return Some(Err(self.fail(e))),
                },
                Phase::Reading(events) => match events.next().await {
                    Some(Ok(event)) => {
                        if event.data.trim() == "[DONE]" {
                            self.finish_up();
                        } else if let Err(e) = self.apply(&event.data) {
                            return Some(Err(self.fail(e)));
                        }
                    }
                    Some(Err(EventStreamError::Transport(e))) => return Some(Err(self.fail(e))),
                    Some(Err(e)) => return Some(Err(self.fail(LlmError::Protocol(format!("SSE: {e}"))))),
                    None if self.finish.is_some() => {
                        // The model finished but the server closed without
                        // `[DONE]`: the answer is whole, only usage may be missing.
                        self.finish_up();
                    }
                    None => {
                        let e = LlmError::Interrupted("the stream ended before the model finished".into());
                        return Some(Err(self.fail(e)));
                    }
                },
            }
        }
    }

    fn fail(&mut self, error: LlmError) -> LlmError {
        self.phase = Phase::Done;
        self.ready.clear();
        error
    }

    /// Folds one chunk into the answer.
    fn apply(&mut self, data: &str) -> Result<(), LlmError> {
        let chunk: wire::Chunk =
            serde_json::from_str(data).map_err(|e| LlmError::Protocol(format!("not a completion chunk: {e}")))?;
        if let Some(error) = chunk.error {
            let message = self.inner.scrub(&error.message.clone().unwrap_or_default());
            return Err(LlmError::Api { status: 200, code: error.code(), message, retry_after: None });
        }
        if !chunk.model.is_empty() {
            self.model = chunk.model;
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        // We ask for one choice; any other is ignored.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(text) = choice.delta.content
                && !text.is_empty()
            {
                self.text.push_str(&text);
                self.ready.push_back(ChatEvent::Delta(text));
            }
            for fragment in choice.delta.tool_calls {
                let id = fragment.id.filter(|id| !id.is_empty());
                let index = match fragment.index {
                    Some(index) => index,
                    // Servers that leave out `index` send each call whole: a
                    // new id is a new call, no id continues the last one.
                    None => match &id {
                        Some(id) if !self.calls.values().any(|c| c.id == *id) => self.calls.len(),
                        _ => self.calls.len().saturating_sub(1),
                    },
                };
                let call = self.calls.entry(index).or_default();
                if let Some(id) = id
                    && call.id.is_empty()
                {
                    call.id = id;
                }
                if let Some(function) = fragment.function {
                    if let Some(name) = function.name
                        && name != call.name
                    {
                        call.name.push_str(&name);
                    }
                    if let Some(arguments) = function.arguments {
                        call.arguments.push_str(&arguments);
                    }
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(reason);
            }
        }
        Ok(())
    }

    /// Queues the closing events: the tool calls, usage, finish.
    fn finish_up(&mut self) {
        self.phase = Phase::Done;
        let calls = std::mem::take(&mut self.calls);
        let mut output = std::mem::take(&mut self.text);
        let had_calls = !calls.is_empty();
        for (index, partial) in calls {
            output.push(' ');
            output.push_str(&partial.arguments);
            let call = tool_call(index, partial.id, partial.name, partial.arguments);
            self.ready.push_back(ChatEvent::ToolCall(self.request.check_tool_call(call)));
        }
        let usage = self.inner.usage_or_estimate(&self.request, self.usage, &output);
        self.ready.push_back(ChatEvent::Usage(usage));
        let reason = match self.finish.take() {
            Some(reason) => FinishReason::from_wire(&reason),
            None if had_calls => FinishReason::ToolCalls,
            None => FinishReason::Stop,
        };
        let model = if self.model.is_empty() { self.request.model.clone() } else { std::mem::take(&mut self.model) };
        self.ready.push_back(ChatEvent::Finish { reason, model });
    }
}

//! Retries, the circuit breaker and the fallback provider, around any
//! [`ChatProvider`]s.
//!
//! A call goes to the primary route while its breaker lets it: transient
//! failures ([`ErrorClass::Retry`]) are retried with full-jitter backoff,
//! never sooner than the provider's `Retry-After`, at most
//! `max_retries` times and never starting after the retry budget. When the
//! primary's breaker is open, or its failure is not the request's own fault
//! ([`ErrorClass::Fatal`]), the fallback route gets the request.
//!
//! A stream is retried (or handed to the fallback) only while nothing has
//! reached the caller; after the first event, a failure is the caller's to
//! handle, so an answer is never stitched from two attempts.
//!
//! A request's [`ChatRequest::timeout`] bounds the whole call here, waits and
//! fallback included: each attempt gets what is left of it, and no retry
//! starts that could not finish its wait in time.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use tokio::time::Instant;

use crate::ChatProvider;
use crate::breaker::{BreakerState, Breakers, CircuitBreaker, Permit};
use crate::error::{ErrorClass, LlmError, TimeoutKind};
use crate::openai::OpenAiProvider;
use crate::retry::RetryPolicy;
use crate::types::{ChatEvent, ChatRequest, ChatResponse, ChatStream};

/// One way to reach a model: a provider, the breaker of its endpoint, and
/// the model to ask for there.
#[derive(Clone)]
pub struct Route {
    /// Names the route in logs and errors (the endpoint URL, never a key).
    pub name: String,
    pub provider: Arc<dyn ChatProvider>,
    pub breaker: Arc<CircuitBreaker>,
    /// Replaces the request's model on this route (a fallback usually runs another model).
    pub model: Option<String>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route").field("name", &self.name).field("model", &self.model).finish_non_exhaustive()
    }
}

impl Route {
    /// A route to an OpenAI-compatible endpoint, with the process's breaker for it.
    pub fn openai(provider: OpenAiProvider, breakers: &Breakers, model: Option<String>) -> Self {
        let name = provider.endpoint().to_owned();
        Route { breaker: breakers.get(&name), name, provider: Arc::new(provider), model }
    }

    /// The request for one attempt on this route, with what is left of the call's time.
    fn attempt(&self, request: &ChatRequest, clock: &Clock) -> Result<ChatRequest, LlmError> {
        let mut request = request.clone();
        if let Some(model) = &self.model {
            request.model = model.clone();
        }
        if let Some(deadline) = clock.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LlmError::Timeout(TimeoutKind::Total));
            }
            request.timeout = Some(left);
        }
        Ok(request)
    }
}

/// When a call started and when it must be over.
#[derive(Debug, Clone, Copy)]
struct Clock {
    started: Instant,
    deadline: Option<Instant>,
}

impl Clock {
    fn start(request: &ChatRequest) -> Self {
        let started = Instant::now();
        Clock { started, deadline: request.timeout.map(|t| started + t) }
    }
}

/// A provider made resilient: a primary route, an optional fallback, one retry policy.
#[derive(Debug, Clone)]
pub struct Resilient {
    routes: Vec<Route>,
    retry: RetryPolicy,
}

impl Resilient {
    pub fn new(primary: Route, retry: RetryPolicy) -> Self {
        Resilient { routes: vec![primary], retry }
    }

    pub fn with_fallback(mut self, fallback: Route) -> Self {
        self.routes.truncate(1);
        self.routes.push(fallback);
        self
    }

    /// Whether to wait and try the same route again, and how long.
    fn retry_delay(&self, route: &Route, error: &LlmError, retries: u32, clock: &Clock) -> Option<Duration> {
        if error.class() != ErrorClass::Retry || retries >= self.retry.max_retries {
            return None;
        }
        // This failure may have opened the breaker: a retry would be refused, go on now.
        if route.breaker.state() == BreakerState::Open {
            return None;
        }
        let delay = self.retry.delay(retries, error.retry_after());
        let in_budget = clock.started.elapsed() + delay <= self.retry.budget;
        let in_time = clock.deadline.is_none_or(|deadline| Instant::now() + delay < deadline);
        (in_budget && in_time).then_some(delay)
    }
}

/// Records an attempt's outcome on its endpoint's breaker: a request the
/// endpoint refused as malformed says nothing against the endpoint.
fn report(permit: Permit, error: &LlmError) {
    if error.class() == ErrorClass::Fatal {
        permit.success();
    } else {
        permit.failure();
    }
}

/// The error to give back when every route failed: the first real failure
/// rather than a later "circuit open".
fn keep(first: Option<LlmError>, next: LlmError) -> Option<LlmError> {
    match first {
        Some(first) if !matches!(first, LlmError::CircuitOpen { .. }) => Some(first),
        _ => Some(next),
    }
}

#[async_trait]
impl ChatProvider for Resilient {
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, LlmError> {
        let clock = Clock::start(&request);
        let mut failure: Option<LlmError> = None;
        for route in &self.routes {
            let mut retries = 0;
            let error = loop {
                let attempt = match route.attempt(&request, &clock) {
                    Ok(attempt) => attempt,
                    Err(out_of_time) => {
                        tracing::warn!(route = %route.name, error = %out_of_time, "LLM route failed");
                        return Err(keep(failure, out_of_time).unwrap_or(LlmError::Timeout(TimeoutKind::Total)));
                    }
                };
                let Some(permit) = route.breaker.try_acquire() else {
                    break LlmError::CircuitOpen { endpoint: route.name.clone() };
                };
                match route.provider.complete(attempt).await {
                    Ok(response) => {
                        permit.success();
                        return Ok(response);
                    }
                    Err(error) => {
                        report(permit, &error);
                        let Some(delay) = self.retry_delay(route, &error, retries, &clock) else { break error };
                        tracing::warn!(route = %route.name, %error, retry = retries + 1, delay_ms = delay.as_millis() as u64, "LLM call failed; retrying");
                        tokio::time::sleep(delay).await;
                        retries += 1;
                    }
                }
            };
            // Every way a route fails is logged, the fatal ones and the deadline included.
            tracing::warn!(route = %route.name, %error, "LLM route failed");
            if error.class() == ErrorClass::Fatal {
                return Err(error);
            }
            failure = keep(failure, error);
        }
        Err(failure.unwrap_or_else(|| LlmError::Config("no route".into())))
    }

    fn stream(&self, request: ChatRequest) -> ChatStream {
        let state = StreamState {
            this: self.clone(),
            clock: Clock::start(&request),
            request,
            route: 0,
            retries: 0,
            current: None,
            emitted: false,
            failure: None,
            done: false,
        };
        stream::unfold(state, |mut state| async move {
            let item = state.next().await?;
            Some((item, state))
        })
        .boxed()
    }
}

struct StreamState {
    this: Resilient,
    request: ChatRequest,
    clock: Clock,
    route: usize,
    retries: u32,
    current: Option<(ChatStream, Option<Permit>)>,
    /// Whether anything reached the caller (then no retry, no fallback).
    emitted: bool,
    failure: Option<LlmError>,
    done: bool,
}

impl StreamState {
    async fn next(&mut self) -> Option<Result<ChatEvent, LlmError>> {
        loop {
            if self.done {
                return None;
            }
            let Some((events, permit)) = &mut self.current else {
                let Some(route) = self.this.routes.get(self.route) else {
                    self.done = true;
                    return Some(Err(self.failure.take().unwrap_or_else(|| LlmError::Config("no route".into()))));
                };
                let attempt = match route.attempt(&self.request, &self.clock) {
                    Ok(attempt) => attempt,
                    Err(out_of_time) => {
                        tracing::warn!(route = %route.name, error = %out_of_time, "LLM route failed");
                        self.done = true;
                        return Some(Err(
                            keep(self.failure.take(), out_of_time).unwrap_or(LlmError::Timeout(TimeoutKind::Total))
                        ));
                    }
                };
                match route.breaker.try_acquire() {
                    Some(permit) => self.current = Some((route.provider.stream(attempt), Some(permit))),
                    None => {
                        let error = LlmError::CircuitOpen { endpoint: route.name.clone() };
                        tracing::warn!(route = %route.name, %error, "LLM route failed");
                        self.failure = keep(self.failure.take(), error);
                        self.route += 1;
                        self.retries = 0;
                    }
                }
                continue;
            };
            match events.next().await {
                Some(Ok(event)) => {
                    self.emitted = true;
                    if matches!(event, ChatEvent::Finish { .. })
                        && let Some(permit) = permit.take()
                    {
                        permit.success();
                    }
                    return Some(Ok(event));
                }
                Some(Err(error)) => {
                    if let Some(permit) = permit.take() {
                        report(permit, &error);
                    }
                    self.current = None;
                    if self.emitted || error.class() == ErrorClass::Fatal {
                        let route = &self.this.routes[self.route];
                        tracing::warn!(route = %route.name, %error, "LLM route failed");
                        self.done = true;
                        return Some(Err(error));
                    }
                    let route = &self.this.routes[self.route];
                    if let Some(delay) = self.this.retry_delay(route, &error, self.retries, &self.clock) {
                        tracing::warn!(route = %route.name, %error, retry = self.retries + 1, delay_ms = delay.as_millis() as u64, "LLM stream failed before any output; retrying");
                        tokio::time::sleep(delay).await;
                        self.retries += 1;
                    } else {
                        tracing::warn!(route = %route.name, %error, "LLM route failed");
                        self.failure = keep(self.failure.take(), error);
                        self.route += 1;
                        self.retries = 0;
                    }
                }
                None => {
                    self.done = true;
                    return None;
                }
            }
        }
    }
}

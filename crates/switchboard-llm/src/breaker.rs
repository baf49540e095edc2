//! A circuit breaker per provider endpoint.
//!
//! Closed: requests flow and outcomes are recorded in a sliding window. It
//! opens after `consecutive_failures` failures in a row, or when at least
//! `min_calls` calls in the `window` failed at `failure_rate` or more. Open:
//! requests are refused at once (the fallback provider serves) until
//! `cool_down` has passed. Half-open: one probe request goes through; its
//! success closes the breaker, its failure opens it for another cool-down.
//!
//! Breakers are shared by everything that calls the same endpoint, so they
//! live in a [`Breakers`] registry the server keeps for the process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    pub consecutive_failures: u32,
    pub failure_rate: f64,
    pub min_calls: u32,
    pub window: Duration,
    pub cool_down: Duration,
}

impl BreakerConfig {
    /// Opens after 5 failures in a row or half of at least 10 calls within
    /// 20 s failing; probes again after 30 s.
    pub fn standard() -> Self {
        BreakerConfig {
            consecutive_failures: 5,
            failure_rate: 0.5,
            min_calls: 10,
            window: Duration::from_secs(20),
            cool_down: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    /// (when, failed) of recent calls, oldest first.
    outcomes: VecDeque<(Instant, bool)>,
    opened_at: Option<Instant>,
    probe_in_flight: bool,
}

/// The breaker of one endpoint.
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
    clock: Box<dyn Fn() -> Instant + Send + Sync>,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker").field("config", &self.config).field("inner", &self.inner).finish()
    }
}

/// Permission to make one call. Report its outcome with
/// [`Permit::success`] or [`Permit::failure`]; dropping it unreported (the
/// caller went away) records nothing and frees the half-open probe.
#[derive(Debug)]
pub struct Permit {
    breaker: Arc<CircuitBreaker>,
    probe: bool,
    reported: bool,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Arc<Self> {
        Self::with_clock(config, Box::new(Instant::now))
    }

    /// A breaker reading time from `clock` (tests move time by hand).
    pub fn with_clock(config: BreakerConfig, clock: Box<dyn Fn() -> Instant + Send + Sync>) -> Arc<Self> {
        Arc::new(CircuitBreaker {
            clock,
            config,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                outcomes: VecDeque::new(),
                opened_at: None,
                probe_in_flight: false,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state stays consistent across a panic elsewhere: every update is a few assignments.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn state(&self) -> BreakerState {
        let mut inner = self.lock();
        self.advance(&mut inner, (self.clock)());
        inner.state
    }

    fn advance(&self, inner: &mut Inner, now: Instant) {
        if inner.state == BreakerState::Open
            && inner.opened_at.is_some_and(|at| now.duration_since(at) >= self.config.cool_down)
        {
            inner.state = BreakerState::HalfOpen;
            inner.probe_in_flight = false;
        }
    }

    /// A permit to call, or `None` while the breaker is open (or half-open
    /// with its probe already out).
    pub fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        let mut inner = self.lock();
        self.advance(&mut inner, (self.clock)());
        let probe = match inner.state {
            BreakerState::Closed => false,
            BreakerState::Open => return None,
            BreakerState::HalfOpen if inner.probe_in_flight => return None,
            BreakerState::HalfOpen => {
                inner.probe_in_flight = true;
                true
            }
        };
        Some(Permit { breaker: Arc::clone(self), probe, reported: false })
    }

    fn record(&self, probe: bool, failed: bool) {
        let now = (self.clock)();
        let mut inner = self.lock();
        if probe {
            inner.probe_in_flight = false;
        }
        if inner.state == BreakerState::HalfOpen {
            // Only the probe's verdict moves a half-open breaker; a call that
            // started before it opened reports into the void.
            if probe {
                if failed {
                    self.open(&mut inner, now);
                } else {
                    inner.state = BreakerState::Closed;
                    inner.consecutive_failures = 0;
                    inner.outcomes.clear();
                    inner.opened_at = None;
                }
            }
            return;
        }
        if inner.state == BreakerState::Open {
            return;
        }
        inner.outcomes.push_back((now, failed));
        while inner.outcomes.front().is_some_and(|(at, _)| now.duration_since(*at) > self.config.window) {
            inner.outcomes.pop_front();
        }
        inner.consecutive_failures = if failed { inner.consecutive_failures + 1 } else { 0 };
        let calls = inner.outcomes.len() as u32;
        let failures = inner.outcomes.iter().filter(|(_, failed)| *failed).count() as f64;
        let rate_tripped = calls >= self.config.min_calls && failures / f64::from(calls) >= self.config.failure_rate;
        if inner.consecutive_failures >= self.config.consecutive_failures || rate_tripped {
            self.open(&mut inner, now);
        }
    }

    fn open(&self, inner: &mut Inner, now: Instant) {
        tracing::warn!(cool_down_secs = self.config.cool_down.as_secs(), "circuit breaker opened");
        inner.state = BreakerState::Open;
        inner.opened_at = Some(now);
        inner.outcomes.clear();
        inner.consecutive_failures = 0;
    }
}

impl Permit {
    pub fn success(mut self) {
        self.reported = true;
        self.breaker.record(self.probe, false);
    }

    pub fn failure(mut self) {
        self.reported = true;
        self.breaker.record(self.probe, true);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.reported && self.probe {
            self.breaker.lock().probe_in_flight = false;
        }
    }
}

/// The process's breakers, one per endpoint key (the provider's URL; see
/// [`crate::OpenAiProvider::endpoint`]).
#[derive(Debug)]
pub struct Breakers {
    config: BreakerConfig,
    by_endpoint: Mutex<HashMap<String, Arc<CircuitBreaker>>>,
}

impl Breakers {
    pub fn new(config: BreakerConfig) -> Self {
        Breakers { config, by_endpoint: Mutex::new(HashMap::new()) }
    }

    /// The breaker of `endpoint`, created closed on first use.
    pub fn get(&self, endpoint: &str) -> Arc<CircuitBreaker> {
        let mut map = self.by_endpoint.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(map.entry(endpoint.to_owned()).or_insert_with(|| CircuitBreaker::new(self.config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A breaker with a clock the test moves, and the function that moves it.
    fn manual() -> (Arc<CircuitBreaker>, impl Fn(Duration)) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let read = Arc::clone(&now);
        let breaker = CircuitBreaker::with_clock(BreakerConfig::standard(), Box::new(move || *read.lock().unwrap()));
        (breaker, move |by| *now.lock().unwrap() += by)
    }

    fn fail(b: &Arc<CircuitBreaker>, n: usize) {
        for _ in 0..n {
            b.try_acquire().expect("closed").failure();
        }
    }

    #[test]
    fn opens_after_consecutive_failures_then_half_opens_after_cool_down() {
        let (b, advance) = manual();
        fail(&b, 4);
        b.try_acquire().unwrap().success();
        fail(&b, 4);
        assert_eq!(b.state(), BreakerState::Closed, "a success resets the run");
        fail(&b, 1);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.try_acquire().is_none());

        advance(Duration::from_secs(29));
        assert!(b.try_acquire().is_none());
        advance(Duration::from_secs(1));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let probe = b.try_acquire().expect("one probe");
        assert!(b.try_acquire().is_none(), "only one probe at a time");
        probe.failure();
        assert_eq!(b.state(), BreakerState::Open);

        advance(Duration::from_secs(30));
        // A probe whose caller went away frees the slot without a verdict.
        drop(b.try_acquire().expect("probe"));
        b.try_acquire().expect("probe again").success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn opens_on_failure_rate_within_the_window() {
        let (b, _) = manual();
        for _ in 0..4 {
            fail(&b, 1);
            b.try_acquire().unwrap().success();
        }
        b.try_acquire().unwrap().success();
        assert_eq!(b.state(), BreakerState::Closed, "9 calls are below min_calls");
        // 10 calls, 5 failed: 50%.
        fail(&b, 1);
        assert_eq!(b.state(), BreakerState::Open);

        // Old outcomes leave the window.
        let (b, advance) = manual();
        for _ in 0..4 {
            fail(&b, 1);
            b.try_acquire().unwrap().success();
        }
        advance(Duration::from_secs(21));
        b.try_acquire().unwrap().success();
        fail(&b, 1);
        assert_eq!(b.state(), BreakerState::Closed, "only 2 calls are left in the window");
    }

    #[test]
    fn registry_shares_one_breaker_per_endpoint() {
        let breakers = Breakers::new(BreakerConfig::standard());
        assert!(Arc::ptr_eq(
            &breakers.get("http://a/v1/chat/completions"),
            &breakers.get("http://a/v1/chat/completions")
        ));
        assert!(!Arc::ptr_eq(&breakers.get("http://a"), &breakers.get("http://b")));
    }
}

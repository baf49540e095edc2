//! When and how long to wait before trying a provider again.
//!
//! Full-jitter exponential backoff (a uniformly random wait between zero and
//! `base * 2^attempt`, capped), as OpenAI's and AWS's guidance recommends: it
//! spreads the retries of many clients instead of synchronising them. A
//! provider's `Retry-After` is a floor: we never come back sooner than asked,
//! and a wait that would not fit in the retry budget is not taken at all (the
//! fallback provider gets the request instead).

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Retry settings for one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The backoff ceiling of the first retry; it doubles with each retry.
    pub base_delay: Duration,
    /// The backoff ceiling never exceeds this.
    pub max_delay: Duration,
    /// No retry starts (waiting included) later than this after the first attempt.
    pub budget: Duration,
}

impl RetryPolicy {
    /// At most 3 retries within 20 seconds, backoff from 0.5 s up to 8 s.
    pub fn standard() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            budget: Duration::from_secs(20),
        }
    }

    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..RetryPolicy::standard() }
    }

    /// The wait before retry number `retry` (0-based): full jitter, but never
    /// less than the provider's `retry_after`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.base_delay.saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX)).min(self.max_delay);
        let jitter = Duration::from_millis(rand::rng().random_range(0..=ceiling.as_millis() as u64));
        match retry_after {
            Some(floor) => jitter.max(floor),
            None => jitter,
        }
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // Some providers send fractional seconds.
    if let Ok(seconds) = value.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        return Some(Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_and_as_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.5 ", now), Some(Duration::from_millis(500)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn backoff_is_jittered_under_a_doubling_ceiling_and_floored_by_retry_after() {
        let policy = RetryPolicy::standard();
        for retry in 0..6 {
            let ceiling = (policy.base_delay * 2u32.pow(retry)).min(policy.max_delay);
            for _ in 0..200 {
                assert!(policy.delay(retry, None) <= ceiling);
                assert!(policy.delay(retry, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
            }
        }
        // Jitter: 200 draws under a 4 s ceiling are not all equal.
        let draws: std::collections::HashSet<Duration> = (0..200).map(|_| policy.delay(3, None)).collect();
        assert!(draws.len() > 10);
        assert!(policy.delay(40, None) <= policy.max_delay);
    }
}

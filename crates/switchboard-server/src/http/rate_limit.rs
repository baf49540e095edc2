//! Rate limits with GCRA (the `governor` crate): per client address on every
//! `/v1` request, per credential once authenticated, and tighter ones on login.
//! A refusal is a 429 problem with `Retry-After`.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;
use crate::settings::RateLimitSettings;
use crate::state::AppState;

pub struct Limiters {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_key: Option<DefaultKeyedRateLimiter<String>>,
    login_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    login_email: Option<DefaultKeyedRateLimiter<String>>,
    per_visitor: Option<DefaultKeyedRateLimiter<String>>,
    visitor_messages: Option<DefaultKeyedRateLimiter<String>>,
    widget_sessions: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(count: u32, window: Duration) -> Option<DefaultKeyedRateLimiter<K>> {
    let burst = NonZeroU32::new(count)?;
    let quota = Quota::with_period(window / count)?.allow_burst(burst);
    Some(RateLimiter::keyed(quota))
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: &K,
) -> Result<(), ApiError> {
    let Some(limiter) = limiter else { return Ok(()) };
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::rate_limited(wait.as_secs_f64().ceil() as u64)
    })
}

impl Limiters {
    pub fn new(s: &RateLimitSettings) -> Self {
        Self {
            per_ip: limiter(s.per_ip_per_minute, Duration::from_secs(60)),
            per_key: limiter(s.per_key_per_minute, Duration::from_secs(60)),
            login_ip: limiter(s.login_per_ip_per_20s, Duration::from_secs(20)),
            login_email: limiter(s.login_per_email_per_5min, Duration::from_secs(300)),
            per_visitor: limiter(s.per_visitor_per_minute, Duration::from_secs(60)),
            visitor_messages: limiter(s.visitor_messages_per_minute, Duration::from_secs(60)),
            widget_sessions: limiter(s.widget_sessions_per_ip_per_minute, Duration::from_secs(60)),
        }
    }

    pub fn check_credential(&self, credential_id: &str) -> Result<(), ApiError> {
        check(&self.per_key, &credential_id.to_owned())
    }

    pub fn check_login(&self, ip: IpAddr, email: &str) -> Result<(), ApiError> {
        check(&self.login_ip, &ip)?;
        check(&self.login_email, &email.trim().to_lowercase())
    }

    /// Any widget request made with a visitor token (WebSocket frames included).
    pub fn check_visitor(&self, visitor_id: &str) -> Result<(), ApiError> {
        check(&self.per_visitor, &visitor_id.to_owned())
    }

    /// A visitor's message, whichever way it came.
    pub fn check_visitor_message(&self, visitor_id: &str) -> Result<(), ApiError> {
        check(&self.visitor_messages, &visitor_id.to_owned())
    }

    pub fn check_widget_session(&self, ip: IpAddr) -> Result<(), ApiError> {
        check(&self.widget_sessions, &ip)
    }

    /// Drops idle keys so memory stays bounded under many distinct clients.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_ip {
            l.retain_recent();
        }
        if let Some(l) = &self.per_key {
            l.retain_recent();
        }
        if let Some(l) = &self.login_ip {
            l.retain_recent();
        }
        if let Some(l) = &self.login_email {
            l.retain_recent();
        }
        for l in [&self.per_visitor, &self.visitor_messages].into_iter().flatten() {
            l.retain_recent();
        }
        if let Some(l) = &self.widget_sessions {
            l.retain_recent();
        }
    }
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop
/// when the settings say a trusted proxy sets it.
pub fn client_ip(request: &Request, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for {
        let forwarded = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

pub async fn per_ip(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let ip = client_ip(&request, state.settings.server.trust_forwarded_for);
    request.extensions_mut().insert(ClientIp(ip));
    if let Err(err) = check(&state.limiters.per_ip, &ip) {
        return err.into_response();
    }
    next.run(request).await
}

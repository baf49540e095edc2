//! Outbound HTTP to URLs that tenants (or a model acting for them) choose:
//! crawled web pages today, tenant-defined HTTP tools tomorrow.
//!
//! Such URLs are a server-side request forgery risk: `http://169.254.169.254/`
//! reads cloud credentials, `http://127.0.0.1:5432/` probes the database. The
//! [`Client`] here keeps every request on the public internet unless the
//! operator opens private networks:
//!
//! - only `http` and `https`;
//! - a host written as an IP address (in any spelling the URL standard accepts:
//!   `2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]`; the `url` crate normalises
//!   them all to the address) is checked before anything is sent;
//! - a host name is resolved by a filtering resolver, and the addresses it
//!   checks are the ones the connection uses (no rebinding window);
//! - redirects are followed here, not by reqwest, with every hop checked the
//!   same way, at most [`EgressConfig::max_redirects`] of them;
//! - the body is read in chunks and cut at a byte cap whatever
//!   `Content-Length` says; connect and total timeouts bound the time;
//! - no proxy from the environment (a proxy would resolve names for us).
//!
//! Errors are typed ([`EgressError`]) so the caller can tell a refusal by
//! policy from a network failure and say why.

mod address;
mod error;
mod resolve;

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use url::{Host, Url};

pub use address::{AddressClass, AddressPolicy, classify, embedded_ipv4};
pub use error::EgressError;
pub use ipnet::IpNet;

#[derive(Debug, Clone)]
pub struct EgressConfig {
    pub addresses: AddressPolicy,
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// For one request, redirects and the body included.
    pub timeout: Duration,
    pub max_redirects: usize,
    /// Largest body read when a request does not set its own cap.
    pub max_body_bytes: u64,
}

impl EgressConfig {
    /// Public internet only, 5 redirects, 10 s to connect, 30 s in all, 5 MiB bodies.
    pub fn new(user_agent: impl Into<String>) -> Self {
        Self {
            addresses: AddressPolicy::public_only(),
            user_agent: user_agent.into(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_redirects: 5,
            max_body_bytes: 5 * 1024 * 1024,
        }
    }
}

/// One outbound request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    /// Overrides [`EgressConfig::max_body_bytes`].
    pub max_body_bytes: Option<u64>,
}

impl Request {
    pub fn get(url: Url) -> Self {
        Self { method: Method::GET, url, headers: HeaderMap::new(), body: None, max_body_bytes: None }
    }

    pub fn max_body_bytes(mut self, limit: u64) -> Self {
        self.max_body_bytes = Some(limit);
        self
    }
}

/// The final response, after redirects, with its whole (capped) body.
#[derive(Debug, Clone)]
pub struct Response {
    /// Where the body came from: the last hop.
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The URLs redirected through, in order (the first is the one asked for).
    pub redirected_from: Vec<Url>,
}

impl Response {
    /// The media type without parameters, lower-cased: `text/html`.
    pub fn media_type(&self) -> Option<String> {
        let value = self.headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
        let essence = value.split(';').next()?.trim().to_ascii_lowercase();
        (!essence.is_empty()).then_some(essence)
    }
}

/// The SSRF-safe client. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<EgressConfig>,
}

impl Client {
    pub fn new(config: EgressConfig) -> Result<Self, EgressError> {
        let policy = Arc::new(config.addresses.clone());
        let http = reqwest::Client::builder()
            .dns_resolver(resolve::FilteringResolver { policy })
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .build()
            .map_err(|e| EgressError::Transport { host: String::new(), message: e.to_string() })?;
        Ok(Self { http, config: Arc::new(config) })
    }

    pub fn config(&self) -> &EgressConfig {
        &self.config
    }

    /// Checks what can be checked without the network: the scheme, and a host
    /// written as an IP address. Names are checked when they are resolved.
    pub fn check_url(&self, url: &Url) -> Result<(), EgressError> {
        check_url(&self.config.addresses, url)
    }

    /// `GET url` with the configured cap.
    pub async fn get(&self, url: &Url) -> Result<Response, EgressError> {
        self.send(Request::get(url.clone())).await
    }

    /// Sends the request, following redirects (each hop checked), and reads the
    /// body up to the cap. Any status is a response; only transport and policy
    /// failures are errors.
    pub async fn send(&self, request: Request) -> Result<Response, EgressError> {
        let secs = self.config.timeout.as_secs();
        match tokio::time::timeout(self.config.timeout, self.follow(request)).await {
            Ok(result) => result,
            Err(_) => Err(EgressError::Timeout { secs }),
        }
    }

    async fn follow(&self, mut request: Request) -> Result<Response, EgressError> {
        let limit = request.max_body_bytes.unwrap_or(self.config.max_body_bytes);
        let mut visited = Vec::new();
        loop {
            self.check_url(&request.url)?;
            let mut builder = self.http.request(request.method.clone(), request.url.clone());
            builder = builder.headers(request.headers.clone());
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            let response = builder.send().await.map_err(|e| self.map_error(&request.url, e))?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let next = redirect_target(&request.url, response.headers())?;
                if visited.len() >= self.config.max_redirects {
                    return Err(EgressError::TooManyRedirects { max: self.config.max_redirects });
                }
                visited.push(request.url.clone());
                request = redirected(request, status, next);
                continue;
            }
            let headers = response.headers().clone();
            let body = read_capped(response, limit).await.map_err(|e| match e {
                ReadError::TooLarge => EgressError::TooLarge { limit },
                ReadError::Http(e) => self.map_error(&request.url, e),
            })?;
            return Ok(Response { url: request.url, status, headers, body, redirected_from: visited });
        }
    }

    fn map_error(&self, url: &Url, e: reqwest::Error) -> EgressError {
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if let Some(blocked) = err.downcast_ref::<error::Blocked>() {
                return EgressError::Refused { host: blocked.host.clone(), ip: blocked.ip, class: blocked.class };
            }
            if let Some(unresolved) = err.downcast_ref::<error::Unresolved>() {
                return EgressError::NotResolved { host: unresolved.host.clone() };
            }
            source = err.source();
        }
        if e.is_timeout() {
            EgressError::Timeout { secs: self.config.timeout.as_secs() }
        } else if e.is_connect() {
            EgressError::Connect { host }
        } else {
            // The innermost cause says most ("connection reset", "invalid HTTP version").
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(err) = source {
                message = err.to_string();
                source = err.source();
            }
            EgressError::Transport { host, message }
        }
    }
}

/// A host-name resolver that refuses names resolving to an address `policy`
/// forbids, for HTTP clients built elsewhere (an LLM provider's): the
/// addresses it checks are the ones the client connects to.
pub fn filtering_resolver(policy: AddressPolicy) -> Arc<dyn reqwest::dns::Resolve> {
    Arc::new(resolve::FilteringResolver { policy: Arc::new(policy) })
}

/// See [`Client::check_url`].
pub fn check_url(policy: &AddressPolicy, url: &Url) -> Result<(), EgressError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(EgressError::Scheme(url.scheme().to_owned()));
    }
    let ip = match url.host() {
        None => return Err(EgressError::InvalidUrl("the URL has no host".into())),
        Some(Host::Domain(_)) => return Ok(()),
        Some(Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
    };
    policy.check(ip).map_err(|class| EgressError::Refused {
        host: url.host_str().unwrap_or_default().into(),
        ip,
        class,
    })
}

fn redirect_target(from: &Url, headers: &HeaderMap) -> Result<Url, EgressError> {
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| EgressError::BadRedirect(format!("from {from}")))?;
    from.join(location).map_err(|e| EgressError::BadRedirect(format!("`{location}`: {e}")))
}

/// The next hop's request, as browsers do it: 301/302/303 turn a non-GET into a
/// body-less GET, 307/308 repeat it; credentials stay with their origin.
fn redirected(mut request: Request, status: StatusCode, next: Url) -> Request {
    let rewrite = matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER)
        && request.method != Method::HEAD;
    if rewrite && request.method != Method::GET {
        request.method = Method::GET;
        request.body = None;
        request.headers.remove(header::CONTENT_TYPE);
        request.headers.remove(header::CONTENT_LENGTH);
    }
    if next.origin() != request.url.origin() {
        for name in [header::AUTHORIZATION, header::COOKIE, header::PROXY_AUTHORIZATION] {
            request.headers.remove(name);
        }
    }
    request.url = next;
    request
}

enum ReadError {
    TooLarge,
    Http(reqwest::Error),
}

/// Reads the body in chunks and stops at `limit`: `Content-Length` may refuse
/// early but is never trusted to allow.
async fn read_capped(mut response: reqwest::Response, limit: u64) -> Result<Bytes, ReadError> {
    if response.content_length().is_some_and(|declared| declared > limit) {
        return Err(ReadError::TooLarge);
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Http)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

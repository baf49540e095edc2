use std::net::IpAddr;

use thiserror::Error;

use crate::AddressClass;

/// Why an outbound request did not produce a response. The messages name the
/// URL's host and the rule, never anything internal, so they can be shown to
/// the tenant who asked for the URL.
#[derive(Debug, Error)]
pub enum EgressError {
    #[error("not a valid URL: {0}")]
    InvalidUrl(String),
    #[error("`{0}` URLs are not fetched; only http and https")]
    Scheme(String),
    #[error("{host} is refused: {ip} is a {class} address")]
    Refused { host: String, ip: IpAddr, class: AddressClass },
    #[error("{host} does not resolve to any address")]
    NotResolved { host: String },
    #[error("more than {max} redirects")]
    TooManyRedirects { max: usize },
    #[error("a redirect without a usable Location: {0}")]
    BadRedirect(String),
    #[error("the response is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("no complete response within {secs} seconds")]
    Timeout { secs: u64 },
    #[error("could not connect to {host}")]
    Connect { host: String },
    #[error("the request to {host} failed: {message}")]
    Transport { host: String, message: String },
}

impl EgressError {
    /// A refusal by policy (scheme or address) rather than a failure of the
    /// network: retrying will not help, and nothing was sent.
    pub fn is_refusal(&self) -> bool {
        matches!(self, EgressError::Scheme(_) | EgressError::Refused { .. } | EgressError::InvalidUrl(_))
    }

    /// Worth trying again later: the network or the other side may recover.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            EgressError::NotResolved { .. }
                | EgressError::Timeout { .. }
                | EgressError::Connect { .. }
                | EgressError::Transport { .. }
        )
    }
}

/// What the filtering resolver returns for a refused name; it travels inside
/// reqwest's error and is recovered by [`crate::Client`].
#[derive(Debug, Error)]
#[error("{host} resolves to {ip}, a {class} address")]
pub(crate) struct Blocked {
    pub host: String,
    pub ip: IpAddr,
    pub class: AddressClass,
}

#[derive(Debug, Error)]
#[error("{host} does not resolve to any address")]
pub(crate) struct Unresolved {
    pub host: String,
}

//! DNS resolution that refuses names pointing where requests may not go.
//!
//! The addresses checked here are the very ones the connector then dials, so
//! a name that resolves to a public address when checked and to 127.0.0.1 a
//! moment later (DNS rebinding) cannot slip through: there is no second look-up.
//! A name with any refused address is refused whole rather than filtered,
//! which keeps the outcome independent of address order.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::AddressPolicy;
use crate::error::{Blocked, Unresolved};

pub(crate) struct FilteringResolver {
    pub policy: Arc<AddressPolicy>,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let looked_up = tokio::net::lookup_host((host.as_str(), 0)).await.map(|addrs| addrs.collect::<Vec<_>>());
            let found: Vec<SocketAddr> = match looked_up {
                Ok(found) => found,
                Err(_) => return Err(Box::new(Unresolved { host }) as _),
            };
            if found.is_empty() {
                return Err(Box::new(Unresolved { host }) as _);
            }
            if let Some((ip, class)) = found.iter().find_map(|a| policy.check(a.ip()).err().map(|c| (a.ip(), c))) {
                return Err(Box::new(Blocked { host, ip, class }) as _);
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

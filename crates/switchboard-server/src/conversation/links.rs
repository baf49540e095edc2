//! Links in replies go only where the business sends its customers (RELIABILITY L1, L6).
//!
//! A poisoned help article can carry a link to an attacker's site: the extractive answerer would
//! quote it, and a model would repeat it word for word (which the language-model path's "only
//! what the material wrote" check lets through). So every draft, whichever answerer wrote it,
//! has its links, images and bare URLs judged by host, and those to other hosts are reduced to
//! their text (`switchboard_guard::markdown::restrict_links` with
//! `switchboard_guard::links::LinkHosts`). The hosts are the agent's `guardrails.link_hosts`
//! when it lists any; otherwise the hosts of the web sites its collections were crawled from
//! and of the origins its widget deployments allow. `mailto:` links are not judged by host
//! (sending an email still takes the customer writing one); the sanitiser keeps them as before.

use std::cell::Cell;

use switchboard_guard::links::{HostPattern, LinkHosts, is_web_link};
use switchboard_guard::markdown::restrict_links;
use switchboard_store::{Store, Tenant};

use super::agent::AgentConfig;

/// `text` with its links to hosts outside the agent's link hosts reduced to text, and how many
/// were.
pub(super) async fn keep_to_link_hosts(
    store: &dyn Store,
    t: &Tenant,
    config: &AgentConfig,
    agent_id: &str,
    text: &str,
) -> anyhow::Result<(String, usize)> {
    // Most replies link nowhere: they need no look-up.
    if !links_anywhere(text) {
        return Ok((text.to_owned(), 0));
    }
    let hosts = link_hosts(store, t, config, agent_id).await?;
    Ok(keep_to(&hosts, text))
}

/// Whether `text` has a web link, image or bare URL for the link hosts to judge.
pub(super) fn links_anywhere(text: &str) -> bool {
    restrict_links(text, |url| !is_web_link(url)) != text
}

/// `text` with its links to hosts outside `hosts` reduced to text, and how many were.
pub(super) fn keep_to(hosts: &LinkHosts, text: &str) -> (String, usize) {
    let removed = Cell::new(0);
    let kept = restrict_links(text, |url| {
        let allowed = hosts.allows(url);
        removed.set(removed.get() + usize::from(!allowed));
        allowed
    });
    (kept, removed.get())
}

/// The hosts the agent's replies may link to.
pub(super) async fn link_hosts(
    store: &dyn Store,
    t: &Tenant,
    config: &AgentConfig,
    agent_id: &str,
) -> anyhow::Result<LinkHosts> {
    if !config.guardrails.link_hosts.is_empty() {
        // Validated when the version was written.
        return Ok(LinkHosts::new(config.guardrails.link_hosts.iter().filter_map(|h| HostPattern::parse(h).ok())));
    }
    let mut hosts = LinkHosts::default();
    for url in store.crawl_start_urls(t, &config.collection_ids).await? {
        hosts.add_host_of(&url);
    }
    for origin in store.agent_origins(t, agent_id).await? {
        hosts.add_host_of(&origin);
    }
    Ok(hosts)
}

//! Live conversation events for the streams that show a conversation as it
//! happens: the visitor's SSE stream and WebSocket, the operator's SSE stream.
//!
//! The store announces every stored message and change of owner (on
//! PostgreSQL through `LISTEN/NOTIFY`, so from every node); [`start`] routes
//! those announcements to a [`Hub`] topic per conversation, which also carries
//! what is never stored (someone is typing). A [`feed`] is one reader's view:
//! it subscribes first, then sends the current status, replays the messages
//! after the reader's last one, and follows the topic, reading each message
//! back through the tenant-scoped store. When it falls behind it catches up
//! from the database instead of dropping messages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_store::{ChangeKind, Message, Ownership, PageRequest, Store, Tenant};
use tokio::sync::{broadcast, mpsc};

use crate::error::ApiResult;
use crate::state::AppState;

/// What a topic carries.
#[derive(Debug, Clone)]
pub enum Signal {
    /// Stored: read it back.
    Change(ChangeKind),
    /// Not stored: someone is writing a reply (`assistant`, `human`).
    Typing { who: String },
}

/// What a feed hands its reader, in order.
#[derive(Debug, Clone)]
pub enum FeedItem {
    Message(Box<Message>),
    Status { status: Ownership, assignee_id: Option<String> },
    Typing { who: String },
}

/// Topics by conversation id. Ids are UUIDs, unique across tenants; a feed is
/// opened only after the tenant-scoped store has found the conversation.
#[derive(Default)]
pub struct Hub {
    topics: Mutex<HashMap<String, broadcast::Sender<Signal>>>,
}

/// Signals a reader may fall behind by before it catches up from the database.
const TOPIC_CAPACITY: usize = 256;

impl Hub {
    pub fn subscribe(&self, conversation_id: &str) -> broadcast::Receiver<Signal> {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics.entry(conversation_id.to_owned()).or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0).subscribe()
    }

    pub fn publish(&self, conversation_id: &str, signal: Signal) {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = topics.get(conversation_id)
            && tx.send(signal).is_err()
        {
            // Nobody listens any more.
            topics.remove(conversation_id);
        }
    }

    pub fn typing(&self, conversation_id: &str, who: &str) {
        self.publish(conversation_id, Signal::Typing { who: who.to_owned() });
    }

    /// Forgets topics whose readers have all gone (maintenance).
    pub fn prune(&self) {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics.retain(|_, tx| tx.receiver_count() > 0);
    }

    pub fn topic_count(&self) -> usize {
        self.topics.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Subscribes to the store's changes (waiting until that works, so nothing
/// committed after this returns is missed) and routes them to the hub.
pub async fn start(store: Arc<dyn Store>, hub: Arc<Hub>) -> anyhow::Result<()> {
    let mut changes = store.subscribe_changes().await?;
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(change) => hub.publish(&change.conversation_id, Signal::Change(change.kind)),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    // Readers resynchronise from the database on their next signal or heartbeat.
                    tracing::warn!(missed = n, "live event router fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Ok(())
}

/// Resolves when shutdown starts (never, if nobody can start it any more).
pub async fn stopping(rx: &mut tokio::sync::watch::Receiver<bool>) {
    if rx.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// How often a feed checks the conversation again even when nothing was
/// announced (covers notifications lost while a connection was re-established).
const RESYNC_EVERY: Duration = Duration::from_secs(30);

/// Opens a feed on a conversation the caller may read (checked here: another
/// tenant's conversation is a 404 before anything streams). `after` is the
/// last message id the reader has; the messages after it are replayed first.
/// Without it the feed starts with what comes next.
pub async fn feed(
    state: &AppState,
    tenant: &Tenant,
    conversation_id: &str,
    after: Option<String>,
) -> ApiResult<mpsc::Receiver<FeedItem>> {
    let mut signals = state.hub.subscribe(conversation_id);
    let conversation = state.store.get_conversation(tenant, conversation_id).await?;
    // Without a last message, the reader has the history and wants what comes next.
    let after = match after {
        Some(after) => Some(after),
        None => state.store.recent_messages(tenant, conversation_id, 1).await?.pop().map(|m| m.id),
    };
    let (tx, rx) = mpsc::channel(64);
    let (state, tenant, id) = (state.clone(), tenant.clone(), conversation_id.to_owned());
    tokio::spawn(async move {
        let mut feed = Feed { state, tenant, id, tx, last_message: after, status: None };
        if feed.status(conversation.status, conversation.assignee_id).await.is_err() || feed.catch_up().await.is_err() {
            return;
        }
        let mut stop = feed.state.shutdown.subscribe();
        let mut resync = tokio::time::interval(RESYNC_EVERY);
        resync.tick().await;
        loop {
            let step = tokio::select! {
                signal = signals.recv() => match signal {
                    Ok(Signal::Change(ChangeKind::Message { .. })) => feed.catch_up().await,
                    Ok(Signal::Change(ChangeKind::Status { status, assignee_id })) => feed.status(status, assignee_id).await,
                    Ok(Signal::Typing { who }) => feed.send(FeedItem::Typing { who }).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => feed.resync().await,
                    Err(broadcast::error::RecvError::Closed) => Err(()),
                },
                _ = resync.tick() => feed.resync().await,
                () = feed.tx.closed() => Err(()),
                () = stopping(&mut stop) => Err(()),
            };
            if step.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

struct Feed {
    state: AppState,
    tenant: Tenant,
    id: String,
    tx: mpsc::Sender<FeedItem>,
    last_message: Option<String>,
    status: Option<(Ownership, Option<String>)>,
}

/// `Err` ends the feed: the reader went away or the conversation did.
type Step = Result<(), ()>;

impl Feed {
    async fn send(&self, item: FeedItem) -> Step {
        self.tx.send(item).await.map_err(|_| ())
    }

    async fn status(&mut self, status: Ownership, assignee_id: Option<String>) -> Step {
        let now = Some((status, assignee_id.clone()));
        if self.status == now {
            return Ok(());
        }
        self.status = now;
        self.send(FeedItem::Status { status, assignee_id }).await
    }

    /// Sends every message after the last one sent, oldest first. Ids are
    /// time-ordered, so "after" is exact and a message is never sent twice.
    async fn catch_up(&mut self) -> Step {
        loop {
            let page = PageRequest::new(self.last_message.clone(), Some(PageRequest::MAX_LIMIT));
            let found = match self.state.store.list_messages(&self.tenant, &self.id, &page).await {
                Ok(found) => found,
                Err(switchboard_store::StoreError::NotFound) => return Err(()),
                Err(e) => {
                    tracing::warn!(error = %e, "live feed could not read messages");
                    return Ok(());
                }
            };
            let more = found.next_cursor.is_some();
            for m in found.items {
                self.last_message = Some(m.id.clone());
                self.send(FeedItem::Message(Box::new(m))).await?;
            }
            if !more {
                return Ok(());
            }
        }
    }

    async fn resync(&mut self) -> Step {
        match self.state.store.get_conversation(&self.tenant, &self.id).await {
            Ok(c) => self.status(c.status, c.assignee_id).await?,
            Err(switchboard_store::StoreError::NotFound) => return Err(()),
            Err(e) => tracing::warn!(error = %e, "live feed could not read the conversation"),
        }
        self.catch_up().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_without_readers_are_forgotten() {
        let hub = Hub::default();
        let rx = hub.subscribe("c1");
        hub.typing("c1", "assistant");
        assert_eq!(hub.topic_count(), 1);
        drop(rx);
        hub.prune();
        assert_eq!(hub.topic_count(), 0);
        let rx = hub.subscribe("c2");
        drop(rx);
        hub.typing("c2", "human");
        assert_eq!(hub.topic_count(), 0, "a publish with nobody listening drops the topic");
    }
}

//! Live changes to conversations: a message was added, the owner changed.
//!
//! The store announces a change where it writes it, so that every writer
//! (the message path, a person's reply, a visitor's upload) feeds the live
//! streams without having to remember to. On SQLite the change is broadcast
//! in-process once its transaction has committed. On PostgreSQL it is sent
//! with `pg_notify` inside the transaction (delivered only if it commits, in
//! commit order) and every node, this one included, rebroadcasts what its
//! `LISTEN` connection receives: a visitor connected to node A sees the reply
//! a person sent through node B.
//!
//! A change names what changed; readers fetch the object through the
//! tenant-scoped store calls, so nothing travels that a reader could not read.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::conversations::Ownership;

/// The PostgreSQL channel changes travel on.
pub(crate) const CHANNEL: &str = "switchboard_conversation_changes";

/// Changes a slow reader may fall behind by before it is told it lagged.
const CAPACITY: usize = 4096;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationChange {
    pub org_id: String,
    pub conversation_id: String,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeKind {
    /// A message was stored.
    Message { message_id: String },
    /// The conversation's owner changed.
    Status { status: Ownership, assignee_id: Option<String> },
}

/// The in-process side: one broadcast channel per store.
#[derive(Debug)]
pub(crate) struct Changes {
    tx: broadcast::Sender<ConversationChange>,
}

impl Default for Changes {
    fn default() -> Self {
        Self { tx: broadcast::channel(CAPACITY).0 }
    }
}

impl Changes {
    pub fn publish(&self, change: ConversationChange) {
        // No receiver is not an error: nobody is watching.
        let _ = self.tx.send(change);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ConversationChange> {
        self.tx.subscribe()
    }

    pub fn sender(&self) -> broadcast::Sender<ConversationChange> {
        self.tx.clone()
    }
}

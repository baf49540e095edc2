use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// No such object in this tenant (also what another tenant's object looks like).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule or a state rule was broken; the text is safe to show.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl StoreError {
    /// Maps a unique-constraint violation to a [`StoreError::Conflict`] with `what`.
    pub(crate) fn unique(err: sqlx::Error, what: &str) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_owned()),
            _ => StoreError::Database(err),
        }
    }
}

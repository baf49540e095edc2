//! The story suite: the real server over HTTP, on SQLite by default or on
//! PostgreSQL when `SWITCHBOARD_TEST_DATABASE_URL` is set (CI runs both).

mod audit;
mod auth;
mod cli;
mod cli_ask;
mod cli_knowledge;
mod collections;
mod conversations;
mod crawl;
mod embeddings;
mod errors;
mod files;
mod filters;
mod formats;
mod health;
mod helpers;
mod idempotency;
mod injection_kb;
mod isolation;
mod knowledge;
mod links;
mod llm;
mod pagination;
mod rate_limit;
mod roles;
mod secrets;
mod stats;
mod streaming;
mod tools;
mod widget;

//! Switchboard's server: settings, the HTTP API (axum), authentication and
//! tenancy, and the background work `switchboard serve` runs.
//!
//! Start at [`app::Application`]: `build` binds the listeners and wires the
//! routes in [`routes`] behind the layers in [`http`]; `run_until` serves
//! until shutdown.

pub mod app;
pub mod auth;
pub mod conversation;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod knowledge;
pub mod live;
pub mod routes;
pub mod secrets;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod widget;

pub use app::Application;
pub use settings::Settings;

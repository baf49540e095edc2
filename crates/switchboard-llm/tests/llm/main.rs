//! The provider layer against the scriptable mock, over real HTTP on 127.0.0.1.

mod helpers;
mod resilience;
mod secrets;
mod streaming;
mod timeouts;
mod tools;

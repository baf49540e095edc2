//! The knowledge path: uploads become document versions with a queued job;
//! workers run `detect -> extract -> chunk -> embed -> publish`; search fuses
//! full-text and vector results.

pub mod embedding;
pub mod ingest;
pub mod search;
pub mod worker;

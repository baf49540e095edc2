//! The knowledge path: uploads become document versions with a queued job;
//! workers run `detect -> extract -> chunk` (in a confined child process,
//! `extractor`) `-> embed -> publish`; search fuses full-text and vector results.

pub mod embedding;
pub mod extractor;
pub mod ingest;
pub mod search;
pub mod worker;

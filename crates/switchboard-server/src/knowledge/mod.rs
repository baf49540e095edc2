//! The knowledge path: uploads become document versions with a queued job;
//! workers run `detect -> extract -> chunk` (in a confined child process,
//! `extractor`) `-> embed -> publish`; search fuses full-text and vector results
//! (filtered by document metadata on request, re-ranked for diversity by `mmr`). Web pages
//! arrive through crawls, whose pages take the same path.

pub mod crawl;
pub mod embedding;
pub mod extractor;
pub mod ingest;
pub mod mmr;
pub mod reembed;
pub mod search;
pub mod uploads;
pub mod worker;

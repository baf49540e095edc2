//! Background workers. `try_execute_job` is one step (claim, run, record),
//! which tests call directly; `run_workers` loops it inside `serve`.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use rand::Rng;
use switchboard_store::{Job, Tenant, now_millis};
use tracing::Instrument;

use super::extractor::Parser;
use super::ingest::{IngestError, Ingested, ingest_version};
use crate::state::AppState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was due.
    Idle,
    Succeeded {
        job_id: String,
        /// For an ingestion job: chunks written and where the time went.
        ingested: Option<Ingested>,
    },
    /// Failed this time; queued again for later.
    Retrying { job_id: String },
    /// Failed for good.
    Failed { job_id: String },
}

/// Full-jitter exponential backoff: up to 2^attempts seconds, at most 10 minutes.
fn backoff_ms(attempts: i32) -> i64 {
    let cap = (1_000i64 << attempts.clamp(0, 20)).min(600_000);
    rand::rng().random_range(cap / 2..=cap)
}

pub async fn try_execute_job(state: &AppState, worker: &str) -> anyhow::Result<Outcome> {
    let lease_ms = (state.settings.knowledge.job_lease_secs * 1000) as i64;
    let Some(job) = state.store.claim_job(worker, now_millis(), lease_ms).await? else {
        return Ok(Outcome::Idle);
    };
    execute_job(state, job).await
}

/// One step for one job of `t`: claims `job_id` if it is due and runs it
/// (`Idle` when it is not: done, held by another worker, or waiting to be
/// retried). `switchboard ingest` and `eval` run their own jobs this way, so a
/// server running on the same database never sees its jobs run twice.
pub async fn try_execute_job_by_id(
    state: &AppState,
    t: &Tenant,
    job_id: &str,
    worker: &str,
) -> anyhow::Result<Outcome> {
    let lease_ms = (state.settings.knowledge.job_lease_secs * 1000) as i64;
    let Some(job) = state.store.claim_job_by_id(t, job_id, worker, now_millis(), lease_ms).await? else {
        return Ok(Outcome::Idle);
    };
    execute_job(state, job).await
}

/// Runs a job this worker has claimed and records the result.
pub async fn execute_job(state: &AppState, job: Job) -> anyhow::Result<Outcome> {
    // The span goes with the future (`instrument`), never entered across an
    // await: a task resumed on another thread would exit it there, and the
    // subscriber's per-thread span stacks end in a panic that kills the worker.
    let span =
        tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts, org_id = %job.org_id);
    run_job(state, job).instrument(span).await
}

async fn run_job(state: &AppState, job: Job) -> anyhow::Result<Outcome> {
    let result = match job.kind.as_str() {
        "ingest" => run_ingest(state, &job).await.map(Some),
        "crawl" => super::crawl::job::run_crawl(state, &job).await.map(|()| None),
        "embed" => super::reembed::run_embed(state, &job).await.map(|_| None),
        other => Err(IngestError::Permanent(format!("unknown job kind `{other}`"))),
    };
    let id = job.id.clone();
    match result {
        Ok(ingested) => {
            state.store.complete_job(&job).await?;
            Ok(Outcome::Succeeded { job_id: id, ingested })
        }
        Err(IngestError::Permanent(message)) => {
            tracing::info!(error = %message, "job failed for good");
            record_failure(state, &job, &message).await;
            state.store.fail_job(&job, &message, None).await?;
            Ok(Outcome::Failed { job_id: id })
        }
        Err(IngestError::Transient(e)) => {
            let message = format!("{e:#}");
            tracing::warn!(error = %message, "job failed; will retry");
            let last = job.attempts >= job.max_attempts;
            if last {
                record_failure(state, &job, &message).await;
            }
            state.store.fail_job(&job, &message, Some(now_millis() + backoff_ms(job.attempts))).await?;
            Ok(if last { Outcome::Failed { job_id: id } } else { Outcome::Retrying { job_id: id } })
        }
    }
}

fn version_id(job: &Job) -> Option<&str> {
    job.payload.get("version_id").and_then(|v| v.as_str())
}

async fn run_ingest(state: &AppState, job: &Job) -> Result<Ingested, IngestError> {
    let version_id = version_id(job).ok_or_else(|| IngestError::Permanent("job without a version_id".into()))?;
    let parser = Parser::from_settings(&state.settings.knowledge);
    let done = ingest_version(state, &job.tenant(), version_id, &parser).await?;
    tracing::info!(chunks = done.chunks, embedded = done.embedded, "document version published");
    state.jobs_changed.notify_waiters();
    Ok(done)
}

/// A job that failed for good leaves its mark where users look: the document,
/// or the crawl source.
async fn record_failure(state: &AppState, job: &Job, message: &str) {
    if job.kind == "crawl" {
        return super::crawl::job::record_failure(state, job, message).await;
    }
    if job.kind == "embed" {
        // The collection shows the chunks still without vectors (`vectors_pending`).
        return tracing::error!(error = message, "re-embedding a collection failed for good");
    }
    if let Some(version_id) = version_id(job)
        && let Err(e) = state.store.fail_version(&job.tenant(), version_id, message).await
    {
        tracing::error!(error = %e, "could not mark the document failed");
    }
}

/// Runs `count` workers until `stop` fires. Idle workers wake on new work or every few seconds.
pub fn spawn_workers(state: AppState, count: u32, stop: tokio::sync::watch::Receiver<bool>) {
    for n in 0..count {
        let state = state.clone();
        let mut stop = stop.clone();
        let name = format!("{}-{n}", uuid::Uuid::now_v7());
        tokio::spawn(async move {
            loop {
                if *stop.borrow() {
                    break;
                }
                // A job that panics costs that job an attempt (its lease runs out), not the worker.
                let step = AssertUnwindSafe(try_execute_job(&state, &name)).catch_unwind().await;
                let step = step.unwrap_or_else(|_| Err(anyhow::anyhow!("the job panicked")));
                match step {
                    Ok(Outcome::Idle) => {
                        tokio::select! {
                            () = state.jobs_queued.notified() => {}
                            () = tokio::time::sleep(Duration::from_secs(2)) => {}
                            _ = stop.changed() => {}
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = format!("{e:#}"), "worker step failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
}

//! The durable job queue, on SQLite or (with `SWITCHBOARD_TEST_DATABASE_URL`)
//! PostgreSQL: leases, fencing, retries, abandonment, concurrent claims.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;
use switchboard_store::*;

mod common;

async fn store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_url(&dir).await;
    (open(&url, 8, SqliteDurability::Full).await.unwrap(), dir)
}

async fn tenant(store: &dyn Store) -> Tenant {
    common::tenant(store, "Jobs").await
}

fn job(kind: &str, max_attempts: i32, run_after: Millis) -> NewJob {
    NewJob { kind: kind.into(), payload: json!({"n": 1}), max_attempts, run_after }
}

const T0: Millis = 1_000_000;

#[tokio::test]
async fn a_claimed_job_is_leased_once_and_completed() {
    let (s, _d) = store().await;
    let t = tenant(s.as_ref()).await;
    let queued = s.enqueue_job(&t, &job("ingest", 3, T0)).await.unwrap();
    assert_eq!(queued.status, JobStatus::Queued);
    assert!(s.claim_job("w1", T0 - 1, 1000).await.unwrap().is_none(), "not due yet");
    let claimed = s.claim_job("w1", T0, 1000).await.unwrap().unwrap();
    assert_eq!((claimed.id.as_str(), claimed.status, claimed.attempts), (queued.id.as_str(), JobStatus::Running, 1));
    assert_eq!(claimed.payload, json!({"n": 1}));
    assert_eq!(claimed.tenant(), t);
    assert!(s.claim_job("w2", T0 + 10, 1000).await.unwrap().is_none(), "leased jobs are not handed out twice");
    assert!(s.complete_job(&claimed).await.unwrap());
    assert_eq!(s.get_job(&t, &claimed.id).await.unwrap().status, JobStatus::Succeeded);
    assert!(s.claim_job("w2", T0 + 10_000, 1000).await.unwrap().is_none());
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_the_old_holder_is_fenced_off() {
    let (s, _d) = store().await;
    let t = tenant(s.as_ref()).await;
    s.enqueue_job(&t, &job("ingest", 3, T0)).await.unwrap();
    let first = s.claim_job("dead-worker", T0, 1000).await.unwrap().unwrap();
    // The worker dies; after its lease, another worker takes the job over.
    let second = s.claim_job("w2", T0 + 1001, 1000).await.unwrap().unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.attempts, 2);
    assert!(!s.complete_job(&first).await.unwrap(), "a lost lease cannot complete");
    assert!(!s.fail_job(&first, "late", None).await.unwrap());
    assert!(!s.renew_job_lease(&first, T0 + 9999).await.unwrap());
    assert!(s.renew_job_lease(&second, T0 + 5000).await.unwrap());
    assert!(s.claim_job("w3", T0 + 2500, 1000).await.unwrap().is_none(), "the renewed lease holds");
    assert!(s.complete_job(&second).await.unwrap());
}

#[tokio::test]
async fn failures_retry_at_the_given_time_then_fail_for_good() {
    let (s, _d) = store().await;
    let t = tenant(s.as_ref()).await;
    s.enqueue_job(&t, &job("ingest", 2, T0)).await.unwrap();
    let a = s.claim_job("w", T0, 1000).await.unwrap().unwrap();
    assert!(s.fail_job(&a, "parser timeout", Some(T0 + 5000)).await.unwrap());
    let queued = s.get_job(&t, &a.id).await.unwrap();
    assert_eq!((queued.status, queued.last_error.as_deref()), (JobStatus::Queued, Some("parser timeout")));
    assert!(s.claim_job("w", T0 + 4999, 1000).await.unwrap().is_none(), "backoff respected");
    let b = s.claim_job("w", T0 + 5000, 1000).await.unwrap().unwrap();
    assert_eq!(b.attempts, 2);
    // Out of attempts: even a retry request ends in `failed`, with the error kept.
    assert!(s.fail_job(&b, "parser timeout again", Some(T0 + 9000)).await.unwrap());
    let failed = s.get_job(&t, &a.id).await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("parser timeout again"));
    assert!(s.claim_job("w", T0 + 100_000, 1000).await.unwrap().is_none());
}

#[tokio::test]
async fn a_job_that_kills_its_worker_every_time_ends_failed() {
    let (s, _d) = store().await;
    let t = tenant(s.as_ref()).await;
    let j = s.enqueue_job(&t, &job("poison", 2, T0)).await.unwrap();
    assert!(s.claim_job("w1", T0, 100).await.unwrap().is_some());
    assert!(s.claim_job("w2", T0 + 200, 100).await.unwrap().is_some());
    assert!(s.claim_job("w3", T0 + 400, 100).await.unwrap().is_none(), "no third try");
    let failed = s.get_job(&t, &j.id).await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.last_error.unwrap().contains("abandoned"), "the reason is recorded");
}

#[tokio::test]
async fn concurrent_workers_claim_each_job_exactly_once() {
    let (s, _d) = store().await;
    let t = tenant(s.as_ref()).await;
    for _ in 0..30 {
        s.enqueue_job(&t, &job("ingest", 3, T0)).await.unwrap();
    }
    let workers = (0..4).map(|w| {
        let s = s.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(j) = s.claim_job(&format!("w{w}"), T0, 60_000).await.unwrap() {
                assert!(s.complete_job(&j).await.unwrap());
                mine.push(j.id);
            }
            mine
        })
    });
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    assert_eq!(all.len(), 30);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 30, "no job ran twice");
}

#[tokio::test]
async fn jobs_are_read_only_within_their_tenant() {
    let (s, _d) = store().await;
    let a = tenant(s.as_ref()).await;
    let b = tenant(s.as_ref()).await;
    let j = s.enqueue_job(&a, &job("ingest", 1, T0)).await.unwrap();
    assert!(matches!(s.get_job(&b, &j.id).await, Err(StoreError::NotFound)));
    assert_eq!(s.get_job(&a, &j.id).await.unwrap().id, j.id);
}

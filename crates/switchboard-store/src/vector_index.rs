//! The SQLite backend's vector index: each collection's live vectors held in
//! memory as one contiguous matrix, rebuilt from the stored vectors when they
//! change, scanned exactly (a dot product per chunk on unit vectors).
//!
//! Without it every dense search read every live chunk's row (text and
//! vector) out of SQLite; with it a search reads one stamp per collection and
//! the rows of the top hits only. Freshness comes from the database, not from
//! this process: triggers (migration 7) bump a collection's stamp whenever its
//! live chunk set may have changed, so a write by another process on the same
//! file (the CLI ingesting while a server runs) is seen by the next search.
//!
//! Tenant scope: an entry is built by a query filtered on the organization and
//! is only used for that organization; the rows of the hits are read back with
//! the same filter.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use sqlx::{Row, SqlitePool};

use crate::Result;
use crate::model::embedding_from_bytes;

/// One collection's live vectors.
struct Entry {
    org_id: String,
    stamp: i64,
    dims: usize,
    rowids: Vec<i64>,
    /// `rowids.len() * dims` floats, row after row.
    data: Vec<f32>,
}

#[derive(Default)]
pub(crate) struct VectorIndex {
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    /// Rebuilds one at a time: concurrent searches of a stale collection wait
    /// for one reload instead of each reading the whole collection.
    rebuild: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.lock().map(|e| e.len()).unwrap_or_default();
        f.debug_struct("VectorIndex").field("collections", &entries).finish()
    }
}

impl VectorIndex {
    /// The `limit` live chunks of `collection_ids` nearest to `query`, as
    /// `(cosine, rowid)`, best first; only chunks in `allowed`, when given
    /// (a search filter's chunks), so a filtered search still fills `limit`.
    pub(crate) async fn nearest(
        &self,
        pool: &SqlitePool,
        org_id: &str,
        collection_ids: &[String],
        query: &[f32],
        limit: usize,
        allowed: Option<HashSet<i64>>,
    ) -> Result<Vec<(f64, i64)>> {
        let mut entries = Vec::with_capacity(collection_ids.len());
        for collection_id in collection_ids {
            entries.push(self.entry(pool, org_id, collection_id).await?);
        }
        let query = query.to_vec();
        // A full scan of a large collection is milliseconds of arithmetic: keep it off the async workers.
        let scored = tokio::task::spawn_blocking(move || {
            let mut best = TopK::new(limit);
            for entry in entries.iter().filter(|e| e.dims == query.len()) {
                for (row, rowid) in entry.data.chunks_exact(entry.dims).zip(&entry.rowids) {
                    if allowed.as_ref().is_none_or(|a| a.contains(rowid)) {
                        best.offer(dot(row, &query), *rowid);
                    }
                }
            }
            best.into_sorted()
        })
        .await
        .map_err(|e| crate::StoreError::Other(anyhow::anyhow!("the vector scan failed: {e}")))?;
        Ok(scored)
    }

    async fn entry(&self, pool: &SqlitePool, org_id: &str, collection_id: &str) -> Result<Arc<Entry>> {
        let stamp = current_stamp(pool, collection_id).await?;
        if let Some(fresh) = self.cached(org_id, collection_id, stamp) {
            return Ok(fresh);
        }
        let _one_at_a_time = self.rebuild.lock().await;
        // Another search may have reloaded it while this one waited.
        let stamp = current_stamp(pool, collection_id).await?;
        if let Some(fresh) = self.cached(org_id, collection_id, stamp) {
            return Ok(fresh);
        }
        // The stamp is read before the rows: a write in between leaves an
        // older stamp on newer rows, which only costs one more reload.
        let entry = Arc::new(load(pool, org_id, collection_id, stamp).await?);
        self.entries.lock().expect("vector index lock").insert(collection_id.to_owned(), entry.clone());
        Ok(entry)
    }

    fn cached(&self, org_id: &str, collection_id: &str, stamp: i64) -> Option<Arc<Entry>> {
        let entries = self.entries.lock().expect("vector index lock");
        entries.get(collection_id).filter(|e| e.stamp == stamp && e.org_id == org_id).cloned()
    }
}

async fn current_stamp(pool: &SqlitePool, collection_id: &str) -> Result<i64> {
    let stamp: Option<i64> = sqlx::query_scalar("SELECT stamp FROM vector_stamps WHERE collection_id = $1")
        .bind(collection_id)
        .fetch_optional(pool)
        .await?;
    Ok(stamp.unwrap_or(0))
}

async fn load(pool: &SqlitePool, org_id: &str, collection_id: &str, stamp: i64) -> Result<Entry> {
    let rows = sqlx::query(&format!(
        "SELECT c.rowid AS rowid, c.embedding FROM {} \
         WHERE c.org_id = $1 AND c.collection_id = $2 AND c.embedding IS NOT NULL",
        crate::search::LIVE_CHUNKS
    ))
    .bind(org_id)
    .bind(collection_id)
    .fetch_all(pool)
    .await?;
    let mut entry = Entry { org_id: org_id.to_owned(), stamp, dims: 0, rowids: Vec::new(), data: Vec::new() };
    for row in &rows {
        let bytes: Vec<u8> = row.try_get("embedding")?;
        let v = embedding_from_bytes(&bytes);
        if entry.rowids.is_empty() {
            entry.dims = v.len();
            entry.data.reserve(rows.len() * v.len());
        }
        // A collection records one model; a vector of another size cannot be compared.
        if v.len() != entry.dims || v.is_empty() {
            continue;
        }
        entry.rowids.push(row.try_get("rowid")?);
        entry.data.extend_from_slice(&v);
    }
    tracing::debug!(collection_id, chunks = entry.rowids.len(), stamp, "vector index loaded");
    Ok(entry)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent sums let the compiler keep them in vector registers.
    let mut acc = [0f32; 8];
    let (a8, a_rest) = a.split_at(a.len() / 8 * 8);
    let (b8, b_rest) = b.split_at(a8.len());
    for (x, y) in a8.chunks_exact(8).zip(b8.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// The `k` best `(score, rowid)` seen, kept as a small min-heap.
struct TopK {
    k: usize,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<Scored>>,
}

#[derive(PartialEq)]
struct Scored(f32, i64);

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Ties go to the earlier chunk, so results do not depend on scan order.
        self.0.total_cmp(&other.0).then_with(|| other.1.cmp(&self.1))
    }
}

impl TopK {
    fn new(k: usize) -> Self {
        Self { k, heap: std::collections::BinaryHeap::with_capacity(k + 1) }
    }

    fn offer(&mut self, score: f32, rowid: i64) {
        if self.k == 0 {
            return;
        }
        let candidate = Scored(score, rowid);
        if self.heap.len() < self.k {
            self.heap.push(std::cmp::Reverse(candidate));
        } else if self.heap.peek().is_some_and(|worst| candidate > worst.0) {
            self.heap.pop();
            self.heap.push(std::cmp::Reverse(candidate));
        }
    }

    fn into_sorted(self) -> Vec<(f64, i64)> {
        let mut best: Vec<Scored> = self.heap.into_iter().map(|r| r.0).collect();
        best.sort_by(|a, b| b.cmp(a));
        best.into_iter().map(|s| (f64::from(s.0), s.1)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum_for_any_length() {
        for n in [0, 1, 7, 8, 9, 384, 385] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "n={n}");
        }
    }

    #[test]
    fn top_k_keeps_the_best_in_order_and_breaks_ties_by_rowid() {
        let mut top = TopK::new(3);
        for (score, rowid) in [(0.1, 1), (0.9, 2), (0.5, 3), (0.9, 4), (0.2, 5), (0.95, 6)] {
            top.offer(score, rowid);
        }
        assert_eq!(top.into_sorted(), vec![(0.949999988079071, 6), (0.8999999761581421, 2), (0.8999999761581421, 4)]);
        let mut none = TopK::new(0);
        none.offer(1.0, 1);
        assert!(none.into_sorted().is_empty());
    }
}

//! `switchboard eval retrieval`: retrieval quality on a labelled dataset, and
//! `switchboard eval latency`: search latency on a collection. Both run the
//! server's own code (ingestion jobs, the store's full-text and vector search,
//! fusion), on the data dir's database.
//!
//! A dataset is a JSON Lines file, one object per line, of two kinds:
//!
//! ```text
//! {"type": "doc", "id": "D1", "title": "Returns", "text": "You may return ..."}
//! {"type": "query", "id": "Q1", "text": "How long do I have?", "relevant": {"D1": 1},
//!  "split": "test", "exclude": ["D7"]}
//! ```
//!
//! `relevant` maps document ids to graded relevance (> 0; nDCG uses the grade
//! as the gain). `split` (default `test`) groups queries: tune on one, report
//! on another. `exclude` lists documents not to count in that query's ranking
//! (BEIR drops a document whose id equals the query's). Lines that are blank or
//! start with `//` are skipped.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Deserialize;
use switchboard_server::knowledge::search::{self, Fusion, Mode, SearchRequest, Weights};
use switchboard_server::knowledge::uploads::text_version;
use switchboard_store::{PageRequest, SearchScope};

use crate::knowledge::{OrgArgs, ensure_collection, find_collection, ingest_versions, open};

#[derive(Subcommand)]
pub enum EvalCommand {
    /// Recall@1/5/10, MRR@10 and nDCG@10 of bm25-only, dense-only and hybrid search on a dataset.
    Retrieval(RetrievalArgs),
    /// Search latency (p50/p90/p99) of each mode on a collection, for the queries of a dataset.
    Latency(LatencyArgs),
}

#[derive(Args)]
pub struct RetrievalArgs {
    /// The dataset (JSON Lines: documents, queries with their relevant documents).
    #[arg(long)]
    dataset: PathBuf,
    #[command(flatten)]
    org: OrgArgs,
    /// The collection the corpus goes into (made when missing; documents
    /// already there and unchanged are not ingested again). Default: `eval <file name>`.
    #[arg(long)]
    collection: Option<String>,
    /// Only the queries of this split.
    #[arg(long)]
    split: Option<String>,
    /// Chunks each signal returns before fusion (default: what a search for
    /// 10 results uses).
    #[arg(long)]
    depth: Option<u32>,
    /// Weight of the full-text signal in hybrid fusion.
    #[arg(long, default_value_t = Weights::default().bm25)]
    bm25_weight: f64,
    /// Weight of the vector signal in hybrid fusion.
    #[arg(long, default_value_t = Weights::default().dense)]
    dense_weight: f64,
    /// Hybrid fusion: `convex` (normalised scores, the default) or `rrf` (ranks).
    #[arg(long, default_value = "convex")]
    fusion: String,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
    /// Also write each query's signals before fusion (JSON Lines: the query,
    /// its relevant documents, and each signal's chunks as [dataset document
    /// id, chunk id, score], best first), to study fusion offline.
    #[arg(long)]
    signals: Option<PathBuf>,
}

#[derive(Args)]
pub struct LatencyArgs {
    /// A dataset file; its queries are searched (its documents are ignored).
    #[arg(long)]
    queries: PathBuf,
    #[command(flatten)]
    org: OrgArgs,
    /// The collection, by name.
    #[arg(long)]
    collection: String,
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Searches per mode before timing starts (loads caches and the model).
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// At most this many queries are timed (per mode).
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long)]
    json: bool,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Doc {
        id: String,
        #[serde(default)]
        title: String,
        text: String,
    },
    Query {
        id: String,
        text: String,
        #[serde(default)]
        relevant: HashMap<String, f64>,
        #[serde(default = "test_split")]
        split: String,
        #[serde(default)]
        exclude: Vec<String>,
    },
}

fn test_split() -> String {
    "test".into()
}

struct Doc {
    id: String,
    title: String,
    text: String,
}

struct Query {
    id: String,
    text: String,
    relevant: HashMap<String, f64>,
    split: String,
    exclude: HashSet<String>,
}

struct Dataset {
    docs: Vec<Doc>,
    queries: Vec<Query>,
}

fn read_dataset(path: &Path) -> anyhow::Result<Dataset> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut data = Dataset { docs: Vec::new(), queries: Vec::new() };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let parsed: Line = serde_json::from_str(line).with_context(|| format!("{}:{}", path.display(), n + 1))?;
        match parsed {
            Line::Doc { id, title, text } => data.docs.push(Doc { id, title, text }),
            Line::Query { id, text, relevant, split, exclude } => {
                anyhow::ensure!(
                    relevant.values().all(|g| g.is_finite() && *g > 0.0),
                    "{}:{}: relevance grades must be greater than 0",
                    path.display(),
                    n + 1
                );
                data.queries.push(Query { id, text, relevant, split, exclude: exclude.into_iter().collect() });
            }
        }
    }
    Ok(data)
}

/// One query's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub recall_1: f64,
    pub recall_5: f64,
    pub recall_10: f64,
    pub mrr_10: f64,
    pub ndcg_10: f64,
}

impl Scores {
    /// `ranked`: document ids, best first, each once. Recall@k is the share
    /// of the relevant documents in the first k (BEIR's definition); nDCG uses
    /// the grades as gains, log2 discounts (trec_eval's `ndcg_cut`).
    pub fn of(ranked: &[&str], relevant: &HashMap<String, f64>) -> Self {
        let grade = |d: &str| relevant.get(d).copied().unwrap_or(0.0);
        let wanted = relevant.len().max(1) as f64;
        let recall = |k: usize| ranked.iter().take(k).filter(|d| grade(d) > 0.0).count() as f64 / wanted;
        let mrr_10 = ranked.iter().take(10).position(|d| grade(d) > 0.0).map_or(0.0, |i| 1.0 / (i + 1) as f64);
        let dcg: f64 = ranked.iter().take(10).enumerate().map(|(i, d)| grade(d) / (i as f64 + 2.0).log2()).sum();
        let mut ideal: Vec<f64> = relevant.values().copied().collect();
        ideal.sort_by(|a, b| b.total_cmp(a));
        let idcg: f64 = ideal.iter().take(10).enumerate().map(|(i, g)| g / (i as f64 + 2.0).log2()).sum();
        Scores {
            recall_1: recall(1),
            recall_5: recall(5),
            recall_10: recall(10),
            mrr_10,
            ndcg_10: if idcg > 0.0 { dcg / idcg } else { 0.0 },
        }
    }

    fn add(&mut self, o: &Scores) {
        self.recall_1 += o.recall_1;
        self.recall_5 += o.recall_5;
        self.recall_10 += o.recall_10;
        self.mrr_10 += o.mrr_10;
        self.ndcg_10 += o.ndcg_10;
    }

    fn mean(mut self, n: usize) -> Self {
        let n = n.max(1) as f64;
        for v in [&mut self.recall_1, &mut self.recall_5, &mut self.recall_10, &mut self.mrr_10, &mut self.ndcg_10] {
            *v /= n;
        }
        self
    }
}

const MODES: [(Mode, &str); 3] = [(Mode::Bm25, "bm25"), (Mode::Dense, "dense"), (Mode::Hybrid, "hybrid")];

pub async fn run(command: EvalCommand) -> anyhow::Result<()> {
    match command {
        EvalCommand::Retrieval(args) => retrieval(args).await,
        EvalCommand::Latency(args) => latency(args).await,
    }
}

async fn retrieval(args: RetrievalArgs) -> anyhow::Result<()> {
    let data = read_dataset(&args.dataset)?;
    anyhow::ensure!(!data.docs.is_empty(), "the dataset has no documents");
    let fusion = Fusion::parse(&args.fusion).context("--fusion must be convex or rrf")?;
    let weights = Weights { bm25: args.bm25_weight, dense: args.dense_weight, fusion };
    anyhow::ensure!(
        weights.bm25 >= 0.0 && weights.dense >= 0.0 && weights.bm25.is_finite() && weights.dense.is_finite(),
        "weights must be finite and not negative"
    );
    let (state, t) = open(&args.org).await?;
    anyhow::ensure!(
        state.embedder.is_some(),
        "the embedding model was not found (scripts/fetch-model, knowledge.model_dir): dense and hybrid cannot run"
    );
    let stem = args.dataset.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = args.collection.clone().unwrap_or_else(|| format!("eval {stem}"));
    let collection = ensure_collection(&state, &t, &name).await?;

    // The corpus, through the ingestion path; unchanged documents are skipped.
    let started = Instant::now();
    let uploads = data
        .docs
        .iter()
        .map(|d| {
            let title = if d.title.trim().is_empty() { d.id.as_str() } else { d.title.trim() };
            (d.id.clone(), text_version(format!("eval:{}", d.id), title, d.text.clone()))
        })
        .collect();
    let total = data.docs.len();
    let mut done = 0;
    let workers = (state.settings.knowledge.workers as usize).max(1);
    let reports = ingest_versions(&state, &t, &collection.id, uploads, workers, |_| {
        done += 1;
        if done % 500 == 0 || done == total {
            eprintln!("corpus: {done}/{total} documents");
        }
    })
    .await?;
    let failed = reports.iter().filter(|r| r.status == "failed").count();
    if failed > 0 {
        eprintln!(
            "warning: {failed} corpus document(s) failed to ingest, e.g. {:?}",
            reports.iter().find(|r| r.status == "failed").map(|r| (&r.name, &r.error))
        );
    }
    let ingest_secs = started.elapsed().as_secs_f64();
    // Where ingestion time went, summed over the documents ingested now (not the unchanged ones).
    let ingested: Vec<_> = reports.iter().filter(|r| r.status == "ready").collect();
    let ingest = serde_json::json!({
        "documents": ingested.len(),
        "chunks": ingested.iter().map(|r| r.chunks).sum::<i64>(),
        "secs": ingest_secs,
        "workers": workers,
        "parse_ms": ingested.iter().map(|r| r.parse_ms).sum::<f64>(),
        "embed_ms": ingested.iter().map(|r| r.embed_ms).sum::<f64>(),
        "publish_ms": ingested.iter().map(|r| r.publish_ms).sum::<f64>(),
        "document_ms": ingested.iter().map(|r| r.total_ms).sum::<f64>(),
    });
    let doc_of: HashMap<String, String> =
        reports.into_iter().filter_map(|r| r.document_id.map(|id| (id, r.name))).collect();
    let extra = collection_size(&state, &t, &collection.id).await?.0.saturating_sub(doc_of.len());
    if extra > 0 {
        eprintln!(
            "warning: the collection holds {extra} document(s) that are not in the dataset; they count as irrelevant"
        );
    }

    let depth = args.depth.unwrap_or_else(|| search::depth(10));
    let scope = SearchScope {
        collection_ids: vec![collection.id.clone()],
        limit: depth,
        pinned_to: None,
        filter: Default::default(),
    };
    let queries: Vec<&Query> = data
        .queries
        .iter()
        .filter(|q| args.split.as_ref().is_none_or(|s| &q.split == s) && !q.relevant.is_empty())
        .collect();
    anyhow::ensure!(!queries.is_empty(), "no queries with relevant documents to evaluate");
    let mut sums: HashMap<(String, &str), (Scores, usize)> = HashMap::new();
    let mut per_query = Vec::new();
    let started = Instant::now();
    let mut signals_out = match &args.signals {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };
    for (n, q) in queries.iter().enumerate() {
        let found = search::signals(&state, &t, &scope, &q.text, Mode::Hybrid).await?;
        if let Some(out) = signals_out.as_mut() {
            let hits = |hits: &[switchboard_store::ChunkHit]| -> Vec<serde_json::Value> {
                hits.iter()
                    .map(|h| {
                        let doc = doc_of.get(&h.document_id).map_or(h.document_id.as_str(), String::as_str);
                        serde_json::json!([doc, h.chunk_id, h.score])
                    })
                    .collect()
            };
            let line = serde_json::json!({"query": q.id, "split": q.split, "relevant": q.relevant,
                "exclude": q.exclude, "bm25": hits(&found.text), "dense": hits(&found.vector)});
            use std::io::Write;
            writeln!(out, "{line}")?;
        }
        for (mode, label) in MODES {
            let req = SearchRequest::new(&q.text, usize::MAX, mode, weights);
            let fused = search::fuse(found.text.clone(), found.vector.clone(), &req);
            let ranked = rank_documents(fused.iter().map(|s| s.hit.document_id.as_str()), &doc_of, &q.exclude, 10);
            let scores = Scores::of(&ranked, &q.relevant);
            let entry = sums.entry((q.split.clone(), label)).or_default();
            entry.0.add(&scores);
            entry.1 += 1;
            per_query.push(serde_json::json!({"query": q.id, "split": q.split, "mode": label, "ndcg_10": scores.ndcg_10, "ranked": ranked}));
        }
        if (n + 1) % 1000 == 0 {
            eprintln!("queries: {}/{}", n + 1, queries.len());
        }
    }
    let search_secs = started.elapsed().as_secs_f64();

    let mut splits: Vec<String> = sums.keys().map(|(s, _)| s.clone()).collect();
    splits.sort();
    splits.dedup();
    let mut table = Vec::new();
    for split in &splits {
        for (_, label) in MODES {
            let (sum, n) = sums[&(split.clone(), label)];
            table.push((split.clone(), label, sum.mean(n), n));
        }
    }
    if args.json {
        let rows: Vec<_> = table
            .iter()
            .map(|(split, mode, s, n)| {
                serde_json::json!({"split": split, "mode": mode, "queries": n, "recall_1": s.recall_1,
                    "recall_5": s.recall_5, "recall_10": s.recall_10, "mrr_10": s.mrr_10, "ndcg_10": s.ndcg_10})
            })
            .collect();
        let out = serde_json::json!({
            "dataset": args.dataset.display().to_string(),
            "collection_id": collection.id,
            "backend": format!("{:?}", state.store.backend()).to_lowercase(),
            "documents": doc_of.len(),
            "failed_documents": failed,
            "depth": depth,
            "weights": {"bm25": weights.bm25, "dense": weights.dense, "fusion": weights.fusion.as_str()},
            "ingest_secs": ingest_secs,
            "ingest": ingest,
            "search_secs": search_secs,
            "results": rows,
            "queries": per_query,
        });
        println!("{out}");
        return Ok(());
    }
    println!(
        "{}: {} documents in `{}` ({:?}), {} queries; each signal {} chunks deep, weights bm25 {} dense {}",
        args.dataset.display(),
        doc_of.len(),
        collection.name,
        state.store.backend(),
        queries.len(),
        depth,
        weights.bm25,
        weights.dense
    );
    println!(
        "{:<8} {:<7} {:>7} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "split", "mode", "queries", "recall@1", "recall@5", "recall@10", "MRR@10", "nDCG@10"
    );
    for (split, mode, s, n) in &table {
        println!(
            "{split:<8} {mode:<7} {n:>7} {:>9.4} {:>9.4} {:>9.4} {:>8.4} {:>8.4}",
            s.recall_1, s.recall_5, s.recall_10, s.mrr_10, s.ndcg_10
        );
    }
    Ok(())
}

/// Dataset document ids in the order their chunks rank, each once, without
/// the excluded ones; chunks of documents outside the dataset keep their place.
fn rank_documents<'a>(
    chunk_documents: impl Iterator<Item = &'a str>,
    doc_of: &'a HashMap<String, String>,
    exclude: &HashSet<String>,
    k: usize,
) -> Vec<&'a str> {
    let mut ranked: Vec<&str> = Vec::with_capacity(k);
    for document_id in chunk_documents {
        let id = doc_of.get(document_id).map_or(document_id, String::as_str);
        if exclude.contains(id) || ranked.contains(&id) {
            continue;
        }
        ranked.push(id);
        if ranked.len() == k {
            break;
        }
    }
    ranked
}

/// How many documents the collection holds, and how many live chunks.
async fn collection_size(
    state: &switchboard_server::state::AppState,
    t: &switchboard_store::Tenant,
    collection_id: &str,
) -> anyhow::Result<(usize, i64)> {
    let (mut documents, mut chunks) = (0, 0);
    let mut page = PageRequest::new(None, Some(100));
    loop {
        let found = state.store.list_documents(t, collection_id, &page).await?;
        documents += found.items.len();
        chunks += found.items.iter().map(|d| i64::from(d.chunk_count)).sum::<i64>();
        match found.next_cursor {
            Some(next) => page = PageRequest::new(Some(next), Some(100)),
            None => return Ok((documents, chunks)),
        }
    }
}

async fn latency(args: LatencyArgs) -> anyhow::Result<()> {
    let data = read_dataset(&args.queries)?;
    let mut queries: Vec<&str> = data.queries.iter().map(|q| q.text.as_str()).collect();
    anyhow::ensure!(queries.len() > args.warmup, "need more queries than --warmup ({})", args.warmup);
    let (state, t) = open(&args.org).await?;
    let collection = find_collection(state.store.as_ref(), &t, &args.collection)
        .await?
        .with_context(|| format!("no collection named `{}`", args.collection))?;
    let modes: Vec<_> = MODES.iter().filter(|(m, _)| *m == Mode::Bm25 || state.embedder.is_some()).copied().collect();
    let (warmup, rest) = queries.split_at_mut(args.warmup);
    let timed = &rest[..args.limit.unwrap_or(usize::MAX).min(rest.len())];
    let mut first = HashMap::new();
    for (i, q) in warmup.iter().enumerate() {
        for (mode, label) in &modes {
            let req = SearchRequest::new(q, args.top_k, *mode, Weights::default());
            let at = Instant::now();
            search::search(&state, &t, vec![collection.id.clone()], &req).await?;
            if i == 0 {
                first.insert(*label, at.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    // Modes take turns query by query, so each sees the same conditions.
    let mut times: HashMap<&str, Vec<f64>> = HashMap::new();
    for q in timed {
        for (mode, label) in &modes {
            let req = SearchRequest::new(q, args.top_k, *mode, Weights::default());
            let at = Instant::now();
            search::search(&state, &t, vec![collection.id.clone()], &req).await?;
            times.entry(label).or_default().push(at.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (_, chunks) = collection_size(&state, &t, &collection.id).await?;
    let mut rows = Vec::new();
    for (_, label) in &modes {
        let mut v = times.remove(label).unwrap_or_default();
        v.sort_by(f64::total_cmp);
        let pct = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        rows.push(serde_json::json!({"mode": label, "queries": v.len(), "p50_ms": pct(0.5), "p90_ms": pct(0.9),
            "p99_ms": pct(0.99), "mean_ms": mean, "max_ms": v[v.len() - 1], "first_ms": first.get(label)}));
    }
    let backend = format!("{:?}", state.store.backend()).to_lowercase();
    if args.json {
        println!(
            "{}",
            serde_json::json!({"collection_id": collection.id, "backend": backend, "chunks": chunks, "top_k": args.top_k, "results": rows})
        );
        return Ok(());
    }
    println!(
        "`{}` ({backend}, {chunks} chunks), top {}, {} queries timed per mode",
        collection.name,
        args.top_k,
        timed.len()
    );
    println!("{:<7} {:>9} {:>9} {:>9} {:>9} {:>12}", "mode", "p50 ms", "p90 ms", "p99 ms", "mean ms", "first ms");
    for r in &rows {
        println!(
            "{:<7} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>12.1}",
            r["mode"].as_str().unwrap_or(""),
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["p90_ms"].as_f64().unwrap_or(0.0),
            r["p99_ms"].as_f64().unwrap_or(0.0),
            r["mean_ms"].as_f64().unwrap_or(0.0),
            r["first_ms"].as_f64().unwrap_or(0.0)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
        pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }

    #[test]
    fn scores_follow_the_trec_definitions() {
        let s = Scores::of(&["x", "a", "y", "b"], &rel(&[("a", 1.0), ("b", 1.0)]));
        assert_eq!((s.recall_1, s.recall_5, s.mrr_10), (0.0, 1.0, 0.5));
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((s.ndcg_10 - dcg / idcg).abs() < 1e-12);
        let perfect = Scores::of(&["a"], &rel(&[("a", 2.0)]));
        assert_eq!(perfect, Scores { recall_1: 1.0, recall_5: 1.0, recall_10: 1.0, mrr_10: 1.0, ndcg_10: 1.0 });
        assert_eq!(Scores::of(&[], &rel(&[("a", 1.0)])), Scores::default());
    }

    #[test]
    fn chunks_collapse_to_documents_in_rank_order_without_excluded_ones() {
        let doc_of: HashMap<String, String> =
            [("u1", "A"), ("u2", "B"), ("u3", "C")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let exclude: HashSet<String> = ["B".to_string()].into();
        let ranked = rank_documents(["u1", "u2", "u1", "other", "u3"].into_iter(), &doc_of, &exclude, 3);
        assert_eq!(ranked, ["A", "other", "C"]);
    }

    #[test]
    fn datasets_parse_with_line_numbers_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("d.jsonl");
        std::fs::write(
            &file,
            "{\"type\":\"doc\",\"id\":\"1\",\"text\":\"t\"}\n\n{\"type\":\"query\",\"id\":\"q\",\"text\":\"x\",\"relevant\":{\"1\":1}}\n",
        )
        .unwrap();
        let d = read_dataset(&file).unwrap();
        assert_eq!((d.docs.len(), d.queries.len(), d.queries[0].split.as_str()), (1, 1, "test"));
        std::fs::write(&file, "{\"type\":\"doc\",\"id\":\"1\"}\n").unwrap();
        let err = format!("{:#}", read_dataset(&file).err().unwrap());
        assert!(err.contains("d.jsonl:1"), "{err}");
        std::fs::write(&file, "{\"type\":\"query\",\"id\":\"q\",\"text\":\"x\",\"relevant\":{\"1\":0}}\n").unwrap();
        assert!(read_dataset(&file).is_err(), "a zero grade is refused");
    }
}

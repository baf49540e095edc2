//! `switchboard ingest` and `switchboard search`: the knowledge path from a
//! terminal. Both build the server's own [`AppState`] on the data dir, so a
//! file takes exactly the way an upload takes (the same source keys, dedupe,
//! `ingest` job, confined parser, embedder and publish), and a search is the
//! API's search. The jobs `ingest` queues are run here, to completion, by id:
//! a server running on the same database does not run them twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use futures::StreamExt;
use switchboard_server::domain::Name;
use switchboard_server::knowledge::embedding::DEFAULT_EMBEDDING_MODEL;
use switchboard_server::knowledge::ingest::Ingested;
use switchboard_server::knowledge::search::{Mode, SearchRequest, Weights, search};
use switchboard_server::knowledge::uploads::{clean_file_name, file_version};
use switchboard_server::knowledge::worker::{Outcome, try_execute_job_by_id};
use switchboard_server::state::AppState;
use switchboard_server::{Settings, telemetry};
use switchboard_store::{
    AuditCtx, Collection, DocumentStatus, JobStatus, NewCollection, NewDocumentVersion, PageRequest, SearchFilter,
    Store, StoreError, Tenant, now_millis,
};

use crate::Common;

/// Which organization a tool works for.
#[derive(Args)]
pub struct OrgArgs {
    #[command(flatten)]
    pub common: Common,
    /// The organization's id; default: the only (or else the oldest) one in the database.
    #[arg(long)]
    pub org: Option<String>,
}

#[derive(Args)]
pub struct IngestArgs {
    /// Files and directories (read recursively; hidden entries are skipped).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    org: OrgArgs,
    /// The collection, by name; made when missing.
    #[arg(long)]
    collection: String,
    /// Documents ingested at once (default: `knowledge.workers`, at least 1).
    #[arg(long)]
    workers: Option<usize>,
    /// Print one JSON object: every document with its timings, and totals.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct SearchArgs {
    query: String,
    #[command(flatten)]
    org: OrgArgs,
    /// The collection, by name.
    #[arg(long)]
    collection: String,
    /// How many results, 1 to 50.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    top_k: u32,
    #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
    mode: ModeArg,
    /// Only documents whose metadata has this value, `KEY=VALUE`; repeat a key
    /// to accept any of its values, repeat keys to require all of them.
    #[arg(long = "filter", value_name = "KEY=VALUE")]
    filters: Vec<String>,
    /// Re-rank for diversity by maximal marginal relevance with this lambda (0 to 1; 1 keeps the ranking).
    #[arg(long)]
    mmr: Option<f64>,
    /// Print the API's response body (`POST /v1/collections/{id}/search`).
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Hybrid,
    Bm25,
    Dense,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Hybrid => Mode::Hybrid,
            ModeArg::Bm25 => Mode::Bm25,
            ModeArg::Dense => Mode::Dense,
        }
    }
}

/// The server's state on the configured database, and the tenant to act for.
pub async fn open(args: &OrgArgs) -> anyhow::Result<(AppState, Tenant)> {
    let settings = args.common.settings()?;
    init_logging(&settings);
    let store = crate::open_store(&settings).await?;
    let t = tenant(store.as_ref(), args.org.as_deref()).await?;
    let state = AppState::new(settings, store).await?;
    Ok((state, t))
}

/// Tools log warnings only, to stderr, unless the log level is set explicitly.
fn init_logging(settings: &Settings) {
    let mut log = settings.log.clone();
    if std::env::var_os("SWITCHBOARD__LOG__LEVEL").is_none() {
        log.level = "warn".into();
    }
    telemetry::init(&log);
}

async fn tenant(store: &dyn Store, org: Option<&str>) -> anyhow::Result<Tenant> {
    if let Some(id) = org {
        let t = Tenant::new(id);
        return match store.get_org(&t).await {
            Ok(_) => Ok(t),
            Err(StoreError::NotFound) => anyhow::bail!("no organization `{id}` in this database"),
            Err(e) => Err(e.into()),
        };
    }
    match store.first_orgs(2).await?.as_slice() {
        [] => anyhow::bail!("this database has no organization yet: create one with `switchboard init`"),
        [only] => Ok(Tenant::new(only.id.clone())),
        [oldest, ..] => {
            eprintln!(
                "several organizations: using the oldest, {} ({}); choose one with --org",
                oldest.name, oldest.id
            );
            Ok(Tenant::new(oldest.id.clone()))
        }
    }
}

pub async fn find_collection(store: &dyn Store, t: &Tenant, name: &str) -> anyhow::Result<Option<Collection>> {
    let mut page = PageRequest::new(None, Some(100));
    loop {
        let found = store.list_collections(t, &page).await?;
        if let Some(c) = found.items.into_iter().find(|c| c.name == name) {
            return Ok(Some(c));
        }
        match found.next_cursor {
            Some(next) => page = PageRequest::new(Some(next), Some(100)),
            None => return Ok(None),
        }
    }
}

/// The collection called `name`, made (with the default embedding model) when missing.
pub async fn ensure_collection(state: &AppState, t: &Tenant, name: &str) -> anyhow::Result<Collection> {
    if let Some(c) = find_collection(state.store.as_ref(), t, name).await? {
        return Ok(c);
    }
    let name = Name::parse("collection", name).map_err(|e| anyhow::anyhow!(e.detail))?;
    let new = NewCollection {
        name: name.as_str().to_owned(),
        description: String::new(),
        embedding_model: DEFAULT_EMBEDDING_MODEL.0.to_owned(),
        embedding_dim: DEFAULT_EMBEDDING_MODEL.1,
        embedding_endpoint: None,
    };
    Ok(state.store.create_collection(t, &cli_audit(), &new).await?)
}

pub fn cli_audit() -> AuditCtx {
    AuditCtx::system(format!("cli:{}", uuid::Uuid::now_v7()))
}

/// What became of one document.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocumentReport {
    pub name: String,
    pub document_id: Option<String>,
    /// `ready`, `unchanged` (identical to the latest version), `failed`,
    /// `refused` (a named file that is not a supported document; nothing
    /// stored) or `skipped` (such a file found in a directory).
    pub status: &'static str,
    pub chunks: i64,
    pub error: Option<String>,
    pub parse_ms: f64,
    pub embed_ms: f64,
    pub publish_ms: f64,
    /// The job's time, from its start to its end (waits for a retry included).
    pub total_ms: f64,
}

/// Adds each upload as the next version of its source and runs the queued
/// jobs, `workers` at a time; `on_done` sees each document as it finishes.
pub async fn ingest_versions(
    state: &AppState,
    t: &Tenant,
    collection_id: &str,
    uploads: Vec<(String, NewDocumentVersion)>,
    workers: usize,
    mut on_done: impl FnMut(&DocumentReport),
) -> anyhow::Result<Vec<DocumentReport>> {
    let audit = cli_audit();
    let mut queued = Vec::with_capacity(uploads.len());
    for (name, upload) in uploads {
        let added = state
            .store
            .add_document_version(t, &audit, collection_id, &upload, state.settings.knowledge.job_max_attempts)
            .await
            .with_context(|| format!("storing {name}"))?;
        queued.push((name, added));
    }
    let worker = format!("cli-{}", uuid::Uuid::now_v7());
    let mut runs = futures::stream::iter(queued.into_iter().map(|(name, added)| {
        let worker = worker.clone();
        async move {
            let at = Instant::now();
            let document = added.document;
            let Some(job_id) = added.job_id else {
                return Ok(DocumentReport {
                    name,
                    document_id: Some(document.id),
                    status: "unchanged",
                    chunks: i64::from(document.chunk_count),
                    error: None,
                    parse_ms: 0.0,
                    embed_ms: 0.0,
                    publish_ms: 0.0,
                    total_ms: 0.0,
                });
            };
            let ingested = run_job(state, t, &job_id, &worker).await?;
            let after = state.store.get_document(t, &document.id).await?;
            let timings = ingested.map(|i| i.timings).unwrap_or_default();
            Ok::<_, anyhow::Error>(DocumentReport {
                name,
                document_id: Some(after.id),
                status: if after.status == DocumentStatus::Ready { "ready" } else { "failed" },
                chunks: i64::from(after.chunk_count),
                error: after.error,
                parse_ms: ms(timings.parse),
                embed_ms: ms(timings.embed),
                publish_ms: ms(timings.publish),
                total_ms: ms(at.elapsed()),
            })
        }
    }))
    .buffer_unordered(workers.max(1));
    let mut reports = Vec::new();
    while let Some(report) = runs.next().await {
        let report = report?;
        on_done(&report);
        reports.push(report);
    }
    Ok(reports)
}

/// Runs one of this tenant's jobs to its end: claims it when due, waits out
/// retry back-offs, and waits for another worker that holds it.
async fn run_job(state: &AppState, t: &Tenant, job_id: &str, worker: &str) -> anyhow::Result<Option<Ingested>> {
    loop {
        match try_execute_job_by_id(state, t, job_id, worker).await? {
            Outcome::Succeeded { ingested, .. } => return Ok(ingested),
            Outcome::Failed { .. } => return Ok(None),
            Outcome::Retrying { .. } | Outcome::Idle => {}
        }
        let job = state.store.get_job(t, job_id).await?;
        let wait = match job.status {
            JobStatus::Succeeded | JobStatus::Failed => return Ok(None),
            JobStatus::Queued => Duration::from_millis((job.run_after - now_millis()).clamp(10, 60_000) as u64),
            JobStatus::Running => Duration::from_millis(250),
        };
        tokio::time::sleep(wait).await;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A file to ingest and the name its document gets: a file named on the
/// command line keeps its file name (as an upload through the API would), a
/// file found in a directory is named by its path from that directory's
/// parent (`docs/returns/eu.md`).
struct Found {
    name: String,
    path: PathBuf,
    /// Named on the command line (a refusal is an error), not found in a
    /// directory (a file of another kind there is skipped).
    named: bool,
}

fn files_under(paths: &[PathBuf]) -> anyhow::Result<Vec<Found>> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        if meta.is_dir() {
            let base = path.canonicalize()?;
            let parent = base.parent().map(Path::to_path_buf).unwrap_or_else(|| base.clone());
            walk(&base, &parent, &mut out)?;
        } else {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push(Found { name: clean_file_name(&name), path: path.clone(), named: true });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<Found>) -> anyhow::Result<()> {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, root, out)?;
        } else if path.is_file() {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name: Vec<String> =
                relative.components().map(|c| clean_file_name(&c.as_os_str().to_string_lossy())).collect();
            out.push(Found { name: name.join("/"), path, named: false });
        }
    }
    Ok(())
}

pub async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let files = files_under(&args.paths)?;
    let (state, t) = open(&args.org).await?;
    let collection = ensure_collection(&state, &t, &args.collection).await?;
    let max = state.settings.knowledge.max_upload_bytes;
    let mut refused = Vec::new();
    let mut uploads = Vec::new();
    for Found { name, path, named } in files {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        match file_version(&name, None, bytes, max) {
            Ok(mut upload) => {
                // A nested name keeps its directories in the title; the source key already has them.
                upload.title = name.clone();
                uploads.push((name, upload));
            }
            Err(e) => refused.push(DocumentReport {
                name,
                document_id: None,
                status: if named { "refused" } else { "skipped" },
                chunks: 0,
                error: Some(e.to_string()),
                parse_ms: 0.0,
                embed_ms: 0.0,
                publish_ms: 0.0,
                total_ms: 0.0,
            }),
        }
    }
    if !args.json {
        println!("{} file(s) into collection `{}` ({})", uploads.len() + refused.len(), collection.name, collection.id);
        refused.iter().for_each(print_report);
    }
    let workers = args.workers.unwrap_or(state.settings.knowledge.workers as usize).max(1);
    let json = args.json;
    let mut reports = ingest_versions(&state, &t, &collection.id, uploads, workers, |r| {
        if !json {
            print_report(r);
        }
    })
    .await?;
    reports.extend(refused);
    let totals = Totals::of(&reports, started.elapsed(), state.embedder.is_some());
    if args.json {
        let out = serde_json::json!({
            "collection_id": collection.id,
            "org_id": t.org_id(),
            "workers": workers,
            "documents": reports,
            "totals": totals,
        });
        println!("{out}");
    } else {
        println!("{}", totals.sentence());
    }
    let bad = reports.iter().filter(|r| matches!(r.status, "failed" | "refused")).count();
    anyhow::ensure!(bad == 0, "{bad} of {} document(s) failed or were refused", reports.len());
    Ok(())
}

fn print_report(r: &DocumentReport) {
    match r.status {
        "ready" => println!(
            "ready      {:>5} chunks  parse {:>7.1} ms  embed {:>8.1} ms  store {:>6.1} ms  total {:>8.1} ms  {}",
            r.chunks, r.parse_ms, r.embed_ms, r.publish_ms, r.total_ms, r.name
        ),
        "unchanged" => println!("unchanged  {:>5} chunks  (identical to the latest version)  {}", r.chunks, r.name),
        status => println!("{status:<10} {}: {}", r.name, r.error.as_deref().unwrap_or("")),
    }
}

#[derive(serde::Serialize)]
struct Totals {
    documents: usize,
    ready: usize,
    unchanged: usize,
    failed: usize,
    refused: usize,
    skipped: usize,
    chunks: i64,
    wall_secs: f64,
    documents_per_sec: f64,
    chunks_per_sec: f64,
    /// Time inside jobs, summed over documents (workers overlap).
    parse_ms: f64,
    embed_ms: f64,
    publish_ms: f64,
    /// Embedding's share of the time spent in jobs.
    embed_share: f64,
    embedded: bool,
}

impl Totals {
    fn of(reports: &[DocumentReport], wall: Duration, embedded: bool) -> Self {
        let count = |s: &str| reports.iter().filter(|r| r.status == s).count();
        let sum = |f: fn(&DocumentReport) -> f64| reports.iter().map(f).sum::<f64>();
        let ingested: Vec<_> = reports.iter().filter(|r| r.status == "ready").collect();
        let chunks = ingested.iter().map(|r| r.chunks).sum();
        let (parse_ms, embed_ms, publish_ms) = (sum(|r| r.parse_ms), sum(|r| r.embed_ms), sum(|r| r.publish_ms));
        let in_jobs = parse_ms + embed_ms + publish_ms;
        let secs = wall.as_secs_f64().max(1e-9);
        Totals {
            documents: reports.len(),
            ready: count("ready"),
            unchanged: count("unchanged"),
            failed: count("failed"),
            refused: count("refused"),
            skipped: count("skipped"),
            chunks,
            wall_secs: secs,
            documents_per_sec: ingested.len() as f64 / secs,
            chunks_per_sec: chunks as f64 / secs,
            parse_ms,
            embed_ms,
            publish_ms,
            embed_share: if in_jobs > 0.0 { embed_ms / in_jobs } else { 0.0 },
            embedded,
        }
    }

    fn sentence(&self) -> String {
        let mut s = format!(
            "{} file(s): {} ready, {} unchanged, {} failed, {} refused, {} skipped; {} chunks in {:.1} s \
             ({:.1} documents/s, {:.1} chunks/s)",
            self.documents,
            self.ready,
            self.unchanged,
            self.failed,
            self.refused,
            self.skipped,
            self.chunks,
            self.wall_secs,
            self.documents_per_sec,
            self.chunks_per_sec
        );
        if self.embedded {
            s.push_str(&format!("; embedding took {:.0}% of the job time", self.embed_share * 100.0));
        } else {
            s.push_str("; no embedding model: full-text search only");
        }
        s
    }
}

/// `--filter KEY=VALUE` options as a metadata filter.
fn parse_filters(filters: &[String]) -> anyhow::Result<SearchFilter> {
    let mut metadata: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for filter in filters {
        let (key, value) = filter.split_once('=').with_context(|| format!("--filter `{filter}` is not KEY=VALUE"))?;
        metadata.entry(key.to_owned()).or_default().push(value.to_owned());
    }
    Ok(SearchFilter::parse(metadata, None)?)
}

pub async fn search_command(args: SearchArgs) -> anyhow::Result<()> {
    let (state, t) = open(&args.org).await?;
    let collection = find_collection(state.store.as_ref(), &t, &args.collection)
        .await?
        .with_context(|| format!("no collection named `{}`", args.collection))?;
    let query = args.query.trim();
    anyhow::ensure!(!query.is_empty() && query.chars().count() <= 2000, "the query must be 1 to 2000 characters");
    let mode = Mode::from(args.mode);
    anyhow::ensure!(
        mode != Mode::Dense || state.embedder.is_some(),
        "dense search needs the embedding model, and none was found (scripts/fetch-model, knowledge.model_dir)"
    );
    anyhow::ensure!(args.mmr.is_none_or(|l| (0.0..=1.0).contains(&l)), "--mmr must be 0 to 1");
    let req = SearchRequest {
        query,
        top_k: args.top_k as usize,
        mode,
        weights: Weights::default(),
        filter: parse_filters(&args.filters)?,
        mmr: args.mmr,
    };
    let (found, dense_used) = search(&state, &t, vec![collection.id], &req).await?;
    let response = switchboard_server::routes::search::response(found, mode, dense_used, state.embedder.is_some());
    if args.json {
        println!("{}", serde_json::to_string(&response)?);
        return Ok(());
    }
    if !response.dense_available && mode != Mode::Bm25 {
        println!("(no embedding model: full-text results only)");
    }
    if response.results.is_empty() {
        println!("no results");
    }
    for (i, r) in response.results.iter().enumerate() {
        let signal = |name: &str, s: &Option<switchboard_server::routes::search::SignalScore>| match s {
            Some(s) => format!("{name} #{} {:.3}", s.rank, s.score),
            None => format!("{name} -"),
        };
        let place = if r.heading_path.is_empty() { String::new() } else { format!(" > {}", r.heading_path) };
        let page = r.page.map(|p| format!(" (page {p})")).unwrap_or_default();
        println!(
            "{}. {:.4}  [{} | {}]  {}{place}{page}",
            i + 1,
            r.score,
            signal("bm25", &r.scores.bm25),
            signal("dense", &r.scores.dense),
            r.title
        );
        let snippet: String = r.text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(240).collect();
        println!("   {snippet}");
    }
    Ok(())
}

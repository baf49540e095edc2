//! Throughput and latency of the local embedder, for `bench/embedding/run`.
//!
//! ```text
//! RAYON_NUM_THREADS=1 embed_bench MODEL_DIR SENTENCES_FILE [LATENCY_QUERIES]
//! ```
//!
//! Reads one sentence per line, embeds them all in batches of 32 (twice,
//! keeping the faster pass), then embeds the first LATENCY_QUERIES (default
//! 200) one at a time, and prints one JSON object: sentences/s, single-query
//! latency percentiles, load time, peak RSS. With BENCH_VECTORS_OUT set, the
//! vectors are also written there (little-endian f32, row after row). Threads are set by the caller
//! with RAYON_NUM_THREADS (candle's matmuls run on rayon's global pool).
//!
//! BENCH_PRECISION=int8 loads the model with int8 linear layers.
//!
//! The allocator is the binary's decision, not the library's: this bench uses
//! the system allocator, and the run script also measures it with glibc's
//! MALLOC_* tunables set.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use switchboard_engine::{Embedder, LocalEmbedder, LocalEmbedderOptions, Precision};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: embed_bench MODEL_DIR SENTENCES_FILE [LATENCY_QUERIES]";
    let model_dir = PathBuf::from(args.next().ok_or(usage)?);
    let sentences_file = PathBuf::from(args.next().ok_or(usage)?);
    let latency_queries: usize = match args.next() {
        Some(n) => n.parse()?,
        None => 200,
    };

    // Other processes on the machine skew every figure: record how busy it was.
    let loadavg_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let text = std::fs::read_to_string(&sentences_file)?;
    let sentences: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();

    let precision = match std::env::var("BENCH_PRECISION").as_deref() {
        Ok("int8") => Precision::Int8,
        Ok("f32") | Err(_) => Precision::F32,
        Ok(other) => return Err(format!("BENCH_PRECISION must be f32 or int8, not {other:?}").into()),
    };
    let started = Instant::now();
    let embedder =
        LocalEmbedder::load(&model_dir, LocalEmbedderOptions::SENTENCE_TRANSFORMERS.with_precision(precision))?;
    embedder.embed(&[sentences[0]])?;
    let load_and_first = started.elapsed();

    // Warm-up: first-touch page faults, rayon pool start, allocator growth.
    embedder.embed(&sentences[..sentences.len().min(256)])?;

    let mut passes = Vec::new();
    let mut cpu_passes = Vec::new();
    let mut vectors = Vec::new();
    for _ in 0..2 {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        vectors = embedder.embed(&sentences)?;
        passes.push(t.elapsed());
        cpu_passes.push(cpu_seconds().zip(cpu).map(|(end, start)| end - start));
        assert_eq!(vectors.len(), sentences.len());
    }
    // For the report's agreement check against sentence-transformers.
    if let Some(path) = std::env::var_os("BENCH_VECTORS_OUT") {
        let bytes: Vec<u8> = vectors.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(path, bytes)?;
    }
    let best = passes.iter().min().copied().unwrap_or_default();

    let mut latencies: Vec<Duration> = sentences
        .iter()
        .take(latency_queries)
        .map(|s| {
            let t = Instant::now();
            embedder.embed(&[s]).map(|_| t.elapsed())
        })
        .collect::<Result<_, _>>()?;
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i].as_secs_f64() * 1e3
    };

    let report = serde_json::json!({
        "engine": "candle",
        "variant": std::env::var("BENCH_VARIANT").unwrap_or_else(|_| "default".to_owned()),
        "precision": precision.name(),
        "threads": std::env::var("RAYON_NUM_THREADS").ok(),
        "sentences": sentences.len(),
        "batch_size": LocalEmbedderOptions::SENTENCE_TRANSFORMERS.batch_size,
        "sentences_per_s": sentences.len() as f64 / best.as_secs_f64(),
        "passes_s": passes.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
        // CPU time (all threads) of each pass: with 1 thread, a figure that a
        // busy machine disturbs less than wall time.
        "passes_cpu_s": cpu_passes,
        "latency_ms_p50": pct(0.5),
        "latency_ms_p90": pct(0.9),
        "load_and_first_ms": load_and_first.as_secs_f64() * 1e3,
        "peak_rss_mb": peak_rss_mb(),
        "loadavg_before": loadavg_before.split_whitespace().next(),
    });
    println!("{report}");
    Ok(())
}

/// User + system CPU time of this process so far, in seconds; Linux only.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) closed by ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; 100 per second on every Linux this runs on.
    Some((utime + stime) / 100.0)
}

/// Peak resident set size (VmHWM) of this process, in MiB; Linux only.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

//! Measures the provider layer's retry and failover behaviour against the mock
//! on loopback (RELIABILITY.md R6 and R7) and writes a Markdown report.
//!
//! `cargo run -p switchboard-llm --example resilience_report -- docs/bench/llm-resilience.md`
//! (or `bench/llm/run`). Takes about two minutes: the outage runs in real time.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchboard_llm::mock::{MockLlm, Script};
use switchboard_llm::{
    BreakerConfig, Breakers, ChatProvider, ChatRequest, Message, OpenAiProvider, Resilient, RetryPolicy, Route,
};

fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini", vec![Message::system("You are the shop's assistant."), Message::user("Hi")])
}

fn route(mock: &MockLlm, breakers: &Breakers, model: Option<&str>) -> Route {
    Route::openai(OpenAiProvider::new(mock.openai_config(None)).unwrap(), breakers, model.map(str::to_owned))
}

/// A breaker that never opens, to watch retries alone.
fn never_open() -> BreakerConfig {
    BreakerConfig { consecutive_failures: u32::MAX, failure_rate: 2.0, ..BreakerConfig::standard() }
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// R6: delays between attempts when a provider fails twice with 503 and then answers.
async fn retry_delays(report: &mut String) {
    const WORKERS: usize = 20;
    const CALLS: usize = 15;
    let policy = RetryPolicy::standard();
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        tasks.push(tokio::spawn(async move {
            let mock = MockLlm::start().await;
            let breakers = Breakers::new(never_open());
            let provider = Resilient::new(route(&mock, &breakers, None), policy);
            let mut ok = 0;
            for _ in 0..CALLS {
                mock.push(Script::status(503));
                mock.push(Script::status(503));
                mock.push(Script::reply("ok"));
                ok += usize::from(provider.complete(request()).await.is_ok());
            }
            let requests = mock.requests();
            let mut delays: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
            for call in requests.chunks(3) {
                for retry in 0..2 {
                    delays[retry].push(call[retry + 1].received_at - call[retry].responded_at.unwrap());
                }
            }
            (ok, requests.len(), delays)
        }));
    }
    let (mut ok, mut sent, mut delays) = (0, 0, [Vec::new(), Vec::new()]);
    for task in tasks {
        let (o, s, d) = task.await.unwrap();
        ok += o;
        sent += s;
        for retry in 0..2 {
            delays[retry].extend(d[retry].iter().copied());
        }
    }
    let calls = WORKERS * CALLS;
    writeln!(report, "## R6: retry delays (503, 503, then an answer)\n").unwrap();
    writeln!(
        report,
        "{calls} calls, {WORKERS} at a time, each to its own mock; `RetryPolicy::standard()` (full jitter, \
         base {} ms doubling, cap {} s, at most {} retries within {} s). {ok}/{calls} answered, {sent} requests \
         ({:.2} per call, 3 expected).\n",
        policy.base_delay.as_millis(),
        policy.max_delay.as_secs(),
        policy.max_retries,
        policy.budget.as_secs(),
        sent as f64 / calls as f64
    )
    .unwrap();
    writeln!(report, "| retry | jitter ceiling ms | min ms | p50 ms | p90 ms | max ms |").unwrap();
    writeln!(report, "|---|---|---|---|---|---|").unwrap();
    for (retry, d) in delays.iter_mut().enumerate() {
        d.sort();
        let ceiling = policy.base_delay * 2u32.pow(retry as u32);
        writeln!(
            report,
            "| {} | {} | {} | {} | {} | {} |",
            retry + 1,
            ms(ceiling),
            ms(d[0]),
            ms(quantile(d, 0.5)),
            ms(quantile(d, 0.9)),
            ms(*d.last().unwrap())
        )
        .unwrap();
    }
    writeln!(report, "\nHistogram of all {} delays (100 ms buckets):\n", delays[0].len() + delays[1].len()).unwrap();
    writeln!(report, "| bucket ms | retry 1 | retry 2 |").unwrap();
    writeln!(report, "|---|---|---|").unwrap();
    for bucket in 0..11 {
        let (lo, hi) = (Duration::from_millis(bucket * 100), Duration::from_millis((bucket + 1) * 100));
        let count = |d: &Vec<Duration>| d.iter().filter(|x| **x >= lo && **x < hi).count();
        writeln!(report, "| {}–{} | {} | {} |", bucket * 100, (bucket + 1) * 100, count(&delays[0]), count(&delays[1]))
            .unwrap();
    }
}

/// R6: how long after `Retry-After: 2` the retry came.
async fn retry_after(report: &mut String) {
    const CALLS: usize = 20;
    let mut tasks = Vec::new();
    for _ in 0..CALLS {
        tasks.push(tokio::spawn(async move {
            let mock = MockLlm::start().await;
            let breakers = Breakers::new(never_open());
            let provider = Resilient::new(route(&mock, &breakers, None), RetryPolicy::standard());
            mock.push(Script::rate_limited("2"));
            mock.push(Script::reply("ok"));
            assert!(provider.complete(request()).await.is_ok());
            let r = mock.requests();
            r[1].received_at - r[0].responded_at.unwrap()
        }));
    }
    let mut waits = Vec::new();
    for task in tasks {
        waits.push(task.await.unwrap());
    }
    waits.sort();
    writeln!(report, "\n## R6: `Retry-After: 2`\n").unwrap();
    writeln!(
        report,
        "{CALLS} calls: the retry came {}–{} ms after the 429 (p50 {} ms); none sooner than 2,000 ms: {}.\n",
        ms(waits[0]),
        ms(*waits.last().unwrap()),
        ms(quantile(&waits, 0.5)),
        waits[0] >= Duration::from_secs(2)
    )
    .unwrap();
}

/// R7: the primary answers 503 for 60 s while clients keep calling; a fallback serves.
async fn outage(report: &mut String) {
    const CLIENTS: usize = 4;
    const PAUSE: Duration = Duration::from_millis(50);
    let outage = Duration::from_secs(60);
    let after = Duration::from_secs(35);
    let primary = Arc::new(MockLlm::start().await);
    let fallback = MockLlm::start().await;
    primary.set_default(Script::reply("primary"));
    fallback.set_default(Script::reply("fallback"));
    let breakers = Breakers::new(BreakerConfig::standard());
    let provider =
        Arc::new(Resilient::new(route(&primary, &breakers, None), RetryPolicy::standard()).with_fallback(route(
            &fallback,
            &breakers,
            Some("fallback-model"),
        )));

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (provider, stop, errors) = (Arc::clone(&provider), Arc::clone(&stop), Arc::clone(&errors));
        clients.push(tokio::spawn(async move {
            // (finished at, latency, served by the primary)
            let mut calls: Vec<(Duration, Duration, bool)> = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let began = Instant::now();
                match provider.complete(request()).await {
                    Ok(r) => calls.push((start.elapsed(), began.elapsed(), r.content == "primary")),
                    Err(_) => {
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
                tokio::time::sleep(PAUSE).await;
            }
            calls
        }));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = primary.request_count();
    let outage_start = start.elapsed();
    primary.set_default(Script::status(503));
    tokio::time::sleep(outage).await;
    let during = primary.request_count() - before;
    let outage_end = start.elapsed();
    primary.set_default(Script::reply("primary"));
    tokio::time::sleep(after).await;
    stop.store(true, Ordering::SeqCst);
    let mut calls = Vec::new();
    for client in clients {
        calls.extend(client.await.unwrap());
    }
    calls.sort_by_key(|c| c.0);

    let in_outage: Vec<&(Duration, Duration, bool)> =
        calls.iter().filter(|c| c.0 >= outage_start && c.0 - c.1 < outage_end).collect();
    let first_fallback = in_outage.iter().find(|c| !c.2).map(|c| c.0 - outage_start);
    let mut latencies: Vec<Duration> = in_outage.iter().map(|c| c.1).collect();
    latencies.sort();
    let steady = in_outage.iter().filter(|c| c.0 > outage_start + Duration::from_secs(10)).map(|c| c.1).max();
    let back = calls.iter().find(|c| c.0 > outage_end && c.2).map(|c| c.0 - outage_end);
    let errors = errors.load(Ordering::SeqCst);

    writeln!(report, "\n## R7: a 60 s outage of the primary, with a fallback\n").unwrap();
    writeln!(
        report,
        "{CLIENTS} clients call in a loop ({} ms pause); after 5 s the primary answers 503 to everything for \
         60 s, then recovers; `BreakerConfig::standard()` (open after 5 failures in a row or ≥50% of ≥10 calls \
         in 20 s, probe after 30 s), `RetryPolicy::standard()`.\n",
        PAUSE.as_millis()
    )
    .unwrap();
    writeln!(report, "| figure | value |").unwrap();
    writeln!(report, "|---|---|").unwrap();
    writeln!(report, "| calls during the outage | {} |", in_outage.len()).unwrap();
    writeln!(report, "| user-visible errors (whole run) | {errors} |").unwrap();
    writeln!(
        report,
        "| requests to the primary during the outage | {during} ({:.2}% of the calls) |",
        100.0 * during as f64 / in_outage.len().max(1) as f64
    )
    .unwrap();
    writeln!(
        report,
        "| first answer from the fallback after the outage began | {} ms |",
        first_fallback.map_or("-".into(), ms)
    )
    .unwrap();
    writeln!(
        report,
        "| call latency during the outage p50 / p99 / max | {} / {} / {} ms |",
        ms(quantile(&latencies, 0.5)),
        ms(quantile(&latencies, 0.99)),
        ms(*latencies.last().unwrap())
    )
    .unwrap();
    writeln!(
        report,
        "| slowest call once the breaker was open (10 s in and later) | {} ms |",
        steady.map_or("-".into(), ms)
    )
    .unwrap();
    writeln!(report, "| primary serving again after it recovered | {} ms |", back.map_or("-".into(), ms)).unwrap();
    writeln!(
        report,
        "\n## Reading the figures\n\n\
         - A delay a few ms above its jitter ceiling is the client's own time between reading the error and \
         the next request arriving; the drawn wait itself never exceeds the ceiling (unit test \
         `backoff_is_jittered_under_a_doubling_ceiling_and_floored_by_retry_after`).\n\
         - Requests to the primary during the outage are the failures that open the breaker plus one \
         half-open probe per 30 s cool-down; every other call goes straight to the fallback, so the outage \
         adds well under R6's 10% of extra requests.\n\
         - A failure that opens the breaker skips the rest of its retries, so once open no call waits for a \
         backoff; the slow calls are the few that were retrying when the outage began.\n\
         - How soon the primary serves again depends on where the next probe falls: at most one cool-down \
         (30 s) after it recovers."
    )
    .unwrap();
}

#[tokio::main]
async fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "docs/bench/llm-resilience.md".into());
    let mut report = String::new();
    writeln!(report, "# LLM provider layer: retries, breaker and fallback\n").unwrap();
    writeln!(
        report,
        "Written by `bench/llm/run` (`crates/switchboard-llm/examples/resilience_report.rs`): the real \
         `Resilient` + `OpenAiProvider` over HTTP against `MockLlm` on 127.0.0.1. Delays are measured \
         from the mock's own timestamps (response sent -> next request received). {} CPUs.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
    .unwrap();
    retry_delays(&mut report).await;
    retry_after(&mut report).await;
    outage(&mut report).await;
    std::fs::write(&out, &report).unwrap();
    println!("{report}");
}

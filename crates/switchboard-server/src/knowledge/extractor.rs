//! Parsing untrusted documents (`detect -> extract -> chunk`), in a child process with memory and
//! time limits (RELIABILITY U2).
//!
//! The ingest crate bounds what it can (sizes, entries, characters, a deadline checked while
//! parsing, panics caught), but an unbounded allocation or a loop inside a third-party parser
//! cannot be stopped from inside the process: one PDF could take the whole node down, or hold a
//! worker forever. So workers hand each document to a child, the `switchboard` binary itself run
//! as `switchboard extract-worker` ([`worker_main`]), which first confines itself
//! (`RLIMIT_AS`, `RLIMIT_CPU`, no core dumps) and then parses. The parent kills it when the
//! wall-clock deadline passes. A child that runs out of memory or time, or crashes, fails only its
//! own document, with a message that says which limit it hit; the worker goes on.
//!
//! The child sets its own limits because setting them in the parent between `fork` and `exec`
//! needs `unsafe`. It gets no environment (no database URL, no keys) and talks over pipes only:
//! one JSON line ([`Request`]) then the document's bytes on stdin, and a [`Response`] as the last
//! line of stdout (so a stray print in a parser library cannot corrupt it).
//!
//! Where no extractor binary is available (the server used as a library, unit tests), parsing
//! runs in this process on the blocking pool, with a warning: see [`Parser::from_settings`].

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_ingest::{ChunkOptions, ExtractError, Limits, chunk, detect, extract};
use tokio::io::AsyncWriteExt;

use super::ingest::IngestError;
use crate::settings::KnowledgeSettings;

/// The hidden subcommand of the `switchboard` binary that runs [`worker_main`].
pub const WORKER_SUBCOMMAND: &str = "extract-worker";

/// The request line is small (a file name and numbers); anything longer is not ours.
const MAX_REQUEST_LINE: u64 = 64 * 1024;

/// Exit status of a child that could not set itself up (bad request, limits refused): the
/// server's problem, not the document's, so the job is retried.
const SETUP_FAILED: u8 = 3;

/// Time the child gets past the parsing deadline to start, answer and exit: as much again as the
/// deadline, up to this.
const WALL_CLOCK_GRACE: Duration = Duration::from_secs(5);

/// How a worker parses documents.
#[derive(Debug, Clone)]
pub struct Parser {
    pub limits: Limits,
    /// `None`: in this process, on the blocking pool.
    pub isolation: Option<Isolation>,
}

/// The child process and its limits.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// The `switchboard` executable to run as `extract-worker`.
    pub program: PathBuf,
    /// `RLIMIT_AS` of the child: its whole address space, executable included.
    pub memory_bytes: u64,
    /// CPU time (`RLIMIT_CPU`) and, with a few seconds' grace, wall-clock time.
    pub timeout: Duration,
}

/// A parsed document, ready to embed and publish.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parsed {
    pub chunks: Vec<ParsedChunk>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParsedChunk {
    pub ordinal: u32,
    /// `"Returns > EU"`.
    pub heading_path: String,
    pub page: Option<u32>,
    pub text: String,
    /// What gets embedded: the heading path, then the text.
    pub contextual_text: String,
    pub content_hash: String,
    pub tokens: usize,
}

/// What the parent sends before the document's bytes.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    name: String,
    media_type: Option<String>,
    memory_bytes: u64,
    cpu_secs: u64,
    limits: WireLimits,
}

/// [`Limits`] as they cross the pipe.
#[derive(Debug, Serialize, Deserialize)]
struct WireLimits {
    max_input_bytes: u64,
    max_extracted_chars: usize,
    max_pages: usize,
    max_archive_entries: usize,
    max_inflated_bytes: u64,
    time_budget_ms: u64,
}

impl From<&Limits> for WireLimits {
    fn from(l: &Limits) -> Self {
        WireLimits {
            max_input_bytes: l.max_input_bytes,
            max_extracted_chars: l.max_extracted_chars,
            max_pages: l.max_pages,
            max_archive_entries: l.max_archive_entries,
            max_inflated_bytes: l.max_inflated_bytes,
            time_budget_ms: l.time_budget.as_millis() as u64,
        }
    }
}

impl From<WireLimits> for Limits {
    fn from(l: WireLimits) -> Self {
        Limits {
            max_input_bytes: l.max_input_bytes,
            max_extracted_chars: l.max_extracted_chars,
            max_pages: l.max_pages,
            max_archive_entries: l.max_archive_entries,
            max_inflated_bytes: l.max_inflated_bytes,
            time_budget: Duration::from_millis(l.time_budget_ms),
        }
    }
}

/// What the child answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Response {
    Parsed { parsed: Parsed, usage: Usage },
    Refused { code: String, message: String, usage: Usage },
}

/// What parsing cost the child, for the logs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Usage {
    peak_rss_kib: i64,
    cpu_ms: i64,
}

impl Parser {
    /// The workers' parser: in a child process when an extractor binary is configured or this
    /// process is the `switchboard` binary; in-process otherwise.
    pub fn from_settings(k: &KnowledgeSettings) -> Self {
        let timeout = Duration::from_secs(k.extractor_timeout_secs.max(1));
        let limits = Limits { max_input_bytes: k.max_upload_bytes as u64, time_budget: timeout, ..Limits::default() };
        let isolation = k.extractor.clone().or_else(own_binary).map(|program| Isolation {
            program,
            memory_bytes: k.extractor_memory_bytes,
            timeout,
        });
        Parser { limits, isolation }
    }

    /// Parses in this process: for tools and tests that have no `switchboard` binary at hand.
    pub fn in_process(limits: Limits) -> Self {
        Parser { limits, isolation: None }
    }

    /// Says at start-up how documents will be parsed (and fails when the configured extractor
    /// does not exist, rather than failing every document later).
    pub fn check(&self) -> anyhow::Result<()> {
        match &self.isolation {
            Some(iso) if !iso.program.is_file() => {
                anyhow::bail!("knowledge.extractor: {} is not a file", iso.program.display())
            }
            Some(iso) => tracing::info!(
                extractor = %iso.program.display(),
                memory_mib = iso.memory_bytes >> 20,
                timeout_secs = iso.timeout.as_secs(),
                "documents are parsed in a child process"
            ),
            None => tracing::warn!(
                "documents are parsed inside the server process, without memory or time isolation: \
                 set knowledge.extractor to the switchboard binary"
            ),
        }
        Ok(())
    }

    /// Detects, extracts and chunks one document. A document the parsers refuse, or that makes
    /// the child run out of memory or time or crash, is a permanent error with a message for the
    /// operator; a child that cannot be started is transient.
    pub async fn parse(&self, name: &str, media_type: Option<&str>, content: Vec<u8>) -> Result<Parsed, IngestError> {
        match &self.isolation {
            Some(iso) => parse_in_child(iso, &self.limits, name, media_type, content).await,
            None => {
                let (name, media_type, limits) = (name.to_owned(), media_type.map(str::to_owned), self.limits.clone());
                let span = tracing::Span::current();
                let parsed = tokio::task::spawn_blocking(move || {
                    let _entered = span.enter();
                    parse_bytes(&name, media_type.as_deref(), &content, &limits)
                })
                .await;
                match parsed {
                    Ok(Ok(parsed)) => Ok(parsed),
                    Ok(Err(e)) => Err(IngestError::Permanent(e.to_string())),
                    Err(join) => Err(IngestError::Permanent(format!("the parser crashed on this document: {join}"))),
                }
            }
        }
    }
}

/// This executable, when it is the `switchboard` binary (not a test harness embedding the server).
fn own_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    (exe.file_stem()? == "switchboard").then_some(exe)
}

/// `detect -> extract -> chunk`, the same in the child and in-process.
fn parse_bytes(name: &str, media_type: Option<&str>, content: &[u8], limits: &Limits) -> Result<Parsed, ExtractError> {
    let format = detect(content, Some(name), media_type)?;
    let extracted = extract(format, content, limits)?;
    let chunks = chunk(&extracted, &ChunkOptions::default())
        .into_iter()
        .map(|c| ParsedChunk {
            ordinal: c.ordinal,
            heading_path: c.display_path(),
            page: c.page,
            contextual_text: c.contextual_text(),
            text: c.text,
            content_hash: c.content_hash,
            tokens: c.tokens,
        })
        .collect();
    Ok(Parsed { chunks, warnings: extracted.warnings })
}

async fn parse_in_child(
    iso: &Isolation,
    limits: &Limits,
    name: &str,
    media_type: Option<&str>,
    content: Vec<u8>,
) -> Result<Parsed, IngestError> {
    let request = Request {
        name: name.to_owned(),
        media_type: media_type.map(str::to_owned),
        memory_bytes: iso.memory_bytes,
        cpu_secs: iso.timeout.as_secs().max(1),
        limits: limits.into(),
    };
    let mut header = serde_json::to_vec(&request).map_err(|e| IngestError::Transient(e.into()))?;
    header.push(b'\n');
    let mut child = tokio::process::Command::new(&iso.program)
        .arg(WORKER_SUBCOMMAND)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Dropping the child (the deadline passed, the job was cancelled) kills it.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            IngestError::Transient(
                anyhow::Error::new(e).context(format!("starting the document parser {}", iso.program.display())),
            )
        })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let feed = async move {
        stdin.write_all(&header).await?;
        stdin.write_all(&content).await?;
        stdin.shutdown().await
    };
    let run = async { tokio::join!(feed, child.wait_with_output()) };
    let output = match tokio::time::timeout(iso.timeout + iso.timeout.min(WALL_CLOCK_GRACE), run).await {
        // A child that stopped reading (it crashed) breaks the pipe; its exit status says why.
        Ok((_fed, output)) => output.map_err(|e| IngestError::Transient(e.into()))?,
        Err(_) => {
            return Err(IngestError::Permanent(format!(
                "reading the document took longer than the {}-second limit, so the parser was stopped",
                iso.timeout.as_secs()
            )));
        }
    };
    judge(iso, &output)
}

/// Turns the child's exit into a result.
fn judge(iso: &Isolation, output: &std::process::Output) -> Result<Parsed, IngestError> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        // The answer is the last line: anything a library printed before it is ignored.
        let answer = output.stdout.trim_ascii_end().rsplit(|&b| b == b'\n').next().unwrap_or_default();
        return match serde_json::from_slice::<Response>(answer) {
            Ok(Response::Parsed { parsed, usage }) => {
                tracing::info!(peak_rss_kib = usage.peak_rss_kib, cpu_ms = usage.cpu_ms, "document parsed");
                Ok(parsed)
            }
            Ok(Response::Refused { code, message, usage }) => {
                tracing::info!(code, peak_rss_kib = usage.peak_rss_kib, cpu_ms = usage.cpu_ms, "document refused");
                Err(IngestError::Permanent(message))
            }
            Err(e) => Err(IngestError::Permanent(format!("the document parser gave an unreadable answer ({e})"))),
        };
    }
    tracing::warn!(status = %output.status, stderr = %stderr.trim(), "the document parser failed");
    if output.status.code() == Some(i32::from(SETUP_FAILED)) {
        return Err(IngestError::Transient(anyhow::anyhow!("the document parser could not start: {}", stderr.trim())));
    }
    // Rust's allocation-failure handler prints this before aborting; under RLIMIT_AS that is
    // what running out of memory looks like.
    if stderr.contains("memory allocation of") {
        return Err(IngestError::Permanent(format!(
            "reading the document needed more than the {} MiB memory limit (a decompression bomb or an \
             extremely complex file?), so the parser was stopped",
            iso.memory_bytes >> 20
        )));
    }
    if stderr.contains("has overflowed its stack") {
        return Err(IngestError::Permanent(
            "the document is nested too deeply to read (the parser overflowed its stack)".into(),
        ));
    }
    let signal = output.status.signal().and_then(|s| nix::sys::signal::Signal::try_from(s).ok());
    match signal {
        // RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard one.
        Some(nix::sys::signal::Signal::SIGXCPU | nix::sys::signal::Signal::SIGKILL) => {
            Err(IngestError::Permanent(format!(
                "reading the document took more than the {}-second CPU-time limit, so the parser was stopped",
                iso.timeout.as_secs()
            )))
        }
        _ => Err(IngestError::Permanent(format!("the document parser crashed on this document ({})", output.status))),
    }
}

/// `switchboard extract-worker`: confines this process, parses the one document on stdin, and
/// writes the [`Response`] to stdout.
pub fn worker_main() -> ExitCode {
    let mut input = BufReader::new(std::io::stdin().lock());
    let request = match read_request(&mut input) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("extract-worker: {e:#}");
            return ExitCode::from(SETUP_FAILED);
        }
    };
    if let Err(e) = confine(request.memory_bytes, request.cpu_secs) {
        eprintln!("extract-worker: could not set resource limits: {e}");
        return ExitCode::from(SETUP_FAILED);
    }
    let limits = Limits::from(request.limits);
    // One byte past the limit is enough for `extract` to report the file as too large.
    let mut content = Vec::new();
    if let Err(e) = input.take(limits.max_input_bytes.saturating_add(1)).read_to_end(&mut content) {
        eprintln!("extract-worker: reading the document: {e}");
        return ExitCode::from(SETUP_FAILED);
    }
    let outcome =
        catch_unwind(AssertUnwindSafe(|| parse_bytes(&request.name, request.media_type.as_deref(), &content, &limits)));
    let usage = usage();
    let response = match outcome {
        Ok(Ok(parsed)) => Response::Parsed { parsed, usage },
        Ok(Err(e)) => Response::Refused { code: e.code().into(), message: e.to_string(), usage },
        Err(_) => Response::Refused {
            code: "parser_crashed".into(),
            message: "the parser crashed on this document".into(),
            usage,
        },
    };
    let mut out = std::io::stdout().lock();
    // One line (JSON escapes newlines in strings), on a line of its own.
    let written = out
        .write_all(b"\n")
        .and_then(|()| serde_json::to_writer(&mut out, &response).map_err(std::io::Error::from))
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("extract-worker: writing the answer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_request(input: &mut impl BufRead) -> anyhow::Result<Request> {
    let mut line = Vec::new();
    input.take(MAX_REQUEST_LINE).read_until(b'\n', &mut line)?;
    Ok(serde_json::from_slice(&line)?)
}

/// Limits this process can no longer raise: address space, CPU seconds (`SIGXCPU`, then
/// `SIGKILL` a second later), and no core files of untrusted content.
fn confine(memory_bytes: u64, cpu_secs: u64) -> nix::Result<()> {
    use nix::sys::resource::{Resource, setrlimit};
    setrlimit(Resource::RLIMIT_CORE, 0, 0)?;
    setrlimit(Resource::RLIMIT_CPU, cpu_secs, cpu_secs.saturating_add(1))?;
    setrlimit(Resource::RLIMIT_AS, memory_bytes, memory_bytes)
}

fn usage() -> Usage {
    use nix::sys::resource::{UsageWho, getrusage};
    let cpu_ms = getrusage(UsageWho::RUSAGE_SELF).map_or(0, |u| {
        let ms = |t: nix::sys::time::TimeVal| t.tv_sec() * 1000 + t.tv_usec() / 1000;
        ms(u.user_time()) + ms(u.system_time())
    });
    Usage { peak_rss_kib: peak_rss_kib().unwrap_or(0), cpu_ms }
}

/// This process's peak resident set (`VmHWM`). Not `ru_maxrss`: that survives `exec`, so it
/// would report the server's size rather than the parser's.
fn peak_rss_kib() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A stand-in extractor: a shell script, so each way a child can end is a real process ending
    /// that way.
    fn parser(dir: &tempfile::TempDir, body: &str) -> Parser {
        let program = dir.path().join("extractor");
        // No core files from the scripts that kill themselves.
        std::fs::write(&program, format!("#!/bin/sh\nulimit -c 0\n{body}\n")).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        Parser {
            limits: Limits::default(),
            isolation: Some(Isolation { program, memory_bytes: 1 << 30, timeout: Duration::from_secs(1) }),
        }
    }

    async fn outcome(body: &str) -> Result<Parsed, IngestError> {
        let dir = tempfile::tempdir().unwrap();
        parser(&dir, body).parse("a.md", None, b"# Hi\n\nThere.".to_vec()).await
    }

    async fn permanent(body: &str) -> String {
        match outcome(body).await {
            Err(IngestError::Permanent(message)) => message,
            other => panic!("expected a permanent failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_child_past_the_deadline_is_killed() {
        let message = permanent("exec sleep 600").await;
        assert!(message.contains("longer than the 1-second limit"), "{message}");
    }

    #[tokio::test]
    async fn the_way_a_child_died_is_the_documents_error() {
        let oom = permanent("echo 'memory allocation of 1073741824 bytes failed' >&2; kill -ABRT $$").await;
        assert!(oom.contains("1024 MiB memory limit"), "{oom}");
        let cpu = permanent("kill -XCPU $$").await;
        assert!(cpu.contains("1-second CPU-time limit"), "{cpu}");
        let stack = permanent("echo \"thread 'main' has overflowed its stack\" >&2; kill -SEGV $$").await;
        assert!(stack.contains("nested too deeply"), "{stack}");
        let crash = permanent("kill -SEGV $$").await;
        assert!(crash.contains("crashed"), "{crash}");
        let garbage = permanent("cat >/dev/null; echo not json").await;
        assert!(garbage.contains("unreadable answer"), "{garbage}");
        let chatty = permanent(r#"cat >/dev/null; echo '{"debug": 1}'; echo 'Image: x'; echo '{"outcome":"refused","code":"no_text","message":"nothing to read","usage":{"peak_rss_kib":1,"cpu_ms":0}}'"#).await;
        assert_eq!(chatty, "nothing to read", "lines before the answer are ignored");
        let refused = permanent(r#"cat >/dev/null; echo '{"outcome":"refused","code":"no_text","message":"the file is empty","usage":{"peak_rss_kib":1,"cpu_ms":0}}'"#).await;
        assert_eq!(refused, "the file is empty");
    }

    #[tokio::test]
    async fn a_child_that_cannot_start_is_retried_not_blamed_on_the_document() {
        assert!(matches!(outcome("echo 'bad request' >&2; exit 3").await, Err(IngestError::Transient(_))));
        let missing = Parser {
            limits: Limits::default(),
            isolation: Some(Isolation {
                program: "/nonexistent/switchboard".into(),
                memory_bytes: 1 << 30,
                timeout: Duration::from_secs(1),
            }),
        };
        assert!(missing.check().is_err(), "start-up refuses a missing extractor");
        assert!(matches!(missing.parse("a.md", None, b"x".to_vec()).await, Err(IngestError::Transient(_))));
    }

    #[tokio::test]
    async fn the_request_crosses_the_pipe_intact() {
        // The script echoes its stdin to stderr and dies, so the parent shows what it sent.
        let dir = tempfile::tempdir().unwrap();
        let p = parser(&dir, "cat >&2; exit 3");
        let Err(IngestError::Transient(e)) = p.parse("notes.md", Some("text/markdown"), b"BODY".to_vec()).await else {
            panic!("expected the setup failure")
        };
        let sent = e.to_string();
        let (line, body) = sent.trim_start_matches("the document parser could not start: ").split_once('\n').unwrap();
        let request: Request = serde_json::from_str(line).unwrap();
        assert_eq!((request.name.as_str(), request.media_type.as_deref()), ("notes.md", Some("text/markdown")));
        assert_eq!((request.memory_bytes, request.cpu_secs), (1 << 30, 1));
        assert_eq!(Limits::from(request.limits), Limits::default());
        assert_eq!(body, "BODY");
    }

    #[test]
    fn the_worker_parses_in_process_the_same_way() {
        let parsed = parse_bytes("guide.md", None, b"# Guide\n\n## Setup\n\nRun it.", &Limits::default()).unwrap();
        assert_eq!(parsed.chunks.len(), 1);
        assert_eq!(parsed.chunks[0].heading_path, "Guide > Setup");
        assert_eq!(parsed.chunks[0].contextual_text, "Guide > Setup\nRun it.");
        let err = parse_bytes("a.pdf", None, b"plain words", &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "unsupported_format");
    }
}

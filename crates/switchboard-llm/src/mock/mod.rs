//! A scriptable LLM server on loopback speaking OpenAI's Chat Completions
//! wire format (JSON, or SSE `data:` chunks ending with `data: [DONE]`), for
//! tests of this crate and of the crates that call it.
//!
//! Each request to a path ending in `/chat/completions` takes the next
//! queued [`Script`] (or the default one, [`Script::Obedient`] unless
//! changed) and is recorded with its headers and body, so a test can assert
//! what reached the model: that a credential or canary never did, or when a
//! retry came.
//!
//! A path ending in `/embeddings` answers with hashed bag-of-words vectors
//! (each lower-cased word adds to one of `dimensions` coordinates, 64 unless
//! the request asks otherwise): texts that share words are near each other,
//! the same text always gets the same vector, and no model is needed. An
//! error or a hang for it is queued apart, with [`MockLlm::push_embeddings`].
//!
//! ```no_run
//! # async fn run() {
//! use switchboard_llm::mock::{MockLlm, Script};
//! let mock = MockLlm::start().await;
//! mock.push(Script::rate_limited("2"));
//! mock.push(Script::reply("Hello there"));
//! let provider = switchboard_llm::OpenAiProvider::new(mock.openai_config(None)).unwrap();
//! // … run the code under test with `provider` …
//! assert!(mock.requests().iter().all(|r| !r.body.contains("CANARY")));
//! # }
//! ```

mod obedient;
mod script;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use futures::stream::{self, StreamExt};
use serde_json::{Value, json};

pub use script::Script;

use crate::tokens::estimate_tokens;

/// One request as the mock received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// When the request (headers and body) had arrived.
    pub received_at: Instant,
    /// The same moment by the wall clock (to compare with an HTTP-date).
    pub received_wall: SystemTime,
    /// When the response headers went out; `None` while hanging.
    pub responded_at: Option<Instant>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body parsed as JSON, if it was.
    pub json: Option<Value>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Headers and body as one text, for "never contains" assertions.
    pub fn everything(&self) -> String {
        let mut text = format!("{} {}?{}\n", self.method, self.path, self.query.as_deref().unwrap_or(""));
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        text.push_str(&self.body);
        text
    }
}

struct Shared {
    queue: Mutex<VecDeque<Script>>,
    embedding_queue: Mutex<VecDeque<Script>>,
    default: Mutex<Script>,
    requests: Mutex<Vec<RecordedRequest>>,
    usage: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running mock; it stops when dropped.
pub struct MockLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl MockLlm {
    /// Binds 127.0.0.1 on a free port and serves in the background.
    pub async fn start() -> MockLlm {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            embedding_queue: Mutex::new(VecDeque::new()),
            default: Mutex::new(Script::Obedient),
            requests: Mutex::new(Vec::new()),
            usage: AtomicBool::new(true),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let app = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockLlm { addr, shared, server }
    }

    /// `http://127.0.0.1:PORT/v1`, the base URL for [`crate::OpenAiConfig::compatible`].
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// A provider configuration pointing at this mock, sending `api_key` as a bearer token.
    pub fn openai_config(&self, api_key: Option<secrecy::SecretString>) -> crate::OpenAiConfig {
        crate::OpenAiConfig::compatible(self.base_url(), api_key)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a script for the next request without one.
    pub fn push(&self, script: Script) {
        lock(&self.shared.queue).push_back(script);
    }

    /// Queues a script for the next embeddings request: [`Script::Error`] and
    /// [`Script::Hang`] act as for chat; any other script answers normally.
    pub fn push_embeddings(&self, script: Script) {
        lock(&self.shared.embedding_queue).push_back(script);
    }

    /// What requests get once the queue is empty.
    pub fn set_default(&self, script: Script) {
        *lock(&self.shared.default) = script;
    }

    /// Whether responses report usage (streams only when the request asks for it).
    pub fn report_usage(&self, yes: bool) {
        self.shared.usage.store(yes, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }
}

impl Drop for MockLlm {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    let index = {
        let mut requests = lock(&shared.requests);
        requests.push(RecordedRequest {
            received_at: Instant::now(),
            received_wall: SystemTime::now(),
            responded_at: None,
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect(),
            body: text,
            json: parsed.clone(),
        });
        requests.len() - 1
    };
    let response = if method == Method::POST && uri.path().ends_with("/embeddings") {
        let script = lock(&shared.embedding_queue).pop_front();
        embeddings(script, &parsed.unwrap_or(Value::Null)).await
    } else if method != Method::POST || !uri.path().ends_with("/chat/completions") {
        plain(StatusCode::NOT_FOUND, "application/json", json!({"error": {"message": "not found"}}).to_string())
    } else {
        let script = lock(&shared.queue).pop_front().unwrap_or_else(|| lock(&shared.default).clone());
        let request = parsed.unwrap_or(Value::Null);
        respond(script, &request, shared.usage.load(Ordering::SeqCst)).await
    };
    lock(&shared.requests)[index].responded_at = Some(Instant::now());
    response
}

/// The default number of coordinates of a mock embedding.
pub const MOCK_EMBEDDING_DIMENSIONS: usize = 64;

/// Answers an embeddings request (see the module documentation).
async fn embeddings(script: Option<Script>, request: &Value) -> Response {
    match script {
        Some(Script::Error { status, headers, body }) => return error_response(status, headers, body),
        Some(Script::Hang) => std::future::pending::<()>().await,
        _ => {}
    }
    let inputs: Vec<String> = match request.get("input") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many.iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect(),
        _ => {
            let body = json!({"error": {"message": "'input' is required", "type": "invalid_request_error"}});
            return plain(StatusCode::BAD_REQUEST, "application/json", body.to_string());
        }
    };
    let dimensions = request
        .get("dimensions")
        .and_then(Value::as_u64)
        .map_or(MOCK_EMBEDDING_DIMENSIONS, |d| d as usize)
        .clamp(1, 4096);
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": mock_embedding(text, dimensions)}))
        .collect();
    let tokens: u32 = inputs.iter().map(|t| estimate_tokens(t)).sum();
    let body = json!({
        "object": "list",
        "data": data,
        "model": request.get("model").and_then(Value::as_str).unwrap_or("mock-embedding"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    });
    plain(StatusCode::OK, "application/json", body.to_string())
}

/// The mock's vector for `text`: each lower-cased word (letters and digits)
/// counts once in the coordinate its FNV-1a hash picks. Not normalised (the
/// client must do it). A text without words gets a vector of ones.
pub fn mock_embedding(text: &str, dimensions: usize) -> Vec<f32> {
    let size = dimensions.max(1);
    let mut vector = vec![0f32; size];
    let mut any = false;
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let hash = word
            .to_lowercase()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
        vector[(hash % size as u64) as usize] += 1.0;
        any = true;
    }
    if !any {
        vector.fill(1.0);
    }
    vector
}

/// A scripted error: this status, headers and body.
fn error_response(status: u16, headers: Vec<(String, String)>, body: String) -> Response {
    let mut response =
        plain(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "application/json", body);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (header::HeaderName::try_from(name), header::HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn plain(status: StatusCode, content_type: &str, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("valid response")
}

/// Splits `text` into `n` pieces of about equal length (never inside a character).
fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let n = n.clamp(1, chars.len().max(1));
    let size = chars.len().div_ceil(n).max(1);
    let mut out: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// What the mock knows of the request it answers.
struct Ask {
    model: String,
    stream: bool,
    usage: bool,
    prompt_tokens: u32,
}

impl Ask {
    fn new(request: &Value, report_usage: bool) -> Self {
        let stream = request.get("stream").and_then(Value::as_bool).unwrap_or(false);
        let include = request.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false);
        let prompt_tokens = request
            .get("messages")
            .and_then(Value::as_array)
            .map(|m| 3 + m.iter().map(|m| 4 + estimate_tokens(&m.to_string())).sum::<u32>())
            .unwrap_or(0);
        Ask {
            model: request.get("model").and_then(Value::as_str).unwrap_or("mock-model").to_owned(),
            stream,
            usage: report_usage && (!stream || include),
            prompt_tokens,
        }
    }

    fn usage(&self, output: &str) -> Value {
        let completion = estimate_tokens(output);
        json!({"prompt_tokens": self.prompt_tokens, "completion_tokens": completion, "total_tokens": self.prompt_tokens + completion})
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Bytes {
        let chunk = json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion.chunk",
            "created": now_secs(),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        Bytes::from(format!("data: {chunk}\n\n"))
    }

    fn closing(&self, finish: &str, output: &str) -> Vec<Bytes> {
        let mut out = vec![self.chunk(json!({}), Some(finish))];
        if self.usage {
            let chunk = json!({
                "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": now_secs(),
                "model": self.model, "choices": [], "usage": self.usage(output),
            });
            out.push(Bytes::from(format!("data: {chunk}\n\n")));
        }
        out.push(Bytes::from_static(b"data: [DONE]\n\n"));
        out
    }

    fn completion(&self, message: Value, finish: &str, output: &str) -> String {
        let mut body = json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": now_secs(),
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        });
        if self.usage {
            body["usage"] = self.usage(output);
        }
        body.to_string()
    }

    fn text_stream(&self, text: &str, deltas: usize) -> Vec<Bytes> {
        let mut out = vec![self.chunk(json!({"role": "assistant", "content": ""}), None)];
        out.extend(pieces(text, deltas).into_iter().map(|p| self.chunk(json!({"content": p}), None)));
        out
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// How a streamed body ends after its pieces.
enum Ending {
    Complete,
    Abort,
    Silence,
}

/// The last item of a body.
async fn end(ending: Ending) -> Result<Bytes, std::io::Error> {
    match ending {
        Ending::Complete => Ok(Bytes::new()),
        Ending::Abort => {
            // Let the server flush what was sent before breaking the
            // connection, or the client would see the cut at byte 0.
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(std::io::Error::other("cut by script"))
        }
        Ending::Silence => std::future::pending().await,
    }
}

fn sse(pieces: Vec<Bytes>, delay: Duration, ending: Ending) -> Response {
    let body = stream::iter(pieces)
        .then(move |piece| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok::<Bytes, std::io::Error>(piece)
        })
        .chain(stream::once(end(ending)));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .expect("valid response")
}

/// A JSON body that stops half-way.
fn half_json(body: String, ending: Ending) -> Response {
    let body = Bytes::from(body);
    let first = body.slice(..body.len() / 2);
    let body = stream::once(async move { Ok::<Bytes, std::io::Error>(first) }).chain(stream::once(end(ending)));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .expect("valid response")
}

async fn respond(script: Script, request: &Value, report_usage: bool) -> Response {
    let ask = Ask::new(request, report_usage);
    match script {
        Script::Obedient => Box::pin(respond(obedient::respond(request), request, report_usage)).await,
        Script::Hang => std::future::pending().await,
        Script::Error { status, headers, body } => error_response(status, headers, body),
        Script::Reply { text, deltas, delay } => {
            if ask.stream {
                let mut out = ask.text_stream(&text, deltas);
                out.extend(ask.closing("stop", &text));
                sse(out, delay, Ending::Complete)
            } else {
                if !delay.is_zero() {
                    tokio::time::sleep(delay * deltas as u32).await;
                }
                let message = json!({"role": "assistant", "content": text});
                plain(StatusCode::OK, "application/json", ask.completion(message, "stop", &text))
            }
        }
        Script::ToolCalls { calls, fragments } => {
            let output: String = calls.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>().join(" ");
            let ids: Vec<String> = (0..calls.len()).map(|i| format!("call_mock_{i}")).collect();
            if ask.stream {
                let mut out = vec![ask.chunk(json!({"role": "assistant", "content": null}), None)];
                for (i, (name, _)) in calls.iter().enumerate() {
                    out.push(ask.chunk(
                        json!({"tool_calls": [{"index": i, "id": ids[i], "type": "function", "function": {"name": name, "arguments": ""}}]}),
                        None,
                    ));
                }
                let split: Vec<Vec<String>> = calls.iter().map(|(_, a)| pieces(a, fragments)).collect();
                let rounds = split.iter().map(Vec::len).max().unwrap_or(0);
                for round in 0..rounds {
                    for (i, parts) in split.iter().enumerate() {
                        if let Some(part) = parts.get(round) {
                            out.push(
                                ask.chunk(json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]}), None),
                            );
                        }
                    }
                }
                out.extend(ask.closing("tool_calls", &output));
                sse(out, Duration::ZERO, Ending::Complete)
            } else {
                let tool_calls: Vec<Value> = calls
                    .iter()
                    .zip(&ids)
                    .map(|((name, arguments), id)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}))
                    .collect();
                let message = json!({"role": "assistant", "content": null, "tool_calls": tool_calls});
                plain(StatusCode::OK, "application/json", ask.completion(message, "tool_calls", &output))
            }
        }
        Script::Cut { text, deltas, after, abort } => {
            let ending = if abort { Ending::Abort } else { Ending::Complete };
            if ask.stream {
                let out: Vec<Bytes> = ask.text_stream(&text, deltas).into_iter().take(after + 1).collect();
                sse(out, Duration::ZERO, ending)
            } else {
                let message = json!({"role": "assistant", "content": text});
                half_json(ask.completion(message, "stop", &text), ending)
            }
        }
        Script::Stall { text, deltas, after } => {
            if ask.stream {
                let out: Vec<Bytes> = ask.text_stream(&text, deltas).into_iter().take(after + 1).collect();
                sse(out, Duration::ZERO, Ending::Silence)
            } else {
                let message = json!({"role": "assistant", "content": text});
                half_json(ask.completion(message, "stop", &text), Ending::Silence)
            }
        }
    }
}

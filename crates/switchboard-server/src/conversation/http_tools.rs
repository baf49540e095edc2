//! Tenant-defined HTTP tools: what an agent's configuration says about them,
//! and one call made through the SSRF-safe egress client.
//!
//! A tool is a fixed endpoint the organization chose: the model supplies only
//! the arguments, never the host. Arguments named in the URL template are
//! percent-encoded into the path or query; the rest go in the query string
//! (GET, DELETE) or a JSON body (POST, PUT, PATCH). Header values may carry an
//! organization secret (`{secret}`), opened at the moment of the call; a
//! response that echoes the secret has it replaced before the model sees it.
//!
//! Every request goes through `[tools]`' address policy: the resolved
//! address and every redirect target are checked, and loopback, private,
//! link-local and metadata addresses are refused unless allowed (RELIABILITY
//! L4). Each call has a timeout and a response size cap.

use std::time::Duration;

use axum::http::Method;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchboard_llm::ToolSpec;
use switchboard_store::Tenant;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// The tools of one agent besides the built-in `search_knowledge` and `handoff_to_human`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSettings {
    /// Offer `create_ticket`: the model files a ticket for the team, linked to
    /// the conversation (listed at `/v1/tickets`). Default true.
    #[serde(default = "yes")]
    pub create_ticket: bool,
    /// The organization's own HTTP endpoints the model may call.
    #[serde(default)]
    pub http: Vec<HttpTool>,
}

fn yes() -> bool {
    true
}

impl Default for ToolSettings {
    fn default() -> Self {
        Self { create_ticket: true, http: Vec::new() }
    }
}

impl ToolSettings {
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }

    pub fn find(&self, name: &str) -> Option<&HttpTool> {
        self.http.iter().find(|t| t.name == name)
    }

    /// The secrets the tools' headers name.
    pub fn secret_names(&self) -> impl Iterator<Item = &str> {
        self.http.iter().flat_map(|t| t.headers.iter().filter_map(|h| h.secret.as_deref()))
    }
}

/// One endpoint of the organization's, offered to the model as a function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpTool {
    /// The function name the model calls: 1-64 of `[a-z0-9_]`, starting with a letter.
    pub name: String,
    /// What the tool does, for the model to decide when to call it.
    pub description: String,
    /// JSON schema of the arguments object; calls whose arguments fail it are refused.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// GET (default), POST, PUT, PATCH or DELETE.
    #[serde(default = "get")]
    pub method: String,
    /// `https://shop.example/api/orders/{order_id}`: `{name}` takes the
    /// argument of that name, percent-encoded; placeholders only after the host.
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<ToolHeader>,
    /// Each call waits for a person's approval (`/v1/approvals`) before it runs.
    /// Default: true for every method but GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side_effects: Option<bool>,
    /// 1 to 30 seconds (default 10), redirects and the body included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u32>,
}

/// A request header; `{secret}` in `value` is replaced by the named secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolHeader {
    pub name: String,
    /// Default `{secret}`.
    #[serde(default = "secret_placeholder")]
    pub value: String,
    /// The organization secret (see `/v1/secrets`) that fills `{secret}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn empty_object() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
}

fn get() -> String {
    "GET".into()
}

fn secret_placeholder() -> String {
    "{secret}".into()
}

/// Names the built-in tools take.
pub const RESERVED_NAMES: [&str; 3] = ["search_knowledge", "handoff_to_human", "create_ticket"];
const MAX_TOOLS: usize = 20;
const MAX_HEADERS: usize = 20;
const DEFAULT_TIMEOUT_SECS: u32 = 10;
/// Headers the client sets itself, or that would change where or how the request goes.
const OWN_HEADERS: [&str; 8] =
    ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer", "proxy-authorization"];

impl ToolSettings {
    pub fn validate(mut self) -> Result<Self, ApiError> {
        if self.http.len() > MAX_TOOLS {
            return Err(ApiError::invalid(format!("`tools.http` holds at most {MAX_TOOLS} tools")));
        }
        self.http = self
            .http
            .into_iter()
            .enumerate()
            .map(|(i, tool)| tool.validate(&format!("tools.http[{i}]")))
            .collect::<Result<_, _>>()?;
        for (i, tool) in self.http.iter().enumerate() {
            if self.http[..i].iter().any(|t| t.name == tool.name) {
                return Err(ApiError::invalid(format!("two tools are named `{}`", tool.name)));
            }
        }
        Ok(self)
    }
}

impl HttpTool {
    fn validate(mut self, at: &str) -> Result<Self, ApiError> {
        let invalid = |what: String| ApiError::invalid(format!("`{at}.{what}"));
        let name_ok = (1..=64).contains(&self.name.len())
            && self.name.as_bytes()[0].is_ascii_lowercase()
            && self.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err(invalid("name` must be 1-64 of a-z, 0-9 and _, starting with a letter".into()));
        }
        if RESERVED_NAMES.contains(&self.name.as_str()) {
            return Err(invalid(format!("name` `{}` is a built-in tool's", self.name)));
        }
        self.description = self.description.trim().to_owned();
        if self.description.is_empty() || self.description.chars().count() > 1000 {
            return Err(invalid("description` must be 1 to 1000 characters".into()));
        }
        if self.parameters.get("type").and_then(Value::as_str) != Some("object") {
            return Err(invalid("parameters` must be a JSON schema of `type` object".into()));
        }
        if serde_json::to_string(&self.parameters).map_or(0, |s| s.len()) > 20_000 {
            return Err(invalid("parameters` must be at most 20000 bytes of JSON".into()));
        }
        self.spec().map_err(|e| invalid(format!("parameters` is not a valid JSON schema: {e}")))?;
        self.method = self.method.trim().to_ascii_uppercase();
        if !matches!(self.method.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE") {
            return Err(invalid("method` must be GET, POST, PUT, PATCH or DELETE".into()));
        }
        self.url = self.url.trim().to_owned();
        check_template(&self.url).map_err(|e| invalid(format!("url` {e}")))?;
        let properties = self.parameters.get("properties").and_then(Value::as_object);
        for name in placeholders(&self.url) {
            if !properties.is_some_and(|p| p.contains_key(name)) {
                return Err(invalid(format!("url` uses `{{{name}}}`, which `parameters` does not define")));
            }
        }
        if self.headers.len() > MAX_HEADERS {
            return Err(invalid(format!("headers` holds at most {MAX_HEADERS} headers")));
        }
        for header in &self.headers {
            let name_ok = HeaderName::from_bytes(header.name.as_bytes()).is_ok();
            if !name_ok || OWN_HEADERS.contains(&header.name.to_ascii_lowercase().as_str()) {
                return Err(invalid(format!("headers` cannot set `{}`", header.name)));
            }
            if header.value.len() > 4096 || HeaderValue::from_str(&header.value).is_err() {
                return Err(invalid(format!("headers`: the value of `{}` is not a valid header value", header.name)));
            }
            match &header.secret {
                Some(secret) if !crate::routes::secrets::is_secret_name(secret) => {
                    return Err(invalid(format!("headers`: `{secret}` is not a secret name")));
                }
                Some(_) if !header.value.contains("{secret}") => {
                    return Err(invalid(format!("headers`: the value of `{}` must hold `{{secret}}`", header.name)));
                }
                None if header.value.contains("{secret}") => {
                    return Err(invalid(format!(
                        "headers`: `{}` uses `{{secret}}` but names no `secret`",
                        header.name
                    )));
                }
                _ => {}
            }
        }
        if self.timeout_secs.is_some_and(|t| !(1..=30).contains(&t)) {
            return Err(invalid("timeout_secs` must be 1 to 30".into()));
        }
        Ok(self)
    }

    /// Whether a call must be approved by a person first.
    pub fn needs_approval(&self) -> bool {
        self.side_effects.unwrap_or(self.method != "GET")
    }

    /// The function the model is offered.
    pub fn spec(&self) -> Result<ToolSpec, switchboard_llm::LlmError> {
        let mut description = self.description.clone();
        if self.needs_approval() {
            description.push_str(" (A person on the team must approve each call before it runs.)");
        }
        ToolSpec::new(&self.name, description, self.parameters.clone())
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS)))
    }
}

/// The `{name}` placeholders of a URL template, in order.
fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        match rest.find('}') {
            Some(close) => {
                out.push(&rest[..close]);
                rest = &rest[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// An http(s) URL whose scheme, host and port are fixed: placeholders only
/// after the path has begun, each a plain name.
fn check_template(template: &str) -> Result<(), String> {
    if template.len() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    if template.matches('{').count() != template.matches('}').count() {
        return Err("has an unclosed `{`".into());
    }
    for name in placeholders(template) {
        let ok = !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            return Err(format!("has a bad placeholder `{{{name}}}`"));
        }
    }
    let filled = template.replace(['{', '}'], "");
    let url = url::Url::parse(&filled).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http or https URL with a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold credentials (use a header with a secret)".into());
    }
    if let Some(open) = template.find('{') {
        let authority = template[..open].split_once("://").map_or("", |(_, rest)| rest);
        if !authority.contains(['/', '?']) {
            return Err("may use placeholders only in the path and query, never in the host".into());
        }
    }
    Ok(())
}

/// A scalar argument as URL text; objects and arrays as JSON.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The request for one call: the URL filled in, the rest of the arguments in
/// the query or the body. Secrets are not in it yet.
pub fn build_request(
    tool: &HttpTool,
    arguments: &Map<String, Value>,
) -> Result<(Method, url::Url, Option<Bytes>), String> {
    let used = placeholders(&tool.url);
    let mut filled = String::with_capacity(tool.url.len());
    let mut rest = tool.url.as_str();
    while let Some(open) = rest.find('{') {
        filled.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c).ok_or("unclosed placeholder")?;
        let name = &rest[open + 1..close];
        let value = arguments.get(name).map(as_text).unwrap_or_default();
        // "." and ".." would be dot segments, which URL parsing resolves away.
        if value == "." || value == ".." {
            return Err(format!("`{name}` cannot be `{value}`"));
        }
        // Every byte outside unreserved characters is encoded: a value cannot
        // add a path segment, a query parameter, a fragment or an authority.
        filled.extend(url::form_urlencoded::byte_serialize(value.as_bytes()).map(|s| s.replace('+', "%20")));
        rest = &rest[close + 1..];
    }
    filled.push_str(rest);
    let mut url = url::Url::parse(&filled).map_err(|e| format!("the URL could not be built: {e}"))?;
    let method = Method::from_bytes(tool.method.as_bytes()).map_err(|e| e.to_string())?;
    let others: Map<String, Value> =
        arguments.iter().filter(|(k, _)| !used.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    let body = if matches!(method, Method::GET | Method::DELETE) {
        if !others.is_empty() {
            let mut query = url.query_pairs_mut();
            for (k, v) in &others {
                query.append_pair(k, &as_text(v));
            }
        }
        None
    } else {
        Some(Bytes::from(serde_json::to_vec(&Value::Object(others)).map_err(|e| e.to_string())?))
    };
    Ok((method, url, body))
}

/// How a call ended, in words for the model and the operator.
pub struct CallResult {
    /// The tool answered (any status); false: no answer (refused, timeout, network).
    pub answered: bool,
    pub text: String,
}

/// Makes one call: secrets opened and put in their headers, the request sent
/// through the tools' egress client, the response read up to the cap.
pub async fn call(state: &AppState, t: &Tenant, tool: &HttpTool, arguments: &Map<String, Value>) -> CallResult {
    let failed = |text: String| CallResult { answered: false, text };
    let (method, url, body) = match build_request(tool, arguments) {
        Ok(parts) => parts,
        Err(e) => return failed(format!("The call could not be made: {e}")),
    };
    let mut headers = HeaderMap::new();
    let mut secrets = Vec::new();
    for header in &tool.headers {
        let mut value = header.value.clone();
        if let Some(name) = &header.secret {
            let opened = crate::secrets::tenant_secret(state.store.as_ref(), &state.sealer, t, name).await;
            let Ok(Some(secret)) = opened else {
                tracing::warn!(tool = tool.name, secret = name, "a tool's secret could not be read");
                return failed(format!("The call could not be made: the secret `{name}` is missing."));
            };
            value = value.replace("{secret}", secret.expose_secret());
            secrets.push(secret);
        }
        let (Ok(name), Ok(mut value)) = (HeaderName::from_bytes(header.name.as_bytes()), HeaderValue::from_str(&value))
        else {
            return failed(format!("The call could not be made: the header `{}` is not valid.", header.name));
        };
        value.set_sensitive(header.secret.is_some());
        headers.append(name, value);
    }
    if body.is_some() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json, text/*;q=0.9, */*;q=0.5"));
    let request = switchboard_egress::Request {
        method,
        url,
        headers,
        body,
        max_body_bytes: Some(state.settings.tools.max_response_bytes),
    };
    let sent = tokio::time::timeout(tool.timeout(), state.tool_egress.send(request)).await;
    let response = match sent {
        Err(_) => return failed(format!("The call timed out after {} s.", tool.timeout().as_secs())),
        Ok(Err(e)) => {
            tracing::info!(tool = tool.name, error = %e, "a tool call was not made");
            return failed(format!("The call failed: {e}"));
        }
        Ok(Ok(response)) => response,
    };
    let mut text = format!("HTTP {}\n{}", response.status.as_u16(), String::from_utf8_lossy(&response.body));
    // A tool that echoes its credentials must not hand them to the model (RELIABILITY L2).
    for secret in &secrets {
        let secret = secret.expose_secret();
        if !secret.is_empty() {
            text = text.replace(secret, "[secret]");
        }
    }
    CallResult { answered: true, text }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tool(url: &str, method: &str) -> HttpTool {
        let value = json!({
            "name": "order_status",
            "description": "Look up an order.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}, "note": {"type": "string"}}},
            "method": method,
            "url": url,
        });
        serde_json::from_value::<HttpTool>(value).unwrap()
    }

    #[test]
    fn hosts_are_fixed_and_placeholders_must_be_parameters() {
        assert!(tool("https://shop.example/api/orders/{order_id}", "GET").validate("t").is_ok());
        assert!(tool("https://shop.example/api?id={order_id}", "get").validate("t").is_ok());
        for bad in [
            "https://{order_id}/x",
            "https://shop.example{order_id}",
            "http://{order_id}",
            "{order_id}",
            "file:///etc/passwd",
            "gopher://shop.example/x",
            "https://user:pw@shop.example/x",
            "https://shop.example/{missing}",
            "https://shop.example/{order_id",
        ] {
            assert!(tool(bad, "GET").validate("t").is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn arguments_cannot_leave_their_place_in_the_url() {
        let t = tool("https://shop.example/api/orders/{order_id}", "GET").validate("t").unwrap();
        let args = json!({"order_id": "../../admin?x=1#@evil.example/", "note": "a b&c=d"});
        let (method, url, body) = build_request(&t, args.as_object().unwrap()).unwrap();
        assert_eq!(method, Method::GET);
        assert!(body.is_none());
        assert_eq!(url.host_str(), Some("shop.example"));
        assert_eq!(url.path(), "/api/orders/..%2F..%2Fadmin%3Fx%3D1%23%40evil.example%2F");
        assert_eq!(url.query(), Some("note=a+b%26c%3Dd"));
        assert!(url.fragment().is_none());
        let up = json!({"order_id": ".."});
        assert!(build_request(&t, up.as_object().unwrap()).is_err(), "no way up the path");
    }

    #[test]
    fn a_post_sends_the_other_arguments_as_json_and_needs_approval_by_default() {
        let t = tool("https://shop.example/api/orders/{order_id}/refund", "POST").validate("t").unwrap();
        assert!(t.needs_approval());
        assert!(!tool("https://shop.example/x", "GET").validate("t").unwrap().needs_approval());
        let args = json!({"order_id": "A1", "note": "broken"});
        let (method, url, body) = build_request(&t, args.as_object().unwrap()).unwrap();
        assert_eq!((method, url.as_str()), (Method::POST, "https://shop.example/api/orders/A1/refund"));
        assert_eq!(serde_json::from_slice::<Value>(&body.unwrap()).unwrap(), json!({"note": "broken"}));
    }

    #[test]
    fn built_in_names_and_client_headers_are_refused() {
        let mut t = tool("https://shop.example/x", "GET");
        t.name = "create_ticket".into();
        assert!(t.validate("t").is_err());
        let mut t = tool("https://shop.example/x", "GET");
        t.headers = vec![ToolHeader { name: "Host".into(), value: "evil.example".into(), secret: None }];
        assert!(t.validate("t").is_err());
        let mut t = tool("https://shop.example/x", "GET");
        t.headers = vec![ToolHeader { name: "Authorization".into(), value: "Bearer {secret}".into(), secret: None }];
        assert!(t.validate("t").is_err(), "a placeholder without a secret");
    }
}

//! OpenAI-compatible Embeddings (`POST …/embeddings`): OpenAI, Azure OpenAI,
//! Ollama, vLLM, llama.cpp's server, text-embeddings-inference, a gateway.
//!
//! Same guarantees as the chat provider (it shares its client, deadlines,
//! body limit, key scrubbing and error types): one attempt per call, every
//! failure a typed [`LlmError`]. What comes back is checked before anyone
//! stores it: one vector per input, in input order (by `index`, not by
//! position), all of one length, finite, and L2-normalised here so a dot
//! product is the cosine whatever the server did.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{Inner, OpenAiConfig, read_limited};
use crate::error::LlmError;

/// An Embeddings endpoint. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct OpenAiEmbeddings {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OpenAiEmbeddings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbeddings").field("endpoint", &self.inner.endpoint).finish_non_exhaustive()
    }
}

/// The vectors of one call, and what the provider counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// One unit vector per input, in input order.
    pub vectors: Vec<Vec<f32>>,
    /// Input tokens as the provider reported them.
    pub input_tokens: Option<u32>,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    input: &'a [String],
    encoding_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u32>,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
    #[serde(default)]
    usage: Option<ResponseUsage>,
}

#[derive(Deserialize)]
struct Item {
    index: usize,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct ResponseUsage {
    #[serde(default)]
    prompt_tokens: Option<u32>,
}

impl OpenAiEmbeddings {
    /// `config` as for chat; its path is turned into the Embeddings path
    /// ([`OpenAiConfig::for_embeddings`]).
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        Ok(OpenAiEmbeddings { inner: Arc::new(Inner::new(config.for_embeddings())?) })
    }

    /// The endpoint's URL without its query.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// Embeds `inputs` with `model`. `dimensions` asks a model that can
    /// shorten its vectors (OpenAI's text-embedding-3) for that many; left out
    /// when `None`, as many servers reject the field.
    pub async fn embed(&self, model: &str, inputs: &[String], dimensions: Option<u32>) -> Result<Embeddings, LlmError> {
        if inputs.is_empty() {
            return Ok(Embeddings { vectors: Vec::new(), input_tokens: Some(0) });
        }
        let inner = &self.inner;
        let deadline = Instant::now() + inner.config.timeouts.total;
        let body = Request { model, input: inputs, encoding_format: "float", dimensions };
        let body = serde_json::to_vec(&body).map_err(|e| LlmError::Protocol(format!("encoding the request: {e}")))?;
        let response = inner.send_body(body, false, deadline).await?;
        let body =
            read_limited(response, inner.config.max_response_bytes, deadline, inner.config.timeouts.idle).await?;
        let parsed: Response = inner.parse_ok_body(&body, "an embeddings response")?;
        let vectors = in_order(parsed.data, inputs.len(), dimensions)?;
        Ok(Embeddings { vectors, input_tokens: parsed.usage.and_then(|u| u.prompt_tokens) })
    }
}

/// The vectors by their `index`, checked and normalised.
fn in_order(items: Vec<Item>, expected: usize, dimensions: Option<u32>) -> Result<Vec<Vec<f32>>, LlmError> {
    let bad = |what: String| LlmError::Protocol(format!("embeddings response: {what}"));
    if items.len() != expected {
        return Err(bad(format!("{} vectors for {expected} inputs", items.len())));
    }
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    let mut length = None;
    for item in items {
        let slot = slots.get_mut(item.index).ok_or_else(|| bad(format!("index {} out of range", item.index)))?;
        if slot.is_some() {
            return Err(bad(format!("index {} twice", item.index)));
        }
        let n = item.embedding.len();
        if n == 0 || *length.get_or_insert(n) != n {
            return Err(bad("vectors of different lengths".into()));
        }
        if let Some(d) = dimensions
            && n != d as usize
        {
            return Err(bad(format!("{n} dimensions where {d} were asked for")));
        }
        let norm = item.embedding.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
        if !norm.is_finite() || norm == 0.0 {
            return Err(bad(format!("vector {} is zero or not finite", item.index)));
        }
        *slot = Some(item.embedding.iter().map(|x| (f64::from(*x) / norm) as f32).collect());
    }
    Ok(slots.into_iter().map(|v| v.unwrap_or_default()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(index: usize, embedding: &[f32]) -> Item {
        Item { index, embedding: embedding.to_vec() }
    }

    #[test]
    fn vectors_come_back_in_input_order_and_normalised() {
        let out = in_order(vec![item(1, &[0.0, 2.0]), item(0, &[3.0, 4.0])], 2, None).unwrap();
        assert_eq!(out, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
    }

    #[test]
    fn a_response_that_does_not_fit_the_request_is_refused() {
        let cases = [
            (vec![item(0, &[1.0])], 2, None, "1 vectors for 2 inputs"),
            (vec![item(0, &[1.0]), item(0, &[1.0])], 2, None, "index 0 twice"),
            (vec![item(0, &[1.0]), item(5, &[1.0])], 2, None, "out of range"),
            (vec![item(0, &[1.0]), item(1, &[1.0, 0.0])], 2, None, "different lengths"),
            (vec![item(0, &[0.0, 0.0])], 1, None, "zero"),
            (vec![item(0, &[f32::NAN, 1.0])], 1, None, "not finite"),
            (vec![item(0, &[1.0, 0.0])], 1, Some(3), "2 dimensions where 3"),
        ];
        for (items, expected, dimensions, why) in cases {
            let error = in_order(items, expected, dimensions).unwrap_err().to_string();
            assert!(error.contains(why), "{error} / {why}");
        }
    }

    #[test]
    fn the_embeddings_path_follows_the_chat_path() {
        let compatible = OpenAiEmbeddings::new(OpenAiConfig::compatible("http://h:8000/v1/", None)).unwrap();
        assert_eq!(compatible.endpoint(), "http://h:8000/v1/embeddings");
        let azure = OpenAiConfig::azure("https://r.openai.azure.com", "emb", "2024-10-21", "k".to_owned().into());
        let azure = OpenAiEmbeddings::new(azure).unwrap();
        assert_eq!(azure.endpoint(), "https://r.openai.azure.com/openai/deployments/emb/embeddings");
        assert_eq!(azure.inner.url.query(), Some("api-version=2024-10-21"));
    }
}

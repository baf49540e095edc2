//! Tools the model may call, and the check of its arguments against each
//! tool's JSON schema.
//!
//! A model's arguments are untrusted input (a prompt injection chooses them as
//! easily as a customer does), so every call is parsed and validated before
//! the pipeline sees it as runnable. Schemas are compiled once, offline (a
//! `$ref` to a URL or a file is refused, never fetched), with `pattern`s run on
//! the linear-time `regex` engine so a tenant's schema cannot stall validation.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::error::LlmError;

/// The most validation errors kept per call (enough to correct, short enough
/// to feed back to the model).
const MAX_REPORTED_ERRORS: usize = 5;

/// A tool: name, description and the JSON schema of its arguments.
#[derive(Clone)]
pub struct ToolSpec {
    name: String,
    description: String,
    parameters: Value,
    validator: Arc<jsonschema::Validator>,
}

impl ToolSpec {
    /// Compiles `parameters` (a JSON schema for the arguments object).
    ///
    /// Names follow OpenAI's rule: 1–64 characters of `[A-Za-z0-9_-]`.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Result<Self, LlmError> {
        let name = name.into();
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_name {
            return Err(LlmError::InvalidToolSchema {
                tool: name,
                detail: "name must be 1-64 of [A-Za-z0-9_-]".into(),
            });
        }
        let validator = jsonschema::options()
            .offline()
            .with_pattern_options(jsonschema::PatternOptions::regex())
            .build(&parameters)
            .map_err(|e| LlmError::InvalidToolSchema { tool: name.clone(), detail: e.to_string() })?;
        Ok(ToolSpec { name, description: description.into(), parameters, validator: Arc::new(validator) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// The JSON schema, as sent to the model.
    pub fn parameters(&self) -> &Value {
        &self.parameters
    }

    /// Parses `arguments` (the JSON text the model wrote) and validates it.
    pub fn check_arguments(&self, arguments: &str) -> Result<Value, ToolCallError> {
        // Some servers send "" for a call without arguments.
        let text = if arguments.trim().is_empty() { "{}" } else { arguments };
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ToolCallError::InvalidJson { tool: self.name.clone(), detail: e.to_string() })?;
        let errors: Vec<String> = self
            .validator
            .iter_errors(&value)
            .take(MAX_REPORTED_ERRORS)
            .map(|e| {
                let path = e.instance_path().to_string();
                if path.is_empty() { e.to_string() } else { format!("{path}: {e}") }
            })
            .collect();
        if errors.is_empty() {
            Ok(value)
        } else {
            Err(ToolCallError::SchemaViolation { tool: self.name.clone(), errors })
        }
    }
}

impl fmt::Debug for ToolSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolSpec")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("parameters", &self.parameters)
            .finish_non_exhaustive()
    }
}

/// Why a tool call cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolCallError {
    /// The model named a tool it was not offered.
    #[error("unknown tool `{name}`")]
    UnknownTool { name: String },
    /// The arguments are not a JSON document.
    #[error("arguments for `{tool}` are not valid JSON: {detail}")]
    InvalidJson { tool: String, detail: String },
    /// The arguments do not match the tool's schema.
    #[error("arguments for `{tool}` do not match its schema: {}", errors.join("; "))]
    SchemaViolation { tool: String, errors: Vec<String> },
}

impl ToolCallError {
    /// A tool-result message for the model explaining the refusal, so it can
    /// correct the call. It quotes only the model's own tool name and the
    /// schema's complaints, never tool output or secrets.
    pub fn feedback(&self) -> String {
        format!("Tool call rejected: {self}. Correct the arguments or answer without this tool.")
    }
}

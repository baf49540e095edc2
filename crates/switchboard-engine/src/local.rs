//! The local embedder: all-MiniLM-L6-v2 (a 6-layer BERT) run on the CPU with
//! candle, tokenized with the `tokenizers` crate.
//!
//! It reproduces sentence-transformers' `SentenceTransformer.encode` for this
//! model: WordPiece tokens truncated at 256, BERT forward pass, mean pooling
//! over real (non-padding) tokens, L2 normalisation. The committed fixture
//! `tests/fixtures/minilm_reference.json` holds sentence-transformers' own
//! vectors and the integration test checks we stay within cosine 0.999.

use std::path::Path;

mod bert;
mod int8;
mod kernels;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use tokenizers::{Encoding, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use self::bert::{Bert, BertConfig, mean_pool_normalize};
use crate::embedder::{EmbedError, Embedder};

/// How the local model turns texts into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalEmbedderOptions {
    /// Longest input in tokens (special tokens included); longer texts are cut.
    pub max_seq_length: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Number format of the linear layers.
    pub precision: Precision,
}

/// How the local model's linear layers compute (attention and layer norms
/// stay in f32 either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// The checkpoint's f32 weights: vectors match sentence-transformers.
    F32,
    /// Weights quantized to int8 at load, activations to 8 bits per token:
    /// faster (AVX-512 VNNI), vectors within 0.998 cosine of f32. The model
    /// id gets an `+int8` suffix to say which one runs.
    Int8,
}

impl Precision {
    /// The name used in settings and in the model id's suffix.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
        }
    }
}

impl LocalEmbedderOptions {
    /// What sentence-transformers does for all-MiniLM-L6-v2: its
    /// `sentence_bert_config.json` sets `max_seq_length` 256 (the
    /// tokenizer.json in the same folder says 128, which sentence-transformers
    /// overrides), and `encode` uses batches of 32.
    pub const SENTENCE_TRANSFORMERS: Self = Self { max_seq_length: 256, batch_size: 32, precision: Precision::F32 };

    /// The same batching with another precision.
    pub const fn with_precision(self, precision: Precision) -> Self {
        Self { precision, ..self }
    }
}

/// The default is [`LocalEmbedderOptions::SENTENCE_TRANSFORMERS`]: vectors
/// must match what sentence-transformers computes for the same model.
impl Default for LocalEmbedderOptions {
    fn default() -> Self {
        Self::SENTENCE_TRANSFORMERS
    }
}

/// all-MiniLM-L6-v2 (or any BERT sentence encoder with mean pooling) loaded
/// from a local folder.
pub struct LocalEmbedder {
    model_id: String,
    dimension: usize,
    tokenizer: Tokenizer,
    pad_id: u32,
    model: Bert,
    device: Device,
    options: LocalEmbedderOptions,
}

const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

impl LocalEmbedder {
    /// Loads the model from `dir`, a folder holding `config.json`,
    /// `tokenizer.json` and `model.safetensors` (what `scripts/fetch-model`
    /// unpacks). The model id is the folder's name.
    pub fn load(dir: &Path, options: LocalEmbedderOptions) -> Result<Self, EmbedError> {
        let started = std::time::Instant::now();
        for file in MODEL_FILES {
            let path = dir.join(file);
            if !path.is_file() {
                return Err(EmbedError::ModelMissing { path });
            }
        }
        let load_err = |reason: String| EmbedError::Load { dir: dir.to_path_buf(), reason };

        let config_text =
            std::fs::read_to_string(dir.join("config.json")).map_err(|e| load_err(format!("config.json: {e}")))?;
        let config: BertConfig =
            serde_json::from_str(&config_text).map_err(|e| load_err(format!("config.json: {e}")))?;
        if options.max_seq_length > config.max_position_embeddings {
            return Err(load_err(format!(
                "max_seq_length {} exceeds the model's {} positions",
                options.max_seq_length, config.max_position_embeddings
            )));
        }

        let tokenizer = load_tokenizer(&dir.join("tokenizer.json"), options)
            .map_err(|e| load_err(format!("tokenizer.json: {e}")))?;
        let pad_id = tokenizer.token_to_id("[PAD]").unwrap_or(config.pad_token_id);

        // Read the weights into memory rather than mmap them: mmap needs
        // `unsafe` (the file could change under us), which the workspace
        // forbids, and 90 MB read once at start-up costs ~50 ms.
        let weights =
            std::fs::read(dir.join("model.safetensors")).map_err(|e| load_err(format!("model.safetensors: {e}")))?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| load_err(format!("model.safetensors: {e}")))?;
        let model = Bert::load(vb, &config, options.precision).map_err(|e| load_err(format!("weights: {e}")))?;

        let mut model_id =
            dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_else(|| "local".to_owned());
        if options.precision != Precision::F32 {
            model_id = format!("{model_id}+{}", options.precision.name());
        }

        tracing::info!(
            model = %model_id,
            dir = %dir.display(),
            dimension = config.hidden_size,
            precision = options.precision.name(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "local embedding model loaded"
        );
        Ok(Self { model_id, dimension: config.hidden_size, tokenizer, pad_id, model, device, options })
    }

    /// Runs one batch: `encodings` are unpadded; we pad to the longest.
    fn embed_batch(&self, encodings: &[&Encoding]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let batch = encodings.len();
        let lengths: Vec<usize> = encodings.iter().map(|e| e.len()).collect();
        let seq_len = lengths.iter().copied().max().unwrap_or(0);
        let mut ids = vec![self.pad_id; batch * seq_len];
        for (row, encoding) in encodings.iter().enumerate() {
            let start = row * seq_len;
            ids[start..start + encoding.len()].copy_from_slice(encoding.get_ids());
        }
        let ids = Tensor::from_vec(ids, (batch, seq_len), &self.device)?;
        let hidden = self.model.forward(&ids, &lengths)?;
        Ok(mean_pool_normalize(&hidden, &lengths)?)
    }
}

impl Embedder for LocalEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // Tokenize everything first (no padding), so batches can be formed
        // from texts of similar length.
        let encodings =
            self.tokenizer.encode_batch_fast(texts.to_vec(), true).map_err(|e| EmbedError::Tokenize(e.to_string()))?;

        // Longest first, as sentence-transformers does: each batch then pads
        // to a length close to all its members, so almost no compute goes to
        // padding tokens. A stable sort keeps equal-length inputs in order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].len()));

        let mut vectors: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(self.options.batch_size.max(1)) {
            let batch: Vec<&Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            for (&i, vector) in chunk.iter().zip(self.embed_batch(&batch)?) {
                vectors[i] = vector;
            }
        }
        Ok(vectors)
    }
}

/// Reads tokenizer.json and replaces its truncation and padding settings.
///
/// The all-MiniLM-L6-v2 tokenizer.json ships `truncation.max_length = 128`
/// and `padding = Fixed(128)`: left alone, every input would be padded to 128
/// tokens (most support sentences have 15–80) and texts between 128 and 256
/// tokens would be cut where sentence-transformers does not cut them. We
/// truncate at `max_seq_length` and pad per batch ourselves.
fn load_tokenizer(path: &Path, options: LocalEmbedderOptions) -> Result<Tokenizer, String> {
    let mut tokenizer = Tokenizer::from_file(path).map_err(|e| e.to_string())?;
    tokenizer
        .with_truncation(Some(TruncationParams {
            direction: TruncationDirection::Right,
            max_length: options.max_seq_length,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
        }))
        .map_err(|e| e.to_string())?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

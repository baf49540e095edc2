//! The BERT encoder forward pass, written for CPU inference of small sentence
//! encoders such as all-MiniLM-L6-v2.
//!
//! candle-transformers' `BertModel` computes the same function (and was this
//! crate's first implementation; both match sentence-transformers), but it
//! leaves no room for the changes that bring candle to PyTorch's speed on a
//! CPU. We keep candle's tensors, matmul (gemm) and layer norm, and change:
//! - query, key and value projections fused into one matmul (one bigger gemm
//!   instead of three small ones, and one thread fork/join instead of three);
//! - bias + GELU in one in-place pass, with a vectorized erf (candle's GELU
//!   calls a scalar erf per value, ~12% of the whole forward pass);
//! - softmax fused with the 1/sqrt(d) scaling and the padding mask, skipping
//!   padding keys entirely, with a vectorized exp, in place;
//! - token type 0 added to the position table once at load time (single
//!   sentences never use type 1).
//!
//! Weights are the standard Hugging Face BERT names, so any BERT checkpoint in
//! safetensors (with or without a `bert.` prefix) loads.

use candle_core::{CpuStorage, CustomOp1, DType, IndexOp, Layout, Module, Shape, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use serde::Deserialize;

use super::Precision;
use super::int8::QuantizedLinear;
use super::kernels::{AddBias, BiasGelu, MaskedSoftmax};

/// The fields of a Hugging Face BERT `config.json` that the forward pass needs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BertConfig {
    pub(crate) vocab_size: usize,
    pub(crate) hidden_size: usize,
    pub(crate) num_hidden_layers: usize,
    pub(crate) num_attention_heads: usize,
    pub(crate) intermediate_size: usize,
    pub(crate) max_position_embeddings: usize,
    pub(crate) type_vocab_size: usize,
    pub(crate) layer_norm_eps: f64,
    #[serde(default)]
    pub(crate) pad_token_id: u32,
    /// Only "gelu" (the exact, erf-based one) is supported.
    pub(crate) hidden_act: String,
    #[serde(default = "absolute")]
    pub(crate) position_embedding_type: String,
}

fn absolute() -> String {
    "absolute".to_owned()
}

pub(crate) struct Bert {
    word_embeddings: Tensor,
    /// Position embeddings with token type 0's embedding already added.
    position_and_type: Tensor,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
}

struct Layer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    up: Dense,
    down: Dense,
    output_norm: LayerNorm,
}

/// A linear layer's weight `[out, in]` and bias `[out]`.
struct Dense {
    weight: Weight,
    bias: Tensor,
}

enum Weight {
    F32(Tensor),
    Int8(QuantizedLinear),
}

/// How a layer is quantized when the model runs in int8. Chosen per layer by
/// what its rounding costs, measured as cosine to sentence-transformers on
/// the reference fixture (mean over its sentences; plain int8 everywhere:
/// 0.99756) and SciFact nDCG@10 (docs/bench/retrieval-int8.md):
/// - the FFN down projection loses the most, from its weights: keeping them
///   in f32 gave 0.99844, a second int8 matrix for their remainder 0.99835
///   (two integer products still cost less than one f32 one), a second pass
///   over its activations' remainder instead only 0.99775; with the weight
///   remainder, SciFact test dense nDCG@10 went from -0.0067 to -0.0036;
/// - the FFN up projection loses the next most, from its activations, but a
///   second activation pass there raised the fixture's cosine (0.99871) and
///   not SciFact (test dense -0.0059), so it stays plain;
/// - the Q/K/V and attention output projections lose almost nothing.
#[derive(Clone, Copy)]
enum Int8 {
    Plain,
    WeightRemainder,
}

impl Dense {
    fn load(vb: &VarBuilder, out_dim: usize, in_dim: usize) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((vb.get((out_dim, in_dim), "weight")?, vb.get(out_dim, "bias")?))
    }

    fn new(weight: Tensor, bias: Tensor, precision: Precision, int8: Int8) -> candle_core::Result<Self> {
        let weight = match precision {
            Precision::F32 => Weight::F32(weight),
            Precision::Int8 => {
                let (out_dim, in_dim) = weight.dims2()?;
                let values = weight.flatten_all()?.to_vec1::<f32>()?;
                Weight::Int8(match int8 {
                    Int8::Plain => QuantizedLinear::new(&values, out_dim, in_dim),
                    Int8::WeightRemainder => QuantizedLinear::with_weight_remainder(&values, out_dim, in_dim),
                })
            }
        };
        Ok(Self { weight, bias })
    }

    /// `x [rows, in] -> [rows, out]` without the bias.
    fn matmul(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match &self.weight {
            Weight::F32(weight) => x.matmul(&weight.t()?),
            Weight::Int8(weight) => x.apply_op1_no_bwd(&Int8Matmul(weight)),
        }
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = self.matmul(x)?;
        y.inplace_op2(&self.bias, &AddBias)?;
        Ok(y)
    }
}

/// `x [rows, in] -> [rows, out]` through the int8 kernel.
struct Int8Matmul<'a>(&'a QuantizedLinear);

impl CustomOp1 for Int8Matmul<'_> {
    fn name(&self) -> &'static str {
        "int8-matmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (rows, width) = layout.shape().dims2()?;
        if width != self.0.in_dim() {
            candle_core::bail!("int8-matmul: input width {width}, layer takes {}", self.0.in_dim());
        }
        let (Some((start, end)), CpuStorage::F32(values)) = (layout.contiguous_offsets(), storage) else {
            candle_core::bail!("int8-matmul: expected contiguous f32 input");
        };
        let y = self.0.forward(&values[start..end]);
        Ok((CpuStorage::F32(y), Shape::from((rows, self.0.out_dim()))))
    }
}

fn layer_norm(vb: VarBuilder, size: usize, eps: f64) -> candle_core::Result<LayerNorm> {
    Ok(LayerNorm::new(vb.get(size, "weight")?, vb.get(size, "bias")?, eps))
}

impl Bert {
    pub(crate) fn load(vb: VarBuilder, config: &BertConfig, precision: Precision) -> candle_core::Result<Self> {
        if config.hidden_act != "gelu" {
            candle_core::bail!("unsupported hidden_act {:?} (only \"gelu\")", config.hidden_act);
        }
        if config.position_embedding_type != "absolute" {
            candle_core::bail!("unsupported position_embedding_type {:?}", config.position_embedding_type);
        }
        if !config.hidden_size.is_multiple_of(config.num_attention_heads) {
            candle_core::bail!("hidden_size is not a multiple of num_attention_heads");
        }
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") { vb.pp("bert") } else { vb };
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;

        let emb = vb.pp("embeddings");
        let word_embeddings = emb.get((config.vocab_size, h), "word_embeddings.weight")?;
        let positions = emb.get((config.max_position_embeddings, h), "position_embeddings.weight")?;
        let types = emb.get((config.type_vocab_size, h), "token_type_embeddings.weight")?;
        let position_and_type = positions.broadcast_add(&types.i(0)?)?;
        let embeddings_norm = layer_norm(emb.pp("LayerNorm"), h, eps)?;

        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let lb = vb.pp(format!("encoder.layer.{i}"));
            let attn = lb.pp("attention");
            let q = Dense::load(&attn.pp("self.query"), h, h)?;
            let k = Dense::load(&attn.pp("self.key"), h, h)?;
            let v = Dense::load(&attn.pp("self.value"), h, h)?;
            let qkv = Dense::new(
                Tensor::cat(&[&q.0, &k.0, &v.0], 0)?,
                Tensor::cat(&[&q.1, &k.1, &v.1], 0)?,
                precision,
                Int8::Plain,
            )?;
            let dense = |vb: VarBuilder, out_dim, in_dim, int8: Int8| {
                let (weight, bias) = Dense::load(&vb, out_dim, in_dim)?;
                Dense::new(weight, bias, precision, int8)
            };
            layers.push(Layer {
                qkv,
                attention_out: dense(attn.pp("output.dense"), h, h, Int8::Plain)?,
                attention_norm: layer_norm(attn.pp("output.LayerNorm"), h, eps)?,
                up: dense(lb.pp("intermediate.dense"), config.intermediate_size, h, Int8::Plain)?,
                down: dense(lb.pp("output.dense"), h, config.intermediate_size, Int8::WeightRemainder)?,
                output_norm: layer_norm(lb.pp("output.LayerNorm"), h, eps)?,
            });
        }
        Ok(Self {
            word_embeddings,
            position_and_type,
            embeddings_norm,
            layers,
            heads: config.num_attention_heads,
            hidden: h,
        })
    }

    /// Token ids `[batch, len]` (right-padded; `lengths[b]` real tokens in row
    /// b) to hidden states `[batch, len, hidden]`. States at padding positions
    /// are meaningless; pool with the mask.
    pub(crate) fn forward(&self, ids: &Tensor, lengths: &[usize]) -> candle_core::Result<Tensor> {
        let (batch, len) = ids.dims2()?;
        let h = self.hidden;
        let words = self.word_embeddings.index_select(&ids.flatten_all()?, 0)?;
        let x = words
            .reshape((batch, len, h))?
            .broadcast_add(&self.position_and_type.narrow(0, 0, len)?)?
            .reshape((batch * len, h))?;
        let mut x = self.embeddings_norm.forward(&x)?;
        for layer in &self.layers {
            x = self.layer_forward(layer, &x, batch, len, lengths)?;
        }
        x.reshape((batch, len, h))
    }

    fn layer_forward(
        &self,
        layer: &Layer,
        x: &Tensor,
        batch: usize,
        len: usize,
        lengths: &[usize],
    ) -> candle_core::Result<Tensor> {
        let (h, heads) = (self.hidden, self.heads);
        let head_dim = h / heads;

        // [batch * len, 3h] -> three [batch, heads, len, head_dim] tensors.
        let qkv = layer.qkv.forward(x)?.reshape((batch, len, 3, heads, head_dim))?;
        let part = |i: usize| qkv.i((.., .., i))?.transpose(1, 2)?.contiguous();
        let (q, k, v) = (part(0)?, part(1)?, part(2)?);

        let scores = q.matmul(&k.t()?)?;
        scores.inplace_op1(&MaskedSoftmax { scale: 1.0 / (head_dim as f32).sqrt(), heads, lengths })?;
        let context = scores.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((batch * len, h))?;

        let attention = layer.attention_out.forward(&context)?;
        let x = layer.attention_norm.forward(&(attention + x)?)?;

        let up = layer.up.matmul(&x)?;
        up.inplace_op2(&layer.up.bias, &BiasGelu)?;
        let down = layer.down.forward(&up)?;
        layer.output_norm.forward(&(down + x)?)
    }
}

/// Mean of the token vectors of each row over its first `lengths[b]` tokens
/// (sentence-transformers' mean pooling with the attention mask), then L2
/// normalisation (its `Normalize` module, torch's `F.normalize`, eps 1e-12).
/// Plain loops: a handful of 384-wide rows per text is no work for tensors.
pub(crate) fn mean_pool_normalize(hidden: &Tensor, lengths: &[usize]) -> candle_core::Result<Vec<Vec<f32>>> {
    let (batch, len, width) = hidden.dims3()?;
    if batch != lengths.len() {
        candle_core::bail!("mean pooling: {batch} rows but {} lengths", lengths.len());
    }
    let values = hidden.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let pooled = values
        .chunks_exact(len * width)
        .zip(lengths)
        .map(|(tokens, &n)| {
            let n = n.min(len);
            let mut mean = vec![0.0f32; width];
            for token in tokens.chunks_exact(width).take(n) {
                for (m, v) in mean.iter_mut().zip(token) {
                    *m += v;
                }
            }
            // sentence-transformers clamps the token count at 1e-9.
            let count = (n as f32).max(1e-9);
            let norm = mean.iter().map(|m| (m / count) * (m / count)).sum::<f32>().sqrt().max(1e-12);
            mean.iter_mut().for_each(|m| *m = *m / count / norm);
            mean
        })
        .collect();
    Ok(pooled)
}

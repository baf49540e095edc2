//! CPU kernels for the two element-wise steps where candle's generic ops cost
//! the most: GELU (candle evaluates `erf` one scalar at a time, ~12% of the
//! forward pass) and the attention softmax (scalar `expf`, plus separate
//! passes for scaling and masking).
//!
//! Both are written as plain loops over `f32` with no calls into libm, so the
//! compiler turns them into SIMD code. The loops run inside
//! `pulp::Arch::dispatch`, which compiles them once more with AVX2/AVX-512
//! enabled and picks the best version for the CPU at run time (safe code:
//! the workspace forbids `unsafe`, so no hand-written intrinsics). Both run in
//! place (no allocation) and split rows across rayon's pool, the pool candle's
//! matmuls use.
//!
//! The approximations are accurate to a few ulp of f32, far below what the
//! model's output can tell apart (see the unit tests).

use candle_core::{CpuStorage, InplaceOp1, InplaceOp2, Layout};
use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

/// Rows handed to one rayon task at least: below this, splitting costs more
/// than it saves.
const MIN_ROWS_PER_TASK: usize = 16;

/// `x += bias` over the last dimension, in place (a linear layer's bias,
/// without the copy candle's `broadcast_add` makes).
pub(crate) struct AddBias;

impl InplaceOp2 for AddBias {
    fn name(&self) -> &'static str {
        "add-bias"
    }

    fn cpu_fwd(
        &self,
        x: &mut CpuStorage,
        x_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<()> {
        for_each_row_with_bias(self.name(), x, x_layout, bias, bias_layout, |v, b| v + b)
    }
}

/// `x = gelu(x + bias)` over the last dimension, in place (the exact, erf
/// based GELU that BERT uses, with the linear layer's bias folded in).
pub(crate) struct BiasGelu;

impl InplaceOp2 for BiasGelu {
    fn name(&self) -> &'static str {
        "bias-gelu"
    }

    fn cpu_fwd(
        &self,
        x: &mut CpuStorage,
        x_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<()> {
        for_each_row_with_bias(self.name(), x, x_layout, bias, bias_layout, |v, b| gelu(v + b))
    }
}

/// Applies `f(value, bias[column])` to every value of a `[rows, width]` x.
fn for_each_row_with_bias(
    op: &str,
    x: &mut CpuStorage,
    x_layout: &Layout,
    bias: &CpuStorage,
    bias_layout: &Layout,
    f: impl Fn(f32, f32) -> f32 + Sync,
) -> candle_core::Result<()> {
    let x = contiguous_f32_mut(x, x_layout, op)?;
    let bias = contiguous_f32(bias, bias_layout, op)?;
    let width = bias.len();
    if width == 0 || x.len() % width != 0 {
        candle_core::bail!("{op}: {} values do not split into rows of {width}", x.len());
    }
    let arch = Arch::new();
    x.par_chunks_mut(width).with_min_len(MIN_ROWS_PER_TASK).for_each(|row| arch.dispatch(BiasRow { row, bias, f: &f }));
    Ok(())
}

/// Attention softmax in place over scores shaped `[batch, heads, len, len]`:
/// `softmax(scale * s)` over the first `lengths[b]` keys of each row, and
/// exactly 0 for the padding keys after them (inputs are padded on the right).
pub(crate) struct MaskedSoftmax<'a> {
    pub(crate) scale: f32,
    pub(crate) heads: usize,
    /// Real (non-padding) tokens of each sequence in the batch.
    pub(crate) lengths: &'a [usize],
}

impl InplaceOp1 for MaskedSoftmax<'_> {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }

    fn cpu_fwd(&self, scores: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let (batch, heads, rows, cols) = layout.shape().dims4()?;
        if batch != self.lengths.len() || heads != self.heads || rows != cols {
            candle_core::bail!("masked-softmax: shape {:?} does not fit", layout.shape());
        }
        let scores = contiguous_f32_mut(scores, layout, "masked-softmax")?;
        let rows_per_seq = heads * rows;
        let arch = Arch::new();
        scores.par_chunks_mut(cols).with_min_len(MIN_ROWS_PER_TASK).enumerate().for_each(|(r, row)| {
            let valid = self.lengths[r / rows_per_seq].min(cols);
            let (keys, padding) = row.split_at_mut(valid);
            arch.dispatch(SoftmaxRow { row: keys, scale: self.scale });
            padding.fill(0.0);
        });
        Ok(())
    }
}

// The bodies handed to `Arch::dispatch` are structs with an
// `#[inline(always)]` `with_simd` (pulp's recommended form): a closure there
// was not always inlined into the AVX-512 version, leaving the loop compiled
// for the baseline SSE2 only.

struct BiasRow<'a, F> {
    row: &'a mut [f32],
    bias: &'a [f32],
    f: &'a F,
}

impl<F: Fn(f32, f32) -> f32> WithSimd for BiasRow<'_, F> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        for (v, b) in self.row.iter_mut().zip(self.bias) {
            *v = (self.f)(*v, *b);
        }
    }
}

struct SoftmaxRow<'a> {
    row: &'a mut [f32],
    scale: f32,
}

impl WithSimd for SoftmaxRow<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        softmax_in_place(self.row, self.scale);
    }
}

/// Lanes of the accumulators in reductions: independent partial results the
/// compiler can keep in one SIMD register (f32 sums may not be reordered
/// otherwise, which would keep the loop scalar).
const LANES: usize = 16;

#[inline(always)]
fn softmax_in_place(row: &mut [f32], scale: f32) {
    let max = lane_reduce(row, f32::NEG_INFINITY, f32::max);
    // Exponentials first, sum second: one loop doing both does not vectorize.
    for v in row.iter_mut() {
        *v = exp((*v - max) * scale);
    }
    let inv = 1.0 / lane_reduce(row, 0.0, |a, b| a + b);
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// Folds `values` with `f` through `LANES` independent accumulators.
#[inline(always)]
fn lane_reduce(values: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a = f(*a, v);
        }
    }
    let tail = chunks.remainder().iter().fold(init, |a, &v| f(a, v));
    acc.iter().fold(tail, |a, &v| f(a, v))
}

fn contiguous_f32_mut<'a>(
    storage: &'a mut CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a mut [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: input must be contiguous");
    };
    match storage {
        CpuStorage::F32(values) => Ok(&mut values[start..end]),
        _ => candle_core::bail!("{op}: expected f32 values"),
    }
}

fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> candle_core::Result<&'a [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: input must be contiguous");
    };
    match storage {
        CpuStorage::F32(values) => Ok(&values[start..end]),
        _ => candle_core::bail!("{op}: expected f32 values"),
    }
}

/// GELU with the exact erf form: `0.5 x (1 + erf(x / sqrt 2))`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// erf for f32 as a rational function of x (Eigen's and XLA's `erf` for
/// float): odd degree-13 numerator over even degree-8 denominator, on x
/// clamped to [-4, 4] (beyond which erf is ±1 in f32). Max error ~1e-7.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024_1e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_6e-3;
    p = p * x2 - 1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329e-3;
    q = q * x2 - 1.426_474e-2;
    x * p / q
}

/// e^x for f32 (Cephes' `expf`): x = n ln2 + r with |r| <= ln2/2, e^r by a
/// degree-7 polynomial, 2^n by building the float's exponent bits. Inputs
/// below -87 give ~1e-38 rather than 0, which no softmax sum can notice.
#[inline(always)]
fn exp(x: f32) -> f32 {
    // Adding 1.5 * 2^23 rounds to an integer in the low mantissa bits,
    // without a (non-vectorizable) call to `round`.
    const SHIFT: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + SHIFT;
    let n = shifted - SHIFT;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    let n_int = shifted.to_bits() as i32 - SHIFT.to_bits() as i32;
    let two_n = f32::from_bits(((n_int + 127) << 23) as u32);
    e_r * two_n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        // erf at a few points, from a 50-digit reference.
        let cases = [
            (0.0, 0.0),
            (0.1, 0.112_462_916_018_284_9),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (1.5, 0.966_105_146_475_310_7),
            (2.0, 0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
            (5.0, 1.0),
        ];
        for (x, want) in cases {
            for sign in [1.0f64, -1.0] {
                let got = f64::from(erf((sign * x) as f32));
                assert!((got - sign * want).abs() < 3e-7, "erf({}) = {got}", sign * x);
            }
        }
    }

    #[test]
    fn exp_matches_std_within_a_few_ulp() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = x.exp();
            let got = exp(x);
            assert!(((got - want) / want).abs() < 4e-7, "exp({x}) = {got}, std {want}");
            x += 0.0137;
        }
    }

    #[test]
    fn softmax_ignores_padding_keys() {
        let mut row = [1.0f32, 2.0, 3.0];
        softmax_in_place(&mut row, 1.0);
        let e = [1.0f32.exp(), 2.0f32.exp(), 3.0f32.exp()];
        let s: f32 = e.iter().sum();
        for (got, want) in row.iter().zip(e.iter().map(|v| v / s)) {
            assert!((got - want).abs() < 1e-6);
        }
    }
}

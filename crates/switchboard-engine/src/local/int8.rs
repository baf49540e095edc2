//! Linear layers with int8 weights: `y = x W^T` computed as an integer
//! matrix product, for the quantized embedder ([`super::Precision::Int8`]).
//!
//! - **Weights** are quantized once at load, per output channel and
//!   symmetrically: `W[c, k] ~ sw[c] * q[c, k]`, `q` in [-127, 127].
//! - **Activations** are quantized per row (per token) at run time,
//!   asymmetrically to 8 bits: `x[r, k] ~ lo[r] + sx[r] * a[r, k]`, `a` in
//!   [0, 255], where lo is the row's minimum. Per-token ranges keep the
//!   error small where BERT's activations have outliers in a few tokens.
//! - Then `y[r, c] = sw[c] * (sx[r] * sum_k a q + lo[r] * sum_k q)`: an
//!   exact i32 dot product of unsigned by signed bytes, and a per-column sum
//!   of the weights computed at load.
//!
//! The unsigned-by-signed byte product is what AVX-512 VNNI's `vpdpbusd`
//! computes (64 multiply-adds per instruction into 16 i32 lanes, without the
//! 16-bit saturation of the older `vpmaddubsw` route), so weights are packed
//! in its layout: for each block of 16 output channels and each group of 4
//! inputs, 64 bytes holding channel 0's 4 weights, then channel 1's, and so
//! on. CPUs without VNNI run a portable loop over the same layout with the
//! same integer results.
//!
//! This is the one place in the workspace with `unsafe`: Rust lets a
//! function compiled for CPU features the binary does not assume be called
//! only from `unsafe`, after the program has checked that the CPU has them.
//! Everything inside the kernel is safe code (no pointers; loads are
//! `bytemuck` casts of arrays), and the call is made only after
//! `is_x86_feature_detected!` says yes. No library offers a safe VNNI int8
//! matrix product: candle's quantized matmul (Q8_0) was measured slower than
//! the fp32 one here (docs/bench/embedding.md), gemm has no integer kernels,
//! and pulp wraps no VNNI instruction.

use rayon::prelude::*;

/// Output channels per packed block: one 512-bit register of i32 lanes.
const BLOCK: usize = 16;
/// Blocks one kernel call keeps in registers side by side.
const BLOCKS_PER_TILE: usize = 4;
/// Inputs per packed group: `vpdpbusd` sums 4 byte products per lane.
const GROUP: usize = 4;
/// Rows the VNNI kernel computes at once: 6 x 4 accumulators, 4 weight
/// registers and a broadcast take 29 of the 32 vector registers.
const ROWS_PER_TILE: usize = 6;
/// Rows handed to one rayon task at least.
const MIN_ROWS_PER_TASK: usize = 24;

/// A `[out, in]` weight matrix quantized to i8 per output channel.
pub(crate) struct QuantizedLinear {
    out_dim: usize,
    in_dim: usize,
    /// Input groups of 4 (`in_dim` rounded up).
    groups: usize,
    /// Output blocks of 16 (`out_dim` rounded up to whole tiles).
    blocks: usize,
    /// `[block][group]`: 16 channels x 4 weights, channel-major.
    packed: Vec<[i8; 64]>,
    /// Per output channel (padded to `blocks * 16`): `sw` and `sum_k q`.
    scales: Vec<f32>,
    column_sums: Vec<f32>,
    /// See [`QuantizedLinear::with_weight_remainder`].
    remainder: Option<Box<QuantizedLinear>>,
}

/// Activations quantized per row, four bytes per i32 word (little-endian,
/// the order `vpdpbusd` pairs them with a channel's four weights).
struct QuantizedRows {
    rows: usize,
    groups: usize,
    words: Vec<i32>,
    scale: Vec<f32>,
    low: Vec<f32>,
}

impl QuantizedLinear {
    /// Quantizes a row-major `[out_dim, in_dim]` weight matrix.
    pub(crate) fn new(weight: &[f32], out_dim: usize, in_dim: usize) -> Self {
        assert_eq!(weight.len(), out_dim * in_dim, "weight shape");
        let groups = in_dim.div_ceil(GROUP);
        let blocks = out_dim.div_ceil(BLOCK * BLOCKS_PER_TILE) * BLOCKS_PER_TILE;
        let padded_out = blocks * BLOCK;
        let mut packed = vec![[0i8; 64]; blocks * groups];
        let mut scales = vec![0.0f32; padded_out];
        let mut column_sums = vec![0.0f32; padded_out];
        for (c, row) in weight.chunks_exact(in_dim).enumerate() {
            let max = row.iter().fold(0.0f32, |m, w| m.max(w.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            let mut sum = 0i32;
            for (k, w) in row.iter().enumerate() {
                let q = (w / scale).round().clamp(-127.0, 127.0) as i8;
                sum += i32::from(q);
                packed[(c / BLOCK) * groups + k / GROUP][(c % BLOCK) * GROUP + k % GROUP] = q;
            }
            scales[c] = scale;
            column_sums[c] = sum as f32;
        }
        Self { out_dim, in_dim, groups, blocks, packed, scales, column_sums, remainder: None }
    }

    /// Quantizes the weights twice: the int8 matrix, then what it could not
    /// hold (`W - sw q`) as a second int8 matrix, multiplied by the same
    /// quantized activations. About 15 bits of weight precision for twice the
    /// integer work: for a layer whose weight rounding costs accuracy (the
    /// FFN down projection, whose 1,536-wide rows span a few large weights).
    pub(crate) fn with_weight_remainder(weight: &[f32], out_dim: usize, in_dim: usize) -> Self {
        let mut first = Self::new(weight, out_dim, in_dim);
        let mut remainder = weight.to_vec();
        for (c, row) in remainder.chunks_exact_mut(in_dim).enumerate() {
            for (k, w) in row.iter_mut().enumerate() {
                let q = first.packed[(c / BLOCK) * first.groups + k / GROUP][(c % BLOCK) * GROUP + k % GROUP];
                *w -= first.scales[c] * f32::from(q);
            }
        }
        first.remainder = Some(Box::new(Self::new(&remainder, out_dim, in_dim)));
        first
    }

    pub(crate) fn out_dim(&self) -> usize {
        self.out_dim
    }

    pub(crate) fn in_dim(&self) -> usize {
        self.in_dim
    }

    /// `x [rows, in_dim]` (row-major) to `y [rows, out_dim]`, without bias.
    pub(crate) fn forward(&self, x: &[f32]) -> Vec<f32> {
        assert_eq!(x.len() % self.in_dim.max(1), 0, "input width");
        let rows = x.len() / self.in_dim.max(1);
        let a = self.quantize_rows(x, rows);
        let mut y = self.multiply(&a);
        if let Some(remainder) = &self.remainder {
            for (y, e) in y.iter_mut().zip(remainder.multiply(&a)) {
                *y += e;
            }
        }
        y
    }

    fn multiply(&self, a: &QuantizedRows) -> Vec<f32> {
        let mut y = vec![0.0f32; a.rows * self.out_dim];
        // Contiguous row ranges per task: each task streams the whole weight
        // matrix once, so fewer, larger tasks are cheaper.
        let tasks = rayon::current_num_threads().max(1);
        let per_task = a.rows.div_ceil(tasks).max(MIN_ROWS_PER_TASK);
        y.par_chunks_mut(per_task * self.out_dim).enumerate().for_each(|(i, out)| self.product(a, i * per_task, out));
        y
    }

    fn quantize_rows(&self, x: &[f32], rows: usize) -> QuantizedRows {
        let groups = self.groups;
        let mut words = vec![0i32; rows * groups];
        let mut scale = vec![0.0f32; rows];
        let mut low = vec![0.0f32; rows];
        words
            .par_chunks_mut(groups.max(1))
            .zip(scale.par_iter_mut().zip(low.par_iter_mut()))
            .zip(x.par_chunks(self.in_dim.max(1)))
            .with_min_len(MIN_ROWS_PER_TASK)
            .for_each(|((words, (scale, low)), x)| quantize_row(x, words, scale, low));
        QuantizedRows { rows, groups, words, scale, low }
    }

    /// Rows `first..` of the product into `out` (whole rows of `out_dim`).
    fn product(&self, a: &QuantizedRows, first: usize, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if vnni::available() {
            // SAFETY: `vnni::product` is compiled with AVX-512 F/BW/VNNI
            // enabled, and `available()` has just checked that this CPU has
            // all three. It takes only safe references.
            #[allow(unsafe_code)]
            unsafe {
                vnni::product(self, a, first, out)
            };
            return;
        }
        portable_product(self, a, first, out);
    }

    /// Writes one finished i32 dot product as `y[row, column]`.
    #[inline(always)]
    fn dequantize(&self, a: &QuantizedRows, row: usize, column: usize, dot: i32) -> f32 {
        // Fused as in the VNNI kernel, so both give the same bits.
        self.scales[column] * a.scale[row].mul_add(dot as f32, a.low[row] * self.column_sums[column])
    }
}

/// One row to bytes: `x ~ low + scale * a`, a in [0, 255].
fn quantize_row(x: &[f32], words: &mut [i32], scale: &mut f32, low: &mut f32) {
    let (lo, hi) = x.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo.is_finite() && hi.is_finite() { (lo, hi) } else { (0.0, 0.0) };
    let step = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
    let inverse = 1.0 / step;
    for (word, chunk) in words.iter_mut().zip(x.chunks(GROUP)) {
        let mut bytes = [0u8; GROUP];
        for (b, &v) in bytes.iter_mut().zip(chunk) {
            // Values are >= lo, so adding 0.5 and truncating rounds to nearest.
            *b = ((v - lo) * inverse + 0.5).clamp(0.0, 255.0) as u8;
        }
        *word = i32::from_le_bytes(bytes);
    }
    *scale = step;
    *low = lo;
}

/// The same integer products as the VNNI kernel, for any CPU.
fn portable_product(layer: &QuantizedLinear, a: &QuantizedRows, first: usize, out: &mut [f32]) {
    let groups = layer.groups;
    for (r, y) in out.chunks_exact_mut(layer.out_dim).enumerate() {
        let row = first + r;
        let words = &a.words[row * groups..(row + 1) * groups];
        for (c, y) in y.iter_mut().enumerate() {
            let (block, lane) = (c / BLOCK, c % BLOCK);
            let weights = &layer.packed[block * groups..(block + 1) * groups];
            let mut dot = 0i32;
            for (word, w) in words.iter().zip(weights) {
                let bytes = word.to_le_bytes();
                for (j, &b) in bytes.iter().enumerate() {
                    dot += i32::from(b) * i32::from(w[lane * GROUP + j]);
                }
            }
            *y = layer.dequantize(a, row, c, dot);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::{
        __m512, __m512i, _mm512_cvtepi32_ps, _mm512_dpbusd_epi32, _mm512_fmadd_ps, _mm512_mul_ps, _mm512_set1_epi32,
        _mm512_set1_ps, _mm512_setzero_si512,
    };

    use super::{BLOCK, BLOCKS_PER_TILE, QuantizedLinear, QuantizedRows, ROWS_PER_TILE};

    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }

    /// Rows `first..first + out.len() / out_dim` of the product.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) fn product(layer: &QuantizedLinear, a: &QuantizedRows, first: usize, out: &mut [f32]) {
        let rows = out.len() / layer.out_dim;
        debug_assert!(first + rows <= a.rows && a.groups == layer.groups);
        // Tiles of 64 channels outside, rows inside: a tile's weights
        // (64 x in_dim bytes) stay in cache while every row passes by.
        for tile in 0..layer.blocks / BLOCKS_PER_TILE {
            let mut r = 0;
            while r + ROWS_PER_TILE <= rows {
                kernel::<ROWS_PER_TILE>(layer, a, tile, first, r, out);
                r += ROWS_PER_TILE;
            }
            while r < rows {
                kernel::<1>(layer, a, tile, first, r, out);
                r += 1;
            }
        }
    }

    /// `M` rows x 64 channels, the accumulators in registers.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[inline]
    fn kernel<const M: usize>(
        layer: &QuantizedLinear,
        a: &QuantizedRows,
        tile: usize,
        first: usize,
        r0: usize,
        out: &mut [f32],
    ) {
        let groups = layer.groups;
        let weights = &layer.packed[tile * BLOCKS_PER_TILE * groups..(tile + 1) * BLOCKS_PER_TILE * groups];
        let (w0, rest) = weights.split_at(groups);
        let (w1, rest) = rest.split_at(groups);
        let (w2, w3) = rest.split_at(groups);
        let words = &a.words[(first + r0) * groups..(first + r0 + M) * groups];

        let mut acc = [[_mm512_setzero_si512(); BLOCKS_PER_TILE]; M];
        for g in 0..groups {
            let b: [__m512i; BLOCKS_PER_TILE] =
                [bytemuck::cast(w0[g]), bytemuck::cast(w1[g]), bytemuck::cast(w2[g]), bytemuck::cast(w3[g])];
            for (i, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_epi32(words[i * groups + g]);
                for (acc, b) in acc.iter_mut().zip(b) {
                    *acc = _mm512_dpbusd_epi32(*acc, x, b);
                }
            }
        }

        let out_dim = layer.out_dim;
        for (i, acc) in acc.iter().enumerate() {
            let row = first + r0 + i;
            let scale = _mm512_set1_ps(a.scale[row]);
            let low = _mm512_set1_ps(a.low[row]);
            for (t, &dot) in acc.iter().enumerate() {
                let c0 = (tile * BLOCKS_PER_TILE + t) * BLOCK;
                if c0 >= out_dim {
                    break;
                }
                let sw: __m512 = bytemuck::cast(lanes(&layer.scales, c0));
                let sums: __m512 = bytemuck::cast(lanes(&layer.column_sums, c0));
                let y = _mm512_mul_ps(sw, _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot), _mm512_mul_ps(low, sums)));
                let y: [f32; BLOCK] = bytemuck::cast(y);
                let n = BLOCK.min(out_dim - c0);
                let at = (r0 + i) * out_dim + c0;
                out[at..at + n].copy_from_slice(&y[..n]);
            }
        }
    }

    #[inline(always)]
    fn lanes(values: &[f32], at: usize) -> [f32; BLOCK] {
        let mut lanes = [0.0; BLOCK];
        lanes.copy_from_slice(&values[at..at + BLOCK]);
        lanes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random matrix (no `rand` dependency for this).
    fn matrix(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..rows * cols)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn reference(x: &[f32], w: &[f32], rows: usize, out_dim: usize, in_dim: usize) -> Vec<f32> {
        let mut y = vec![0.0; rows * out_dim];
        for r in 0..rows {
            for c in 0..out_dim {
                y[r * out_dim + c] = (0..in_dim).map(|k| x[r * in_dim + k] * w[c * in_dim + k]).sum();
            }
        }
        y
    }

    #[test]
    fn the_quantized_product_is_close_to_the_float_one() {
        // Odd sizes: a partial input group, a partial channel block and tile,
        // and a row count that is not a multiple of the kernel's rows.
        let (rows, out_dim, in_dim) = (37, 90, 135);
        let (x, w) = (matrix(rows, in_dim, 1), matrix(out_dim, in_dim, 2));
        let layer = QuantizedLinear::new(&w, out_dim, in_dim);
        let got = layer.forward(&x);
        let want = reference(&x, &w, rows, out_dim, in_dim);
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 0.02 * scale, "got {g}, want {w} (max |y| {scale})");
        }
    }

    #[test]
    fn a_weight_remainder_brings_the_product_closer() {
        let (rows, out_dim, in_dim) = (12, 64, 256);
        let x = matrix(rows, in_dim, 6);
        // A few large weights per row, as in the FFN down projection.
        let mut w = matrix(out_dim, in_dim, 7);
        for row in w.chunks_exact_mut(in_dim) {
            row[3] *= 40.0;
        }
        let want = reference(&x, &w, rows, out_dim, in_dim);
        let error = |got: Vec<f32>| got.iter().zip(&want).map(|(g, w)| (g - w).powi(2)).sum::<f32>().sqrt();
        let plain = error(QuantizedLinear::new(&w, out_dim, in_dim).forward(&x));
        let refined = error(QuantizedLinear::with_weight_remainder(&w, out_dim, in_dim).forward(&x));
        assert!(refined < plain / 2.0, "error {refined} with the remainder, {plain} without");
    }

    #[test]
    fn every_kernel_gives_the_same_numbers() {
        let (rows, out_dim, in_dim) = (29, 130, 64);
        let (x, w) = (matrix(rows, in_dim, 3), matrix(out_dim, in_dim, 4));
        let layer = QuantizedLinear::new(&w, out_dim, in_dim);
        let a = layer.quantize_rows(&x, rows);
        let mut portable = vec![0.0f32; rows * out_dim];
        portable_product(&layer, &a, 0, &mut portable);
        // On a CPU with VNNI this compares the two kernels; elsewhere it
        // checks the row split of `forward` against one call.
        assert_eq!(layer.forward(&x), portable);
    }

    #[test]
    fn constant_and_zero_rows_stay_finite() {
        let (out_dim, in_dim) = (16, 8);
        let w = matrix(out_dim, in_dim, 5);
        let layer = QuantizedLinear::new(&w, out_dim, in_dim);
        let x = [vec![0.0f32; in_dim], vec![2.5f32; in_dim]].concat();
        let y = layer.forward(&x);
        assert!(y[..out_dim].iter().all(|v| *v == 0.0));
        let want = reference(&x[in_dim..], &w, 1, out_dim, in_dim);
        for (g, w) in y[out_dim..].iter().zip(&want) {
            assert!((g - w).abs() < 0.05, "got {g}, want {w}");
        }
    }
}

// pms/kernels/depthwise_conv.hpp: depthwise KxK convolution, stride 1 or 2, zero padding
// (K-1)/2, fused bias + activation (f32_dwconv_{k}x{k}s{s} with an 8-pixel tile).
//
//   out(y,x,c) = Act( bias[c] + sum_{ky,kx} w[ky*K+kx][c] * in(y*S - P + ky, x*S - P + kx, c) ),
//   P = (K-1)/2, taps outside the input contribute 0; out extent ceil(H/S) x ceil(W/S).
//
// Layouts: in/out padded channels-last with the same stride (pms/core/tensor.hpp);
// weights [K*K][stride], element [ky*K+kx][c] at (ky*K+kx)*stride + c, zero in pad lanes;
// bias [stride]. Pad lanes of out are written (Act(bias_pad)), finite.
//
// Vectorised over channels, one vector of kLanes channels at a time. Per output row, per
// channel vector, the interior (every tap inside the input) runs in tiles of kXT output
// pixels: kXT accumulators, the K weights of one kernel row in registers, and each input
// vector of the row loaded once and fed to every (pixel, tap) pair it belongs to. Rows at
// the top/bottom border skip the missing kernel rows (a loop bound, no per-tap branch);
// the few border columns take a per-pixel path with clamped taps.
#pragma once

#include <algorithm>
#include <cstddef>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

struct DepthwiseWeights {
  const float* weight;  // [K*K][round_up(c,16)], element [ky*K+kx][c], zero in pad
  const float* bias;    // [round_up(c,16)]
  int channels;
};

namespace depthwise_detail {

using simd::f32v;
using simd::kLanes;

// Output pixels per interior tile: 8 accumulators cover the FMA latency on every ISA and,
// with K weights and one input vector, fit 16 registers for K <= 5.
inline constexpr int kXT = 8;

// XT output pixels x0..x0+XT-1 (interior) of one channel vector; rows[ky] for ky in
// [ky_lo, ky_hi) point at the input row's pixel x0*S - P, channel vector offset applied.
template <int K, int S, int XT, class Act>
PMS_ALWAYS_INLINE void interior_tile(const float* const* rows, int ky_lo, int ky_hi, std::ptrdiff_t stride,
                                     const float* PMS_RESTRICT w, std::ptrdiff_t w_stride, f32v bias,
                                     float* PMS_RESTRICT out) noexcept {
  constexpr int kWindow = (XT - 1) * S + K;  // input pixels the tile reads per kernel row
  f32v acc[XT];
#pragma GCC unroll 8
  for (int t = 0; t < XT; ++t) acc[t] = bias;
  for (int ky = ky_lo; ky < ky_hi; ++ky) {
    const float* PMS_RESTRICT row = rows[ky];
    f32v wk[K];
#pragma GCC unroll 5
    for (int kx = 0; kx < K; ++kx) wk[kx] = simd::load(w + (ky * K + kx) * w_stride);
#pragma GCC unroll 32
    for (int j = 0; j < kWindow; ++j) {
      const f32v v = simd::load(row + j * stride);
#pragma GCC unroll 8
      for (int t = 0; t < XT; ++t) {
        const int kx = j - t * S;
        if (kx >= 0 && kx < K) acc[t] = simd::fma(v, wk[kx], acc[t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < XT; ++t) simd::store(out + t * stride, Act::apply(acc[t]));
}

// One output pixel anywhere (border columns): taps clamped to the input.
template <int K, int S, class Act>
PMS_ALWAYS_INLINE void border_pixel(const float* const* rows, int ky_lo, int ky_hi, int x, int in_width,
                                    std::ptrdiff_t stride, const float* PMS_RESTRICT w, std::ptrdiff_t w_stride,
                                    f32v bias, float* PMS_RESTRICT out) noexcept {
  constexpr int P = (K - 1) / 2;
  const int ix0 = x * S - P;
  const int kx_lo = std::max(0, -ix0), kx_hi = std::min(K, in_width - ix0);
  f32v acc = bias;
  for (int ky = ky_lo; ky < ky_hi; ++ky)
    for (int kx = kx_lo; kx < kx_hi; ++kx)
      acc = simd::fma(simd::load(rows[ky] + (ix0 + kx) * stride), simd::load(w + (ky * K + kx) * w_stride), acc);
  simd::store(out, Act::apply(acc));
}

}  // namespace depthwise_detail

// Computes output rows `out_rows`. Preconditions (debug-asserted): out is ceil(H/S) x
// ceil(W/S) of in, same channels and stride; K in {1,3,5}, S in {1,2}.
template <int K, int Stride, class Act>
void depthwise_conv(ConstTensorView in, const DepthwiseWeights& w, TensorView out, RowRange out_rows) noexcept {
  static_assert(K == 1 || K == 3 || K == 5, "depthwise_conv supports kernel sizes 1, 3 and 5.");
  static_assert(Stride == 1 || Stride == 2, "depthwise_conv supports strides 1 and 2.");
  using namespace depthwise_detail;
  constexpr int S = Stride, P = (K - 1) / 2;
  PMS_ASSERT(out.height == (in.height + S - 1) / S && out.width == (in.width + S - 1) / S);
  PMS_ASSERT(in.channels == w.channels && out.channels == w.channels && in.stride == out.stride);
  PMS_ASSERT(out_rows.begin >= 0 && out_rows.end <= out.height);

  const std::ptrdiff_t stride = in.stride;
  const int vectors = in.stride / kLanes;
  // Interior columns: x*S - P >= 0 and x*S - P + K - 1 <= in.width - 1.
  const int x_lo = std::min((P + S - 1) / S, out.width);
  const int last = in.width - K + P;  // largest x*S with the last tap inside
  const int x_hi = std::max(x_lo, std::min(out.width, last >= 0 ? last / S + 1 : 0));

  for (int y = out_rows.begin; y < out_rows.end; ++y) {
    const int iy0 = y * S - P;
    const int ky_lo = std::max(0, -iy0), ky_hi = std::min(K, in.height - iy0);
    const float* rows[K] = {};
    for (int ky = ky_lo; ky < ky_hi; ++ky) rows[ky] = in.row(iy0 + ky);
    float* out_row = out.row(y);

    for (int cv = 0; cv < vectors; ++cv) {
      const std::ptrdiff_t c0 = static_cast<std::ptrdiff_t>(cv) * kLanes;
      const float* wc = w.weight + c0;
      const f32v bias = simd::loadu(w.bias + c0);
      const float* crow[K] = {};
      for (int ky = ky_lo; ky < ky_hi; ++ky) crow[ky] = rows[ky] + c0;

      for (int x = 0; x < x_lo; ++x)
        border_pixel<K, S, Act>(crow, ky_lo, ky_hi, x, in.width, stride, wc, stride, bias, out_row + x * stride + c0);

      // Interior tiles read from input column x*S - P on.
      const float* tile_rows[K] = {};
      int x = x_lo;
      const auto tile_at = [&](int x0) {
        for (int ky = ky_lo; ky < ky_hi; ++ky) tile_rows[ky] = crow[ky] + (x0 * S - P) * stride;
      };
      for (; x + kXT <= x_hi; x += kXT) {
        tile_at(x);
        interior_tile<K, S, kXT, Act>(tile_rows, ky_lo, ky_hi, stride, wc, stride, bias, out_row + x * stride + c0);
      }
      if (x_hi - x >= 4) {
        tile_at(x);
        interior_tile<K, S, 4, Act>(tile_rows, ky_lo, ky_hi, stride, wc, stride, bias, out_row + x * stride + c0);
        x += 4;
      }
      if (x_hi - x >= 2) {
        tile_at(x);
        interior_tile<K, S, 2, Act>(tile_rows, ky_lo, ky_hi, stride, wc, stride, bias, out_row + x * stride + c0);
        x += 2;
      }
      if (x_hi - x >= 1) {
        tile_at(x);
        interior_tile<K, S, 1, Act>(tile_rows, ky_lo, ky_hi, stride, wc, stride, bias, out_row + x * stride + c0);
        x += 1;
      }

      for (x = x_hi; x < out.width; ++x)
        border_pixel<K, S, Act>(crow, ky_lo, ky_hi, x, in.width, stride, wc, stride, bias, out_row + x * stride + c0);
    }
  }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

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
// Vectorised over channels, one vector of kLanes channels at a time. Each output row runs
// in tiles of kXT output pixels (then 4, 2, 1), and each tile over all channel vectors (so
// memory is read in order): kXT accumulators, the K weights of one kernel row in
// registers, each input vector loaded once and fed to every (pixel, tap) pair it belongs
// to. Rows at the top/bottom border skip the missing kernel rows (a loop bound); tiles
// whose window crosses the left/right border read a zero vector for columns outside the
// image (a select per window column, not per tap).
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

// Output pixels per tile: 8 accumulators cover the FMA latency on every ISA and, with K
// weights and one input vector, fit 16 registers for K <= 5.
inline constexpr int kXT = 8;

// Read in place of input pixels outside the image (zero padding).
alignas(64) inline constexpr float kZeros[16] = {};

// XT output pixels of one channel vector c0, the first at input column ix0 = x0*S - P.
// rows[ky] (ky in [ky_lo, ky_hi)) point at input rows. kChecked: some window column may
// lie outside [0, in_width) and reads zeros instead (a select per window column, no
// per-tap branch). Each input vector is loaded once and feeds every (pixel, tap) it
// belongs to. Rounding: how the multiply-adds round (simd::FusedAlways or FusedIfNative).
template <int K, int S, int XT, bool kChecked, class Act, class Rounding>
PMS_ALWAYS_INLINE void tile(const float* const* rows, int ky_lo, int ky_hi, int ix0, int in_width,
                            std::ptrdiff_t stride, std::ptrdiff_t c0, const float* PMS_RESTRICT w, f32v bias,
                            float* PMS_RESTRICT out) noexcept {
  constexpr int kWindow = (XT - 1) * S + K;  // input columns the tile reads per kernel row
  f32v acc[XT];
#pragma GCC unroll 8
  for (int t = 0; t < XT; ++t) acc[t] = bias;
  for (int ky = ky_lo; ky < ky_hi; ++ky) {
    const float* row = rows[ky] + c0;
    f32v wk[K];
#pragma GCC unroll 5
    for (int kx = 0; kx < K; ++kx) wk[kx] = simd::load(w + (ky * K + kx) * stride);
#pragma GCC unroll 32
    for (int j = 0; j < kWindow; ++j) {
      const int ix = ix0 + j;
      const float* p = row + static_cast<std::ptrdiff_t>(ix) * stride;
      if constexpr (kChecked) p = ix >= 0 && ix < in_width ? p : kZeros;
      f32v v = simd::load(p);
      simd::keep_in_register(v);
#pragma GCC unroll 8
      for (int t = 0; t < XT; ++t) {
        const int kx = j - t * S;
        if (kx >= 0 && kx < K) acc[t] = Rounding::fma(v, wk[kx], acc[t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < XT; ++t) simd::store(out + t * stride, Act::apply(acc[t]));
}

// XT output pixels from x0, every channel vector.
template <int K, int S, int XT, bool kChecked, class Act, class Rounding>
PMS_ALWAYS_INLINE void tile_all_channels(const float* const* rows, int ky_lo, int ky_hi, int x0, int in_width,
                                         std::ptrdiff_t stride, const DepthwiseWeights& w, float* out_row) noexcept {
  constexpr int P = (K - 1) / 2;
  float* out = out_row + x0 * stride;
  for (std::ptrdiff_t c0 = 0; c0 < stride; c0 += kLanes)
    tile<K, S, XT, kChecked, Act, Rounding>(rows, ky_lo, ky_hi, x0 * S - P, in_width, stride, c0, w.weight + c0,
                                            simd::loadu(w.bias + c0), out + c0);
}

// XT output pixels from x0: the unchecked tile when its whole window is inside the image.
template <int K, int S, int XT, class Act, class Rounding>
PMS_ALWAYS_INLINE void tile_at(const float* const* rows, int ky_lo, int ky_hi, int x0, int in_width,
                               std::ptrdiff_t stride, const DepthwiseWeights& w, float* out_row) noexcept {
  constexpr int P = (K - 1) / 2;
  const int first = x0 * S - P, last = (x0 + XT - 1) * S - P + K - 1;
  if (first >= 0 && last < in_width)
    tile_all_channels<K, S, XT, false, Act, Rounding>(rows, ky_lo, ky_hi, x0, in_width, stride, w, out_row);
  else
    tile_all_channels<K, S, XT, true, Act, Rounding>(rows, ky_lo, ky_hi, x0, in_width, stride, w, out_row);
}

}  // namespace depthwise_detail

// Where the rows of an image are: row(y) points at pixel (y, 0); pixels of a row are
// `stride` floats apart. TensorRows is a whole tensor; RingRows keeps only the last
// `slots` rows of a taller image, row y in slot y % slots (a fused block streams rows
// through it: see layers/mv3_block.hpp).
struct TensorRows {
  ConstTensorView t;
  int height() const noexcept { return t.height; }
  const float* row(int y) const noexcept { return t.row(y); }
};
struct RingRows {
  const float* base;
  int slots;
  int rows;          // height of the image the ring streams
  std::ptrdiff_t row_floats;
  int height() const noexcept { return rows; }
  const float* row(int y) const noexcept { return base + static_cast<std::ptrdiff_t>(y % slots) * row_floats; }
};

// Output rows `out_rows` of the convolution of the image `in` (in_width pixels per row,
// `stride` floats per pixel), each written at out_row(y), out_width = ceil(in_width / S).
// Rounding: simd::FusedAlways in the int8 network, FusedIfNative in the fp32 one.
template <int K, int Stride, class Act, class Rounding = simd::FusedIfNative, class InRows, class OutRow>
void depthwise_conv_rows(const InRows& in, int in_width, std::ptrdiff_t stride, const DepthwiseWeights& w, OutRow&& out_row,
                         int out_width, RowRange out_rows) noexcept {
  static_assert(K == 1 || K == 3 || K == 5, "depthwise_conv supports kernel sizes 1, 3 and 5.");
  static_assert(Stride == 1 || Stride == 2, "depthwise_conv supports strides 1 and 2.");
  using namespace depthwise_detail;
  constexpr int S = Stride, P = (K - 1) / 2;
  PMS_ASSERT(out_width == (in_width + S - 1) / S);
  for (int y = out_rows.begin; y < out_rows.end; ++y) {
    // Kernel rows inside the image: a loop bound, so border rows cost nothing extra.
    const int iy0 = y * S - P;
    const int ky_lo = std::max(0, -iy0), ky_hi = std::min(K, in.height() - iy0);
    const float* rows[K] = {};
    for (int ky = ky_lo; ky < ky_hi; ++ky) rows[ky] = in.row(iy0 + ky);
    float* out = out_row(y);

    int x = 0;
    for (; x + kXT <= out_width; x += kXT) tile_at<K, S, kXT, Act, Rounding>(rows, ky_lo, ky_hi, x, in_width, stride, w, out);
    if (out_width - x >= 4) tile_at<K, S, 4, Act, Rounding>(rows, ky_lo, ky_hi, x, in_width, stride, w, out), x += 4;
    if (out_width - x >= 2) tile_at<K, S, 2, Act, Rounding>(rows, ky_lo, ky_hi, x, in_width, stride, w, out), x += 2;
    if (out_width - x >= 1) tile_at<K, S, 1, Act, Rounding>(rows, ky_lo, ky_hi, x, in_width, stride, w, out);
  }
}

// Computes output rows `out_rows`. Preconditions (debug-asserted): out is ceil(H/S) x
// ceil(W/S) of in, same channels and stride; K in {1,3,5}, S in {1,2}.
template <int K, int Stride, class Act, class Rounding = simd::FusedIfNative>
void depthwise_conv(ConstTensorView in, const DepthwiseWeights& w, TensorView out, RowRange out_rows) noexcept {
  [[maybe_unused]] constexpr int S = Stride;  // used by the debug asserts only
  PMS_ASSERT(out.height == (in.height + S - 1) / S && out.width == (in.width + S - 1) / S);
  PMS_ASSERT(in.channels == w.channels && out.channels == w.channels && in.stride == out.stride);
  PMS_ASSERT(out_rows.begin >= 0 && out_rows.end <= out.height);
  depthwise_conv_rows<K, Stride, Act, Rounding>(TensorRows{in}, in.width, in.stride, w, [&](int y) { return out.row(y); },
                                                out.width, out_rows);
}

}  // namespace pms::inline PMS_ISA_NS::kernels

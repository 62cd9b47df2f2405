// pms/kernels/squeeze_excite.hpp: the squeeze-excite gate of MobileNetV3 blocks (spec 4.1).
//
//   mean[c]   = sum_{y,x} x(y, x, c) / (H * W)
//   hidden[j] = relu(b1[j] + sum_c mean[c] * w1[c][j])          j < S = C / 4
//   gate[c]   = clip(0.2 * (b2[c] + sum_j hidden[j] * w2[j][c]) + 0.5, 0, 1)
//
// The gate multiplies the depthwise output channel-wise. MV3 blocks fold it into the weights
// of the linear conv that follows (pointwise_conv.hpp's scale_input_channels). They take the
// sums row by row (row_channel_sums, as each depthwise row is written), then the gate from
// them (squeeze_excite_gate_from_row_sums).
//
// Weight layout = the pointwise layout (pms/kernels/pointwise_conv.hpp): rows for real input
// channels only, columns padded to 16: w1 [C][P(S)], w2 [S][P(C)], biases [P(S)] and [P(C)]
// (P = padded_channels). Pad columns and pad bias lanes must be finite (the packer writes 0),
// so every gate lane is finite; real gate lanes never read a pad lane.
//
// In an int8 file (weights/FORMAT.md 7.1) both convs are int8 pointwise convs whose one
// "pixel" is the pooled vector (SqueezeExciteInt8Weights): the means, then
// pointwise_conv_int8 with ReLU and with the gate's hard sigmoid.
#pragma once

#include <cstddef>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/kernels/pointwise_conv_int8.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

struct SqueezeExciteWeights {
  const float* fc1_weight;  // [channels][P(squeezed)], element [c][j] at c * P(squeezed) + j
  const float* fc1_bias;    // [P(squeezed)]
  const float* fc2_weight;  // [squeezed][P(channels)], element [j][c] at j * P(channels) + c
  const float* fc2_bias;    // [P(channels)]
  int channels;             // C
  int squeezed;             // S = C / 4
};

struct SqueezeExciteInt8Weights {
  PointwiseInt8Weights fc1;  // C -> S
  PointwiseInt8Weights fc2;  // S -> C
};

constexpr int se_channels(const SqueezeExciteWeights& w) noexcept { return w.channels; }
constexpr int se_channels(const SqueezeExciteInt8Weights& w) noexcept { return w.fc1.cin; }

// Floats of scratch the gate kernels need: the means and the hidden layer.
constexpr std::size_t squeeze_excite_scratch_floats(int channels, int squeezed) noexcept {
  return static_cast<std::size_t>(padded_channels(channels)) + static_cast<std::size_t>(padded_channels(squeezed));
}

namespace se_detail {

using simd::f32v;
using simd::kLanes;

// sums[c..c + NV vectors) += the sums of one row's pixels there, each channel summed as
// (even pixels) + (odd pixels): two interleaved chains hide the add latency. Every channel
// is summed in this one order whatever the vector width, so the sums, and the int8 SE
// gate quantized from them, are the same bits on every ISA.
template <int NV>
PMS_ALWAYS_INLINE void add_row_sums(const float* row, int width, int stride, int c, float* sums) noexcept {
  f32v even[NV], odd[NV];
  PMS_UNROLL(4)
  for (int v = 0; v < NV; ++v) even[v] = odd[v] = simd::zero();
  const float* p = row + c;
  int x = 0;
  for (; x + 2 <= width; x += 2, p += 2 * stride)
    PMS_UNROLL(4)
    for (int v = 0; v < NV; ++v) {
      even[v] = even[v] + simd::load(p + v * kLanes);
      odd[v] = odd[v] + simd::load(p + stride + v * kLanes);
    }
  if (x < width)
    PMS_UNROLL(4)
    for (int v = 0; v < NV; ++v) even[v] = even[v] + simd::load(p + v * kLanes);
  PMS_UNROLL(4)
  for (int v = 0; v < NV; ++v) simd::store(sums + c + v * kLanes, simd::load(sums + c + v * kLanes) + (even[v] + odd[v]));
}

// out[j-block of NV vectors] = Act(bias + sum_i in[i] * w[i][j]) for i < n, w row pitch ld.
template <int NV, class Act>
PMS_ALWAYS_INLINE void fc_block(const float* in, int n, const float* w, int ld, const float* bias, int j, float* out) noexcept {
  f32v acc[NV];
  PMS_UNROLL(4)
  for (int v = 0; v < NV; ++v) acc[v] = simd::load(bias + j + v * kLanes);
  for (int i = 0; i < n; ++i) {
    const f32v s = simd::splat(in[i]);
    const float* wr = w + static_cast<std::ptrdiff_t>(i) * ld + j;
    PMS_UNROLL(4)
    for (int v = 0; v < NV; ++v) acc[v] = simd::fma_fast(s, simd::load(wr + v * kLanes), acc[v]);
  }
  PMS_UNROLL(4)
  for (int v = 0; v < NV; ++v) simd::store(out + j + v * kLanes, Act::apply(acc[v]));
}

// A fully connected layer over padded outputs, four vectors of outputs at a time.
template <class Act>
inline void fully_connected(const float* in, int n, const float* w, const float* bias, int outputs, float* out) noexcept {
  const int lanes = padded_channels(outputs);
  int j = 0;
  for (; j + 4 * kLanes <= lanes; j += 4 * kLanes) fc_block<4, Act>(in, n, w, lanes, bias, j, out);
  switch ((lanes - j) / kLanes) {
    case 3: fc_block<3, Act>(in, n, w, lanes, bias, j, out); break;
    case 2: fc_block<2, Act>(in, n, w, lanes, bias, j, out); break;
    case 1: fc_block<1, Act>(in, n, w, lanes, bias, j, out); break;
    default: break;
  }
}

// mean[c] = sums[c] / count over all padded lanes.
inline void means(const float* sums, int count, int channels, float* mean) noexcept {
  const int lanes = padded_channels(channels);
  const f32v n = simd::splat(static_cast<float>(count));
  for (int c = 0; c < lanes; c += kLanes) simd::store(mean + c, simd::div(simd::load(sums + c), n));
}

}  // namespace se_detail

// sums[c] += sum over the rows' pixels of x(y, x, c), for all padded_channels(C) lanes.
// Per-row partial sums keep the float error small at 256 x 256. Threads can sum disjoint
// row ranges into separate buffers and add them.
inline void channel_sums(ConstTensorView x, RowRange rows, float* sums) noexcept {
  constexpr int L = simd::kLanes;
  PMS_ASSERT(rows.begin >= 0 && rows.end <= x.height);
  const int lanes = padded_channels(x.channels);
  for (int y = rows.begin; y < rows.end; ++y) {
    const float* row = x.row(y);
    int c = 0;
    for (; c + 4 * L <= lanes; c += 4 * L) se_detail::add_row_sums<4>(row, x.width, x.stride, c, sums);
    switch ((lanes - c) / L) {
      case 3: se_detail::add_row_sums<3>(row, x.width, x.stride, c, sums); break;
      case 2: se_detail::add_row_sums<2>(row, x.width, x.stride, c, sums); break;
      case 1: se_detail::add_row_sums<1>(row, x.width, x.stride, c, sums); break;
      default: break;
    }
  }
}

// The sums of each row on its own: row y's at row_sums + y * P(C) (overwritten). Rows are
// independent, so threads may split them, or a fused block may sum each row while it is in
// L1; squeeze_excite_gate_from_row_sums adds them in row order, giving the very floats that
// channel_sums over all rows gives.
inline void row_channel_sums(ConstTensorView x, RowRange rows, float* row_sums) noexcept {
  const int lanes = padded_channels(x.channels);
  for (int y = rows.begin; y < rows.end; ++y) {
    float* sums = row_sums + static_cast<std::ptrdiff_t>(y) * lanes;
    for (int c = 0; c < lanes; ++c) sums[c] = 0.0f;
    channel_sums(x, RowRange{y, y + 1}, sums);
  }
}

// gate [P(C)] from channel sums over `count` pixels (sums may be gate itself). scratch:
// squeeze_excite_scratch_floats, 64-byte aligned.
inline void squeeze_excite_gate_from_sums(const float* sums, int count, const SqueezeExciteWeights& w, float* gate,
                                          float* scratch) noexcept {
  PMS_ASSERT(count > 0 && w.squeezed > 0);
  float* mean = scratch;
  float* hidden = scratch + padded_channels(w.channels);
  se_detail::means(sums, count, w.channels, mean);
  se_detail::fully_connected<act::ReLU>(mean, w.channels, w.fc1_weight, w.fc1_bias, w.squeezed, hidden);
  se_detail::fully_connected<act::SEGate>(hidden, w.squeezed, w.fc2_weight, w.fc2_bias, w.channels, gate);
}
inline void squeeze_excite_gate_from_sums(const float* sums, int count, const SqueezeExciteInt8Weights& w, float* gate,
                                          float* scratch) noexcept {
  PMS_ASSERT(count > 0 && w.fc1.cout > 0);
  const int channels = w.fc1.cin, squeezed = w.fc1.cout;
  float* mean = scratch;
  float* hidden = scratch + padded_channels(channels);
  se_detail::means(sums, count, channels, mean);
  const TensorView hidden_pixel{hidden, 1, 1, squeezed, padded_channels(squeezed)};
  pointwise_conv_int8<act::ReLU>(ConstTensorView{mean, 1, 1, channels, padded_channels(channels)}, w.fc1, hidden_pixel, RowRange{0, 1});
  pointwise_conv_int8<act::SEGate>(hidden_pixel, w.fc2, TensorView{gate, 1, 1, channels, padded_channels(channels)}, RowRange{0, 1});
}

// gate [P(C)] of an H x W tensor from its row sums (row_channel_sums).
template <class Weights>
inline void squeeze_excite_gate_from_row_sums(const float* row_sums, int height, int width, const Weights& w, float* gate,
                                              float* scratch) noexcept {
  constexpr int L = simd::kLanes;
  const int lanes = padded_channels(se_channels(w));
  for (int c = 0; c < lanes; ++c) gate[c] = 0.0f;  // the gate doubles as the sum buffer
  for (int y = 0; y < height; ++y) {
    const float* row = row_sums + static_cast<std::ptrdiff_t>(y) * lanes;
    for (int c = 0; c < lanes; c += L) simd::store(gate + c, simd::load(gate + c) + simd::load(row + c));
  }
  squeeze_excite_gate_from_sums(gate, height * width, w, gate, scratch);
}

}  // namespace pms::inline PMS_ISA_NS::kernels

// pms/kernels/argmax.hpp: channel argmax into a label map, and the pieces of VIM (spec 9.3).
//
//   argmax_channels: labels[y * label_stride + x] = argmax_c logits(y, x, c), the FIRST
//                    maximum winning ties (numpy/torch/Paddle argmax)
//   present_classes: the sorted distinct labels of a label map (Paddle unique)
//   gather_channels: out(y, x, i) = in(y, x, channels[i]) (the present classes' logits)
//
// Logits are padded channels-last (possibly a channel slice); pad lanes never win. Labels are
// uint8_t, uint16_t or int32_t; the class count must fit the label type. Labels are exact for
// finite logits with |v| <= 2^100 (logit_range.hpp); any other value still gives a real class
// index (a NaN never wins a comparison), but robust_argmax.hpp is what orders such values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

template <class Label>
inline constexpr bool is_label_type_v =
    std::is_same_v<Label, std::uint8_t> || std::is_same_v<Label, std::uint16_t> || std::is_same_v<Label, std::int32_t>;

namespace argmax_detail {

using simd::f32v;

// A value below any logit the network produces; finite, so that 0 * it and sums stay finite.
inline constexpr float kNeverWins = -0x1p100f;

// Index of the first maximum, given per lane the best value and the index where it first
// occurred (as floats): the smallest index among the lanes holding the overall maximum.
// Indices are below 2^24 (exact floats); if no lane holds the maximum (a NaN in `best`) the
// result is kNoIndex, a value callers can range-check, never a float-to-int overflow.
inline constexpr int kNoIndex = 1 << 24;
PMS_ALWAYS_INLINE int first_max_index(f32v best, f32v best_index) noexcept {
  const f32v m = simd::broadcast_max(best);
  const f32v idx = simd::select(best == m, best_index, simd::splat(static_cast<float>(kNoIndex)));
  return static_cast<int>(simd::first_lane(simd::broadcast_min(idx)));
}

// Lanes at or beyond `count` (counting from lane 0) replaced by kNeverWins.
PMS_ALWAYS_INLINE f32v mask_tail(f32v v, int count) noexcept {
  return simd::select(simd::lane_index() < simd::splat(static_cast<float>(count)), v, simd::splat(kNeverWins));
}

}  // namespace argmax_detail

template <class Label>
inline void argmax_channels(ConstTensorView logits, Label* labels, std::ptrdiff_t label_stride, RowRange rows) noexcept {
  static_assert(is_label_type_v<Label>, "Labels are uint8_t, uint16_t or int32_t.");
  using simd::f32v;
  constexpr int L = simd::kLanes;
  const int k = logits.channels;
  PMS_ASSERT(k >= 1 && static_cast<long long>(k) - 1 <= static_cast<long long>(std::numeric_limits<Label>::max()));
  PMS_ASSERT(rows.begin >= 0 && rows.end <= logits.height);
  const int full = (k - 1) / L * L;  // channels in whole vectors before the last (partial or whole) one
  const f32v lane = simd::lane_index();
  for (int y = rows.begin; y < rows.end; ++y) {
    Label* out = labels + static_cast<std::ptrdiff_t>(y) * label_stride;
    for (int x = 0; x < logits.width; ++x) {
      const float* p = logits.pixel(y, x);
      f32v best = simd::splat(argmax_detail::kNeverWins), best_index = simd::zero();
      for (int c = 0; c < full; c += L) {
        const f32v v = simd::load(p + c);
        const auto gt = v > best;
        best = simd::select(gt, v, best);
        best_index = simd::select(gt, lane + simd::splat(static_cast<float>(c)), best_index);
      }
      const f32v v = argmax_detail::mask_tail(simd::load(p + full), k - full);
      const auto gt = v > best;
      best = simd::select(gt, v, best);
      best_index = simd::select(gt, lane + simd::splat(static_cast<float>(full)), best_index);
      out[x] = static_cast<Label>(argmax_detail::first_max_index(best, best_index));
    }
  }
}

// Writes the distinct labels of the map, ascending, to classes[0..count) and returns count.
// classes must hold num_classes entries (it is used as the presence table first). Labels
// outside [0, num_classes) are a precondition violation (debug assert; ignored otherwise).
template <class Label>
inline int present_classes(const Label* labels, int height, int width, std::ptrdiff_t label_stride, int num_classes,
                           std::int32_t* classes) noexcept {
  static_assert(is_label_type_v<Label>, "Labels are uint8_t, uint16_t or int32_t.");
  for (int c = 0; c < num_classes; ++c) classes[c] = 0;
  for (int y = 0; y < height; ++y) {
    const Label* row = labels + static_cast<std::ptrdiff_t>(y) * label_stride;
    for (int x = 0; x < width; ++x) {
      const long long l = static_cast<long long>(row[x]);
      PMS_ASSERT(l >= 0 && l < num_classes);
      if (l >= 0 && l < num_classes) classes[l] = 1;
    }
  }
  int count = 0;  // compact in place: count <= c, so classes[c] is read before it is overwritten
  for (int c = 0; c < num_classes; ++c)
    if (classes[c] != 0) classes[count++] = c;
  return count;
}

// out(y, x, i) = in(y, x, channels[i]) for i < count = out.channels; out pad lanes are 0.
inline void gather_channels(ConstTensorView in, const std::int32_t* channels, TensorView out, RowRange rows) noexcept {
  PMS_ASSERT(in.height == out.height && in.width == out.width);
  PMS_ASSERT(rows.begin >= 0 && rows.end <= out.height);
  const int count = out.channels, lanes = padded_channels(count);
  for (int y = rows.begin; y < rows.end; ++y)
    for (int x = 0; x < out.width; ++x) {
      const float* s = in.pixel(y, x);
      float* d = out.pixel(y, x);
      for (int i = 0; i < count; ++i) {
        PMS_ASSERT(channels[i] >= 0 && channels[i] < in.channels);
        d[i] = s[channels[i]];
      }
      for (int i = count; i < lanes; ++i) d[i] = 0.0f;
    }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

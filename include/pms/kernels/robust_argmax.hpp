// pms/kernels/robust_argmax.hpp: the labels kernels for logits of any float value (scalar).
//
//   robust_argmax_channels: labels[y * label_stride + x] = argmax_c logits(y, x, c)
//   robust_upsample_argmax: labels[y * label_stride + x] = id(argmax_c U(y, x, c)),
//                           U = resize_bilinear(logits, out_height x out_width), id as in
//                           upsample_argmax.hpp (c, or class_ids[c] for VIM)
//
// The order used by both: a NaN never beats a number, infinities compare as numbers, and
// the first maximum wins ties; a pixel whose values are all NaN gets index 0. So every
// label is a real class index (or class_ids entry), whatever the logits hold.
//
// The fast kernels (argmax.hpp, upsample_argmax.hpp) are exact only for finite logits with
// |v| <= kLogitLimit (logit_range.hpp); the labels tail sends anything else here, so
// weights that overflow the network still give a label map in [0, K). U is Paddle's
// four-product sum (resize.hpp) without its zero-weight terms (see weighted()).
//
// Logits: padded channels-last, possibly a channel slice. Rows are independent.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/argmax.hpp"
#include "pms/kernels/resize.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

namespace robust_argmax_detail {

// Whether v takes the place of the best value so far (see the order above).
constexpr bool beats(float v, float best) noexcept { return v > best || (best != best && v == v); }

// One of the four products, v * wy * wx in Paddle's order; a sample with weight 0 adds 0
// even when it is infinite (Paddle's Inf * 0 = NaN would let a neighbour's Inf erase a value
// that sits exactly on a source sample; for finite values nothing changes).
constexpr float weighted(float v, float wy, float wx) noexcept { return wy == 0.0f || wx == 0.0f ? 0.0f : v * wy * wx; }

}  // namespace robust_argmax_detail

template <class Label>
inline void robust_argmax_channels(ConstTensorView logits, Label* labels, std::ptrdiff_t label_stride, RowRange rows) noexcept {
  static_assert(is_label_type_v<Label>, "Labels are uint8_t, uint16_t or int32_t.");
  PMS_ASSERT(logits.channels >= 1 && rows.begin >= 0 && rows.end <= logits.height);
  for (int y = rows.begin; y < rows.end; ++y)
    for (int x = 0; x < logits.width; ++x) {
      const float* p = logits.pixel(y, x);
      int best_c = 0;
      for (int c = 1; c < logits.channels; ++c)
        if (robust_argmax_detail::beats(p[c], p[best_c])) best_c = c;
      labels[static_cast<std::ptrdiff_t>(y) * label_stride + x] = static_cast<Label>(best_c);
    }
}

template <class Label>
inline void robust_upsample_argmax(ConstTensorView logits, int out_height, int out_width, Label* labels,
                                   std::ptrdiff_t label_stride, RowRange out_rows,
                                   const std::int32_t* class_ids = nullptr) noexcept {
  static_assert(is_label_type_v<Label>, "Labels are uint8_t, uint16_t or int32_t.");
  PMS_ASSERT(logits.channels >= 1 && logits.height >= 1 && logits.width >= 1 && out_height >= 1 && out_width >= 1);
  PMS_ASSERT(out_rows.begin >= 0 && out_rows.end <= out_height);
  using robust_argmax_detail::beats;
  using robust_argmax_detail::weighted;
  const ResizeAxis ay(logits.height, out_height, ResizeMode::to_size());
  const ResizeAxis ax(logits.width, out_width, ResizeMode::to_size());
  for (int y = out_rows.begin; y < out_rows.end; ++y) {
    const AxisSample sy = ay(y);
    Label* out = labels + static_cast<std::ptrdiff_t>(y) * label_stride;
    for (int x = 0; x < out_width; ++x) {
      const AxisSample sx = ax(x);
      const float* a = logits.pixel(sy.i0, sx.i0);
      const float* b = logits.pixel(sy.i1, sx.i0);
      const float* c = logits.pixel(sy.i0, sx.i1);
      const float* d = logits.pixel(sy.i1, sx.i1);
      int best_c = 0;
      float best = 0.0f;
      for (int ch = 0; ch < logits.channels; ++ch) {
        const float v = weighted(a[ch], sy.w0, sx.w0) + weighted(b[ch], sy.w1, sx.w0) + weighted(c[ch], sy.w0, sx.w1) +
                        weighted(d[ch], sy.w1, sx.w1);
        if (ch == 0 || beats(v, best)) best = v, best_c = ch;
      }
      out[x] = static_cast<Label>(class_ids != nullptr ? class_ids[best_c] : best_c);
    }
  }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

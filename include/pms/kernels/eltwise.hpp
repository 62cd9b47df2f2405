// pms/kernels/eltwise.hpp: elementwise ops over padded channels-last tensors, by row range.
//
//   multiply:         out = Act(a * b)
//   add_inplace:      inout = Act(inout + a)
//   activate_inplace: inout = Act(inout)
//   scale_channels_inplace: inout(y, x, c) *= scale[c]
//
// Every view may be a channel slice of a wider tensor (data offset by a multiple of 16
// floats, stride of the wider tensor). All views of one call have the same height, width
// and channels. Each pixel is processed as padded_channels(channels) lanes, pad lanes
// included, so an output slice must own its pad lanes (true for every slice in the network,
// whose channel counts are multiples of 16). Outputs may alias inputs exactly (same view):
// each element is read before it is written.
#pragma once

#include <cstddef>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

namespace eltwise_detail {

using simd::f32v;
using simd::kLanes;

// out(y, x, :) = op(a(y, x, :), b(y, x, :)) over rows; one flat loop per row when every view
// is dense (stride == padded channels), which is the common case.
template <class Op>
PMS_ALWAYS_INLINE void binary(ConstTensorView a, ConstTensorView b, TensorView out, RowRange rows, Op op) noexcept {
  PMS_ASSERT(a.height == out.height && a.width == out.width && a.channels == out.channels);
  PMS_ASSERT(b.height == out.height && b.width == out.width && b.channels == out.channels);
  PMS_ASSERT(rows.begin >= 0 && rows.end <= out.height);
  const int lanes = padded_channels(out.channels);
  const bool dense = a.stride == lanes && b.stride == lanes && out.stride == lanes;
  for (int y = rows.begin; y < rows.end; ++y) {
    if (dense) {
      const float* pa = a.row(y);
      const float* pb = b.row(y);
      float* po = out.row(y);
      const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(out.width) * lanes;
      std::ptrdiff_t i = 0;
      for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
        const f32v r0 = op(simd::load(pa + i), simd::load(pb + i));
        const f32v r1 = op(simd::load(pa + i + kLanes), simd::load(pb + i + kLanes));
        const f32v r2 = op(simd::load(pa + i + 2 * kLanes), simd::load(pb + i + 2 * kLanes));
        const f32v r3 = op(simd::load(pa + i + 3 * kLanes), simd::load(pb + i + 3 * kLanes));
        simd::store(po + i, r0);
        simd::store(po + i + kLanes, r1);
        simd::store(po + i + 2 * kLanes, r2);
        simd::store(po + i + 3 * kLanes, r3);
      }
      for (; i < n; i += kLanes) simd::store(po + i, op(simd::load(pa + i), simd::load(pb + i)));
    } else {
      for (int x = 0; x < out.width; ++x) {
        const float* pa = a.pixel(y, x);
        const float* pb = b.pixel(y, x);
        float* po = out.pixel(y, x);
        for (int c = 0; c < lanes; c += kLanes) simd::store(po + c, op(simd::load(pa + c), simd::load(pb + c)));
      }
    }
  }
}

}  // namespace eltwise_detail

template <class Act = act::Identity>
inline void multiply(ConstTensorView a, ConstTensorView b, TensorView out, RowRange rows) noexcept {
  eltwise_detail::binary(a, b, out, rows, [](simd::f32v x, simd::f32v y) { return Act::apply(x * y); });
}

template <class Act = act::Identity>
inline void add_inplace(TensorView inout, ConstTensorView a, RowRange rows) noexcept {
  eltwise_detail::binary(inout, a, inout, rows, [](simd::f32v x, simd::f32v y) { return Act::apply(x + y); });
}

template <class Act>
inline void activate_inplace(TensorView inout, RowRange rows) noexcept {
  eltwise_detail::binary(inout, inout, inout, rows, [](simd::f32v x, simd::f32v) { return Act::apply(x); });
}

// scale: [padded_channels(channels)] floats, 64-byte aligned, finite in the pad lanes.
inline void scale_channels_inplace(TensorView inout, const float* scale, RowRange rows) noexcept {
  constexpr int L = simd::kLanes;
  PMS_ASSERT(rows.begin >= 0 && rows.end <= inout.height);
  const int lanes = padded_channels(inout.channels);
  for (int y = rows.begin; y < rows.end; ++y)
    for (int x = 0; x < inout.width; ++x) {
      float* p = inout.pixel(y, x);
      for (int c = 0; c < lanes; c += L) simd::store(p + c, simd::load(p + c) * simd::load(scale + c));
    }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

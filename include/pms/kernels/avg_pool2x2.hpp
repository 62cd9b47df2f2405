// pms/kernels/avg_pool2x2.hpp: 2x2 average pooling, stride 2, floor mode.
//
//   out(y, x, c) = a/4 + b/4 + c/4 + d/4,  a = in(2y, 2x), b = in(2y+1, 2x),
//                                          c = in(2y, 2x+1), d = in(2y+1, 2x+1)
//   out extent = floor(in / 2) per axis (an odd last row/column is dropped).
//
// This is Tiny's AAM "resize x8 by scale factor 0.5" (spec 7.1), bit for bit: with ratio 2
// the Paddle sample is src = 2*dst + 0.5, so both weights are 0.5, the products a*0.5*0.5
// are exact, and the sum above is taken in Paddle's order (resize.hpp). It is NOT that
// resize along an axis of extent 2 or 3: the output extent there is 1, Paddle's out == 1
// rule sets the ratio to 0 and the resize takes row/column 0 instead of a mean. Callers
// must use resize_bilinear(ResizeMode::scale(0.5f)) when an input extent is 2 or 3.
//
// Layout: padded channels-last; the input may be a channel slice of a wider tensor. Output
// pixels are written as padded_channels(C) lanes.
#pragma once

#include <cstddef>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

inline void avg_pool2x2(ConstTensorView in, TensorView out, RowRange out_rows) noexcept {
  using simd::f32v;
  constexpr int L = simd::kLanes;
  PMS_ASSERT(in.channels == out.channels && out.height == in.height / 2 && out.width == in.width / 2);
  PMS_ASSERT(out_rows.begin >= 0 && out_rows.end <= out.height);
  const int lanes = padded_channels(out.channels);
  const f32v q = simd::splat(0.25f);
  for (int y = out_rows.begin; y < out_rows.end; ++y) {
    const float* r0 = in.row(2 * y);
    const float* r1 = in.row(2 * y + 1);
    for (int x = 0; x < out.width; ++x) {
      const float* a = r0 + static_cast<std::ptrdiff_t>(2 * x) * in.stride;
      const float* b = r1 + static_cast<std::ptrdiff_t>(2 * x) * in.stride;
      const float* c = a + in.stride;
      const float* d = b + in.stride;
      float* o = out.pixel(y, x);
      for (int ch = 0; ch < lanes; ch += L) {
        f32v v = simd::load(a + ch) * q;
        v = v + simd::load(b + ch) * q;
        v = v + simd::load(c + ch) * q;
        v = v + simd::load(d + ch) * q;
        simd::store(o + ch, v);
      }
    }
  }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

// pms/kernels/resize.hpp: bilinear resize with Paddle's semantics (spec 9.1, 16.5).
//
// Paddle F.interpolate(mode='bilinear', align_corners=False, align_mode=0), per axis:
//   ratio = 0                 if out == 1        (Paddle samples index 0, not the centre)
//         = float(in) / out   for a size target
//         = float(1.0 / s)    for a scale factor s (AAM's 0.5 gives 2 even for odd in)
//   src   = ratio * (dst + 0.5) - 0.5, evaluated in double
//   i0    = max(int(src), 0) (truncation), i1 = min(i0 + 1, in - 1)
//   l1    = max(float(src), 0) - i0 (float), l0 = 1 - l1
// and each output is the sum of four products, in Paddle's order:
//   out = a * ly0 * lx0 + b * ly1 * lx0 + c * ly0 * lx1 + d * ly1 * lx1
// with a = (y0, x0), b = (y1, x0), c = (y0, x1), d = (y1, x1). When in == out on both axes
// Paddle copies; the formula gives the same values (the weights are 1 and 0), the kernel
// copies too. Rounding differs from Paddle only where the compiler contracts a multiply
// and an add into an FMA (GCC's default on FMA targets): about 1 ulp.
//
// Layout: padded channels-last views; the input may be a channel slice of a wider tensor.
// Every output pixel is written as padded_channels(C) lanes (pad lanes finite).
#pragma once

#include <algorithm>
#include <cstddef>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

// How the output extent was chosen, which fixes Paddle's sampling ratio.
struct ResizeMode {
  float factor = 0.0f;  // 0: a size target (ratio in/out); > 0: a scale factor (ratio 1/factor)
  static constexpr ResizeMode to_size() noexcept { return {}; }
  static constexpr ResizeMode scale(float s) noexcept { return {s}; }
};

// One output position along an axis: out = in[i0] * w0 + in[i1] * w1.
struct AxisSample {
  int i0, i1;
  float w0, w1;
};

// Paddle's sampling along one axis.
struct ResizeAxis {
  int in = 0;
  int out = 0;
  float ratio = 0.0f;

  constexpr ResizeAxis(int in_extent, int out_extent, ResizeMode mode) noexcept
      : in(in_extent), out(out_extent),
        ratio(out_extent > 1 ? (mode.factor > 0.0f ? static_cast<float>(1.0 / static_cast<double>(mode.factor))
                                                   : static_cast<float>(in_extent) / static_cast<float>(out_extent))
                             : 0.0f) {}

  constexpr AxisSample operator()(int dst) const noexcept {
    const double src = static_cast<double>(ratio) * (dst + 0.5) - 0.5;
    int i0 = static_cast<int>(src);
    i0 = i0 > 0 ? (i0 < in - 1 ? i0 : in - 1) : 0;
    float fsrc = static_cast<float>(src);
    fsrc = fsrc > 0.0f ? fsrc : 0.0f;
    const float w1 = fsrc - static_cast<float>(i0);
    return {i0, i0 + 1 < in - 1 ? i0 + 1 : in - 1, 1.0f - w1, w1};
  }
};

// Combine policies: what the resize does with each computed output vector.
struct Store {
  static PMS_ALWAYS_INLINE void apply(float* out, simd::f32v v) noexcept { simd::store(out, v); }
};
struct Accumulate {  // out += resize(in): the SEA block adds its upsampled attention to its input
  static PMS_ALWAYS_INLINE void apply(float* out, simd::f32v v) noexcept { simd::store(out, simd::load(out) + v); }
};

// out(y, x, :) = bilinear sample of in for the output rows `out_rows` (whole rows, all
// columns). in and out have the same channels and must not overlap.
template <class Combine = Store>
inline void resize_bilinear(ConstTensorView in, TensorView out, ResizeMode mode_y, ResizeMode mode_x,
                            RowRange out_rows) noexcept {
  using simd::f32v;
  constexpr int L = simd::kLanes;
  PMS_ASSERT(in.channels == out.channels && in.height > 0 && in.width > 0);
  PMS_ASSERT(out_rows.begin >= 0 && out_rows.end <= out.height);
  const int lanes = padded_channels(out.channels);

  if (in.height == out.height && in.width == out.width) {  // Paddle copies
    for (int y = out_rows.begin; y < out_rows.end; ++y)
      for (int x = 0; x < out.width; ++x) {
        const float* s = in.pixel(y, x);
        float* d = out.pixel(y, x);
        for (int c = 0; c < lanes; c += L) Combine::apply(d + c, simd::load(s + c));
      }
    return;
  }

  const ResizeAxis ay(in.height, out.height, mode_y), ax(in.width, out.width, mode_x);
  // Column samples are computed once per chunk of columns and reused by every row.
  constexpr int kChunk = 64;
  AxisSample xs[kChunk];
  for (int xb = 0; xb < out.width; xb += kChunk) {
    const int xn = std::min(kChunk, out.width - xb);
    for (int i = 0; i < xn; ++i) xs[i] = ax(xb + i);
    for (int y = out_rows.begin; y < out_rows.end; ++y) {
      const AxisSample sy = ay(y);
      const float* r0 = in.row(sy.i0);
      const float* r1 = in.row(sy.i1);
      const f32v wy0 = simd::splat(sy.w0), wy1 = simd::splat(sy.w1);
      float* o = out.pixel(y, xb);
      for (int i = 0; i < xn; ++i, o += out.stride) {
        const std::ptrdiff_t o0 = static_cast<std::ptrdiff_t>(xs[i].i0) * in.stride;
        const std::ptrdiff_t o1 = static_cast<std::ptrdiff_t>(xs[i].i1) * in.stride;
        const float* a = r0 + o0;
        const float* b = r1 + o0;
        const float* c = r0 + o1;
        const float* d = r1 + o1;
        const f32v wx0 = simd::splat(xs[i].w0), wx1 = simd::splat(xs[i].w1);
        for (int ch = 0; ch < lanes; ch += L) {
          // Every product rounded on its own (simd::rounded), so no compiler fuses one into
          // the sum: the same floats on every ISA, as the int8 network needs (FORMAT.md 7.8).
          f32v v = simd::rounded(simd::load(a + ch) * wy0 * wx0);
          v = v + simd::rounded(simd::load(b + ch) * wy1 * wx0);
          v = v + simd::rounded(simd::load(c + ch) * wy0 * wx1);
          v = v + simd::rounded(simd::load(d + ch) * wy1 * wx1);
          Combine::apply(o + ch, v);
        }
      }
    }
  }
}

// The same mode on both axes (every resize in the network).
template <class Combine = Store>
inline void resize_bilinear(ConstTensorView in, TensorView out, ResizeMode mode, RowRange out_rows) noexcept {
  resize_bilinear<Combine>(in, out, mode, mode, out_rows);
}

}  // namespace pms::inline PMS_ISA_NS::kernels

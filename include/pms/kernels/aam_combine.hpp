// pms/kernels/aam_combine.hpp: the Aggregated Attention Module's elementwise combine (spec
// 7.1, 7.2), fused with the head's linear_fuse (depthwise 1x1 + BN = per-channel affine)
// and its ReLU, so the 256-channel AAM output is never written on its own.
//   Tiny (sum_all):  out = relu(scale * (sig(v8) * sig(v16) * s32 * (e8 + e16) + e32) + shift)
//   Base (votes_x8): out = relu(scale * (sig(v16) * s32 * e8 + e32) + shift)
// `v8`/`v16` are pre-activation logits of the sigmoid votes computed here; `s32` has had its
// sigmoid applied at 1/32, before it is resized (as PaddleSeg does).
//
// Inputs are channel slices (256 channels each) of padded channels-last tensors; each slice
// may have its own stride. e8/v8 have the output size. e16/v16 (slices of one tensor) and
// e32/s32 (slices of one tensor) are given at their own, lower resolution together with
// their Paddle sampling onto the output grid (`at16`, `at32`: ResizeAxis per axis, the
// sampling of resize_bilinear, spec 9.1), and are resized on the fly: each output pixel
// reads its four source pixels and weighs them with resize_bilinear's very expression
//   a * ly0 * lx0 + b * ly1 * lx0 + c * ly0 * lx1 + d * ly1 * lx1
// so the values equal those of a materialised resize (up to the compiler's FMA contraction,
// about 1 ulp). A grid whose source already has the output size is read directly (Paddle's
// copy), without sampling.
#pragma once

#include <algorithm>
#include <cstddef>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/kernels/resize.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

// Paddle's sampling of a source grid onto the output grid, per axis.
struct GridSampling {
  ResizeAxis y{0, 0, ResizeMode::to_size()};
  ResizeAxis x{0, 0, ResizeMode::to_size()};

  // Sampling of an in_h x in_w source resized to out_h x out_w (resize_bilinear's semantics).
  static constexpr GridSampling of(int in_h, int in_w, int out_h, int out_w,
                                   ResizeMode mode = ResizeMode::to_size()) noexcept {
    return {ResizeAxis(in_h, out_h, mode), ResizeAxis(in_w, out_w, mode)};
  }
  // Source and output of one size: resize_bilinear copies, and so does the combine.
  constexpr bool identity() const noexcept { return y.in == y.out && x.in == x.out; }
};

struct AamInputs {
  ConstTensorView e8, v8;    // at the output size (Base: v8.data == nullptr)
  ConstTensorView e16, v16;  // at the x16 grid, sampled by at16 (Base: e16.data == nullptr)
  ConstTensorView e32, s32;  // at the x32 grid, sampled by at32; s32 = sigmoid(vote of x32)
  GridSampling at16, at32;
};

struct HeadAffine {
  const float* scale;  // [P(C)] linear_fuse weight (BN folded)
  const float* shift;  // [P(C)] linear_fuse bias
};

namespace aam_detail {

// The four source pixels (as offsets from a tensor's data) and weights of one output pixel.
struct Taps {
  std::ptrdiff_t a, b, c, d;  // (y0, x0), (y1, x0), (y0, x1), (y1, x1)
  simd::f32v wy0, wy1, wx0, wx1;
};

// resize_bilinear's expression and order, so the values match a materialised resize.
PMS_ALWAYS_INLINE simd::f32v bilinear(const float* p, const Taps& t) noexcept {
  simd::f32v v = simd::load(p + t.a) * t.wy0 * t.wx0;
  v = v + simd::load(p + t.b) * t.wy1 * t.wx0;
  v = v + simd::load(p + t.c) * t.wy0 * t.wx1;
  v = v + simd::load(p + t.d) * t.wy1 * t.wx1;
  return v;
}

// Row part of a grid's taps for output row y (x parts filled per pixel).
struct RowTaps {
  std::ptrdiff_t r0 = 0, r1 = 0;  // offsets of source rows y0, y1
  simd::f32v wy0, wy1;
};

inline RowTaps row_taps(const GridSampling& g, int stride, int y) noexcept {
  const AxisSample s = g.y(y);
  const std::ptrdiff_t row = static_cast<std::ptrdiff_t>(g.x.in) * stride;
  return {s.i0 * row, s.i1 * row, simd::splat(s.w0), simd::splat(s.w1)};
}

PMS_ALWAYS_INLINE Taps pixel_taps(const RowTaps& r, const AxisSample& sx, int stride) noexcept {
  const std::ptrdiff_t o0 = static_cast<std::ptrdiff_t>(sx.i0) * stride, o1 = static_cast<std::ptrdiff_t>(sx.i1) * stride;
  return {r.r0 + o0, r.r1 + o0, r.r0 + o1, r.r1 + o1, r.wy0, r.wy1, simd::splat(sx.w0), simd::splat(sx.w1)};
}

// Output rows `rows` for one combination of (form, which grids are sampled).
template <bool SumAll, bool Sample16, bool Sample32, class OutRow>
void combine_rows(const AamInputs& in, const HeadAffine& head, OutRow& out_row, int out_stride, RowRange rows) noexcept {
  using simd::f32v;
  constexpr int L = simd::kLanes;
  const int c_vec = out_stride;  // whole padded pixel: pad lanes come out finite
  const int width = in.e8.width;
  const int s16 = in.v16.stride, s32 = in.e32.stride;
  // Column samples are computed once per chunk of columns for every row of the range.
  constexpr int kChunk = 64;
  AxisSample xs16[kChunk], xs32[kChunk];
  for (int xb = 0; xb < width; xb += kChunk) {
    const int xn = std::min(kChunk, width - xb);
    for (int i = 0; i < xn; ++i) {
      if constexpr (Sample16) xs16[i] = in.at16.x(xb + i);
      if constexpr (Sample32) xs32[i] = in.at32.x(xb + i);
    }
    for (int y = rows.begin; y < rows.end; ++y) {
      RowTaps r16{}, r32{};
      if constexpr (Sample16) r16 = row_taps(in.at16, s16, y);
      if constexpr (Sample32) r32 = row_taps(in.at32, s32, y);
      for (int i = 0; i < xn; ++i) {
        const int x = xb + i;
        Taps t16{}, t32{};
        const float *e16 = nullptr, *v16, *e32, *s32p;
        if constexpr (Sample16) {
          t16 = pixel_taps(r16, xs16[i], s16);
          v16 = in.v16.data;
          if constexpr (SumAll) e16 = in.e16.data;
        } else {
          v16 = in.v16.pixel(y, x);
          if constexpr (SumAll) e16 = in.e16.pixel(y, x);
        }
        if constexpr (Sample32) {
          t32 = pixel_taps(r32, xs32[i], s32);
          e32 = in.e32.data, s32p = in.s32.data;
        } else {
          e32 = in.e32.pixel(y, x), s32p = in.s32.pixel(y, x);
        }
        const float* e8 = in.e8.pixel(y, x);
        const float* v8 = SumAll ? in.v8.pixel(y, x) : nullptr;
        float* o = out_row(y) + static_cast<std::ptrdiff_t>(x) * out_stride;
        for (int c = 0; c < c_vec; c += L) {
          const f32v vote16 = Sample16 ? bilinear(v16 + c, t16) : simd::load(v16 + c);
          const f32v sem = Sample32 ? bilinear(s32p + c, t32) : simd::load(s32p + c);
          const f32v emb32 = Sample32 ? bilinear(e32 + c, t32) : simd::load(e32 + c);
          f32v gate = act::Sigmoid::apply(vote16) * sem;
          f32v detail = simd::load(e8 + c);
          if constexpr (SumAll) {
            gate = gate * act::Sigmoid::apply(simd::load(v8 + c));
            detail = detail + (Sample16 ? bilinear(e16 + c, t16) : simd::load(e16 + c));
          }
          const f32v fused = simd::fma(gate, detail, emb32);
          simd::store(o + c, act::ReLU::apply(simd::fma(simd::load(head.scale + c), fused, simd::load(head.shift + c))));
        }
      }
    }
  }
}

}  // namespace aam_detail

// Output rows `rows` of the output grid (e8's size): row y is written at out_row(y), its
// pixels out_stride = P(256) floats apart, so a caller can keep a few rows in a small tile.
template <class OutRow>
void aam_combine_head_rows(const AamInputs& in, const HeadAffine& head, OutRow&& out_row, int out_stride,
                           RowRange rows) noexcept {
  const bool sum_all = in.e16.data != nullptr;
  const int h = in.e8.height, w = in.e8.width;
  PMS_ASSERT(rows.begin >= 0 && rows.end <= h && out_stride == padded_channels(in.e8.channels));
  PMS_ASSERT(in.at16.y.in == in.v16.height && in.at16.x.in == in.v16.width);
  PMS_ASSERT(in.at32.y.in == in.e32.height && in.at32.x.in == in.e32.width);
  PMS_ASSERT(in.at16.y.out == h && in.at16.x.out == w);
  PMS_ASSERT(in.at32.y.out == h && in.at32.x.out == w);
  PMS_ASSERT(in.e32.stride == in.s32.stride && (!sum_all || in.e16.stride == in.v16.stride));
  const bool s16 = !in.at16.identity(), s32 = !in.at32.identity();
  using namespace aam_detail;
  auto run = [&]<bool SumAll, bool Sample16, bool Sample32>() {
    combine_rows<SumAll, Sample16, Sample32>(in, head, out_row, out_stride, rows);
  };
  if (sum_all) {
    if (s16)
      s32 ? run.template operator()<true, true, true>() : run.template operator()<true, true, false>();
    else
      s32 ? run.template operator()<true, false, true>() : run.template operator()<true, false, false>();
  } else {
    if (s16)
      s32 ? run.template operator()<false, true, true>() : run.template operator()<false, true, false>();
    else
      s32 ? run.template operator()<false, false, true>() : run.template operator()<false, false, false>();
  }
}

// Output rows `rows` of out, a tensor of the output grid's size (e8's).
inline void aam_combine_head(const AamInputs& in, const HeadAffine& head, TensorView out, RowRange rows) noexcept {
  PMS_ASSERT(in.e8.height == out.height && in.e8.width == out.width);
  aam_combine_head_rows(in, head, [&](int y) { return out.row(y); }, out.stride, rows);
}

}  // namespace pms::inline PMS_ISA_NS::kernels

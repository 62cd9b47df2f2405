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
// sampling of resize_bilinear, spec 9.1), and are resized on the fly, separably: for each
// output row the two source rows are blended once over all source columns (into caller
// scratch), then each output pixel blends two of those:
//   (a * ly0 + b * ly1) * lx0 + (c * ly0 + d * ly1) * lx1
// Same weights and taps as resize_bilinear's a * ly0 * lx0 + b * ly1 * lx0 + ..., in another
// order: the values differ from a materialised resize by rounding only (an ulp or two), for
// 4 instead of 12 vector operations per output vector and grid. A grid whose source already
// has the output size is read directly (Paddle's copy), without sampling.
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
  ConstTensorView e8, v8;    // at the output size (v8: Tiny only)
  ConstTensorView e16, v16;  // at the x16 grid, sampled by at16 (e16: Tiny only)
  ConstTensorView e32, s32;  // at the x32 grid, sampled by at32; s32 = sigmoid(vote of x32)
  GridSampling at16, at32;
};

struct HeadAffine {
  const float* scale;  // [P(C)] linear_fuse weight (BN folded)
  const float* shift;  // [P(C)] linear_fuse bias
};

namespace aam_detail {

// A sampled grid's two slices (one tensor: [e | v] or [e | s], or a single slice) as one
// span of each source pixel: floats [lo, lo + floats) from the pixel's start.
struct GridSpan {
  const float* base;  // the tensor's first pixel at `lo`
  int stride;         // floats per source pixel
  int floats;         // floats lerped per pixel
};

inline GridSpan grid_span(ConstTensorView a, ConstTensorView b) noexcept {
  if (a.data == nullptr) a = b;
  const float* lo = std::min(a.data, b.data);
  const float* hi = std::max(a.data + padded_channels(a.channels), b.data + padded_channels(b.channels));
  return {lo, a.stride, static_cast<int>(hi - lo)};
}

// Source rows i0, i1 of output row y, blended vertically over every source column:
// dst[x * span.floats + c] = src(i0, x, c) * w0 + src(i1, x, c) * w1.
template <class Rounding>
inline void lerp_rows(const GridSpan& span, const ResizeAxis& ay, int width, int y, float* PMS_RESTRICT dst) noexcept {
  using simd::f32v;
  const AxisSample sy = ay(y);
  const std::ptrdiff_t row = static_cast<std::ptrdiff_t>(width) * span.stride;
  const float* r0 = span.base + sy.i0 * row;
  const float* r1 = span.base + sy.i1 * row;
  const f32v w0 = simd::splat(sy.w0), w1 = simd::splat(sy.w1);
  for (int x = 0; x < width; ++x, r0 += span.stride, r1 += span.stride, dst += span.floats)
    for (int c = 0; c < span.floats; c += simd::kLanes)
      simd::store(dst + c, Rounding::fma(simd::load(r1 + c), w1, simd::load(r0 + c) * w0));
}

// Horizontal blend of two vertically blended source pixels.
template <class Rounding>
PMS_ALWAYS_INLINE simd::f32v lerp(const float* p0, const float* p1, simd::f32v w0, simd::f32v w1) noexcept {
  return Rounding::fma(simd::load(p1), w1, simd::load(p0) * w0);
}

// Output rows `rows` for one combination of (form, which grids are sampled). scratch:
// aam_combine_scratch_floats(in) floats, the vertically blended rows of the sampled grids.
template <bool SumAll, bool Sample16, bool Sample32, class Rounding, class OutRow>
void combine_rows(const AamInputs& in, const HeadAffine& head, OutRow& out_row, int out_stride, RowRange rows,
                  float* scratch) noexcept {
  using simd::f32v;
  constexpr int L = simd::kLanes;
  const int c_vec = out_stride;  // whole padded pixel: pad lanes come out finite
  const int width = in.e8.width;
  const GridSpan g16 = grid_span(SumAll ? in.e16 : in.v16, in.v16), g32 = grid_span(in.e32, in.s32);
  float* const rows16 = scratch;
  float* const rows32 = scratch + (Sample16 ? static_cast<std::ptrdiff_t>(in.at16.x.in) * g16.floats : 0);
  // Where each slice sits in a blended pixel.
  const std::ptrdiff_t at_e16 = SumAll ? in.e16.data - g16.base : 0, at_v16 = in.v16.data - g16.base;
  const std::ptrdiff_t at_e32 = in.e32.data - g32.base, at_s32 = in.s32.data - g32.base;
  // Column samples of a chunk of output columns. A row of at most kChunk columns (64 and 32
  // at 512 x 512) takes them once per call, wider rows once per chunk and row.
  constexpr int kChunk = 128;
  AxisSample xs16[kChunk], xs32[kChunk];
  const auto sample_columns = [&](int xb, int xn) {
    for (int i = 0; i < xn; ++i) {
      if constexpr (Sample16) xs16[i] = in.at16.x(xb + i);
      if constexpr (Sample32) xs32[i] = in.at32.x(xb + i);
    }
  };
  const bool one_chunk = width <= kChunk;
  if (one_chunk) sample_columns(0, width);
  for (int y = rows.begin; y < rows.end; ++y) {
    if constexpr (Sample16) lerp_rows<Rounding>(g16, in.at16.y, in.at16.x.in, y, rows16);
    if constexpr (Sample32) lerp_rows<Rounding>(g32, in.at32.y, in.at32.x.in, y, rows32);
    float* const out = out_row(y);
    for (int xb = 0; xb < width; xb += kChunk) {
      const int xn = std::min(kChunk, width - xb);
      if (!one_chunk) sample_columns(xb, xn);
      for (int i = 0; i < xn; ++i) {
        const int x = xb + i;
        // Per grid: the two blended pixels and weights, or the source pixel itself.
        const float *p16a, *p16b = nullptr, *p32a, *p32b = nullptr;
        f32v w16a{}, w16b{}, w32a{}, w32b{};
        if constexpr (Sample16) {
          p16a = rows16 + static_cast<std::ptrdiff_t>(xs16[i].i0) * g16.floats;
          p16b = rows16 + static_cast<std::ptrdiff_t>(xs16[i].i1) * g16.floats;
          w16a = simd::splat(xs16[i].w0), w16b = simd::splat(xs16[i].w1);
        } else {
          p16a = g16.base + (static_cast<std::ptrdiff_t>(y) * in.at16.x.in + x) * g16.stride;
        }
        if constexpr (Sample32) {
          p32a = rows32 + static_cast<std::ptrdiff_t>(xs32[i].i0) * g32.floats;
          p32b = rows32 + static_cast<std::ptrdiff_t>(xs32[i].i1) * g32.floats;
          w32a = simd::splat(xs32[i].w0), w32b = simd::splat(xs32[i].w1);
        } else {
          p32a = g32.base + (static_cast<std::ptrdiff_t>(y) * in.at32.x.in + x) * g32.stride;
        }
        const auto sample16 = [&](std::ptrdiff_t at, int c) {
          return Sample16 ? lerp<Rounding>(p16a + at + c, p16b + at + c, w16a, w16b) : simd::load(p16a + at + c);
        };
        const auto sample32 = [&](std::ptrdiff_t at, int c) {
          return Sample32 ? lerp<Rounding>(p32a + at + c, p32b + at + c, w32a, w32b) : simd::load(p32a + at + c);
        };
        const float* e8 = in.e8.pixel(y, x);
        const float* v8 = SumAll ? in.v8.pixel(y, x) : nullptr;
        float* o = out + static_cast<std::ptrdiff_t>(x) * out_stride;
        for (int c = 0; c < c_vec; c += L) {
          f32v gate = act::Sigmoid::apply<Rounding>(sample16(at_v16, c)) * sample32(at_s32, c);
          f32v detail = simd::load(e8 + c);
          if constexpr (SumAll) {
            gate = gate * act::Sigmoid::apply<Rounding>(simd::load(v8 + c));
            detail = detail + sample16(at_e16, c);
          }
          const f32v fused = Rounding::fma(gate, detail, sample32(at_e32, c));
          simd::store(o + c, act::ReLU::apply(Rounding::fma(simd::load(head.scale + c), fused, simd::load(head.shift + c))));
        }
      }
    }
  }
}

}  // namespace aam_detail

// Scratch floats aam_combine_head_rows needs (per call; per thread when threads split rows):
// one vertically blended row of each sampled grid (at most a whole pixel stride per source
// pixel). Reads only sizes, so the workspace stays a constant expression.
constexpr std::size_t aam_combine_scratch_floats(const AamInputs& in) noexcept {
  std::size_t n = 0;
  if (!in.at16.identity()) n += static_cast<std::size_t>(in.at16.x.in) * in.v16.stride;
  if (!in.at32.identity()) n += static_cast<std::size_t>(in.at32.x.in) * in.e32.stride;
  return n;
}

// Output rows `rows` of the output grid (e8's size): row y is written at out_row(y), its
// pixels out_stride = P(256) floats apart, so a caller can keep a few rows in a small tile.
// SumAll: Tiny's form (v8 and e16 used); else Base's (they are not read).
// scratch: aam_combine_scratch_floats(in) floats. Rounding: simd::FusedAlways in the int8
// network, FusedIfNative in the fp32 one.
template <bool SumAll, class Rounding = simd::FusedIfNative, class OutRow>
void aam_combine_head_rows(const AamInputs& in, const HeadAffine& head, OutRow&& out_row, int out_stride, RowRange rows,
                           float* scratch) noexcept {
  [[maybe_unused]] const int h = in.e8.height, w = in.e8.width;  // the asserts only
  PMS_ASSERT(rows.begin >= 0 && rows.end <= h && out_stride == padded_channels(in.e8.channels));
  PMS_ASSERT(in.at16.y.in == in.v16.height && in.at16.x.in == in.v16.width);
  PMS_ASSERT(in.at32.y.in == in.e32.height && in.at32.x.in == in.e32.width);
  PMS_ASSERT(in.at16.y.out == h && in.at16.x.out == w);
  PMS_ASSERT(in.at32.y.out == h && in.at32.x.out == w);
  PMS_ASSERT(in.e32.stride == in.s32.stride && (!SumAll || in.e16.stride == in.v16.stride));
  const bool s16 = !in.at16.identity(), s32 = !in.at32.identity();
  PMS_ASSERT(scratch != nullptr || (!s16 && !s32));
  using namespace aam_detail;
  auto run = [&]<bool Sample16, bool Sample32>() {
    combine_rows<SumAll, Sample16, Sample32, Rounding>(in, head, out_row, out_stride, rows, scratch);
  };
  if (s16)
    s32 ? run.template operator()<true, true>() : run.template operator()<true, false>();
  else
    s32 ? run.template operator()<false, true>() : run.template operator()<false, false>();
}

}  // namespace pms::inline PMS_ISA_NS::kernels

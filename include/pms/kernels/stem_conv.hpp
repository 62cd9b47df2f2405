// pms/kernels/stem_conv.hpp: the first layer, a 3x3 stride-2 convolution 3 -> 16 with
// padding 1, read straight from the 8-bit image, normalised on the fly, fused bias + Act.
//
//   out(y,x,co) = Act( bias[co] + sum_{ky,kx,ci} w[ky*3+kx][ci][co] * n_ci(img(2y-1+ky, 2x-1+kx)) ),
//   n_ci(p) = (p/255 - mean[ci]) / std[ci], RGB order; taps outside the image contribute 0
//   (zero padding in the normalised domain).
//
// Layouts: image interleaved 8-bit (pms/core/image.hpp, any PixelFormat, any row stride);
// weights [9][3][16], element [ky*3+kx][ci][co] at ((ky*3+kx)*3+ci)*16+co; out
// ceil(H/2) x ceil(W/2) x 16 padded channels-last (stride 16, no pad lanes).
//
// Output rows are computed in order, each in column chunks of kChunk output pixels. For
// each chunk, its three input rows are normalised into a small float buffer (kept in the
// image's own channel order, zeros outside the image, vectorised: kLanes bytes -> floats ->
// one FMA with a per-lane scale/offset pattern). The convolution then broadcasts each
// normalised sample into kXT pixels x 16 output channels of accumulators; the format only
// changes which byte offset a weight row reads (a compile-time constant per format).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "pms/core/config.hpp"
#include "pms/core/image.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

struct StemWeights {
  const float* weight;  // [9][3][16]: element [ky*3+kx][ci][co], ci in RGB order
  const float* bias;    // [16]
};

namespace stem_detail {

using simd::f32v;
using simd::kLanes;

inline constexpr int kCout = 16;
inline constexpr int kNV = kCout / kLanes;  // output vectors per pixel: 1 (AVX-512) .. 4 (SSE2/NEON)
// Output pixels per register tile: 8 accumulators on every ISA.
inline constexpr int kXT = std::max(1, 8 / kNV);
// Output pixels per column chunk; the staging buffer holds 3 rows of 2*kChunk+1 input pixels.
inline constexpr int kChunk = 64;
inline constexpr int kStageRowFloats = (2 * kChunk + 1) * 4 + 3 * 16;  // + slack for a whole last vector

// Per-lane normalisation pattern for kLanes consecutive floats of an interleaved row:
// vector j of a row starting at a pixel boundary uses pattern j % 3 (period 3 for RGB;
// for 4-byte pixels all three patterns are the same).
struct NormPattern {
  alignas(64) float scale[3 * kLanes];
  alignas(64) float offset[3 * kLanes];
};

// Normalises input row iy, pixels [col0, col0 + n) (col0 may be -1), into dst in the
// image's channel order; pixels outside the image become 0.
template <int BPP, class Rounding>
inline void stage_row(const ImageView& img, int iy, int col0, int n, const NormPattern& pat, const float* sc,
                      const float* of, float* PMS_RESTRICT dst) noexcept {
  if (iy < 0 || iy >= img.height) {
    for (int i = 0; i < n * BPP; ++i) dst[i] = 0.0f;
    return;
  }
  const int begin = std::max(col0, 0), end = std::min(col0 + n, img.width);
  for (int i = 0; i < (begin - col0) * BPP; ++i) dst[i] = 0.0f;
  float* d = dst + (begin - col0) * BPP;
  const std::uint8_t* src = img.pixels + iy * img.row_stride + static_cast<std::ptrdiff_t>(begin) * BPP;
  const int bytes = std::max(0, end - begin) * BPP;
  int e = 0, j = 0;
  for (; e + kLanes <= bytes; e += kLanes, j = j == 2 ? 0 : j + 1)
    simd::storeu(d + e, Rounding::fma(simd::load_u8(src + e), simd::load(pat.scale + j * kLanes),
                                      simd::load(pat.offset + j * kLanes)));
  // The tail rounds as the vectors do, so a sample does not depend on the lane width that left it over.
  for (; e < bytes; ++e) d[e] = Rounding::fma(static_cast<float>(src[e]), sc[e % BPP], of[e % BPP]);
  for (int i = (std::max(end, begin) - col0) * BPP; i < n * BPP; ++i) dst[i] = 0.0f;
}

// XT output pixels: rows[ky] points at the staged input pixel 2*t0 - 1 (the tile's first
// tap column); W: weights [27][16] already reordered to the image's channel order.
template <int XT, int BPP, int RED, class Act, class Rounding>
PMS_ALWAYS_INLINE void tile(const float* const* rows, const float* PMS_RESTRICT w, const f32v* bias,
                            float* PMS_RESTRICT out) noexcept {
  f32v acc[XT][kNV];
#pragma GCC unroll 8
  for (int t = 0; t < XT; ++t)
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) acc[t][v] = bias[v];
#pragma GCC unroll 3
  for (int ky = 0; ky < 3; ++ky) {
    const float* PMS_RESTRICT row = rows[ky];
#pragma GCC unroll 3
    for (int kx = 0; kx < 3; ++kx)
#pragma GCC unroll 3
      for (int ci = 0; ci < 3; ++ci) {
        // RGB channel ci sits at byte RED, 1 or 2 - RED of a pixel.
        const int src = ci == 0 ? RED : ci == 1 ? 1 : 2 - RED;
        f32v wv[kNV];
#pragma GCC unroll 4
        for (int v = 0; v < kNV; ++v) wv[v] = simd::load(w + ((ky * 3 + kx) * 3 + ci) * kCout + v * kLanes);
#pragma GCC unroll 8
        for (int t = 0; t < XT; ++t) {
          const f32v x = simd::splat(row[(2 * t + kx) * BPP + src]);
#pragma GCC unroll 4
          for (int v = 0; v < kNV; ++v) acc[t][v] = Rounding::fma(x, wv[v], acc[t][v]);
        }
      }
  }
#pragma GCC unroll 8
  for (int t = 0; t < XT; ++t)
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) simd::store(out + t * kCout + v * kLanes, Act::apply(acc[t][v]));
}

template <int BPP, int RED, class Act, class Rounding>
void run(const ImageView& img, const Normalization& norm, const StemWeights& w, TensorView out,
         RowRange rows) noexcept {
  // Normalisation as x = p * scale + offset, scale = 1/(255 std), offset = -mean/std (in
  // double, then rounded): one FMA per sample. Byte b of a pixel holds RGB channel
  // (b == RED ? 0 : b == 1 ? 1 : b == 2 - RED ? 2 : alpha); alpha gets 0 and is never read.
  float sc[4] = {0, 0, 0, 0}, of[4] = {0, 0, 0, 0};
  for (int b = 0; b < 3; ++b) {
    const int c = b == RED ? 0 : b == 1 ? 1 : 2;
    sc[b] = static_cast<float>(1.0 / (255.0 * static_cast<double>(norm.std[c])));
    of[b] = static_cast<float>(-static_cast<double>(norm.mean[c]) / static_cast<double>(norm.std[c]));
  }
  NormPattern pat;
  for (int i = 0; i < 3 * kLanes; ++i) pat.scale[i] = sc[i % BPP], pat.offset[i] = of[i % BPP];

  alignas(64) float wts[27 * kCout];
  for (int i = 0; i < 27 * kCout; ++i) wts[i] = w.weight[i];
  f32v bias[kNV];
  for (int v = 0; v < kNV; ++v) bias[v] = simd::loadu(w.bias + v * kLanes);

  // Output rows in order, each in column chunks: the output is written sequentially (a
  // chunk-outer order wrote 4 KiB pieces 16 KiB apart and ran 12-15 % slower at 512x512). Each
  // chunk stages its three input rows afresh (row 2y+1 is staged again as 2y'-1: a few
  // percent of the work, for a 7 KiB stack buffer whatever the width).
  alignas(64) float staged[3][kStageRowFloats];
  for (int y = rows.begin; y < rows.end; ++y) {
    for (int x0 = 0; x0 < out.width; x0 += kChunk) {
      const int xc = std::min(kChunk, out.width - x0);
      const int col0 = 2 * x0 - 1, n = 2 * xc + 1;
      for (int k = 0; k < 3; ++k) stage_row<BPP, Rounding>(img, 2 * y - 1 + k, col0, n, pat, sc, of, staged[k]);
      float* o = out.pixel(y, x0);
      int t = 0;
      const auto at = [&](int t0, const float** rr) {
        for (int k = 0; k < 3; ++k) rr[k] = staged[k] + 2 * t0 * BPP;
      };
      const float* rr[3];
      for (; t + kXT <= xc; t += kXT) at(t, rr), tile<kXT, BPP, RED, Act, Rounding>(rr, wts, bias, o + t * kCout);
      if constexpr (kXT > 4)
        if (xc - t >= 4) at(t, rr), tile<4, BPP, RED, Act, Rounding>(rr, wts, bias, o + t * kCout), t += 4;
      if constexpr (kXT > 2)
        if (xc - t >= 2) at(t, rr), tile<2, BPP, RED, Act, Rounding>(rr, wts, bias, o + t * kCout), t += 2;
      if constexpr (kXT > 1)
        if (xc - t >= 1) at(t, rr), tile<1, BPP, RED, Act, Rounding>(rr, wts, bias, o + t * kCout), t += 1;
    }
  }
}

}  // namespace stem_detail

// Computes output rows `out_rows`. Preconditions (debug-asserted): out is ceil(H/2) x
// ceil(W/2) x 16 of the image; image non-empty with row_stride >= width * bytes per pixel.
// Rounding: simd::FusedAlways in the int8 network, FusedIfNative in the fp32 one.
template <class Act, class Rounding = simd::FusedIfNative>
void stem_conv(const ImageView& image, const Normalization& norm, const StemWeights& w, TensorView out,
               RowRange out_rows) noexcept {
  using namespace stem_detail;
  PMS_ASSERT(out.channels == kCout && out.stride == kCout);
  PMS_ASSERT(out.height == (image.height + 1) / 2 && out.width == (image.width + 1) / 2);
  PMS_ASSERT(image.row_stride >= static_cast<std::ptrdiff_t>(image.width) * bytes_per_pixel(image.format));
  PMS_ASSERT(out_rows.begin >= 0 && out_rows.end <= out.height);
  if (out_rows.size() <= 0) return;
  switch (image.format) {
    case PixelFormat::rgb: run<3, 0, Act, Rounding>(image, norm, w, out, out_rows); break;
    case PixelFormat::bgr: run<3, 2, Act, Rounding>(image, norm, w, out, out_rows); break;
    case PixelFormat::rgba: run<4, 0, Act, Rounding>(image, norm, w, out, out_rows); break;
    case PixelFormat::bgra: run<4, 2, Act, Rounding>(image, norm, w, out, out_rows); break;
  }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

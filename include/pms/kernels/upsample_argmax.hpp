// pms/kernels/upsample_argmax.hpp: bilinear upsample (Paddle semantics, size target) fused
// with the channel argmax, so the K x H x W logits are never materialised (spec 9.2, 9.3, 13).
//
//   labels[y * label_stride + x] = id(argmax_c U(y, x, c)),  U = resize_bilinear(logits, H x W)
//   id(c) = c (all classes), or class_ids[c] (VIM: logits gathered to the present classes S,
//   class_ids = S, so the label is S[p]). First maximum wins ties.
//
// Cells. Output pixels whose samples use the same four source pixels (same y0 and x0, see
// resize.hpp) form a cell: a block of about (out/in)^2 pixels. Every interpolated value is
// a convex combination of its class's four corner values, so it lies in [lo_c, hi_c], the
// corners' min and max. With L = max_c lo_c, a class with hi_c < L loses to the class that
// attains L at every pixel of the cell. The test is made safe against float rounding with a
// margin of 2^-19 * A (A = the largest |corner value| of the cell; the computed values are
// within about 6 ulp * A of the exact ones), so the pruned classes also lose to the
// computed values, never tie. Per cell:
//   * one candidate (regions inside one segment): the cell is filled with its label;
//   * otherwise the candidates' corner values are compacted to a few vectors (ascending
//     channel order, so first-max-wins is kept), each column of the cell is interpolated
//     horizontally once (h0, h1), and every pixel is h0 * wy0 + h1 * wy1 and an argmax over
//     the compacted vectors.
// The separable blend differs from Paddle's four-product sum by rounding only (~1 ulp), so
// a label can differ from "resize, then argmax" only where two classes tie within rounding.
//
// Logits: padded channels-last, finite (|value| < 2^100), possibly a channel slice. Rows are
// independent: callers split out_rows across threads, each with its own scratch.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/argmax.hpp"
#include "pms/kernels/resize.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

namespace upsample_argmax_detail {

using simd::f32v;

// Longest run of consecutive outputs that share a source index i0 along an axis.
constexpr int longest_run(const ResizeAxis& axis) noexcept {
  int best = 0, run = 0, prev = -1;
  for (int d = 0; d < axis.out; ++d) {
    const int i0 = axis(d).i0;
    run = i0 == prev ? run + 1 : 1;
    prev = i0;
    best = run > best ? run : best;
  }
  return best;
}

// Relative margin of the pruning test (see the header comment).
inline constexpr float kMargin = 0x1p-19f;

template <class Label>
PMS_ALWAYS_INLINE Label label_of(const float* cand, int j, const std::int32_t* class_ids) noexcept {
  const int c = static_cast<int>(cand[j]);
  return static_cast<Label>(class_ids != nullptr ? class_ids[c] : c);
}

}  // namespace upsample_argmax_detail

// Floats of scratch one upsample_argmax call needs (per thread).
constexpr std::size_t upsample_argmax_scratch_floats(int channels, int in_width, int out_width) noexcept {
  const auto lanes = static_cast<std::size_t>(padded_channels(channels));
  const auto run = static_cast<std::size_t>(
      upsample_argmax_detail::longest_run(ResizeAxis(in_width, out_width, ResizeMode::to_size())));
  return (5 + 2 * run) * lanes;  // 4 compacted corners + candidate list + h0, h1 for one cell
}

template <class Label>
inline void upsample_argmax(ConstTensorView logits, int out_height, int out_width, Label* labels, std::ptrdiff_t label_stride,
                            RowRange out_rows, float* scratch, const std::int32_t* class_ids = nullptr) noexcept {
  static_assert(is_label_type_v<Label>, "Labels are uint8_t, uint16_t or int32_t.");
  using simd::f32v;
  using upsample_argmax_detail::label_of;
  constexpr int L = simd::kLanes;
  const int k = logits.channels;
  PMS_ASSERT(k >= 1 && logits.height >= 1 && logits.width >= 1 && out_height >= 1 && out_width >= 1);
  PMS_ASSERT(out_rows.begin >= 0 && out_rows.end <= out_height);
  const int lanes = padded_channels(k);
  const int nb = (k + L - 1) / L;     // vectors holding real channels
  const int tail = k - (nb - 1) * L;  // real lanes of the last one, 1..L
  const unsigned tail_bits = tail >= 32 ? ~0u : (1u << tail) - 1u;
  const int run_max = upsample_argmax_detail::longest_run(ResizeAxis(logits.width, out_width, ResizeMode::to_size()));
  float* c00 = scratch;  // compacted corner values: (y0,x0), (y0,x1), (y1,x0), (y1,x1)
  float* c01 = c00 + lanes;
  float* c10 = c01 + lanes;
  float* c11 = c10 + lanes;
  float* cand = c11 + lanes;  // candidate channels, ascending (as floats)
  float* h0 = cand + lanes;   // [run][ncp]: row y0 interpolated at the cell's columns
  float* h1 = h0 + static_cast<std::ptrdiff_t>(run_max) * lanes;
  const ResizeAxis ay(logits.height, out_height, ResizeMode::to_size());
  const ResizeAxis ax(logits.width, out_width, ResizeMode::to_size());
  const f32v lane = simd::lane_index();
  const f32v never = simd::splat(argmax_detail::kNeverWins);

  for (int y = out_rows.begin; y < out_rows.end;) {
    const AxisSample sy = ay(y);
    int y_end = y + 1;
    while (y_end < out_rows.end && ay(y_end).i0 == sy.i0) ++y_end;
    const float* r0 = logits.row(sy.i0);
    const float* r1 = logits.row(sy.i1);

    for (int x = 0; x < out_width;) {
      const AxisSample sx = ax(x);
      int x_end = x + 1;
      while (x_end < out_width && ax(x_end).i0 == sx.i0) ++x_end;
      const float* p00 = r0 + static_cast<std::ptrdiff_t>(sx.i0) * logits.stride;
      const float* p01 = r0 + static_cast<std::ptrdiff_t>(sx.i1) * logits.stride;
      const float* p10 = r1 + static_cast<std::ptrdiff_t>(sx.i0) * logits.stride;
      const float* p11 = r1 + static_cast<std::ptrdiff_t>(sx.i1) * logits.stride;

      // Pruning bound: threshold = max_c lo_c - margin.
      f32v lo_max = never, abs_max = simd::zero();
      for (int b = 0; b < nb; ++b) {
        const int c = b * L;
        const f32v a = simd::load(p00 + c), bb = simd::load(p01 + c), cc = simd::load(p10 + c), d = simd::load(p11 + c);
        f32v lo = simd::min(simd::min(a, bb), simd::min(cc, d));
        const f32v hi = simd::max(simd::max(a, bb), simd::max(cc, d));
        f32v ab = simd::max(hi, simd::zero() - lo);
        if (b == nb - 1) {
          const auto valid = lane < simd::splat(static_cast<float>(tail));
          lo = simd::select(valid, lo, never);
          ab = simd::select(valid, ab, simd::zero());
        }
        lo_max = simd::max(lo_max, lo);
        abs_max = simd::max(abs_max, ab);
      }
      const float threshold = simd::first_lane(simd::broadcast_max(lo_max)) -
                              upsample_argmax_detail::kMargin * simd::first_lane(simd::broadcast_max(abs_max));
      const f32v thr = simd::splat(threshold);
      int nc = 0;
      for (int b = 0; b < nb; ++b) {
        const int c = b * L;
        const f32v hi = simd::max(simd::max(simd::load(p00 + c), simd::load(p01 + c)),
                                  simd::max(simd::load(p10 + c), simd::load(p11 + c)));
        unsigned bits = simd::bitmask(hi >= thr);
        if (b == nb - 1) bits &= tail_bits;
        for (; bits != 0; bits &= bits - 1) cand[nc++] = static_cast<float>(c + std::countr_zero(bits));
      }

      if (nc == 1) {  // one class can win anywhere in the cell
        const Label l = label_of<Label>(cand, 0, class_ids);
        for (int yy = y; yy < y_end; ++yy) {
          Label* out = labels + static_cast<std::ptrdiff_t>(yy) * label_stride;
          for (int xx = x; xx < x_end; ++xx) out[xx] = l;
        }
        x = x_end;
        continue;
      }

      const int ncp = (nc + L - 1) / L * L;
      for (int j = 0; j < nc; ++j) {
        const int c = static_cast<int>(cand[j]);
        c00[j] = p00[c];
        c01[j] = p01[c];
        c10[j] = p10[c];
        c11[j] = p11[c];
      }
      for (int j = nc; j < ncp; ++j) c00[j] = c01[j] = c10[j] = c11[j] = argmax_detail::kNeverWins;
      const int run = x_end - x;
      for (int i = 0; i < run; ++i) {
        const AxisSample s = ax(x + i);
        const f32v wx0 = simd::splat(s.w0), wx1 = simd::splat(s.w1);
        float* o0 = h0 + static_cast<std::ptrdiff_t>(i) * ncp;
        float* o1 = h1 + static_cast<std::ptrdiff_t>(i) * ncp;
        for (int j = 0; j < ncp; j += L) {
          simd::store(o0 + j, simd::load(c00 + j) * wx0 + simd::load(c01 + j) * wx1);
          simd::store(o1 + j, simd::load(c10 + j) * wx0 + simd::load(c11 + j) * wx1);
        }
      }
      for (int yy = y; yy < y_end; ++yy) {
        const AxisSample s = ay(yy);
        const f32v wy0 = simd::splat(s.w0), wy1 = simd::splat(s.w1);
        Label* out = labels + static_cast<std::ptrdiff_t>(yy) * label_stride + x;
        if (ncp == L) {  // the common case: the candidates fit one vector
          for (int i = 0; i < run; ++i) {
            const f32v v = simd::load(h0 + static_cast<std::ptrdiff_t>(i) * L) * wy0 +
                           simd::load(h1 + static_cast<std::ptrdiff_t>(i) * L) * wy1;
            const unsigned ties = simd::bitmask(v == simd::broadcast_max(v));
            out[i] = label_of<Label>(cand, std::countr_zero(ties), class_ids);
          }
        } else {
          for (int i = 0; i < run; ++i) {
            const float* q0 = h0 + static_cast<std::ptrdiff_t>(i) * ncp;
            const float* q1 = h1 + static_cast<std::ptrdiff_t>(i) * ncp;
            f32v best = simd::load(q0) * wy0 + simd::load(q1) * wy1;
            f32v best_index = lane;
            for (int j = L; j < ncp; j += L) {
              const f32v v = simd::load(q0 + j) * wy0 + simd::load(q1 + j) * wy1;
              const auto gt = v > best;
              best = simd::select(gt, v, best);
              best_index = simd::select(gt, lane + simd::splat(static_cast<float>(j)), best_index);
            }
            out[i] = label_of<Label>(cand, argmax_detail::first_max_index(best, best_index), class_ids);
          }
        }
      }
      x = x_end;
    }
    y = y_end;
  }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

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
//   * otherwise the candidates' corner values are compacted (ascending channel order, so
//     first-max-wins is kept), each column of the cell is interpolated horizontally once
//     (h0, h1), and every pixel is h0 * wy0 + h1 * wy1 followed by an argmax. Cells at least
//     half a vector wide (every upsampling by 8 or 16) are vectorised over their pixels with
//     a loop over candidates (no cross-lane work); narrower cells over the candidates.
// The separable blend differs from Paddle's four-product sum by rounding only (~1 ulp), so
// a label can differ from "resize, then argmax" only where two classes tie within rounding.
//
// Logits: padded channels-last, possibly a channel slice. Labels are exact for finite logits
// with |value| <= 2^100 (logit_range.hpp's kLogitLimit); for any other values every label is
// still a real class index and every access stays in bounds (a cell whose pruning bound is
// NaN keeps all classes as candidates), but robust_argmax.hpp is what orders such values.
// Rows are independent: callers split out_rows across threads, each with its own scratch.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

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

// The label table of a cell is int32 values kept in float scratch (bit copies).
PMS_ALWAYS_INLINE void put_label(float* table, int j, std::int32_t label) noexcept { std::memcpy(table + j, &label, sizeof label); }
PMS_ALWAYS_INLINE std::int32_t get_label(const float* table, int j) noexcept {
  std::int32_t label;
  std::memcpy(&label, table + j, sizeof label);
  return label;
}

// Argmax over nc candidates for R output rows of one vector of pixels (columns i.. of a
// wide cell): v_j = h0[j] * wy0[r] + h1[j] * wy1[r]. The R rows are independent compare
// chains sharing every load. Strict > in ascending j keeps the first maximum.
template <int R>
PMS_ALWAYS_INLINE void argmax_rows(const float* h0, const float* h1, std::ptrdiff_t pitch, int nc, const f32v* wy0,
                                   const f32v* wy1, float* index_out) noexcept {
  f32v best[R], index[R];
  {
    const f32v a = simd::load(h0), b = simd::load(h1);
    PMS_UNROLL(4)
    for (int r = 0; r < R; ++r) best[r] = a * wy0[r] + b * wy1[r], index[r] = simd::zero();
  }
  f32v jv = simd::zero();
  const f32v one = simd::splat(1.0f);
  for (int j = 1; j < nc; ++j) {
    jv = jv + one;
    const f32v a = simd::load(h0 + j * pitch), b = simd::load(h1 + j * pitch);
    PMS_UNROLL(4)
    for (int r = 0; r < R; ++r) {
      const f32v v = a * wy0[r] + b * wy1[r];
      const auto gt = v > best[r];
      best[r] = simd::select(gt, v, best[r]);
      index[r] = simd::select(gt, jv, index[r]);
    }
  }
  PMS_UNROLL(4)
  for (int r = 0; r < R; ++r) simd::store(index_out + r * simd::kLanes, index[r]);
}

}  // namespace upsample_argmax_detail

// Floats of scratch one upsample_argmax call needs (per thread).
constexpr std::size_t upsample_argmax_scratch_floats(int channels, int in_width, int out_width) noexcept {
  const auto lanes = static_cast<std::size_t>(padded_channels(channels));
  const auto run = static_cast<std::size_t>(
      padded_channels(upsample_argmax_detail::longest_run(ResizeAxis(in_width, out_width, ResizeMode::to_size()))));
  // 4 compacted corners, candidates, their labels; h0, h1 of one cell; the cell's x weights.
  return (6 + 2 * run) * lanes + 2 * run;
}

template <class Label>
inline void upsample_argmax(ConstTensorView logits, int out_height, int out_width, Label* labels, std::ptrdiff_t label_stride,
                            RowRange out_rows, float* scratch, const std::int32_t* class_ids = nullptr) noexcept {
  static_assert(is_label_type_v<Label>, "Labels are uint8_t, uint16_t or int32_t.");
  using simd::f32v;
  constexpr int L = simd::kLanes;
  const int k = logits.channels;
  PMS_ASSERT(k >= 1 && logits.height >= 1 && logits.width >= 1 && out_height >= 1 && out_width >= 1);
  PMS_ASSERT(out_rows.begin >= 0 && out_rows.end <= out_height);
  const int lanes = padded_channels(k);
  const int nb = (k + L - 1) / L;     // vectors holding real channels
  const int tail = k - (nb - 1) * L;  // real lanes of the last one, 1..L
  const unsigned tail_bits = tail >= 32 ? ~0u : (1u << tail) - 1u;
  const int run_max = padded_channels(upsample_argmax_detail::longest_run(ResizeAxis(logits.width, out_width, ResizeMode::to_size())));
  float* c00 = scratch;  // compacted corner values: (y0,x0), (y0,x1), (y1,x0), (y1,x1)
  float* c01 = c00 + lanes;
  float* c10 = c01 + lanes;
  float* c11 = c10 + lanes;
  float* cand = c11 + lanes;   // candidate channels, ascending (as floats)
  float* table = cand + lanes;  // their labels (int32 bits)
  float* h0 = table + lanes;    // row y0 interpolated at the cell's columns: [run][ncp] or [nc][runp]
  float* h1 = h0 + static_cast<std::ptrdiff_t>(run_max) * lanes;
  float* wx0 = h1 + static_cast<std::ptrdiff_t>(run_max) * lanes;  // [runp] x weights of the cell's columns
  float* wx1 = wx0 + run_max;
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
      if (nc == 0)  // only when the bound is NaN (logits outside the contract): keep every class
        for (; nc < k; ++nc) cand[nc] = static_cast<float>(nc);

      using upsample_argmax_detail::get_label;
      for (int j = 0; j < nc; ++j) {
        const int c = static_cast<int>(cand[j]);
        upsample_argmax_detail::put_label(table, j, class_ids != nullptr ? class_ids[c] : c);
      }
      if (nc == 1) {  // one class can win anywhere in the cell
        const Label l = static_cast<Label>(get_label(table, 0));
        for (int yy = y; yy < y_end; ++yy) {
          Label* out = labels + static_cast<std::ptrdiff_t>(yy) * label_stride;
          for (int xx = x; xx < x_end; ++xx) out[xx] = l;
        }
        x = x_end;
        continue;
      }

      for (int j = 0; j < nc; ++j) {
        const int c = static_cast<int>(cand[j]);
        c00[j] = p00[c];
        c01[j] = p01[c];
        c10[j] = p10[c];
        c11[j] = p11[c];
      }
      const int run = x_end - x;
      if (2 * run >= L) {
        // Wide cells (upsampling): vectors over the cell's columns, a loop over candidates.
        // Per candidate and vector of pixels: a blend, a compare and two selects; no
        // cross-lane reduction. Strict > in ascending candidate order keeps the first max.
        const int runp = (run + L - 1) / L * L;
        for (int i = 0; i < runp; ++i) {
          const AxisSample s = ax(i < run ? x + i : x);
          wx0[i] = s.w0;
          wx1[i] = s.w1;
        }
        for (int j = 0; j < nc; ++j) {
          const f32v a0 = simd::splat(c00[j]), a1 = simd::splat(c01[j]), b0 = simd::splat(c10[j]), b1 = simd::splat(c11[j]);
          float* o0 = h0 + static_cast<std::ptrdiff_t>(j) * runp;
          float* o1 = h1 + static_cast<std::ptrdiff_t>(j) * runp;
          for (int i = 0; i < runp; i += L) {
            const f32v w0 = simd::load(wx0 + i), w1 = simd::load(wx1 + i);
            simd::store(o0 + i, a0 * w0 + a1 * w1);
            simd::store(o1 + i, b0 * w0 + b1 * w1);
          }
        }
        constexpr int kRows = 4;
        alignas(64) float best_j[kRows * simd::kLanes];
        for (int yy = y; yy < y_end; yy += kRows) {
          const int rows = y_end - yy < kRows ? y_end - yy : kRows;
          f32v wy0[kRows], wy1[kRows];
          for (int r = 0; r < rows; ++r) {
            const AxisSample s = ay(yy + r);
            wy0[r] = simd::splat(s.w0);
            wy1[r] = simd::splat(s.w1);
          }
          for (int i = 0; i < runp; i += L) {
            switch (rows) {
              case 4: upsample_argmax_detail::argmax_rows<4>(h0 + i, h1 + i, runp, nc, wy0, wy1, best_j); break;
              case 3: upsample_argmax_detail::argmax_rows<3>(h0 + i, h1 + i, runp, nc, wy0, wy1, best_j); break;
              case 2: upsample_argmax_detail::argmax_rows<2>(h0 + i, h1 + i, runp, nc, wy0, wy1, best_j); break;
              default: upsample_argmax_detail::argmax_rows<1>(h0 + i, h1 + i, runp, nc, wy0, wy1, best_j); break;
            }
            const int n = run - i < L ? run - i : L;
            for (int r = 0; r < rows; ++r) {
              Label* out = labels + static_cast<std::ptrdiff_t>(yy + r) * label_stride + x + i;
              for (int l = 0; l < n; ++l) out[l] = static_cast<Label>(get_label(table, static_cast<int>(best_j[r * L + l])));
            }
          }
        }
        x = x_end;
        continue;
      }

      // Narrow cells (down- or mild upsampling): vectors over the compacted candidates.
      const int ncp = (nc + L - 1) / L * L;
      for (int j = nc; j < ncp; ++j) c00[j] = c01[j] = c10[j] = c11[j] = argmax_detail::kNeverWins;
      for (int i = 0; i < run; ++i) {
        const AxisSample s = ax(x + i);
        const f32v w0 = simd::splat(s.w0), w1 = simd::splat(s.w1);
        float* o0 = h0 + static_cast<std::ptrdiff_t>(i) * ncp;
        float* o1 = h1 + static_cast<std::ptrdiff_t>(i) * ncp;
        for (int j = 0; j < ncp; j += L) {
          simd::store(o0 + j, simd::load(c00 + j) * w0 + simd::load(c01 + j) * w1);
          simd::store(o1 + j, simd::load(c10 + j) * w0 + simd::load(c11 + j) * w1);
        }
      }
      for (int yy = y; yy < y_end; ++yy) {
        const AxisSample s = ay(yy);
        const f32v wy0 = simd::splat(s.w0), wy1 = simd::splat(s.w1);
        Label* out = labels + static_cast<std::ptrdiff_t>(yy) * label_stride + x;
        for (int i = 0; i < run; ++i) {
          const float* q0 = h0 + static_cast<std::ptrdiff_t>(i) * ncp;
          const float* q1 = h1 + static_cast<std::ptrdiff_t>(i) * ncp;
          int j_best;
          if (ncp == L) {
            const f32v v = simd::load(q0) * wy0 + simd::load(q1) * wy1;
            j_best = std::countr_zero(simd::bitmask(v == simd::broadcast_max(v)));
          } else {
            f32v best = simd::load(q0) * wy0 + simd::load(q1) * wy1;
            f32v best_index = lane;
            for (int j = L; j < ncp; j += L) {
              const f32v v = simd::load(q0 + j) * wy0 + simd::load(q1 + j) * wy1;
              const auto gt = v > best;
              best = simd::select(gt, v, best);
              best_index = simd::select(gt, lane + simd::splat(static_cast<float>(j)), best_index);
            }
            j_best = argmax_detail::first_max_index(best, best_index);
          }
          // Within the contract the winner is a candidate; outside it (NaN, or values below
          // the pad lanes' kNeverWins) any candidate is as good as another.
          if (j_best >= nc) j_best = 0;
          out[i] = static_cast<Label>(get_label(table, j_best));
        }
      }
      x = x_end;
    }
    y = y_end;
  }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

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
// computed values, never tie. Per cell (the steps in upsample_argmax_detail):
//   1. prune_candidates: the classes that pass the bound, in ascending channel order (so
//      first-max-wins is kept); label_candidates: their labels;
//   2. one candidate (regions inside one segment): fill_cell writes its label everywhere;
//   3. otherwise gather_corners compacts the candidates' four corner values, each column of
//      the cell is interpolated horizontally once (h0, h1), and every pixel is
//      h0 * wy0 + h1 * wy1 followed by an argmax:
//      argmax_wide_cell for cells at least half a vector wide (every upsampling by 8 or 16),
//      vectorised over their pixels with a loop over candidates (no cross-lane work);
//      argmax_narrow_cell for narrower cells, vectorised over the candidates.
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

// The K real channels as vectors: nb vectors, the last with `tail` real lanes (1..L).
struct ChannelVectors {
  int k, nb, tail;
  unsigned tail_bits;  // bitmask of the last vector's real lanes
  explicit constexpr ChannelVectors(int channels) noexcept
      : k(channels),
        nb((channels + simd::kLanes - 1) / simd::kLanes),
        tail(channels - (nb - 1) * simd::kLanes),
        tail_bits(tail >= 32 ? ~0u : (1u << tail) - 1u) {}
};

// The caller's scratch (upsample_argmax_scratch_floats floats), in this order. lanes =
// P(K); run_max = P(the longest run of output columns in one cell).
struct CellScratch {
  float* c00;    // [lanes] compacted corner values at (y0, x0)
  float* c01;    // [lanes] ... at (y0, x1)
  float* c10;    // [lanes] ... at (y1, x0)
  float* c11;    // [lanes] ... at (y1, x1)
  float* cand;   // [lanes] candidate channels, ascending (as floats)
  float* table;  // [lanes] their labels (int32 bits)
  float* h0;     // [run_max * lanes] row y0 blended at the cell's columns: [run][ncp] or [nc][runp]
  float* h1;     // [run_max * lanes] row y1, the same layout
  float* wx0;    // [run_max] x weights of the cell's columns (wide cells)
  float* wx1;    // [run_max]
  constexpr CellScratch(float* scratch, int lanes, int run_max) noexcept
      : c00(scratch),
        c01(c00 + lanes),
        c10(c01 + lanes),
        c11(c10 + lanes),
        cand(c11 + lanes),
        table(cand + lanes),
        h0(table + lanes),
        h1(h0 + static_cast<std::ptrdiff_t>(run_max) * lanes),
        wx0(h1 + static_cast<std::ptrdiff_t>(run_max) * lanes),
        wx1(wx0 + run_max) {}
};

// One cell: output rows [y, y_end) x columns [x, x_end), all sampling the four source pixels
// p00 = (y0, x0), p01 = (y0, x1), p10 = (y1, x0), p11 = (y1, x1) (pointers to channel 0).
struct Cell {
  int y, y_end, x, x_end;
  const float *p00, *p01, *p10, *p11;
  constexpr int run() const noexcept { return x_end - x; }  // columns of the cell
};

// The labels and where they go: labels[y * stride + x]; id(c) = class_ids[c], or c when
// class_ids is null.
template <class Label>
struct LabelOutput {
  Label* labels;
  std::ptrdiff_t stride;
  const std::int32_t* class_ids;
  PMS_ALWAYS_INLINE Label* row(int y) const noexcept { return labels + static_cast<std::ptrdiff_t>(y) * stride; }
};

// Step 1. The cell's candidates into cand (ascending channel order), their count returned:
// every class whose corner maximum hi_c reaches max_c lo_c - kMargin * A. When the bound is
// NaN (logits outside the contract) no class passes the test; then every class is kept.
PMS_ALWAYS_INLINE int prune_candidates(const Cell& cell, const ChannelVectors& cv, float* cand) noexcept {
  constexpr int L = simd::kLanes;
  const f32v lane = simd::lane_index();
  const f32v never = simd::splat(argmax_detail::kNeverWins);
  f32v lo_max = never, abs_max = simd::zero();
  for (int b = 0; b < cv.nb; ++b) {
    const int c = b * L;
    const f32v a = simd::load(cell.p00 + c), bb = simd::load(cell.p01 + c), cc = simd::load(cell.p10 + c),
               d = simd::load(cell.p11 + c);
    f32v lo = simd::min(simd::min(a, bb), simd::min(cc, d));
    const f32v hi = simd::max(simd::max(a, bb), simd::max(cc, d));
    f32v ab = simd::max(hi, simd::zero() - lo);
    if (b == cv.nb - 1) {
      const auto valid = lane < simd::splat(static_cast<float>(cv.tail));
      lo = simd::select(valid, lo, never);
      ab = simd::select(valid, ab, simd::zero());
    }
    lo_max = simd::max(lo_max, lo);
    abs_max = simd::max(abs_max, ab);
  }
  const float threshold =
      simd::first_lane(simd::broadcast_max(lo_max)) - kMargin * simd::first_lane(simd::broadcast_max(abs_max));
  const f32v thr = simd::splat(threshold);
  int nc = 0;
  for (int b = 0; b < cv.nb; ++b) {
    const int c = b * L;
    const f32v hi = simd::max(simd::max(simd::load(cell.p00 + c), simd::load(cell.p01 + c)),
                              simd::max(simd::load(cell.p10 + c), simd::load(cell.p11 + c)));
    unsigned bits = simd::bitmask(hi >= thr);
    if (b == cv.nb - 1) bits &= cv.tail_bits;
    for (; bits != 0; bits &= bits - 1) cand[nc++] = static_cast<float>(c + std::countr_zero(bits));
  }
  if (nc == 0)  // only when the bound is NaN (logits outside the contract): keep every class
    for (; nc < cv.k; ++nc) cand[nc] = static_cast<float>(nc);
  return nc;
}

// Step 1, continued. table[j] = id(cand[j]) for the nc candidates.
template <class Label>
PMS_ALWAYS_INLINE void label_candidates(const float* cand, int nc, const LabelOutput<Label>& out, float* table) noexcept {
  for (int j = 0; j < nc; ++j) {
    const int c = static_cast<int>(cand[j]);
    put_label(table, j, out.class_ids != nullptr ? out.class_ids[c] : c);
  }
}

// Step 2. One candidate: it wins at every pixel of the cell.
template <class Label>
PMS_ALWAYS_INLINE void fill_cell(const Cell& cell, const float* table, const LabelOutput<Label>& out) noexcept {
  const Label l = static_cast<Label>(get_label(table, 0));
  for (int yy = cell.y; yy < cell.y_end; ++yy) {
    Label* o = out.row(yy);
    for (int xx = cell.x; xx < cell.x_end; ++xx) o[xx] = l;
  }
}

// Step 3. The nc candidates' corner values, compacted: c00[j] = p00[cand[j]], and so on.
PMS_ALWAYS_INLINE void gather_corners(const Cell& cell, int nc, const CellScratch& s) noexcept {
  for (int j = 0; j < nc; ++j) {
    const int c = static_cast<int>(s.cand[j]);
    s.c00[j] = cell.p00[c];
    s.c01[j] = cell.p01[c];
    s.c10[j] = cell.p10[c];
    s.c11[j] = cell.p11[c];
  }
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

// Step 3, wide cells (2 * run >= L: every upsampling by 8 or 16): vectors over the cell's
// columns, a loop over candidates. h0/h1 are [nc][runp]: candidate j's rows y0 and y1 blended
// horizontally at the cell's columns (pad columns repeat column x). Then per candidate and
// vector of pixels a blend, a compare and two selects, four output rows at a time; no
// cross-lane reduction. Strict > in ascending candidate order keeps the first maximum.
template <class Label>
PMS_ALWAYS_INLINE void argmax_wide_cell(const Cell& cell, int nc, const ResizeAxis& ay, const ResizeAxis& ax,
                                        const CellScratch& s, const LabelOutput<Label>& out) noexcept {
  constexpr int L = simd::kLanes;
  const int run = cell.run();
  const int runp = (run + L - 1) / L * L;
  for (int i = 0; i < runp; ++i) {
    const AxisSample sx = ax(i < run ? cell.x + i : cell.x);
    s.wx0[i] = sx.w0;
    s.wx1[i] = sx.w1;
  }
  for (int j = 0; j < nc; ++j) {
    const f32v a0 = simd::splat(s.c00[j]), a1 = simd::splat(s.c01[j]), b0 = simd::splat(s.c10[j]), b1 = simd::splat(s.c11[j]);
    float* o0 = s.h0 + static_cast<std::ptrdiff_t>(j) * runp;
    float* o1 = s.h1 + static_cast<std::ptrdiff_t>(j) * runp;
    for (int i = 0; i < runp; i += L) {
      const f32v w0 = simd::load(s.wx0 + i), w1 = simd::load(s.wx1 + i);
      simd::store(o0 + i, a0 * w0 + a1 * w1);
      simd::store(o1 + i, b0 * w0 + b1 * w1);
    }
  }
  constexpr int kRows = 4;
  alignas(64) float best_j[kRows * simd::kLanes];
  for (int yy = cell.y; yy < cell.y_end; yy += kRows) {
    const int rows = cell.y_end - yy < kRows ? cell.y_end - yy : kRows;
    f32v wy0[kRows], wy1[kRows];
    for (int r = 0; r < rows; ++r) {
      const AxisSample sy = ay(yy + r);
      wy0[r] = simd::splat(sy.w0);
      wy1[r] = simd::splat(sy.w1);
    }
    for (int i = 0; i < runp; i += L) {
      switch (rows) {
        case 4: argmax_rows<4>(s.h0 + i, s.h1 + i, runp, nc, wy0, wy1, best_j); break;
        case 3: argmax_rows<3>(s.h0 + i, s.h1 + i, runp, nc, wy0, wy1, best_j); break;
        case 2: argmax_rows<2>(s.h0 + i, s.h1 + i, runp, nc, wy0, wy1, best_j); break;
        default: argmax_rows<1>(s.h0 + i, s.h1 + i, runp, nc, wy0, wy1, best_j); break;
      }
      const int n = run - i < L ? run - i : L;
      for (int r = 0; r < rows; ++r) {
        Label* o = out.row(yy + r) + cell.x + i;
        for (int l = 0; l < n; ++l) o[l] = static_cast<Label>(get_label(s.table, static_cast<int>(best_j[r * L + l])));
      }
    }
  }
}

// Step 3, narrow cells (down- or mild upsampling): vectors over the compacted candidates,
// padded to ncp with kNeverWins. h0/h1 are [run][ncp]: rows y0 and y1 blended horizontally
// at each of the cell's columns; each pixel is one blend and a first-max argmax over them.
template <class Label>
PMS_ALWAYS_INLINE void argmax_narrow_cell(const Cell& cell, int nc, const ResizeAxis& ay, const ResizeAxis& ax,
                                          const CellScratch& s, const LabelOutput<Label>& out) noexcept {
  constexpr int L = simd::kLanes;
  const f32v lane = simd::lane_index();
  const int run = cell.run();
  const int ncp = (nc + L - 1) / L * L;
  for (int j = nc; j < ncp; ++j) s.c00[j] = s.c01[j] = s.c10[j] = s.c11[j] = argmax_detail::kNeverWins;
  for (int i = 0; i < run; ++i) {
    const AxisSample sx = ax(cell.x + i);
    const f32v w0 = simd::splat(sx.w0), w1 = simd::splat(sx.w1);
    float* o0 = s.h0 + static_cast<std::ptrdiff_t>(i) * ncp;
    float* o1 = s.h1 + static_cast<std::ptrdiff_t>(i) * ncp;
    for (int j = 0; j < ncp; j += L) {
      simd::store(o0 + j, simd::load(s.c00 + j) * w0 + simd::load(s.c01 + j) * w1);
      simd::store(o1 + j, simd::load(s.c10 + j) * w0 + simd::load(s.c11 + j) * w1);
    }
  }
  for (int yy = cell.y; yy < cell.y_end; ++yy) {
    const AxisSample sy = ay(yy);
    const f32v wy0 = simd::splat(sy.w0), wy1 = simd::splat(sy.w1);
    Label* o = out.row(yy) + cell.x;
    for (int i = 0; i < run; ++i) {
      const float* q0 = s.h0 + static_cast<std::ptrdiff_t>(i) * ncp;
      const float* q1 = s.h1 + static_cast<std::ptrdiff_t>(i) * ncp;
      // Operand order of the two blends below matters where the compiler contracts a
      // multiply-add into an FMA (GCC on FMA targets and AArch64): this order makes GCC
      // fuse q1 * wy1 and round q0 * wy0, the rounding these labels have always had; the
      // other order changes labels at near-ties.
      int j_best;
      if (ncp == L) {
        const f32v v = simd::load(q1) * wy1 + simd::load(q0) * wy0;
        j_best = std::countr_zero(simd::bitmask(v == simd::broadcast_max(v)));
      } else {
        f32v best = simd::load(q1) * wy1 + simd::load(q0) * wy0;
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
      o[i] = static_cast<Label>(get_label(s.table, j_best));
    }
  }
}

}  // namespace upsample_argmax_detail

// Floats of scratch one upsample_argmax call needs (per thread): CellScratch's layout.
constexpr std::size_t upsample_argmax_scratch_floats(int channels, int in_width, int out_width) noexcept {
  const auto lanes = static_cast<std::size_t>(padded_channels(channels));
  const auto run = static_cast<std::size_t>(
      padded_channels(upsample_argmax_detail::longest_run(ResizeAxis(in_width, out_width, ResizeMode::to_size()))));
  // 4 compacted corners, candidates, their labels; h0, h1 of one cell; the cell's x weights.
  return (6 + 2 * run) * lanes + 2 * run;
}

// Walks the output rows cell by cell: for each band of rows sharing a source row pair, each
// run of columns sharing a source column pair is one cell, labelled by the steps above.
template <class Label>
inline void upsample_argmax(ConstTensorView logits, int out_height, int out_width, Label* labels, std::ptrdiff_t label_stride,
                            RowRange out_rows, float* scratch, const std::int32_t* class_ids = nullptr) noexcept {
  static_assert(is_label_type_v<Label>, "Labels are uint8_t, uint16_t or int32_t.");
  using namespace upsample_argmax_detail;
  PMS_ASSERT(logits.channels >= 1 && logits.height >= 1 && logits.width >= 1 && out_height >= 1 && out_width >= 1);
  PMS_ASSERT(out_rows.begin >= 0 && out_rows.end <= out_height);
  const ChannelVectors cv(logits.channels);
  const ResizeAxis ay(logits.height, out_height, ResizeMode::to_size());
  const ResizeAxis ax(logits.width, out_width, ResizeMode::to_size());
  const CellScratch s(scratch, padded_channels(logits.channels), padded_channels(longest_run(ax)));
  const LabelOutput<Label> out{labels, label_stride, class_ids};

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
      const std::ptrdiff_t o0 = static_cast<std::ptrdiff_t>(sx.i0) * logits.stride;
      const std::ptrdiff_t o1 = static_cast<std::ptrdiff_t>(sx.i1) * logits.stride;
      const Cell cell{y, y_end, x, x_end, r0 + o0, r0 + o1, r1 + o0, r1 + o1};
      x = x_end;

      const int nc = prune_candidates(cell, cv, s.cand);
      label_candidates(s.cand, nc, out, s.table);
      if (nc == 1) {
        fill_cell(cell, s.table, out);
        continue;
      }
      gather_corners(cell, nc, s);
      if (2 * cell.run() >= simd::kLanes)
        argmax_wide_cell(cell, nc, ay, ax, s, out);
      else
        argmax_narrow_cell(cell, nc, ay, ax, s, out);
    }
    y = y_end;
  }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

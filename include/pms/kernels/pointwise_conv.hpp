// pms/kernels/pointwise_conv.hpp: 1x1 convolution as a GEMM over channels, fused epilogue.
//
//   out(y,x,co) = Act( sum_ci InputAct(in(y,x,ci)) * w[ci][co] + bias[co] ) [+ residual(y,x,co)]
//
// Layouts (padded channels-last, pms/core/tensor.hpp): a row range of a tensor is one
// contiguous run of pixels, pixel p at data + p * stride. So the kernel is the GEMM
// C[P x N] = A[P x cin] * B[cin x N] with A = input pixels (row stride in.stride), B = the
// weights [cin][N] (N = round_up(cout, 16), element [ci][co] at ci * N + co), C = output
// pixels (row stride out.stride). Every output pixel is written in full, pad lanes
// included (they hold Act(bias_pad + sum in * w_pad), or Act(0) [+ residual] beyond the 8
// lanes of a half last vector (see micro_tile): finite as the weights are).
//
// Blocking (XNNPACK/BLIS style, names below):
//   * micro-tile: kMR pixels x kNR vectors of output channels held in registers; per
//     reduction step kNR weight vectors are loaded and each of the kMR input values is
//     broadcast once, for kMR * kNR FMAs;
//   * weight panel: kKC reduction steps x kNR vectors. With 16-register ISAs (panels of 8-16
//     floats) it is copied into a contiguous, aligned stack buffer, as its rows, a whole
//     weight row apart, would map onto a few L1 sets; AVX-512 reads its 64-float panels in
//     place (measured as fast as packed at every network shape, and the copy is saved).
//     cin > kKC runs in several passes that keep partial sums in `out`;
//   * pixel block: kMC pixels whose inputs stay in L2 while every panel sweeps over them.
// With a non-identity InputAct, a tile's inputs are first copied with the activation
// applied (vectorised over channels), so the inner loop stays one broadcast per FMA row.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

// Weights of a 1x1 convolution, BN folded, packed as [cin][round_up(cout, 16)].
struct PointwiseWeights {
  const float* weight;  // [cin][round_up(cout,16)], element [ci][co]; pad columns finite
  const float* bias;    // [round_up(cout,16)]
  int cin;
  int cout;
};

struct PointwiseExtras {
  ConstTensorView residual{};  // if residual.data: out = Act(conv) + residual (same shape as out)
};

// The preconditions every 1x1 conv kernel (fp32 and int8) debug-asserts; see pointwise_conv.
inline void assert_pointwise_shapes([[maybe_unused]] ConstTensorView in, [[maybe_unused]] int cin, [[maybe_unused]] int cout,
                                    [[maybe_unused]] TensorView out, [[maybe_unused]] RowRange rows,
                                    [[maybe_unused]] const PointwiseExtras& extras) noexcept {
  PMS_ASSERT(in.height == out.height && in.width == out.width);
  PMS_ASSERT(in.channels == cin && out.channels == cout);
  PMS_ASSERT(in.stride >= padded_channels(cin) && out.stride == padded_channels(cout));
  PMS_ASSERT(rows.begin >= 0 && rows.end <= out.height);
  PMS_ASSERT(extras.residual.data == nullptr ||
             (extras.residual.height == out.height && extras.residual.width == out.width &&
              extras.residual.stride == out.stride));
}

namespace pointwise_detail {

using simd::f32v;
using simd::kLanes;

// Vector registers of the ISA: AVX-512 and AArch64 have 32, SSE2/AVX2 16.
#if defined(__AVX512F__) || defined(__aarch64__)
inline constexpr int kVectorRegisters = 32;
#else
inline constexpr int kVectorRegisters = 16;
#endif

// Widest micro-tile in vectors of output channels: 4 x 16 floats on AVX-512, 4 x 4 on
// NEON, 2 x 8 (AVX2) or 2 x 4 (SSE2) with 16 registers. Narrower panels (the remainder of
// cout) use kNR = 1..3 with taller tiles so that every tile keeps >= 12-24 accumulators.
inline constexpr int kMaxNR = kVectorRegisters == 32 ? 4 : 2;

// Pixels per micro-tile for a tile of NR vectors: accumulators + NR weights + a broadcast
// within the register file, and enough independent FMA chains to cover the FMA latency.
constexpr int mr_for(int nr) noexcept {
  if constexpr (kVectorRegisters == 32) return nr >= 4 ? 6 : nr == 3 ? 8 : nr == 2 ? 12 : 16;
  else return nr >= 2 ? 6 : 8;
}

// Whether weight panels are packed (see the header comment), and the pixel tiles below which
// a panel is read in place all the same.
inline constexpr bool kPackPanels = kMaxNR * kLanes < 64;
inline constexpr int kPackMinTiles = 4;

// Floats of one weight panel (kKC x NR vectors): 16 KiB, half an L1D, when packed; 32 KiB
// when read in place, which halves the passes over `out` (measured 1-2 % faster end to end).
inline constexpr int kPanelFloats = kPackPanels ? 4096 : 8192;
// Reduction steps per panel, a multiple of kLanes so every pass starts vector-aligned.
constexpr int kc_for(int nr) noexcept { return kPanelFloats / (nr * kLanes) / kLanes * kLanes; }

// Input floats of one pixel block (kMC x cin): 256 KiB, so the block stays in L2 while
// every weight panel sweeps over it.
inline constexpr int kBlockInputFloats = 64 * 1024;

template <class T>
inline constexpr bool kIsIdentity = std::is_same_v<T, act::Identity>;

// One micro-tile: MR pixels x NR vectors, kc reduction steps. With HalfLast the last of
// the NR vectors has at most kLanes / 2 real channels and is computed as a half vector
// (simd::kHasHalfVectors); its high lanes, pad lanes, come out as Act(0) [+ residual].
//   a: MR rows of inputs, row m at a + m * a_stride (already InputAct-ed if needed)
//   wp: weight panel, step k's NR vectors at wp + k * wp_stride (packed or in place)
//   c: MR output rows (pitch c_stride); partial sums on entry unless `first`
//   r: residual rows (pitch r_stride) or null; used only on the `last` pass
template <int MR, int NR, bool HalfLast, class Act>
PMS_ALWAYS_INLINE void micro_tile(const float* PMS_RESTRICT a, std::ptrdiff_t a_stride, int kc,
                                  const float* PMS_RESTRICT wp, std::ptrdiff_t wp_stride,
                                  const float* PMS_RESTRICT bias, float* PMS_RESTRICT c,
                                  std::ptrdiff_t c_stride, const float* PMS_RESTRICT r, std::ptrdiff_t r_stride,
                                  bool first, bool last) noexcept {
  static_assert(!HalfLast || simd::kHasHalfVectors);
  constexpr int NF = HalfLast ? NR - 1 : NR;  // whole vectors; a half one follows at column NF
  constexpr std::ptrdiff_t kHalfAt = NF * kLanes;
  f32v acc[MR][NF > 0 ? NF : 1];
  [[maybe_unused]] simd::f32h half[HalfLast ? MR : 1];
  if (first) {
#pragma GCC unroll 4
    for (int v = 0; v < NF; ++v) {
      const f32v b = simd::loadu(bias + v * kLanes);
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) acc[m][v] = b;
    }
    if constexpr (HalfLast) {
      const simd::f32h b = simd::loadu_half(bias + kHalfAt);
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) half[m] = b;
    }
  } else {
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
#pragma GCC unroll 4
      for (int v = 0; v < NF; ++v) acc[m][v] = simd::load(c + m * c_stride + v * kLanes);
      if constexpr (HalfLast) half[m] = simd::load_half(c + m * c_stride + kHalfAt);
    }
  }

  for (int k = 0; k < kc; ++k) {
    f32v b[NF > 0 ? NF : 1];
#pragma GCC unroll 4
    for (int v = 0; v < NF; ++v) b[v] = simd::loadu(wp + v * kLanes);
    [[maybe_unused]] simd::f32h bh;
    if constexpr (HalfLast) bh = simd::loadu_half(wp + kHalfAt);
    wp += wp_stride;
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const f32v x = simd::splat(a[m * a_stride + k]);
#pragma GCC unroll 4
      for (int v = 0; v < NF; ++v) acc[m][v] = simd::fma_fast(x, b[v], acc[m][v]);
      if constexpr (HalfLast) half[m] = simd::fma_half(x, bh, half[m]);
    }
  }

  if (last) {
    const auto finish = [&](int m, int v, f32v sum) {
      f32v y = Act::apply(sum);
      if (r != nullptr) y = y + simd::load(r + m * r_stride + v * kLanes);
      simd::store(c + m * c_stride + v * kLanes, y);
    };
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
#pragma GCC unroll 4
      for (int v = 0; v < NF; ++v) finish(m, v, acc[m][v]);
      if constexpr (HalfLast) finish(m, NF, simd::widen(half[m]));
    }
  } else {
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
#pragma GCC unroll 4
      for (int v = 0; v < NF; ++v) simd::store(c + m * c_stride + v * kLanes, acc[m][v]);
      if constexpr (HalfLast) simd::store_half(c + m * c_stride + kHalfAt, half[m]);
    }
  }
}

// Everything a panel pass needs about where its tiles read and write.
struct PassArgs {
  const float* a;       // first input pixel of the block, at the pass's first channel
  std::ptrdiff_t a_stride;
  int kc;
  const float* wp;      // weight panel (packed, or the weights in place)
  std::ptrdiff_t wp_stride;
  const float* bias;    // at the panel's first column
  float* c;             // first output pixel of the block, at the panel's first column
  std::ptrdiff_t c_stride;
  const float* r;       // residual, same position as c, or null
  std::ptrdiff_t r_stride;
  bool first, last;
};

// MR pixels starting at pixel p of the block, staging InputAct-ed inputs when needed.
template <int MR, int NR, bool HalfLast, class Act, class InputAct>
PMS_ALWAYS_INLINE void run_tile(const PassArgs& s, int p) noexcept {
  const float* a = s.a + p * s.a_stride;
  std::ptrdiff_t a_stride = s.a_stride;
  constexpr int kStagePitch = kc_for(NR);
  alignas(64) float stage[kIsIdentity<InputAct> ? 1 : MR * kStagePitch];
  if constexpr (!kIsIdentity<InputAct>) {
    // Up to the next whole vector: the pass starts at a multiple of kLanes and the
    // reduction never runs past round_up(cin, kLanes) <= stride, so the reads stay in
    // each pixel's padded stride (pad lanes are finite; staged, never used).
    const int kv = (s.kc + kLanes - 1) / kLanes * kLanes;
    for (int m = 0; m < MR; ++m)
      for (int k = 0; k < kv; k += kLanes)
        simd::store(stage + m * kStagePitch + k, InputAct::apply(simd::load(a + m * s.a_stride + k)));
    a = stage;
    a_stride = kStagePitch;
  }
  const float* r = s.r != nullptr ? s.r + p * s.r_stride : nullptr;
  micro_tile<MR, NR, HalfLast, Act>(a, a_stride, s.kc, s.wp, s.wp_stride, s.bias, s.c + p * s.c_stride, s.c_stride, r,
                                    s.r_stride, s.first, s.last);
}

// Tiles of MR pixels over [0, np), then the tail as tiles of 8, 4, 2, 1 pixels.
template <int NR, bool HalfLast, class Act, class InputAct>
void run_pass(const PassArgs& s, int np) noexcept {
  constexpr int kMR = mr_for(NR);
  int p = 0;
  for (; p + kMR <= np; p += kMR) run_tile<kMR, NR, HalfLast, Act, InputAct>(s, p);
  if constexpr (kMR > 8)
    if (np - p >= 8) run_tile<8, NR, HalfLast, Act, InputAct>(s, p), p += 8;
  if constexpr (kMR > 4)
    if (np - p >= 4) run_tile<4, NR, HalfLast, Act, InputAct>(s, p), p += 4;
  if constexpr (kMR > 2)
    if (np - p >= 2) run_tile<2, NR, HalfLast, Act, InputAct>(s, p), p += 2;
  if (np - p >= 1) run_tile<1, NR, HalfLast, Act, InputAct>(s, p);
}

// One panel of NR output vectors at column n0 over a block of np pixels (the last one a
// half vector with HalfLast).
template <int NR, bool HalfLast, class Act, class InputAct>
void run_panel(const float* a, std::ptrdiff_t a_stride, const PointwiseWeights& w, int n0, float* c, std::ptrdiff_t c_stride,
               const float* r, std::ptrdiff_t r_stride, int np) noexcept {
  constexpr int kKC = kc_for(NR);
  constexpr int kNRL = NR * kLanes;
  static_assert(!(HalfLast && kPackPanels), "Half vectors exist on AVX-512 only, which reads its panels in place.");
  alignas(64) float panel[kPackPanels ? kKC * kNRL : 1];
  const std::ptrdiff_t w_stride = padded_channels(w.cout);
  const int cin = w.cin;
  // Packing pays for itself when several tiles reuse the panel; a block of a few pixels
  // (the SEA row/column projections have 8-16) reads the weights in place.
  const bool pack = kPackPanels && np >= kPackMinTiles * mr_for(NR);
  int k0 = 0;
  do {
    const int kc = std::min(kKC, cin - k0);
    if (!pack) {
      const PassArgs s{a + k0, a_stride, kc, w.weight + k0 * w_stride + n0, w_stride, w.bias + n0, c, c_stride, r,
                       r_stride, k0 == 0, k0 + kc >= cin};
      run_pass<NR, HalfLast, Act, InputAct>(s, np);
      k0 += kc;
      continue;
    }
    for (int k = 0; k < kc; ++k) {
      const float* src = w.weight + (k0 + k) * w_stride + n0;
#pragma GCC unroll 4
      for (int v = 0; v < NR; ++v) simd::store(panel + k * kNRL + v * kLanes, simd::loadu(src + v * kLanes));
    }
    const PassArgs s{a + k0, a_stride, kc, panel, kNRL, w.bias + n0, c, c_stride, r, r_stride, k0 == 0, k0 + kc >= cin};
    run_pass<NR, HalfLast, Act, InputAct>(s, np);
    k0 += kc;
  } while (k0 < cin);
}

}  // namespace pointwise_detail

// Computes output rows `rows` (same rows of `in`). Preconditions (debug-asserted): in and
// out have the same height and width; in.channels == w.cin, out.channels == w.cout;
// residual, if given, has out's shape; out overlaps neither in nor residual (partial sums
// are kept in out); tensors are 64-byte aligned with the padded stride.
template <class Act, class InputAct = act::Identity>
void pointwise_conv(ConstTensorView in, const PointwiseWeights& w, TensorView out, RowRange rows,
                    const PointwiseExtras& extras = {}) noexcept {
  using namespace pointwise_detail;
  assert_pointwise_shapes(in, w.cin, w.cout, out, rows, extras);
  if (rows.size() <= 0 || out.width <= 0) return;

  const int pixels = rows.size() * out.width;
  const int vectors = out.stride / kLanes;
  const int mc = std::max(4 * mr_for(kMaxNR), kBlockInputFloats / std::max(w.cin, 1));
  const std::ptrdiff_t first_pixel = static_cast<std::ptrdiff_t>(rows.begin) * out.width;
  const float* a = in.data + first_pixel * in.stride;
  float* c = out.data + first_pixel * out.stride;
  const float* r = extras.residual.data != nullptr ? extras.residual.data + first_pixel * out.stride : nullptr;

  // The last vector as a half when it holds at most kLanes / 2 real channels (150 classes:
  // 6; Tiny's 24-channel linear conv: 8).
  const int tail_channels = w.cout % kLanes;
  const bool half_tail = simd::kHasHalfVectors && tail_channels != 0 && tail_channels <= kLanes / 2;

  for (int p0 = 0; p0 < pixels; p0 += mc) {
    const int np = std::min(mc, pixels - p0);
    const float* ab = a + p0 * static_cast<std::ptrdiff_t>(in.stride);
    float* cb = c + p0 * static_cast<std::ptrdiff_t>(out.stride);
    const float* rb = r != nullptr ? r + p0 * static_cast<std::ptrdiff_t>(out.stride) : nullptr;
    for (int v0 = 0; v0 < vectors; v0 += kMaxNR) {
      const int nr = std::min(kMaxNR, vectors - v0);
      const int n0 = v0 * kLanes;
      const float* rn = rb != nullptr ? rb + n0 : nullptr;
      const auto panel = [&]<int NR>() {
        if constexpr (simd::kHasHalfVectors)
          if (half_tail && v0 + NR == vectors)
            return run_panel<NR, true, Act, InputAct>(ab, in.stride, w, n0, cb + n0, out.stride, rn, out.stride, np);
        run_panel<NR, false, Act, InputAct>(ab, in.stride, w, n0, cb + n0, out.stride, rn, out.stride, np);
      };
      switch (nr) {
        case kMaxNR: panel.template operator()<kMaxNR>(); break;
        case 1: panel.template operator()<1>(); break;
        default:
          if constexpr (kMaxNR > 2)
            if (nr == 2) { panel.template operator()<2>(); break; }
          if constexpr (kMaxNR > 3)
            if (nr == 3) { panel.template operator()<3>(); break; }
          break;
      }
    }
  }
}

// The weights of the conv whose input channel ci is first multiplied by scale[ci]: rows
// `ci` of out[cin][P(cout)] = w[ci][:] * scale[ci] (threads may split the rows). MV3 blocks
// fold their squeeze-excite gate into the linear conv this way, once per image: cheaper than
// scaling every input pixel, and the products are the same floats either way.
inline void scale_input_channels(const PointwiseWeights& w, const float* scale, float* out, RowRange ci) noexcept {
  using simd::kLanes;
  const std::ptrdiff_t n = padded_channels(w.cout);
  for (int i = ci.begin; i < ci.end; ++i) {
    const simd::f32v s = simd::splat(scale[i]);
    for (std::ptrdiff_t co = 0; co < n; co += kLanes)
      simd::storeu(out + i * n + co, simd::loadu(w.weight + i * n + co) * s);
  }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

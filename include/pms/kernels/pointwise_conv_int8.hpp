// pms/kernels/pointwise_conv_int8.hpp: the int8 1x1 convolution of weights/FORMAT.md 7
// (int8 files): activations quantized per pixel at run time (7.4, quantize.hpp), an exact
// integer dot product with the stored int8 weights (7.5, int8_dot.hpp), and the float32
// epilogue of 7.6, so every ISA and thread count gives the same floats bit for bit:
//
//   acc   = sum_ci q_a[p][ci] * q_w[co][ci]                  (int32, exact)
//   out   = Act( (float)acc * (s_a[p] * s_w[co]) + bias[co] ) [+ residual(p, co)]
//           each operation rounded on its own: no FMA, no reassociation
//
// The calling convention is pointwise_conv's (pointwise_conv.hpp): the same padded
// channels-last views, activation policies (Act on the output, InputAct on the input
// before it is quantized), residual in PointwiseExtras and row ranges for threads. Every
// output pixel is written in full: pad lanes hold Act(0) [+ residual] (s_w, bias and the
// weight rows are 0 there), or NaN for a non-finite input pixel.
//
// Weights (7.2), read in place from the file, P = padded_channels(cout), G = ceil(cin / 4):
//   weight_q     int8  [G][P][4], element [g][co][j] = q_w[co][4g + j] (0 past cin, cout)
//   weight_scale f32   [P]        s_w (0 in pad lanes)
//   weight_sum   int32 [P]        sum_ci q_w[co][ci] (the u8-activation correction)
//   bias         f32   [P]
//
// Blocking: a pixel block (up to kMaxBlockPixels pixels whose codes fit kBlockCodeBytes) is
// quantized into a stack buffer once, then every panel of kMaxNR output vectors sweeps over
// it in micro-tiles of MR pixels that hold the whole reduction (cin <= kMaxCin) in int32
// registers, so there are no partial sums in `out` and the epilogue runs once per output.
// Stack use, no heap: the block's codes (kBlockCodeBytes = 32 KiB) and scales (4 *
// kMaxBlockPixels = 1 KiB), plus quantize_pixels' scratch (768 bytes, and on AVX-512 16
// pixel-max vectors, 1 KiB): under 35 KiB. A block is min(kMaxBlockPixels, 32 KiB / pitch)
// pixels: 256 up to cin 128 (u8 codes), 42 at cin 768 (u8) or 21 (int16 codes).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/kernels/int8_dot.hpp"
#include "pms/kernels/pointwise_conv.hpp"
#include "pms/kernels/quantize.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {
inline namespace PMS_INT8_NS {

// The tensors of one int8 pointwise conv (FORMAT.md 7.2), used in place.
struct PointwiseInt8Weights {
  const std::int8_t* weight_q;       // [ceil(cin/4)][P(cout)][4]
  const float* weight_scale;         // [P(cout)]
  const std::int32_t* weight_sum;    // [P(cout)]
  const float* bias;                 // [P(cout)]
  int cin;
  int cout;
};

// The element type of quantized activations on this build's dot-product path: int8 q,
// uint8 q + 128 (VPDPBUSD) or int16 q (PMADDWD); see int8_dot.hpp.
using Int8ActivationCode = int8_dot::Code;

// A block of quantized pixels (7.4): pixel p's codes at codes + p * pitch, channels
// 0 .. padded_channels(cin)-1 readable (codes past cin may hold anything: the weight rows
// there are 0), its scale s_a at scale[p].
struct QuantizedPixels {
  const Int8ActivationCode* codes;
  std::ptrdiff_t pitch;  // codes between pixels, >= padded_channels(cin)
  const float* scale;
  int pixels;
};

namespace pointwise_int8_detail {

using int8_dot::i32v;
using int8_dot::kMaxNR;
using int8_dot::mr_for;
using simd::f32v;
using simd::kLanes;

// The longest reduction: keeps every int32 sum exact (int8_dot.hpp) and a block of at least
// 8 pixels of int16 codes within the stack buffer. The network's longest is 768.
inline constexpr int kMaxCin = 2048;
inline constexpr int kBlockCodeBytes = 32 * 1024;
inline constexpr int kMaxBlockPixels = 256;
inline constexpr int kBlockCodes = kBlockCodeBytes / static_cast<int>(sizeof(Int8ActivationCode));
static_assert(kBlockCodes / kMaxCin >= 8, "A pixel block holds at least 8 pixels of the longest reduction.");

// One micro-tile: MR pixels from pixel p of the block, NR vectors from output channel n0.
// A function of its own (not inlined into the loop over tiles): inlined, GCC hoists the
// tile's loop-invariant vectors (the 128 * weight_sum starts) out of that loop, and with the
// 24-28 accumulators of a wide tile they no longer fit the register file: it spilled
// accumulators on every reduction step. (With the asm of int8_dot.hpp: 1.5-2.3x faster on
// AVX512-VNNI at the network's shapes.)
#if defined(__GNUC__)
#define PMS_INT8_TILE_NOINLINE __attribute__((noinline))
#else
#define PMS_INT8_TILE_NOINLINE
#endif
template <int MR, int NR, class Act>
PMS_INT8_TILE_NOINLINE void run_tile(const QuantizedPixels& a, int p, const PointwiseInt8Weights& w, int n0,
                                     float* out, std::ptrdiff_t out_stride, const float* residual) noexcept {
  const std::ptrdiff_t w_pitch = 4 * static_cast<std::ptrdiff_t>(padded_channels(w.cout));
  const int groups = (w.cin + 3) / 4;
  const float* sw = w.weight_scale + n0;
  const float* bias = w.bias + n0;
  const float* sa = a.scale + p;
  float* c = out + p * out_stride + n0;
  const float* r = residual != nullptr ? residual + p * out_stride + n0 : nullptr;
  // 7.6, one rounding per line; `rounded` keeps GCC from fusing a product into the add.
  // s_w and bias are loaded here, not before the reduction, where they would hold registers
  // the accumulators need.
  const auto epilogue = [&](int m, int v, i32v acc) {
    const f32v scale = simd::splat(sa[m]) * simd::loadu(sw + v * kLanes);
    f32v y = simd::rounded(int8_dot::to_f32(acc) * scale);
    y = Act::apply(y + simd::loadu(bias + v * kLanes));
    if (r != nullptr) y = simd::rounded(y) + simd::load(r + m * out_stride + v * kLanes);
    simd::store(c + m * out_stride + v * kLanes, y);
  };
  int8_dot::dot_tile<MR, NR>(a.codes + p * a.pitch, a.pitch, groups, w.weight_q + 4 * n0, w_pitch, w.weight_sum + n0,
                             epilogue);
}

// Tiles of MR pixels over [0, np), then the tail as tiles of 8, 4, 2, 1 pixels.
template <int NR, class Act>
void run_panel(const QuantizedPixels& a, const PointwiseInt8Weights& w, int n0, float* out, std::ptrdiff_t out_stride,
               const float* residual) noexcept {
  constexpr int kMR = mr_for(NR);
  const int np = a.pixels;
  int p = 0;
  for (; p + kMR <= np; p += kMR) run_tile<kMR, NR, Act>(a, p, w, n0, out, out_stride, residual);
  if constexpr (kMR > 8)
    if (np - p >= 8) run_tile<8, NR, Act>(a, p, w, n0, out, out_stride, residual), p += 8;
  if constexpr (kMR > 4)
    if (np - p >= 4) run_tile<4, NR, Act>(a, p, w, n0, out, out_stride, residual), p += 4;
  if constexpr (kMR > 2)
    if (np - p >= 2) run_tile<2, NR, Act>(a, p, w, n0, out, out_stride, residual), p += 2;
  if (np - p >= 1) run_tile<1, NR, Act>(a, p, w, n0, out, out_stride, residual);
}

}  // namespace pointwise_int8_detail

// The conv over a block of already quantized pixels: output pixel p (every lane of its
// padded_channels(cout)) at out + p * out_stride, residual (if not null) at the same offsets.
// pointwise_conv_int8 calls it per pixel block; tests call it with garbage in the codes past
// cin. Preconditions: out_stride == padded_channels(cout) or wider and 64-byte aligned rows.
template <class Act>
void pointwise_conv_int8_quantized(const QuantizedPixels& a, const PointwiseInt8Weights& w, float* out,
                                   std::ptrdiff_t out_stride, const float* residual = nullptr) noexcept {
  using namespace pointwise_int8_detail;
  PMS_ASSERT(w.cin >= 1 && w.cin <= kMaxCin && w.cout >= 1);
  PMS_ASSERT(a.pitch >= padded_channels(w.cin) && out_stride >= padded_channels(w.cout));
  const int vectors = padded_channels(w.cout) / kLanes;
  for (int v0 = 0; v0 < vectors; v0 += kMaxNR) {
    const int n0 = v0 * kLanes;
    const int nr = std::min(kMaxNR, vectors - v0);
    if (nr == kMaxNR) run_panel<kMaxNR, Act>(a, w, n0, out, out_stride, residual);
    else if constexpr (kMaxNR > 1) {
      if (nr == 1) run_panel<1, Act>(a, w, n0, out, out_stride, residual);
      else if constexpr (kMaxNR > 2) {
        if (nr == 2) run_panel<2, Act>(a, w, n0, out, out_stride, residual);
        else if constexpr (kMaxNR > 3) run_panel<3, Act>(a, w, n0, out, out_stride, residual);
      }
    }
  }
}

// Computes output rows `rows` (same rows of `in`). Preconditions (debug-asserted), as
// pointwise_conv's: in and out have the same height and width; in.channels == w.cin <=
// kMaxCin, out.channels == w.cout; residual, if given, has out's shape; out overlaps
// neither in nor residual; tensors are 64-byte aligned with the padded stride.
template <class Act, class InputAct = act::Identity>
void pointwise_conv_int8(ConstTensorView in, const PointwiseInt8Weights& w, TensorView out, RowRange rows,
                         const PointwiseExtras& extras = {}) noexcept {
  using namespace pointwise_int8_detail;
  assert_pointwise_shapes(in, w.cin, w.cout, out, rows, extras);
  PMS_ASSERT(w.cin >= 1 && w.cin <= kMaxCin);
  if (rows.size() <= 0 || out.width <= 0) return;

  const int pixels = rows.size() * out.width;
  const int pitch = padded_channels(w.cin);
  const int block = std::min(kMaxBlockPixels, kBlockCodes / pitch);
  const std::ptrdiff_t first_pixel = static_cast<std::ptrdiff_t>(rows.begin) * out.width;
  const float* x = in.data + first_pixel * in.stride;
  float* c = out.data + first_pixel * out.stride;
  const float* r = extras.residual.data != nullptr ? extras.residual.data + first_pixel * out.stride : nullptr;

  alignas(64) Int8ActivationCode codes[kBlockCodes];
  alignas(64) float scale[kMaxBlockPixels];
  for (int p0 = 0; p0 < pixels; p0 += block) {
    const int np = std::min(block, pixels - p0);
    quantize_pixels<Int8ActivationCode, InputAct>(x + p0 * static_cast<std::ptrdiff_t>(in.stride), in.stride, np, w.cin,
                                                  codes, pitch, scale);
    const std::ptrdiff_t o = p0 * static_cast<std::ptrdiff_t>(out.stride);
    pointwise_conv_int8_quantized<Act>(QuantizedPixels{codes, pitch, scale, np}, w, c + o, out.stride,
                                       r != nullptr ? r + o : nullptr);
  }
}

// The int8 conv under the fp32 kernel's name, so that a layer holding the weights of either
// precision calls pointwise_conv<Act, InputAct>(in, weights, out, rows, extras) alike.
template <class Act, class InputAct = act::Identity>
void pointwise_conv(ConstTensorView in, const PointwiseInt8Weights& w, TensorView out, RowRange rows,
                    const PointwiseExtras& extras = {}) noexcept {
  pointwise_conv_int8<Act, InputAct>(in, w, out, rows, extras);
}

}  // namespace PMS_INT8_NS
}  // namespace pms::inline PMS_ISA_NS::kernels

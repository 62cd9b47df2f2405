// pms/kernels/quantize.hpp: per-pixel symmetric int8 quantization of activations
// (weights/FORMAT.md 7.4, normative and bit-exact on every ISA).
//
// For one pixel x[0 .. cin-1] (float32):
//   A    = max_c (bits(x[c]) & 0x7fffffff)            integer max of the masked bit patterns
//   A >= 0x7f800000 (a NaN or +-Inf):  s_a = quiet NaN, every code 0
//   A <  0x1f800000 (below 2^-64):     s_a = 0,         every code 0
//   else amax = float(bits A), inv = 127.0f / amax, q[c] = round_half_even(x[c] * inv),
//        s_a = amax / 127.0f                         (each one float32 operation)
// |x[c] * inv| < 127.5, so the clamp to [-127, 127] of 7.4 never changes a code and is left
// out; round-half-even is CVTPS2DQ under the default MXCSR, NEON FCVTNS, std::nearbyint in
// the default rounding mode. One division per pixel, never a reciprocal approximation.
//
// Codes are written as one of three element types, whichever the dot-product kernel reads:
//   std::int8_t   q            (NEON SDOT and the NEON widening fallback)
//   std::uint8_t  q + 128      (x86 VPDPBUSD: unsigned x signed bytes; 1..255, 128 for 0)
//   std::int16_t  q            (x86 without VNNI: PMADDWD on sign-extended operands)
//
// Layout contract (a pixel of a padded channels-last tensor, pms/core/tensor.hpp): x is
// readable for padded_channels(cin) floats (pad lanes finite or not: they are masked out and
// never reach A or a code), and q is writable for padded_channels(cin) codes. Codes of the
// channels cin .. padded_channels(cin)-1 are written as the code of 0 (0, or 128 as u8).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "pms/core/tensor.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

namespace quantize_detail {

// 2^-64 and +Inf as bit patterns: the two thresholds of 7.4.
inline constexpr std::uint32_t kFloorBits = 0x1f800000u;
inline constexpr std::uint32_t kInfBits = 0x7f800000u;

template <class Code>
inline constexpr bool kIsCode =
    std::is_same_v<Code, std::int8_t> || std::is_same_v<Code, std::uint8_t> || std::is_same_v<Code, std::int16_t>;

// The code stored for q (|q| <= 127).
template <class Code>
constexpr Code encode(int q) noexcept {
  return static_cast<Code>(std::is_same_v<Code, std::uint8_t> ? q + 128 : q);
}

inline std::uint32_t bits_of(float v) noexcept {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
inline float float_of(std::uint32_t b) noexcept {
  float v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// The input activation of one value, through its vector form (see quantize_pixel_scalar).
template <class InputAct>
float input_act(float v) noexcept {
  return simd::first_lane(InputAct::apply(simd::splat(v)));
}

// Writes the code of 0 to q[0 .. n-1]; returns s_a for the A classes without codes.
template <class Code>
float degenerate(std::uint32_t a, Code* q, int n) noexcept {
  for (int c = 0; c < n; ++c) q[c] = encode<Code>(0);
  return a >= kInfBits ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
}

// ---- Per-ISA vector pieces: the masked-bits max, and kLanes codes from kLanes floats. -----
using simd::f32v;
using simd::kLanes;

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
using u32v = __m512i;
PMS_ALWAYS_INLINE u32v abs_bits(f32v x) noexcept {
  return _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff));
}
PMS_ALWAYS_INLINE u32v max_bits(u32v a, u32v b) noexcept { return _mm512_max_epu32(a, b); }
PMS_ALWAYS_INLINE u32v zero_bits() noexcept { return _mm512_setzero_si512(); }
PMS_ALWAYS_INLINE std::uint32_t reduce_max_bits(u32v a) noexcept { return _mm512_reduce_max_epu32(a); }
// x with the lanes >= n (0 <= n < kLanes) set to 0.
PMS_ALWAYS_INLINE f32v keep_first(f32v x, int n) noexcept {
  return _mm512_maskz_mov_ps(static_cast<__mmask16>((1u << n) - 1u), x);
}
// Lane p of the result = the max of the lanes of m[p], for 16 vectors at once: four levels
// of pairwise shuffles and maxes (45 operations instead of 16 horizontal reductions of 8).
PMS_ALWAYS_INLINE u32v transpose_max16(const u32v (&m)[16]) noexcept {
  u32v c[8], d[4], e[2];
  // c[k] = [pixel 2k: 8 lanes | pixel 2k+1: 8 lanes]
  PMS_UNROLL(8)
  for (int k = 0; k < 8; ++k)
    c[k] = _mm512_max_epu32(_mm512_shuffle_i32x4(m[2 * k], m[2 * k + 1], 0x44), _mm512_shuffle_i32x4(m[2 * k], m[2 * k + 1], 0xEE));
  // d[k]: 128-bit lane j holds 4 lanes of pixel 4k + j
  PMS_UNROLL(4)
  for (int k = 0; k < 4; ++k)
    d[k] = _mm512_max_epu32(_mm512_shuffle_i32x4(c[2 * k], c[2 * k + 1], 0x88), _mm512_shuffle_i32x4(c[2 * k], c[2 * k + 1], 0xDD));
  // e[k]: 128-bit lane j holds 2 lanes of pixel 8k + j, then 2 of pixel 8k + 4 + j
  PMS_UNROLL(2)
  for (int k = 0; k < 2; ++k)
    e[k] = _mm512_max_epu32(_mm512_unpacklo_epi64(d[2 * k], d[2 * k + 1]), _mm512_unpackhi_epi64(d[2 * k], d[2 * k + 1]));
  // f: lane 4j + i holds pixel j + 4i
  const __m512 e0 = _mm512_castsi512_ps(e[0]), e1 = _mm512_castsi512_ps(e[1]);
  const u32v f = _mm512_max_epu32(_mm512_castps_si512(_mm512_shuffle_ps(e0, e1, 0x88)),
                                  _mm512_castps_si512(_mm512_shuffle_ps(e0, e1, 0xDD)));
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), f);
}
// out[i] = float with the bits of the max of the lanes of m[i], i < 16.
PMS_ALWAYS_INLINE void store_max16(float* out, const u32v (&m)[16]) noexcept {
  _mm512_storeu_si512(out, transpose_max16(m));
}
template <class Code>
PMS_ALWAYS_INLINE void store_codes(Code* q, f32v scaled) noexcept {
  __m512i i = _mm512_cvtps_epi32(scaled);  // round half even (MXCSR default)
  if constexpr (std::is_same_v<Code, std::int16_t>) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), _mm512_cvtepi32_epi16(i));
  } else {
    if constexpr (std::is_same_v<Code, std::uint8_t>) i = _mm512_add_epi32(i, _mm512_set1_epi32(128));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(i));
  }
}
#elif defined(__AVX2__)
using u32v = __m256i;
PMS_ALWAYS_INLINE u32v abs_bits(f32v x) noexcept {
  return _mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7fffffff));
}
// The masked patterns are < 2^31: the signed max is the unsigned one.
PMS_ALWAYS_INLINE u32v max_bits(u32v a, u32v b) noexcept { return _mm256_max_epi32(a, b); }
PMS_ALWAYS_INLINE u32v zero_bits() noexcept { return _mm256_setzero_si256(); }
PMS_ALWAYS_INLINE std::uint32_t reduce_max_bits(u32v a) noexcept {
  __m128i m = _mm_max_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0x4E));
  m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0xB1));
  return static_cast<std::uint32_t>(_mm_cvtsi128_si32(m));
}
PMS_ALWAYS_INLINE f32v keep_first(f32v x, int n) noexcept {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane)));
}
template <class Code>
PMS_ALWAYS_INLINE void store_codes(Code* q, f32v scaled) noexcept {
  __m256i i = _mm256_cvtps_epi32(scaled);
  if constexpr (std::is_same_v<Code, std::uint8_t>) i = _mm256_add_epi32(i, _mm256_set1_epi32(128));
  const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));  // 8 x i16, exact
  if constexpr (std::is_same_v<Code, std::int16_t>) _mm_storeu_si128(reinterpret_cast<__m128i*>(q), h);
  else if constexpr (std::is_same_v<Code, std::uint8_t>) _mm_storel_epi64(reinterpret_cast<__m128i*>(q), _mm_packus_epi16(h, h));
  else _mm_storel_epi64(reinterpret_cast<__m128i*>(q), _mm_packs_epi16(h, h));
}
#elif defined(__SSE2__) || defined(_M_X64)
using u32v = __m128i;
PMS_ALWAYS_INLINE u32v abs_bits(f32v x) noexcept { return _mm_and_si128(_mm_castps_si128(x), _mm_set1_epi32(0x7fffffff)); }
// SSE2 has no PMAXSD: a compare and a blend (the patterns are < 2^31, so signed compares).
PMS_ALWAYS_INLINE u32v max_bits(u32v a, u32v b) noexcept {
  const __m128i gt = _mm_cmpgt_epi32(a, b);
  return _mm_or_si128(_mm_and_si128(gt, a), _mm_andnot_si128(gt, b));
}
PMS_ALWAYS_INLINE u32v zero_bits() noexcept { return _mm_setzero_si128(); }
PMS_ALWAYS_INLINE std::uint32_t reduce_max_bits(u32v a) noexcept {
  a = max_bits(a, _mm_shuffle_epi32(a, 0x4E));
  a = max_bits(a, _mm_shuffle_epi32(a, 0xB1));
  return static_cast<std::uint32_t>(_mm_cvtsi128_si32(a));
}
PMS_ALWAYS_INLINE f32v keep_first(f32v x, int n) noexcept {
  const __m128i lane = _mm_setr_epi32(0, 1, 2, 3);
  return _mm_and_ps(x, _mm_castsi128_ps(_mm_cmpgt_epi32(_mm_set1_epi32(n), lane)));
}
template <class Code>
PMS_ALWAYS_INLINE void store_codes(Code* q, f32v scaled) noexcept {
  __m128i i = _mm_cvtps_epi32(scaled);
  if constexpr (std::is_same_v<Code, std::uint8_t>) i = _mm_add_epi32(i, _mm_set1_epi32(128));
  const __m128i h = _mm_packs_epi32(i, i);
  if constexpr (std::is_same_v<Code, std::int16_t>) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q), h);
  } else {
    const int b = _mm_cvtsi128_si32(std::is_same_v<Code, std::uint8_t> ? _mm_packus_epi16(h, h) : _mm_packs_epi16(h, h));
    std::memcpy(q, &b, 4);
  }
}
#elif defined(__aarch64__)
using u32v = uint32x4_t;
PMS_ALWAYS_INLINE u32v abs_bits(f32v x) noexcept {
  return vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x7fffffffu));
}
PMS_ALWAYS_INLINE u32v max_bits(u32v a, u32v b) noexcept { return vmaxq_u32(a, b); }
PMS_ALWAYS_INLINE u32v zero_bits() noexcept { return vdupq_n_u32(0); }
PMS_ALWAYS_INLINE std::uint32_t reduce_max_bits(u32v a) noexcept { return vmaxvq_u32(a); }
PMS_ALWAYS_INLINE f32v keep_first(f32v x, int n) noexcept {
  alignas(16) static constexpr std::uint32_t lane[4] = {0, 1, 2, 3};
  return vreinterpretq_f32_u32(
      vandq_u32(vreinterpretq_u32_f32(x), vcltq_u32(vld1q_u32(lane), vdupq_n_u32(static_cast<std::uint32_t>(n)))));
}
template <class Code>
PMS_ALWAYS_INLINE void store_codes(Code* q, f32v scaled) noexcept {
  int32x4_t i = vcvtnq_s32_f32(scaled);  // FCVTNS: round to nearest, ties to even
  if constexpr (std::is_same_v<Code, std::uint8_t>) i = vaddq_s32(i, vdupq_n_s32(128));
  const int16x4_t h = vmovn_s32(i);  // exact: |i| <= 255
  if constexpr (std::is_same_v<Code, std::int16_t>) {
    vst1_s16(q, h);
  } else {
    const int8x8_t b = vmovn_s16(vcombine_s16(h, h));  // the low byte of each: q, or q + 128 as u8
    vst1_lane_s32(reinterpret_cast<std::int32_t*>(q), vreinterpret_s32_s8(b), 0);
  }
}
#else
#error "quantize.hpp: no vector path for this ISA"
#endif

#if !(defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__))
// out[i] = float with the bits of the max of the lanes of m[i], i < 16.
PMS_ALWAYS_INLINE void store_max16(float* out, const u32v (&m)[16]) noexcept {
  for (int i = 0; i < 16; ++i) out[i] = float_of(reduce_max_bits(m[i]));
}
#endif

}  // namespace quantize_detail

// 7.4 in plain scalar code: the definition the vector form matches bit for bit. Reads
// x[0 .. cin-1], writes q[0 .. cin-1]; returns s_a. InputAct is applied to x first, in its
// vector form as the fp32 path applies it to the GEMM's input (its scalar form differs on
// NaN: x86 MAXPS answers its second operand, so a vector ReLU6 maps NaN to 0 there).
template <class Code, class InputAct = act::Identity>
float quantize_pixel_scalar(const float* x, int cin, Code* q) noexcept {
  using namespace quantize_detail;
  static_assert(kIsCode<Code>, "Activation codes are int8_t, uint8_t (q + 128) or int16_t.");
  std::uint32_t a = 0;
  for (int c = 0; c < cin; ++c) {
    const std::uint32_t b = bits_of(input_act<InputAct>(x[c])) & 0x7fffffffu;
    a = b > a ? b : a;
  }
  if (a >= kInfBits || a < kFloorBits) return degenerate(a, q, cin);
  const float amax = float_of(a);
  const float inv = 127.0f / amax;
  for (int c = 0; c < cin; ++c) q[c] = encode<Code>(static_cast<int>(std::nearbyint(input_act<InputAct>(x[c]) * inv)));
  return amax / 127.0f;
}

namespace quantize_detail {

// The kLanes floats of a padded pixel from channel c, InputAct applied, lanes >= cin zeroed.
template <class InputAct>
PMS_ALWAYS_INLINE f32v pixel_lanes(const float* x, int cin, int c) noexcept {
  const f32v v = InputAct::apply(simd::loadu(x + c));
  const int full = cin / kLanes * kLanes;
  return c < full ? v : keep_first(v, c == full ? cin - full : 0);
}

// Lane-wise max of the masked bit patterns of a pixel's channels (7.4's A before the
// horizontal max).
template <class InputAct>
PMS_ALWAYS_INLINE u32v pixel_max_bits(const float* x, int cin) noexcept {
  u32v m0 = zero_bits(), m1 = zero_bits();
  int c = 0;
  for (; c + 2 * kLanes <= cin; c += 2 * kLanes) {
    m0 = max_bits(m0, abs_bits(pixel_lanes<InputAct>(x, cin, c)));
    m1 = max_bits(m1, abs_bits(pixel_lanes<InputAct>(x, cin, c + kLanes)));
  }
  for (; c < cin; c += kLanes) m0 = max_bits(m0, abs_bits(pixel_lanes<InputAct>(x, cin, c)));
  return max_bits(m0, m1);
}

// Codes of a pixel with a normal amax: round_half_even(x * inv), padded_channels(cin) of them.
template <class Code, class InputAct>
PMS_ALWAYS_INLINE void pixel_codes(const float* x, int cin, float inv, Code* q) noexcept {
  const f32v vinv = simd::splat(inv);
  const int padded = padded_channels(cin);
  for (int c = 0; c < padded; c += kLanes) store_codes(q + c, pixel_lanes<InputAct>(x, cin, c) * vinv);
}

}  // namespace quantize_detail

// The vector form over one padded pixel (the layout contract at the top): codes for
// padded_channels(cin) channels, returns s_a. Two passes over the pixel, the max and the
// codes; the pixel (at most a few KiB) is still in L1 for the second.
template <class Code, class InputAct = act::Identity>
float quantize_pixel(const float* x, int cin, Code* q) noexcept {
  using namespace quantize_detail;
  static_assert(kIsCode<Code>, "Activation codes are int8_t, uint8_t (q + 128) or int16_t.");
  const std::uint32_t a = reduce_max_bits(pixel_max_bits<InputAct>(x, cin));
  if (a >= kInfBits || a < kFloorBits) return degenerate(a, q, padded_channels(cin));
  const float amax = float_of(a);
  pixel_codes<Code, InputAct>(x, cin, 127.0f / amax, q);
  return amax / 127.0f;
}

// n pixels at once, the same codes and s_a as quantize_pixel on each: pixel p at
// x + p * x_stride, its codes at q + p * q_pitch, its s_a at s_a[p]. Faster for short pixels
// (the stem's 16 channels): the two divisions of 7.4 run as vector divisions over kLanes
// pixels (each lane one IEEE float32 division, as the scalar ones), and on AVX-512 the
// horizontal maxes of 16 pixels as one transposing reduction.
template <class Code, class InputAct = act::Identity>
void quantize_pixels(const float* x, std::ptrdiff_t x_stride, int n, int cin, Code* q, std::ptrdiff_t q_pitch,
                     float* s_a) noexcept {
  using namespace quantize_detail;
  static_assert(kIsCode<Code>, "Activation codes are int8_t, uint8_t (q + 128) or int16_t.");
  constexpr int kChunk = 64;
  alignas(64) float amax[kChunk], inv[kChunk], sa[kChunk];
  const f32v inf = simd::splat(std::numeric_limits<float>::infinity());
  const f32v floor = simd::splat(float_of(kFloorBits));
  for (int p0 = 0; p0 < n; p0 += kChunk) {
    const int np = std::min(kChunk, n - p0);
    const int nv = (np + 15) / 16 * 16;  // whole groups of 16 (a multiple of kLanes)
    const float* xc = x + p0 * x_stride;
    // amax per pixel (0 past np, up to nv): A of 7.4 as a float.
    for (int p = 0; p < nv; p += 16) {
      u32v m[16];
      PMS_UNROLL(16)
      for (int i = 0; i < 16; ++i) m[i] = p + i < np ? pixel_max_bits<InputAct>(xc + (p + i) * x_stride, cin) : zero_bits();
      store_max16(amax + p, m);
    }
    // Divisions by simd::div: correctly rounded on every ISA, as 7.4 requires.
    // 7.4's cases as float compares on amax >= 0: A >= 0x7f800000 iff !(amax < inf) (NaN
    // compares false), A < 0x1f800000 iff amax < 2^-64. inv = 0 marks a pixel without codes.
    for (int p = 0; p < nv; p += kLanes) {
      const f32v a = simd::load(amax + p);
      const simd::mask32 finite = a < inf, tiny = a < floor;
      const f32v normal_sa = simd::div(a, simd::splat(127.0f));
      simd::store(sa + p, simd::select(tiny, simd::zero(),
                                       simd::select(finite, normal_sa, simd::splat(std::numeric_limits<float>::quiet_NaN()))));
      simd::store(inv + p, simd::select(finite && !tiny, simd::div(simd::splat(127.0f), a), simd::zero()));
    }
    for (int p = 0; p < np; ++p) {
      Code* qp = q + (p0 + p) * q_pitch;
      s_a[p0 + p] = sa[p];
      if (inv[p] != 0.0f) pixel_codes<Code, InputAct>(xc + p * x_stride, cin, inv[p], qp);
      else degenerate(0, qp, padded_channels(cin));
    }
  }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

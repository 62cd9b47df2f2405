// pms/simd/simd.hpp: the only header in pms that includes xsimd.
//
// pms compiles for the ISA the includer's compiler flags enable (xsimd's default_arch):
// SSE2 on plain x86-64, AVX2+FMA, AVX-512, NEON on AArch64. Everything ISA-dependent lives
// in the inline namespace pms::PMS_ISA_NS, so two translation units built with different
// flags can be linked into one program without ODR clashes (as Highway does).
//
// It also absorbs xsimd 8.1 API gaps (no reduce_max, masked loads): kernels call the
// helpers here, never xsimd directly.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include <xsimd/xsimd.hpp>

#include "pms/core/config.hpp"

// Asks the compiler to unroll the next loop n times: GCC at -O2 keeps small fixed-count
// loops over register arrays (accumulators, compare chains) rolled and spills the arrays.
#if defined(__GNUC__)
#define PMS_PRAGMA(x) _Pragma(#x)
#define PMS_UNROLL(n) PMS_PRAGMA(GCC unroll n)
#else
#define PMS_UNROLL(n)
#endif

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
#define PMS_ISA_NS isa_avx512
#elif defined(__AVX2__) && defined(__FMA__)
#define PMS_ISA_NS isa_avx2_fma
#elif defined(__AVX2__)
#define PMS_ISA_NS isa_avx2
#elif defined(__aarch64__)
#define PMS_ISA_NS isa_neon64
#elif defined(__SSE4_2__)
#define PMS_ISA_NS isa_sse4
#elif defined(__SSE2__) || defined(_M_X64)
#define PMS_ISA_NS isa_sse2
#else
#error "pms needs SSE2 (x86-64) or NEON (AArch64) support enabled in the compiler flags"
#endif

namespace pms::inline PMS_ISA_NS::simd {

using arch = xsimd::default_arch;
using f32v = xsimd::batch<float, arch>;
using mask32 = xsimd::batch_bool<float, arch>;

inline constexpr int kLanes = static_cast<int>(f32v::size);
static_assert(16 % kLanes == 0, "The channel padding of 16 floats must be a whole number of vectors.");

// Name of the ISA the code was compiled for, for logs and benchmark labels.
constexpr const char* isa_name() noexcept { return arch::name(); }

PMS_ALWAYS_INLINE f32v load(const float* p) noexcept { return xsimd::load_aligned<arch>(p); }
PMS_ALWAYS_INLINE f32v loadu(const float* p) noexcept { return xsimd::load_unaligned<arch>(p); }
PMS_ALWAYS_INLINE void store(float* p, f32v v) noexcept { v.store_aligned(p); }
PMS_ALWAYS_INLINE void storeu(float* p, f32v v) noexcept { v.store_unaligned(p); }
PMS_ALWAYS_INLINE f32v splat(float x) noexcept { return f32v(x); }
PMS_ALWAYS_INLINE f32v zero() noexcept { return f32v(0.0f); }

#if !defined(__FMA__) && !defined(__aarch64__) && (defined(__SSE2__) || defined(_M_X64))
namespace detail {
// a * b + c rounded once, for x86 levels without FMA: the product of two floats is exact
// in double, the sum is made exact by TwoSum (s + e = p + c) and rounded to odd (the lowest
// bit set when inexact), and rounding a 53-bit round-to-odd value to float's 24 bits gives
// the correctly rounded result (Boldo and Melquiond, 2008). Two doubles per half.
PMS_ALWAYS_INLINE __m128d fma_round_to_odd(__m128d a, __m128d b, __m128d c) noexcept {
  const __m128d p = _mm_mul_pd(a, b);
  const __m128d s = _mm_add_pd(p, c);
  const __m128d bb = _mm_sub_pd(s, p);
  const __m128d e = _mm_add_pd(_mm_sub_pd(p, _mm_sub_pd(s, bb)), _mm_sub_pd(c, bb));
  // Inexact: e is non-zero (and not NaN, which an infinite s gives).
  const __m128d inexact = _mm_or_pd(_mm_cmplt_pd(e, _mm_setzero_pd()), _mm_cmpgt_pd(e, _mm_setzero_pd()));
  // Truncated toward zero: s, or the double below it in magnitude when e points inward.
  const __m128i bits = _mm_castpd_si128(s);
  const __m128i inward = _mm_srli_epi64(_mm_castpd_si128(_mm_xor_pd(s, e)), 63);
  const __m128d odd = _mm_castsi128_pd(_mm_or_si128(_mm_sub_epi64(bits, inward), _mm_set1_epi64x(1)));
  return _mm_or_pd(_mm_and_pd(inexact, odd), _mm_andnot_pd(inexact, s));
}
PMS_ALWAYS_INLINE __m128 fma_exact(__m128 a, __m128 b, __m128 c) noexcept {
  const __m128 ah = _mm_movehl_ps(a, a), bh = _mm_movehl_ps(b, b), ch = _mm_movehl_ps(c, c);
  const __m128d lo = fma_round_to_odd(_mm_cvtps_pd(a), _mm_cvtps_pd(b), _mm_cvtps_pd(c));
  const __m128d hi = fma_round_to_odd(_mm_cvtps_pd(ah), _mm_cvtps_pd(bh), _mm_cvtps_pd(ch));
  return _mm_movelh_ps(_mm_cvtpd_ps(lo), _mm_cvtpd_ps(hi));
}
#if defined(__AVX__)
PMS_ALWAYS_INLINE __m256 fma_exact(__m256 a, __m256 b, __m256 c) noexcept {
  const __m128 lo = fma_exact(_mm256_castps256_ps128(a), _mm256_castps256_ps128(b), _mm256_castps256_ps128(c));
  const __m128 hi = fma_exact(_mm256_extractf128_ps(a, 1), _mm256_extractf128_ps(b, 1), _mm256_extractf128_ps(c, 1));
  return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}
#endif
}  // namespace detail
#endif

// a * b + c with a single rounding on every ISA: the FMA instruction where there is one,
// else an exact emulation (about 20x the cost of a multiply and an add). The fp32 layers of
// the int8 network use it (FusedAlways below), so that their results, and with them every
// quantized activation, are the same bits on every ISA (weights/FORMAT.md 7.8). xsimd 8.1 is
// not enough: its AVX-512 fma is a multiply and an add, fused only if the compiler contracts.
PMS_ALWAYS_INLINE f32v fma(f32v a, f32v b, f32v c) noexcept {
#if defined(__AVX512F__)
  return _mm512_fmadd_ps(a, b, c);
#elif defined(__FMA__) && defined(__AVX__)
  return _mm256_fmadd_ps(a, b, c);
#elif defined(__aarch64__)
  return vfmaq_f32(c, a, b);
#elif defined(__SSE2__) || defined(_M_X64)
  return detail::fma_exact(a, b, c);
#else
  return xsimd::fma(a, b, c);
#endif
}
// a * b + c, fused where the ISA has FMA and a multiply then an add where it has not: for
// the fp32 network, whose results need not be the same bits on every ISA.
PMS_ALWAYS_INLINE f32v fma_fast(f32v a, f32v b, f32v c) noexcept {
#if defined(__FMA__) || defined(__aarch64__) || defined(__AVX512F__)
  return fma(a, b, c);
#else
  return a * b + c;
#endif
}

// How a kernel that runs in both networks rounds its multiply-adds (its template parameter,
// chosen by the layer from the precision: layers/rounding.hpp). The two differ only on x86
// without FMA, where exactness costs about 5x in the depthwise convs.
// Each has a scalar form for the tails of vector loops.
struct FusedAlways {  // once on every ISA: the int8 network (weights/FORMAT.md 7.8)
  static PMS_ALWAYS_INLINE f32v fma(f32v a, f32v b, f32v c) noexcept { return simd::fma(a, b, c); }
  static PMS_ALWAYS_INLINE float fma(float a, float b, float c) noexcept { return std::fma(a, b, c); }
};
struct FusedIfNative {  // once where the ISA has FMA, else twice: the fp32 network
  static PMS_ALWAYS_INLINE f32v fma(f32v a, f32v b, f32v c) noexcept { return fma_fast(a, b, c); }
  static PMS_ALWAYS_INLINE float fma(float a, float b, float c) noexcept { return a * b + c; }
};
// a / b correctly rounded (IEEE), lane by lane, as a scalar float division. xsimd 8.1's
// operator/ on NEON64 is a reciprocal estimate refined by Newton steps (xsimd_neon.hpp;
// neon64 only overrides double), off by an ulp at times: FDIV (vdivq_f32) instead.
PMS_ALWAYS_INLINE f32v div(f32v a, f32v b) noexcept {
#if defined(__aarch64__)
  return vdivq_f32(a, b);
#else
  return a / b;
#endif
}
PMS_ALWAYS_INLINE f32v min(f32v a, f32v b) noexcept { return xsimd::min(a, b); }
PMS_ALWAYS_INLINE f32v max(f32v a, f32v b) noexcept { return xsimd::max(a, b); }
PMS_ALWAYS_INLINE f32v select(mask32 m, f32v a, f32v b) noexcept { return xsimd::select(m, a, b); }

// Horizontal reductions through memory: portable across xsimd 8.1's ISAs (hadd needs
// AVX512DQ there, reduce_max does not exist). Used outside inner loops only.
inline float reduce_add(f32v v) noexcept {
  alignas(64) float t[kLanes];
  store(t, v);
  float s = 0.0f;
  for (int i = 0; i < kLanes; ++i) s += t[i];
  return s;
}
inline float reduce_max(f32v v) noexcept {
  alignas(64) float t[kLanes];
  store(t, v);
  float m = t[0];
  for (int i = 1; i < kLanes; ++i) m = t[i] > m ? t[i] : m;
  return m;
}

// ---- Cross-lane helpers for argmax-style kernels (per ISA, since xsimd 8.1 has no
// portable swizzle on SSE2 and no movemask). Used inside inner loops: no memory round trip.

// {0, 1, ..., kLanes - 1}: the lane number of every lane.
PMS_ALWAYS_INLINE f32v lane_index() noexcept {
  alignas(64) static constexpr float k[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  return load(k);
}

// The maximum (minimum) of all lanes, in every lane.
PMS_ALWAYS_INLINE f32v broadcast_max(f32v v) noexcept {
#if defined(__AVX512F__)
  // The _mask_ forms with a full mask: GCC 12.2 warns (wrongly) about the undefined source
  // operand of the plain forms.
  constexpr __mmask16 all = 0xFFFF;
  __m512 x = v;
  x = _mm512_mask_max_ps(x, all, x, _mm512_mask_shuffle_f32x4(x, all, x, x, 0x4E));
  x = _mm512_mask_max_ps(x, all, x, _mm512_mask_shuffle_f32x4(x, all, x, x, 0xB1));
  x = _mm512_mask_max_ps(x, all, x, _mm512_mask_permute_ps(x, all, x, 0x4E));
  return _mm512_mask_max_ps(x, all, x, _mm512_mask_permute_ps(x, all, x, 0xB1));
#elif defined(__AVX__)
  __m256 x = v;
  x = _mm256_max_ps(x, _mm256_permute2f128_ps(x, x, 1));
  x = _mm256_max_ps(x, _mm256_permute_ps(x, 0x4E));
  return _mm256_max_ps(x, _mm256_permute_ps(x, 0xB1));
#elif defined(__SSE2__) || defined(_M_X64)
  __m128 x = v;
  x = _mm_max_ps(x, _mm_shuffle_ps(x, x, 0x4E));
  return _mm_max_ps(x, _mm_shuffle_ps(x, x, 0xB1));
#elif defined(__aarch64__)
  return vdupq_n_f32(vmaxvq_f32(v));
#else
  return splat(reduce_max(v));
#endif
}

PMS_ALWAYS_INLINE f32v broadcast_min(f32v v) noexcept {
#if defined(__AVX512F__)
  // The _mask_ forms with a full mask: GCC 12.2 warns (wrongly) about the undefined source
  // operand of the plain forms.
  constexpr __mmask16 all = 0xFFFF;
  __m512 x = v;
  x = _mm512_mask_min_ps(x, all, x, _mm512_mask_shuffle_f32x4(x, all, x, x, 0x4E));
  x = _mm512_mask_min_ps(x, all, x, _mm512_mask_shuffle_f32x4(x, all, x, x, 0xB1));
  x = _mm512_mask_min_ps(x, all, x, _mm512_mask_permute_ps(x, all, x, 0x4E));
  return _mm512_mask_min_ps(x, all, x, _mm512_mask_permute_ps(x, all, x, 0xB1));
#elif defined(__AVX__)
  __m256 x = v;
  x = _mm256_min_ps(x, _mm256_permute2f128_ps(x, x, 1));
  x = _mm256_min_ps(x, _mm256_permute_ps(x, 0x4E));
  return _mm256_min_ps(x, _mm256_permute_ps(x, 0xB1));
#elif defined(__SSE2__) || defined(_M_X64)
  __m128 x = v;
  x = _mm_min_ps(x, _mm_shuffle_ps(x, x, 0x4E));
  return _mm_min_ps(x, _mm_shuffle_ps(x, x, 0xB1));
#elif defined(__aarch64__)
  return vdupq_n_f32(vminvq_f32(v));
#else
  alignas(64) float t[kLanes];
  store(t, v);
  float m = t[0];
  for (int i = 1; i < kLanes; ++i) m = t[i] < m ? t[i] : m;
  return splat(m);
#endif
}

// Lane 0 as a scalar.
PMS_ALWAYS_INLINE float first_lane(f32v v) noexcept {
#if defined(__AVX512F__)
  return _mm512_cvtss_f32(v);
#elif defined(__AVX__)
  return _mm256_cvtss_f32(v);
#elif defined(__SSE2__) || defined(_M_X64)
  return _mm_cvtss_f32(v);
#elif defined(__aarch64__)
  return vgetq_lane_f32(v, 0);
#else
  return v.get(0);
#endif
}

// Bit i set iff lane i of the mask is true.
PMS_ALWAYS_INLINE unsigned bitmask(mask32 m) noexcept {
#if defined(__AVX512F__)
  return static_cast<unsigned>(static_cast<__mmask16>(m));
#elif defined(__AVX__)
  return static_cast<unsigned>(_mm256_movemask_ps(m));
#elif defined(__SSE2__) || defined(_M_X64)
  return static_cast<unsigned>(_mm_movemask_ps(m));
#elif defined(__aarch64__)
  alignas(16) static constexpr std::uint32_t bits[4] = {1, 2, 4, 8};
  return vaddvq_u32(vandq_u32(static_cast<uint32x4_t>(m), vld1q_u32(bits)));
#else
  unsigned r = 0;
  for (int i = 0; i < kLanes; ++i) r |= m.get(i) ? 1u << i : 0u;
  return r;
#endif
}

// kLanes bytes at p (no alignment needed, exactly kLanes bytes read) as floats 0..255:
// the stem reads 8-bit image rows with it.
PMS_ALWAYS_INLINE f32v load_u8(const std::uint8_t* p) noexcept {
#if defined(__AVX512F__)
  return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#elif defined(__AVX2__)
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
#elif defined(__SSE2__) || defined(_M_X64)
  int bits;
  std::memcpy(&bits, p, 4);
  const __m128i zero = _mm_setzero_si128();
  return _mm_cvtepi32_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(bits), zero), zero));
#elif defined(__aarch64__)
  std::uint32_t bits;
  std::memcpy(&bits, p, 4);
  return vcvtq_f32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(bits))))));
#else
  alignas(64) float t[kLanes];
  for (int i = 0; i < kLanes; ++i) t[i] = static_cast<float>(p[i]);
  return load(t);
#endif
}

// ---- Half vectors (AVX-512 only): the low 8 lanes in a 256-bit register. Cores that run
// 512-bit FMAs as two 256-bit halves (AMD Zen 4) spend half the FMA throughput on one, so
// a GEMM whose last output vector has at most 8 real channels computes that vector as a
// half; cores with full 512-bit FMA units run it at the cost of a whole vector. With
// narrower vectors a half would save nothing, and kHasHalfVectors is false.
#if defined(__AVX512F__)
inline constexpr bool kHasHalfVectors = true;
using f32h = __m256;
PMS_ALWAYS_INLINE f32h loadu_half(const float* p) noexcept { return _mm256_loadu_ps(p); }
PMS_ALWAYS_INLINE f32h load_half(const float* p) noexcept { return _mm256_load_ps(p); }
PMS_ALWAYS_INLINE void store_half(float* p, f32h v) noexcept { _mm256_store_ps(p, v); }
// a's low half * b + c.
PMS_ALWAYS_INLINE f32h fma_half(f32v a, f32h b, f32h c) noexcept { return _mm256_fmadd_ps(_mm512_castps512_ps256(a), b, c); }
// The whole vector {h, 0, ..., 0}.
PMS_ALWAYS_INLINE f32v widen(f32h h) noexcept { return _mm512_zextps256_ps512(h); }
#else
// Never used (kHasHalfVectors is false): whole vectors, so that code naming halves compiles.
inline constexpr bool kHasHalfVectors = false;
using f32h = f32v;
PMS_ALWAYS_INLINE f32h loadu_half(const float* p) noexcept { return loadu(p); }
PMS_ALWAYS_INLINE f32h load_half(const float* p) noexcept { return load(p); }
PMS_ALWAYS_INLINE void store_half(float* p, f32h v) noexcept { store(p, v); }
PMS_ALWAYS_INLINE f32h fma_half(f32v a, f32h b, f32h c) noexcept { return fma(a, b, c); }
PMS_ALWAYS_INLINE f32v widen(f32h h) noexcept { return h; }
#endif

// Makes the compiler materialise v in a register here. For a value that feeds several
// FMAs (a depthwise input vector): without it GCC folds the load into each FMA as a memory
// operand and loads the same vector K times, which makes the kernel load-port bound.
PMS_ALWAYS_INLINE void keep_in_register(f32v& v) noexcept {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __asm__("" : "+v"(v.data));
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
  __asm__("" : "+w"(v.data));
#else
  (void)v;
#endif
}

// v as a float32 rounded here: the empty asm of keep_in_register, which the compiler cannot
// see through, so GCC's default -ffp-contract=fast cannot fuse a product into the add that
// follows it. For code whose every step must round on its own (the int8 epilogue of
// weights/FORMAT.md 7.6, bit-exact on every ISA). Costs no instruction.
PMS_ALWAYS_INLINE f32v rounded(f32v v) noexcept {
  keep_in_register(v);
  return v;
}

// e^x, within 2 ulp, as one fixed sequence of IEEE operations, so with FusedAlways the same
// bits on every ISA (xsimd's exp fuses on some ISAs and not on others). Cephes' expf:
// x = k ln2 + r with k = round(x / ln2) and ln2 in two parts (k * 0.693359375 is exact), e^r
// by a degree-7 polynomial, 2^k added to the exponent. e^x is 0 below -87.3 and saturates at
// e^88; NaN stays NaN.
template <class Rounding = FusedAlways>
PMS_ALWAYS_INLINE f32v exp(f32v x) noexcept {
  using i32v = xsimd::batch<std::int32_t, arch>;
  const f32v input = x;
  const mask32 underflow = x < splat(-87.3f), nan = xsimd::isnan(x);
  x = min(max(x, splat(-87.3f)), splat(88.0f));
  // k = round(x log2 e) by the 1.5 * 2^23 trick (round half even, the same on every ISA).
  const f32v magic = splat(12582912.0f);
  const f32v k = rounded(rounded(x * splat(1.44269504088896341f)) + magic) - magic;
  f32v r = Rounding::fma(k, splat(-0.693359375f), x);
  r = Rounding::fma(k, splat(2.12194440e-4f), r);
  f32v p = splat(1.9875691500e-4f);
  p = Rounding::fma(p, r, splat(1.3981999507e-3f));
  p = Rounding::fma(p, r, splat(8.3334519073e-3f));
  p = Rounding::fma(p, r, splat(4.1665795894e-2f));
  p = Rounding::fma(p, r, splat(1.6666665459e-1f));
  p = Rounding::fma(p, r, splat(5.0000001201e-1f));
  const f32v y = Rounding::fma(p, rounded(r * r), r) + splat(1.0f);
  // y * 2^k: k in [-126, 127], so 2^k is a normal float built from its exponent bits.
  const i32v exponent = (xsimd::to_int(k) + i32v(127)) << 23;
  const f32v scaled = y * xsimd::bitwise_cast<f32v>(exponent);
  return select(nan, input, select(underflow, zero(), scaled));
}

}  // namespace pms::inline PMS_ISA_NS::simd

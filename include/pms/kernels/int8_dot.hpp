// pms/kernels/int8_dot.hpp: the exact int8 x int8 dot-product micro-tile of the int8 1x1
// conv (weights/FORMAT.md 7.5), one implementation per instruction set.
//
// A micro-tile is MR pixels x NR vectors of kLanes output channels (kLanes = the float
// vector width, so each result vector feeds one float epilogue vector):
//   acc[m][v][l] = sum_{ci < 4 * groups} q_a[m][ci] * q_w[co][ci],   co = v * kLanes + l
// Operands, read in place:
//   a: pixel m's codes at a + m * a_pitch (Code elements), channels 0 .. 4 * groups - 1
//      (SDOT reads whole 16-code chunks: up to round_up(4 * groups, 16));
//   w: weight_q of FORMAT.md 7.2 at the tile's first output channel, i.e. element
//      [g][co][j] (co relative to the tile) at w + g * w_pitch + co * 4 + j, w_pitch = 4 * P;
//   wsum: weight_sum at the tile's first output channel (used by the u8 paths only).
// Every path is exact in int32 for cin <= 2048 (|acc| <= 127^2 * cin; VPDPBUSD's biased sum
// <= 255 * 127 * cin < 2^31) and never uses PMADDUBSW (which saturates to int16).
//
//   path       Code      instruction                         tile (MR x NR vectors)
//   vnni512    uint8_t   VPDPBUSD zmm (AVX512-VNNI)          6x4, 8x3, 12x2, 16x1 (x16 lanes)
//   madd512    int16_t   VPMOVSXBW + VPMADDWD zmm             6x2, 12x1
//   avxvnni    uint8_t   VPDPBUSD ymm (AVX-VNNI)              6x2, 12x1 (x8 lanes)
//   madd256    int16_t   VPMOVSXBW + VPMADDWD ymm             6x1
//   madd128    int16_t   PUNPCK/PSRAW + PMADDWD (SSE2)        6x1 (x4 lanes)
//   sdot       int8_t    SDOT by element (+dotprod)           4x4, 6x3, 8x2, 12x1
//   neon_mull  int8_t    SMULL/SMULL2 + SADALP                6x2, 12x1
// u8 codes are q + 128: VPDPBUSD multiplies unsigned by signed bytes, and the tile subtracts
// 128 * weight_sum (7.5). The int16 and NEON-widening paths hold pair sums (lanes
// co0:ci01, co0:ci23, co1:ci01, ...) and add the pairs once at the end of the tile.
//
// The path depends on more than the ISA namespace (AVX512-VNNI is optional on AVX-512 CPUs,
// dotprod on ARMv8.2), so everything here and every kernel inlining it lives in a further
// inline namespace named after the path: two translation units built with and without
// -mavx512vnni link into one program without an ODR clash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pms/core/config.hpp"
#include "pms/simd/simd.hpp"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
#if defined(__AVX512VNNI__)
#define PMS_INT8_PATH vnni512
#else
#define PMS_INT8_PATH madd512
#endif
#elif defined(__AVX2__)
#if defined(__AVXVNNI__)
#define PMS_INT8_PATH avxvnni
#else
#define PMS_INT8_PATH madd256
#endif
#elif defined(__aarch64__)
#if defined(__ARM_FEATURE_DOTPROD)
#define PMS_INT8_PATH sdot
#else
#define PMS_INT8_PATH neon_mull
#endif
#elif defined(__SSE2__) || defined(_M_X64)
#define PMS_INT8_PATH madd128
#else
#error "int8_dot.hpp: no int8 path for this ISA"
#endif

#define PMS_INT8_STR2(x) #x
#define PMS_INT8_STR(x) PMS_INT8_STR2(x)
#define PMS_INT8_NS PMS_INT8_PATH

namespace pms::inline PMS_ISA_NS::kernels::int8_dot {
inline namespace PMS_INT8_NS {

using simd::kLanes;

// Name of the dot-product path, for logs and benchmark labels.
constexpr const char* path_name() noexcept { return PMS_INT8_STR(PMS_INT8_PATH); }

namespace detail {
// acc += VPDPBUSD(u, s) as inline asm where GCC is the compiler: with the intrinsic, GCC 12
// copies accumulators of the 6x4 tile through other registers and the stack on each
// reduction step (64 stack accesses in the tile's code against 2 with the asm). The asm
// names the one instruction and leaves the registers to the allocator.
#if defined(__AVX512VNNI__) && defined(__AVX512F__)
PMS_ALWAYS_INLINE void dpbusd(__m512i& acc, __m512i u, __m512i s) noexcept {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
#else
  acc = _mm512_dpbusd_epi32(acc, u, s);
#endif
}
#endif
#if defined(__AVXVNNI__)
PMS_ALWAYS_INLINE void dpbusd(__m256i& acc, __m256i u, __m256i s) noexcept {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "x"(s));
#else
  acc = _mm256_dpbusd_avx_epi32(acc, u, s);
#endif
}
#endif

template <class T>
PMS_ALWAYS_INLINE T load_bits(const void* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
}  // namespace detail

// ==== AVX-512 ============================================================================
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
using i32v = __m512i;
PMS_ALWAYS_INLINE simd::f32v to_f32(i32v v) noexcept { return _mm512_cvtepi32_ps(v); }

#if defined(__AVX512VNNI__)
using Code = std::uint8_t;
inline constexpr int kMaxNR = 4;
constexpr int mr_for(int nr) noexcept { return nr >= 4 ? 6 : nr == 3 ? 8 : nr == 2 ? 12 : 16; }

template <int MR, int NR, class Epi>
PMS_ALWAYS_INLINE void dot_tile(const Code* PMS_RESTRICT a, std::ptrdiff_t a_pitch, int groups,
                                const std::int8_t* PMS_RESTRICT w, std::ptrdiff_t w_pitch,
                                const std::int32_t* PMS_RESTRICT wsum, Epi&& epi) noexcept {
  i32v acc[MR][NR];
  // Starting from -128 * weight_sum makes the sum exact at the end (7.5); every partial sum
  // stays within int32 (|128 * weight_sum| + 255 * 127 * cin < 2^31).
  PMS_UNROLL(4)
  for (int v = 0; v < NR; ++v) {
    const i32v start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(_mm512_loadu_si512(wsum + v * 16), 7));
    PMS_UNROLL(16)
    for (int m = 0; m < MR; ++m) acc[m][v] = start;
  }
  for (int g = 0; g < groups; ++g) {
    i32v b[NR];
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) b[v] = _mm512_loadu_si512(w + v * 64);
    w += w_pitch;
    PMS_UNROLL(16)
    for (int m = 0; m < MR; ++m) {
      const i32v x = _mm512_set1_epi32(detail::load_bits<std::int32_t>(a + m * a_pitch + 4 * g));
      PMS_UNROLL(4)
      for (int v = 0; v < NR; ++v) detail::dpbusd(acc[m][v], x, b[v]);
    }
  }
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) epi(m, v, acc[m][v]);
  }
}
#else
using Code = std::int16_t;
inline constexpr int kMaxNR = 2;
constexpr int mr_for(int nr) noexcept { return nr >= 2 ? 6 : 12; }

template <int MR, int NR, class Epi>
PMS_ALWAYS_INLINE void dot_tile(const Code* PMS_RESTRICT a, std::ptrdiff_t a_pitch, int groups,
                                const std::int8_t* PMS_RESTRICT w, std::ptrdiff_t w_pitch, const std::int32_t*,
                                Epi&& epi) noexcept {
  // Pair sums: s[m][2v] covers channels 0..7 of vector v, s[m][2v + 1] channels 8..15.
  i32v s[MR][2 * NR];
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(8)
    for (int j = 0; j < 2 * NR; ++j) s[m][j] = _mm512_setzero_si512();
  }
  for (int g = 0; g < groups; ++g) {
    i32v b[2 * NR];
    PMS_UNROLL(8)
    for (int j = 0; j < 2 * NR; ++j)
      b[j] = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * 32)));
    w += w_pitch;
    PMS_UNROLL(16)
    for (int m = 0; m < MR; ++m) {
      const i32v x = _mm512_set1_epi64(detail::load_bits<long long>(a + m * a_pitch + 4 * g));
      PMS_UNROLL(8)
      for (int j = 0; j < 2 * NR; ++j) s[m][j] = _mm512_add_epi32(s[m][j], _mm512_madd_epi16(x, b[j]));
    }
  }
  // Lane pairs (2i, 2i+1) summed into lane 2i, then the even lanes of both halves in order.
  const i32v even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) {
      const i32v lo = _mm512_add_epi32(s[m][2 * v], _mm512_srli_epi64(s[m][2 * v], 32));
      const i32v hi = _mm512_add_epi32(s[m][2 * v + 1], _mm512_srli_epi64(s[m][2 * v + 1], 32));
      epi(m, v, _mm512_permutex2var_epi32(lo, even, hi));
    }
  }
}
#endif

// ==== AVX2 ===============================================================================
#elif defined(__AVX2__)
using i32v = __m256i;
PMS_ALWAYS_INLINE simd::f32v to_f32(i32v v) noexcept { return _mm256_cvtepi32_ps(v); }

#if defined(__AVXVNNI__)
using Code = std::uint8_t;
inline constexpr int kMaxNR = 2;
constexpr int mr_for(int nr) noexcept { return nr >= 2 ? 6 : 12; }

template <int MR, int NR, class Epi>
PMS_ALWAYS_INLINE void dot_tile(const Code* PMS_RESTRICT a, std::ptrdiff_t a_pitch, int groups,
                                const std::int8_t* PMS_RESTRICT w, std::ptrdiff_t w_pitch,
                                const std::int32_t* PMS_RESTRICT wsum, Epi&& epi) noexcept {
  i32v acc[MR][NR];
  PMS_UNROLL(4)
  for (int v = 0; v < NR; ++v) {
    const i32v start = _mm256_sub_epi32(
        _mm256_setzero_si256(), _mm256_slli_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wsum + v * 8)), 7));
    PMS_UNROLL(16)
    for (int m = 0; m < MR; ++m) acc[m][v] = start;
  }
  for (int g = 0; g < groups; ++g) {
    i32v b[NR];
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) b[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + v * 32));
    w += w_pitch;
    PMS_UNROLL(16)
    for (int m = 0; m < MR; ++m) {
      const i32v x = _mm256_set1_epi32(detail::load_bits<std::int32_t>(a + m * a_pitch + 4 * g));
      PMS_UNROLL(4)
      for (int v = 0; v < NR; ++v) detail::dpbusd(acc[m][v], x, b[v]);
    }
  }
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) epi(m, v, acc[m][v]);
  }
}
#else
using Code = std::int16_t;
inline constexpr int kMaxNR = 1;
constexpr int mr_for(int) noexcept { return 6; }

template <int MR, int NR, class Epi>
PMS_ALWAYS_INLINE void dot_tile(const Code* PMS_RESTRICT a, std::ptrdiff_t a_pitch, int groups,
                                const std::int8_t* PMS_RESTRICT w, std::ptrdiff_t w_pitch, const std::int32_t*,
                                Epi&& epi) noexcept {
  // Pair sums: s[m][2v] covers channels 0..3 of vector v, s[m][2v + 1] channels 4..7.
  i32v s[MR][2 * NR];
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(8)
    for (int j = 0; j < 2 * NR; ++j) s[m][j] = _mm256_setzero_si256();
  }
  for (int g = 0; g < groups; ++g) {
    i32v b[2 * NR];
    PMS_UNROLL(8)
    for (int j = 0; j < 2 * NR; ++j)
      b[j] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + j * 16)));
    w += w_pitch;
    PMS_UNROLL(16)
    for (int m = 0; m < MR; ++m) {
      const i32v x = _mm256_set1_epi64x(detail::load_bits<long long>(a + m * a_pitch + 4 * g));
      PMS_UNROLL(8)
      for (int j = 0; j < 2 * NR; ++j) s[m][j] = _mm256_add_epi32(s[m][j], _mm256_madd_epi16(x, b[j]));
    }
  }
  // hadd gives channels [0 1 4 5 | 2 3 6 7]; the 64-bit permute puts them in order.
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v)
      epi(m, v, _mm256_permute4x64_epi64(_mm256_hadd_epi32(s[m][2 * v], s[m][2 * v + 1]), _MM_SHUFFLE(3, 1, 2, 0)));
  }
}
#endif

// ==== AArch64 ============================================================================
#elif defined(__aarch64__)
using i32v = int32x4_t;
using Code = std::int8_t;
PMS_ALWAYS_INLINE simd::f32v to_f32(i32v v) noexcept { return vcvtq_f32_s32(v); }

#if defined(__ARM_FEATURE_DOTPROD)
inline constexpr int kMaxNR = 4;
constexpr int mr_for(int nr) noexcept { return nr >= 4 ? 4 : nr == 3 ? 6 : nr == 2 ? 8 : 12; }

namespace detail {
// Groups g .. g + J - 1 (J <= 4) of MR pixels whose 16 codes (4 groups) are in x[m]: one
// SDOT per (pixel, vector, group), the group picked by lane.
template <int MR, int NR, int J>
PMS_ALWAYS_INLINE void sdot_groups(const int8x16_t (&x)[MR], const std::int8_t* PMS_RESTRICT w, std::ptrdiff_t w_pitch,
                                   i32v (&acc)[MR][NR]) noexcept {
  const auto step = [&]<int L>() {
    if constexpr (L < J) {
      int8x16_t b[NR];
      PMS_UNROLL(4)
      for (int v = 0; v < NR; ++v) b[v] = vld1q_s8(w + L * w_pitch + v * 16);
      PMS_UNROLL(16)
      for (int m = 0; m < MR; ++m) {
        PMS_UNROLL(4)
        for (int v = 0; v < NR; ++v) acc[m][v] = vdotq_laneq_s32(acc[m][v], b[v], x[m], L);
      }
    }
  };
  step.template operator()<0>();
  step.template operator()<1>();
  step.template operator()<2>();
  step.template operator()<3>();
}
}  // namespace detail

template <int MR, int NR, class Epi>
PMS_ALWAYS_INLINE void dot_tile(const Code* PMS_RESTRICT a, std::ptrdiff_t a_pitch, int groups,
                                const std::int8_t* PMS_RESTRICT w, std::ptrdiff_t w_pitch, const std::int32_t*,
                                Epi&& epi) noexcept {
  i32v acc[MR][NR];
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) acc[m][v] = vdupq_n_s32(0);
  }
  int g = 0;
  int8x16_t x[MR];
  for (; g + 4 <= groups; g += 4) {
    PMS_UNROLL(16)
    for (int m = 0; m < MR; ++m) x[m] = vld1q_s8(a + m * a_pitch + 4 * g);
    detail::sdot_groups<MR, NR, 4>(x, w + g * w_pitch, w_pitch, acc);
  }
  if (g < groups) {
    // 1..3 groups left; the 16 codes read are within the pixel's padded_channels(cin).
    PMS_UNROLL(16)
    for (int m = 0; m < MR; ++m) x[m] = vld1q_s8(a + m * a_pitch + 4 * g);
    switch (groups - g) {
      case 1: detail::sdot_groups<MR, NR, 1>(x, w + g * w_pitch, w_pitch, acc); break;
      case 2: detail::sdot_groups<MR, NR, 2>(x, w + g * w_pitch, w_pitch, acc); break;
      default: detail::sdot_groups<MR, NR, 3>(x, w + g * w_pitch, w_pitch, acc); break;
    }
  }
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) epi(m, v, acc[m][v]);
  }
}
#else
inline constexpr int kMaxNR = 2;
constexpr int mr_for(int nr) noexcept { return nr >= 2 ? 6 : 12; }

template <int MR, int NR, class Epi>
PMS_ALWAYS_INLINE void dot_tile(const Code* PMS_RESTRICT a, std::ptrdiff_t a_pitch, int groups,
                                const std::int8_t* PMS_RESTRICT w, std::ptrdiff_t w_pitch, const std::int32_t*,
                                Epi&& epi) noexcept {
  // Pair sums: s[m][2v] covers channels 0..1 of vector v, s[m][2v + 1] channels 2..3.
  i32v s[MR][2 * NR];
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(8)
    for (int j = 0; j < 2 * NR; ++j) s[m][j] = vdupq_n_s32(0);
  }
  for (int g = 0; g < groups; ++g) {
    int8x16_t b[NR];
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) b[v] = vld1q_s8(w + v * 16);
    w += w_pitch;
    PMS_UNROLL(16)
    for (int m = 0; m < MR; ++m) {
      // The pixel's 4 codes of group g in every 32-bit lane. Products of two codes fit
      // int16 exactly (|q| <= 127); SADALP adds their pairs into int32.
      const int8x16_t x = vreinterpretq_s8_s32(vdupq_n_s32(detail::load_bits<std::int32_t>(a + m * a_pitch + 4 * g)));
      PMS_UNROLL(4)
      for (int v = 0; v < NR; ++v) {
        s[m][2 * v] = vpadalq_s16(s[m][2 * v], vmull_s8(vget_low_s8(b[v]), vget_low_s8(x)));
        s[m][2 * v + 1] = vpadalq_s16(s[m][2 * v + 1], vmull_high_s8(b[v], x));
      }
    }
  }
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) epi(m, v, vpaddq_s32(s[m][2 * v], s[m][2 * v + 1]));
  }
}
#endif

// ==== SSE2 ===============================================================================
#else
using i32v = __m128i;
using Code = std::int16_t;
PMS_ALWAYS_INLINE simd::f32v to_f32(i32v v) noexcept { return _mm_cvtepi32_ps(v); }
inline constexpr int kMaxNR = 1;
constexpr int mr_for(int) noexcept { return 6; }

template <int MR, int NR, class Epi>
PMS_ALWAYS_INLINE void dot_tile(const Code* PMS_RESTRICT a, std::ptrdiff_t a_pitch, int groups,
                                const std::int8_t* PMS_RESTRICT w, std::ptrdiff_t w_pitch, const std::int32_t*,
                                Epi&& epi) noexcept {
  // Pair sums: s[m][2v] covers channels 0..1 of vector v, s[m][2v + 1] channels 2..3.
  i32v s[MR][2 * NR];
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(8)
    for (int j = 0; j < 2 * NR; ++j) s[m][j] = _mm_setzero_si128();
  }
  for (int g = 0; g < groups; ++g) {
    i32v b[2 * NR];
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) {
      // Sign extension without SSE4.1's PMOVSXBW: each byte doubled into a word, then an
      // arithmetic shift right by 8.
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + v * 16));
      b[2 * v] = _mm_srai_epi16(_mm_unpacklo_epi8(raw, raw), 8);
      b[2 * v + 1] = _mm_srai_epi16(_mm_unpackhi_epi8(raw, raw), 8);
    }
    w += w_pitch;
    PMS_UNROLL(16)
    for (int m = 0; m < MR; ++m) {
      const i32v x = _mm_set1_epi64x(detail::load_bits<long long>(a + m * a_pitch + 4 * g));
      PMS_UNROLL(8)
      for (int j = 0; j < 2 * NR; ++j) s[m][j] = _mm_add_epi32(s[m][j], _mm_madd_epi16(x, b[j]));
    }
  }
  // Even and odd lanes of the two pair-sum vectors, added: channels 0..3 in order.
  PMS_UNROLL(16)
  for (int m = 0; m < MR; ++m) {
    PMS_UNROLL(4)
    for (int v = 0; v < NR; ++v) {
      const __m128 lo = _mm_castsi128_ps(s[m][2 * v]), hi = _mm_castsi128_ps(s[m][2 * v + 1]);
      epi(m, v, _mm_add_epi32(_mm_castps_si128(_mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0))),
                              _mm_castps_si128(_mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1)))));
    }
  }
}
#endif

static_assert(mr_for(kMaxNR) >= 1 && kMaxNR * kLanes <= 64, "A panel is at most 64 output channels.");

}  // namespace PMS_INT8_NS
}  // namespace pms::inline PMS_ISA_NS::kernels::int8_dot

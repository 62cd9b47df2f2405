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

#include <xsimd/xsimd.hpp>

#include "pms/core/config.hpp"

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

// a * b + c. A single rounding only where the ISA has FMA (and, for xsimd 8.1 on AVX-512,
// where the compiler contracts: GCC's default -ffp-contract=fast does).
PMS_ALWAYS_INLINE f32v fma(f32v a, f32v b, f32v c) noexcept { return xsimd::fma(a, b, c); }
PMS_ALWAYS_INLINE f32v min(f32v a, f32v b) noexcept { return xsimd::min(a, b); }
PMS_ALWAYS_INLINE f32v max(f32v a, f32v b) noexcept { return xsimd::max(a, b); }
PMS_ALWAYS_INLINE f32v exp(f32v a) noexcept { return xsimd::exp(a); }
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

}  // namespace pms::inline PMS_ISA_NS::simd

// pms/kernels/logit_range.hpp: whether low-res logits are inside the fast labels kernels'
// contract (argmax.hpp, upsample_argmax.hpp: finite, |v| <= 2^100).
//
// Weights that load() accepts can still drive logits out of that range (finite weights of
// 1e38 overflow to Inf, Inf - Inf gives NaN). The labels tail checks the logits once and
// sends anything outside the contract to the scalar kernels of robust_argmax.hpp, which
// accept every float value.
//
// Layout: padded channels-last, possibly a channel slice; only the real channels are read.
#pragma once

#include <cmath>
#include <cstdint>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

// The largest |logit| the fast labels kernels accept: their "never wins" fill value
// (-2^100) stays below every logit, and products with resize weights stay finite.
inline constexpr float kLogitLimit = 0x1p100f;

enum class LogitRange : std::uint8_t {
  within_limit,  // every real logit is finite with |v| <= kLogitLimit
  huge,          // all finite, some beyond kLogitLimit
  non_finite,    // some NaN or infinity
};

inline LogitRange logit_range(ConstTensorView logits) noexcept {
  using simd::f32v;
  constexpr int L = simd::kLanes;
  const int k = logits.channels;
  const int full = k / L * L;  // channels in whole vectors; the rest (< L) is read as scalars
  const f32v limit = simd::splat(kLogitLimit), neg_limit = simd::splat(-kLogitLimit);
  bool all_within = true;
  for (int y = 0; y < logits.height && all_within; ++y)
    for (int x = 0; x < logits.width; ++x) {
      const float* p = logits.pixel(y, x);
      unsigned outside = 0;  // lanes failing -limit <= v <= limit (NaN fails both compares)
      for (int c = 0; c < full; c += L) {
        const f32v v = simd::load(p + c);
        outside |= ~simd::bitmask(v <= limit) | ~simd::bitmask(v >= neg_limit);
      }
      outside &= (L >= 32 ? ~0u : (1u << L) - 1u);
      for (int c = full; c < k; ++c) outside |= !(p[c] <= kLogitLimit && p[c] >= -kLogitLimit) ? 1u : 0u;
      if (outside != 0) {
        all_within = false;
        break;
      }
    }
  if (all_within) return LogitRange::within_limit;
  // Rare: tell a huge finite value from a non-finite one.
  for (int y = 0; y < logits.height; ++y)
    for (int x = 0; x < logits.width; ++x) {
      const float* p = logits.pixel(y, x);
      for (int c = 0; c < k; ++c)
        if (!std::isfinite(p[c])) return LogitRange::non_finite;
    }
  return LogitRange::huge;
}

}  // namespace pms::inline PMS_ISA_NS::kernels

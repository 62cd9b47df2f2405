// pms/kernels/activation.hpp: elementwise functions as policy types (spec section 2).
//
// Each policy has apply(float) and apply(f32v) computing the same function, so a kernel
// fuses its activation into the epilogue: template <class Act> ... out = Act::apply(acc).
#pragma once

#include <algorithm>
#include <cmath>

#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::act {

using simd::f32v;

struct Identity {
  static constexpr const char* name = "linear";
  static float apply(float x) noexcept { return x; }
  static f32v apply(f32v x) noexcept { return x; }
};

struct ReLU {
  static constexpr const char* name = "relu";
  static float apply(float x) noexcept { return std::max(x, 0.0f); }
  static f32v apply(f32v x) noexcept { return simd::max(x, simd::zero()); }
};

struct ReLU6 {
  static constexpr const char* name = "relu6";
  static float apply(float x) noexcept { return std::min(std::max(x, 0.0f), 6.0f); }
  static f32v apply(f32v x) noexcept { return simd::min(simd::max(x, simd::zero()), simd::splat(6.0f)); }
};

// Multiplying by 1/6 instead of dividing: a division costs many multiplies in the epilogue
// of every conv, and the results differ by an ulp at most.
inline constexpr float kSixth = 1.0f / 6.0f;

// x * relu6(x + 3) / 6
struct HardSwish {
  static constexpr const char* name = "hswish";
  static float apply(float x) noexcept { return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) * kSixth; }
  static f32v apply(f32v x) noexcept {
    const f32v r = simd::min(simd::max(x + simd::splat(3.0f), simd::zero()), simd::splat(6.0f));
    return x * r * simd::splat(kSixth);
  }
};

// Paddle's hardsigmoid(slope=0.2, offset=0.5): the gate of the MobileNetV3 SE modules.
// Not PyTorch's x/6 + 0.5: real checkpoints depend on the 0.2.
struct SEGate {
  static constexpr const char* name = "segate";
  static float apply(float x) noexcept { return std::min(std::max(0.2f * x + 0.5f, 0.0f), 1.0f); }
  static f32v apply(f32v x) noexcept {
    return simd::min(simd::max(simd::fma(simd::splat(0.2f), x, simd::splat(0.5f)), simd::zero()), simd::splat(1.0f));
  }
};

// relu6(x + 3) / 6: the gate of SEA attention.
struct HSigmoid {
  static constexpr const char* name = "hsigmoid";
  static float apply(float x) noexcept { return std::min(std::max(x + 3.0f, 0.0f), 6.0f) * kSixth; }
  static f32v apply(f32v x) noexcept {
    return simd::min(simd::max(x + simd::splat(3.0f), simd::zero()), simd::splat(6.0f)) * simd::splat(kSixth);
  }
};

// 1 / (1 + e^-x): the AAM votes. The argument is clamped so e^-x stays finite. Rounding:
// simd::exp's multiply-adds (simd.hpp), exact on every ISA by default.
struct Sigmoid {
  static constexpr const char* name = "sigmoid";
  static float apply(float x) noexcept { return 1.0f / (1.0f + std::exp(-std::max(x, -88.0f))); }
  template <class Rounding = simd::FusedAlways>
  static f32v apply(f32v x) noexcept {
    return simd::div(simd::splat(1.0f), simd::splat(1.0f) + simd::exp<Rounding>(-simd::max(x, simd::splat(-88.0f))));
  }
};

}  // namespace pms::inline PMS_ISA_NS::act

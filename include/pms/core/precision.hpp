// pms/core/precision.hpp: the arithmetic of a network's pointwise convs, a template parameter
// of pms::MobileSeg next to the variant (weights/FORMAT.md section 7):
//   Fp32  float32 weights and activations (format version 2 files);
//   Int8  int8 weights, activations quantized per pixel at run time, exact int32 dot
//         products and a float32 epilogue (format version 3 files of precision 1).
// Every other layer is float32 in both.
#pragma once

#include <concepts>
#include <cstdint>

namespace pms {

// The header field `precision` of a .pms file (version 3; version 2 files are fp32).
enum class WeightsPrecision : std::uint32_t { fp32 = 0, int8 = 1 };

struct Fp32 {
  static constexpr WeightsPrecision weights = WeightsPrecision::fp32;
  static constexpr const char* name = "fp32";
};
struct Int8 {
  static constexpr WeightsPrecision weights = WeightsPrecision::int8;
  static constexpr const char* name = "int8";
};

template <class P>
concept Precision = std::same_as<P, Fp32> || std::same_as<P, Int8>;

constexpr const char* precision_name(WeightsPrecision p) noexcept { return p == WeightsPrecision::int8 ? Int8::name : Fp32::name; }

}  // namespace pms

// pms/layers/rounding.hpp: how the fp32 kernels round their multiply-adds at a precision
// (the Rounding policies of pms/simd/simd.hpp). The int8 network must compute the same bits
// on every ISA, or a quantized activation moves by a step between builds (weights/FORMAT.md
// 7.8): FusedAlways. The fp32 network takes the fastest multiply-add each ISA has.
#pragma once

#include <concepts>
#include <type_traits>

#include "pms/core/precision.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::layers {

template <Precision P>
using RoundingOf = std::conditional_t<std::same_as<P, Int8>, simd::FusedAlways, simd::FusedIfNative>;

}  // namespace pms::inline PMS_ISA_NS::layers

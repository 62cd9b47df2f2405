// Helpers shared by the conv kernel tests: activations in double (the spec's formulas,
// section 2), random weight buffers, and the float-summation tolerance.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <type_traits>

#include "pms/kernels/activation.hpp"
#include "test_support.hpp"

namespace pms::test::conv {

// The activation of policy Act evaluated in double, as the oracle.
template <class Act>
double ref_act(double x) {
  using pms::act::HardSwish, pms::act::HSigmoid, pms::act::Identity, pms::act::ReLU, pms::act::ReLU6,
      pms::act::SEGate, pms::act::Sigmoid;
  const auto relu6 = [](double v) { return std::min(std::max(v, 0.0), 6.0); };
  if constexpr (std::is_same_v<Act, Identity>) return x;
  else if constexpr (std::is_same_v<Act, ReLU>) return std::max(x, 0.0);
  else if constexpr (std::is_same_v<Act, ReLU6>) return relu6(x);
  else if constexpr (std::is_same_v<Act, HardSwish>) return x * relu6(x + 3.0) / 6.0;
  else if constexpr (std::is_same_v<Act, HSigmoid>) return relu6(x + 3.0) / 6.0;
  else if constexpr (std::is_same_v<Act, SEGate>) return std::min(std::max(0.2 * x + 0.5, 0.0), 1.0);
  else if constexpr (std::is_same_v<Act, Sigmoid>) return 1.0 / (1.0 + std::exp(-x));
  else static_assert(!sizeof(Act), "ref_act needs a double formula for this activation.");
}

// n floats uniform in [lo, hi), 64-byte aligned.
inline Buffer random_buffer(std::mt19937_64& g, std::size_t n, float lo = -1.0f, float hi = 1.0f) {
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = uniform(g, lo, hi);
  return b;
}

// Absolute error allowed for a float sum of n terms whose magnitudes add up to at most
// sum_abs: Higham's probabilistic bound sqrt(n) * u * sum|terms| (u = 2^-24), times 2 for
// the activation's own rounding. Only matters where the reference is near zero (then
// the 1e-5 relative term is no help); the rest of the tolerance is the usual 1e-6.
inline double summation_abs_tolerance(int n, double sum_abs) {
  return 1e-6 + 2.0 * std::sqrt(static_cast<double>(std::max(n, 1))) * std::ldexp(1.0, -24) * sum_abs;
}

}  // namespace pms::test::conv

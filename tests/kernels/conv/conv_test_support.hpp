// Helpers shared by the conv kernel tests: activations in double (the spec's formulas,
// section 2), random weight buffers, the float-summation tolerance, and fp32 weights
// quantized to an int8 conv's tensors (weights/FORMAT.md 7.3, in the converter's layout 7.2).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

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

// The tensors of an int8 pointwise conv (FORMAT.md 7.2), as a converter writes them, plus
// the codes as a plain [cout][cin] matrix for oracles that should not read the packed layout.
struct Int8ConvWeights {
  int cin = 0, cout = 0, groups = 0, padded = 0;  // groups = ceil(cin / 4), padded = P(cout)
  std::vector<std::int8_t> weight_q;               // [groups][padded][4]
  std::vector<float> weight_scale;                 // [padded]
  std::vector<std::int32_t> weight_sum;            // [padded]
  std::vector<float> bias;                         // [padded]
  std::vector<int> q;                              // [cout][cin]
};

// Quantizes W'[co][ci] (row-major [cout][cin], BN already folded) per output channel as
// FORMAT.md 7.3 does, one float32 operation per step (divisions do not contract):
//   m = max |W'[co][:]|; m < 2^-64: s_w = 0, q = 0; else s_w = m / 127.0f and
//   q = clamp(round_half_even(W' / s_w), -127, 127).
// bias[co] for co < cout; 0 in pad lanes.
inline Int8ConvWeights quantize_weights(const std::vector<float>& w, const std::vector<float>& bias, int cin, int cout) {
  Int8ConvWeights r;
  r.cin = cin, r.cout = cout, r.groups = (cin + 3) / 4, r.padded = padded_channels(cout);
  r.weight_q.assign(static_cast<std::size_t>(r.groups) * r.padded * 4, 0);
  r.weight_scale.assign(r.padded, 0.0f);
  r.weight_sum.assign(r.padded, 0);
  r.bias.assign(r.padded, 0.0f);
  r.q.assign(static_cast<std::size_t>(cout) * cin, 0);
  for (int co = 0; co < cout; ++co) {
    const float* row = w.data() + static_cast<std::size_t>(co) * cin;
    float m = 0.0f;
    for (int ci = 0; ci < cin; ++ci) m = std::max(m, std::fabs(row[ci]));
    r.bias[co] = bias[co];
    if (m < std::ldexp(1.0f, -64)) continue;
    const float s = m / 127.0f;
    r.weight_scale[co] = s;
    for (int ci = 0; ci < cin; ++ci) {
      const float t = row[ci] / s;
      const int q = static_cast<int>(std::clamp(std::nearbyint(t), -127.0f, 127.0f));
      r.q[static_cast<std::size_t>(co) * cin + ci] = q;
      r.weight_q[(static_cast<std::size_t>(ci / 4) * r.padded + co) * 4 + ci % 4] = static_cast<std::int8_t>(q);
      r.weight_sum[co] += q;
    }
  }
  return r;
}

}  // namespace pms::test::conv

// Activation policies: the vector form equals the scalar form, and both equal the spec's
// formulas (section 2) evaluated in double, over a sweep that crosses every kink.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "pms/kernels/activation.hpp"
#include "test_support.hpp"

namespace {

using namespace pms;

double relu6(double x) { return std::min(std::max(x, 0.0), 6.0); }

template <class Act, class RefFn>
void check_activation(RefFn ref, pms::test::Tolerance tol) {
  alignas(64) float in[simd::kLanes];
  alignas(64) float out[simd::kLanes];
  int failures = 0;
  for (int i = 0; i < 4000; i += simd::kLanes) {
    for (int l = 0; l < simd::kLanes; ++l) in[l] = -10.0f + 0.005f * static_cast<float>(i + l);
    simd::store(out, Act::apply(simd::load(in)));
    for (int l = 0; l < simd::kLanes; ++l) {
      const double r = ref(static_cast<double>(in[l]));
      const float s = Act::apply(in[l]);
      if ((!tol.ok(out[l], r) || !tol.ok(s, r)) && failures++ < 5)
        FAIL_CHECK(Act::name << "(" << in[l] << "): vector " << out[l] << " scalar " << s << " expected " << r);
    }
  }
  CHECK(failures == 0);
}

}  // namespace

TEST_CASE("activation policies match the spec's formulas") {
  const pms::test::Tolerance exact{1e-6, 1e-7};  // piecewise-linear functions: rounding only
  check_activation<act::Identity>([](double x) { return x; }, exact);
  check_activation<act::ReLU>([](double x) { return std::max(x, 0.0); }, exact);
  check_activation<act::ReLU6>([](double x) { return relu6(x); }, exact);
  check_activation<act::HardSwish>([](double x) { return x * relu6(x + 3) / 6; }, exact);
  check_activation<act::SEGate>([](double x) { return std::min(std::max(0.2 * x + 0.5, 0.0), 1.0); }, exact);
  check_activation<act::HSigmoid>([](double x) { return relu6(x + 3) / 6; }, exact);
  // Sigmoid goes through exp: a few ulp.
  check_activation<act::Sigmoid>([](double x) { return 1 / (1 + std::exp(-x)); }, pms::test::Tolerance{2e-6, 1e-7});
}

TEST_CASE("the SE gate has slope 0.2, not PyTorch's 1/6") {
  CHECK(act::SEGate::apply(1.0f) == doctest::Approx(0.7));
  CHECK(act::SEGate::apply(-2.5f) == 0.0f);
  CHECK(act::SEGate::apply(2.5f) == 1.0f);
}

TEST_CASE("sigmoid stays finite and saturates for large inputs") {
  CHECK(act::Sigmoid::apply(-1000.0f) >= 0.0f);
  CHECK(act::Sigmoid::apply(-1000.0f) < 1e-30f);
  CHECK(act::Sigmoid::apply(1000.0f) == 1.0f);
  alignas(64) float in[simd::kLanes];
  alignas(64) float out[simd::kLanes];
  for (int l = 0; l < simd::kLanes; ++l) in[l] = (l % 2 ? 1.0f : -1.0f) * 1e4f;
  simd::store(out, act::Sigmoid::apply(simd::load(in)));
  for (int l = 0; l < simd::kLanes; ++l) CHECK(std::isfinite(out[l]));
}

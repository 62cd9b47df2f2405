// logit_range.hpp: one value outside [-2^100, 2^100] anywhere among the real channels, in a
// whole vector or in the scalar tail, is found; NaN and infinities are told from huge finite
// values; pad lanes and the other channels of a slice are never read.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "ops_test_util.hpp"
#include "pms/kernels/logit_range.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using kernels::LogitRange;
using pms::test::ops::slice;

constexpr float kInf = std::numeric_limits<float>::infinity();

struct BadValue {
  float value;
  LogitRange range;
};
const BadValue kBadValues[] = {{std::numeric_limits<float>::quiet_NaN(), LogitRange::non_finite},
                               {kInf, LogitRange::non_finite},
                               {-kInf, LogitRange::non_finite},
                               {0x1.000002p100f, LogitRange::huge},  // the next float above the limit
                               {-3e38f, LogitRange::huge}};

}  // namespace

TEST_CASE("logit_range: every position and kind of out-of-range value, channel counts around the vector width") {
  auto g = rng(701);
  for (int k : {1, 3, 4, 7, 8, 9, 15, 16, 17, 33}) {
    for (const bool as_slice : {false, true}) {
      OwnedTensor t = random_tensor(g, 3, 5, k + (as_slice ? 32 : 0), -1e30f, 1e30f);
      const ConstTensorView v = as_slice ? slice<const float>(t.view, 16, k) : ConstTensorView(t.view);
      // Values around the slice (pad lanes, neighbouring channels) are never looked at.
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 5; ++x) {
          float* p = t.view.pixel(y, x);
          for (int c = 0; c < t.view.stride; ++c)
            if (as_slice ? (c < 16 || c >= 16 + k) : c >= k) p[c] = std::nanf("");
        }
      CAPTURE(k);
      CAPTURE(as_slice);
      REQUIRE(kernels::logit_range(v) == LogitRange::within_limit);
      CHECK(kernels::logit_range(ConstTensorView{v.data, 3, 5, k, v.stride}) == LogitRange::within_limit);
      for (int c = 0; c < k; ++c)
        for (const BadValue& bad : kBadValues) {
          float* p = const_cast<float*>(v.pixel(2, 4)) + c;  // the last pixel: a tail bug reads past it
          const float keep = *p;
          *p = bad.value;
          CHECK_MESSAGE(kernels::logit_range(v) == bad.range, "channel " << c << " value " << bad.value);
          *p = keep;
        }
      // Exactly the limit is within it.
      const_cast<float*>(v.pixel(1, 1))[k - 1] = -0x1p100f;
      CHECK(kernels::logit_range(v) == LogitRange::within_limit);
    }
  }
}

TEST_CASE("logit_range: a huge value and a NaN in one tensor count as non-finite") {
  OwnedTensor t(2, 2, 5);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x)
      for (int c = 0; c < 16; ++c) t.at(y, x, c) = c < 5 ? 1.0f : 0.0f;
  t.at(0, 0, 1) = 1e35f;
  CHECK(kernels::logit_range(t.view) == LogitRange::huge);
  t.at(1, 1, 4) = std::nanf("");
  CHECK(kernels::logit_range(t.view) == LogitRange::non_finite);
}

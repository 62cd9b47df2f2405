// robust_argmax.hpp: the order it promises (a NaN never beats a number, infinities compare as
// numbers, the first maximum wins) on hand-made pixels, agreement with "resize, then argmax"
// of the double-precision reference on ordinary logits; and the fast kernels (argmax.hpp,
// upsample_argmax.hpp) fed values outside their contract: every label a real one, nothing
// written outside the label rows or the scratch.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ops_test_util.hpp"
#include "pms/kernels/argmax.hpp"
#include "pms/kernels/robust_argmax.hpp"
#include "pms/kernels/upsample_argmax.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using pms::test::ops::ref_bilinear;

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::nanf("");

struct Pixel {
  std::vector<float> values;
  int winner;
};

// Each pixel's values, and the index the order above makes win.
const Pixel kPixels[] = {
    {{kNaN, 1.0f, 5.0f, 5.0f, -kInf}, 2},  // NaN loses, the first of a tie wins
    {{kNaN, kNaN, kNaN}, 0},                // all NaN: index 0
    {{kNaN, -kInf, kNaN, -kInf}, 1},        // -Inf is a number, NaN is not
    {{-kInf, -kInf}, 0},
    {{1.0f, kInf, kInf, 3e38f}, 1},         // +Inf beats the largest finite value
    {{-3e38f, -1e38f, -2e38f}, 1},          // far below the fast kernels' -2^100 floor
    {{3e38f, kNaN, -kInf, 3e38f}, 0},
    {{7.0f}, 0},
};

// One pixel's values as an h x w tensor with the same values everywhere.
OwnedTensor constant_image(const std::vector<float>& values, int h, int w) {
  OwnedTensor t(h, w, static_cast<int>(values.size()));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < t.view.stride; ++c) t.at(y, x, c) = c < t.view.channels ? values[c] : kPadSentinel;
  return t;
}

}  // namespace

TEST_CASE("robust kernels: NaN never beats a number, infinities compare as numbers, the first maximum wins") {
  for (const Pixel& px : kPixels) {
    CAPTURE(px.winner);
    const OwnedTensor t = constant_image(px.values, 3, 2);
    std::vector<std::int32_t> low(6, -1);
    kernels::robust_argmax_channels<std::int32_t>(t.view, low.data(), 2, t.view.all_rows());
    for (const std::int32_t l : low) CHECK(l == px.winner);
    // Up- and downsampled, same size; with class ids (VIM) the winner's id is written.
    for (const int oh : {1, 3, 7}) {
      const int ow = oh + 4;
      std::vector<std::uint16_t> labels(static_cast<std::size_t>(oh) * ow, 999);
      std::vector<std::int32_t> ids(px.values.size());
      for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = 10 + 3 * static_cast<std::int32_t>(i);
      kernels::robust_upsample_argmax<std::uint16_t>(t.view, oh, ow, labels.data(), ow, {0, oh}, ids.data());
      for (const std::uint16_t l : labels) CHECK(l == ids[px.winner]);
    }
  }
}

TEST_CASE("robust_upsample_argmax: against resize-then-argmax of the reference on ordinary logits") {
  auto g = rng(702);
  struct Case {
    int ih, iw, oh, ow, k;
  };
  for (const Case& c : {Case{6, 9, 37, 50, 7}, Case{13, 11, 97, 131, 17}, Case{9, 8, 5, 3, 20}, Case{1, 1, 4, 5, 3},
                        Case{5, 4, 5, 4, 33}}) {
    const OwnedTensor logits = random_tensor(g, c.ih, c.iw, c.k);
    std::vector<std::uint8_t> labels(static_cast<std::size_t>(c.oh) * c.ow, 255);
    kernels::robust_upsample_argmax<std::uint8_t>(logits.view, c.oh, c.ow, labels.data(), c.ow, {0, c.oh});
    int mismatches = 0, near_ties = 0;
    std::vector<double> v(c.k);
    for (int y = 0; y < c.oh; ++y)
      for (int x = 0; x < c.ow; ++x) {
        for (int ch = 0; ch < c.k; ++ch) v[ch] = ref_bilinear(logits.view, c.oh, c.ow, 0, 0, y, x, ch);
        const int best = static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());  // first maximum
        double second = -1e300;
        for (int ch = 0; ch < c.k; ++ch)
          if (ch != best) second = std::max(second, v[ch]);
        if (v[best] - second < 1e-5) {
          ++near_ties;
          continue;
        }
        mismatches += labels[static_cast<std::size_t>(y) * c.ow + x] != best ? 1 : 0;
      }
    CHECK_MESSAGE(mismatches == 0, c.ih << "x" << c.iw << "->" << c.oh << "x" << c.ow << " k" << c.k);
    CHECK(near_ties * 100 <= c.oh * c.ow);
  }
}

TEST_CASE("fast labels kernels outside their contract: real labels only, no write outside their memory") {
  auto g = rng(703);
  const float specials[] = {kNaN, kInf, -kInf, 3e38f, -3e38f, -1e35f, 0.5f};
  struct Case {
    int ih, iw, oh, ow;
  };
  // x16 and x8 (wide cells), x2.5 and x1 (narrow cells), down.
  const Case cases[] = {{3, 4, 48, 64}, {5, 3, 40, 24}, {4, 6, 10, 15}, {5, 7, 5, 7}, {9, 11, 4, 5}};
  for (const int k : {1, 3, 16, 17, 40}) {
    for (int fill = 0; fill < 4; ++fill) {
      for (const Case& c : cases) {
        // fill 0: every value special; 1: all -3e38 (below the pad lanes' fill); 2: all NaN;
        // 3: ordinary values with specials sprinkled in.
        OwnedTensor t = random_tensor(g, c.ih, c.iw, k);
        std::uniform_int_distribution<int> pick(0, 6);
        for (int y = 0; y < c.ih; ++y)
          for (int x = 0; x < c.iw; ++x)
            for (int ch = 0; ch < k; ++ch) {
              float& v = t.at(y, x, ch);
              v = fill == 0 ? specials[pick(g)] : fill == 1 ? -3e38f : fill == 2 ? kNaN : pick(g) < 2 ? specials[pick(g)] : v;
            }
        const std::string what = std::to_string(c.ih) + "x" + std::to_string(c.iw) + "->" + std::to_string(c.oh) + "x" +
                                 std::to_string(c.ow) + " k" + std::to_string(k) + " fill " + std::to_string(fill);
        std::vector<std::int32_t> ids(k);
        for (int i = 0; i < k; ++i) ids[i] = 100 + i;
        for (const bool vim : {false, true}) {
          const int stride = c.ow + 3;
          std::vector<std::int32_t> labels(static_cast<std::size_t>(c.oh) * stride, -7);
          const std::size_t scratch_floats = kernels::upsample_argmax_scratch_floats(k, c.iw, c.ow);
          Buffer scratch(scratch_floats + 64);
          for (std::size_t i = scratch_floats; i < scratch.size(); ++i) scratch[i] = 12345.0f;
          kernels::upsample_argmax<std::int32_t>(t.view, c.oh, c.ow, labels.data(), stride, {0, c.oh}, scratch.data(),
                                                 vim ? ids.data() : nullptr);
          int bad = 0, outside = 0;
          for (int y = 0; y < c.oh; ++y)
            for (int x = 0; x < stride; ++x) {
              const std::int32_t l = labels[static_cast<std::size_t>(y) * stride + x];
              if (x >= c.ow) outside += l != -7;
              else bad += vim ? (l < 100 || l >= 100 + k) : (l < 0 || l >= k);
            }
          for (std::size_t i = scratch_floats; i < scratch.size(); ++i) outside += scratch[i] != 12345.0f;
          CHECK_MESSAGE(bad == 0, what << (vim ? " vim" : "") << ": " << bad << " labels out of range");
          CHECK_MESSAGE(outside == 0, what << (vim ? " vim" : "") << ": wrote outside the label rows or the scratch");
        }
        std::vector<std::uint8_t> low(static_cast<std::size_t>(c.ih) * c.iw, 255);
        kernels::argmax_channels<std::uint8_t>(t.view, low.data(), c.iw, t.view.all_rows());
        CHECK_MESSAGE(std::all_of(low.begin(), low.end(), [k](std::uint8_t l) { return l < k; }), what << ": argmax_channels");
      }
    }
  }
}

// upsample_argmax.hpp against "resize, then argmax" done by the double-precision reference.
//
// The kernel's float values differ from the reference's double ones by rounding, so a label
// may differ only where the reference's top-2 margin is below kTieEpsilon (relative to the
// logits' scale). Such pixels are counted and must be rare; every other pixel must agree.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ops_test_util.hpp"
#include "pms/kernels/argmax.hpp"
#include "pms/kernels/upsample_argmax.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using pms::test::ops::for_row_chunks;
using pms::test::ops::ref_bilinear;
using pms::test::ops::slice;

// Below this top-2 margin (times the largest |logit|) the reference cannot tell the winner
// from a float computation's winner.
constexpr double kTieEpsilon = 1e-5;
// At most this fraction of pixels may fall in that band. Random logits put ~2e-4 of the
// pixels there; near the borders the clamped samples are constant along one axis, so one
// near-tie repeats over a run of ratio/2 pixels, hence the headroom.
constexpr double kMaxNearTieFraction = 5e-3;

enum class Field { random, segments };

// Logits: either uniform noise (the worst case for the kernel's pruning), or ~12 smooth
// regions, each won by one class, plus noise (what a trained network produces).
OwnedTensor make_logits(std::mt19937_64& g, int h, int w, int k, Field field) {
  OwnedTensor t = random_tensor(g, h, w, k, -1.0f, 1.0f);
  if (field == Field::segments) {
    struct Seed {
      float y, x;
      int c;
    };
    std::vector<Seed> seeds;
    std::uniform_int_distribution<int> cls(0, k - 1);
    for (int i = 0; i < 12; ++i) seeds.push_back({uniform(g, 0.0f, float(h)), uniform(g, 0.0f, float(w)), cls(g)});
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        float best = 1e30f;
        int c = 0;
        for (const Seed& s : seeds) {
          const float d = (s.y - y) * (s.y - y) + (s.x - x) * (s.x - x);
          if (d < best) best = d, c = s.c;
        }
        t.at(y, x, c) += 6.0f;
      }
  }
  return t;
}

struct Outcome {
  int mismatches = 0;  // outside the near-tie band: must be 0
  int near_ties = 0;   // reference margin below kTieEpsilon
  int pixels = 0;
};

// Compares labels with the reference on the gathered channels `ids` (ids[p] = label of
// channel p; the identity for the full-class mode).
template <class Label>
Outcome compare(ConstTensorView logits, int oh, int ow, const std::vector<Label>& labels, int label_stride,
                const std::vector<std::int32_t>& ids) {
  Outcome o;
  double scale = 0;
  for (int y = 0; y < logits.height; ++y)
    for (int x = 0; x < logits.width; ++x)
      for (int c = 0; c < logits.channels; ++c) scale = std::max(scale, std::fabs(double(logits.pixel(y, x)[c])));
  std::vector<double> v(logits.channels);
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      for (int c = 0; c < logits.channels; ++c) v[c] = ref_bilinear(logits, oh, ow, 0, 0, y, x, c);
      int best = 0;
      for (int c = 1; c < logits.channels; ++c)
        if (v[c] > v[best]) best = c;
      double second = -1e300;
      for (int c = 0; c < logits.channels; ++c)
        if (c != best) second = std::max(second, v[c]);
      ++o.pixels;
      const Label got = labels[static_cast<std::size_t>(y) * label_stride + x];
      if (v[best] - second < kTieEpsilon * scale) {
        ++o.near_ties;
        continue;
      }
      if (got != static_cast<Label>(ids[best]) && o.mismatches++ < 5)
        FAIL_CHECK("at (" << y << "," << x << ") label " << +got << ", reference " << ids[best] << " (margin "
                          << v[best] - second << ")");
    }
  return o;
}

template <class Label>
void run_case(std::mt19937_64& g, int ih, int iw, int oh, int ow, int k, Field field, bool as_slice) {
  OwnedTensor src = make_logits(g, ih, iw, k + (as_slice ? 32 : 0), field);
  const ConstTensorView logits = as_slice ? slice<const float>(src.view, 16, k) : ConstTensorView(src.view);
  const int label_stride = ow + 5;
  std::vector<Label> labels(static_cast<std::size_t>(oh) * label_stride, static_cast<Label>(99));
  const std::size_t scratch_floats = kernels::upsample_argmax_scratch_floats(k, iw, ow);
  Buffer scratch(scratch_floats + 64);
  for (std::size_t i = scratch_floats; i < scratch.size(); ++i) scratch[i] = 12345.0f;  // guard
  for_row_chunks(oh, [&](RowRange r) { kernels::upsample_argmax<Label>(logits, oh, ow, labels.data(), label_stride, r, scratch.data()); });
  std::vector<std::int32_t> ids(k);
  for (int c = 0; c < k; ++c) ids[c] = c;
  const std::string what = "upsample_argmax " + std::to_string(ih) + "x" + std::to_string(iw) + "->" + std::to_string(oh) + "x" +
                           std::to_string(ow) + " k" + std::to_string(k) + (field == Field::random ? " random" : " segments") +
                           (as_slice ? " slice" : "");
  const Outcome o = compare<Label>(logits, oh, ow, labels, label_stride, ids);
  CHECK_MESSAGE(o.mismatches == 0, what << ": " << o.mismatches << " labels differ outside near-ties");
  CHECK_MESSAGE(o.near_ties <= kMaxNearTieFraction * o.pixels + 1, what << ": " << o.near_ties << " near-ties");
  int guard = 0;
  for (int y = 0; y < oh; ++y)
    for (int x = ow; x < label_stride; ++x) guard += labels[static_cast<std::size_t>(y) * label_stride + x] != static_cast<Label>(99);
  for (std::size_t i = scratch_floats; i < scratch.size(); ++i) guard += scratch[i] != 12345.0f;
  CHECK_MESSAGE(guard == 0, what << ": wrote outside labels rows or scratch");
}

}  // namespace

TEST_CASE("upsample_argmax: all classes, against resize-then-argmax") {
  auto g = rng(601);
  for (Field f : {Field::random, Field::segments}) {
    run_case<std::uint8_t>(g, 32, 32, 256, 256, 150, f, false);  // Tiny's tail at 256 x 256 output
    run_case<std::int32_t>(g, 13, 11, 97, 131, 150, f, false);
    run_case<std::int32_t>(g, 7, 5, 112, 80, 19, f, true);  // x16, Cityscapes' 19 classes, slice
    for (int k : {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 33})
      run_case<std::uint16_t>(g, 6, 9, 37, 50, k, f, k == 9);
  }
  run_case<std::int32_t>(g, 1, 1, 5, 7, 150, Field::random, false);      // in 1 x 1
  run_case<std::int32_t>(g, 13, 11, 13, 11, 150, Field::random, false);  // in == out
  run_case<std::int32_t>(g, 97, 131, 13, 11, 20, Field::random, false);  // down
  run_case<std::int32_t>(g, 13, 11, 1, 1, 20, Field::random, false);     // out 1 x 1: index 0
  run_case<std::int32_t>(g, 1, 17, 40, 3, 20, Field::random, false);
}

TEST_CASE("upsample_argmax: exact ties are won by the first class") {
  auto g = rng(602);
  // Channels 3 and 7 identical everywhere, in [4, 6]; 140 identical to 141 everywhere, and
  // dominant (in [8, 10]) at a third of the source pixels. Every other channel stays in
  // [-1, 1], below channel 3: at each pixel the winner is 3 or 140, whichever interpolates
  // higher there, never its later twin 7 or 141.
  OwnedTensor t = random_tensor(g, 9, 8, 150);
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 8; ++x) {
      t.at(y, x, 3) = t.at(y, x, 7) = 5.0f + uniform(g);
      t.at(y, x, 141) = t.at(y, x, 140) = (x + y) % 3 == 0 ? 9.0f + uniform(g) : t.at(y, x, 140);
    }
  double scale = 0;
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 8; ++x)
      for (int c = 0; c < 150; ++c) scale = std::max(scale, std::fabs(double(t.at(y, x, c))));
  // x16 (cells vectorised over pixels) and x2.5 / x1.25 (cells vectorised over classes).
  const std::pair<int, int> sizes[] = {{144, 128}, {22, 20}, {11, 10}};
  for (const std::pair<int, int>& size : sizes) {
    const int oh = size.first, ow = size.second;
    std::vector<std::int32_t> labels(static_cast<std::size_t>(oh) * ow, -1);
    Buffer scratch(kernels::upsample_argmax_scratch_floats(150, 8, ow));
    kernels::upsample_argmax<std::int32_t>(t.view, oh, ow, labels.data(), ow, {0, oh}, scratch.data());
    // Which of 3 and 140 wins where, from their interpolated values in double. Where the two
    // are within rounding of each other either may win (counted, must be rare).
    int wins_3 = 0, wins_140 = 0, near_ties = 0, wrong = 0;
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        const double v3 = ref_bilinear(t.view, oh, ow, 0, 0, y, x, 3);
        const double v140 = ref_bilinear(t.view, oh, ow, 0, 0, y, x, 140);
        const std::int32_t got = labels[static_cast<std::size_t>(y) * ow + x];
        if (std::fabs(v140 - v3) < kTieEpsilon * scale) {
          ++near_ties;
          wrong += got != 3 && got != 140;
          continue;
        }
        const std::int32_t want = v140 > v3 ? 140 : 3;
        ++(want == 140 ? wins_140 : wins_3);
        if (got != want && wrong++ < 5)
          FAIL_CHECK(oh << "x" << ow << " at (" << y << "," << x << "): label " << got << ", expected " << want);
      }
    CHECK_MESSAGE(wrong == 0, oh << "x" << ow << ": " << wrong << " pixels labelled with the wrong class");
    // Both tied pairs win somewhere, so both ties are decided in the test.
    CHECK_MESSAGE(wins_3 > 0, oh << "x" << ow << ": class 3 wins nowhere");
    CHECK_MESSAGE(wins_140 > 0, oh << "x" << ow << ": class 140 wins nowhere");
    CHECK_MESSAGE(near_ties <= kMaxNearTieFraction * oh * ow + 1, oh << "x" << ow << ": " << near_ties << " near-ties");
  }
}

TEST_CASE("upsample_argmax: VIM (gathered present classes, class_ids) against the reference") {
  auto g = rng(603);
  for (Field f : {Field::random, Field::segments}) {
    for (const auto& dims : {std::array<int, 4>{32, 32, 256, 256}, std::array<int, 4>{13, 11, 97, 131}}) {
      const int ih = dims[0], iw = dims[1], oh = dims[2], ow = dims[3];  // the lambda below captures oh, ow
      const int k = 150;
      OwnedTensor logits = make_logits(g, ih, iw, k, f);
      // Steps 1-3 of spec 9.3 with the argmax kernels.
      std::vector<std::uint8_t> low(static_cast<std::size_t>(ih) * iw);
      kernels::argmax_channels<std::uint8_t>(logits.view, low.data(), iw, logits.view.all_rows());
      std::vector<std::int32_t> classes(k);
      const int n = kernels::present_classes(low.data(), ih, iw, iw, k, classes.data());
      classes.resize(n);
      OwnedTensor gathered(ih, iw, n);
      kernels::gather_channels(logits.view, classes.data(), gathered.view, gathered.view.all_rows());
      std::vector<std::int32_t> labels(static_cast<std::size_t>(oh) * ow, -1);
      Buffer scratch(kernels::upsample_argmax_scratch_floats(n, iw, ow));
      for_row_chunks(oh, [&](RowRange r) {
        kernels::upsample_argmax<std::int32_t>(gathered.view, oh, ow, labels.data(), ow, r, scratch.data(), classes.data());
      });
      const Outcome o = compare<std::int32_t>(gathered.view, oh, ow, labels, ow, classes);
      const std::string what = "VIM n" + std::to_string(n) + (f == Field::random ? " random" : " segments");
      CHECK_MESSAGE(o.mismatches == 0, what << ": " << o.mismatches << " labels differ outside near-ties");
      CHECK_MESSAGE(o.near_ties <= kMaxNearTieFraction * o.pixels + 1, what << ": " << o.near_ties << " near-ties");
    }
  }
}

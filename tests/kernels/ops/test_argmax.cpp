// argmax.hpp: channel argmax with exact ties, present classes, channel gather.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "ops_test_util.hpp"
#include "pms/kernels/argmax.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using pms::test::ops::for_row_chunks;
using pms::test::ops::slice;

// First maximum over the real channels, in plain scalar code.
int reference_argmax(const float* p, int k) {
  int best = 0;
  for (int c = 1; c < k; ++c)
    if (p[c] > p[best]) best = c;
  return best;
}

// Plants exact ties at about a third of the pixels: the maximum copied to other channels
// (before, after, in the same and in other vectors), so first-max-wins is what decides.
void plant_ties(std::mt19937_64& g, TensorView t) {
  const int k = t.channels;
  if (k < 2) return;
  std::uniform_int_distribution<int> ch(0, k - 1), coin(0, 2);
  for (int y = 0; y < t.height; ++y)
    for (int x = 0; x < t.width; ++x) {
      if (coin(g) != 0) continue;
      float* p = t.pixel(y, x);
      const float top = 2.0f + static_cast<float>(coin(g));  // above the uniform [-1, 1) values
      for (int n = 0; n < 1 + coin(g); ++n) p[ch(g)] = top;
      p[ch(g)] = top;
      if (coin(g) == 0) p[k - 1] = top, p[0] = top;
    }
}

template <class Label>
void check_argmax(std::mt19937_64& g, int h, int w, int k, bool as_slice) {
  OwnedTensor wide = random_tensor(g, h, w, k + (as_slice ? 48 : 0));
  TensorView logits = as_slice ? slice(wide.view, 32, k) : wide.view;
  if (!as_slice) logits.channels = k;
  plant_ties(g, logits);
  const int label_stride = w + 3;
  std::vector<Label> labels(static_cast<std::size_t>(h) * label_stride, static_cast<Label>(77));
  for_row_chunks(h, [&](RowRange r) { kernels::argmax_channels<Label>(logits, labels.data(), label_stride, r); });
  int wrong = 0, guard = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int ref = reference_argmax(logits.pixel(y, x), k);
      if (labels[y * label_stride + x] != static_cast<Label>(ref) && wrong++ < 5)
        FAIL_CHECK("argmax k" << k << " at (" << y << "," << x << "): " << +labels[y * label_stride + x] << " vs " << ref);
    }
    for (int x = w; x < label_stride; ++x) guard += labels[y * label_stride + x] != static_cast<Label>(77);
  }
  CHECK_MESSAGE(wrong == 0, "argmax k" << k << (as_slice ? " slice" : "") << ": " << wrong << " wrong labels");
  CHECK_MESSAGE(guard == 0, "argmax k" << k << ": wrote past the row");
}

}  // namespace

TEST_CASE("argmax_channels: first maximum wins, pad lanes never win, every label type") {
  auto g = rng(501);
  for (int k : {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 19, 31, 33, 150}) {
    for (bool s : {false, true}) {
      check_argmax<std::int32_t>(g, 13, 11, k, s);
      check_argmax<std::uint8_t>(g, 13, 11, k, s);
    }
    check_argmax<std::uint16_t>(g, 1, 1, k, false);
  }
  check_argmax<std::uint8_t>(g, 64, 64, 150, false);
  check_argmax<std::int32_t>(g, 97, 131, 19, false);
}

TEST_CASE("argmax_channels: all channels equal gives label 0") {
  OwnedTensor t(3, 5, 150);
  t.buffer.fill(0.5f);
  std::vector<std::int32_t> labels(15, -1);
  kernels::argmax_channels<std::int32_t>(t.view, labels.data(), 5, t.view.all_rows());
  for (std::int32_t l : labels) CHECK(l == 0);
}

TEST_CASE("present_classes: sorted distinct labels") {
  auto g = rng(502);
  for (int k : {1, 2, 19, 150, 255}) {
    std::uniform_int_distribution<int> pick(0, k - 1);
    std::set<int> chosen;
    for (int i = 0; i < std::min(k, 12); ++i) chosen.insert(pick(g));
    const std::vector<int> pool(chosen.begin(), chosen.end());
    std::uniform_int_distribution<int> which(0, static_cast<int>(pool.size()) - 1);
    const int h = 13, w = 11, stride = 16;
    std::vector<std::uint8_t> l8(h * stride, 0);
    std::vector<std::int32_t> l32(h * stride, 0);
    std::set<int> expected;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const int l = pool[which(g)];
        expected.insert(l);
        l8[y * stride + x] = static_cast<std::uint8_t>(l);
        l32[y * stride + x] = l;
      }
    for (int x = w; x < stride; ++x) l8[x] = 0, l32[x] = 0;  // outside the rows: must be ignored either way
    std::vector<std::int32_t> classes(k, -5);
    const int n8 = kernels::present_classes(l8.data(), h, w, stride, k, classes.data());
    CHECK(std::vector<int>(classes.begin(), classes.begin() + n8) == std::vector<int>(expected.begin(), expected.end()));
    const int n32 = kernels::present_classes(l32.data(), h, w, stride, k, classes.data());
    CHECK(std::vector<int>(classes.begin(), classes.begin() + n32) == std::vector<int>(expected.begin(), expected.end()));
  }
}

TEST_CASE("gather_channels: a subset of channels into a compact tensor") {
  auto g = rng(503);
  OwnedTensor in = random_tensor(g, 13, 11, 150);
  for (const std::vector<std::int32_t>& list :
       {std::vector<std::int32_t>{0}, std::vector<std::int32_t>{149}, std::vector<std::int32_t>{0, 5, 17, 149},
        std::vector<std::int32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}}) {
    const int n = static_cast<int>(list.size());
    OwnedTensor out(13, 11, n);
    for_row_chunks(13, [&](RowRange r) { kernels::gather_channels(in.view, list.data(), out.view, r); });
    int wrong = 0;
    for (int y = 0; y < 13; ++y)
      for (int x = 0; x < 11; ++x)
        for (int c = 0; c < out.view.stride; ++c)
          wrong += out.at(y, x, c) != (c < n ? in.at(y, x, list[c]) : 0.0f);
    CHECK_MESSAGE(wrong == 0, "gather of " << n << " channels: " << wrong << " wrong values");
  }
}

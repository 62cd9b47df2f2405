// resize.hpp against a double-precision model of Paddle's bilinear rule.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "ops_test_util.hpp"
#include "pms/kernels/resize.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using pms::test::ops::for_row_chunks;
using pms::test::ops::ref_bilinear;
using pms::test::ops::slice;

constexpr Tolerance kResizeTol{1e-5, 1e-6};

struct Case {
  int ih, iw, oh, ow;
  float scale;  // 0: size target
  const char* what;
};

// Sizes that exercise every rule: copy, out == 1, in == 1, scale 0.5 on odd, on large and on
// extent 2/3 inputs, up x2 and x16, down, and non-integer ratios.
const Case kCases[] = {
    {1, 1, 1, 1, 0, "1x1 copy"},
    {13, 11, 13, 11, 0, "13x11 copy"},
    {1, 1, 5, 7, 0, "in 1x1 up"},
    {13, 11, 1, 1, 0, "out 1x1"},
    {13, 11, 1, 6, 0, "out height 1"},
    {13, 11, 6, 5, 0.5f, "scale 0.5 odd"},
    {2, 3, 1, 1, 0.5f, "scale 0.5 extent 2x3"},
    {3, 9, 1, 4, 0.5f, "scale 0.5 extent 3"},
    {9, 2, 4, 1, 0.5f, "scale 0.5 extent 2 width"},
    {64, 64, 32, 32, 0.5f, "scale 0.5 Tiny's x8 at 512x512"},
    {97, 131, 48, 65, 0.5f, "scale 0.5 odd large"},
    {16, 16, 32, 32, 0, "up x2"},
    {13, 11, 26, 22, 0, "up x2 odd"},
    {7, 5, 112, 80, 0, "up x16"},
    {97, 131, 13, 11, 0, "down 97x131 to 13x11"},
    {16, 16, 33, 31, 0, "non-integer ratio"},
    {8, 8, 16, 16, 0, "trans2 upsample"},
};

// Output extent of a scale-factor resize: Paddle's int(in * scale) (floor for positive values).
int scaled_extent(int in, float scale) { return static_cast<int>(static_cast<float>(in) * scale); }

}  // namespace

TEST_CASE("resize: Paddle bilinear, size targets and scale factors") {
  auto g = rng(201);
  for (const Case& k : kCases) {
    for (int c : {1, 3, 4, 7, 8, 9, 15, 16, 17, 64}) {
      const int oh = k.scale > 0 ? scaled_extent(k.ih, k.scale) : k.oh, ow = k.scale > 0 ? scaled_extent(k.iw, k.scale) : k.ow;
      REQUIRE(oh == k.oh);
      REQUIRE(ow == k.ow);
      OwnedTensor in = random_tensor(g, k.ih, k.iw, c);
      OwnedTensor out(oh, ow, c);
      const kernels::ResizeMode mode = k.scale > 0 ? kernels::ResizeMode::scale(k.scale) : kernels::ResizeMode::to_size();
      for_row_chunks(oh, [&](RowRange r) { kernels::resize_bilinear(in.view, out.view, mode, r); });
      check_tensor(out.view, [&](int y, int x, int ch) { return ref_bilinear(in.view, oh, ow, k.scale, k.scale, y, x, ch); },
                   kResizeTol, std::string("resize ") + k.what + " c" + std::to_string(c));
    }
  }
}

TEST_CASE("resize: scaled_extent and the out == 1 rule") {
  CHECK(scaled_extent(13, 0.5f) == 6);
  CHECK(scaled_extent(3, 0.5f) == 1);
  CHECK(scaled_extent(2, 0.5f) == 1);
  CHECK(scaled_extent(64, 0.5f) == 32);
  // out == 1 samples index 0 (PyTorch would take the centre).
  const kernels::ResizeAxis a(13, 1, kernels::ResizeMode::to_size());
  CHECK(a(0).i0 == 0);
  CHECK(a(0).w0 == 1.0f);
  // Scale 0.5 has ratio 2 even for odd input: src = 2 * dst + 0.5.
  const kernels::ResizeAxis s(13, 6, kernels::ResizeMode::scale(0.5f));
  CHECK(s(5).i0 == 10);
  CHECK(s(5).i1 == 11);
  CHECK(s(5).w1 == 0.5f);
}

TEST_CASE("resize: accumulate, channel-slice input, the network's channel counts") {
  auto g = rng(202);
  struct Net {
    int ih, iw, oh, ow, c;
  };
  // SEA upsample (trans1/trans2 of Tiny and Base at 512), AAM x32 up, Base x16 up.
  const Net nets[] = {{16, 16, 32, 32, 64}, {8, 8, 16, 16, 128}, {16, 16, 32, 32, 128}, {8, 8, 16, 16, 192},
                      {16, 16, 32, 32, 512}, {32, 32, 64, 64, 128}, {17, 23, 33, 45, 64}};
  for (const Net& n : nets) {
    OwnedTensor in = random_tensor(g, n.ih, n.iw, n.c);
    OwnedTensor out = random_tensor(g, n.oh, n.ow, n.c);
    OwnedTensor before(n.oh, n.ow, n.c);
    std::memcpy(before.buffer.data(), out.buffer.data(), out.buffer.size() * sizeof(float));
    for_row_chunks(n.oh, [&](RowRange r) { kernels::resize_bilinear<kernels::Accumulate>(in.view, out.view, kernels::ResizeMode::to_size(), r); });
    check_tensor(out.view,
                 [&](int y, int x, int ch) { return double(before.at(y, x, ch)) + ref_bilinear(in.view, n.oh, n.ow, 0, 0, y, x, ch); },
                 kResizeTol, "resize accumulate c" + std::to_string(n.c));
  }
  for (int c : {1, 17, 64}) {  // a slice of a wider tensor, as v inside qkv
    OwnedTensor wide = random_tensor(g, 9, 7, 32 + padded_channels(c) + 16);
    const ConstTensorView in = slice<const float>(wide.view, 32, c);
    OwnedTensor out(18, 14, c);
    for_row_chunks(18, [&](RowRange r) { kernels::resize_bilinear(in, out.view, kernels::ResizeMode::to_size(), r); });
    check_tensor(out.view, [&](int y, int x, int ch) { return ref_bilinear(in, 18, 14, 0, 0, y, x, ch); }, kResizeTol,
                 "resize slice c" + std::to_string(c));
  }
}

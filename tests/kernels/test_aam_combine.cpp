// aam_combine_head_rows against a scalar double reference, for both AAM forms, on odd sizes and
// channel slices of wider tensors (as the merged [embedding | vote] convs produce), with the
// x16 and x32 inputs at their own resolutions, resized on the fly: identity, upsampling by
// 2, 4 and non-integer factors, slight downscales (Tiny's odd 1/8 sizes) and out == 1 axes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "pms/kernels/aam_combine.hpp"
#include "pms/kernels/resize.hpp"
#include "test_support.hpp"

namespace {

using namespace pms;
using pms::test::OwnedTensor;

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Size {
  int h, w;
};

struct Case {
  Size out, g16, g32;  // output size; grids of the x16 and x32 inputs
};

// Paddle's bilinear sample of channel ch of t at output pixel (y, x), in double, with the
// sampling positions and weights of ResizeAxis (spec 9.1).
double sample(const OwnedTensor& t, const kernels::GridSampling& g, int y, int x, int ch) {
  const kernels::AxisSample sy = g.y(y), sx = g.x(x);
  if (g.identity()) return t.at(y, x, ch);
  return double(t.at(sy.i0, sx.i0, ch)) * sy.w0 * sx.w0 + double(t.at(sy.i1, sx.i0, ch)) * sy.w1 * sx.w0 +
         double(t.at(sy.i0, sx.i1, ch)) * sy.w0 * sx.w1 + double(t.at(sy.i1, sx.i1, ch)) * sy.w1 * sx.w1;
}

// Rows `rows` of out, a tensor of the output grid's size (e8's); sum_all picks Tiny's form.
void combine_into(bool sum_all, const kernels::AamInputs& in, const kernels::HeadAffine& head, TensorView out, RowRange rows,
                  float* scratch) {
  REQUIRE(in.e8.height == out.height);
  REQUIRE(in.e8.width == out.width);
  const auto out_row = [&](int y) { return out.row(y); };
  if (sum_all)
    kernels::aam_combine_head_rows<true>(in, head, out_row, out.stride, rows, scratch);
  else
    kernels::aam_combine_head_rows<false>(in, head, out_row, out.stride, rows, scratch);
}

std::string name(bool sum_all, const Case& k) {
  std::ostringstream s;
  s << (sum_all ? "aam sum_all" : "aam votes_x8") << " out " << k.out.h << "x" << k.out.w << " x16 " << k.g16.h << "x"
    << k.g16.w << " x32 " << k.g32.h << "x" << k.g32.w;
  return s.str();
}

void check_combine(bool sum_all, const Case& k, std::uint64_t salt) {
  constexpr int c = 48;  // a multiple of 16, as the 256 of the network
  const int h = k.out.h, w = k.out.w;
  auto g = pms::test::rng(salt);
  // Merged tensors [embedding | vote] of 2c channels, as the network's 1x1 convs write them.
  OwnedTensor m8 = pms::test::random_tensor(g, h, w, 2 * c, -3, 3);
  OwnedTensor m16 = pms::test::random_tensor(g, k.g16.h, k.g16.w, 2 * c, -3, 3);
  OwnedTensor m32 = pms::test::random_tensor(g, k.g32.h, k.g32.w, 2 * c, 0, 1);  // vote half already a sigmoid
  pms::test::Buffer scale(c), shift(c);
  for (int i = 0; i < c; ++i) scale[i] = pms::test::uniform(g, -2, 2), shift[i] = pms::test::uniform(g, -1, 1);

  auto slice = [](const OwnedTensor& t, int begin) { return channel_slice(ConstTensorView(t.view), begin, c); };
  kernels::AamInputs in{};
  in.e8 = slice(m8, 0);
  in.e32 = slice(m32, 0);
  in.s32 = slice(m32, c);
  in.v16 = slice(m16, c);
  if (sum_all) in.e16 = slice(m16, 0), in.v8 = slice(m8, c);
  in.at16 = kernels::GridSampling::of(k.g16.h, k.g16.w, h, w);
  in.at32 = kernels::GridSampling::of(k.g32.h, k.g32.w, h, w);
  const kernels::HeadAffine head{scale.data(), shift.data()};

  OwnedTensor out(h, w, c);
  pms::test::Buffer scratch(std::max<std::size_t>(1, kernels::aam_combine_scratch_floats(in)));
  const int split = h / 2;
  combine_into(sum_all, in, head, out.view, {0, split}, scratch.data());
  combine_into(sum_all, in, head, out.view, {split, h}, scratch.data());

  auto ref = [&](int y, int x, int ch) {
    const double e8 = m8.at(y, x, ch), v8 = m8.at(y, x, c + ch);
    const double e16 = sample(m16, in.at16, y, x, ch), v16 = sample(m16, in.at16, y, x, c + ch);
    const double e32 = sample(m32, in.at32, y, x, ch), s32 = sample(m32, in.at32, y, x, c + ch);
    const double aam = sum_all ? sig(v8) * sig(v16) * s32 * (e8 + e16) + e32 : sig(v16) * s32 * e8 + e32;
    return std::max(0.0, scale[ch] * aam + shift[ch]);
  };
  // Sigmoid goes through exp (a few ulp), the resize through 4 float products, the result
  // through two FMAs.
  const std::string what = name(sum_all, k);
  pms::test::check_tensor(out.view, ref, pms::test::Tolerance{1e-5, 1e-5}, what);

  // Rows are independent: ranges of two rows written into a two-row tile (as the AAM layer
  // does, in any thread split) give the same bits.
  OwnedTensor rows(h, w, c), tile(2, w, c);
  for (int y0 = 0; y0 < h; y0 += 2) {
    const int n = std::min(2, h - y0);
    const auto tile_row = [&](int y) { return tile.view.row(y - y0); };
    if (sum_all)
      kernels::aam_combine_head_rows<true>(in, head, tile_row, tile.view.stride, {y0, y0 + n}, scratch.data());
    else
      kernels::aam_combine_head_rows<false>(in, head, tile_row, tile.view.stride, {y0, y0 + n}, scratch.data());
    std::memcpy(rows.view.row(y0), tile.view.data, static_cast<std::size_t>(n) * w * tile.view.stride * sizeof(float));
  }
  CHECK_MESSAGE(std::memcmp(rows.view.data, out.view.data, out.view.size() * sizeof(float)) == 0,
                what << ": row split changes the result");

  // Same values (within rounding: the combine blends separably, resize_bilinear in Paddle's
  // order of four products) as materialising the resizes and combining at the output size.
  OwnedTensor r16(h, w, 2 * c), r32(h, w, 2 * c);
  kernels::resize_bilinear(ConstTensorView(m16.view), r16.view, kernels::ResizeMode::to_size(), {0, h});
  kernels::resize_bilinear(ConstTensorView(m32.view), r32.view, kernels::ResizeMode::to_size(), {0, h});
  kernels::AamInputs mat = in;
  mat.e32 = slice(r32, 0), mat.s32 = slice(r32, c), mat.v16 = slice(r16, c);
  if (sum_all) mat.e16 = slice(r16, 0);
  mat.at16 = mat.at32 = kernels::GridSampling::of(h, w, h, w);
  OwnedTensor out_mat(h, w, c);
  combine_into(sum_all, mat, head, out_mat.view, {0, h}, nullptr);  // identity grids: no scratch
  pms::test::check_tensor(
      out.view, [&](int y, int x, int ch) { return double(out_mat.at(y, x, ch)); }, pms::test::Tolerance{2e-6, 2e-6},
      what + " vs materialised resize");
}

}  // namespace

TEST_CASE("aam_combine_head_rows matches the spec's formulas") {
  const Case cases[] = {
      {{1, 1}, {1, 1}, {1, 1}},       // all identity
      {{13, 11}, {13, 11}, {13, 11}},  // all identity, odd
      {{32, 17}, {32, 17}, {32, 17}},
      {{32, 17}, {32, 17}, {16, 9}},    // Tiny, even 1/8 size: x16 identity, x32 ~2x
      {{16, 12}, {8, 6}, {4, 3}},       // Base: factor 2 (x16) and 4 (x32)
      {{64, 64}, {32, 32}, {16, 16}},   // Base at 512x512
      {{13, 11}, {7, 6}, {4, 3}},       // non-integer upsampling (odd input sizes)
      {{6, 5}, {7, 6}, {4, 3}},         // Tiny, odd 1/8 size: x16 one larger than the output
      {{1, 9}, {3, 5}, {2, 3}},         // out == 1 rows: index 0
      {{7, 1}, {4, 2}, {2, 2}},         // out == 1 columns
      {{1, 1}, {2, 3}, {1, 2}},         // out == 1 on both axes
      {{5, 70}, {3, 35}, {2, 18}},      // one chunk of column samples for the whole call
      {{3, 131}, {2, 66}, {1, 33}},     // wider than one 128-column chunk: samples per chunk and row
      {{9, 9}, {9, 9}, {3, 3}},         // x16 identity, x32 factor 3
      {{10, 8}, {5, 4}, {10, 8}},       // x16 sampled, x32 identity
  };
  std::uint64_t salt = 11;
  for (bool sum_all : {true, false})
    for (const Case& k : cases) check_combine(sum_all, k, salt++);
}

// aam_combine_head against a scalar double reference, for both AAM forms, on odd sizes and
// channel slices of wider tensors (as the merged [embedding | vote] convs produce).
#include <doctest/doctest.h>

#include <cmath>

#include "pms/kernels/aam_combine.hpp"
#include "test_support.hpp"

namespace {

using namespace pms;
using pms::test::OwnedTensor;

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

void check_combine(bool sum_all, int h, int w, std::uint64_t salt) {
  constexpr int c = 48;  // a multiple of 16, as the 256 of the network
  auto g = pms::test::rng(salt);
  // Merged tensors [embedding | vote] of 2c channels, as the network's 1x1 convs write them.
  OwnedTensor m8 = pms::test::random_tensor(g, h, w, 2 * c, -3, 3);
  OwnedTensor m16 = pms::test::random_tensor(g, h, w, 2 * c, -3, 3);
  OwnedTensor m32 = pms::test::random_tensor(g, h, w, 2 * c, 0, 1);  // vote half already a sigmoid
  pms::test::Buffer scale(c), shift(c);
  for (int i = 0; i < c; ++i) scale[i] = pms::test::uniform(g, -2, 2), shift[i] = pms::test::uniform(g, -1, 1);

  auto slice = [](const OwnedTensor& t, int begin) { return channel_slice(ConstTensorView(t.view), begin, c); };
  kernels::AamInputs in{};
  in.e8 = slice(m8, 0);
  in.e32 = slice(m32, 0);
  in.s32 = slice(m32, c);
  in.v16 = slice(m16, c);
  if (sum_all) in.e16 = slice(m16, 0), in.v8 = slice(m8, c);

  OwnedTensor out(h, w, c);
  const int split = h / 2;
  kernels::aam_combine_head(in, {scale.data(), shift.data()}, out.view, {0, split});
  kernels::aam_combine_head(in, {scale.data(), shift.data()}, out.view, {split, h});

  auto ref = [&](int y, int x, int ch) {
    const double e8 = m8.at(y, x, ch), e16 = m16.at(y, x, ch), e32 = m32.at(y, x, ch), s32 = m32.at(y, x, c + ch);
    const double v8 = m8.at(y, x, c + ch), v16 = m16.at(y, x, c + ch);
    const double aam = sum_all ? sig(v8) * sig(v16) * s32 * (e8 + e16) + e32 : sig(v16) * s32 * e8 + e32;
    return std::max(0.0, scale[ch] * aam + shift[ch]);
  };
  // Sigmoid goes through exp (a few ulp) and the result through two FMAs.
  pms::test::check_tensor(out.view, ref, pms::test::Tolerance{1e-5, 1e-5}, sum_all ? "aam sum_all" : "aam votes_x8");
}

}  // namespace

TEST_CASE("aam_combine_head matches the spec's formulas") {
  for (bool sum_all : {true, false}) {
    check_combine(sum_all, 1, 1, 11);
    check_combine(sum_all, 13, 11, 12);
    check_combine(sum_all, 32, 17, 13);
  }
}

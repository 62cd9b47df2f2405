// depthwise_conv against a double-accumulating oracle: K = 1, 3, 5, strides 1 and 2, sizes
// from 1x1 up (every border/interior/tail combination), channel counts around the vector
// width and the network's, row-range splits; with FusedAlways, against its exact float sequence.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "conv_test_support.hpp"
#include "pms/kernels/depthwise_conv.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using kernels::DepthwiseWeights;
using pms::test::conv::ref_act;

// A random depthwise problem: h x w x c input in [-2, 2], K x K weights [K*K][P(c)] (zero in
// pad lanes), bias in [-0.5, 0.5], and an output of the stride-S extent.
template <int K, int S>
struct DepthwiseCase {
  int stride, oh, ow;
  OwnedTensor in;
  Buffer weight;
  Buffer bias;
  OwnedTensor out;
  DepthwiseCase(int h, int w, int c, std::uint64_t salt)
      : stride(padded_channels(c)), oh((h + S - 1) / S), ow((w + S - 1) / S), in(h, w, c),
        weight(static_cast<std::size_t>(K) * K * stride), out(oh, ow, c) {
    auto g = rng(salt);
    in = random_tensor(g, h, w, c, -2.0f, 2.0f);
    for (int t = 0; t < K * K; ++t)
      for (int ch = 0; ch < stride; ++ch) weight[t * stride + ch] = ch < c ? uniform(g) : 0.0f;
    bias = conv::random_buffer(g, stride, -0.5f, 0.5f);
  }
  DepthwiseWeights weights(int c) const { return {weight.data(), bias.data(), c}; }
};

template <int K, int S, class Act>
void check_depthwise(int h, int w, int c, int splits, std::uint64_t salt) {
  DepthwiseCase<K, S> t(h, w, c, salt);
  const int stride = t.stride, oh = t.oh, ow = t.ow;
  constexpr int P = (K - 1) / 2;
  const OwnedTensor& in = t.in;
  const Buffer &weight = t.weight, &bias = t.bias;
  OwnedTensor& out = t.out;

  const DepthwiseWeights dw = t.weights(c);
  for (int s = 0; s < splits; ++s)
    kernels::depthwise_conv<K, S, Act>(in.view, dw, out.view, RowRange{oh * s / splits, oh * (s + 1) / splits});

  std::vector<double> ref(static_cast<std::size_t>(oh) * ow * c);
  double max_sum_abs = 0.0;
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      for (int ch = 0; ch < c; ++ch) {
        double acc = bias[ch], sum_abs = std::fabs(bias[ch]);
        for (int ky = 0; ky < K; ++ky)
          for (int kx = 0; kx < K; ++kx) {
            const int iy = y * S - P + ky, ix = x * S - P + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const double t = static_cast<double>(in.at(iy, ix, ch)) * weight[(ky * K + kx) * stride + ch];
            acc += t, sum_abs += std::fabs(t);
          }
        ref[(static_cast<std::size_t>(y) * ow + x) * c + ch] = ref_act<Act>(acc);
        max_sum_abs = std::max(max_sum_abs, sum_abs);
      }
  const Tolerance tol{1e-5, conv::summation_abs_tolerance(K * K, max_sum_abs)};
  const std::string what = "dwconv k" + std::to_string(K) + "s" + std::to_string(S) + "/" + Act::name + " c" +
                           std::to_string(c) + " h" + std::to_string(h) + "w" + std::to_string(w) + " splits " +
                           std::to_string(splits);
  check_tensor(out.view, [&](int y, int x, int ch) { return ref[(static_cast<std::size_t>(y) * ow + x) * c + ch]; }, tol,
               what);
}

template <int K, int S, class Act>
void sweep(std::uint64_t salt) {
  // Tiny extents (no interior at all), just-interior ones, and widths that leave every
  // tile tail (8, 4, 2, 1) plus odd sizes for the ceil(H/2) border of stride 2.
  const int sizes[][2] = {{1, 1}, {1, 2}, {2, 1}, {2, 3}, {3, 4}, {5, 6}, {6, 5}, {13, 11}, {4, 29}, {9, 31}};
  for (const auto& hw : sizes)
    for (int c : {1, 3, 4, 7, 8, 9, 15, 16, 17}) check_depthwise<K, S, Act>(hw[0], hw[1], c, 1, salt++);
  check_depthwise<K, S, Act>(97, 131, 24, 3, salt++);
  check_depthwise<K, S, Act>(16, 17, 96, 2, salt++);
}

// With simd::FusedAlways (the int8 network's rounding) every output is a fixed float
// sequence: acc = bias, then acc = fma(in, w, acc) for each tap inside the image in (ky, kx)
// order, one rounding each, then Act. Checked bit for bit (== on floats) against that
// sequence written with std::fma: the kernel's vector widths, tiles and tails, on every
// ISA, give the same floats (weights/FORMAT.md 7.8).
template <int K, int S, class Act>
void check_depthwise_fused_sequence(int h, int w, int c, std::uint64_t salt) {
  DepthwiseCase<K, S> t(h, w, c, salt);
  const int stride = t.stride, oh = t.oh, ow = t.ow;
  constexpr int P = (K - 1) / 2;
  const OwnedTensor& in = t.in;
  const Buffer& weight = t.weight;
  OwnedTensor& out = t.out;
  kernels::depthwise_conv<K, S, Act, simd::FusedAlways>(in.view, t.weights(c), out.view, out.view.all_rows());
  int mismatches = 0;
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      for (int ch = 0; ch < c; ++ch) {
        float acc = t.bias[ch];
        for (int ky = 0; ky < K; ++ky)
          for (int kx = 0; kx < K; ++kx) {
            const int iy = y * S - P + ky, ix = x * S - P + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) acc = std::fma(in.at(iy, ix, ch), weight[(ky * K + kx) * stride + ch], acc);
          }
        mismatches += out.view.pixel(y, x)[ch] != Act::apply(acc);
      }
  CAPTURE(K);
  CAPTURE(S);
  CAPTURE(c);
  CAPTURE(h);
  CAPTURE(w);
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("depthwise_conv with FusedAlways: one rounding per tap, in kernel order, bit for bit") {
  const int sizes[][2] = {{1, 1}, {2, 3}, {5, 6}, {13, 11}, {9, 31}};
  std::uint64_t salt = 6000;
  for (const auto& hw : sizes)
    for (int c : {1, 7, 16, 17, 40}) {
      check_depthwise_fused_sequence<3, 1, act::ReLU6>(hw[0], hw[1], c, salt++);
      check_depthwise_fused_sequence<3, 2, act::HardSwish>(hw[0], hw[1], c, salt++);
      check_depthwise_fused_sequence<5, 2, act::Identity>(hw[0], hw[1], c, salt++);
    }
}

TEST_CASE("depthwise_conv 3x3: strides 1 and 2") {
  sweep<3, 1, act::ReLU>(1000);
  sweep<3, 2, act::HardSwish>(2000);
}

TEST_CASE("depthwise_conv 5x5: strides 1 and 2") {
  sweep<5, 1, act::HardSwish>(3000);
  sweep<5, 2, act::Identity>(4000);
}

TEST_CASE("depthwise_conv 1x1 (the head's per-channel affine) and the network's channel counts") {
  sweep<1, 1, act::ReLU>(5000);
  check_depthwise<1, 1, act::ReLU>(32, 32, 256, 2, 5100);
  check_depthwise<3, 1, act::ReLU6>(16, 16, 256, 3, 5101);   // SEA detail dwconv
  check_depthwise<3, 1, act::ReLU6>(8, 8, 768, 1, 5102);
  check_depthwise<3, 2, act::Identity>(32, 32, 64, 2, 5103);  // SEA stride_conv
  check_depthwise<5, 2, act::HardSwish>(31, 33, 160, 2, 5104);
  check_depthwise<5, 1, act::HardSwish>(15, 17, 240, 3, 5105);
  check_depthwise<3, 2, act::HardSwish>(33, 31, 384, 1, 5106);
  check_depthwise<5, 2, act::HardSwish>(17, 16, 768, 2, 5107);
}

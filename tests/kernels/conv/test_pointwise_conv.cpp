// pointwise_conv against a double-accumulating oracle: channel counts around the vector
// width and the network's real ones, odd pixel counts (every tile tail), several k-passes
// and pixel blocks, row-range splits, InputAct and residual; and input channels scaled by
// scale_input_channels (the folded squeeze-excite gate).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "conv_test_support.hpp"
#include "pms/kernels/pointwise_conv.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using kernels::PointwiseExtras;
using kernels::PointwiseWeights;
using pms::test::conv::ref_act;

struct PwCase {
  int h, w, cin, cout;
  bool scale = false;  // run on scale_input_channels(weights, scale), in split channel ranges
  bool residual = false;
  int splits = 1;  // number of row sub-ranges the kernel is run over
};

template <class Act, class InputAct = act::Identity>
void check_pointwise(const PwCase& pc, std::uint64_t salt) {
  auto g = rng(salt);
  const int n = padded_channels(pc.cout);
  OwnedTensor in = random_tensor(g, pc.h, pc.w, pc.cin, -2.0f, 2.0f);
  // Weights scaled so outputs stay O(1) for every cin; the pad columns hold finite
  // values too (they reach only the output's pad lanes).
  const float wscale = 1.0f / std::sqrt(static_cast<float>(pc.cin));
  Buffer weight = conv::random_buffer(g, static_cast<std::size_t>(pc.cin) * n, -wscale, wscale);
  Buffer bias = conv::random_buffer(g, n, -0.5f, 0.5f);
  Buffer scale = conv::random_buffer(g, std::max(pc.cin, 1), 0.0f, 1.0f);
  OwnedTensor res = random_tensor(g, pc.h, pc.w, pc.cout);
  OwnedTensor out(pc.h, pc.w, pc.cout);

  PointwiseWeights pw{weight.data(), bias.data(), pc.cin, pc.cout};
  Buffer scaled(static_cast<std::size_t>(pc.cin) * n);
  if (pc.scale) {
    kernels::scale_input_channels(pw, scale.data(), scaled.data(), RowRange{0, pc.cin / 2});
    kernels::scale_input_channels(pw, scale.data(), scaled.data(), RowRange{pc.cin / 2, pc.cin});
    pw.weight = scaled.data();
  }
  PointwiseExtras extras;
  if (pc.residual) extras.residual = res.view;

  // Row sub-ranges: uneven cuts so that each range has its own pixel tail.
  for (int s = 0; s < pc.splits; ++s) {
    const RowRange r{pc.h * s / pc.splits, pc.h * (s + 1) / pc.splits};
    kernels::pointwise_conv<Act, InputAct>(in.view, pw, out.view, r, extras);
  }

  std::vector<double> ref(static_cast<std::size_t>(pc.h) * pc.w * pc.cout);
  double max_sum_abs = 0.0;
  for (int y = 0; y < pc.h; ++y)
    for (int x = 0; x < pc.w; ++x)
      for (int co = 0; co < pc.cout; ++co) {
        double acc = bias[co], sum_abs = std::fabs(bias[co]);
        for (int ci = 0; ci < pc.cin; ++ci) {
          double a = InputAct::apply(in.at(y, x, ci));
          if (pc.scale) a *= scale[ci];
          const double t = a * weight[static_cast<std::size_t>(ci) * n + co];
          acc += t, sum_abs += std::fabs(t);
        }
        double v = ref_act<Act>(acc);
        if (pc.residual) v += res.at(y, x, co);
        ref[(static_cast<std::size_t>(y) * pc.w + x) * pc.cout + co] = v;
        max_sum_abs = std::max(max_sum_abs, sum_abs);
      }
  const Tolerance tol{1e-5, conv::summation_abs_tolerance(pc.cin, max_sum_abs)};
  const std::string what = std::string("pointwise ") + Act::name + "/in-" + InputAct::name + " c" +
                           std::to_string(pc.cin) + "x" + std::to_string(pc.cout) + " h" + std::to_string(pc.h) + "w" +
                           std::to_string(pc.w) + (pc.scale ? " scale" : "") + (pc.residual ? " residual" : "") +
                           " splits " + std::to_string(pc.splits);
  check_tensor(out.view, [&](int y, int x, int c) { return ref[(static_cast<std::size_t>(y) * pc.w + x) * pc.cout + c]; },
               tol, what);
}

}  // namespace

TEST_CASE("pointwise_conv: channel counts around the vector width, 13x11 and 1x1") {
  const int counts[] = {1, 3, 4, 7, 8, 9, 15, 16, 17};
  std::uint64_t salt = 100;
  for (int cin : counts)
    for (int cout : counts) {
      check_pointwise<act::Identity>({13, 11, cin, cout}, salt++);
      check_pointwise<act::HardSwish>({1, 1, cin, cout}, salt++);
    }
}

TEST_CASE("pointwise_conv: the network's channel counts") {
  struct Shape { int cin, cout; };
  // expand / linear / SEA / AAM / head shapes of Tiny and Base, including cin > every
  // ISA's panel depth (several k-passes) and couts with every panel remainder.
  const Shape shapes[] = {{16, 16},  {16, 64},  {24, 96},   {32, 48},  {64, 32},  {160, 64}, {64, 240},
                          {384, 128}, {128, 384}, {256, 150}, {192, 768}, {768, 192}, {128, 512}, {48, 24},
                          {256, 19},  {256, 11}};
  std::uint64_t salt = 300;
  for (const Shape& s : shapes) {
    check_pointwise<act::HardSwish>({13, 11, s.cin, s.cout}, salt++);
    check_pointwise<act::ReLU>({3, 7, s.cin, s.cout, false, false, 2}, salt++);
  }
}

TEST_CASE("pointwise_conv: large images and row-range splits") {
  check_pointwise<act::HardSwish>({97, 131, 24, 96, false, false, 3}, 500);
  check_pointwise<act::Identity>({97, 131, 160, 64, true, true, 2}, 501);
  check_pointwise<act::ReLU>({97, 131, 16, 16, false, true, 3}, 502);
  check_pointwise<act::Identity>({31, 37, 384, 128, true, false, 3}, 503);  // several pixel blocks
}

TEST_CASE("pointwise_conv: squeeze-excite scale folded into the weights, input activation and residual") {
  std::uint64_t salt = 600;
  for (int cin : {7, 16, 17, 96, 256})
    for (int cout : {9, 24, 32, 64}) {
      check_pointwise<act::Identity>({13, 11, cin, cout, true, false}, salt++);
      check_pointwise<act::Identity>({13, 11, cin, cout, false, true}, salt++);
      check_pointwise<act::HSigmoid, act::ReLU6>({13, 11, cin, cout, false, false, 2}, salt++);
      check_pointwise<act::ReLU6, act::ReLU6>({1, 16, cin, cout, true, true}, salt++);
    }
  check_pointwise<act::Identity, act::ReLU6>({16, 1, 256, 256}, salt++);  // proj_encode_row
  check_pointwise<act::Sigmoid>({13, 11, 128, 512, false, false, 2}, salt++);
  check_pointwise<act::SEGate>({1, 1, 96, 24}, salt++);
  check_pointwise<act::ReLU6>({13, 11, 768, 32, true, true, 3}, salt++);
}

TEST_CASE("pointwise_conv: a last vector of at most half the lanes (computed as a half on AVX-512)") {
  // Over several reduction passes (partial sums of the half kept in the output), with the
  // residual and the folded scale, as a lone half (cout <= 8) and after whole vectors.
  std::uint64_t salt = 700;
  check_pointwise<act::HardSwish>({13, 11, 600, 24, false, true, 2}, salt++);
  check_pointwise<act::Identity>({5, 7, 1100, 5, true, true}, salt++);
  check_pointwise<act::Sigmoid>({13, 11, 300, 150, false, false, 2}, salt++);
  check_pointwise<act::ReLU>({2, 9, 520, 72, true, false}, salt++);
  check_pointwise<act::HSigmoid, act::ReLU6>({7, 3, 33, 40, false, true}, salt++);
}

// squeeze_excite.hpp against a double-precision reference of spec 4.1.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops_test_util.hpp"
#include "pms/kernels/squeeze_excite.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using pms::test::ops::for_row_chunks;
using pms::test::ops::slice;

constexpr Tolerance kGateTol{1e-5, 1e-6};

// Weights in the packed layout; pad columns and pad bias lanes hold random finite values,
// which must not reach a real gate lane. Weights are scaled by 1/sqrt(fan-in) like trained
// ones: with unit weights at C = 768 the pre-activations reach ~400 and cancel, and no
// float dot product meets a 1e-5 relative tolerance on what is left.
struct SeWeights {
  Buffer w1, b1, w2, b2;
  kernels::SqueezeExciteWeights view;
  SeWeights(std::mt19937_64& g, int c, int s)
      : w1(static_cast<std::size_t>(c) * padded_channels(s)), b1(padded_channels(s)),
        w2(static_cast<std::size_t>(s) * padded_channels(c)), b2(padded_channels(c)) {
    const float a1 = 1.0f / std::sqrt(float(c)), a2 = 1.0f / std::sqrt(float(s));
    for (std::size_t i = 0; i < w1.size(); ++i) w1[i] = uniform(g, -a1, a1);
    for (std::size_t i = 0; i < w2.size(); ++i) w2[i] = uniform(g, -a2, a2);
    for (Buffer* b : {&b1, &b2})
      for (std::size_t i = 0; i < b->size(); ++i) (*b)[i] = uniform(g, -1.0f, 1.0f);
    view = {w1.data(), b1.data(), w2.data(), b2.data(), c, s};
  }
};

// gate[c] in double.
std::vector<double> reference_gate(ConstTensorView x, const SeWeights& w) {
  const int c_n = w.view.channels, s_n = w.view.squeezed;
  std::vector<double> mean(c_n, 0.0), hidden(s_n), gate(c_n);
  for (int y = 0; y < x.height; ++y)
    for (int xx = 0; xx < x.width; ++xx)
      for (int c = 0; c < c_n; ++c) mean[c] += x.pixel(y, xx)[c];
  for (double& m : mean) m /= double(x.height) * x.width;
  for (int j = 0; j < s_n; ++j) {
    double acc = w.b1[j];
    for (int c = 0; c < c_n; ++c) acc += mean[c] * w.w1[static_cast<std::size_t>(c) * padded_channels(s_n) + j];
    hidden[j] = std::max(acc, 0.0);
  }
  for (int c = 0; c < c_n; ++c) {
    double acc = w.b2[c];
    for (int j = 0; j < s_n; ++j) acc += hidden[j] * w.w2[static_cast<std::size_t>(j) * padded_channels(c_n) + c];
    gate[c] = std::clamp(0.2 * acc + 0.5, 0.0, 1.0);
  }
  return gate;
}

void check_gate(const float* gate, const std::vector<double>& ref, int channels, const std::string& what) {
  int failures = 0;
  for (int c = 0; c < padded_channels(channels); ++c) {
    if (c >= channels) {
      if (!std::isfinite(gate[c])) ++failures;
      continue;
    }
    if (!kGateTol.ok(gate[c], ref[c]) && failures++ < 5) FAIL_CHECK(what << ": gate[" << c << "] = " << gate[c] << ", expected " << ref[c]);
  }
  CHECK_MESSAGE(failures == 0, what << ": " << failures << " mismatches");
}

// The gate as the MV3 blocks take it: the sums of each row, then the gate from them.
void network_gate(ConstTensorView x, const kernels::SqueezeExciteWeights& w, float* gate, float* scratch) {
  Buffer row_sums(static_cast<std::size_t>(x.height) * padded_channels(x.channels));
  kernels::row_channel_sums(x, x.all_rows(), row_sums.data());
  kernels::squeeze_excite_gate_from_row_sums(row_sums.data(), x.height, x.width, w, gate, scratch);
}

// The gate from one sum over the whole tensor (channel_sums over all rows).
void whole_tensor_gate(ConstTensorView x, const kernels::SqueezeExciteWeights& w, float* gate, float* scratch) {
  Buffer sums(padded_channels(x.channels));
  sums.fill(0.0f);
  kernels::channel_sums(x, x.all_rows(), sums.data());
  kernels::squeeze_excite_gate_from_sums(sums.data(), x.height * x.width, w, gate, scratch);
}

struct Case {
  int h, w, c;
};

}  // namespace

TEST_CASE("squeeze_excite: the gate from row sums, odd and real shapes") {
  auto g = rng(301);
  std::vector<Case> cases = {{1, 1, 4}, {13, 11, 4}, {13, 11, 7}, {13, 11, 8}, {13, 11, 9}, {13, 11, 15}, {13, 11, 16},
                             {13, 11, 17}, {13, 11, 36}, {13, 11, 68}, {97, 131, 16}, {1, 1, 768}};
  // Every SE of Tiny and Base at 512 x 512 (spec 4.2).
  for (Case c : {Case{256, 256, 16}, Case{64, 64, 96}, Case{32, 32, 160}, Case{16, 16, 384}, Case{64, 64, 128},
                 Case{64, 64, 240}, Case{32, 32, 384}, Case{16, 16, 768}})
    cases.push_back(c);
  for (const Case& k : cases) {
    const int s = k.c / 4;
    const std::string what = "se h" + std::to_string(k.h) + "w" + std::to_string(k.w) + "c" + std::to_string(k.c);
    // Inputs in [0, 2): non-negative like the post-activation tensors the SE sees, so the
    // means do not cancel to ~0 (where a relative tolerance means nothing).
    OwnedTensor x = random_tensor(g, k.h, k.w, k.c, 0.0f, 2.0f);
    SeWeights w(g, k.c, s);
    Buffer gate(padded_channels(k.c)), scratch(kernels::squeeze_excite_scratch_floats(k.c, s));
    network_gate(x.view, w.view, gate.data(), scratch.data());
    check_gate(gate.data(), reference_gate(x.view, w), k.c, what);
  }
}

TEST_CASE("squeeze_excite: the gate from row sums taken in any row split is the whole-tensor gate, bit for bit") {
  auto g = rng(303);
  for (int c : {16, 24, 96, 240}) {
    const int h = 13, w = 7, s = c / 4;
    OwnedTensor x = random_tensor(g, h, w, c, 0.0f, 2.0f);
    SeWeights wts(g, c, s);
    Buffer want(padded_channels(c)), scratch(kernels::squeeze_excite_scratch_floats(c, s));
    whole_tensor_gate(x.view, wts.view, want.data(), scratch.data());
    for (int parts : {1, 2, 5}) {
      Buffer row_sums(static_cast<std::size_t>(h) * padded_channels(c)), gate(padded_channels(c));
      for (int p = parts - 1; p >= 0; --p)  // the ranges in reverse: the order must not matter
        kernels::row_channel_sums(x.view, RowRange{h * p / parts, h * (p + 1) / parts}, row_sums.data());
      kernels::squeeze_excite_gate_from_row_sums(row_sums.data(), h, w, wts.view, gate.data(), scratch.data());
      CAPTURE(c);
      CAPTURE(parts);
      for (int i = 0; i < padded_channels(c); ++i) REQUIRE(gate[i] == want[i]);
    }
  }
}

TEST_CASE("squeeze_excite: channel_sums over row ranges, channel slices") {
  auto g = rng(302);
  for (int c : {4, 9, 17, 64, 96}) {
    const int s = c / 4;
    OwnedTensor wide = random_tensor(g, 13, 11, 16 + padded_channels(c) + 16, 0.0f, 2.0f);
    const ConstTensorView x = slice<const float>(wide.view, 16, c);
    SeWeights w(g, c, s);
    Buffer sums(padded_channels(c)), gate(padded_channels(c)), scratch(kernels::squeeze_excite_scratch_floats(c, s));
    sums.fill(0.0f);
    for_row_chunks(13, [&](RowRange r) { kernels::channel_sums(x, r, sums.data()); });
    kernels::squeeze_excite_gate_from_sums(sums.data(), 13 * 11, w.view, gate.data(), scratch.data());
    const std::string what = "se slice c" + std::to_string(c);
    check_gate(gate.data(), reference_gate(x, w), c, what);
  }
}

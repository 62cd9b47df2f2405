// axial_attention.hpp against double-precision references of spec 5.3 (steps 4-6) and 5.4.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops_test_util.hpp"
#include "pms/kernels/axial_attention.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using pms::test::ops::for_row_chunks;
using pms::test::ops::slice;

constexpr Tolerance kMeanTol{1e-5, 1e-6};
constexpr Tolerance kPosTol{1e-5, 1e-6};
constexpr Tolerance kAttentionTol{1e-5, 1e-6};
// Scores of magnitude ~500 (inputs in [-10, 10]): float scores carry ~5e-5 absolute error,
// which the softmax turns into relative error of the same size.
constexpr Tolerance kLargeScoreTol{2e-3, 1e-6};
constexpr Tolerance kFuseTol{1e-5, 1e-6};

std::string dims(int h, int w, int c) { return "h" + std::to_string(h) + "w" + std::to_string(w) + "c" + std::to_string(c); }

}  // namespace

TEST_CASE("axial_attention: mean_over_width and mean_over_height") {
  auto g = rng(401);
  struct Case {
    int h, w, c;
  };
  std::vector<Case> cases = {{1, 1, 1}, {16, 16, 256}, {8, 8, 384}, {16, 16, 512}, {8, 8, 768}, {97, 131, 17}, {32, 64, 96}};
  for (int c : ops::kOddChannels) cases.push_back({13, 11, c});
  for (const Case& k : cases) {
    OwnedTensor x = random_tensor(g, k.h, k.w, k.c, 0.0f, 2.0f);
    const int stride = padded_channels(k.c) + 16;  // a wider output stride than needed
    Buffer rows(static_cast<std::size_t>(k.h) * stride), cols(static_cast<std::size_t>(k.w) * stride);
    for (Buffer* b : {&rows, &cols})  // lanes past padded_channels(C) are not the kernel's
      for (std::size_t i = 0; i < b->size(); ++i)
        if (static_cast<int>(i % stride) >= padded_channels(k.c)) (*b)[i] = 0.0f;
    kernels::mean_over_width(x.view, rows.data(), stride);
    kernels::mean_over_height(x.view, cols.data(), stride);
    auto seq = [&](const Buffer& b, int n) { return ConstTensorView{b.data(), n, 1, k.c, stride}; };
    check_tensor(seq(rows, k.h),
                 [&](int y, int, int c) {
                   double s = 0;
                   for (int xx = 0; xx < k.w; ++xx) s += x.at(y, xx, c);
                   return s / k.w;
                 },
                 kMeanTol, "mean_over_width " + dims(k.h, k.w, k.c));
    check_tensor(seq(cols, k.w),
                 [&](int xx, int, int c) {
                   double s = 0;
                   for (int y = 0; y < k.h; ++y) s += x.at(y, xx, c);
                   return s / k.h;
                 },
                 kMeanTol, "mean_over_height " + dims(k.h, k.w, k.c));
  }
  // A channel slice (k inside qkv), output stride padded_channels(64).
  OwnedTensor qkv = random_tensor(g, 9, 7, 64 + 64 + 128, 0.0f, 2.0f);
  const ConstTensorView k = slice<const float>(qkv.view, 64, 64);
  Buffer rows(9 * 64);
  kernels::mean_over_width(k, rows.data(), 64);
  check_tensor(ConstTensorView{rows.data(), 9, 1, 64, 64},
               [&](int y, int, int c) {
                 double s = 0;
                 for (int xx = 0; xx < 7; ++xx) s += k.pixel(y, xx)[c];
                 return s / 7;
               },
               kMeanTol, "mean_over_width slice");
}

TEST_CASE("axial_attention: resize_pos_table (Paddle 1-D linear, N == 1 and N == 16 rules)") {
  auto g = rng(402);
  for (int channels : {1, 17, 64, 96, 192}) {
    std::vector<float> table(static_cast<std::size_t>(channels) * 16);
    for (float& t : table) t = uniform(g);
    for (int n : {1, 2, 3, 7, 8, 15, 16, 17, 32, 64}) {
      Buffer out(static_cast<std::size_t>(n) * padded_channels(channels));
      kernels::resize_pos_table(table.data(), channels, n, out.data());
      const std::string what = "pos table c" + std::to_string(channels) + " n" + std::to_string(n);
      check_tensor(ConstTensorView{out.data(), n, 1, channels, padded_channels(channels)},
                   [&](int p, int, int c) {
                     const ops::RefSample s = ops::ref_sample(16, n, 0, p);
                     return table[c * 16 + s.i0] * s.w0 + table[c * 16 + s.i1] * s.w1;
                   },
                   kPosTol, what);
      for (int p = 0; p < n; ++p)
        for (int c = channels; c < padded_channels(channels); ++c) CHECK(out[p * padded_channels(channels) + c] == 0.0f);
      if (n == 1)
        for (int c = 0; c < channels; ++c) CHECK(out[c] == table[c * 16]);  // entry 0, not the centre
      if (n == 16)
        for (int c = 0; c < channels; ++c)
          for (int p = 0; p < 16; ++p) CHECK(out[p * padded_channels(channels) + c] == table[c * 16 + p]);
    }
  }
}

namespace {

// out[n][h*d + j] in double.
std::vector<double> reference_attention(const kernels::AxialAttentionInputs& in, kernels::AxialAttentionShape s) {
  const int n_pos = s.length, kd = s.key_dim, d = s.value_dim;
  std::vector<double> out(static_cast<std::size_t>(n_pos) * s.heads * d);
  const double scale = 1.0 / std::sqrt(double(kd));
  std::vector<double> logits(n_pos);
  for (int h = 0; h < s.heads; ++h)
    for (int n = 0; n < n_pos; ++n) {
      double mx = -1e300;
      for (int m = 0; m < n_pos; ++m) {
        double dot = 0;
        for (int i = 0; i < kd; ++i) {
          double q = in.q[n * in.q_stride + h * kd + i], k = in.k[m * in.k_stride + h * kd + i];
          if (in.q_pos) q += in.q_pos[n * in.pos_stride + h * kd + i];
          if (in.k_pos) k += in.k_pos[m * in.pos_stride + h * kd + i];
          dot += q * k;
        }
        logits[m] = dot * scale;
        mx = std::max(mx, logits[m]);
      }
      double sum = 0;
      for (double& l : logits) sum += (l = std::exp(l - mx));
      for (int j = 0; j < d; ++j) {
        double acc = 0;
        for (int m = 0; m < n_pos; ++m) acc += logits[m] / sum * in.v[m * in.v_stride + h * d + j];
        out[(static_cast<std::size_t>(n) * s.heads + h) * d + j] = acc;
      }
    }
  return out;
}

void run_attention_case(std::mt19937_64& g, kernels::AxialAttentionShape s, bool with_pos, float magnitude, Tolerance tol) {
  const int qk = s.heads * s.key_dim, dh = s.heads * s.value_dim;
  const int means_stride = padded_channels(2 * qk + dh) + 16;  // q | k | v means, as the network lays them out
  const int pos_stride = padded_channels(qk);
  Buffer means(static_cast<std::size_t>(s.length) * means_stride), qpos(static_cast<std::size_t>(s.length) * pos_stride),
      kpos(static_cast<std::size_t>(s.length) * pos_stride);
  for (std::size_t i = 0; i < means.size(); ++i) means[i] = uniform(g, -magnitude, magnitude);
  for (Buffer* b : {&qpos, &kpos})
    for (std::size_t i = 0; i < b->size(); ++i) (*b)[i] = uniform(g, -magnitude, magnitude);
  // q at 0, k and v at offsets that are multiples of 16 only when the network's are.
  const kernels::AxialAttentionInputs in{means.data(), means_stride, means.data() + qk, means_stride,
                                         means.data() + 2 * qk, means_stride,
                                         with_pos ? qpos.data() : nullptr, with_pos ? kpos.data() : nullptr, pos_stride};
  const int out_stride = padded_channels(dh);
  Buffer out(static_cast<std::size_t>(s.length) * out_stride);
  Buffer scratch(kernels::axial_attention_scratch_floats(s.length, s.key_dim));
  kernels::axial_attention(in, s, out.data(), out_stride, scratch.data());
  const std::vector<double> ref = reference_attention(in, s);
  const std::string what = "attention n" + std::to_string(s.length) + " h" + std::to_string(s.heads) + " kd" +
                           std::to_string(s.key_dim) + " d" + std::to_string(s.value_dim) + (with_pos ? " +pos" : "") +
                           " |x|<" + std::to_string(int(magnitude));
  check_tensor(ConstTensorView{out.data(), s.length, 1, dh, out_stride},
               [&](int n, int, int c) { return ref[static_cast<std::size_t>(n) * dh + c]; }, tol, what);
  for (int n = 0; n < s.length; ++n)
    for (int c = dh; c < out_stride; ++c) CHECK(out[n * out_stride + c] == 0.0f);
}

}  // namespace

TEST_CASE("axial_attention: softmax(q k^T scale) v per head") {
  auto g = rng(403);
  const kernels::AxialAttentionShape shapes[] = {
      {16, 4, 16, 32}, {8, 4, 24, 48}, {16, 8, 16, 32}, {8, 8, 24, 48},  // the network at 512 x 512
      {32, 4, 24, 48}, {64, 8, 16, 32},                                  // 1024 x 2048 inputs
      {1, 4, 16, 32},  {2, 1, 3, 5},   {7, 2, 5, 10},   {17, 3, 4, 8},   {33, 1, 16, 16}, {5, 2, 1, 1}, {9, 3, 7, 9}};
  for (const auto& s : shapes)
    for (bool pos : {false, true}) run_attention_case(g, s, pos, 1.0f, kAttentionTol);
  // Large scores: the softmax must subtract its maximum (no overflow, no NaN).
  for (const auto& s : {kernels::AxialAttentionShape{16, 4, 16, 32}, kernels::AxialAttentionShape{8, 8, 24, 48}})
    run_attention_case(g, s, true, 10.0f, kLargeScoreTol);
}

TEST_CASE("axial_attention: add_row_col (s = v + (row + col)), with and without ReLU6") {
  auto g = rng(404);
  struct Case {
    int h, w, qk, dh;
  };
  for (const Case k : {Case{16, 16, 64, 128}, Case{8, 8, 96, 192}, Case{16, 16, 128, 256}, Case{8, 8, 192, 384},
                       Case{13, 11, 16, 17}, Case{1, 1, 16, 3}, Case{5, 9, 32, 48}}) {
    OwnedTensor qkv = random_tensor(g, k.h, k.w, 2 * k.qk + k.dh, -4.0f, 4.0f);
    const ConstTensorView v = slice<const float>(qkv.view, 2 * k.qk, k.dh);
    OwnedTensor row = random_tensor(g, k.h, 1, k.dh, -4.0f, 4.0f), col = random_tensor(g, 1, k.w, k.dh, -4.0f, 4.0f);
    OwnedTensor out(k.h, k.w, k.dh);
    auto ref = [&](int y, int x, int c) { return double(v.pixel(y, x)[c]) + (double(row.at(y, 0, c)) + col.at(0, x, c)); };
    for_row_chunks(k.h, [&](RowRange r) {
      kernels::add_row_col(v, row.view.data, row.view.stride, col.view.data, col.view.stride, out.view, r);
    });
    check_tensor(out.view, ref, kFuseTol, "add_row_col " + dims(k.h, k.w, k.dh));
    for_row_chunks(k.h, [&](RowRange r) {
      kernels::add_row_col<act::ReLU6>(v, row.view.data, row.view.stride, col.view.data, col.view.stride, out.view, r);
    });
    check_tensor(out.view, [&](int y, int x, int c) { return std::clamp(ref(y, x, c), 0.0, 6.0); }, kFuseTol,
                 "add_row_col relu6 " + dims(k.h, k.w, k.dh));
  }
}

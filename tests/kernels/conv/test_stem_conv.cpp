// stem_conv against a double oracle that normalises every pixel with the spec's formula:
// every pixel format, odd row strides, odd and even extents (the ceil(H/2) border),
// several column chunks, row-range splits, both normalisations.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "conv_test_support.hpp"
#include "pms/kernels/stem_conv.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using kernels::StemWeights;
using pms::test::conv::ref_act;

const char* format_name(PixelFormat f) {
  switch (f) {
    case PixelFormat::rgb: return "rgb";
    case PixelFormat::bgr: return "bgr";
    case PixelFormat::rgba: return "rgba";
    case PixelFormat::bgra: return "bgra";
  }
  return "?";
}

template <class Act>
void check_stem(int h, int w, PixelFormat format, int extra_stride, const Normalization& norm, int splits,
                std::uint64_t salt) {
  auto g = rng(salt);
  const int bpp = bytes_per_pixel(format);
  const std::ptrdiff_t row_stride = static_cast<std::ptrdiff_t>(w) * bpp + extra_stride;
  // Bytes after the last row's pixels are absent, as in a tightly cropped image view.
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(row_stride) * (h - 1) + static_cast<std::size_t>(w) * bpp);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& p : pixels) p = static_cast<std::uint8_t>(byte(g));
  const ImageView image{pixels.data(), h, w, row_stride, format};

  Buffer weight = conv::random_buffer(g, 27 * 16);
  Buffer bias = conv::random_buffer(g, 16, -0.5f, 0.5f);
  const int oh = (h + 1) / 2, ow = (w + 1) / 2;
  OwnedTensor out(oh, ow, 16);
  const StemWeights sw{weight.data(), bias.data()};
  for (int s = 0; s < splits; ++s)
    kernels::stem_conv<Act>(image, norm, sw, out.view, RowRange{oh * s / splits, oh * (s + 1) / splits});

  const int red = red_offset(format);
  const int offset[3] = {red, 1, 2 - red};
  std::vector<double> ref(static_cast<std::size_t>(oh) * ow * 16);
  double max_sum_abs = 0.0;
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      for (int co = 0; co < 16; ++co) {
        double acc = bias[co], sum_abs = std::fabs(bias[co]);
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = 2 * y - 1 + ky, ix = 2 * x - 1 + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            for (int ci = 0; ci < 3; ++ci) {
              const double p = pixels[static_cast<std::size_t>(iy) * row_stride + ix * bpp + offset[ci]];
              const double xn = (p / 255.0 - norm.mean[ci]) / norm.std[ci];
              const double wt = weight[((ky * 3 + kx) * 3 + ci) * 16 + co];
              acc += xn * wt;
              // Magnitudes before the cancellation inside the normalisation: the kernel
              // computes p/(255 std) - mean/std, whose rounding error scales with them.
              sum_abs += (p / 255.0 / norm.std[ci] + norm.mean[ci] / norm.std[ci]) * std::fabs(wt);
            }
          }
        ref[(static_cast<std::size_t>(y) * ow + x) * 16 + co] = ref_act<Act>(acc);
        max_sum_abs = std::max(max_sum_abs, sum_abs);
      }
  // 27 products; each normalised input carries ~3 roundings of its own (scale, offset,
  // FMA) on top of the summation's: the summation bound for 3 * 27 terms covers both.
  const Tolerance tol{1e-5, conv::summation_abs_tolerance(3 * 27, max_sum_abs)};
  const std::string what = std::string("stem/") + Act::name + " " + format_name(format) + " h" + std::to_string(h) + "w" +
                           std::to_string(w) + " stride+" + std::to_string(extra_stride) + " splits " +
                           std::to_string(splits);
  check_tensor(out.view, [&](int y, int x, int c) { return ref[(static_cast<std::size_t>(y) * ow + x) * 16 + c]; }, tol,
               what);
}

const PixelFormat kFormats[] = {PixelFormat::rgb, PixelFormat::bgr, PixelFormat::rgba, PixelFormat::bgra};

}  // namespace

TEST_CASE("stem_conv: every pixel format, odd row strides, small and odd extents") {
  const Normalization ade{};
  std::uint64_t salt = 7000;
  const int sizes[][2] = {{1, 1}, {1, 2}, {2, 1}, {2, 2}, {3, 5}, {13, 11}, {4, 17}, {7, 8}};
  for (PixelFormat f : kFormats)
    for (const auto& hw : sizes)
      for (int extra : {0, 3}) check_stem<act::HardSwish>(hw[0], hw[1], f, extra, ade, 1, salt++);
}

TEST_CASE("stem_conv: several column chunks, row-range splits, both normalisations") {
  const Normalization ade{};
  const Normalization cityscapes{{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};
  std::uint64_t salt = 7500;
  for (PixelFormat f : kFormats) {
    check_stem<act::HardSwish>(97, 131, f, 1, ade, 3, salt++);
    check_stem<act::Identity>(20, 258, f, 0, cityscapes, 2, salt++);  // chunk boundary at 128 output px
    check_stem<act::ReLU>(9, 257, f, 5, ade, 4, salt++);
  }
}

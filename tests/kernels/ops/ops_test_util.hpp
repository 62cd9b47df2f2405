// Helpers shared by the tests of the non-conv kernels: channel slices, row splits and an
// independent scalar model of Paddle's bilinear sampling.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "test_support.hpp"

namespace pms::test::ops {

// Channel counts around every vector width, and the network's real ones.
inline const std::vector<int> kOddChannels = {1, 3, 4, 7, 8, 9, 15, 16, 17};

// A view of channels [offset, offset + channels) of t (offset a multiple of 16): the way q,
// k and v are read inside the merged qkv tensor.
template <class T>
BasicTensorView<T> slice(BasicTensorView<T> t, int offset, int channels) {
  REQUIRE(offset % kChannelAlign == 0);
  REQUIRE(offset + padded_channels(channels) <= t.stride);
  return channel_slice(t, offset, channels);
}

// Calls fn on row ranges that cover [0, rows) in three uneven pieces (some may be empty), so
// every test also checks that sub-ranges compose to the whole.
inline void for_row_chunks(int rows, const std::function<void(RowRange)>& fn) {
  const int a = rows / 3, b = rows - rows / 4;
  fn({0, a});
  fn({a, b});
  fn({b, rows});
}

// Paddle's bilinear sampling along one axis (spec 9.1), written independently of resize.hpp:
// ratio 0 for out == 1; float(in)/out for a size target; float(1/scale) for a scale factor;
// the source coordinate in double, clamped at 0; lambda = float(src) - i0 in float.
struct RefSample {
  int i0, i1;
  double w0, w1;
};
inline RefSample ref_sample(int in, int out, double scale_factor, int dst) {
  float ratio = 0.0f;
  if (out > 1) ratio = scale_factor > 0 ? static_cast<float>(1.0 / scale_factor) : static_cast<float>(in) / static_cast<float>(out);
  const double src = std::max(static_cast<double>(ratio) * (dst + 0.5) - 0.5, 0.0);
  const int i0 = std::min(static_cast<int>(std::floor(src)), in - 1);
  const float lambda = static_cast<float>(src) - static_cast<float>(i0);
  return {i0, std::min(i0 + 1, in - 1), 1.0 - static_cast<double>(lambda), static_cast<double>(lambda)};
}

// Bilinear sample of channel c at output (y, x), in double.
inline double ref_bilinear(ConstTensorView in, int out_h, int out_w, double scale_y, double scale_x, int y, int x, int c) {
  const RefSample sy = ref_sample(in.height, out_h, scale_y, y);
  const RefSample sx = ref_sample(in.width, out_w, scale_x, x);
  auto at = [&](int yy, int xx) { return static_cast<double>(in.pixel(yy, xx)[c]); };
  return at(sy.i0, sx.i0) * sy.w0 * sx.w0 + at(sy.i1, sx.i0) * sy.w1 * sx.w0 + at(sy.i0, sx.i1) * sy.w0 * sx.w1 +
         at(sy.i1, sx.i1) * sy.w1 * sx.w1;
}

}  // namespace pms::test::ops

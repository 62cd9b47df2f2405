// eltwise.hpp against scalar references: dense and channel-slice views, row sub-ranges.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "ops_test_util.hpp"
#include "pms/kernels/eltwise.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using pms::test::ops::for_row_chunks;
using pms::test::ops::slice;

constexpr Tolerance kEltwiseTol{1e-5, 1e-6};

struct Shape {
  int h, w, c;
};

std::vector<Shape> shapes() {
  std::vector<Shape> s;
  for (int c : ops::kOddChannels) s.push_back({13, 11, c});
  s.push_back({1, 1, 5});
  s.push_back({97, 131, 16});
  s.push_back({16, 16, 128});
  s.push_back({7, 9, 384});
  return s;
}

double relu6(double v) { return std::min(std::max(v, 0.0), 6.0); }

}  // namespace

TEST_CASE("eltwise: multiply, add_inplace, activate_inplace on dense tensors") {
  auto g = rng(101);
  for (const Shape& s : shapes()) {
    const std::string what = "h" + std::to_string(s.h) + "w" + std::to_string(s.w) + "c" + std::to_string(s.c);
    OwnedTensor a = random_tensor(g, s.h, s.w, s.c), b = random_tensor(g, s.h, s.w, s.c);
    {
      OwnedTensor out(s.h, s.w, s.c);
      for_row_chunks(s.h, [&](RowRange r) { kernels::multiply<act::ReLU6>(a.view, b.view, out.view, r); });
      check_tensor(out.view, [&](int y, int x, int c) { return relu6(double(a.at(y, x, c)) * b.at(y, x, c)); }, kEltwiseTol,
                   "multiply relu6 " + what);
    }
    {
      OwnedTensor io = random_tensor(g, s.h, s.w, s.c);
      OwnedTensor ref = random_tensor(g, s.h, s.w, s.c);
      std::copy(io.buffer.data(), io.buffer.data() + io.buffer.size(), ref.buffer.data());
      for_row_chunks(s.h, [&](RowRange r) { kernels::add_inplace(io.view, a.view, r); });
      check_tensor(io.view, [&](int y, int x, int c) { return double(ref.at(y, x, c)) + a.at(y, x, c); }, kEltwiseTol,
                   "add_inplace " + what);
      for_row_chunks(s.h, [&](RowRange r) { kernels::activate_inplace<act::ReLU>(io.view, r); });
      check_tensor(io.view, [&](int y, int x, int c) { return std::max(double(ref.at(y, x, c)) + a.at(y, x, c), 0.0); },
                   kEltwiseTol, "activate_inplace relu " + what);
    }
    {  // multiply in place (out aliases a), as the SEA gate does
      OwnedTensor io = random_tensor(g, s.h, s.w, s.c);
      OwnedTensor ref(s.h, s.w, s.c);
      std::copy(io.buffer.data(), io.buffer.data() + io.buffer.size(), ref.buffer.data());
      for_row_chunks(s.h, [&](RowRange r) { kernels::multiply(io.view, b.view, io.view, r); });
      check_tensor(io.view, [&](int y, int x, int c) { return double(ref.at(y, x, c)) * b.at(y, x, c); }, kEltwiseTol,
                   "multiply aliased " + what);
    }
  }
}

TEST_CASE("eltwise: channel slices of wider tensors (strided views)") {
  auto g = rng(102);
  for (int c : {1, 9, 16, 17, 64, 96}) {
    const int wide = 16 + padded_channels(c) + 16;
    OwnedTensor a = random_tensor(g, 13, 11, wide), b = random_tensor(g, 13, 11, wide);
    OwnedTensor out_wide = random_tensor(g, 13, 11, wide);
    const ConstTensorView sa = slice<const float>(a.view, 16, c);
    const ConstTensorView sb = slice<const float>(b.view, 16, c);
    const TensorView so = slice(out_wide.view, 16, c);
    const std::string what = "slice c" + std::to_string(c);
    // add_inplace into a slice whose starting values are those of sa.
    for (int y = 0; y < 13; ++y)
      for (int x = 0; x < 11; ++x) std::copy(sa.pixel(y, x), sa.pixel(y, x) + padded_channels(c), so.pixel(y, x));
    for_row_chunks(13, [&](RowRange r) { kernels::add_inplace<act::ReLU6>(so, sb, r); });
    check_tensor(so, [&](int y, int x, int ch) { return relu6(double(sa.pixel(y, x)[ch]) + sb.pixel(y, x)[ch]); }, kEltwiseTol,
                 "add_inplace relu6 " + what);
    // Channels outside the slice are untouched.
    OwnedTensor before = random_tensor(g, 13, 11, wide);
    std::copy(out_wide.buffer.data(), out_wide.buffer.data() + out_wide.buffer.size(), before.buffer.data());
    for_row_chunks(13, [&](RowRange r) { kernels::multiply(sa, sb, so, r); });
    int touched = 0;
    for (int y = 0; y < 13; ++y)
      for (int x = 0; x < 11; ++x)
        for (int ch = 0; ch < out_wide.view.stride; ++ch)
          if ((ch < 16 || ch >= 16 + padded_channels(c)) && !(out_wide.at(y, x, ch) == before.at(y, x, ch) ||
                                                            (std::isnan(out_wide.at(y, x, ch)) && std::isnan(before.at(y, x, ch)))))
            ++touched;
    CHECK_MESSAGE(touched == 0, what << ": " << touched << " elements outside the slice changed");
    check_tensor(so, [&](int y, int x, int ch) { return double(sa.pixel(y, x)[ch]) * sb.pixel(y, x)[ch]; }, kEltwiseTol,
                 "multiply " + what);
  }
}

// Shared test utilities: seeded randomness, aligned NaN-prefilled buffers, padded tensors
// and the closeness check every kernel test uses.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <string>

#include "pms/core/tensor.hpp"

namespace pms::test {

// The seed every test derives its generators from: PMS_TEST_SEED, else a fixed default.
inline std::uint64_t seed() {
  static const std::uint64_t s = [] {
    const char* env = std::getenv("PMS_TEST_SEED");
    return env != nullptr ? std::strtoull(env, nullptr, 10) : 20261128ull;
  }();
  return s;
}

// A generator for one test: the global seed mixed with a per-test salt.
inline std::mt19937_64 rng(std::uint64_t salt) { return std::mt19937_64(seed() * 0x9E3779B97F4A7C15ull + salt); }

inline float uniform(std::mt19937_64& g, float lo = -1.0f, float hi = 1.0f) {
  return std::uniform_real_distribution<float>(lo, hi)(g);
}

struct AlignedFree {
  void operator()(float* p) const noexcept { ::operator delete[](p, std::align_val_t{kBufferAlignment}); }
};

// n floats, 64-byte aligned, every element NaN (so an unwritten output cannot pass).
class Buffer {
 public:
  explicit Buffer(std::size_t n = 0) : n_(n), p_(n ? new (std::align_val_t{kBufferAlignment}) float[n] : nullptr) {
    fill(std::nanf(""));
  }
  float* data() const noexcept { return p_.get(); }
  std::size_t size() const noexcept { return n_; }
  float& operator[](std::size_t i) const noexcept { return p_.get()[i]; }
  void fill(float v) const noexcept {
    for (std::size_t i = 0; i < n_; ++i) p_[i] = v;
  }

 private:
  std::size_t n_;
  std::unique_ptr<float[], AlignedFree> p_;
};

// A padded channels-last tensor that owns its memory (NaN-prefilled).
struct OwnedTensor {
  Buffer buffer;
  TensorView view;
  OwnedTensor(int h, int w, int c) : buffer(tensor_floats(h, w, c)), view(make_tensor(buffer.data(), h, w, c)) {}
  float& at(int y, int x, int ch) const noexcept { return view.pixel(y, x)[ch]; }
};

// Value kept in the pad lanes of test inputs: large and finite, so a kernel that lets pad
// lanes leak into real channels fails loudly, while 0 * pad stays 0.
inline constexpr float kPadSentinel = 1.0e3f;

// Real channels uniform in [lo, hi); pad lanes kPadSentinel.
inline OwnedTensor random_tensor(std::mt19937_64& g, int h, int w, int c, float lo = -1.0f, float hi = 1.0f) {
  OwnedTensor t(h, w, c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float* p = t.view.pixel(y, x);
      for (int ch = 0; ch < t.view.stride; ++ch) p[ch] = ch < c ? uniform(g, lo, hi) : kPadSentinel;
    }
  return t;
}

// Tolerance |out - ref| <= rel * |ref| + abs, named per test.
struct Tolerance {
  double rel = 1e-5;
  double abs = 1e-6;
  bool ok(double out, double ref) const noexcept { return std::fabs(out - ref) <= rel * std::fabs(ref) + abs; }
};

// Compares the real channels of a tensor with a reference given as a function (y, x, c) ->
// double, reports the first few mismatches, and checks the pad lanes are finite. The pad
// lanes are [channels, padded_channels(channels)): in a channel slice of a wider tensor the
// floats beyond them, up to the stride, are other channels (or, for the last pixel, past the
// end of the buffer).
template <class RefFn>
void check_tensor(ConstTensorView out, RefFn&& ref, Tolerance tol, const std::string& what) {
  int failures = 0;
  const int lanes = std::min(out.stride, padded_channels(out.channels));
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const float* p = out.pixel(y, x);
      for (int c = 0; c < lanes; ++c) {
        if (c >= out.channels) {
          if (!std::isfinite(p[c]) && failures++ < 5) FAIL_CHECK(what << ": pad lane not finite at (" << y << "," << x << "," << c << ")");
          continue;
        }
        const double r = ref(y, x, c);
        if (!tol.ok(p[c], r) && failures++ < 5)
          FAIL_CHECK(what << ": at (" << y << "," << x << "," << c << ") got " << p[c] << " expected " << r);
      }
    }
  CHECK_MESSAGE(failures == 0, what << ": " << failures << " mismatches");
}

}  // namespace pms::test

// simd.hpp's per-ISA helpers against plain loops over the lanes: lane_index,
// broadcast_max / broadcast_min, first_lane, bitmask, load_u8 and the half vectors, on
// random lane values (every lane position of the maximum, ties, negative zero); fma against
// std::fma bit for bit and exp against std::exp, which the int8 network's identity on every
// ISA rests on (weights/FORMAT.md 7.8).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <cstdint>
#include <cstring>

#include "pms/simd/simd.hpp"
#include "test_support.hpp"

namespace {

using namespace pms;
using simd::f32v;
constexpr int L = simd::kLanes;

std::array<float, L> lanes(f32v v) {
  alignas(64) std::array<float, 16> t{};
  simd::store(t.data(), v);
  std::array<float, L> out{};
  std::copy_n(t.begin(), L, out.begin());
  return out;
}

f32v from(const std::array<float, L>& a) {
  alignas(64) float t[16] = {};
  std::copy(a.begin(), a.end(), t);
  return simd::load(t);
}

}  // namespace

TEST_CASE("simd: lane_index, broadcast_max, broadcast_min, first_lane") {
  const auto idx = lanes(simd::lane_index());
  for (int i = 0; i < L; ++i) CHECK(idx[i] == static_cast<float>(i));
  auto g = pms::test::rng(901);
  for (int round = 0; round < 200; ++round) {
    std::array<float, L> a{};
    for (float& x : a) x = pms::test::uniform(g, -100.0f, 100.0f);
    a[round % L] = round % 3 == 0 ? a[(round + 1) % L] : a[round % L];  // ties now and then
    const float mx = *std::max_element(a.begin(), a.end()), mn = *std::min_element(a.begin(), a.end());
    for (const float v : lanes(simd::broadcast_max(from(a)))) CHECK(v == mx);
    for (const float v : lanes(simd::broadcast_min(from(a)))) CHECK(v == mn);
    CHECK(simd::first_lane(from(a)) == a[0]);
  }
}

TEST_CASE("simd: bitmask sets bit i for lane i, and nothing above the lanes") {
  auto g = pms::test::rng(902);
  for (int round = 0; round < 200; ++round) {
    std::array<float, L> a{};
    unsigned want = 0;
    for (int i = 0; i < L; ++i) {
      a[i] = pms::test::uniform(g);
      want |= a[i] > 0.0f ? 1u << i : 0u;
    }
    CHECK(simd::bitmask(from(a) > simd::zero()) == want);
  }
  CHECK(simd::bitmask(simd::zero() == simd::zero()) == (L == 32 ? ~0u : (1u << L) - 1u));
}

TEST_CASE("simd: load_u8 reads exactly kLanes bytes as 0..255") {
  std::uint8_t bytes[64];
  for (int i = 0; i < 64; ++i) bytes[i] = static_cast<std::uint8_t>(i * 37 + 11);
  for (int offset = 0; offset < 16; ++offset) {  // no alignment needed
    const auto v = lanes(simd::load_u8(bytes + offset));
    for (int i = 0; i < L; ++i) CHECK(v[i] == static_cast<float>(bytes[offset + i]));
  }
}

TEST_CASE("simd: a half vector is the low lanes, widened with zeros") {
  alignas(64) float a[16], b[16], c[16], out[16];
  for (int i = 0; i < 16; ++i) a[i] = 1.0f + i, b[i] = 0.5f * i, c[i] = -2.0f + i;
  if constexpr (simd::kHasHalfVectors) {
    simd::store_half(out, simd::fma_half(simd::load(a), simd::load_half(b), simd::load_half(c)));
    for (int i = 0; i < 8; ++i) CHECK(out[i] == a[i] * b[i] + c[i]);
    const auto w = lanes(simd::widen(simd::load_half(a)));
    for (int i = 0; i < L; ++i) CHECK(w[i] == (i < 8 ? a[i] : 0.0f));
  } else {
    const auto w = lanes(simd::widen(simd::load_half(a)));  // whole vectors
    for (int i = 0; i < L; ++i) CHECK(w[i] == a[i]);
  }
}

namespace {

float from_bits(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
std::uint32_t bits_of(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

}  // namespace

TEST_CASE("simd: fma rounds once, as std::fma, on every ISA") {
  auto g = pms::test::rng(907);
  std::uniform_int_distribution<std::uint32_t> any;
  // Random signs and mantissas; exponents around 1 for the product, and an addend either of
  // any size or of the product's size (cancellation: the cases a double-rounded emulation
  // gets wrong).
  const auto random_float = [&](int lo, int span) {
    const std::uint32_t r = any(g);
    return from_bits((r & 0x807FFFFFu) | (static_cast<std::uint32_t>(lo + static_cast<int>(r >> 23 & 0xFF) % span) << 23));
  };
  std::array<float, L> a{}, b{}, c{};
  int mismatches = 0;
  for (int round = 0; round < 20000; ++round) {
    for (int i = 0; i < L; ++i) {
      a[i] = random_float(110, 36), b[i] = random_float(110, 36);
      const int product_exponent = static_cast<int>(bits_of(a[i]) >> 23 & 0xFF) + static_cast<int>(bits_of(b[i]) >> 23 & 0xFF) - 127;
      c[i] = round % 2 == 0 ? random_float(60, 130) : random_float(product_exponent - 1, 3);
    }
    const auto r = lanes(simd::fma(from(a), from(b), from(c)));
    for (int i = 0; i < L; ++i) mismatches += bits_of(r[i]) != bits_of(std::fma(a[i], b[i], c[i]));
  }
  CHECK(mismatches == 0);

  // Special values: signed zeros, subnormals, infinities, NaN, overflow.
  const float inf = std::numeric_limits<float>::infinity(), tiny = std::numeric_limits<float>::denorm_min();
  const float specials[][3] = {{0.0f, 1.0f, -0.0f},  {-0.0f, 1.0f, 0.0f},   {-0.0f, 1.0f, -0.0f},  {tiny, 0.5f, 0.0f},
                               {tiny, 3.0f, -tiny},  {1e-20f, 1e-20f, 0.0f}, {inf, 1.0f, 1.0f},     {inf, 0.0f, 1.0f},
                               {1.0f, 1.0f, -inf},   {3e38f, 10.0f, 0.0f},   {3e38f, 10.0f, -inf},  {1.0f, 1.0f, std::nanf("")},
                               {1.0f + 0x1p-23f, 1.0f - 0x1p-23f, -1.0f}};
  for (const auto& s : specials) {
    const float r = lanes(simd::fma(simd::splat(s[0]), simd::splat(s[1]), simd::splat(s[2])))[0];
    const float want = std::fma(s[0], s[1], s[2]);
    CAPTURE(s[0]);
    CAPTURE(s[1]);
    CAPTURE(s[2]);
    if (std::isnan(want)) CHECK(std::isnan(r));
    else CHECK(bits_of(r) == bits_of(want));
  }
}

TEST_CASE("simd: exp within 2 ulp of std::exp, 0 below -87.3, finite up to 88, NaN for NaN") {
  int worst_ulps = 0;
  for (float x = -87.25f; x <= 88.0f; x += 0.0137f) {
    const float r = lanes(simd::exp(simd::splat(x)))[0];
    const float want = std::exp(x);
    const int ulps = std::abs(static_cast<int>(bits_of(r)) - static_cast<int>(bits_of(want)));
    worst_ulps = std::max(worst_ulps, ulps);
  }
  CHECK(worst_ulps <= 2);
  CHECK(lanes(simd::exp(simd::zero()))[0] == 1.0f);
  CHECK(lanes(simd::exp(simd::splat(-87.4f)))[0] == 0.0f);
  CHECK(lanes(simd::exp(simd::splat(-1e30f)))[0] == 0.0f);
  CHECK(lanes(simd::exp(simd::splat(1e30f)))[0] == lanes(simd::exp(simd::splat(88.0f)))[0]);
  CHECK(std::isfinite(lanes(simd::exp(simd::splat(88.0f)))[0]));
  CHECK(std::isnan(lanes(simd::exp(simd::splat(std::nanf(""))))[0]));
  // Every lane alike: lane i of a vector gives what a splat of its value gives.
  std::array<float, L> x{};
  for (int i = 0; i < L; ++i) x[i] = -3.0f + 0.77f * static_cast<float>(i);
  const auto r = lanes(simd::exp(from(x)));
  for (int i = 0; i < L; ++i) CHECK(bits_of(r[i]) == bits_of(lanes(simd::exp(simd::splat(x[i])))[0]));
}

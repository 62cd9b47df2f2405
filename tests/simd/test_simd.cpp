// simd.hpp's per-ISA cross-lane helpers against plain loops over the lanes: lane_index,
// broadcast_max / broadcast_min, first_lane, bitmask, load_u8 and the half vectors, on
// random lane values (every lane position of the maximum, ties, negative zero).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
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

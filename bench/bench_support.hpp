// bench/bench_support.hpp: buffers the kernel microbenchmarks share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <random>

#include "pms/core/tensor.hpp"

namespace pms::bench {

struct AlignedFree {
  void operator()(float* p) const noexcept { ::operator delete[](p, std::align_val_t{kBufferAlignment}); }
};
using Floats = std::unique_ptr<float[], AlignedFree>;

// n floats, 64-byte aligned, uniform in [lo, hi) from a fixed seed.
inline Floats random_floats(std::size_t n, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Floats p(new (std::align_val_t{kBufferAlignment}) float[n]);
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (std::size_t i = 0; i < n; ++i) p[i] = u(g);
  return p;
}

}  // namespace pms::bench

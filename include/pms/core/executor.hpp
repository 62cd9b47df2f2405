// pms/core/executor.hpp: how a forward pass spreads rows over threads, and the executors
// that need no threads.
//
// Kernels take a RowRange and compute each output element the same way whatever range they
// are given, so splitting rows across threads gives results identical to one thread.
// Reductions over a whole tensor (squeeze-excite, attention means) always run on one thread.
//
// Serial runs everything on the calling thread (the default: no threads, no locks).
// A pool of threads is opt-in: pms/core/thread_pool.hpp (the umbrella header does not
// include it, so single-threaded firmware needs no threading support from its toolchain).
#pragma once

#include <concepts>

#include "pms/core/tensor.hpp"

namespace pms {

// Executors split [0, rows) into at most threads() contiguous chunks and call
// f(RowRange rows, int chunk) for each, chunk < threads(), then return. A kernel that needs
// per-thread scratch indexes it by chunk.
template <class E>
concept Executor = requires(E& e, const E& ce, int rows) {
  { ce.threads() } -> std::convertible_to<int>;
  e.for_chunks(rows, [](RowRange, int) {});
};

struct Serial {
  template <class F>
  void for_chunks(int rows, F&& f) const noexcept {
    if (rows > 0) f(RowRange{0, rows}, 0);
  }
  constexpr int threads() const noexcept { return 1; }
};

// Stands in for an executor of `count` threads while a forward pass only measures its
// workspace (nothing runs).
struct MeasureOnly {
  int count = 1;
  template <class F>
  constexpr void for_chunks(int, F&&) const noexcept {}
  constexpr int threads() const noexcept { return count; }
};

static_assert(Executor<Serial> && Executor<MeasureOnly>, "Serial and MeasureOnly are executors.");

}  // namespace pms

// tests/model/alloc_guard.hpp: counts heap allocations made while a guard is alive (the
// test executable replaces global operator new, see alloc_guard.cpp), to prove inference
// never touches the heap.
#pragma once

#include <atomic>
#include <cstddef>

namespace pms::test {

extern std::atomic<bool> g_counting_allocations;
extern std::atomic<std::size_t> g_allocations;

class AllocationCounter {
 public:
  AllocationCounter() noexcept {
    g_allocations = 0;
    g_counting_allocations = true;
  }
  ~AllocationCounter() { g_counting_allocations = false; }
  std::size_t count() const noexcept { return g_allocations.load(); }
};

}  // namespace pms::test

// tests/model/alloc_guard.hpp: counts heap allocations made while a guard is alive (the
// test executable replaces every global operator new, see alloc_guard.cpp), to prove
// inference never touches the heap.
#pragma once

#include <atomic>
#include <cstddef>

namespace pms::test {

// The replaceable forms of operator new, each replaced by alloc_guard.cpp and counted on its
// own (so test_alloc_guard.cpp can prove that every form reaches its replacement, not one
// the standard library forwards to).
enum class NewForm : int {
  scalar,
  array,
  aligned_scalar,
  aligned_array,
  nothrow_scalar,
  nothrow_array,
  nothrow_aligned_scalar,
  nothrow_aligned_array,
};
inline constexpr int kNewForms = 8;

extern std::atomic<bool> g_counting_allocations;
extern std::atomic<std::size_t> g_allocations[kNewForms];  // indexed by NewForm

class AllocationCounter {
 public:
  AllocationCounter() noexcept {
    for (auto& n : g_allocations) n = 0;
    g_counting_allocations = true;
  }
  ~AllocationCounter() { g_counting_allocations = false; }
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;
  // Allocations of every form since construction.
  std::size_t count() const noexcept {
    std::size_t total = 0;
    for (const auto& n : g_allocations) total += n.load();
    return total;
  }
  std::size_t count(NewForm form) const noexcept { return g_allocations[static_cast<int>(form)].load(); }
};

}  // namespace pms::test

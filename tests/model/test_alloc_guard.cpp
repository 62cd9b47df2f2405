// Positive control for the allocation guard: every form of operator new (plain and aligned,
// scalar and array, throwing and nothrow) is counted, each by its own replacement. Without
// this, a form the guard misses (the nothrow ones ThreadPool uses, say) would let "inference
// allocates nothing" pass while it allocates.
#include <doctest/doctest.h>

#include <cstddef>
#include <new>
#include <string>

#include "alloc_guard.hpp"

namespace {

using pms::test::AllocationCounter;
using pms::test::NewForm;

// Over-aligned: its new-expressions call the align_val_t forms.
struct alignas(2 * __STDCPP_DEFAULT_NEW_ALIGNMENT__) OverAligned {
  char bytes[2 * __STDCPP_DEFAULT_NEW_ALIGNMENT__];
};

// Makes p visible to the optimiser as used, so it cannot elide the new/delete pair
// (new-expressions may be merged or removed since C++14).
template <class T>
void escape(T* p) noexcept {
  asm volatile("" : : "r"(p) : "memory");
}

// Runs the allocation in `f` under a fresh guard: exactly one allocation, of `form`.
// The counts are read before checking: doctest's messages allocate too.
template <class F>
void check_counted_once(NewForm form, const std::string& what, F&& f) {
  std::size_t as_itself = 0, in_all = 0;
  {
    AllocationCounter counter;
    f();
    as_itself = counter.count(form);
    in_all = counter.count();
  }
  CHECK_MESSAGE(as_itself == 1, what << ": counted " << as_itself << " times as itself");
  CHECK_MESSAGE(in_all == 1, what << ": " << in_all << " allocations counted in all");
}

}  // namespace

TEST_CASE("allocation guard: every form of operator new is counted") {
  check_counted_once(NewForm::scalar, "new int", [] {
    int* p = new int(1);
    escape(p);
    delete p;
  });
  check_counted_once(NewForm::array, "new int[n]", [] {
    int* p = new int[7];
    escape(p);
    delete[] p;
  });
  check_counted_once(NewForm::aligned_scalar, "new OverAligned", [] {
    auto* p = new OverAligned;
    escape(p);
    delete p;
  });
  check_counted_once(NewForm::aligned_array, "new OverAligned[n]", [] {
    auto* p = new OverAligned[3];
    escape(p);
    delete[] p;
  });
  check_counted_once(NewForm::nothrow_scalar, "new (nothrow) int", [] {
    int* p = new (std::nothrow) int(1);
    escape(p);
    delete p;
  });
  check_counted_once(NewForm::nothrow_array, "new (nothrow) int[n]", [] {
    int* p = new (std::nothrow) int[7];
    escape(p);
    delete[] p;
  });
  check_counted_once(NewForm::nothrow_aligned_scalar, "new (nothrow) OverAligned", [] {
    auto* p = new (std::nothrow) OverAligned;
    escape(p);
    delete p;
  });
  check_counted_once(NewForm::nothrow_aligned_array, "new (nothrow) OverAligned[n]", [] {
    auto* p = new (std::nothrow) OverAligned[3];
    escape(p);
    delete[] p;
  });
}

TEST_CASE("allocation guard: nothing is counted once the guard is gone") {
  { AllocationCounter counter; }
  int* p = new int(1);
  escape(p);
  delete p;
  std::size_t counted = 0;
  {
    AllocationCounter fresh;
    counted = fresh.count();
  }
  CHECK(counted == 0);
}

// Global operator new/delete replacements, every form the standard declares, that count
// allocations (per form) while a guard is active. All of them allocate with malloc /
// aligned_alloc and release with free, so any new/delete pairing is consistent (a form left
// unreplaced would pair the sanitizer's operator new with this file's free).
#include "alloc_guard.hpp"

#include <cstdlib>
#include <new>

namespace pms::test {
std::atomic<bool> g_counting_allocations{false};
std::atomic<std::size_t> g_allocations[kNewForms] = {};
}  // namespace pms::test

namespace {

using pms::test::NewForm;

// nullptr when the memory is not available.
void* counted_alloc(std::size_t n, std::size_t align, NewForm form) noexcept {
  if (pms::test::g_counting_allocations) ++pms::test::g_allocations[static_cast<int>(form)];
  if (n == 0) n = 1;
  if (align <= alignof(std::max_align_t)) return std::malloc(n);
  if (n > static_cast<std::size_t>(-1) - align) return nullptr;  // the round-up would overflow
  return std::aligned_alloc(align, (n + align - 1) / align * align);
}

// The throwing forms: std::bad_alloc, or (built without exceptions) abort as the standard
// library's own operator new does there.
void* counted_alloc_or_fail(std::size_t n, std::size_t align, NewForm form) {
  void* p = counted_alloc(n, align, form);
  if (p == nullptr) {
#if defined(__cpp_exceptions)
    throw std::bad_alloc();
#else
    std::abort();
#endif
  }
  return p;
}

std::size_t to_size(std::align_val_t a) noexcept { return static_cast<std::size_t>(a); }

}  // namespace

void* operator new(std::size_t n) { return counted_alloc_or_fail(n, 0, NewForm::scalar); }
void* operator new[](std::size_t n) { return counted_alloc_or_fail(n, 0, NewForm::array); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc_or_fail(n, to_size(a), NewForm::aligned_scalar); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc_or_fail(n, to_size(a), NewForm::aligned_array); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0, NewForm::nothrow_scalar); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0, NewForm::nothrow_array); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, to_size(a), NewForm::nothrow_aligned_scalar);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, to_size(a), NewForm::nothrow_aligned_array);
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

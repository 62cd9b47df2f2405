// PageBuffer: alignment by size, the requested size, writable to its last byte (the
// sanitizer build would catch an overrun), moves, and failures that leave it unallocated.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <utility>

#include "pms/core/page_buffer.hpp"

namespace {

using pms::PageBuffer;

std::uintptr_t address(const PageBuffer& b) { return reinterpret_cast<std::uintptr_t>(b.data()); }

}  // namespace

TEST_CASE("PageBuffer: huge-page alignment from 2 MiB up, 64 bytes below") {
  for (const std::size_t bytes : {std::size_t{1}, std::size_t{100}, PageBuffer::kHugePage - 1, PageBuffer::kHugePage,
                                  PageBuffer::kHugePage * 3 + 5}) {
    PageBuffer b(bytes);
    REQUIRE(b.allocated());
    CHECK(b.size() == bytes);
    CHECK(b.span().size() == bytes);
    const std::size_t align = bytes >= PageBuffer::kHugePage ? PageBuffer::kHugePage : PageBuffer::kSmallAlignment;
    CHECK_MESSAGE(address(b) % align == 0, bytes << " bytes at " << address(b));
    std::memset(b.data(), 0x5a, bytes);
    CHECK(static_cast<unsigned char>(b.data()[bytes - 1]) == 0x5a);
  }
}

TEST_CASE("PageBuffer: moves hand the memory over") {
  PageBuffer a(4096);
  std::byte* const p = a.data();
  PageBuffer b(std::move(a));
  CHECK(b.data() == p);
  CHECK(b.size() == 4096);
  CHECK_FALSE(a.allocated());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  CHECK(a.size() == 0);
  PageBuffer c(PageBuffer::kHugePage);
  c = std::move(b);
  CHECK(c.data() == p);
  CHECK(c.size() == 4096);
  CHECK_FALSE(b.allocated());  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("PageBuffer: sizes that cannot be allocated leave it unallocated, without throwing") {
  // Over PTRDIFF_MAX once rounded up: refused before the allocator is asked.
  for (const std::size_t bytes : {static_cast<std::size_t>(-1), static_cast<std::size_t>(-1) - 10,
                                  static_cast<std::size_t>(-1) / 2}) {
    PageBuffer b(bytes);
    CHECK_FALSE(b.allocated());
    CHECK(b.size() == 0);
    CHECK(b.span().empty());
  }
  const PageBuffer none;
  CHECK_FALSE(none.allocated());
}

#if defined(__SANITIZE_ADDRESS__)  // GCC
constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)  // clang
constexpr bool kUnderAddressSanitizer = __has_feature(address_sanitizer);
#else
constexpr bool kUnderAddressSanitizer = false;
#endif

// 256 TiB: a valid size, more than any 48-bit address space holds, so the allocator itself
// returns null. AddressSanitizer's allocator aborts on such a request instead (unless run
// with allocator_may_return_null=1), so a sanitizer build skips this one request.
TEST_CASE("PageBuffer: a size the allocator refuses leaves it unallocated" * doctest::skip(kUnderAddressSanitizer)) {
  PageBuffer b(std::size_t{1} << 48);
  CHECK_FALSE(b.allocated());
  CHECK(b.size() == 0);
}

// pms/core/page_buffer.hpp: an owning byte buffer for weights and workspaces, laid on
// transparent huge pages where the system offers them.
//
// The body streams 4-24 MB of tensors and weights per image; on 4 KiB pages that is a TLB
// entry for every 64 cache lines. A buffer of at least kHugePage bytes is aligned to 2 MiB,
// rounded up to whole huge pages and, where the system has them (Linux, Android), advised
// with madvise(MADV_HUGEPAGE): a hint the kernel may decline, leaving 4 KiB pages. Measured
// (bench/README.md): Tiny's body 2 % and Base's 1 % faster with the weights and the
// workspace in PageBuffers, 1 thread, 512 x 512. Smaller buffers are 64-byte aligned.
//
// Optional: pms itself takes any suitably aligned span. Memory is allocated and its pages
// faulted in when the buffer is made, never during inference; an allocation that fails
// leaves it not allocated() (no exceptions). The contents are unspecified.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace pms {

class PageBuffer {
 public:
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  static constexpr std::size_t kSmallAlignment = 64;
  static constexpr std::size_t kSmallPage = 4096;  // stride of the first touch: the smallest page size

  PageBuffer() noexcept = default;
  // `bytes` bytes; not allocated() if the allocation fails.
  explicit PageBuffer(std::size_t bytes) noexcept {
    const std::size_t align = bytes >= kHugePage ? kHugePage : kSmallAlignment;
    if (bytes > static_cast<std::size_t>(-1) - align) return;  // the round-up would overflow
    const std::size_t reserved = (bytes + align - 1) / align * align;  // aligned_alloc wants a multiple
    // No object may exceed PTRDIFF_MAX bytes: refused here rather than by the allocator, since
    // some allocators (AddressSanitizer's by default) abort on such a request instead of
    // returning null.
    if (reserved > static_cast<std::size_t>(PTRDIFF_MAX)) return;
    data_ = static_cast<std::byte*>(std::aligned_alloc(align, reserved > 0 ? reserved : align));
    if (data_ == nullptr) return;
    size_ = bytes;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == kHugePage) (void)madvise(data_, reserved, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
    // Fault every page in now, at set-up: assembling huge pages can stall a first touch by
    // tens of milliseconds, which would otherwise land in the first inference.
    for (std::size_t i = 0; i < reserved; i += kSmallPage) data_[i] = std::byte{0};
  }
  PageBuffer(PageBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  PageBuffer& operator=(PageBuffer&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr), size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  ~PageBuffer() { std::free(data_); }

  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }  // as requested (the allocation may be larger)
  bool allocated() const noexcept { return data_ != nullptr; }
  std::span<std::byte> span() const noexcept { return {data_, size_}; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace pms

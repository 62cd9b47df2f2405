// pms/core/arena.hpp: a bump allocator over caller-owned bytes (the workspace).
//
// Inference never touches the heap: every buffer comes from an Arena over the workspace the
// caller passes in. The same code runs without memory (base == nullptr) to measure how many
// bytes a plan needs, so the workspace size is computed by the allocation sequence itself
// and cannot drift from it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pms/core/tensor.hpp"

namespace pms {

class Arena {
 public:
  constexpr Arena() noexcept = default;  // measuring arena: hands out nullptr, counts bytes
  constexpr Arena(std::byte* base, std::size_t capacity) noexcept : base_(base), capacity_(capacity) {}

  // n floats, kBufferAlignment-aligned. Returns nullptr when out of space (and when
  // measuring): callers size the workspace with a measuring run first.
  constexpr float* floats(std::size_t n) noexcept {
    const std::size_t bytes = round_up(n * sizeof(float));
    const std::size_t at = used_;
    used_ += bytes;
    if (used_ > peak_) peak_ = used_;
    if (base_ == nullptr || used_ > capacity_) return nullptr;
    return reinterpret_cast<float*>(base_ + at);
  }
  // n int32 values from the same memory (label maps, class lists).
  constexpr std::int32_t* ints(std::size_t n) noexcept {
    float* p = floats(n);
    return p != nullptr ? reinterpret_cast<std::int32_t*>(p) : nullptr;
  }
  constexpr TensorView tensor(int height, int width, int channels) noexcept {
    return make_tensor(floats(tensor_floats(height, width, channels)), height, width, channels);
  }

  // Scoped reuse: everything allocated after mark() is released by release(mark).
  constexpr std::size_t mark() const noexcept { return used_; }
  constexpr void release(std::size_t mark) noexcept { used_ = mark; }

  constexpr std::size_t peak() const noexcept { return peak_; }

  static constexpr std::size_t round_up(std::size_t bytes) noexcept {
    return (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
  }

 private:
  std::byte* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
  std::size_t peak_ = 0;
};

}  // namespace pms

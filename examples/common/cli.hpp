// examples/common/cli.hpp: what the example programs share on the command line: number and
// mode options, and a growable 64-byte-aligned workspace buffer. Errors go through the
// program's own fail(), which prints one line and exits.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>

#include <pms/mobileseg.hpp>

namespace pms_examples {

// `text` as a whole number in [lo, hi], or nothing.
inline std::optional<int> parse_int(const char* text, int lo, int hi) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < lo || v > hi) return std::nullopt;
  return static_cast<int>(v);
}
inline std::string int_range_message(const std::string& flag, int lo, int hi) {
  return flag + " needs a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
}

// --mode auto|vim|exact.
inline std::optional<pms::Upsampling> parse_mode(const std::string& text) {
  if (text == "auto") return pms::Upsampling::automatic;
  if (text == "vim") return pms::Upsampling::vim;
  if (text == "exact") return pms::Upsampling::exact;
  return std::nullopt;
}

// A workspace that grows to the largest size asked for, 64-byte aligned as pms requires.
class AlignedBytes {
 public:
  AlignedBytes() = default;
  explicit AlignedBytes(std::size_t n) { reserve(n); }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  ~AlignedBytes() { release(); }

  void reserve(std::size_t n) {
    if (n <= size_) return;
    release();
    data_ = new (std::align_val_t{64}) std::byte[n];
    size_ = n;
  }
  std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void release() {
    if (data_ != nullptr) ::operator delete[](data_, std::align_val_t{64});
    data_ = nullptr, size_ = 0;
  }
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace pms_examples

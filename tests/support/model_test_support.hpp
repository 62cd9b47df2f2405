// Helpers for whole-network tests: reading a weights file into aligned memory, an aligned
// workspace, and a deterministic test image.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <new>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace pms::test {

struct AlignedBytes {
  struct Free {
    void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{kBufferAlignment}); }
  };
  std::unique_ptr<std::byte[], Free> data;
  std::size_t size = 0;
  AlignedBytes() = default;
  explicit AlignedBytes(std::size_t n) : data(new (std::align_val_t{kBufferAlignment}) std::byte[n ? n : 1]), size(n) {}
  std::span<std::byte> span() const noexcept { return {data.get(), size}; }
  std::span<const std::byte> cspan() const noexcept { return {data.get(), size}; }
};

inline AlignedBytes read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path);
  const auto n = static_cast<std::size_t>(f.tellg());
  AlignedBytes b(n);
  f.seekg(0);
  f.read(reinterpret_cast<char*>(b.data.get()), static_cast<std::streamsize>(n));
  return b;
}

inline std::string repo_path(const std::string& relative) { return std::string(PMS_SOURCE_DIR) + "/" + relative; }

// h x w RGB, smooth gradients plus noise: looks enough like a photo to exercise every class.
inline std::vector<std::uint8_t> test_image(int h, int w, std::uint64_t salt, int channels = 3) {
  auto g = rng(salt);
  std::vector<std::uint8_t> img(static_cast<std::size_t>(h) * w * channels);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) {
        const double v = 128 + 80 * std::sin(0.05 * (x + 2 * c) + 0.03 * y * (c + 1)) + uniform(g, -30.0f, 30.0f);
        img[(static_cast<std::size_t>(y) * w + x) * channels + c] = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
      }
  return img;
}

}  // namespace pms::test

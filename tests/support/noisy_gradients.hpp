// A packed RGB test image (rows of width * 3 bytes): smooth gradients with hashed noise, so a
// CamVid network sees several classes and many activations sit near a quantization step.
// Used where builds compare bits: tests/isa_mix and tests/model/test_int8_identity.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pms::test {

inline std::vector<std::uint8_t> noisy_gradients(int height, int width) {
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(height) * width * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        const unsigned noise = (static_cast<unsigned>(y) * 73856093u ^ static_cast<unsigned>(x) * 19349663u ^
                                static_cast<unsigned>(c) * 83492791u) % 41u;
        rgb[(static_cast<std::size_t>(y) * width + x) * 3 + c] =
            static_cast<std::uint8_t>((x * (c + 1) * 255 / width + y * (3 - c) * 255 / height) / 2 % 216 + noise);
      }
  return rgb;
}

}  // namespace pms::test

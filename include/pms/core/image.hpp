// pms/core/image.hpp: the 8-bit input image a user hands to pms, and its normalisation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pms {

// Channel order of interleaved 8-bit pixels. The network always sees RGB.
enum class PixelFormat : std::uint8_t { rgb, bgr, rgba, bgra };

constexpr int bytes_per_pixel(PixelFormat f) noexcept { return f == PixelFormat::rgb || f == PixelFormat::bgr ? 3 : 4; }
// Byte offset of the red channel within a pixel; blue is at 2 - red_offset.
constexpr int red_offset(PixelFormat f) noexcept { return f == PixelFormat::rgb || f == PixelFormat::rgba ? 0 : 2; }

// Pixel (y, x) channel c (in the format's order) is at pixels[y * row_stride + x * bytes_per_pixel(format) + c].
struct ImageView {
  const std::uint8_t* pixels = nullptr;
  int height = 0;
  int width = 0;
  std::ptrdiff_t row_stride = 0;  // bytes between rows, >= width * bytes_per_pixel(format)
  PixelFormat format = PixelFormat::rgb;
};

// x = (pixel / 255 - mean[c]) / std[c], RGB order (spec section 3).
struct Normalization {
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet's, as ADE20K and CamVid use
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

}  // namespace pms

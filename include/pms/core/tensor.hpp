// pms/core/tensor.hpp: non-owning views of activation tensors.
//
// Layout ("padded channels-last", batch 1): element (y, x, c) of an H x W x C tensor is at
//   data[(y * width + x) * stride + c],   stride = padded_channels(C) = round_up(C, 16).
// The padding makes every pixel a whole number of SIMD vectors for every ISA pms targets
// (4, 8 or 16 floats), so kernels have no channel tails, and it is fixed at 16 so packed
// weights are the same file for every ISA. Pad lanes hold finite values (producers write
// whole vectors); consumers never let them reach a real channel (pointwise weights have
// rows only for real input channels, depthwise weights are zero in pad lanes).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pms {

inline constexpr int kChannelAlign = 16;           // floats; the widest vector pms uses (AVX-512)
inline constexpr std::size_t kBufferAlignment = 64;  // bytes; every tensor and weight starts here

constexpr int padded_channels(int c) noexcept { return (c + kChannelAlign - 1) / kChannelAlign * kChannelAlign; }

// Half-open range of rows [begin, end): the unit of work split across threads and row tiles.
struct RowRange {
  int begin = 0;
  int end = 0;
  constexpr int size() const noexcept { return end - begin; }
};

template <class T>
struct BasicTensorView {
  T* data = nullptr;
  int height = 0;
  int width = 0;
  int channels = 0;
  int stride = 0;  // floats between neighbouring pixels, = padded_channels(channels)

  constexpr T* pixel(int y, int x) const noexcept {
    return data + (static_cast<std::ptrdiff_t>(y) * width + x) * stride;
  }
  constexpr T* row(int y) const noexcept { return pixel(y, 0); }
  constexpr std::size_t size() const noexcept {  // floats, padding included
    return static_cast<std::size_t>(height) * width * stride;
  }
  constexpr RowRange all_rows() const noexcept { return {0, height}; }
  // A const view of a mutable tensor converts implicitly.
  constexpr operator BasicTensorView<const T>() const noexcept { return {data, height, width, channels, stride}; }
};

using TensorView = BasicTensorView<float>;
using ConstTensorView = BasicTensorView<const float>;

// Makes a view over caller memory with the padded stride.
constexpr TensorView make_tensor(float* data, int height, int width, int channels) noexcept {
  return {data, height, width, channels, padded_channels(channels)};
}
constexpr std::size_t tensor_floats(int height, int width, int channels) noexcept {
  return static_cast<std::size_t>(height) * width * padded_channels(channels);
}

// A channel slice [begin, begin + channels) of a wider tensor, sharing its stride.
// begin is a multiple of kChannelAlign so the slice stays vector-aligned.
template <class T>
constexpr BasicTensorView<T> channel_slice(BasicTensorView<T> t, int begin, int channels) noexcept {
  return {t.data != nullptr ? t.data + begin : nullptr, t.height, t.width, channels, t.stride};
}

}  // namespace pms

// pms/core/label_map.hpp: where segment() writes its labels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace pms {

// Label types segment() writes: one class id per pixel.
template <class Label>
inline constexpr bool is_label_type_v =
    std::is_same_v<Label, std::uint8_t> || std::is_same_v<Label, std::uint16_t> || std::is_same_v<Label, std::int32_t>;

// Labels of one image: element (y, x) at data[y * stride + x].
template <class Label>
struct LabelMap {
  Label* data = nullptr;
  int height = 0;
  int width = 0;
  std::ptrdiff_t stride = 0;  // elements between rows, >= width
};

}  // namespace pms

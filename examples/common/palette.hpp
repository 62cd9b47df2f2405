// examples/common/palette.hpp: class names and colours for the data sets pms knows by their
// class count (CamVid 11, Cityscapes 19, ADE20K 150), and a generated palette otherwise.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace pms_examples {

struct ClassInfo {
  const char* name;
  std::uint8_t r, g, b;
};

// CamVid 11-class (SegNet) with its conventional palette.
inline constexpr std::array<ClassInfo, 11> kCamVid{{{"sky", 128, 128, 128},
                                                    {"building", 128, 0, 0},
                                                    {"pole", 192, 192, 128},
                                                    {"road", 128, 64, 128},
                                                    {"pavement", 60, 40, 222},
                                                    {"tree", 128, 128, 0},
                                                    {"sign/symbol", 192, 128, 128},
                                                    {"fence", 64, 64, 128},
                                                    {"car", 64, 0, 128},
                                                    {"pedestrian", 64, 64, 0},
                                                    {"bicyclist", 0, 128, 192}}};

// Cityscapes 19 training classes with the official palette.
inline constexpr std::array<ClassInfo, 19> kCityscapes{{{"road", 128, 64, 128},     {"sidewalk", 244, 35, 232},
                                                        {"building", 70, 70, 70},    {"wall", 102, 102, 156},
                                                        {"fence", 190, 153, 153},    {"pole", 153, 153, 153},
                                                        {"traffic light", 250, 170, 30}, {"traffic sign", 220, 220, 0},
                                                        {"vegetation", 107, 142, 35}, {"terrain", 152, 251, 152},
                                                        {"sky", 70, 130, 180},       {"person", 220, 20, 60},
                                                        {"rider", 255, 0, 0},        {"car", 0, 0, 142},
                                                        {"truck", 0, 0, 70},         {"bus", 0, 60, 100},
                                                        {"train", 0, 80, 100},       {"motorcycle", 0, 0, 230},
                                                        {"bicycle", 119, 11, 32}}};

// A distinct colour for class c of any class count (ADE20K's 150 included): the bit-reversal
// palette used by PASCAL VOC and PaddleSeg's visualiser.
inline std::array<std::uint8_t, 3> generated_colour(int c) {
  std::array<std::uint8_t, 3> rgb{0, 0, 0};
  int label = c;
  for (int bit = 7; bit >= 0 && label > 0; --bit, label >>= 3)
    for (int ch = 0; ch < 3; ++ch) rgb[ch] |= static_cast<std::uint8_t>(((label >> ch) & 1) << bit);
  return rgb;
}

inline std::array<std::uint8_t, 3> class_colour(int num_classes, int c) {
  if (num_classes == 11 && c < 11) return {kCamVid[c].r, kCamVid[c].g, kCamVid[c].b};
  if (num_classes == 19 && c < 19) return {kCityscapes[c].r, kCityscapes[c].g, kCityscapes[c].b};
  return generated_colour(c);
}

inline std::string class_name(int num_classes, int c) {
  if (num_classes == 11 && c < 11) return kCamVid[c].name;
  if (num_classes == 19 && c < 19) return kCityscapes[c].name;
  return "class " + std::to_string(c);
}

}  // namespace pms_examples

// examples/common/decoded_image.hpp: what the example tools' image decoders (decode_png.hpp,
// decode_jpeg.hpp, decode_pnm.hpp) are asked for and what they answer. Not part of the library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pms_examples {

// The samples a caller wants from a file.
enum class Samples {
  rgb8,       // 3 bytes per pixel, R G B: colour as is, grey replicated, alpha dropped,
              // palette looked up, other depths converted to 8 bits
  class_ids8  // 1 byte per pixel, the value the file stores, unconverted: 8-bit grey, or
              // palette indices (what PIL, and so PaddleSeg, reads from a label map);
              // anything else refused (PIL scales grey of fewer bits: 4-bit 3 reads as 51)
};

struct DecodeRequest {
  Samples samples = Samples::rgb8;
  long long max_pixels = 0;  // larger images are refused before their pixels are decoded
  bool header_only = false;  // stop after the size (pixels stays empty)
};

// Pixels packed row after row (stride = width * samples per pixel).
struct DecodedImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;
};

enum class DecodeStatus {
  ok,
  unreadable,     // not an image of a format read here, or damaged; `detail` says why
  not_class_ids,  // a readable image whose samples are not 8-bit class ids (class_ids8 only)
  too_large,      // width * height > max_pixels; width and height are set
  no_memory       // the pixel buffer could not be allocated
};

// A decoder's message made printable on one line: bytes outside printable ASCII (a chunk
// type quoted from the file, say) become '?'.
inline std::string printable(const char* text) {
  std::string s = text != nullptr && *text != '\0' ? text : "unknown reason";
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  return s;
}

}  // namespace pms_examples

// examples/common/image_io.hpp: reading and writing images for the example programs, with
// Debian's stb_image / stb_image_write (PNG, JPEG, PPM/PGM, BMP, ...). Not part of the library.
#pragma once

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace pms_examples {

// Images with more pixels are refused before decoding: 16384 x 16384, the largest side pms
// takes, is 805 MB as RGB (stb itself would allocate up to 2 GB for a crafted header).
inline constexpr long long kMaxDecodePixels = 16384LL * 16384;

// An interleaved 8-bit RGB image, rows packed (stride = 3 * width).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;
};

// stb's reason for the last failure, printable: some reasons quote bytes of the file (an
// unknown PNG chunk's type), which could otherwise put line breaks or terminal control
// codes into the one-line error. Bytes outside printable ASCII become '?'.
inline std::string decoder_failure() {
  const char* reason = stbi_failure_reason();
  std::string text = reason != nullptr ? reason : "unknown reason";
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  return text;
}

// For a binary PGM/PPM (P5/P6): whether the file holds all the pixel bytes its header
// promises. Debian's stb_image decodes a truncated one without complaint, filling the rest
// with whatever memory held. Other formats: true (stb checks them itself).
inline bool pnm_complete(std::FILE* f) {
  char magic[2] = {};
  if (std::fread(magic, 1, 2, f) != 2 || magic[0] != 'P' || (magic[1] != '5' && magic[1] != '6')) return true;
  long values[3] = {};  // width, height, maxval
  int c = std::fgetc(f);
  for (long& v : values) {
    while (c == '#' || std::isspace(c)) {  // whitespace and comment lines
      if (c == '#')
        while (c != '\n' && c != EOF) c = std::fgetc(f);
      c = std::fgetc(f);
    }
    if (!std::isdigit(c)) return false;
    for (; std::isdigit(c) && v < (1L << 24); c = std::fgetc(f)) v = v * 10 + (c - '0');  // bounded: no overflow below
  }
  // c is the single whitespace byte that ends the header; the pixels follow.
  const long header = std::ftell(f);
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  const long channels = magic[1] == '6' ? 3 : 1, bytes = values[2] > 255 ? 2 : 1;
  return size - header >= values[0] * values[1] * channels * bytes;
}

// For a JPEG: whether every Huffman table it defines (marker FF C4) has at most 256 codes.
// Debian's stb_image 2.27 does not check this and writes a larger table past its arrays
// (fixed upstream in 2.28); tables are read as stb reads them: from every DHT marker, table
// after table while the segment length is not used up, each a class/id byte, 16 code counts
// and their symbols; bytes past the end of the file count as 0, as stb reads them. Scanning
// every FF C4 byte pair (not only real markers) can refuse a valid file only if other data
// holds FF C4 followed by counts above 256. Other formats: true.
inline bool jpeg_huffman_tables_ok(std::FILE* f) {
  // stb takes any file starting FF (fill bytes, then D8) for a JPEG.
  std::vector<unsigned char> b;
  unsigned char head[2] = {};
  if (std::fread(head, 1, 2, f) != 2 || head[0] != 0xFF) return true;
  b.assign(head, head + 2);
  unsigned char chunk[4096];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, f)) > 0;) b.insert(b.end(), chunk, chunk + n);
  for (std::size_t i = 1; i + 4 <= b.size(); ++i) {
    if (b[i] != 0xFF || b[i + 1] != 0xC4) continue;
    long remaining = static_cast<long>(b[i + 2] << 8 | b[i + 3]) - 2;
    for (std::size_t t = i + 4; remaining > 0 && t < b.size();) {
      int codes = 0;
      for (std::size_t k = 1; k <= 16; ++k) codes += t + k < b.size() ? b[t + k] : 0;  // stb reads 0 past the end
      if (codes > 256) return false;
      t += 17 + static_cast<std::size_t>(codes);
      remaining -= 17 + codes;
    }
  }
  return true;
}

// For a PNG: whether its first IDAT chunk holds data. For an empty first IDAT, stb_image 2.27
// has allocated no buffer yet and calls memcpy with a null destination (undefined behaviour,
// reported by UBSan, harmless on common C libraries); an empty first IDAT is legal but no
// encoder writes one, so such a file is refused. Chunks are walked as stb reads them: the
// 8-byte signature, then length (big-endian), type, data and CRC. Other formats, and a PNG
// that ends before its first IDAT: true (stb reports those itself).
inline bool png_first_idat_nonempty(std::FILE* f) {
  static constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  unsigned char signature[8] = {};
  if (std::fread(signature, 1, 8, f) != 8 || std::memcmp(signature, kSignature, 8) != 0) return true;
  for (unsigned char head[8]; std::fread(head, 1, 8, f) == 8;) {
    const unsigned long length = static_cast<unsigned long>(head[0]) << 24 | static_cast<unsigned long>(head[1]) << 16 |
                                 static_cast<unsigned long>(head[2]) << 8 | head[3];
    if (std::memcmp(head + 4, "IDAT", 4) == 0) return length != 0;
    if (length > 0x7fffffffUL || std::fseek(f, static_cast<long>(length) + 4, SEEK_CUR) != 0) return true;
  }
  return true;
}

// Opens an image file for stb, refusing up front a truncated PGM/PPM, a JPEG that would
// overflow stb's Huffman tables and a PNG whose first IDAT chunk is empty; nullptr (with a
// one-line `error`) on failure.
inline std::FILE* open_image(const std::string& path, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    error = "cannot open " + path;
    return nullptr;
  }
  // Each check reads f from its start and answers true for formats it does not concern.
  struct Guard {
    bool (*passes)(std::FILE*);
    const char* reason;
  };
  static constexpr Guard kGuards[] = {
      {pnm_complete, "truncated PGM/PPM"},
      {jpeg_huffman_tables_ok, "JPEG Huffman table with more than 256 codes"},
      {png_first_idat_nonempty, "PNG whose first IDAT chunk is empty"},
  };
  for (const Guard& guard : kGuards) {
    const bool passes = guard.passes(f);
    std::rewind(f);
    if (!passes) {
      std::fclose(f);
      error = path + ": not a readable image (" + guard.reason + ")";
      return nullptr;
    }
  }
  return f;
}

// The size the header of the opened file f states (f stays open, at its start); false with a
// one-line `error` if stb cannot read the header.
inline bool header_size(std::FILE* f, const std::string& path, int& width, int& height, std::string& error) {
  int channels = 0;
  if (stbi_info_from_file(f, &width, &height, &channels) == 0) {
    error = path + ": not a readable image (" + decoder_failure() + ")";
    return false;
  }
  return true;
}

// The width and height an image file's header states, without decoding it (so a tool can
// budget memory first). On failure returns false and sets `error` to one line.
inline bool read_image_size(const std::string& path, int& width, int& height, std::string& error) {
  std::FILE* f = open_image(path, error);
  if (f == nullptr) return false;
  const bool ok = header_size(f, path, width, height, error);
  std::fclose(f);
  return ok;
}

// Decodes the opened file f (then closes it) into `channels` 8-bit channels per pixel, rows
// packed. Images of more than max_pixels pixels are refused before decoding. On failure
// returns false and sets `error` to one line.
inline bool decode_8bit(std::FILE* f, const std::string& path, int channels, int& width, int& height,
                        std::vector<std::uint8_t>& pixels, std::string& error, long long max_pixels = kMaxDecodePixels) {
  int w = 0, h = 0, in_file = 0;
  if (!header_size(f, path, w, h, error)) {
    std::fclose(f);
    return false;
  }
  if (static_cast<long long>(w) * h > max_pixels) {
    std::fclose(f);
    error = path + ": image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels is too large to decode (at most " +
            std::to_string(max_pixels) + " pixels)";
    return false;
  }
  std::unique_ptr<std::uint8_t, void (*)(void*)> data(stbi_load_from_file(f, &w, &h, &in_file, channels), stbi_image_free);
  std::fclose(f);
  if (!data) {
    error = path + ": not a readable image (" + decoder_failure() + ")";
    return false;
  }
  if (w <= 0 || h <= 0) {
    error = path + ": image has no pixels";
    return false;
  }
  try {
    pixels.assign(data.get(), data.get() + static_cast<std::size_t>(w) * h * channels);
  } catch (const std::bad_alloc&) {
    error = path + ": no memory to hold the decoded " + std::to_string(w) + "x" + std::to_string(h) + " image";
    return false;
  }
  width = w;
  height = h;
  return true;
}

// Loads any image stb can decode as RGB. On failure returns false and sets `error` to one line.
inline bool load_rgb(const std::string& path, RgbImage& out, std::string& error, long long max_pixels = kMaxDecodePixels) {
  std::FILE* f = open_image(path, error);
  return f != nullptr && decode_8bit(f, path, 3, out.width, out.height, out.pixels, error, max_pixels);
}

// An 8-bit single-channel image (e.g. a label PNG: one class id per pixel), rows packed.
struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;
};

// Loads a file that stores exactly one 8-bit channel (grayscale PNG, PGM, ...) without any
// conversion, so the values are class ids. Colour, grey+alpha and 16-bit files are refused:
// stb would convert them (palette PNGs expand to RGB, 16 bits scale to 8), which would
// silently change the ids. On failure returns false and sets `error` to one line.
inline bool load_gray8(const std::string& path, GrayImage& out, std::string& error, long long max_pixels = kMaxDecodePixels) {
  std::FILE* f = open_image(path, error);
  if (f == nullptr) return false;
  int w = 0, h = 0, channels = 0;
  if (stbi_info_from_file(f, &w, &h, &channels) == 0) {
    std::fclose(f);
    error = path + ": not a readable image (" + decoder_failure() + ")";
    return false;
  }
  if (channels != 1 || stbi_is_16_bit_from_file(f) != 0) {
    std::fclose(f);
    error = path + ": not an 8-bit single-channel (grayscale) image; label maps must store class ids as 8-bit grey values";
    return false;
  }
  return decode_8bit(f, path, 1, out.width, out.height, out.pixels, error, max_pixels);
}

// Bilinear resize with half-pixel centres (OpenCV's INTER_LINEAR), rounded to 8 bits.
inline RgbImage resize_rgb(const RgbImage& in, int out_w, int out_h) {
  RgbImage out;
  out.width = out_w;
  out.height = out_h;
  out.pixels.resize(static_cast<std::size_t>(out_w) * out_h * 3);
  const double sy = static_cast<double>(in.height) / out_h, sx = static_cast<double>(in.width) / out_w;
  for (int y = 0; y < out_h; ++y) {
    double fy = std::max(0.0, (y + 0.5) * sy - 0.5);
    const int y0 = std::min(static_cast<int>(fy), in.height - 1), y1 = std::min(y0 + 1, in.height - 1);
    const double ly = fy - y0;
    for (int x = 0; x < out_w; ++x) {
      double fx = std::max(0.0, (x + 0.5) * sx - 0.5);
      const int x0 = std::min(static_cast<int>(fx), in.width - 1), x1 = std::min(x0 + 1, in.width - 1);
      const double lx = fx - x0;
      for (int c = 0; c < 3; ++c) {
        auto at = [&](int yy, int xx) { return static_cast<double>(in.pixels[(static_cast<std::size_t>(yy) * in.width + xx) * 3 + c]); };
        const double v = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
        out.pixels[(static_cast<std::size_t>(y) * out_w + x) * 3 + c] = static_cast<std::uint8_t>(std::min(255.0, v + 0.5));
      }
    }
  }
  return out;
}

inline bool write_png(const std::string& path, int w, int h, int channels, const void* data, int stride_bytes) {
  return stbi_write_png(path.c_str(), w, h, channels, data, stride_bytes) != 0;
}

}  // namespace pms_examples

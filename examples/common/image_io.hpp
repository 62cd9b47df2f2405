// examples/common/image_io.hpp: reading and writing images for the example programs: PNG
// (libpng), JPEG (libjpeg-turbo) and binary PGM/PPM (decode_pnm.hpp), told apart by their
// first bytes, and a bilinear shrink. Not part of the library.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "common/decode_jpeg.hpp"
#include "common/decode_png.hpp"
#include "common/decode_pnm.hpp"
#include "common/decoded_image.hpp"

namespace pms_examples {

// Images with more pixels are refused before decoding: 16384 x 16384, the largest side pms
// takes, is 805 MB as RGB.
inline constexpr long long kMaxDecodePixels = 16384LL * 16384;

// An interleaved 8-bit RGB image, rows packed (stride = 3 * width).
using RgbImage = DecodedImage;
// An 8-bit single-channel image (a label map: one class id per pixel), rows packed.
using GrayImage = DecodedImage;

enum class ImageFormat { png, jpeg, pnm, unknown };

// The format of the file f from its first bytes (f is left at its start).
inline ImageFormat sniff_format(std::FILE* f) {
  static constexpr unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  unsigned char head[8] = {};
  const std::size_t n = std::fread(head, 1, sizeof head, f);
  std::rewind(f);
  if (n == 8 && std::memcmp(head, kPng, 8) == 0) return ImageFormat::png;
  if (n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return ImageFormat::jpeg;
  if (n >= 2 && head[0] == 'P' && head[1] >= '1' && head[1] <= '7') return ImageFormat::pnm;
  return ImageFormat::unknown;
}

// Decodes the file at `path` as `request` asks. On failure returns false and sets `error` to
// one printable line that names the file.
inline bool decode_image(const std::string& path, const DecodeRequest& request, DecodedImage& out, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    error = "cannot open " + path;
    return false;
  }
  DecodedImage image;
  std::string detail;
  DecodeStatus status = DecodeStatus::unreadable;
  switch (sniff_format(f)) {
    case ImageFormat::png: status = decode_png(f, request, image, detail); break;
    case ImageFormat::jpeg: status = decode_jpeg(f, request, image, detail); break;
    case ImageFormat::pnm: status = decode_pnm(f, request, image, detail); break;
    case ImageFormat::unknown: detail = "not PNG, JPEG, PGM or PPM"; break;
  }
  std::fclose(f);
  switch (status) {
    case DecodeStatus::ok: out = std::move(image); return true;
    case DecodeStatus::unreadable: error = path + ": not a readable image (" + detail + ")"; break;
    case DecodeStatus::not_class_ids:
      error = path + ": not a label map (class ids must be stored as 8-bit grey values or palette indices)";
      break;
    case DecodeStatus::too_large:
      error = path + ": image of " + std::to_string(image.width) + "x" + std::to_string(image.height) +
              " pixels is too large to decode (at most " + std::to_string(request.max_pixels) + " pixels)";
      break;
    case DecodeStatus::no_memory:
      error = path + ": no memory to hold the decoded " + std::to_string(image.width) + "x" + std::to_string(image.height) + " image";
      break;
  }
  return false;
}

// The width and height an image file's header states, without decoding its pixels (so a
// tool can budget memory first). On failure returns false and sets `error` to one line.
inline bool read_image_size(const std::string& path, int& width, int& height, std::string& error) {
  DecodedImage header;
  if (!decode_image(path, {Samples::rgb8, std::numeric_limits<long long>::max(), true}, header, error)) return false;
  width = header.width;
  height = header.height;
  return true;
}

// Loads an image as 8-bit RGB. On failure returns false and sets `error` to one line.
inline bool load_rgb(const std::string& path, RgbImage& out, std::string& error, long long max_pixels = kMaxDecodePixels) {
  return decode_image(path, {Samples::rgb8, max_pixels, false}, out, error);
}

// Loads a label map: the class id of each pixel exactly as the file stores it (8-bit grey PNG
// or PGM, palette PNG indices as PIL reads them, greyscale JPEG). Colour, grey+alpha, 16-bit
// and 1-4-bit grey files are refused: converting them would silently change the ids.
inline bool load_gray8(const std::string& path, GrayImage& out, std::string& error, long long max_pixels = kMaxDecodePixels) {
  return decode_image(path, {Samples::class_ids8, max_pixels, false}, out, error);
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

}  // namespace pms_examples

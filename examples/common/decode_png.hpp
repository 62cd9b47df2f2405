// examples/common/decode_png.hpp: PNG reading and writing for the example tools, with Debian's
// libpng (maintained, fuzzed upstream). Not part of the library.
//
// libpng reports an error by longjmp to the last setjmp. Each function below that calls
// setjmp does one phase of the work, owns no object with a destructor (a longjmp would skip
// it) and leaves every result in its caller's variables.
#pragma once

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <new>
#include <string>
#include <vector>

#include "common/decoded_image.hpp"

namespace pms_examples {

namespace png_detail {

// Where the error callback leaves libpng's message before it jumps.
struct ErrorSink {
  char message[200];
};

[[noreturn]] inline void on_error(png_structp png, png_const_charp message) {
  auto* sink = static_cast<ErrorSink*>(png_get_error_ptr(png));
  std::snprintf(sink->message, sizeof sink->message, "%s", message != nullptr ? message : "");
  png_longjmp(png, 1);
}

// Warnings (a damaged ancillary chunk, say) do not stop decoding and are not printed: the
// tools promise at most one line on stderr.
inline void on_warning(png_structp, png_const_charp) {}

// The header and what one row holds after the transforms chosen for `samples`.
struct RowLayout {
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  std::size_t row_bytes = 0;
  bool class_ids = false;  // the file stores class ids: 8-bit grey or palette indices
};

// Phase 1: the header, and the transforms that turn each row into `samples`.
inline bool read_header(png_structp png, png_infop info, std::FILE* f, Samples samples, RowLayout& layout) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, f);
  png_read_info(png, info);
  layout.width = png_get_image_width(png, info);
  layout.height = png_get_image_height(png, info);
  const int colour = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  layout.class_ids = (colour == PNG_COLOR_TYPE_GRAY && depth == 8) || colour == PNG_COLOR_TYPE_PALETTE;
  if (samples == Samples::class_ids8) {
    if (depth < 8) png_set_packing(png);  // palette indices of 1-4 bits: one byte each, unscaled
  } else {
    if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);  // the high byte
    png_set_strip_alpha(png);                // also drops the alpha a palette's tRNS would add
    if ((colour & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  layout.row_bytes = png_get_rowbytes(png, info);
  return true;
}

// Phase 2: every row (all passes of an interlaced file).
inline bool read_rows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;
}

inline bool write_rows(png_structp png, png_infop info, std::FILE* f, int width, int height, int channels,
                       const unsigned char* data, std::size_t stride_bytes) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y) png_write_row(png, data + static_cast<std::size_t>(y) * stride_bytes);
  png_write_end(png, info);
  return true;
}

}  // namespace png_detail

// Decodes the PNG file f (positioned at its start) as `request` asks. On anything but ok,
// `detail` says why where the status alone does not.
inline DecodeStatus decode_png(std::FILE* f, const DecodeRequest& request, DecodedImage& out, std::string& detail) {
  png_detail::ErrorSink sink{};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &sink, png_detail::on_error, png_detail::on_warning);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  struct Release {
    png_structp& png;
    png_infop& info;
    ~Release() { png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr); }
  } release{png, info};
  if (info == nullptr) return DecodeStatus::no_memory;

  png_detail::RowLayout layout;
  if (!png_detail::read_header(png, info, f, request.samples, layout)) {
    detail = printable(sink.message);
    return DecodeStatus::unreadable;
  }
  // libpng refuses sides over its default limit of 1,000,000 pixels, so these fit an int.
  out.width = static_cast<int>(layout.width);
  out.height = static_cast<int>(layout.height);
  if (request.samples == Samples::class_ids8 && !layout.class_ids) return DecodeStatus::not_class_ids;
  if (static_cast<long long>(out.width) * out.height > request.max_pixels) return DecodeStatus::too_large;
  if (request.header_only) return DecodeStatus::ok;
  const std::size_t samples_per_pixel = request.samples == Samples::rgb8 ? 3 : 1;
  if (layout.row_bytes != samples_per_pixel * layout.width) {
    detail = "unexpected row layout after conversion";
    return DecodeStatus::unreadable;
  }
  std::vector<png_bytep> rows;
  try {
    out.pixels.resize(layout.row_bytes * layout.height);
    rows.resize(layout.height);
  } catch (const std::bad_alloc&) {
    return DecodeStatus::no_memory;
  }
  for (png_uint_32 y = 0; y < layout.height; ++y) rows[y] = out.pixels.data() + y * layout.row_bytes;
  if (!png_detail::read_rows(png, rows.data())) {
    out.pixels.clear();
    detail = printable(sink.message);
    return DecodeStatus::unreadable;
  }
  return DecodeStatus::ok;
}

// Writes 8-bit grey (channels 1) or RGB (channels 3) pixels, rows stride_bytes apart, as a PNG.
inline bool write_png(const std::string& path, int width, int height, int channels, const void* data, int stride_bytes) {
  if (width <= 0 || height <= 0 || (channels != 1 && channels != 3) || stride_bytes < width * channels) return false;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  png_detail::ErrorSink sink{};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, png_detail::on_error, png_detail::on_warning);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  const bool written = info != nullptr && png_detail::write_rows(png, info, f, width, height, channels,
                                                                 static_cast<const unsigned char*>(data),
                                                                 static_cast<std::size_t>(stride_bytes));
  png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
  return std::fclose(f) == 0 && written;
}

}  // namespace pms_examples

// examples/common/decode_jpeg.hpp: JPEG reading for the example tools, with Debian's
// libjpeg-turbo (maintained, fuzzed upstream; the decoder PIL uses, so the tools see the
// pixels the Python reference sees). Not part of the library.
//
// libjpeg reports an error through error_exit, which must not return: it longjmps to the
// setjmp of the phase in progress. Each function that calls setjmp owns no object with a
// destructor (a longjmp would skip it) and leaves every result in its caller's variables.
#pragma once

#include <cstdio>  // before jpeglib.h, which uses FILE

#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>
#include <new>
#include <string>

#include "common/decoded_image.hpp"

namespace pms_examples {

namespace jpeg_detail {

// Progressive files with more scans are refused: each scan is a pass over the whole
// coefficient buffer, so a small file of thousands of tiny scans would take minutes.
inline constexpr int kMaxScans = 500;

// libjpeg's error manager with what the callbacks need; `manager` first, so the pointer
// libjpeg hands back (cinfo->err) is a pointer to the whole sink.
struct ErrorSink {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;  // the data ended early: libjpeg warns, fills the rest with grey and goes on
};

[[noreturn]] inline void on_error(j_common_ptr cinfo) {
  auto* sink = reinterpret_cast<ErrorSink*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, sink->message);
  std::longjmp(sink->jump, 1);
}

// Warnings and traces are not printed (the tools promise at most one line on stderr); the
// one that says the file ends early is remembered.
inline void on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) reinterpret_cast<ErrorSink*>(cinfo->err)->truncated = true;
}

inline void limit_scans(j_common_ptr cinfo) {
  const auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (cinfo->is_decompressor && d->input_scan_number > kMaxScans) {
    auto* sink = reinterpret_cast<ErrorSink*>(cinfo->err);
    std::snprintf(sink->message, sizeof sink->message, "progressive JPEG of more than %d scans", kMaxScans);
    std::longjmp(sink->jump, 1);
  }
}

// Phase 1: the header, and the output colour space for `samples`. `kind_ok`: the file can
// give those samples (one component for class ids; not CMYK, which libjpeg cannot turn into RGB).
inline bool read_header(jpeg_decompress_struct& cinfo, ErrorSink& sink, std::FILE* f, Samples samples, bool& kind_ok) {
  if (setjmp(sink.jump)) return false;
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f);
  jpeg_read_header(&cinfo, TRUE);
  if (samples == Samples::class_ids8) {
    kind_ok = cinfo.num_components == 1;
    cinfo.out_color_space = JCS_GRAYSCALE;
  } else {
    kind_ok = cinfo.jpeg_color_space != JCS_CMYK && cinfo.jpeg_color_space != JCS_YCCK;
    cinfo.out_color_space = JCS_RGB;
  }
  return true;
}

// Phase 2: every scanline, into rows of `row_bytes` (the caller checked the size).
inline bool read_rows(jpeg_decompress_struct& cinfo, ErrorSink& sink, unsigned char* pixels, std::size_t row_bytes) {
  if (setjmp(sink.jump)) return false;
  jpeg_start_decompress(&cinfo);
  if (static_cast<std::size_t>(cinfo.output_width) * cinfo.output_components != row_bytes) {
    std::snprintf(sink.message, sizeof sink.message, "unexpected row layout after conversion");
    return false;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = pixels + static_cast<std::size_t>(cinfo.output_scanline) * row_bytes;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  return true;
}

}  // namespace jpeg_detail

// Decodes the JPEG file f (positioned at its start) as `request` asks. On anything but ok,
// `detail` says why where the status alone does not. A file that ends before its last
// scanline is refused (libjpeg alone would fill the rest with grey).
inline DecodeStatus decode_jpeg(std::FILE* f, const DecodeRequest& request, DecodedImage& out, std::string& detail) {
  jpeg_detail::ErrorSink sink{};
  jpeg_decompress_struct cinfo{};
  cinfo.err = jpeg_std_error(&sink.manager);
  sink.manager.error_exit = jpeg_detail::on_error;
  sink.manager.emit_message = jpeg_detail::on_message;
  jpeg_progress_mgr progress{};
  progress.progress_monitor = jpeg_detail::limit_scans;
  struct Release {
    jpeg_decompress_struct& cinfo;
    ~Release() { jpeg_destroy_decompress(&cinfo); }  // also after a failed create (cinfo.mem null)
  } release{cinfo};

  bool kind_ok = false;
  if (!jpeg_detail::read_header(cinfo, sink, f, request.samples, kind_ok)) {
    detail = printable(sink.message);
    return DecodeStatus::unreadable;
  }
  cinfo.progress = &progress;
  out.width = static_cast<int>(cinfo.image_width);  // at most 65500 (JPEG_MAX_DIMENSION)
  out.height = static_cast<int>(cinfo.image_height);
  if (!kind_ok && request.samples == Samples::class_ids8) return DecodeStatus::not_class_ids;
  if (!kind_ok) {
    detail = "CMYK JPEG, not read here";
    return DecodeStatus::unreadable;
  }
  if (static_cast<long long>(out.width) * out.height > request.max_pixels) return DecodeStatus::too_large;
  if (request.header_only) return DecodeStatus::ok;
  const std::size_t row_bytes = static_cast<std::size_t>(out.width) * (request.samples == Samples::rgb8 ? 3 : 1);
  try {
    out.pixels.resize(row_bytes * static_cast<std::size_t>(out.height));
  } catch (const std::bad_alloc&) {
    return DecodeStatus::no_memory;
  }
  if (!jpeg_detail::read_rows(cinfo, sink, out.pixels.data(), row_bytes)) {
    out.pixels.clear();
    detail = printable(sink.message);
    return DecodeStatus::unreadable;
  }
  if (sink.truncated) {
    out.pixels.clear();
    detail = "truncated JPEG: the data ends before the last row";
    return DecodeStatus::unreadable;
  }
  return DecodeStatus::ok;
}

}  // namespace pms_examples

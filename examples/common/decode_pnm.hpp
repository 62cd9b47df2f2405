// examples/common/decode_pnm.hpp: binary PGM (P5) and PPM (P6) reading for the example tools,
// written here (the format is a text header and raw samples). Not part of the library.
//
// Header: magic, width, height, maxval (1..65535), separated by whitespace and '#' comments
// to the end of a line, then exactly one whitespace byte; then the samples, row after row,
// one byte each when maxval < 256, else two (big-endian).
#pragma once

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <new>
#include <string>
#include <vector>

#include "common/decoded_image.hpp"

namespace pms_examples {

namespace pnm_detail {

// Sides above this are refused while parsing (the digits stop counting there), so that
// width * height never overflows.
inline constexpr long kMaxSide = 1L << 24;

// Reads one header number; false if there is none or it exceeds kMaxSide. `c` holds the
// next unread byte before and after.
inline bool read_number(std::FILE* f, int& c, long& value) {
  while (c == '#' || std::isspace(c)) {
    if (c == '#')
      while (c != '\n' && c != EOF) c = std::fgetc(f);
    c = std::fgetc(f);
  }
  if (!std::isdigit(c)) return false;
  value = 0;
  for (; std::isdigit(c); c = std::fgetc(f)) {
    value = value * 10 + (c - '0');
    if (value > kMaxSide) return false;
  }
  return true;
}

// A sample of maxval scaled to 8 bits, rounded (values above maxval, which the format
// forbids, read as maxval).
inline std::uint8_t to_8bit(unsigned value, unsigned maxval) {
  if (maxval == 255) return static_cast<std::uint8_t>(value);
  if (value > maxval) value = maxval;
  return static_cast<std::uint8_t>((value * 255u + maxval / 2) / maxval);
}

}  // namespace pnm_detail

// Decodes the PGM/PPM file f (positioned at its start) as `request` asks. rgb8 scales samples
// to 0..255 by maxval, as PIL does, and replicates grey; class_ids8 takes a PGM of maxval 255
// (any other PIL would rescale).
// On anything but ok, `detail` says why where the status alone does not.
inline DecodeStatus decode_pnm(std::FILE* f, const DecodeRequest& request, DecodedImage& out, std::string& detail) {
  char magic[2] = {};
  if (std::fread(magic, 1, 2, f) != 2 || magic[0] != 'P' || magic[1] < '1' || magic[1] > '7') {
    detail = "not a PGM/PPM file";
    return DecodeStatus::unreadable;
  }
  if (magic[1] != '5' && magic[1] != '6') {
    detail = std::string("P") + magic[1] + " netpbm file; only binary PGM (P5) and PPM (P6) are read";
    return DecodeStatus::unreadable;
  }
  const bool colour = magic[1] == '6';
  long width = 0, height = 0, maxval = 0;
  int c = std::fgetc(f);
  if (!pnm_detail::read_number(f, c, width) || !pnm_detail::read_number(f, c, height) ||
      !pnm_detail::read_number(f, c, maxval) || !std::isspace(c)) {
    detail = "malformed PGM/PPM header";
    return DecodeStatus::unreadable;
  }
  if (maxval < 1 || maxval > 65535) {
    detail = "PGM/PPM maxval " + std::to_string(maxval) + " outside 1..65535";
    return DecodeStatus::unreadable;
  }
  if (width == 0 || height == 0) {
    detail = "image has no pixels";
    return DecodeStatus::unreadable;
  }
  out.width = static_cast<int>(width);
  out.height = static_cast<int>(height);
  if (request.samples == Samples::class_ids8 && (colour || maxval != 255)) return DecodeStatus::not_class_ids;
  if (width * height > request.max_pixels) return DecodeStatus::too_large;

  // The file must hold every sample the header promises (a short file is damaged).
  const long channels = colour ? 3 : 1, bytes_per_sample = maxval > 255 ? 2 : 1;
  const long row_bytes = width * channels * bytes_per_sample;
  const long data_start = std::ftell(f);
  if (data_start < 0 || std::fseek(f, 0, SEEK_END) != 0) {
    detail = "cannot seek in the file";
    return DecodeStatus::unreadable;
  }
  const long available = std::ftell(f) - data_start;
  if (available < row_bytes * height) {
    detail = "truncated PGM/PPM: the header promises " + std::to_string(row_bytes * height) + " bytes of samples, the file holds " +
             std::to_string(available);
    return DecodeStatus::unreadable;
  }
  if (request.header_only) return DecodeStatus::ok;

  const std::size_t out_channels = request.samples == Samples::rgb8 ? 3 : 1;
  std::vector<unsigned char> row;
  try {
    row.resize(static_cast<std::size_t>(row_bytes));
    out.pixels.resize(static_cast<std::size_t>(width) * height * out_channels);
  } catch (const std::bad_alloc&) {
    return DecodeStatus::no_memory;
  }
  std::fseek(f, data_start, SEEK_SET);
  std::uint8_t* dst = out.pixels.data();
  for (long y = 0; y < height; ++y) {
    if (std::fread(row.data(), 1, row.size(), f) != row.size()) {
      out.pixels.clear();
      detail = "read error";
      return DecodeStatus::unreadable;
    }
    for (long i = 0; i < width * channels; ++i) {
      const unsigned sample = bytes_per_sample == 2 ? (unsigned{row[2 * i]} << 8 | row[2 * i + 1]) : row[i];
      if (request.samples == Samples::class_ids8) {
        *dst++ = static_cast<std::uint8_t>(sample);  // maxval 255: as stored
      } else {
        const std::uint8_t v = pnm_detail::to_8bit(sample, static_cast<unsigned>(maxval));
        for (std::size_t k = colour ? 1 : 3; k > 0; --k) *dst++ = v;
      }
    }
  }
  return DecodeStatus::ok;
}

}  // namespace pms_examples

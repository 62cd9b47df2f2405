// The example tools' image decoding (examples/common/image_io.hpp) on files the fuzz harness
// tests/fuzz/fuzz_image_decode.cpp found or that stand for a class of hostile inputs; each
// file lives in tests/fuzz/corpus/images, so the fuzzer starts from it too. Linked with
// Debian's libstb, as the tools are.
#include <doctest/doctest.h>

#include <string>

#include "common/image_io.hpp"

#ifndef PMS_SOURCE_DIR
#error "PMS_SOURCE_DIR (repository root) must be defined by the build"
#endif

namespace {
const std::string kImages = PMS_SOURCE_DIR "/tests/fuzz/corpus/images/";

bool printable_line(const std::string& s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  return !s.empty();
}
}  // namespace

TEST_CASE("a PNG whose unknown chunk type is control bytes is refused with a printable one-line error") {
  // stb quotes the chunk type ("\r\n\x1a\n" here) in its reason; the tools print that reason.
  const std::string path = kImages + "regression_png_chunk_type_control_bytes.png";
  pms_examples::RgbImage rgb;
  pms_examples::GrayImage grey;
  std::string error;
  CHECK_FALSE(pms_examples::load_rgb(path, rgb, error));
  CHECK_MESSAGE(printable_line(error), error);
  CHECK(error.find("PNG chunk not known") != std::string::npos);
  error.clear();
  CHECK_FALSE(pms_examples::load_gray8(path, grey, error));
  CHECK_MESSAGE(printable_line(error), error);
}

TEST_CASE("the seed images decode") {
  pms_examples::RgbImage rgb;
  std::string error;
  for (const char* name : {"rgb.png", "rgb.jpg", "rgb.bmp", "rgb.ppm", "rgb.tga", "rgb.gif", "progressive.jpg"}) {
    CAPTURE(name);
    REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + name, rgb, error), error);
    CHECK((rgb.width == 13 && rgb.height == 9 && rgb.pixels.size() == 13u * 9 * 3));
  }
  pms_examples::GrayImage grey;
  REQUIRE_MESSAGE(pms_examples::load_gray8(kImages + "labels.png", grey, error), error);
  CHECK((grey.width == 7 && grey.height == 6 && grey.pixels[12] == 12 % 11));
  CHECK_FALSE(pms_examples::load_gray8(kImages + "rgb16.png", grey, error));  // 16-bit: ids would be rescaled
  CHECK_FALSE(pms_examples::load_rgb(kImages + "rgb.png", rgb, error, 100));  // 117 pixels over a 100-pixel cap
  CHECK(error.find("too large to decode") != std::string::npos);
}

TEST_CASE("a JPEG with a Huffman table of more than 256 codes is refused before stb decodes it") {
  // stb_image 2.27 would write the table's code sizes and symbols past its 257/256-entry arrays.
  // The second file starts FF FF D8: stb skips fill bytes before the start-of-image marker.
  // The third ends inside the table's counts: stb reads zeros past the end of the file.
  for (const char* name : {"regression_jpeg_huffman_table_over_256_codes.jpg", "regression_jpeg_fill_bytes_before_soi.jpg",
                           "regression_jpeg_huffman_counts_past_end.jpg"}) {
    CAPTURE(name);
    pms_examples::RgbImage rgb;
    std::string error;
    CHECK_FALSE(pms_examples::load_rgb(kImages + name, rgb, error));
    CHECK_MESSAGE(error.find("JPEG Huffman table with more than 256 codes") != std::string::npos, error);
  }
}

TEST_CASE("a PNG whose first IDAT chunk is empty is refused before stb decodes it") {
  // stb_image 2.27 would memcpy its zero bytes into a buffer it has not allocated yet (null).
  pms_examples::RgbImage rgb;
  std::string error;
  CHECK_FALSE(pms_examples::load_rgb(kImages + "regression_png_empty_first_idat.png", rgb, error));
  CHECK_MESSAGE(error.find("PNG whose first IDAT chunk is empty") != std::string::npos, error);
  // The PNGs with data in their first IDAT still decode.
  CHECK(pms_examples::load_rgb(kImages + "palette.png", rgb, error));
  CHECK(pms_examples::load_rgb(kImages + "rgb.png", rgb, error));
}

// The example tools' image decoding (examples/common/image_io.hpp: libpng, libjpeg-turbo and
// the PGM/PPM reader) on the seed images of tests/fuzz/corpus/images, which
// tests/fuzz/make_corpus.py writes with PIL, and on hostile files the fuzz harness
// tests/fuzz/fuzz_image_decode.cpp found or that stand for a class of them. Expected pixel
// values are PIL's (the decoder the Python reference reads images with).
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

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

std::array<int, 3> rgb_at(const pms_examples::RgbImage& image, int y, int x) {
  const std::size_t i = (static_cast<std::size_t>(y) * image.width + x) * 3;
  return {image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]};
}

// A file of the given bytes in the build directory, for the hostile cases made here.
std::string write_file(const std::string& name, const std::string& bytes) {
  std::FILE* f = std::fopen(name.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  std::fclose(f);
  return name;
}

void check_refused(const std::string& path, const std::string& reason) {
  CAPTURE(path);
  pms_examples::RgbImage rgb;
  std::string error;
  CHECK_FALSE(pms_examples::load_rgb(path, rgb, error));
  CHECK_MESSAGE(printable_line(error), error);
  CHECK_MESSAGE(error.find(reason) != std::string::npos, error);
}
}  // namespace

TEST_CASE("PNG, JPEG and PPM seeds decode to the pixels PIL reads") {
  pms_examples::RgbImage png, ppm, jpeg, progressive, palette, palette_trns;
  std::string error;
  REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + "rgb.png", png, error), error);
  REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + "rgb.ppm", ppm, error), error);
  REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + "rgb.jpg", jpeg, error), error);
  REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + "progressive.jpg", progressive, error), error);
  REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + "palette.png", palette, error), error);
  REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + "palette_trns.png", palette_trns, error), error);
  for (const auto* image : {&png, &ppm, &jpeg, &progressive, &palette, &palette_trns})
    CHECK((image->width == 13 && image->height == 9 && image->pixels.size() == 13u * 9 * 3));
  CHECK(png.pixels == ppm.pixels);  // two lossless files of one picture
  CHECK(rgb_at(png, 0, 0) == std::array{139, 74, 229});
  CHECK(rgb_at(png, 8, 12) == std::array{170, 214, 222});
  CHECK(rgb_at(jpeg, 0, 0) == std::array{169, 72, 141});  // libjpeg-turbo's ISLOW IDCT, as PIL
  CHECK(rgb_at(progressive, 0, 0) == std::array{163, 80, 124});
  CHECK(rgb_at(palette, 0, 0) == std::array{153, 51, 204});  // palette looked up
  CHECK(rgb_at(palette, 8, 12) == std::array{153, 204, 204});
  CHECK(palette_trns.pixels == palette.pixels);  // a tRNS chunk's alpha is dropped

  pms_examples::RgbImage grey_jpeg, grey_16, grey_4bit, deep_ppm;
  REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + "grey.jpg", grey_jpeg, error), error);
  CHECK(rgb_at(grey_jpeg, 0, 0) == std::array{110, 110, 110});  // grey replicated
  REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + "rgb16.png", grey_16, error), error);
  CHECK(rgb_at(grey_16, 1, 2) == std::array{19, 19, 19});  // 5000 = 0x1388: the high byte
  REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + "labels_4bit.png", grey_4bit, error), error);
  CHECK(rgb_at(grey_4bit, 5, 0) == std::array{34, 34, 34});  // id 2 of 15 scaled to 8 bits
  CHECK(rgb_at(grey_4bit, 5, 6) == std::array{136, 136, 136});
  REQUIRE_MESSAGE(pms_examples::load_rgb(kImages + "maxval1000.ppm", deep_ppm, error), error);
  CHECK(rgb_at(deep_ppm, 0, 0) == std::array{0, 128, 255});  // round(v * 255 / 1000)
  CHECK(rgb_at(deep_ppm, 0, 1) == std::array{0, 255, 64});
}

TEST_CASE("label maps: 8-bit grey and palette indices as stored, anything else refused") {
  pms_examples::GrayImage png, pgm, indices;
  std::string error;
  REQUIRE_MESSAGE(pms_examples::load_gray8(kImages + "labels.png", png, error), error);
  REQUIRE_MESSAGE(pms_examples::load_gray8(kImages + "labels.pgm", pgm, error), error);
  CHECK((png.width == 7 && png.height == 6 && png.pixels.size() == 42));
  for (int i = 0; i < 42; ++i) CHECK(png.pixels[i] == i % 11);
  CHECK(pgm.pixels == png.pixels);
  REQUIRE_MESSAGE(pms_examples::load_gray8(kImages + "palette.png", indices, error), error);
  CHECK((indices.width == 13 && indices.height == 9));
  CHECK(std::vector<int>(indices.pixels.begin(), indices.pixels.begin() + 4) == std::vector{163, 69, 136, 126});
  CHECK(indices.pixels[8 * 13 + 12] == 181);

  for (const char* name : {"rgb.png", "rgb.jpg", "rgb.ppm", "rgb16.png", "labels_4bit.png", "maxval1000.ppm"}) {
    const std::string file = name;
    CAPTURE(file);
    pms_examples::GrayImage grey;
    error.clear();
    CHECK_FALSE(pms_examples::load_gray8(kImages + name, grey, error));
    CHECK_MESSAGE(error.find("not a label map") != std::string::npos, error);
  }
}

TEST_CASE("sizes are read from the header and checked before decoding") {
  int w = 0, h = 0;
  std::string error;
  CHECK(pms_examples::read_image_size(kImages + "progressive.jpg", w, h, error));
  CHECK((w == 13 && h == 9));
  CHECK(pms_examples::read_image_size(kImages + "rgb16.png", w, h, error));
  CHECK((w == 3 && h == 2));
  for (const char* name : {"rgb.png", "rgb.jpg", "rgb.ppm"}) {
    const std::string file = name;
    CAPTURE(file);
    pms_examples::RgbImage rgb;
    CHECK_FALSE(pms_examples::load_rgb(kImages + name, rgb, error, 100));  // 117 pixels over a 100-pixel cap
    CHECK_MESSAGE(error.find("13x9 pixels is too large to decode") != std::string::npos, error);
  }
  // A 100000 x 100000 PPM header: refused by its size, without reading (or having) pixels.
  const std::string huge = write_file("image_io_huge.ppm", "P6\n100000 100000\n255\n");
  pms_examples::RgbImage rgb;
  CHECK_FALSE(pms_examples::load_rgb(huge, rgb, error));
  CHECK_MESSAGE(error.find("100000x100000 pixels is too large") != std::string::npos, error);
}

TEST_CASE("damaged and unsupported files get one printable line") {
  check_refused(kImages + "cmyk.jpg", "CMYK JPEG");
  check_refused(PMS_SOURCE_DIR "/README.md", "not PNG, JPEG, PGM or PPM");
  check_refused(write_file("image_io_ascii.ppm", "P3\n1 1\n255\n0 0 0\n"), "only binary PGM (P5) and PPM (P6)");
  check_refused(write_file("image_io_short.ppm", "P6\n16 16\n255\n"), "truncated PGM/PPM");
  check_refused(write_file("image_io_empty.ppm", "P6\n0 0\n255\n"), "image has no pixels");
  check_refused(write_file("image_io_maxval.pgm", "P5\n1 1\n70000\n\x01\x02"), "maxval 70000 outside 1..65535");
  check_refused(write_file("image_io_empty.png", ""), "not PNG, JPEG, PGM or PPM");

  // Truncated halfway: libjpeg would fill the rest with grey, libpng stops.
  for (const char* name : {"rgb.jpg", "progressive.jpg", "rgb.png"}) {
    std::FILE* f = std::fopen((kImages + name).c_str(), "rb");
    REQUIRE(f != nullptr);
    std::string bytes(4096, '\0');
    bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
    std::fclose(f);
    bytes.resize(bytes.size() / 2);
    check_refused(write_file(std::string("image_io_truncated_") + name, bytes), "not a readable image");
  }
}

TEST_CASE("the hostile seeds (stb_image findings of earlier fuzzing) are refused with one line") {
  // Each was a memory error in the stb_image 2.27 the tools used before. libjpeg refuses the
  // Huffman tables of more than 256 codes; libpng an invalid chunk type (quoting none of its
  // control bytes) and the fuzzer-mutated palette, whose CRC stb never checked.
  for (const char* name : {"regression_jpeg_huffman_table_over_256_codes.jpg", "regression_jpeg_fill_bytes_before_soi.jpg",
                           "regression_jpeg_huffman_counts_past_end.jpg", "regression_png_chunk_type_control_bytes.png"})
    check_refused(kImages + name, "not a readable image");
  check_refused(kImages + "regression_png_empty_first_idat.png", "PLTE: CRC error");
}

TEST_CASE("write_png round-trips grey and RGB rows with a stride") {
  const int w = 5, h = 3, stride = 17;
  std::vector<std::uint8_t> rgb(stride * h), grey(stride * h);
  for (int i = 0; i < stride * h; ++i) rgb[i] = static_cast<std::uint8_t>(i * 37), grey[i] = static_cast<std::uint8_t>(i * 11);
  REQUIRE(pms_examples::write_png("image_io_rgb.png", w, h, 3, rgb.data(), stride));
  REQUIRE(pms_examples::write_png("image_io_grey.png", w, h, 1, grey.data(), stride));
  CHECK_FALSE(pms_examples::write_png("image_io_bad.png", w, h, 2, grey.data(), stride));
  pms_examples::RgbImage rgb_back;
  pms_examples::GrayImage grey_back;
  std::string error;
  REQUIRE_MESSAGE(pms_examples::load_rgb("image_io_rgb.png", rgb_back, error), error);
  REQUIRE_MESSAGE(pms_examples::load_gray8("image_io_grey.png", grey_back, error), error);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) CHECK(rgb_back.pixels[(y * w + x) * 3 + c] == rgb[y * stride + x * 3 + c]);
      CHECK(grey_back.pixels[y * w + x] == grey[y * stride + x]);
    }
}

// fuzz_image_decode: libFuzzer harness for the image decoding the example tools do on
// untrusted files (examples/common/image_io.hpp: format sniffing, the PNG and JPEG readers
// around libpng and libjpeg-turbo with their error jumps, the PGM/PPM reader, the grey-label
// reader, the header-size probe, the bilinear shrink). The input is written to a private
// temporary file, since the tools decode by path. A decoded image must be as large as its
// pixel vector says, and a refusal must be one line. Images over kFuzzMaxPixels are refused
// before decoding (the tools' cap is 2^28 pixels; decoding that much is not what fuzzing is
// for). libpng and libjpeg-turbo are Debian's shared libraries, not instrumented: coverage
// guides the fuzzer through pms's code, and AddressSanitizer still checks every pixel buffer
// they write into, which pms allocates.
// Seeds: corpus/images (tests/fuzz/make_corpus.py).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/image_io.hpp"

namespace {

constexpr long long kFuzzMaxPixels = 1 << 22;

[[noreturn]] void violation(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "fuzz: invariant violated: %s [%s]\n", what, detail.c_str());
  std::abort();
}

const std::string& scratch_path() {
  static const std::string path = [] {
    char name[] = "/tmp/pms_fuzz_image_XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) std::abort();
    ::close(fd);
    return std::string(name);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = scratch_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);

  std::string error;
  int w = 0, h = 0;
  (void)pms_examples::read_image_size(path, w, h, error);

  pms_examples::RgbImage rgb;
  if (pms_examples::load_rgb(path, rgb, error, kFuzzMaxPixels)) {
    if (rgb.width <= 0 || rgb.height <= 0 || rgb.pixels.size() != static_cast<std::size_t>(rgb.width) * rgb.height * 3)
      violation("decoded RGB size");
    const pms_examples::RgbImage small = pms_examples::resize_rgb(rgb, 1 + rgb.width / 3, 1 + rgb.height / 2);
    if (small.pixels.size() != static_cast<std::size_t>(small.width) * small.height * 3) violation("resized size");
  } else if (error.empty() || error.find('\n') != std::string::npos) {
    violation("a refusal without a one-line message", error);
  }
  pms_examples::GrayImage grey;
  error.clear();
  if (pms_examples::load_gray8(path, grey, error, kFuzzMaxPixels)) {
    if (grey.width <= 0 || grey.height <= 0 || grey.pixels.size() != static_cast<std::size_t>(grey.width) * grey.height)
      violation("decoded grey size");
  } else if (error.empty() || error.find('\n') != std::string::npos) {
    violation("a refusal without a one-line message", error);
  }
  return 0;
}

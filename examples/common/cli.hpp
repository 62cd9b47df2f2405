// examples/common/cli.hpp: what the example programs share on the command line: the option
// loop, number and mode options, opening the weights and choosing the variant, the message for
// weights that do not load, and a growable 64-byte-aligned workspace buffer. Errors go through the program's own fail(), which prints
// one line and exits.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <optional>
#include <span>
#include <string>

#include <pms/core/page_buffer.hpp>
#include <pms/mobileseg.hpp>

#include "mapped_file.hpp"

namespace pms_examples {

// The program's error exit: prints one line and exits 1 (never returns).
using FailFn = void (*)(const std::string&);

// Walks argv as "--flag value" pairs, calling option(flag, value) for each; --help or -h
// prints `usage` and exits 0. A flag without a value, or one that option() does not know (it
// returns false), goes to fail() with the usage.
template <class Option>
void parse_options(int argc, char** argv, const char* usage, FailFn fail, Option&& option) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) fail("missing value after " + a + "\n" + usage);
    if (!option(a, argv[++i])) fail("unknown option " + a + "\n" + usage);
  }
}

// `text` as a whole number in [lo, hi], or nothing.
inline std::optional<int> parse_int(const char* text, int lo, int hi) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < lo || v > hi) return std::nullopt;
  return static_cast<int>(v);
}
inline std::string int_range_message(const std::string& flag, int lo, int hi) {
  return flag + " needs a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
}
// The value of `flag` as a whole number in [lo, hi], else fail().
inline int int_option(const std::string& flag, const char* text, int lo, int hi, FailFn fail) {
  const std::optional<int> v = parse_int(text, lo, hi);
  if (!v) fail(int_range_message(flag, lo, hi));
  return *v;
}

// --mode auto|vim|exact.
inline std::optional<pms::Upsampling> parse_mode(const std::string& text) {
  if (text == "auto") return pms::Upsampling::automatic;
  if (text == "vim") return pms::Upsampling::vim;
  if (text == "exact") return pms::Upsampling::exact;
  return std::nullopt;
}
inline pms::Upsampling mode_option(const char* text, FailFn fail) {
  const std::optional<pms::Upsampling> mode = parse_mode(text);
  if (!mode) fail("--mode is auto, vim or exact");
  return *mode;
}

// Maps the weights file and returns run.template operator()<V>(its bytes) with V = pms::Tiny or
// pms::Base as the file says: the library fixes the variant at compile time, the example tools
// serve both. A file that cannot be opened or is not a .pms file goes to fail().
template <class Run>
int run_with_weights(const std::string& path, FailFn fail, Run&& run) {
  MappedFile file;
  std::string error;
  if (!file.open(path, error)) fail(error);
  pms::WeightsFile parsed;
  if (const pms::Status s = pms::WeightsFile::parse(file.bytes(), parsed); s != pms::Status::ok) fail(path + ": " + pms::describe(s));
  if (parsed.variant() == pms::ModelVariant::tiny) return run.template operator()<pms::Tiny>(file.bytes());
  return run.template operator()<pms::Base>(file.bytes());
}

// One line for weights that model.load() refused, naming the tensor it stopped at if any.
template <class Variant>
std::string load_error(const std::string& path, pms::Status s, const pms::MobileSeg<Variant>& model) {
  std::string msg = path + ": " + pms::describe(s);
  if (s == pms::Status::missing_tensor || s == pms::Status::shape_mismatch) msg += std::string(" (") + model.failed_tensor() + ")";
  return msg;
}

// A workspace that grows to the largest size asked for: a pms::PageBuffer (64-byte aligned
// as pms requires, on transparent huge pages from 2 MiB).
class AlignedBytes {
 public:
  AlignedBytes() = default;
  explicit AlignedBytes(std::size_t n) { reserve(n); }

  void reserve(std::size_t n) {
    if (buffer_.allocated() && n <= buffer_.size()) return;
    buffer_ = pms::PageBuffer();  // the old one goes before the new one is allocated
    buffer_ = pms::PageBuffer(n);
    if (!buffer_.allocated()) throw std::bad_alloc();  // as `new` would
  }
  std::byte* data() const { return buffer_.data(); }
  std::size_t size() const { return buffer_.size(); }

 private:
  pms::PageBuffer buffer_;
};

}  // namespace pms_examples

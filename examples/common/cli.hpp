// examples/common/cli.hpp: what the example programs share on the command line: the option
// loop, number and mode options, opening the weights and choosing the variant, the message for
// weights that do not load, the self-test after loading, workspace budgeting, and a growable
// 64-byte-aligned workspace buffer. Errors go through the program's own fail(), which prints
// one line and exits with the given status: kUsageExit for a bad command line, kErrorExit for
// anything else.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>

#include <pms/core/page_buffer.hpp>
#include <pms/mobileseg.hpp>

#include "mapped_file.hpp"

namespace pms_examples {

inline constexpr int kErrorExit = 1;  // bad input, refused weights, out of memory, ...
inline constexpr int kUsageExit = 2;  // the command line itself is wrong

// The program's error exit: prints one line and exits with `status` (never returns).
using FailFn = void (*)(const std::string& message, int status);

// Walks argv: a switch (an option without a value) goes to is_switch(flag), which returns
// whether it knew it; every other option is a "--flag value" pair for option(flag, value).
// --help or -h prints `usage` and exits 0. A flag without a value, or one neither callback
// knows, goes to fail() with the usage and kUsageExit.
template <class Switch, class Option>
void parse_options(int argc, char** argv, const char* usage, FailFn fail, Switch&& is_switch, Option&& option) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (is_switch(a)) continue;
    if (i + 1 >= argc) fail("missing value after " + a + "\n" + usage, kUsageExit);
    if (!option(a, argv[++i])) fail("unknown option " + a + "\n" + usage, kUsageExit);
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
  if (!v) fail(int_range_message(flag, lo, hi), kUsageExit);
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
  if (!mode) fail("--mode is auto, vim or exact", kUsageExit);
  return *mode;
}

// Maps the weights file and returns run.template operator()<Model>(its bytes) with Model =
// pms::MobileSeg<V, P>, V = pms::Tiny or pms::Base and P = pms::Fp32 or pms::Int8 as the file
// says: the library fixes both at compile time, the example tools serve all four. A file that
// cannot be opened or is not a .pms file goes to fail().
template <class Run>
int run_with_weights(const std::string& path, FailFn fail, Run&& run) {
  MappedFile file;
  std::string error;
  if (!file.open(path, error)) fail(error, kErrorExit);
  pms::WeightsFile parsed;
  if (const pms::Status s = pms::WeightsFile::parse(file.bytes(), parsed); s != pms::Status::ok)
    fail(path + ": " + pms::describe(s), kErrorExit);
  const bool tiny = parsed.variant() == pms::ModelVariant::tiny, int8 = parsed.precision() == pms::WeightsPrecision::int8;
  if (tiny && int8) return run.template operator()<pms::MobileSeg<pms::Tiny, pms::Int8>>(file.bytes());
  if (tiny) return run.template operator()<pms::MobileSeg<pms::Tiny>>(file.bytes());
  if (int8) return run.template operator()<pms::MobileSeg<pms::Base, pms::Int8>>(file.bytes());
  return run.template operator()<pms::MobileSeg<pms::Base>>(file.bytes());
}

// "tiny fp32": what a model runs, for the tools' reports.
template <class Model>
std::string model_name() {
  return std::string(Model::Variant::name) + " " + Model::PrecisionType::name;
}

// One line for weights that model.load() refused, naming the tensor it stopped at if any.
template <class Model>
std::string load_error(const std::string& path, pms::Status s, const Model& model) {
  std::string msg = path + ": " + pms::describe(s);
  if (s == pms::Status::missing_tensor || s == pms::Status::shape_mismatch) msg += std::string(" (") + model.failed_tensor() + ")";
  return msg;
}

// Runs the weights' embedded self-test (model.self_test) and fails, naming the file and the
// status, unless it passes: a damaged or mis-converted file is refused before it labels
// anything. The workspace it needs is small (a 72 x 56 image).
template <class Model>
void require_self_test(const Model& model, const std::string& path, FailFn fail) {
  pms::PageBuffer workspace(model.self_test_workspace_size());
  if (!workspace.allocated()) fail(path + ": no memory for the self-test", kErrorExit);
  const pms::Status s = model.self_test({workspace.data(), workspace.size()});
  if (s != pms::Status::ok)
    fail(path + ": self-test: " + pms::describe(s) + " (the file is damaged or was not made by weights/convert.py; "
         "--skip-self-test runs it anyway)", kErrorExit);
}

// Whether stderr is a terminal: progress lines go there only then (not into logs).
inline bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

// The most memory one run may ask for: physical memory (a larger request would only swap or
// be killed), capped by the user's --max-memory (MiB; 0 = no cap of its own).
inline std::uint64_t memory_budget(int max_memory_mib) {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  std::uint64_t budget = pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                                               : ~std::uint64_t{0};
  if (max_memory_mib > 0) budget = std::min<std::uint64_t>(budget, std::uint64_t(max_memory_mib) << 20);
  return budget;
}

// "1.4 GB": a size for a message.
inline std::string size_text(std::uint64_t bytes) {
  char text[32];
  if (bytes >= 1000000000) std::snprintf(text, sizeof text, "%.1f GB", static_cast<double>(bytes) / 1e9);
  else std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

// A workspace that grows to the largest size asked for: a pms::PageBuffer (64-byte aligned
// as pms requires, on transparent huge pages from 2 MiB). No exceptions: reserve() says
// whether it got the memory.
class AlignedBytes {
 public:
  AlignedBytes() = default;

  [[nodiscard]] bool reserve(std::size_t n) {
    if (buffer_.allocated() && n <= buffer_.size()) return true;
    buffer_ = pms::PageBuffer();  // the old one goes before the new one is allocated
    buffer_ = pms::PageBuffer(n);
    return buffer_.allocated();
  }
  std::byte* data() const { return buffer_.data(); }
  std::size_t size() const { return buffer_.size(); }

 private:
  pms::PageBuffer buffer_;
};

}  // namespace pms_examples

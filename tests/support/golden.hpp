// The golden cases of tests/data/golden (written by tests/reference/make_golden.py; see its
// docstring for every file's layout): manifest parsing (a malformed row fails the test that
// reads it) and weights-file location.
//
//   for (const GoldenCase& c : read_golden_manifest()) { ... golden_path(c.input) ...
//                                                        ... golden_weights_path(c.weights) ... }
//
// Weights: the CamVid cases use the shipped weights/*.pms; the random-weight cases use .pms
// files the build generates (custom target `golden_weights`, directory passed to the test as
// PMS_GOLDEN_WEIGHTS_DIR by tests/reference/meson.build + tests/io/meson.build).
#pragma once

#include <doctest/doctest.h>

#include <charconv>
#include <fstream>
#include <istream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#ifndef PMS_SOURCE_DIR
#error "PMS_SOURCE_DIR (repository root) must be defined by the build"
#endif

namespace pms::test {

struct GoldenCase {
  std::string name;        // e.g. "tiny_random_k150_97x131"
  std::string variant;     // "tiny" / "base"
  int num_classes = 0;     // K
  std::string weights;     // key into weights.tsv, e.g. "tiny_random_k150"
  int height = 0, width = 0;        // input size
  int low_height = 0, low_width = 0;  // low-res logits size
  std::string input;       // u8 [H, W, 3] RGB
  std::string low_logits;  // f32 [C, low_h, low_w]: channels channel_begin, +channel_step, ... < K
  int channel_begin = 0, channel_end = 0, channel_step = 1;
  std::string labels;      // u8 [H, W] exact mode (full-class upsample + argmax, first max wins)
  std::string vim_labels;  // u8 [H, W], empty when K < 30
  std::string margin;      // f32 [H, W] top-1 minus top-2, empty for large cases
};

inline std::string golden_dir() { return PMS_SOURCE_DIR "/tests/data/golden"; }
inline std::string golden_path(const std::string& file) { return golden_dir() + "/" + file; }

// manifest.tsv parsed: the cases in manifest order, or the first malformed row. A row is
// malformed unless it has the 14 columns, a variant "tiny" or "base", whole numbers where
// numbers go (K, H, W, low_h, low_w >= 1), a channel range begin:end:step with
// 0 <= begin < end <= K and step >= 1, and names for the weights, input, logits and labels.
struct GoldenManifest {
  std::vector<GoldenCase> cases;
  std::string error;  // "line N: what is wrong"; empty when every row parsed
};

namespace golden_detail {

// The whole of `text` as an int >= min_value, or false.
inline bool parse_int(const std::string& text, int min_value, int& out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && out >= min_value;
}

// One data row's cells as a case; the reason it is malformed otherwise.
inline std::string parse_case(const std::vector<std::string>& c, GoldenCase& g) {
  if (c.size() != 14) return std::to_string(c.size()) + " columns, expected 14";
  g.name = c[0];
  g.variant = c[1];
  g.weights = c[3];
  g.input = c[8];
  g.low_logits = c[9];
  g.labels = c[11];
  g.vim_labels = c[12];
  g.margin = c[13];
  if (g.name.empty() || g.weights.empty() || g.input.empty() || g.low_logits.empty() || g.labels.empty())
    return "a required name (case, weights, input, low_logits, labels) is missing";
  if (g.variant != "tiny" && g.variant != "base") return "variant '" + g.variant + "', expected tiny or base";
  if (!parse_int(c[2], 1, g.num_classes)) return "K '" + c[2] + "' is not a whole number >= 1";
  if (!parse_int(c[4], 1, g.height) || !parse_int(c[5], 1, g.width)) return "H x W '" + c[4] + "' x '" + c[5] + "'";
  if (!parse_int(c[6], 1, g.low_height) || !parse_int(c[7], 1, g.low_width))
    return "low_h x low_w '" + c[6] + "' x '" + c[7] + "'";
  const std::size_t a = c[10].find(':'), b = c[10].rfind(':');
  if (a == std::string::npos || a == b || !parse_int(c[10].substr(0, a), 0, g.channel_begin) ||
      !parse_int(c[10].substr(a + 1, b - a - 1), 1, g.channel_end) || !parse_int(c[10].substr(b + 1), 1, g.channel_step) ||
      g.channel_begin >= g.channel_end || g.channel_end > g.num_classes)
    return "logits_channels '" + c[10] + "', expected begin:end:step within [0, K]";
  return {};
}

}  // namespace golden_detail

// Parses a manifest: '#' lines and empty lines are skipped, the first other line holds the
// column names, every line after it is a case. Stops at the first malformed row.
inline GoldenManifest parse_golden_manifest(std::istream& in) {
  GoldenManifest m;
  std::string line;
  bool header_seen = false;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (line.empty() || line[0] == '#') continue;
    if (!header_seen) {  // column names
      header_seen = true;
      continue;
    }
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, '\t');) cells.push_back(cell == "-" ? std::string() : cell);
    GoldenCase g;
    if (const std::string why = golden_detail::parse_case(cells, g); !why.empty()) {
      m.error = "line " + std::to_string(line_number) + ": " + why;
      m.cases.clear();
      return m;
    }
    m.cases.push_back(g);
  }
  if (!header_seen) m.error = "no header line";
  return m;
}

// All cases of tests/data/golden/manifest.tsv, in manifest order. Fails the calling test
// when the file cannot be read or a row is malformed (a case is never skipped silently).
inline std::vector<GoldenCase> read_golden_manifest() {
  std::ifstream f(golden_path("manifest.tsv"));
  REQUIRE_MESSAGE(f.is_open(), golden_path("manifest.tsv") << " cannot be read");
  GoldenManifest m = parse_golden_manifest(f);
  REQUIRE_MESSAGE(m.error.empty(), "manifest.tsv " << m.error);
  return m.cases;
}

// Data rows of manifest.tsv (lines that are not empty, not '#' comments and not the header),
// counted without parsing them: what the cases read and run must add up to.
inline int golden_manifest_rows() {
  std::ifstream f(golden_path("manifest.tsv"));
  REQUIRE_MESSAGE(f.is_open(), golden_path("manifest.tsv") << " cannot be read");
  int lines = 0;
  for (std::string line; std::getline(f, line);) lines += !line.empty() && line[0] != '#';
  return lines > 0 ? lines - 1 : 0;
}

// Path of a weights file named in weights.tsv ("repo:P" or "generated:X"); empty when it is
// a generated file and the build did not pass PMS_GOLDEN_WEIGHTS_DIR (tests should skip then).
inline std::string golden_weights_path(const std::string& weights) {
  std::ifstream f(golden_path("weights.tsv"));
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream row(line);
    std::vector<std::string> c;
    for (std::string cell; std::getline(row, cell, '\t');) c.push_back(cell);
    if (c.size() < 5 || c[0] != weights) continue;
    if (c[4].rfind("repo:", 0) == 0) return std::string(PMS_SOURCE_DIR "/") + c[4].substr(5);
    if (c[4].rfind("generated:", 0) == 0) {
#ifdef PMS_GOLDEN_WEIGHTS_DIR
      return std::string(PMS_GOLDEN_WEIGHTS_DIR "/") + c[4].substr(10);
#else
      return {};
#endif
    }
  }
  return {};
}

}  // namespace pms::test

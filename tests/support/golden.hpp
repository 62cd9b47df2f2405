// The golden cases of tests/data/golden (written by tests/reference/make_golden.py; see its
// docstring for every file's layout): manifest parsing and weights-file location.
//
//   for (const GoldenCase& c : read_golden_manifest()) { ... golden_path(c.input) ...
//                                                        ... golden_weights_path(c.weights) ... }
//
// Weights: the CamVid cases use the shipped weights/*.pms; the random-weight cases use .pms
// files the build generates (custom target `golden_weights`, directory passed to the test as
// PMS_GOLDEN_WEIGHTS_DIR by tests/reference/meson.build + tests/io/meson.build).
#pragma once

#include <fstream>
#include <sstream>
#include <string>
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

// All cases, in manifest order (empty if the manifest cannot be read).
inline std::vector<GoldenCase> read_golden_manifest() {
  std::vector<GoldenCase> out;
  std::ifstream f(golden_path("manifest.tsv"));
  std::string line;
  bool header_seen = false;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (!header_seen) {  // column names
      header_seen = true;
      continue;
    }
    std::vector<std::string> c;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, '\t');) c.push_back(cell == "-" ? std::string() : cell);
    if (c.size() != 14) continue;
    GoldenCase g;
    g.name = c[0];
    g.variant = c[1];
    g.num_classes = std::stoi(c[2]);
    g.weights = c[3];
    g.height = std::stoi(c[4]);
    g.width = std::stoi(c[5]);
    g.low_height = std::stoi(c[6]);
    g.low_width = std::stoi(c[7]);
    g.input = c[8];
    g.low_logits = c[9];
    const std::size_t a = c[10].find(':'), b = c[10].rfind(':');
    g.channel_begin = std::stoi(c[10].substr(0, a));
    g.channel_end = std::stoi(c[10].substr(a + 1, b - a - 1));
    g.channel_step = std::stoi(c[10].substr(b + 1));
    g.labels = c[11];
    g.vim_labels = c[12];
    g.margin = c[13];
    out.push_back(g);
  }
  return out;
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

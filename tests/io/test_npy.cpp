// The .npy reader (tests/support/npy.hpp) and the consistency of the golden data set: every
// manifest case's files load with the documented dtypes and shapes, labels are valid class
// ids, VIM labels only use classes that win somewhere at low resolution, and every weights
// file the cases name parses with the right variant and class count.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "golden.hpp"
#include "npy.hpp"
#include "pms/io/weights_file.hpp"

using pms::test::NpyStatus;
using pms::test::read_npy;

namespace {

std::string temp_file(const std::string& name, const std::string& bytes) {
  const std::string path = std::string("pms_test_npy_") + name + ".npy";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// A v1.0 .npy with the given header dict and payload.
std::string npy_file(const std::string& dict, const std::string& payload, char major = 1) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = std::string("\x93NUMPY", 6) + major + '\0';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + payload;
}

}  // namespace

TEST_CASE("npy reader: valid files and every error status") {
  std::vector<float> f;
  std::vector<std::uint8_t> u;
  std::vector<std::int32_t> i;
  std::vector<std::size_t> shape;
  const std::string four_floats(16, '\0');
  const std::string ok = temp_file("ok", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", four_floats));
  REQUIRE(read_npy(ok, f, shape) == NpyStatus::ok);
  CHECK(shape == std::vector<std::size_t>{2, 2});
  CHECK(f.size() == 4);
  CHECK(read_npy(ok, u, shape) == NpyStatus::dtype_mismatch);
  CHECK(read_npy(ok, i, shape) == NpyStatus::dtype_mismatch);
  const std::string scalar = temp_file("scalar", npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", std::string("\x07\0\0\0", 4)));
  REQUIRE(read_npy(scalar, i, shape) == NpyStatus::ok);
  CHECK((shape.empty() && i.size() == 1 && i[0] == 7));
  const std::string vec = temp_file("vec", npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", "abc"));
  REQUIRE(read_npy(vec, u, shape) == NpyStatus::ok);
  CHECK((shape == std::vector<std::size_t>{3} && u[2] == 'c'));

  CHECK(read_npy("/nonexistent/x.npy", f, shape) == NpyStatus::cannot_open);
  CHECK(read_npy(temp_file("magic", "NOTNUMPYxxxxxxxxxxxx"), f, shape) == NpyStatus::bad_magic);
  CHECK(read_npy(temp_file("version", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "xxxx", 3)), f,
                 shape) == NpyStatus::unsupported_version);
  CHECK(read_npy(temp_file("noshape", npy_file("{'descr': '<f4', 'fortran_order': False, }", "xxxx")), f, shape) ==
        NpyStatus::bad_header);
  CHECK(read_npy(temp_file("f8", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", "xxxxxxxx")), f,
                 shape) == NpyStatus::unsupported_dtype);
  CHECK(read_npy(temp_file("fortran", npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", "xxxx")), f,
                 shape) == NpyStatus::fortran_order);
  CHECK(read_npy(temp_file("short", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", "xxxx")), f,
                 shape) == NpyStatus::truncated);
  CHECK(f.size() == 4);  // outputs untouched on failure
}

TEST_CASE("golden data: every case loads with the documented dtypes and shapes") {
  const std::vector<pms::test::GoldenCase> cases = pms::test::read_golden_manifest();
  REQUIRE(cases.size() >= 20);
  int vim_cases = 0, weights_checked = 0;
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const std::size_t H = static_cast<std::size_t>(c.height), W = static_cast<std::size_t>(c.width);
    std::vector<std::uint8_t> img, labels, vim;
    std::vector<float> logits, margin;
    std::vector<std::size_t> shape;
    REQUIRE(read_npy(pms::test::golden_path(c.input), img, shape) == NpyStatus::ok);
    CHECK(shape == std::vector<std::size_t>{H, W, 3});

    REQUIRE(read_npy(pms::test::golden_path(c.low_logits), logits, shape) == NpyStatus::ok);
    const int channels = (c.channel_end - c.channel_begin + c.channel_step - 1) / c.channel_step;
    CHECK(c.channel_end == c.num_classes);
    CHECK(shape == std::vector<std::size_t>{static_cast<std::size_t>(channels), static_cast<std::size_t>(c.low_height),
                                            static_cast<std::size_t>(c.low_width)});
    for (float v : logits) REQUIRE(std::isfinite(v));

    REQUIRE(read_npy(pms::test::golden_path(c.labels), labels, shape) == NpyStatus::ok);
    CHECK(shape == std::vector<std::size_t>{H, W});
    for (std::uint8_t v : labels) REQUIRE(v < c.num_classes);

    CHECK(c.vim_labels.empty() == (c.num_classes < 30));
    if (!c.vim_labels.empty()) {
      ++vim_cases;
      REQUIRE(read_npy(pms::test::golden_path(c.vim_labels), vim, shape) == NpyStatus::ok);
      CHECK(shape == std::vector<std::size_t>{H, W});
      if (c.channel_step == 1) {  // full logits stored: VIM may only output low-res winners
        std::set<int> winners;
        const std::size_t n = static_cast<std::size_t>(c.low_height) * c.low_width;
        for (std::size_t p = 0; p < n; ++p) {
          int best = 0;
          for (int k = 1; k < c.num_classes; ++k)
            if (logits[k * n + p] > logits[best * n + p]) best = k;
          winners.insert(best);
        }
        for (std::uint8_t v : vim) REQUIRE(winners.count(v) == 1);
      }
    }
    if (!c.margin.empty()) {
      REQUIRE(read_npy(pms::test::golden_path(c.margin), margin, shape) == NpyStatus::ok);
      CHECK(shape == std::vector<std::size_t>{H, W});
      for (float v : margin) REQUIRE(v >= 0.0f);
    }

    const std::string wpath = pms::test::golden_weights_path(c.weights);
    if (wpath.empty()) continue;  // generated weights not available in this build
    std::ifstream wf(wpath, std::ios::binary | std::ios::ate);
    REQUIRE_MESSAGE(wf.good(), "missing weights " << wpath);
    const auto size = static_cast<std::size_t>(wf.tellg());
    std::vector<std::byte> storage(size + pms::kBufferAlignment);
    void* p = storage.data();
    std::size_t space = storage.size();
    auto* aligned = static_cast<std::byte*>(std::align(pms::kBufferAlignment, size, p, space));
    wf.seekg(0);
    wf.read(reinterpret_cast<char*>(aligned), static_cast<std::streamsize>(size));
    pms::WeightsFile file;
    REQUIRE(pms::WeightsFile::parse({aligned, size}, file) == pms::Status::ok);
    // The int8 cases' weights are named *_int8 (tests/reference/make_golden.py).
    const auto precision = c.weights.ends_with("_int8") ? pms::WeightsPrecision::int8 : pms::WeightsPrecision::fp32;
    CHECK(file.expect(c.variant == "tiny" ? pms::ModelVariant::tiny : pms::ModelVariant::base, c.num_classes, precision) ==
          pms::Status::ok);
    ++weights_checked;
  }
  CHECK(vim_cases >= 14);
  MESSAGE(weights_checked << " of " << cases.size() << " cases had their weights file available");
#ifdef PMS_GOLDEN_WEIGHTS_DIR
  CHECK(weights_checked == static_cast<int>(cases.size()));
#endif
}

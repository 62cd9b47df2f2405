// MobileSeg<V, Int8> on the shipped int8 CamVid files (weights/FORMAT.md section 7): they load
// and pass their embedded self-test (the PyTorch reference's int8 path), the precision must
// match the file's, a non-zero pad code is refused at binding, thread counts give the same
// bits, and on a real CamVid frame the labels agree with the fp32 model's about as closely as
// the reference's own int8 path does (99.6 % of CamVid's test pixels at 480 x 360).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "golden.hpp"
#include "model_test_support.hpp"
#include "npy.hpp"
#include "pms/core/thread_pool.hpp"
#include "pms/mobileseg.hpp"

namespace {

using namespace pms;
using pms::test::AlignedBytes;

template <class V>
std::string int8_path() {
  return pms::test::repo_path(std::string("weights/pp_mobileseg_") + V::name + "_camvid_int8.pms");
}
template <class V>
std::string fp32_path() {
  return pms::test::repo_path(std::string("weights/pp_mobileseg_") + V::name + "_camvid.pms");
}

// The golden CamVid frame (tests/data/golden, a test-split frame at 360 x 480).
struct Frame {
  std::vector<std::uint8_t> rgb;
  int height = 0, width = 0;
};
Frame camvid_frame(const char* file) {
  Frame f;
  std::vector<std::size_t> shape;
  REQUIRE(pms::test::read_npy(pms::test::golden_path(file), f.rgb, shape) == pms::test::NpyStatus::ok);
  REQUIRE(shape.size() == 3);
  f.height = static_cast<int>(shape[0]);
  f.width = static_cast<int>(shape[1]);
  return f;
}

template <class Model>
std::vector<std::uint8_t> labels_of(const Model& model, const Frame& f, int threads, std::vector<float>* logits = nullptr) {
  ThreadPool pool(threads);
  AlignedBytes ws(model.workspace_size(f.height, f.width, pool.threads()));
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(f.height) * f.width, 255);
  SegmentInfo info;
  const ImageView image{f.rgb.data(), f.height, f.width, static_cast<std::ptrdiff_t>(f.width) * 3, PixelFormat::rgb};
  REQUIRE(model.segment(image, ws.span(), LabelMap<std::uint8_t>{labels.data(), f.height, f.width, f.width}, pool,
                        SegmentOptions{Upsampling::exact}, &info) == Status::ok);
  if (logits != nullptr) {
    logits->clear();
    for (int y = 0; y < info.logits.height; ++y)
      for (int x = 0; x < info.logits.width; ++x)
        logits->insert(logits->end(), info.logits.pixel(y, x), info.logits.pixel(y, x) + info.logits.channels);
  }
  return labels;
}

double agreement(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return static_cast<double>(same) / static_cast<double>(a.size());
}

}  // namespace

TEST_CASE_TEMPLATE("an int8 file loads into MobileSeg<V, Int8> and passes its self-test; precisions must match", V, Tiny, Base) {
  const AlignedBytes int8_file = pms::test::read_file(int8_path<V>());
  const AlignedBytes fp32_file = pms::test::read_file(fp32_path<V>());
  MobileSeg<V, Int8> model;
  REQUIRE(model.load(int8_file.cspan()) == Status::ok);
  AlignedBytes ws(model.self_test_workspace_size());
  CHECK(model.self_test(ws.span()) == Status::ok);
  CHECK(model.load(fp32_file.cspan()) == Status::wrong_precision);
  CHECK_FALSE(model.loaded());
  MobileSeg<V> fp32_model;
  CHECK(fp32_model.load(int8_file.cspan()) == Status::wrong_precision);
}

TEST_CASE("a non-zero code in an int8 conv's pad is refused when the network binds it") {
  // decode_head.conv_seg: 256 -> 11 classes, codes [64][16][4]; output lanes 11..15 are pad.
  // The row sum is kept consistent, so the file parses; only the binding sees the pad.
  AlignedBytes file = pms::test::read_file(int8_path<Tiny>());
  WeightsFile parsed;
  REQUIRE(WeightsFile::parse(file.cspan(), parsed) == Status::ok);
  const auto codes = parsed.find("decode_head.conv_seg.weight_q");
  const auto sums = parsed.find("decode_head.conv_seg.weight_sum");
  REQUIRE((codes && sums));
  auto* q = const_cast<std::int8_t*>(codes->i8());
  auto* s = const_cast<std::int32_t*>(sums->i32());
  q[(3 * 16 + 12) * 4 + 1] = 5;  // g 3, co 12 (pad), j 1
  s[12] += 5;
  const std::uint64_t checksum = weights_format::file_checksum(file.cspan().first(parsed.file_size()));
  std::memcpy(file.data.get() + weights_format::kOffChecksum, &checksum, sizeof checksum);
  MobileSeg<Tiny, Int8> model;
  CHECK(model.load(file.cspan()) == Status::bad_quantized_weights);
  CHECK(std::string(model.failed_tensor()) == "decode_head.conv_seg.weight_q");
}

TEST_CASE_TEMPLATE("int8 on a CamVid frame: the same bits on 1 and 3 threads, labels as close to fp32 as the reference's", V, Tiny,
                   Base) {
  // Measured: 99.58 % (Tiny) and 99.77 % (Base) at 360 x 480; at 97 x 131, where class
  // boundaries are a larger share of the pixels, 98.17 % and 99.15 % (SSE2).
#ifdef PMS_TEST_SMALL
  const Frame frame = camvid_frame("input_97x131_camvid.npy");
  constexpr double kMinAgreement = 0.97;
#else
  const Frame frame = camvid_frame("input_360x480_camvid.npy");
  constexpr double kMinAgreement = 0.99;
#endif
  const AlignedBytes int8_file = pms::test::read_file(int8_path<V>());
  const AlignedBytes fp32_file = pms::test::read_file(fp32_path<V>());
  MobileSeg<V, Int8> int8_model;
  MobileSeg<V> fp32_model;
  REQUIRE(int8_model.load(int8_file.cspan()) == Status::ok);
  REQUIRE(fp32_model.load(fp32_file.cspan()) == Status::ok);

  std::vector<float> logits_1, logits_3;
  const std::vector<std::uint8_t> int8_labels = labels_of(int8_model, frame, 1, &logits_1);
  CHECK(labels_of(int8_model, frame, 3, &logits_3) == int8_labels);
  CHECK(std::memcmp(logits_1.data(), logits_3.data(), logits_1.size() * sizeof(float)) == 0);

  const std::vector<std::uint8_t> fp32_labels = labels_of(fp32_model, frame, 1);
  const double same = agreement(int8_labels, fp32_labels);
  MESSAGE(std::string(V::name) << " int8 labels equal to fp32 on " << 100.0 * same << " % of " << int8_labels.size() << " pixels");
  CHECK(same >= kMinAgreement);
  for (const std::uint8_t l : int8_labels) REQUIRE(l < 11);
}

// MobileSeg<V> as a user sees it: loading, the embedded self-test, workspace sizing,
// statuses for bad input, no heap inside inference, identical results across threads and
// pixel formats. (Agreement with the reference is in test_golden.cpp.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "alloc_guard.hpp"
#include "model_test_support.hpp"
#include "pms/core/thread_pool.hpp"
#include "pms/mobileseg.hpp"

namespace {

using namespace pms;
using pms::test::AlignedBytes;

// Sizes used here stay small so the emulated AArch64 run stays quick.
constexpr int kH = 97, kW = 131;

template <class V>
const char* shipped_weights() {
  return std::is_same_v<V, Tiny> ? "weights/pp_mobileseg_tiny_camvid.pms" : "weights/pp_mobileseg_base_camvid.pms";
}

template <class V>
struct Loaded {
  AlignedBytes file = pms::test::read_file(pms::test::repo_path(shipped_weights<V>()));
  MobileSeg<V> model;
  Loaded() { REQUIRE(model.load(file.cspan()) == Status::ok); }
};

// The workspace size is a constant expression: an embedded user sizes a static buffer with it.
static_assert(MobileSeg<Tiny>::workspace_size({512, 512, 150}) > 0, "Tiny's workspace is computable at compile time.");
static_assert(MobileSeg<Base>::workspace_size({360, 480, 11}) > 0, "Base's workspace is computable at compile time.");
static_assert(MobileSeg<Tiny>::workspace_size({8, 8, 11}) == 0, "Tiny rejects inputs below 9 pixels per side.");

}  // namespace

TEST_CASE_TEMPLATE("shipped weights load and pass their embedded self-test", V, Tiny, Base) {
  Loaded<V> m;
  CHECK(m.model.num_classes() == 11);
  AlignedBytes ws(m.model.self_test_workspace_size());
  CHECK(m.model.self_test(ws.span()) == Status::ok);
}

TEST_CASE("weights of the other variant are refused") {
  AlignedBytes base = pms::test::read_file(pms::test::repo_path(shipped_weights<Base>()));
  MobileSeg<Tiny> tiny;
  CHECK(tiny.load(base.cspan()) == Status::wrong_variant);
  CHECK_FALSE(tiny.loaded());
}

TEST_CASE("a flipped weight is caught by the checksum, never used") {
  AlignedBytes file = pms::test::read_file(pms::test::repo_path(shipped_weights<Tiny>()));
  WeightsFile parsed;
  REQUIRE(WeightsFile::parse(file.cspan(), parsed) == Status::ok);
  const auto t = parsed.find("backbone.smb1.conv.weight");
  REQUIRE(t.has_value());
  float* w = const_cast<float*>(static_cast<const float*>(t->data));
  w[0] += 1.0f;
  MobileSeg<Tiny> model;
  CHECK(model.load(file.cspan()) == Status::bad_checksum);
}

TEST_CASE_TEMPLATE("the workspace size is the same at compile time and at run time", V, Tiny, Base) {
  constexpr std::size_t fixed = MobileSeg<V>::workspace_size({kH, kW, 11});
  Loaded<V> m;
  CHECK(fixed == m.model.workspace_size(kH, kW));
  // The upsampling tail has scratch per thread and per label column: with a label map far
  // wider than the image and many threads it outgrows the body.
  const std::size_t wide = m.model.workspace_size(kH, kW, 1, 64 * kW);
  CHECK(wide >= fixed);
  CHECK(m.model.workspace_size(kH, kW, 64, 64 * kW) > wide);
}

TEST_CASE_TEMPLATE("bad input gets a status, never a crash", V, Tiny, Base) {
  Loaded<V> m;
  const auto img = pms::test::test_image(kH, kW, 1);
  AlignedBytes ws(m.model.workspace_size(kH, kW));
  std::vector<std::uint8_t> labels(kH * kW);
  const LabelMap<std::uint8_t> out{labels.data(), kH, kW, kW};
  const ImageView good{img.data(), kH, kW, kW * 3, PixelFormat::rgb};
  REQUIRE(m.model.segment(good, ws.span(), out) == Status::ok);

  ImageView bad = good;
  bad.pixels = nullptr;
  CHECK(m.model.segment(bad, ws.span(), out) == Status::empty_image);
  bad = good, bad.height = 0;
  CHECK(m.model.segment(bad, ws.span(), out) == Status::empty_image);
  bad = good, bad.width = -3;
  CHECK(m.model.segment(bad, ws.span(), out) == Status::empty_image);
  bad = good, bad.width = kMaxImageSide + 1;
  CHECK(m.model.segment(bad, ws.span(), out) == Status::image_too_large);
  bad = good, bad.row_stride = kW * 3 - 1;
  CHECK(m.model.segment(bad, ws.span(), out) == Status::bad_row_stride);
  if constexpr (V::min_input_side > 1) {
    bad = good, bad.height = V::min_input_side - 1;
    CHECK(m.model.segment(bad, ws.span(), out) == Status::image_too_small);
  }
  CHECK(m.model.segment(good, ws.span().first(ws.size - 1), out) == Status::workspace_too_small);
  CHECK(m.model.segment(good, ws.span(), LabelMap<std::uint8_t>{nullptr, kH, kW, kW}) == Status::bad_argument);
  CHECK(m.model.segment(good, ws.span(), LabelMap<std::uint8_t>{labels.data(), kH, kW, kW - 1}) == Status::bad_argument);

  MobileSeg<V> empty;
  CHECK(empty.segment(good, ws.span(), out) == Status::bad_argument);
}

TEST_CASE_TEMPLATE("a workspace of workspace_size() bytes works at any alignment, with the same labels", V, Tiny, Base) {
  Loaded<V> m;
  const auto img = pms::test::test_image(kH, kW, 5);
  const ImageView image{img.data(), kH, kW, kW * 3, PixelFormat::rgb};
  const std::size_t size = m.model.workspace_size(kH, kW);
  AlignedBytes buffer(size + 64);
  std::vector<std::uint8_t> want(kH * kW), got(kH * kW);
  REQUIRE(m.model.segment(image, buffer.span().first(size), LabelMap<std::uint8_t>{want.data(), kH, kW, kW}) == Status::ok);
  for (const std::size_t offset : {1, 4, 17, 63, 64}) {
    CAPTURE(offset);
    std::fill(got.begin(), got.end(), std::uint8_t{255});
    CHECK(m.model.segment(image, buffer.span().subspan(offset, size), LabelMap<std::uint8_t>{got.data(), kH, kW, kW}) == Status::ok);
    CHECK(got == want);
  }
}

TEST_CASE_TEMPLATE("inference allocates nothing on the heap", V, Tiny, Base) {
  Loaded<V> m;
  const auto img = pms::test::test_image(kH, kW, 2);
  AlignedBytes ws(m.model.workspace_size(kH, kW, 2));
  std::vector<std::int32_t> labels(kH * kW);
  const ImageView image{img.data(), kH, kW, kW * 3, PixelFormat::rgb};
  const LabelMap<std::int32_t> out{labels.data(), kH, kW, kW};
  ThreadPool pool(2);
  for (Upsampling mode : {Upsampling::exact, Upsampling::vim}) {
    pms::test::AllocationCounter counter;
    REQUIRE(m.model.segment(image, ws.span(), out, SegmentOptions{mode}) == Status::ok);
    REQUIRE(m.model.segment(image, ws.span(), out, pool, SegmentOptions{mode}) == Status::ok);
    CHECK(counter.count() == 0);
  }
}

TEST_CASE_TEMPLATE("results do not depend on the thread count", V, Tiny, Base) {
  Loaded<V> m;
  // 150 x 140 is large enough for the first blocks to stream rows (MV3Block::streamed); at
  // 260 x 270 smb2.blocks.0 streams with 1 and 2 threads and runs layer by layer with 3.
  for (const auto& size : {std::pair{kH, kW}, std::pair{150, 140}, std::pair{260, 270}}) {
    const int h = size.first, w = size.second;  // not a structured binding: CAPTURE's lambda takes h
    CAPTURE(h);
    const auto img = pms::test::test_image(h, w, 3);
    const ImageView image{img.data(), h, w, w * 3, PixelFormat::rgb};
    std::vector<std::uint16_t> one(h * w), many(h * w);
    AlignedBytes ws1(m.model.workspace_size(h, w)), wsn(m.model.workspace_size(h, w, 3));
    SegmentInfo info1, infon;
    REQUIRE(m.model.segment(image, ws1.span(), LabelMap<std::uint16_t>{one.data(), h, w, w}, SegmentOptions{}, &info1) == Status::ok);
    for (int threads : {2, 3}) {
      ThreadPool pool(threads);
      REQUIRE(m.model.segment(image, wsn.span(), LabelMap<std::uint16_t>{many.data(), h, w, w}, pool, SegmentOptions{}, &infon) ==
              Status::ok);
      CHECK(one == many);
      REQUIRE(info1.logits.size() == infon.logits.size());
      CHECK(std::memcmp(info1.logits.data, infon.logits.data, info1.logits.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE_TEMPLATE("RGB, BGR, RGBA and BGRA inputs with padded rows give the same labels", V, Tiny, Base) {
  Loaded<V> m;
  const auto rgb = pms::test::test_image(kH, kW, 4);
  AlignedBytes ws(m.model.workspace_size(kH, kW));
  std::vector<std::uint8_t> want(kH * kW), got(kH * kW);
  REQUIRE(m.model.segment(ImageView{rgb.data(), kH, kW, kW * 3, PixelFormat::rgb}, ws.span(),
                          LabelMap<std::uint8_t>{want.data(), kH, kW, kW}) == Status::ok);
  for (PixelFormat f : {PixelFormat::bgr, PixelFormat::rgba, PixelFormat::bgra}) {
    const int bpp = bytes_per_pixel(f), stride = kW * bpp + 5;
    std::vector<std::uint8_t> img(static_cast<std::size_t>(kH) * stride, 0);
    for (int y = 0; y < kH; ++y)
      for (int x = 0; x < kW; ++x)
        for (int c = 0; c < 3; ++c) {
          const int dst = f == PixelFormat::bgr || f == PixelFormat::bgra ? 2 - c : c;
          img[static_cast<std::size_t>(y) * stride + x * bpp + dst] = rgb[(static_cast<std::size_t>(y) * kW + x) * 3 + c];
        }
    std::fill(got.begin(), got.end(), 255);
    REQUIRE(m.model.segment(ImageView{img.data(), kH, kW, stride, f}, ws.span(), LabelMap<std::uint8_t>{got.data(), kH, kW, kW}) ==
            Status::ok);
    CHECK(got == want);
  }
}

TEST_CASE_TEMPLATE("logits() runs the body alone and reports the same logits as segment()", V, Tiny, Base) {
  Loaded<V> m;
  const auto img = pms::test::test_image(kH, kW, 5);
  const ImageView image{img.data(), kH, kW, kW * 3, PixelFormat::rgb};
  AlignedBytes ws_body(m.model.workspace_size(kH, kW)), ws_full(m.model.workspace_size(kH, kW));
  std::vector<std::uint8_t> labels(kH * kW);
  SegmentInfo body, full;
  REQUIRE(m.model.logits(image, ws_body.span(), body) == Status::ok);
  REQUIRE(m.model.segment(image, ws_full.span(), LabelMap<std::uint8_t>{labels.data(), kH, kW, kW}, SegmentOptions{}, &full) ==
          Status::ok);
  CHECK(body.class_count == 0);  // no labels were made
  CHECK(full.class_count > 0);
  REQUIRE(body.logits.size() == full.logits.size());
  CHECK(std::memcmp(body.logits.data, full.logits.data, body.logits.size() * sizeof(float)) == 0);
  // The classes reported are exactly those of the label map.
  std::vector<int> seen(m.model.num_classes(), 0);
  for (std::uint8_t l : labels) seen[l] = 1;
  int count = 0;
  for (int c = 0; c < m.model.num_classes(); ++c) count += seen[c];
  CHECK(count == full.class_count);
  for (int i = 0; i < full.class_count; ++i) CHECK(seen[full.classes[i]] == 1);
}

// Weights that load() accepts but that drive the logits out of range (made from the shipped
// files by tests/reference/make_hostile_weights.py): inference must stay in bounds, write a
// label in [0, K) at every pixel in both upsampling modes and at any thread count, and say
// with non_finite_logits when a logit is NaN or infinite. Finite logits beyond 2^100 are
// not an error: their labels are those of the unscaled weights.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "model_test_support.hpp"
#include "pms/mobileseg.hpp"

#ifdef PMS_GOLDEN_WEIGHTS_DIR

namespace {

using namespace pms;
using pms::test::AlignedBytes;

constexpr int kH = 97, kW = 131;
constexpr std::uint8_t kUnwritten = 255;  // labels are prefilled with it: every pixel must change

template <class V>
std::string variant_name() {
  return std::is_same_v<V, Tiny> ? "tiny" : "base";
}

template <class V>
struct LoadedFile {
  AlignedBytes file;
  MobileSeg<V> model;
  explicit LoadedFile(const std::string& path) : file(pms::test::read_file(path)) {
    REQUIRE_MESSAGE(model.load(file.cspan()) == Status::ok, path);
  }
};

template <class V>
std::string hostile_path(const char* kind) {
  return std::string(PMS_GOLDEN_WEIGHTS_DIR "/") + variant_name<V>() + "_logits_" + kind + ".pms";
}

struct Labels {
  std::vector<std::uint8_t> map;
  Status status = Status::ok;
};

// Segments the test image into a label map of lh x lw with `threads` threads.
template <class V>
Labels segment(const MobileSeg<V>& model, Upsampling mode, int threads, int lh = kH, int lw = kW) {
  const std::vector<std::uint8_t> rgb = pms::test::test_image(kH, kW, 7);
  const ImageView image{rgb.data(), kH, kW, kW * 3, PixelFormat::rgb};
  ThreadPool pool(threads);
  AlignedBytes ws(model.workspace_size(kH, kW, pool.threads(), lw));
  Labels out{std::vector<std::uint8_t>(static_cast<std::size_t>(lh) * lw, kUnwritten)};
  out.status = model.segment(image, ws.span(), LabelMap<std::uint8_t>{out.map.data(), lh, lw, lw}, pool, SegmentOptions{mode});
  return out;
}

bool all_below(const std::vector<std::uint8_t>& labels, int k) {
  for (const std::uint8_t l : labels)
    if (l >= k) return false;
  return true;
}

}  // namespace

TEST_CASE_TEMPLATE("overflowing logits: every label in [0, K), status non_finite_logits", V, Tiny, Base) {
  LoadedFile<V> m(hostile_path<V>("overflow"));
  const int k = m.model.num_classes();
  for (const Upsampling mode : {Upsampling::exact, Upsampling::vim})
    for (const int threads : {1, 2}) {
      CAPTURE(static_cast<int>(mode));
      CAPTURE(threads);
      const Labels same_size = segment(m.model, mode, threads);
      CHECK(same_size.status == Status::non_finite_logits);
      CHECK(all_below(same_size.map, k));
      const Labels other_size = segment(m.model, mode, threads, 2 * kH + 1, kW / 2);  // narrow and wide cells
      CHECK(other_size.status == Status::non_finite_logits);
      CHECK(all_below(other_size.map, k));
      CHECK(same_size.map == segment(m.model, mode, 1).map);  // deterministic across thread counts
    }
  SegmentInfo info;
  const std::vector<std::uint8_t> rgb = pms::test::test_image(kH, kW, 7);
  AlignedBytes ws(m.model.workspace_size(kH, kW));
  CHECK(m.model.logits(ImageView{rgb.data(), kH, kW, kW * 3, PixelFormat::rgb}, ws.span(), info) == Status::non_finite_logits);
  AlignedBytes self_ws(m.model.self_test_workspace_size());
  CHECK(m.model.self_test(self_ws.span()) == Status::non_finite_logits);
}

TEST_CASE_TEMPLATE("finite logits beyond 2^100 give the labels of the unscaled weights", V, Tiny, Base) {
  LoadedFile<V> huge(hostile_path<V>("huge"));
  LoadedFile<V> shipped(pms::test::repo_path("weights/pp_mobileseg_" + variant_name<V>() + "_camvid.pms"));
  for (const Upsampling mode : {Upsampling::exact, Upsampling::vim}) {
    CAPTURE(static_cast<int>(mode));
    const Labels got = segment(huge.model, mode, 1);
    const Labels want = segment(shipped.model, mode, 1);
    REQUIRE(got.status == Status::ok);
    REQUIRE(want.status == Status::ok);
    CHECK(all_below(got.map, huge.model.num_classes()));
    // The scaled path sums Paddle's four products, the fast one blends separably: they may
    // part only where two classes tie within rounding.
    std::size_t differ = 0;
    for (std::size_t i = 0; i < got.map.size(); ++i) differ += got.map[i] != want.map[i] ? 1 : 0;
    CHECK(differ * 1000 <= got.map.size());
  }
}

#endif  // PMS_GOLDEN_WEIGHTS_DIR

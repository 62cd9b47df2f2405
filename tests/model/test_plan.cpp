// The plan (model/plan.hpp) against what the network produces and against spec 10's
// extents: x8, x16, x32 at ceil(n / 8), ceil(n / 16), ceil(n / 32), logits at 1/16 (Tiny,
// floor of half of x8) or 1/8 (Base), channel counts from the variant.
#include <doctest/doctest.h>

#include <vector>

#include "model_test_support.hpp"
#include "pms/mobileseg.hpp"

namespace {

using namespace pms;
using pms::test::AlignedBytes;

constexpr int ceil_div(int n, int d) { return (n + d - 1) / d; }

static_assert(make_plan<Tiny>(512, 512, 150).logits.height == 32, "Tiny's logits are at 1/16.");
static_assert(make_plan<Base>(512, 512, 150).logits.height == 64, "Base's logits are at 1/8.");

}  // namespace

TEST_CASE_TEMPLATE("the plan gives every stage's extent and the network's logits", V, Tiny, Base) {
  AlignedBytes file = pms::test::read_file(pms::test::repo_path(std::is_same_v<V, Tiny> ? "weights/pp_mobileseg_tiny_camvid.pms"
                                                                                          : "weights/pp_mobileseg_base_camvid.pms"));
  MobileSeg<V> model;
  REQUIRE(model.load(file.cspan()) == Status::ok);
  for (const int h : {V::min_input_side, 17, 97, 360})
    for (const int w : {V::min_input_side + 4, 131, 480}) {
      CAPTURE(h);
      CAPTURE(w);
      const Plan<V> p = make_plan<V>(h, w, model.num_classes());
      CHECK(p.stem.height == ceil_div(h, 2));
      CHECK(p.smb1.out().height == ceil_div(h, 4));
      CHECK((p.x8.height == ceil_div(h, 8) && p.x8.width == ceil_div(w, 8) && p.x8.channels == V::smb2.out()));
      CHECK((p.x16.height == ceil_div(h, 16) && p.x16.width == ceil_div(w, 16) && p.x16.channels == V::trans1.dim));
      CHECK((p.x32.height == ceil_div(h, 32) && p.x32.width == ceil_div(w, 32) && p.x32.channels == V::trans2.dim));
      CHECK(p.smb3.in.height == p.x8.height);
      const std::vector<std::uint8_t> rgb = pms::test::test_image(h, w, 3);
      pms::test::AlignedBytes ws(model.workspace_size(h, w));
      SegmentInfo info;
      REQUIRE(model.logits(ImageView{rgb.data(), h, w, static_cast<std::ptrdiff_t>(w) * 3, PixelFormat::rgb}, ws.span(), info) == Status::ok);
      CHECK((info.logits.height == p.logits.height && info.logits.width == p.logits.width && info.logits.channels == p.logits.channels));
      const int want_h = std::is_same_v<V, Tiny> ? p.x8.height / 2 : p.x8.height;
      CHECK(p.logits.height == want_h);
    }
}

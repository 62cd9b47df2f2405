// tests/fuzz/inference_check.hpp: what the weights harnesses demand of every file load()
// accepts. It is run: the embedded self-test (any status, never a crash) and segment() of a
// small synthetic image in exact and VIM modes, whose status must be ok or
// non_finite_logits and whose every label must lie in [0, K). A violation aborts, which
// libFuzzer reports as a crash with the input that caused it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include <pms/core/page_buffer.hpp>
#include <pms/mobileseg.hpp>

namespace pms_fuzz {

// segment() on an accepted file answers ok, or non_finite_logits when the weights drive a
// low-res logit to NaN or Inf (the labels are then still in [0, K), but meaningless).
constexpr bool accepted_segment_status(pms::Status s) { return s == pms::Status::ok || s == pms::Status::non_finite_logits; }

[[noreturn]] inline void violation(const char* what, int value) {
  std::fprintf(stderr, "fuzz: invariant violated: %s (%d)\n", what, value);
  std::abort();
}

// A 29 x 37 RGB test picture: gradients and a checker, odd sides (tails of every grid).
inline const std::vector<std::uint8_t>& test_picture() {
  static const std::vector<std::uint8_t> rgb = [] {
    std::vector<std::uint8_t> p(29 * 37 * 3);
    for (int y = 0; y < 29; ++y)
      for (int x = 0; x < 37; ++x) {
        std::uint8_t* px = &p[(static_cast<std::size_t>(y) * 37 + x) * 3];
        px[0] = static_cast<std::uint8_t>(7 * x);
        px[1] = static_cast<std::uint8_t>(9 * y);
        px[2] = static_cast<std::uint8_t>(((x / 4 + y / 4) & 1) * 200 + 20);
      }
    return p;
  }();
  return rgb;
}

// Loads `file` as variant V; if load() accepts it, checks the invariants above.
template <class V>
void check_accepted_file(std::span<const std::byte> file) {
  pms::MobileSeg<V> model;
  if (model.load(file) != pms::Status::ok) return;
  const int k = model.num_classes();
  if (k < 2 || k > 256) violation("class count of an accepted file", k);

  pms::PageBuffer self_test_ws(model.self_test_workspace_size());
  if (self_test_ws.allocated()) (void)model.self_test({self_test_ws.data(), self_test_ws.size()});

  constexpr int kH = 29, kW = 37;
  const pms::ImageView image{test_picture().data(), kH, kW, kW * 3, pms::PixelFormat::rgb};
  pms::PageBuffer ws(model.workspace_size(kH, kW));
  if (!ws.allocated()) violation("workspace for a 29 x 37 image", 0);
  std::vector<std::int32_t> labels(kH * kW);
  for (const pms::Upsampling mode : {pms::Upsampling::exact, pms::Upsampling::vim}) {
    std::fill(labels.begin(), labels.end(), -1);
    const pms::Status s = model.segment(image, {ws.data(), ws.size()}, pms::LabelMap<std::int32_t>{labels.data(), kH, kW, kW},
                                        pms::SegmentOptions{mode});
    if (!accepted_segment_status(s)) violation("segment() status on an accepted file", static_cast<int>(s));
    for (const std::int32_t l : labels)
      if (l < 0 || l >= k) violation("label outside [0, K)", l);
  }
}

}  // namespace pms_fuzz

// pms/model/self_test.hpp: runs the test vector embedded in a weights file.
//
// The selftest.* tensors (weights/FORMAT.md) hold an image, the reference's low-res logits
// (K x h x w, channel-major), its labels and each label's top-2 margin. The model segments
// the image (exact upsampling): the logits must match within kSelfTestTolerance (relative to
// max(1, |ref|)) and the labels wherever the reference's margin exceeds kSelfTestTieMargin.
// That proves the weights and this build (ISA, compiler flags) agree with the reference.
//
// Int8 models get wider bounds: their int8 convs are exact, but where an fp32 layer rounds
// differently from PyTorch (summation order, FMA) a quantized activation can move by one
// step, which moves logits by a few hundredths (weights/FORMAT.md 7.7).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "pms/core/arena.hpp"
#include "pms/core/image.hpp"
#include "pms/core/label_map.hpp"
#include "pms/core/precision.hpp"
#include "pms/core/status.hpp"
#include "pms/io/weights_file.hpp"
#include "pms/model/plan.hpp"
#include "pms/model/segment_options.hpp"

namespace pms {

struct SelfTestTolerance {
  float logits;      // |got - want| <= logits * max(1, |want|)
  float tie_margin;  // labels must match where the reference's top-2 margin exceeds this
};
template <Precision P>
inline constexpr SelfTestTolerance self_test_tolerance{1e-3f, 1e-3f};
template <>
inline constexpr SelfTestTolerance self_test_tolerance<Int8>{0.25f, 0.25f};
inline constexpr float kSelfTestTolerance = self_test_tolerance<Fp32>.logits;
inline constexpr float kSelfTestTieMargin = self_test_tolerance<Fp32>.tie_margin;

// {h, w} of the embedded self-test image, {0, 0} when the file has none.
inline std::array<int, 2> self_test_dims(const WeightsFile& file) noexcept {
  const auto t = file.find("selftest.image");
  if (!t || t->rank != 3) return {0, 0};
  return {t->dims[0], t->dims[1]};
}

// Workspace bytes run_self_test needs: the model's for the image, then the labels.
template <class Model>
std::size_t self_test_workspace_size(const Model& model) noexcept {
  const auto [h, w] = self_test_dims(model.weights());
  if (h == 0) return 0;
  return model.workspace_size(h, w) + static_cast<std::size_t>(h) * w;
}

template <class Model>
Status run_self_test(const Model& model, std::span<std::byte> workspace) noexcept {
  if (!model.loaded()) return Status::bad_argument;
  const WeightsFile& file = model.weights();
  const auto [h, w] = self_test_dims(file);
  if (h == 0) return Status::missing_tensor;
  const int k = model.num_classes();
  const Shape logits_shape = make_plan<typename Model::Variant>(h, w, k).logits;
  const std::uint8_t* pixels = nullptr;
  const std::uint8_t* want_labels = nullptr;
  const float* want_logits = nullptr;
  const float* margin = nullptr;
  {
    const int image_dims[] = {h, w, 3};
    const int map_dims[] = {h, w};
    const int logit_dims[] = {k, logits_shape.height, logits_shape.width};
    Status st = file.get_u8("selftest.image", image_dims, pixels);
    if (st == Status::ok) st = file.get_u8("selftest.labels", map_dims, want_labels);
    if (st == Status::ok) st = file.get_f32("selftest.logits", logit_dims, want_logits);
    if (st == Status::ok) st = file.get_f32("selftest.label_margin", map_dims, margin);
    if (st != Status::ok) return st;
  }
  if (k > 256) return Status::wrong_class_count;  // the vector stores u8 labels
  const std::size_t need = self_test_workspace_size(model);
  if (workspace.size() < need) return Status::workspace_too_small;
  const std::size_t label_bytes = static_cast<std::size_t>(h) * w;
  std::uint8_t* labels = reinterpret_cast<std::uint8_t*>(workspace.data() + (need - label_bytes));
  SegmentInfo info;
  const ImageView image{pixels, h, w, static_cast<std::ptrdiff_t>(w) * 3, PixelFormat::rgb};
  const Status st = model.segment(image, workspace.first(need - label_bytes), LabelMap<std::uint8_t>{labels, h, w, w},
                                  SegmentOptions{Upsampling::exact}, &info);
  if (st != Status::ok) return st;
  for (int c = 0; c < k; ++c)
    for (int y = 0; y < logits_shape.height; ++y)
      for (int x = 0; x < logits_shape.width; ++x) {
        const float want = want_logits[(static_cast<std::size_t>(c) * logits_shape.height + y) * logits_shape.width + x];
        const float got = info.logits.pixel(y, x)[c];
        const float scale = want < 0 ? (want < -1 ? -want : 1.0f) : (want > 1 ? want : 1.0f);
        if (!(got - want <= Model::kSelfTestTolerance * scale && want - got <= Model::kSelfTestTolerance * scale))
          return Status::self_test_failed;
      }
  for (std::size_t i = 0; i < label_bytes; ++i)
    if (margin[i] > Model::kSelfTestTieMargin && labels[i] != want_labels[i]) return Status::self_test_failed;
  return Status::ok;
}

}  // namespace pms

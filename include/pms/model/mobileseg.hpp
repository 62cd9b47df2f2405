// pms/model/mobileseg.hpp: MobileSeg<Variant, Precision>, what users call.
//
//   pms::MobileSeg<pms::Tiny> model;                                  // or MobileSeg<pms::Tiny, pms::Int8>
//   if (model.load(weights_bytes) != pms::Status::ok) ...;          // no copy: views into the bytes
//   std::vector<std::byte> ws(model.workspace_size(h, w));            // or a static buffer, any alignment
//   model.segment(image, ws, labels);                                 // noexcept, no heap
//
// The class count comes from the weights, not a template parameter: one binary serves any
// checkpoint (CamVid 11, Cityscapes 19, ADE20K 150), K changes only the classifier and the
// tail, and workspace_size(h, w, K) is still a constant expression for fixed arguments.
// The precision (pms::Fp32, the default, or pms::Int8; pms/core/precision.hpp) must be the
// weights file's: load() answers wrong_precision otherwise.
// This class checks arguments and owns the bound weights; network.hpp is what runs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "pms/core/arena.hpp"
#include "pms/core/executor.hpp"
#include "pms/core/image.hpp"
#include "pms/core/label_map.hpp"
#include "pms/core/status.hpp"
#include "pms/io/weights_file.hpp"
#include "pms/layers/run_context.hpp"
#include "pms/layers/weight_binder.hpp"
#include "pms/model/network.hpp"
#include "pms/model/segment_options.hpp"
#include "pms/model/self_test.hpp"

namespace pms::inline PMS_ISA_NS {

template <class V, Precision P = Fp32>
class MobileSeg {
 public:
  using Variant = V;
  using PrecisionType = P;
  using NetworkType = Network<V, P>;

  MobileSeg() noexcept = default;

  // Parses and binds weights held in `file` (which must outlive the model): the header, the
  // checksum, every tensor's presence and shape. On failure the model stays unloaded.
  [[nodiscard]] Status load(std::span<const std::byte> file) noexcept {
    loaded_ = false;
    WeightsFile parsed;
    if (const Status s = WeightsFile::parse(file, parsed); s != Status::ok) return s;
    if (const Status s = parsed.expect(static_cast<ModelVariant>(V::file_id), 0, P::weights); s != Status::ok) return s;
    NetworkType net;
    WeightBinder binder(parsed);
    net.bind(binder, parsed.num_classes());
    if (binder.status() != Status::ok) {
      failed_tensor_ = binder.failed_tensor();
      return binder.status();
    }
    network_ = net;
    file_ = parsed;
    num_classes_ = parsed.num_classes();
    norm_ = Normalization{parsed.mean(), parsed.std_dev()};
    loaded_ = true;
    return Status::ok;
  }

  bool loaded() const noexcept { return loaded_; }
  // {h, w} of the embedded self-test image, {0, 0} when the file has none.
  std::array<int, 2> self_test_dims() const noexcept { return pms::self_test_dims(file_); }
  int num_classes() const noexcept { return num_classes_; }
  const Normalization& normalization() const noexcept { return norm_; }
  const WeightsFile& weights() const noexcept { return file_; }
  const NetworkType& network() const noexcept { return network_; }
  // After load() returned missing_tensor or shape_mismatch: the tensor it was about.
  const char* failed_tensor() const noexcept { return failed_tensor_.c_str(); }

  // Bytes of workspace segment() and logits() need, at any alignment (the library aligns
  // inside it). A constant expression for constant arguments (size a static buffer with it).
  static constexpr std::size_t workspace_size(const WorkspaceQuery& q) noexcept {
    if (check_size(q.height, q.width) != Status::ok || q.num_classes < 1 || q.threads < 1) return 0;
    const int label_width = q.label_width > 0 ? q.label_width : q.width;
    if (label_width > kMaxImageSide) return 0;
    Arena arena;
    MeasureOnly exec{q.threads};
    RunContext<MeasureOnly> ctx{arena, exec, false};
    const LabelMap<std::uint8_t> labels{nullptr, 1, label_width, label_width};
    (void)NetworkType{}.run(ctx, ImageView{nullptr, q.height, q.width, 0, PixelFormat::rgb}, Normalization{}, q.num_classes, false,
                            &labels);
    return arena.peak() + (kBufferAlignment - 1);  // room to align the start
  }
  // For this model's class count; label_width 0 = labels at the image's size.
  std::size_t workspace_size(int height, int width, int threads = 1, int label_width = 0) const noexcept {
    return workspace_size(WorkspaceQuery{height, width, num_classes_, threads, label_width});
  }

  // Segments an image into `labels`. Labels of the image's size are PaddleSeg's output; any
  // other size gets the low-res logits upsampled straight to it (PaddleSeg's evaluation of a
  // resized image at its original size). Single-threaded. Returns non_finite_logits (labels
  // still all in [0, K)) when the weights drove a logit to NaN or infinity.
  template <class Label>
  [[nodiscard]] Status segment(const ImageView& image, std::span<std::byte> workspace, LabelMap<Label> labels,
                               const SegmentOptions& options = {}, SegmentInfo* info = nullptr) const noexcept {
    Serial serial;
    return segment(image, workspace, labels, serial, options, info);
  }
  // The same, with rows split across the executor's threads (identical results).
  template <class Label, Executor Exec>
  [[nodiscard]] Status segment(const ImageView& image, std::span<std::byte> workspace, LabelMap<Label> labels, Exec& exec,
                               const SegmentOptions& options = {}, SegmentInfo* info = nullptr) const noexcept {
    static_assert(is_label_type_v<Label>, "Labels are uint8_t, uint16_t or int32_t.");
    if (labels.data == nullptr || labels.height < 1 || labels.width < 1 || labels.height > kMaxImageSide ||
        labels.width > kMaxImageSide || labels.stride < labels.width)
      return Status::bad_argument;
    if (num_classes_ - 1 > static_cast<int>(std::numeric_limits<Label>::max())) return Status::bad_argument;
    return start(image, workspace, exec, options, &labels, info);
  }

  // Only the body: image -> low-res logits (in the workspace, described by info.logits).
  [[nodiscard]] Status logits(const ImageView& image, std::span<std::byte> workspace, SegmentInfo& info) const noexcept {
    Serial serial;
    return logits(image, workspace, serial, info);
  }
  template <Executor Exec>
  [[nodiscard]] Status logits(const ImageView& image, std::span<std::byte> workspace, Exec& exec, SegmentInfo& info) const noexcept {
    return start(image, workspace, exec, SegmentOptions{}, static_cast<LabelMap<std::uint8_t>*>(nullptr), &info);
  }

  // The test vector embedded in the weights file (model/self_test.hpp).
  static constexpr float kSelfTestTolerance = self_test_tolerance<P>.logits;
  static constexpr float kSelfTestTieMargin = self_test_tolerance<P>.tie_margin;
  std::size_t self_test_workspace_size() const noexcept { return pms::self_test_workspace_size(*this); }
  [[nodiscard]] Status self_test(std::span<std::byte> workspace) const noexcept { return run_self_test(*this, workspace); }

  static constexpr Status check_size(int height, int width) noexcept {
    if (height <= 0 || width <= 0) return Status::empty_image;
    if (height > kMaxImageSide || width > kMaxImageSide) return Status::image_too_large;
    if (height < V::min_input_side || width < V::min_input_side) return Status::image_too_small;
    return Status::ok;
  }

 private:
  template <class Exec, class Label>
  Status start(const ImageView& image, std::span<std::byte> workspace, Exec& exec, const SegmentOptions& options,
               LabelMap<Label>* labels, SegmentInfo* info) const noexcept {
    if (!loaded_) return Status::bad_argument;
    if (image.pixels == nullptr) return Status::empty_image;
    if (const Status s = check_size(image.height, image.width); s != Status::ok) return s;
    if (image.row_stride < static_cast<std::ptrdiff_t>(image.width) * bytes_per_pixel(image.format)) return Status::bad_row_stride;
    if (workspace.data() == nullptr ||
        workspace.size() < workspace_size(image.height, image.width, exec.threads(), labels != nullptr ? labels->width : 0))
      return Status::workspace_too_small;
    // workspace_size left room for this.
    const std::size_t skip = (kBufferAlignment - reinterpret_cast<std::uintptr_t>(workspace.data()) % kBufferAlignment) % kBufferAlignment;
    Arena arena(workspace.data() + skip, workspace.size() - skip);
    RunContext<Exec> ctx{arena, exec, true};
    const bool vim = options.upsampling == Upsampling::vim || (options.upsampling == Upsampling::automatic && num_classes_ >= kVimMinClasses);
    const NetworkOutputs o = network_.run(ctx, image, norm_, num_classes_, vim, labels);
    if (info != nullptr) *info = SegmentInfo{o.logits, o.classes, o.class_count, vim && labels != nullptr};
    return o.range == kernels::LogitRange::non_finite ? Status::non_finite_logits : Status::ok;
  }

  NetworkType network_{};
  WeightsFile file_{};
  Normalization norm_{};
  int num_classes_ = 0;
  bool loaded_ = false;
  TensorName failed_tensor_{};
};

}  // namespace pms::inline PMS_ISA_NS

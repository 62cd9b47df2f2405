// pms/model/mobileseg.hpp: MobileSeg<Variant>, what users call.
//
//   pms::MobileSeg<pms::Tiny> model;
//   if (model.load(weights_bytes) != pms::Status::ok) ...;          // no copy: views into the bytes
//   std::vector<std::byte> ws(model.workspace_size(h, w));            // or a static buffer
//   model.segment(image, ws, labels);                                 // noexcept, no heap
//
// The class count comes from the weights, not a template parameter: one binary serves any
// checkpoint (CamVid 11, Cityscapes 19, ADE20K 150), K changes only the classifier and the
// tail, and workspace_size(h, w, K) is still a constant expression for fixed arguments.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>

#include "pms/core/arena.hpp"
#include "pms/core/image.hpp"
#include "pms/core/parallel.hpp"
#include "pms/core/status.hpp"
#include "pms/io/weights_file.hpp"
#include "pms/kernels/argmax.hpp"
#include "pms/kernels/logit_range.hpp"
#include "pms/kernels/robust_argmax.hpp"
#include "pms/kernels/upsample_argmax.hpp"
#include "pms/layers/run_context.hpp"
#include "pms/layers/weight_binder.hpp"
#include "pms/model/network.hpp"

namespace pms {

// How low-res logits become full-resolution labels (spec 9).
enum class Upsampling : std::uint8_t {
  automatic,  // PaddleSeg's choice: VIM for 30 classes or more, exact otherwise
  vim,        // upsample only the classes that win somewhere at low resolution
  exact,      // upsample every class, argmax; fused, the K x H x W logits never exist
};

// Labels of one image: element (y, x) at data[y * stride + x].
template <class Label>
struct LabelMap {
  Label* data = nullptr;
  int height = 0;
  int width = 0;
  std::ptrdiff_t stride = 0;  // elements between rows, >= width
};

// What a workspace must hold: an image size, the class count, the threads that will run
// it, and the label map's width when it differs from the image's.
struct WorkspaceQuery {
  int height = 0;
  int width = 0;
  int num_classes = 0;
  int threads = 1;
  int label_width = 0;  // 0: the image's width
};

struct SegmentOptions {
  Upsampling upsampling = Upsampling::automatic;
};

// What segment() reports besides the label map. Views point into the workspace and stay
// valid until the workspace is used again.
struct SegmentInfo {
  ConstTensorView logits{};            // low-res logits, padded channels-last, K channels
  const std::int32_t* classes = nullptr;  // ascending class ids present in the label map
  int class_count = 0;
  bool used_vim = false;
};

inline constexpr int kMaxImageSide = 16384;  // keeps every size computation far from overflow
inline constexpr int kVimMinClasses = 30;    // PaddleSeg uses VIM from 30 classes on

}  // namespace pms

namespace pms::inline PMS_ISA_NS {

template <class V>
class MobileSeg {
 public:
  using Variant = V;
  using NetworkType = Network<V>;

  MobileSeg() noexcept = default;

  // Parses and binds weights held in `file` (which must outlive the model): the header, the
  // checksum, every tensor's presence and shape. On failure the model stays unloaded.
  [[nodiscard]] Status load(std::span<const std::byte> file) noexcept {
    loaded_ = false;
    WeightsFile parsed;
    if (const Status s = WeightsFile::parse(file, parsed); s != Status::ok) return s;
    if (const Status s = parsed.expect(static_cast<ModelVariant>(V::file_id)); s != Status::ok) return s;
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
  std::array<int, 2> self_test_dims() const noexcept {
    const auto t = file_.find("selftest.image");
    if (!t || t->rank != 3) return {0, 0};
    return {t->dims[0], t->dims[1]};
  }
  int num_classes() const noexcept { return num_classes_; }
  const Normalization& normalization() const noexcept { return norm_; }
  const WeightsFile& weights() const noexcept { return file_; }
  const NetworkType& network() const noexcept { return network_; }
  // After load() returned missing_tensor or shape_mismatch: the tensor it was about.
  const char* failed_tensor() const noexcept { return failed_tensor_.c_str(); }

  // Bytes of workspace segment() and logits() need. A constant expression for constant
  // arguments (size a static buffer with it).
  static constexpr std::size_t workspace_size(const WorkspaceQuery& q) noexcept {
    if (check_size(q.height, q.width) != Status::ok || q.num_classes < 1 || q.threads < 1) return 0;
    const int label_width = q.label_width > 0 ? q.label_width : q.width;
    if (label_width > kMaxImageSide) return 0;
    Arena arena;
    MeasureOnly exec{q.threads};
    RunContext<MeasureOnly> ctx{arena, exec, false};
    MobileSeg model;
    model.num_classes_ = q.num_classes;
    LabelMap<std::uint8_t> labels{nullptr, 1, label_width, label_width};
    (void)model.run(ctx, ImageView{nullptr, q.height, q.width, 0, PixelFormat::rgb}, Upsampling::exact, &labels, nullptr);
    return arena.peak();
  }
  // For this model's class count; label_width 0 = labels at the image's size.
  std::size_t workspace_size(int height, int width, int threads = 1, int label_width = 0) const noexcept {
    return workspace_size(WorkspaceQuery{height, width, num_classes_, threads, label_width});
  }

  // Segments an image into `labels`. Labels of the image's size are PaddleSeg's output; any
  // other size gets the low-res logits upsampled straight to it (PaddleSeg's evaluation of a
  // resized image at its original size). Single-threaded.
  template <class Label>
  [[nodiscard]] Status segment(const ImageView& image, std::span<std::byte> workspace, LabelMap<Label> labels,
                               const SegmentOptions& options = {}, SegmentInfo* info = nullptr) const noexcept {
    Serial serial;
    return segment(image, workspace, labels, serial, options, info);
  }
  // The same, with rows split across the executor's threads (identical results).
  template <class Label, class Exec>
  [[nodiscard]] Status segment(const ImageView& image, std::span<std::byte> workspace, LabelMap<Label> labels, Exec& exec,
                               const SegmentOptions& options = {}, SegmentInfo* info = nullptr) const noexcept {
    static_assert(std::is_same_v<Label, std::uint8_t> || std::is_same_v<Label, std::uint16_t> || std::is_same_v<Label, std::int32_t>,
                  "Labels are uint8_t, uint16_t or int32_t.");
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
  template <class Exec>
  [[nodiscard]] Status logits(const ImageView& image, std::span<std::byte> workspace, Exec& exec, SegmentInfo& info) const noexcept {
    return start(image, workspace, exec, SegmentOptions{}, static_cast<LabelMap<std::uint8_t>*>(nullptr), &info);
  }

  // Runs the test vector embedded in the weights file (selftest.* tensors): the low-res
  // logits must match within kSelfTestTolerance and the labels wherever the reference's
  // top-2 margin exceeds kSelfTestTieMargin. Proves the weights and this build (ISA,
  // compiler flags) agree with the reference that made the file. The workspace must hold
  // self_test_workspace_size() bytes.
  static constexpr float kSelfTestTolerance = 1e-3f;  // relative to max(1, |ref|)
  static constexpr float kSelfTestTieMargin = 1e-3f;

  std::size_t self_test_workspace_size() const noexcept {
    const int h = self_test_dims()[0], w = self_test_dims()[1];
    if (h == 0) return 0;
    return workspace_size(h, w) + Arena::round_up(static_cast<std::size_t>(h) * w);
  }

  [[nodiscard]] Status self_test(std::span<std::byte> workspace) const noexcept {
    if (!loaded_) return Status::bad_argument;
    const auto dims = self_test_dims();
    const int h = dims[0], w = dims[1];
    if (h == 0) return Status::missing_tensor;
    const std::uint8_t* pixels = nullptr;
    const std::uint8_t* want_labels = nullptr;
    const float* want_logits = nullptr;
    const float* margin = nullptr;
    const FeatureSizes s = NetworkType::sizes(h, w);
    {
      const int image_dims[] = {h, w, 3};
      const int map_dims[] = {h, w};
      const int logit_dims[] = {num_classes_, s.logits_h, s.logits_w};
      Status st = file_.get_u8("selftest.image", image_dims, pixels);
      if (st == Status::ok) st = file_.get_u8("selftest.labels", map_dims, want_labels);
      if (st == Status::ok) st = file_.get_f32("selftest.logits", logit_dims, want_logits);
      if (st == Status::ok) st = file_.get_f32("selftest.label_margin", map_dims, margin);
      if (st != Status::ok) return st;
    }
    if (num_classes_ > 256) return Status::wrong_class_count;  // the vector stores u8 labels
    const std::size_t need = self_test_workspace_size();
    if (workspace.size() < need) return Status::workspace_too_small;
    const std::size_t label_bytes = Arena::round_up(static_cast<std::size_t>(h) * w);
    std::uint8_t* labels = reinterpret_cast<std::uint8_t*>(workspace.data() + (need - label_bytes));
    SegmentInfo info;
    const ImageView image{pixels, h, w, static_cast<std::ptrdiff_t>(w) * 3, PixelFormat::rgb};
    const Status st = segment(image, workspace.first(need - label_bytes), LabelMap<std::uint8_t>{labels, h, w, w},
                              SegmentOptions{Upsampling::exact}, &info);
    if (st != Status::ok) return st;
    for (int c = 0; c < num_classes_; ++c)
      for (int y = 0; y < s.logits_h; ++y)
        for (int x = 0; x < s.logits_w; ++x) {
          const float want = want_logits[(static_cast<std::size_t>(c) * s.logits_h + y) * s.logits_w + x];
          const float got = info.logits.pixel(y, x)[c];
          const float scale = want < 0 ? (want < -1 ? -want : 1.0f) : (want > 1 ? want : 1.0f);
          if (!(got - want <= kSelfTestTolerance * scale && want - got <= kSelfTestTolerance * scale)) return Status::self_test_failed;
        }
    for (int i = 0; i < h * w; ++i)
      if (margin[i] > kSelfTestTieMargin && labels[i] != want_labels[i]) return Status::self_test_failed;
    return Status::ok;
  }

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
    if (reinterpret_cast<std::uintptr_t>(workspace.data()) % kBufferAlignment != 0) return Status::workspace_misaligned;
    if (workspace.size() < workspace_size(image.height, image.width, exec.threads(), labels != nullptr ? labels->width : 0))
      return Status::workspace_too_small;
    Arena arena(workspace.data(), workspace.size());
    RunContext<Exec> ctx{arena, exec, true};
    return run(ctx, image, options.upsampling, labels, info);
  }

  // The whole forward pass; also run without memory to measure the workspace (see Arena).
  // Returns non_finite_logits when a low-res logit is NaN or infinite, else ok.
  template <class Ctx, class Label>
  constexpr Status run(Ctx& ctx, const ImageView& image, Upsampling mode, LabelMap<Label>* labels, SegmentInfo* info) const {
    const FeatureSizes s = NetworkType::sizes(image.height, image.width);
    const int k = num_classes_;
    TensorView logits = ctx.arena.tensor(s.logits_h, s.logits_w, k);
    std::int32_t* classes = ctx.arena.ints(static_cast<std::size_t>(k));
    network_.forward(ctx, image, norm_, logits);
    // Weights that load() accepts can still overflow the network; logits outside the fast
    // kernels' contract go to the scalar kernels, which give labels in [0, K) for any value.
    kernels::LogitRange range = kernels::LogitRange::within_limit;
    ctx.once([&] { range = kernels::logit_range(logits); });
    const bool robust = range != kernels::LogitRange::within_limit;

    // The tail. Its allocations do not depend on the data (worst case n = K classes) so
    // the measured workspace covers every image; upsampling scratch is per thread.
    const bool vim = mode == Upsampling::vim || (mode == Upsampling::automatic && k >= kVimMinClasses);
    int class_count = 0;
    if (labels != nullptr) {
      const LabelMap<Label> out = *labels;
      const int lh = s.logits_h, lw = s.logits_w;
      std::int32_t* low_labels = ctx.arena.ints(static_cast<std::size_t>(lh) * lw);
      TensorView gathered = ctx.arena.tensor(lh, lw, k);
      const std::size_t per_thread = kernels::upsample_argmax_scratch_floats(k, lw, out.width);
      float* scratch = ctx.arena.floats(per_thread * static_cast<std::size_t>(ctx.exec.threads()));
      ConstTensorView source = logits;
      const std::int32_t* class_ids = nullptr;
      if (vim) {
        ctx.once([&] {
          if (robust)
            kernels::robust_argmax_channels(ConstTensorView(logits), low_labels, lw, logits.all_rows());
          else
            kernels::argmax_channels(ConstTensorView(logits), low_labels, lw, logits.all_rows());
          class_count = kernels::present_classes(low_labels, lh, lw, lw, k, classes);
          gathered.channels = class_count, gathered.stride = padded_channels(class_count);
          kernels::gather_channels(ConstTensorView(logits), classes, gathered, gathered.all_rows());
        });
        source = gathered;
        class_ids = classes;
      }
      ctx.chunks(out.height, [&](RowRange r, int chunk) {
        if (robust)
          kernels::robust_upsample_argmax(source, out.height, out.width, out.data, out.stride, r, class_ids);
        else
          kernels::upsample_argmax(source, out.height, out.width, out.data, out.stride, r, scratch + per_thread * chunk, class_ids);
      });
      // The classes of the final map (with VIM, a class present at low resolution can still
      // lose every full-resolution pixel).
      ctx.once([&] { class_count = kernels::present_classes(out.data, out.height, out.width, out.stride, k, classes); });
    }
    if (info != nullptr) *info = SegmentInfo{logits, classes, class_count, vim && labels != nullptr};
    return range == kernels::LogitRange::non_finite ? Status::non_finite_logits : Status::ok;
  }

  Network<V> network_{};
  WeightsFile file_{};
  Normalization norm_{};
  int num_classes_ = 0;
  bool loaded_ = false;
  TensorName failed_tensor_{};
};

}  // namespace pms::inline PMS_ISA_NS

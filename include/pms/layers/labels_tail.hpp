// pms/layers/labels_tail.hpp: low-res logits -> labels at the label map's size (spec 9).
//
//   exact: every class upsampled bilinearly and the argmax taken, fused (upsample_argmax.hpp):
//          the K x H x W logits never exist;
//   VIM:   argmax at low resolution, the classes that win somewhere gathered, and only those
//          upsampled (PaddleSeg's Valid Interpolate Module).
// Logits outside the fast kernels' contract (logit_range.hpp: NaN, Inf, |v| > 2^100) go to
// the scalar kernels of robust_argmax.hpp instead, so every label is a class in [0, K).
// Afterwards `classes` holds the ascending classes present in the label map.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pms/core/label_map.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/argmax.hpp"
#include "pms/kernels/logit_range.hpp"
#include "pms/kernels/robust_argmax.hpp"
#include "pms/kernels/upsample_argmax.hpp"
#include "pms/layers/run_context.hpp"

namespace pms::inline PMS_ISA_NS::layers {

struct LabelsTail {
  // logits: h x w x K; classes: K entries. Returns how many classes the label map holds.
  // The allocations do not depend on the data (worst case: all K classes present), so the
  // measured workspace covers every image; the upsampling scratch is per thread.
  template <class Ctx, class Label>
  constexpr int forward(Ctx& ctx, ConstTensorView logits, kernels::LogitRange range, bool vim, const LabelMap<Label>& out,
                        std::int32_t* classes) const {
    const int k = logits.channels, lh = logits.height, lw = logits.width;
    const bool any_value = range != kernels::LogitRange::within_limit;
    std::int32_t* low_labels = ctx.arena.ints(static_cast<std::size_t>(lh) * lw);
    TensorView gathered = ctx.arena.tensor(lh, lw, k);
    const std::size_t per_thread = kernels::upsample_argmax_scratch_floats(k, lw, out.width);
    float* scratch = ctx.arena.floats(per_thread * static_cast<std::size_t>(ctx.exec.threads()));
    ConstTensorView source = logits;
    const std::int32_t* class_ids = nullptr;
    int class_count = 0;
    if (vim) {
      ctx.once([&] {
        if (any_value)
          kernels::robust_argmax_channels(logits, low_labels, lw, logits.all_rows());
        else
          kernels::argmax_channels(logits, low_labels, lw, logits.all_rows());
        class_count = kernels::present_classes(low_labels, lh, lw, lw, k, classes);
        gathered.channels = class_count, gathered.stride = padded_channels(class_count);
        kernels::gather_channels(logits, classes, gathered, gathered.all_rows());
      });
      source = gathered;
      class_ids = classes;
    }
    ctx.chunks(out.height, [&](RowRange r, int chunk) {
      if (any_value)
        kernels::robust_upsample_argmax(source, out.height, out.width, out.data, out.stride, r, class_ids);
      else
        kernels::upsample_argmax(source, out.height, out.width, out.data, out.stride, r, scratch + per_thread * chunk, class_ids);
    });
    // The classes of the final map (with VIM, a class present at low resolution can still
    // lose every full-resolution pixel).
    ctx.once([&] { class_count = kernels::present_classes(out.data, out.height, out.width, out.stride, k, classes); });
    return class_count;
  }
};

}  // namespace pms::inline PMS_ISA_NS::layers

// pms/layers/stem.hpp: the stem, conv3x3/2 3 -> C + BN + Hardswish on the normalised image
// (`backbone.smb1.conv`, spec 4). BN is folded into the weights.
#pragma once

#include "pms/core/extent.hpp"
#include "pms/core/image.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/kernels/stem_conv.hpp"
#include "pms/layers/rounding.hpp"
#include "pms/layers/weight_binder.hpp"

namespace pms::inline PMS_ISA_NS::layers {

template <int Channels, Precision P = Fp32>
struct Stem {
  static constexpr int channels = Channels;
  static_assert(Channels == 16, "The stem kernel is written for PP-MobileSeg's 16 stem channels.");
  kernels::StemWeights weights{};

  static constexpr int out_extent(int n) noexcept { return conv_out_extent(n, 2); }

  void bind(WeightBinder& b, const TensorName& name) noexcept {
    weights = {b.f32(name + ".weight", {9, 3, Channels}), b.f32(name + ".bias", {Channels})};
  }

  // out: out_extent(H) x out_extent(W) x Channels.
  template <class Ctx>
  constexpr void forward(Ctx& ctx, const ImageView& image, const Normalization& norm, TensorView out) const {
    ctx.rows(out.height, [&](RowRange r) { kernels::stem_conv<act::HardSwish, RoundingOf<P>>(image, norm, weights, out, r); });
  }
};

}  // namespace pms::inline PMS_ISA_NS::layers

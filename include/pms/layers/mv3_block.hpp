// pms/layers/mv3_block.hpp: the MobileNetV3 ResidualUnit (spec 4.1) and the stem.
//
// expand 1x1 + BN + act -> depthwise kxk/s + BN + act -> [squeeze-excite] -> linear 1x1 + BN
// [+ input]. BN is folded into the weights; the SE channel scale is fused into the linear
// conv as a per-input-channel scale, and the residual add into its epilogue.
#pragma once

#include <type_traits>

#include "pms/kernels/activation.hpp"
#include "pms/kernels/depthwise_conv.hpp"
#include "pms/kernels/pointwise_conv.hpp"
#include "pms/kernels/squeeze_excite.hpp"
#include "pms/kernels/stem_conv.hpp"
#include "pms/layers/run_context.hpp"
#include "pms/layers/weight_binder.hpp"
#include "pms/model/variants.hpp"

namespace pms::inline PMS_ISA_NS::layers {

// Weights of a 1x1 conv as the converter packs them: [cin][P(cout)] and bias [P(cout)].
inline kernels::PointwiseWeights bind_pointwise(WeightBinder& b, const TensorName& name, int cin, int cout) noexcept {
  return {b.f32(name + ".weight", {cin, padded_channels(cout)}), b.f32(name + ".bias", {padded_channels(cout)}), cin, cout};
}
// Weights of a kxk depthwise conv: [k*k][P(c)] and bias [P(c)].
inline kernels::DepthwiseWeights bind_depthwise(WeightBinder& b, const TensorName& name, int kernel, int channels) noexcept {
  return {b.f32(name + ".weight", {kernel * kernel, padded_channels(channels)}), b.f32(name + ".bias", {padded_channels(channels)}),
          channels};
}

template <BlockActivation A>
using BlockAct = std::conditional_t<A == BlockActivation::relu, act::ReLU, act::HardSwish>;

// conv3x3/2 3->16 + BN + Hardswish on the normalised image (`backbone.smb1.conv`).
template <int Channels>
struct Stem {
  static constexpr int channels = Channels;
  static_assert(Channels == 16, "The stem kernel is written for PP-MobileSeg's 16 stem channels.");
  kernels::StemWeights weights{};

  void bind(WeightBinder& b) noexcept {
    const TensorName name("backbone.smb1.conv");
    weights = {b.f32(name + ".weight", {9, 3, Channels}), b.f32(name + ".bias", {Channels})};
  }

  template <class Ctx>
  constexpr void forward(Ctx& ctx, const ImageView& image, const Normalization& norm, TensorView out) const {
    ctx.rows(out.height, [&](RowRange r) { kernels::stem_conv<act::HardSwish>(image, norm, weights, out, r); });
  }
};

template <MV3BlockSpec S>
struct MV3Block {
  static constexpr MV3BlockSpec spec = S;
  using Act = BlockAct<S.act>;

  kernels::PointwiseWeights expand{};
  kernels::DepthwiseWeights depthwise{};
  kernels::SqueezeExciteWeights se{};
  kernels::PointwiseWeights linear{};

  static TensorName prefix() noexcept {
    return TensorName("backbone.smb").append(S.stage).append(".blocks.").append(S.index).append(".");
  }

  void bind(WeightBinder& b) noexcept {
    const TensorName p = prefix();
    expand = bind_pointwise(b, p + "expand_conv", S.in, S.expand);
    depthwise = bind_depthwise(b, p + "bottleneck_conv", S.kernel, S.expand);
    if constexpr (S.se) {
      const int r = S.se_channels();
      se = {b.f32(p + "mid_se.conv1.weight", {S.expand, padded_channels(r)}), b.f32(p + "mid_se.conv1.bias", {padded_channels(r)}),
            b.f32(p + "mid_se.conv2.weight", {r, padded_channels(S.expand)}), b.f32(p + "mid_se.conv2.bias", {padded_channels(S.expand)}),
            S.expand, r};
    }
    linear = bind_pointwise(b, p + "linear_conv", S.expand, S.out);
  }

  static constexpr int out_extent(int n) noexcept { return conv_out_extent(n, S.stride); }

  // in: H x W x S.in; out: ceil(H/s) x ceil(W/s) x S.out (may not alias in).
  template <class Ctx>
  constexpr void forward(Ctx& ctx, ConstTensorView in, TensorView out) const {
    const std::size_t mark = ctx.arena.mark();
    TensorView expanded = ctx.arena.tensor(in.height, in.width, S.expand);
    TensorView filtered = ctx.arena.tensor(out.height, out.width, S.expand);
    float* gate = nullptr;
    float* se_scratch = nullptr;
    if constexpr (S.se) {
      gate = ctx.arena.floats(padded_channels(S.expand));
      se_scratch = ctx.arena.floats(kernels::squeeze_excite_scratch_floats(S.expand, S.se_channels()));
    }
    ctx.rows(in.height, [&](RowRange r) { kernels::pointwise_conv<Act>(in, expand, expanded, r); });
    ctx.rows(out.height, [&](RowRange r) { kernels::depthwise_conv<S.kernel, S.stride, Act>(expanded, depthwise, filtered, r); });
    if constexpr (S.se) ctx.once([&] { kernels::squeeze_excite_gate(filtered, se, gate, se_scratch); });
    kernels::PointwiseExtras extras{};
    extras.input_scale = gate;
    if constexpr (S.residual()) extras.residual = in;
    ctx.rows(out.height, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(filtered, linear, out, r, extras); });
    ctx.arena.release(mark);
  }
};

}  // namespace pms::inline PMS_ISA_NS::layers

// pms/model/network.hpp: the layer sequence of a variant as a type, and its body forward pass.
//
// Network<V>::Layers is a std::tuple of the layers in execution order, built from the
// variant's constexpr description: stem, smb1-smb3 blocks, trans1, smb4 blocks, trans2, AAM,
// head. Every channel count is static; only spatial sizes are run-time values.
// get<I>() reaches a layer for tests and benchmarks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <tuple>
#include <utility>

#include "pms/core/image.hpp"
#include "pms/layers/aam.hpp"
#include "pms/layers/mv3_block.hpp"
#include "pms/layers/run_context.hpp"
#include "pms/layers/sea_block.hpp"
#include "pms/layers/seg_head.hpp"
#include "pms/model/variants.hpp"

namespace pms::inline PMS_ISA_NS {

// Spatial sizes of one forward pass (spec 10, for any H x W).
struct FeatureSizes {
  int stem_h, stem_w;
  int h8, w8, h16, w16, h32, w32;
  int logits_h, logits_w;
};

template <class V>
class Network {
 public:
  template <std::size_t... I>
  static auto make_blocks(std::index_sequence<I...>) -> std::tuple<layers::MV3Block<V::blocks[I]>...>;
  template <std::size_t First, std::size_t... I>
  static auto offset(std::index_sequence<I...>) -> std::index_sequence<(First + I)...>;
  template <std::size_t First, std::size_t Count>
  using Blocks = decltype(make_blocks(offset<First>(std::make_index_sequence<Count>{})));

  // Execution order: stem | smb1-3 (blocks 0-6) | trans1 | smb4 (blocks 7-8) | trans2 | AAM + head
  // (the AAM runs the head's classifier on its tiles of rows).
  using Layers = decltype(std::tuple_cat(std::tuple<layers::Stem<V::stem_channels>>{}, Blocks<0, 7>{},
                                         std::tuple<layers::SeaStage<V::trans1, 1>>{}, Blocks<7, 2>{},
                                         std::tuple<layers::SeaStage<V::trans2, 2>>{}, std::tuple<layers::Aam<V>>{},
                                         std::tuple<layers::SegHead<V::aam_channels>>{}));
  static constexpr std::size_t layer_count = std::tuple_size_v<Layers>;
  static constexpr std::size_t trans1_index = 8, trans2_index = 11, aam_index = 12, head_index = 13;
  static_assert(layer_count == 14, "The layer sequence is stem, 7 blocks, trans1, 2 blocks, trans2, AAM and head.");

  template <std::size_t I>
  constexpr auto& get() noexcept { return std::get<I>(layers_); }
  template <std::size_t I>
  constexpr const auto& get() const noexcept { return std::get<I>(layers_); }

  void bind(WeightBinder& b, int num_classes) noexcept {
    bind_layers(b, num_classes, std::make_index_sequence<layer_count>{});
  }

  static constexpr FeatureSizes sizes(int height, int width) noexcept {
    FeatureSizes s{};
    s.stem_h = conv_out_extent(height, 2), s.stem_w = conv_out_extent(width, 2);
    int h = s.stem_h, w = s.stem_w;
    for (const MV3BlockSpec& b : V::blocks) {
      h = conv_out_extent(h, b.stride), w = conv_out_extent(w, b.stride);
      if (b.stage == 2) s.h8 = h, s.w8 = w;
      if (b.stage == 3) s.h16 = h, s.w16 = w;
      if (b.stage == 4) s.h32 = h, s.w32 = w;
    }
    s.logits_h = layers::Aam<V>::out_extent(s.h8), s.logits_w = layers::Aam<V>::out_extent(s.w8);
    return s;
  }

  // Image -> low-res logits (allocated by the caller from the same arena, logits_h x logits_w x K).
  // Everything else this allocates is released before it returns.
  template <class Ctx>
  constexpr void forward(Ctx& ctx, const ImageView& image, const Normalization& norm, TensorView logits) const {
    const FeatureSizes s = sizes(image.height, image.width);
    const std::size_t mark = ctx.arena.mark();
    // Backbone outputs, alive until the AAM has read them; trans1/trans2 update x16/x32 in place.
    TensorView x8 = ctx.arena.tensor(s.h8, s.w8, BackboneOutputs<V>::x8);
    TensorView x16 = ctx.arena.tensor(s.h16, s.w16, BackboneOutputs<V>::x16);
    TensorView x32 = ctx.arena.tensor(s.h32, s.w32, BackboneOutputs<V>::x32);
    const std::size_t backbone_mark = ctx.arena.mark();
    {
      // Two ping-pong buffers for the block chain, each as large as its largest tensor.
      const std::size_t chain = max_chain_floats(image.height, image.width);
      float* ping = ctx.arena.floats(chain);
      float* pong = ctx.arena.floats(chain);
      TensorView cur = make_tensor(ping, s.stem_h, s.stem_w, V::stem_channels);
      get<0>().forward(ctx, image, norm, cur);
      run_blocks(ctx, cur, ping, pong, x8, x16, x32, std::make_index_sequence<layer_count - 3>{});
    }
    ctx.arena.release(backbone_mark);
    get<aam_index>().forward(ctx, x8, x16, x32, get<head_index>(), logits);  // the AAM runs the head too
    ctx.arena.release(mark);
  }

  // Floats of the largest tensor in the stem/block chain (the ping-pong buffer size).
  static constexpr std::size_t max_chain_floats(int height, int width) noexcept {
    int h = conv_out_extent(height, 2), w = conv_out_extent(width, 2);
    std::size_t most = tensor_floats(h, w, V::stem_channels);
    for (const MV3BlockSpec& b : V::blocks) {
      h = conv_out_extent(h, b.stride), w = conv_out_extent(w, b.stride);
      most = std::max(most, tensor_floats(h, w, b.out));
    }
    return most;
  }

 private:
  template <std::size_t... I>
  void bind_layers(WeightBinder& b, int num_classes, std::index_sequence<I...>) noexcept {
    (bind_one(std::get<I>(layers_), b, num_classes), ...);
  }
  template <class L>
  static void bind_one(L& layer, WeightBinder& b, int num_classes) noexcept {
    if constexpr (requires { layer.bind(b, num_classes); })
      layer.bind(b, num_classes);
    else
      layer.bind(b);
  }

  // Runs layers 1 .. layer_count-3 (blocks and SEA stages) in order. Blocks write to the
  // other ping-pong buffer, or straight into x8/x16/x32 when they end a stage whose output
  // the AAM reads; SEA stages update their tensor in place.
  template <class Ctx, std::size_t... I>
  constexpr void run_blocks(Ctx& ctx, TensorView& cur, float* ping, float* pong, TensorView x8, TensorView x16, TensorView x32,
                            std::index_sequence<I...>) const {
    (run_layer<I + 1>(ctx, cur, ping, pong, x8, x16, x32), ...);
  }
  template <std::size_t I, class Ctx>
  constexpr void run_layer(Ctx& ctx, TensorView& cur, float* ping, float* pong, TensorView x8, TensorView x16, TensorView x32) const {
    const auto& layer = get<I>();
    using L = std::remove_cvref_t<decltype(layer)>;
    if constexpr (requires { L::stage; }) {  // a SEA stage: in place on x16 or x32
      layer.forward(ctx, cur);
    } else {
      constexpr MV3BlockSpec b = L::spec;
      TensorView next;
      if constexpr (b.stage == 2 && b.index == 1) next = x8;
      else if constexpr (b.stage == 3 && b.index == 1) next = x16;
      else if constexpr (b.stage == 4 && b.index == 1) next = x32;
      else next = make_tensor(cur.data == ping ? pong : ping, L::out_extent(cur.height), L::out_extent(cur.width), b.out);
      layer.forward(ctx, cur, next);
      cur = next;
    }
  }

  Layers layers_{};
};

}  // namespace pms::inline PMS_ISA_NS

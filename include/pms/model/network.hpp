// pms/model/network.hpp: a variant's stages as layers, run from image to labels.
//
//   image ─ stem ─ smb1 ─ smb2 ─┬─ smb3 ─ trans1 ─┬─ smb4 ─ trans2 ─┐
//                               x8                x16                x32
//   x8, x16, x32 ─ aam_head ─ low-res logits ─ labels_tail ─ labels
//
// Every channel count is static (variants.hpp); spatial extents come from the plan for the
// input size (plan.hpp). The stem and the MV3 stages pass their tensors through the two
// buffers of a BlockChain; the stages whose outputs the AAM reads write them into x8, x16
// and x32, which the SEA stages then update in place.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pms/core/image.hpp"
#include "pms/core/label_map.hpp"
#include "pms/kernels/logit_range.hpp"
#include "pms/layers/aam_head.hpp"
#include "pms/layers/labels_tail.hpp"
#include "pms/layers/mv3_stage.hpp"
#include "pms/layers/run_context.hpp"
#include "pms/layers/sea_block.hpp"
#include "pms/layers/stem.hpp"
#include "pms/layers/weight_binder.hpp"
#include "pms/model/plan.hpp"
#include "pms/model/variants.hpp"

namespace pms::inline PMS_ISA_NS {

// What a run leaves in the workspace besides the labels.
struct NetworkOutputs {
  ConstTensorView logits{};               // low-res logits, K channels
  const std::int32_t* classes = nullptr;  // ascending classes present in the label map
  int class_count = 0;
  kernels::LogitRange range = kernels::LogitRange::within_limit;  // of the logits
};

// P: the precision of every pointwise conv (pms/core/precision.hpp); the rest is fp32.
template <class V, Precision P = Fp32>
struct Network {
  layers::Stem<V::stem_channels, P> stem;
  layers::MV3Stage<V::smb1, P> smb1;
  layers::MV3Stage<V::smb2, P> smb2;
  layers::MV3Stage<V::smb3, P> smb3;
  layers::SeaStage<V::trans1, P> trans1;
  layers::MV3Stage<V::smb4, P> smb4;
  layers::SeaStage<V::trans2, P> trans2;
  layers::AamHead<V::aam, P> aam_head;
  layers::LabelsTail labels_tail;

  void bind(WeightBinder& b, int num_classes) noexcept {
    stem.bind(b, TensorName("backbone.smb1.conv"));
    smb1.bind(b, TensorName("backbone.smb1"));
    smb2.bind(b, TensorName("backbone.smb2"));
    smb3.bind(b, TensorName("backbone.smb3"));
    trans1.bind(b, TensorName("backbone.trans1"));
    smb4.bind(b, TensorName("backbone.smb4"));
    trans2.bind(b, TensorName("backbone.trans2"));
    aam_head.bind(b, TensorName("backbone.inj_module"), TensorName("decode_head"), num_classes);
  }

  // Image -> low-res logits (plan.logits, allocated by the caller from the same arena).
  // Everything else this allocates is released before it returns.
  template <class Ctx>
  constexpr void forward(Ctx& ctx, const Plan<V>& plan, const ImageView& image, const Normalization& norm, TensorView logits) const {
    const std::size_t mark = ctx.arena.mark();
    // The AAM's inputs, alive until it has read them.
    TensorView x8 = ctx.arena.tensor(plan.x8.height, plan.x8.width, plan.x8.channels);
    TensorView x16 = ctx.arena.tensor(plan.x16.height, plan.x16.width, plan.x16.channels);
    TensorView x32 = ctx.arena.tensor(plan.x32.height, plan.x32.width, plan.x32.channels);
    const std::size_t backbone_mark = ctx.arena.mark();
    {
      const BlockChain chain{ctx.arena.floats(plan.chain_floats), ctx.arena.floats(plan.chain_floats)};
      const TensorView stem_out = make_tensor(chain.first, plan.stem.height, plan.stem.width, plan.stem.channels);
      stem.forward(ctx, image, norm, stem_out);
      const TensorView x4 = smb1.forward(ctx, stem_out, chain);
      smb2.forward(ctx, x4, chain, x8);
      smb3.forward(ctx, x8, chain, x16);
      trans1.forward(ctx, x16);
      smb4.forward(ctx, x16, chain, x32);
      trans2.forward(ctx, x32);
    }
    ctx.arena.release(backbone_mark);
    aam_head.forward(ctx, x8, x16, x32, logits);
    ctx.arena.release(mark);
  }

  // Image -> logits -> labels (the tail only when labels != nullptr). Also run without
  // memory to measure the workspace (see Arena): every allocation happens either way.
  template <class Ctx, class Label>
  constexpr NetworkOutputs run(Ctx& ctx, const ImageView& image, const Normalization& norm, int num_classes, bool vim,
                               const LabelMap<Label>* labels) const {
    const Plan<V> plan = make_plan<V>(image.height, image.width, num_classes);
    NetworkOutputs o{};
    const TensorView logits = ctx.arena.tensor(plan.logits.height, plan.logits.width, plan.logits.channels);
    std::int32_t* classes = ctx.arena.ints(static_cast<std::size_t>(num_classes));
    forward(ctx, plan, image, norm, logits);
    ctx.once([&] { o.range = kernels::logit_range(logits); });
    if (labels != nullptr) o.class_count = labels_tail.forward(ctx, logits, o.range, vim, *labels, classes);
    o.logits = logits;
    o.classes = classes;
    return o;
  }
};

}  // namespace pms::inline PMS_ISA_NS

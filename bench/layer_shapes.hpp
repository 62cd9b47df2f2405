// bench/layer_shapes.hpp: every kernel-level layer of Tiny and Base at a given input size,
// read off the variant's plan (pms/model/plan.hpp; never typed by hand). One list drives the
// kernel microbenchmarks; tests may sweep it too.
#pragma once

#include <string>
#include <vector>

#include "pms/model/plan.hpp"

namespace pms::bench {

enum class LayerKind { stem, pointwise, depthwise, squeeze_excite, axial_attention, resize };

// Activation as a string matching the act:: policy names ("linear", "relu", "relu6",
// "hswish", "hsigmoid", "sigmoid", "segate").
struct LayerShape {
  LayerKind kind;
  std::string name;  // PaddleSeg module path (first block of repeated SEA blocks)
  int in_h, in_w;    // input spatial size
  int cin, cout;     // channels (depthwise: cin == cout)
  int kernel = 1, stride = 1;
  std::string act = "linear";
  int heads = 0, key_dim = 0, value_dim = 0;  // axial attention only
  int out_h = 0, out_w = 0;                   // resize only
  float scale = 0.0f;                         // resize only: Paddle's scale factor, 0 for a size target
};

namespace detail {
inline const char* act_name(BlockActivation a) { return a == BlockActivation::relu ? "relu" : "hswish"; }

inline void add_sea_stage(std::vector<LayerShape>& out, const std::string& stage, const SeaStageSpec& s, int h, int w) {
  const std::string p = "backbone." + stage + ".transformer_blocks.0.";
  const int sh = conv_out_extent(h, 2), sw = conv_out_extent(w, 2);
  const int dh = s.v_channels();
  out.push_back({LayerKind::depthwise, p + "attn.stride_conv", h, w, s.dim, s.dim, 3, 2});
  out.push_back({LayerKind::pointwise, p + "attn.qkv", sh, sw, s.dim, s.qkv_channels()});
  out.push_back({LayerKind::depthwise, p + "attn.dwconv", sh, sw, s.qkv_channels(), s.qkv_channels(), 3, 1, "relu6"});
  out.push_back({LayerKind::pointwise, p + "attn.pwconv", sh, sw, s.qkv_channels(), s.dim});
  out.push_back({LayerKind::axial_attention, p + "attn[row]", sh, sw, s.qk_channels(), dh, 1, 1, "linear", s.heads, s.key_dim, s.value_dim()});
  out.push_back({LayerKind::pointwise, p + "attn.proj_encode_row.1", sh, 1, dh, dh});
  out.push_back({LayerKind::axial_attention, p + "attn[column]", sw, sh, s.qk_channels(), dh, 1, 1, "linear", s.heads, s.key_dim, s.value_dim()});
  out.push_back({LayerKind::pointwise, p + "attn.proj_encode_column.1", 1, sw, dh, dh});
  out.push_back({LayerKind::pointwise, p + "attn.proj.1", sh, sw, dh, s.dim, 1, 1, "hsigmoid"});
  out.push_back({LayerKind::resize, p + "attn[upsample]", sh, sw, s.dim, s.dim, 1, 1, "linear", 0, 0, 0, h, w});
  out.push_back({LayerKind::pointwise, p + "mlp.fc1", h, w, s.dim, s.mlp_hidden()});
  out.push_back({LayerKind::depthwise, p + "mlp.dwconv", h, w, s.mlp_hidden(), s.mlp_hidden(), 3, 1, "relu6"});
  out.push_back({LayerKind::pointwise, p + "mlp.fc2", h, w, s.mlp_hidden(), s.dim});
}

template <std::size_t N>
void add_mv3_stage(std::vector<LayerShape>& out, const std::string& stage, const MV3StageSpec<N>& spec, const StagePlan<N>& plan) {
  Shape in = plan.in;
  for (std::size_t i = 0; i < N; ++i) {
    const MV3BlockSpec& b = spec.blocks[i];
    const Shape o = plan.blocks[i];
    const std::string p = "backbone." + stage + ".blocks." + std::to_string(i) + ".";
    out.push_back({LayerKind::pointwise, p + "expand_conv", in.height, in.width, b.in, b.expand, 1, 1, act_name(b.act)});
    out.push_back({LayerKind::depthwise, p + "bottleneck_conv", in.height, in.width, b.expand, b.expand, b.kernel, b.stride, act_name(b.act)});
    if (b.se) out.push_back({LayerKind::squeeze_excite, p + "mid_se", o.height, o.width, b.expand, b.se_channels()});
    out.push_back({LayerKind::pointwise, p + "linear_conv", o.height, o.width, b.expand, b.out});
    in = o;
  }
}
}  // namespace detail

template <class V>
std::vector<LayerShape> layer_shapes(int height, int width, int num_classes) {
  const Plan<V> plan = make_plan<V>(height, width, num_classes);
  std::vector<LayerShape> out;
  out.push_back({LayerKind::stem, "backbone.smb1.conv", height, width, 3, V::stem_channels, 3, 2, "hswish"});
  detail::add_mv3_stage(out, "smb1", V::smb1, plan.smb1);
  detail::add_mv3_stage(out, "smb2", V::smb2, plan.smb2);
  detail::add_mv3_stage(out, "smb3", V::smb3, plan.smb3);
  detail::add_sea_stage(out, "trans1", V::trans1, plan.x16.height, plan.x16.width);
  detail::add_mv3_stage(out, "smb4", V::smb4, plan.smb4);
  detail::add_sea_stage(out, "trans2", V::trans2, plan.x32.height, plan.x32.width);
  const int h8 = plan.x8.height, w8 = plan.x8.width, h16 = plan.x16.height, w16 = plan.x16.width;
  const int h32 = plan.x32.height, w32 = plan.x32.width;
  constexpr int a = V::aam.channels, c8 = V::aam.x8, c16 = V::aam.x16, c32 = V::aam.x32;
  const int lh = plan.logits.height, lw = plan.logits.width;
  // The AAM as layers/aam_head.hpp runs it: the x16 and x32 convs at their own resolution, their
  // outputs sampled bilinearly inside the combine (no resize layer of their own); Tiny's x8
  // is resized by Paddle's scale factor 0.5 before its conv.
  if constexpr (V::aam.kind == AamKind::sum_all_at_x16) {
    const int fh = lh, fw = lw;
    out.push_back({LayerKind::resize, "backbone.inj_module[x8 half]", h8, w8, c8, c8, 1, 1, "linear", 0, 0, 0, fh, fw, 0.5f});
    out.push_back({LayerKind::pointwise, "backbone.inj_module.x8", fh, fw, c8, 2 * a});
    out.push_back({LayerKind::pointwise, "backbone.inj_module.x16", h16, w16, c16, 2 * a});
    out.push_back({LayerKind::pointwise, "backbone.inj_module.x32", h32, w32, c32, 2 * a});
  } else {
    out.push_back({LayerKind::pointwise, "backbone.inj_module.x8", h8, w8, c8, a});
    out.push_back({LayerKind::pointwise, "backbone.inj_module.x16", h16, w16, c16, a});
    out.push_back({LayerKind::pointwise, "backbone.inj_module.x32", h32, w32, c32, 2 * a});
  }
  out.push_back({LayerKind::depthwise, "decode_head.linear_fuse", lh, lw, a, a, 1, 1, "relu"});
  out.push_back({LayerKind::pointwise, "decode_head.conv_seg", lh, lw, a, num_classes});
  return out;
}

}  // namespace pms::bench

// pms/model/variants.hpp: PP-MobileSeg Tiny and Base as compile-time data (spec sections 4-8).
//
// A variant names its stages in execution order; network.hpp runs them in that order:
//   stem                    conv3x3/2                      1/2
//   smb1 .. smb4            MobileNetV3 block stages       1/4, 1/8, 1/16, 1/32
//   trans1, trans2          SEA stages, in place on the output of smb3 and smb4
//   aam                     Aggregated Attention Module + head, reading
//                           x8 = smb2's output, x16 = trans1's, x32 = trans2's
// The two variants differ only in these numbers; nothing in pms branches on the variant at
// run time. Layer types, weight names, the plan and workspace sizes all derive from here.
#pragma once

#include <cstdint>

#include "pms/layers/aam_head.hpp"
#include "pms/layers/mv3_stage.hpp"
#include "pms/layers/sea_block.hpp"

namespace pms {

struct Tiny {
  static constexpr const char* name = "tiny";
  static constexpr std::uint32_t file_id = 0;  // variant field of .pms files
  static constexpr int stem_channels = 16;
  // Block fields: in, kernel, expand, out, se, activation, stride.
  static constexpr MV3StageSpec<3> smb1{{{
      {16, 3, 16, 16, true, BlockActivation::relu, 1},
      {16, 3, 64, 32, false, BlockActivation::relu, 2},
      {32, 3, 48, 24, false, BlockActivation::relu, 1},
  }}};
  static constexpr MV3StageSpec<2> smb2{{{
      {24, 5, 96, 32, true, BlockActivation::hswish, 2},
      {32, 5, 96, 32, true, BlockActivation::hswish, 1},
  }}};
  static constexpr MV3StageSpec<2> smb3{{{
      {32, 5, 160, 64, true, BlockActivation::hswish, 2},
      {64, 5, 160, 64, true, BlockActivation::hswish, 1},
  }}};
  static constexpr SeaStageSpec trans1{2, 64, 4, 16, 2};  // depth, dim, heads, key_dim, mlp_ratio
  static constexpr MV3StageSpec<2> smb4{{{
      {64, 3, 384, 128, true, BlockActivation::hswish, 2},
      {128, 3, 384, 128, true, BlockActivation::hswish, 1},
  }}};
  static constexpr SeaStageSpec trans2{2, 128, 4, 24, 4};
  static constexpr AamSpec aam{AamKind::sum_all_at_x16, smb2.out(), trans1.dim, trans2.dim, 256};  // logits at 1/16
  // The AAM halves x8 by a 0.5 scale factor; Paddle fails for an empty result (spec 7.1).
  static constexpr int min_input_side = 9;
};

struct Base {
  static constexpr const char* name = "base";
  static constexpr std::uint32_t file_id = 1;
  static constexpr int stem_channels = 16;
  static constexpr MV3StageSpec<3> smb1{{{
      {16, 3, 16, 16, true, BlockActivation::relu, 1},
      {16, 3, 64, 32, false, BlockActivation::relu, 2},
      {32, 3, 96, 32, false, BlockActivation::relu, 1},
  }}};
  static constexpr MV3StageSpec<2> smb2{{{
      {32, 5, 128, 64, true, BlockActivation::hswish, 2},
      {64, 5, 240, 64, true, BlockActivation::hswish, 1},
  }}};
  static constexpr MV3StageSpec<2> smb3{{{
      {64, 5, 384, 128, true, BlockActivation::hswish, 2},
      {128, 5, 384, 128, true, BlockActivation::hswish, 1},
  }}};
  static constexpr SeaStageSpec trans1{3, 128, 8, 16, 2};
  static constexpr MV3StageSpec<2> smb4{{{
      {128, 5, 768, 192, true, BlockActivation::hswish, 2},
      {192, 5, 768, 192, true, BlockActivation::hswish, 1},
  }}};
  static constexpr SeaStageSpec trans2{3, 192, 8, 24, 4};
  static constexpr AamSpec aam{AamKind::votes_at_x8, smb2.out(), trans1.dim, trans2.dim, 256};  // logits at 1/8
  static constexpr int min_input_side = 1;
};

// Checks every variant must pass; the messages read as sentences.
template <class V>
constexpr bool stages_chain() {
  return V::smb1.in() == V::stem_channels && V::smb2.in() == V::smb1.out() && V::smb3.in() == V::smb2.out() &&
         V::smb4.in() == V::smb3.out();
}
template <class V>
constexpr bool sea_stages_fit() {
  return V::trans1.dim == V::smb3.out() && V::trans2.dim == V::smb4.out();
}
static_assert(stages_chain<Tiny>() && stages_chain<Base>(), "Each stage's input width must equal the previous stage's output width.");
static_assert(sea_stages_fit<Tiny>() && sea_stages_fit<Base>(), "A SEA stage must be as wide as the MV3 stage it follows.");

}  // namespace pms

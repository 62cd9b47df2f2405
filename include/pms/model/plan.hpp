// pms/model/plan.hpp: every stage's tensor shapes for one input size, derived once from a
// variant (spec 10). The network, the benchmarks' shape table and the tests read it; nothing
// else walks the variant's blocks to find an extent.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "pms/core/extent.hpp"
#include "pms/core/tensor.hpp"
#include "pms/model/variants.hpp"

namespace pms {

// A padded channels-last tensor's extent.
struct Shape {
  int height = 0;
  int width = 0;
  int channels = 0;
  constexpr std::size_t floats() const noexcept { return tensor_floats(height, width, channels); }
};

// An MV3 stage's input and each block's output.
template <std::size_t N>
struct StagePlan {
  Shape in;
  std::array<Shape, N> blocks;
  constexpr Shape out() const noexcept { return blocks[N - 1]; }
};

template <class V>
struct Plan {
  Shape image;                           // H x W x 3
  Shape stem;                            // 1/2
  StagePlan<V::smb1.size()> smb1;        // 1/4
  StagePlan<V::smb2.size()> smb2;        // 1/8, its output is x8
  StagePlan<V::smb3.size()> smb3;        // 1/16, then trans1 in place: x16
  StagePlan<V::smb4.size()> smb4;        // 1/32, then trans2 in place: x32
  Shape x8, x16, x32;                    // what the AAM reads
  Shape logits;                          // the AAM + head's output, K channels
  std::size_t chain_floats = 0;          // the largest stem or block output: each BlockChain buffer
};

namespace plan_detail {
template <std::size_t N>
constexpr StagePlan<N> plan_stage(const MV3StageSpec<N>& spec, Shape in) noexcept {
  StagePlan<N> p{in, {}};
  for (std::size_t i = 0; i < N; ++i) {
    const MV3BlockSpec& b = spec.blocks[i];
    in = {conv_out_extent(in.height, b.stride), conv_out_extent(in.width, b.stride), b.out};
    p.blocks[i] = in;
  }
  return p;
}
template <std::size_t N>
constexpr std::size_t largest_block(const StagePlan<N>& p) noexcept {
  std::size_t most = 0;
  for (const Shape& s : p.blocks) most = std::max(most, s.floats());
  return most;
}
}  // namespace plan_detail

template <class V>
constexpr Plan<V> make_plan(int height, int width, int num_classes) noexcept {
  using plan_detail::plan_stage;
  Plan<V> p{};
  p.image = {height, width, 3};
  p.stem = {conv_out_extent(height, 2), conv_out_extent(width, 2), V::stem_channels};
  p.smb1 = plan_stage(V::smb1, p.stem);
  p.smb2 = plan_stage(V::smb2, p.smb1.out());
  p.smb3 = plan_stage(V::smb3, p.smb2.out());
  p.smb4 = plan_stage(V::smb4, p.smb3.out());
  p.x8 = p.smb2.out();
  p.x16 = p.smb3.out();
  p.x32 = p.smb4.out();
  p.logits = {aam_out_extent(V::aam.kind, p.x8.height), aam_out_extent(V::aam.kind, p.x8.width), num_classes};
  using plan_detail::largest_block;
  p.chain_floats = std::max({p.stem.floats(), largest_block(p.smb1), largest_block(p.smb2), largest_block(p.smb3),
                             largest_block(p.smb4)});
  return p;
}

}  // namespace pms

// pms/layers/mv3_stage.hpp: a backbone stage of MobileNetV3 blocks (`backbone.smb{n}`, spec 4)
// and the two buffers the block chain alternates between.
#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <utility>

#include "pms/core/extent.hpp"
#include "pms/core/tensor.hpp"
#include "pms/layers/mv3_block.hpp"
#include "pms/layers/weight_binder.hpp"

namespace pms {

// The blocks of one stage in execution order; block i is `<stage>.blocks.<i>`.
template <std::size_t N>
struct MV3StageSpec {
  std::array<MV3BlockSpec, N> blocks;
  static constexpr std::size_t size() noexcept { return N; }
  constexpr int in() const noexcept { return blocks[0].in; }
  constexpr int out() const noexcept { return blocks[N - 1].out; }
  // Each block's input width equals the previous block's output width.
  constexpr bool chains() const noexcept {
    for (std::size_t i = 1; i < N; ++i)
      if (blocks[i].in != blocks[i - 1].out) return false;
    return true;
  }
};

// Two buffers, each as large as the largest tensor of the block chain: a block reads one and
// writes the other.
struct BlockChain {
  float* first = nullptr;
  float* second = nullptr;
  constexpr float* other_than(const float* data) const noexcept { return data == first ? second : first; }
};

}  // namespace pms

namespace pms::inline PMS_ISA_NS::layers {

template <auto Spec, Precision P = Fp32>
class MV3Stage {
 public:
  static constexpr auto spec = Spec;
  static constexpr std::size_t block_count = Spec.size();
  static_assert(Spec.chains(), "A stage's blocks must chain: each block's input width equals the previous output width.");

  // Output extent of the stage for an input extent n.
  static constexpr int out_extent(int n) noexcept {
    for (const MV3BlockSpec& b : Spec.blocks) n = conv_out_extent(n, b.stride);
    return n;
  }

  template <std::size_t I>
  constexpr const auto& block() const noexcept { return std::get<I>(blocks_); }

  // name: the stage's name ("backbone.smb2").
  void bind(WeightBinder& b, const TensorName& name) noexcept { bind_blocks(b, name, std::make_index_sequence<block_count>{}); }

  // Runs the blocks on `in` (held in one of the chain's buffers); every block writes into the
  // chain buffer its input is not in. Returns the stage's output, in the chain.
  template <class Ctx>
  constexpr TensorView forward(Ctx& ctx, ConstTensorView in, const BlockChain& chain) const {
    return run(ctx, in, chain, nullptr, std::make_index_sequence<block_count>{});
  }
  // The same, with the last block writing into `out` (a tensor the AAM reads later).
  template <class Ctx>
  constexpr void forward(Ctx& ctx, ConstTensorView in, const BlockChain& chain, TensorView out) const {
    run(ctx, in, chain, &out, std::make_index_sequence<block_count>{});
  }

 private:
  template <std::size_t I>
  using Block = MV3Block<Spec.blocks[I], P>;
  template <std::size_t... I>
  static auto block_tuple(std::index_sequence<I...>) -> std::tuple<Block<I>...>;

  template <std::size_t... I>
  void bind_blocks(WeightBinder& b, const TensorName& name, std::index_sequence<I...>) noexcept {
    (std::get<I>(blocks_).bind(b, TensorName(name).append(".blocks.").append(static_cast<int>(I)).append(".")), ...);
  }

  template <class Ctx, std::size_t... I>
  constexpr TensorView run(Ctx& ctx, ConstTensorView in, const BlockChain& chain, const TensorView* out,
                           std::index_sequence<I...>) const {
    TensorView cur{const_cast<float*>(in.data), in.height, in.width, in.channels, in.stride};
    (run_block<I>(ctx, cur, chain, out), ...);
    return cur;
  }
  template <std::size_t I, class Ctx>
  constexpr void run_block(Ctx& ctx, TensorView& cur, const BlockChain& chain, const TensorView* out) const {
    constexpr MV3BlockSpec b = Spec.blocks[I];
    TensorView next = I + 1 == block_count && out != nullptr
                          ? *out
                          : make_tensor(chain.other_than(cur.data), conv_out_extent(cur.height, b.stride),
                                        conv_out_extent(cur.width, b.stride), b.out);
    std::get<I>(blocks_).forward(ctx, cur, next);
    cur = next;
  }

  decltype(block_tuple(std::make_index_sequence<block_count>{})) blocks_{};
};

}  // namespace pms::inline PMS_ISA_NS::layers

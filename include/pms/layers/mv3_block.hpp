// pms/layers/mv3_block.hpp: the MobileNetV3 ResidualUnit (spec 4.1), its spec and its two
// schedules.
//
// expand 1x1 + BN + act -> depthwise kxk/s + BN + act -> [squeeze-excite] -> linear 1x1 + BN
// [+ input]. BN is folded into the weights; the SE channel scale is folded into a copy of the
// linear conv's weights (per input channel, once per image), and the residual add into its
// epilogue. At Int8 precision the gate scales the depthwise output itself (in place) before
// the linear conv quantizes it, as weights/FORMAT.md 7.4 prescribes, and the SE convs are
// int8 too.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "pms/core/extent.hpp"
#include "pms/core/precision.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/kernels/depthwise_conv.hpp"
#include "pms/kernels/eltwise.hpp"
#include "pms/kernels/pointwise_conv.hpp"
#include "pms/kernels/squeeze_excite.hpp"
#include "pms/layers/rounding.hpp"
#include "pms/layers/run_context.hpp"
#include "pms/layers/weight_binder.hpp"

namespace pms {

enum class BlockActivation : std::uint8_t { relu, hswish };

// One ResidualUnit: expand 1x1 -> depthwise kxk/s -> [SE] -> linear 1x1 [+ input].
struct MV3BlockSpec {
  int in;      // input channels
  int kernel;  // depthwise kernel size, 3 or 5
  int expand;  // expanded channels
  int out;     // output channels
  bool se;     // squeeze-excite after the depthwise conv
  BlockActivation act;
  int stride;  // 1 or 2
  constexpr bool residual() const noexcept { return stride == 1 && in == out; }
  constexpr int se_channels() const noexcept { return expand / 4; }  // plain division, no rounding to 8
};

}  // namespace pms

namespace pms::inline PMS_ISA_NS::layers {

template <BlockActivation A>
using BlockAct = std::conditional_t<A == BlockActivation::relu, act::ReLU, act::HardSwish>;

template <MV3BlockSpec S, Precision P = Fp32>
struct MV3Block {
  static constexpr MV3BlockSpec spec = S;
  using Act = BlockAct<S.act>;
  static constexpr bool int8 = std::same_as<P, Int8>;
  using SqueezeExcite = std::conditional_t<int8, kernels::SqueezeExciteInt8Weights, kernels::SqueezeExciteWeights>;

  PointwiseWeightsOf<P> expand{};
  kernels::DepthwiseWeights depthwise{};
  SqueezeExcite se{};
  PointwiseWeightsOf<P> linear{};

  // p: the block's name with a trailing dot ("backbone.smb2.blocks.1.").
  void bind(WeightBinder& b, const TensorName& p) noexcept {
    expand = bind_pointwise<P>(b, p + "expand_conv", S.in, S.expand);
    depthwise = bind_depthwise(b, p + "bottleneck_conv", S.kernel, S.expand);
    if constexpr (S.se) {
      const int r = S.se_channels();
      if constexpr (int8) {
        se = {bind_pointwise<P>(b, p + "mid_se.conv1", S.expand, r), bind_pointwise<P>(b, p + "mid_se.conv2", r, S.expand)};
      } else {
        se = {b.f32(p + "mid_se.conv1.weight", {S.expand, padded_channels(r)}), b.f32(p + "mid_se.conv1.bias", {padded_channels(r)}),
              b.f32(p + "mid_se.conv2.weight", {r, padded_channels(S.expand)}),
              b.f32(p + "mid_se.conv2.bias", {padded_channels(S.expand)}), S.expand, r};
      }
    }
    linear = bind_pointwise<P>(b, p + "linear_conv", S.expand, S.out);
  }

  static constexpr int out_extent(int n) noexcept { return conv_out_extent(n, S.stride); }

  // Expanded tensors at least this large are streamed by rows (see forward_streamed);
  // smaller ones stay in cache anyway and run layer by layer.
  static constexpr std::size_t kStreamMinBytes = std::size_t{1} << 20;
  // Streamed, each thread also expands the K - stride input rows at the top of its range
  // that its neighbour needs too. When that exceeds 1/16 of the rows (Base's 5x5 blocks at
  // 1/16 and 1/32 with 2 threads: 9-12 % more expand work), an expanded tensor up to this
  // size runs layer by layer instead (2 threads: Base 0.6 % faster; its peak workspace is
  // elsewhere and unchanged for 1, 2 and 4 threads).
  static constexpr std::size_t kWholeMaxBytes = std::size_t{3} << 20;
  // Floats of one depthwise-output tile that feeds the linear conv (streamed, no SE).
  static constexpr std::size_t kTileFloats = 32 * 1024;

  static constexpr bool streamed(int height, int width, int threads = 1) noexcept {
    const std::size_t bytes = tensor_floats(height, width, S.expand) * sizeof(float);
    const bool many_rows_twice = (threads - 1) * (S.kernel - S.stride) * 16 > height;
    return bytes >= kStreamMinBytes && !(many_rows_twice && bytes <= kWholeMaxBytes);
  }

  // in: H x W x S.in; out: ceil(H/s) x ceil(W/s) x S.out (may not alias in). The schedule
  // depends only on sizes and thread count; both give the same bits (tests/layers).
  template <class Ctx>
  constexpr void forward(Ctx& ctx, ConstTensorView in, TensorView out) const {
    if (streamed(in.height, in.width, ctx.exec.threads()))
      forward_streamed(ctx, in, out);
    else
      forward_whole(ctx, in, out);
  }

  // The two schedules forward() chooses between (public for the tests that pin them together).

  // Layer by layer: the expanded and filtered tensors exist whole.
  template <class Ctx>
  constexpr void forward_whole(Ctx& ctx, ConstTensorView in, TensorView out) const {
    const std::size_t mark = ctx.arena.mark();
    TensorView expanded = ctx.arena.tensor(in.height, in.width, S.expand);
    TensorView filtered = ctx.arena.tensor(out.height, out.width, S.expand);
    float* row_sums = row_sums_buffer(ctx, out.height);
    ctx.rows(in.height, [&](RowRange r) { kernels::pointwise_conv<Act>(in, expand, expanded, r); });
    ctx.rows(out.height, [&](RowRange r) {
      kernels::depthwise_conv<S.kernel, S.stride, Act, RoundingOf<P>>(expanded, depthwise, filtered, r);
      if constexpr (S.se) kernels::row_channel_sums(filtered, r, row_sums);
    });
    if constexpr (S.se)
      gated_linear(ctx, filtered, row_sums, in, out);
    else
      ctx.rows(out.height, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(filtered, linear, out, r, linear_extras(in)); });
    ctx.arena.release(mark);
  }

  // Row-streamed: each thread walks its output rows and computes expanded input rows into a
  // ring of K rows just before the depthwise conv needs them, so the expanded tensor never
  // exists whole and stays in L1/L2. Without SE, depthwise rows gather in a small tile that
  // goes straight through the linear conv; with SE the filtered tensor is kept whole, as
  // the gate needs its global mean before the linear conv can run (each row's channel sums
  // are taken as the row is written, while it is in L1). Every element is computed
  // by the same arithmetic as forward_whole (rows of a chunk boundary are expanded twice).
  template <class Ctx>
  constexpr void forward_streamed(Ctx& ctx, ConstTensorView in, TensorView out) const {
    constexpr int K = S.kernel, pad = (K - 1) / 2, lanes = padded_channels(S.expand);
    const std::size_t mark = ctx.arena.mark();
    const std::size_t in_row = static_cast<std::size_t>(in.width) * lanes;
    const std::size_t out_row = static_cast<std::size_t>(out.width) * lanes;
    const int tile_rows = S.se ? 1 : static_cast<int>(std::max<std::size_t>(1, kTileFloats / out_row));
    const std::size_t per_thread = K * in_row + (S.se ? 0 : tile_rows * out_row);
    float* scratch = ctx.arena.floats(per_thread * static_cast<std::size_t>(ctx.exec.threads()));
    TensorView filtered{};
    if constexpr (S.se) filtered = ctx.arena.tensor(out.height, out.width, S.expand);
    float* row_sums = row_sums_buffer(ctx, out.height);
    ctx.chunks(out.height, [&](RowRange rows, int chunk) {
      float* ring = scratch + per_thread * static_cast<std::size_t>(chunk);
      float* tile = ring + K * in_row;
      const kernels::RingRows expanded{ring, K, in.height, static_cast<std::ptrdiff_t>(in_row)};
      int next = std::max(0, rows.begin * S.stride - pad);  // next input row to expand
      for (int y0 = rows.begin; y0 < rows.end; y0 += tile_rows) {
        const int y1 = std::min(rows.end, y0 + tile_rows);
        for (int y = y0; y < y1; ++y) {
          for (const int need = std::min(in.height, y * S.stride - pad + K); next < need; ++next) {
            const ConstTensorView src{in.row(next), 1, in.width, in.channels, in.stride};
            const TensorView dst{const_cast<float*>(expanded.row(next)), 1, in.width, S.expand, lanes};
            kernels::pointwise_conv<Act>(src, expand, dst, RowRange{0, 1});
          }
          if constexpr (S.se) {
            kernels::depthwise_conv_rows<K, S.stride, Act, RoundingOf<P>>(expanded, in.width, lanes, depthwise,
                                                           [&](int r) { return filtered.row(r); }, out.width, RowRange{y, y + 1});
            kernels::row_channel_sums(filtered, RowRange{y, y + 1}, row_sums);
          } else
            kernels::depthwise_conv_rows<K, S.stride, Act, RoundingOf<P>>(
                expanded, in.width, lanes, depthwise, [&](int r) { return tile + static_cast<std::size_t>(r - y0) * out_row; },
                out.width, RowRange{y, y + 1});
        }
        if constexpr (!S.se) {
          const int n = y1 - y0;
          const ConstTensorView t{tile, n, out.width, S.expand, lanes};
          const TensorView o{out.row(y0), n, out.width, out.channels, out.stride};
          const ConstTensorView residual{in.row(y0), n, in.width, in.channels, in.stride};  // stride 1 when residual
          kernels::pointwise_conv<act::Identity>(t, linear, o, RowRange{0, n}, linear_extras(residual));
        }
      }
    });
    if constexpr (S.se) gated_linear(ctx, filtered, row_sums, in, out);
    ctx.arena.release(mark);
  }

 private:
  kernels::PointwiseExtras linear_extras(ConstTensorView residual) const noexcept {
    kernels::PointwiseExtras extras{};
    if constexpr (S.residual()) extras.residual = residual;
    return extras;
  }

  // Per-row channel sums of the filtered tensor, for the SE gate (see gated_linear).
  template <class Ctx>
  static constexpr float* row_sums_buffer(Ctx& ctx, int height) {
    return S.se ? ctx.arena.floats(static_cast<std::size_t>(height) * padded_channels(S.expand)) : nullptr;
  }

  // With SE: the gate of `filtered` from its row sums (kernels::row_channel_sums, taken by
  // the threads as they write its rows), then the linear conv with the gate folded into its
  // weights (fp32), or applied to `filtered` in place before the linear conv quantizes it (int8).
  template <class Ctx>
  constexpr void gated_linear(Ctx& ctx, TensorView filtered, const float* row_sums, ConstTensorView in, TensorView out) const {
    const std::size_t mark = ctx.arena.mark();
    float* gate = ctx.arena.floats(padded_channels(S.expand));
    float* se_scratch = ctx.arena.floats(kernels::squeeze_excite_scratch_floats(S.expand, S.se_channels()));
    ctx.once([&] {
      kernels::squeeze_excite_gate_from_row_sums(row_sums, filtered.height, filtered.width, se, gate, se_scratch);
    });
    if constexpr (int8) {
      ctx.rows(filtered.height, [&](RowRange r) { kernels::scale_channels_inplace(filtered, gate, r); });
      ctx.rows(out.height, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(filtered, linear, out, r, linear_extras(in)); });
    } else {
      float* scaled = ctx.arena.floats(static_cast<std::size_t>(S.expand) * padded_channels(S.out));
      ctx.rows(S.expand, [&](RowRange r) { kernels::scale_input_channels(linear, gate, scaled, r); });
      const kernels::PointwiseWeights gated{scaled, linear.bias, linear.cin, linear.cout};
      ctx.rows(out.height, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(filtered, gated, out, r, linear_extras(in)); });
    }
    ctx.arena.release(mark);
  }
};

}  // namespace pms::inline PMS_ISA_NS::layers

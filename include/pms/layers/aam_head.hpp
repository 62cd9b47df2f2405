// pms/layers/aam_head.hpp: the Aggregated Attention Module (spec 7) and the segmentation head
// (spec 8) as one layer: backbone outputs x8, x16, x32 -> low-res logits.
//
// The head is linear_fuse (depthwise 1x1 + BN + ReLU, a per-channel affine the combine kernel
// applies as it writes) and conv_seg (the 1x1 classifier 256 -> K). Both run inside the AAM's
// row tiles, so they belong to this layer rather than to one of their own.
//
// The embedding/vote convs that read the same tensor are merged into one 1x1 conv with 512
// outputs [embedding | vote] (weights `backbone.inj_module.x8/x16/x32`, see weights/FORMAT.md).
//   Tiny (at 1/16): f8 = x8 scaled by 0.5; f16 = x16 at f8's size; all three inputs merged.
//   Base (at 1/8):  x8 -> embedding only; x16 upsampled to 1/8 -> vote only; x32 merged.
// The x32 vote gets its sigmoid before it is resized (as PaddleSeg does); the other votes
// get theirs in the combine kernel, which also applies the head's linear_fuse + ReLU. Each
// thread combines a few rows at a time into a tile that stays in L2 and runs the head's
// classifier on it, so the 256-channel AAM output never exists whole.
//
// No resized tensor is materialised except Tiny's f8 (a real 2x downscale, see below): the
// combine kernel samples its low-resolution inputs bilinearly per output pixel, with the
// sampling of resize_bilinear (ResizeAxis per axis).
//
// Conv before resize. PaddleSeg resizes x16 (Base: to 1/8; Tiny: to f8's size) and then
// applies the 1x1 conv + BN. Both are affine per pixel and bilinear interpolation is an affine
// combination per pixel (its four weights ly * lx sum to 1), so they commute exactly in real
// arithmetic:
//   conv(resize(x))(p) = W * sum_k w_k x(q_k) + b = sum_k w_k (W x(q_k) + b) = resize(conv(x))(p)
// (in float, up to rounding: the weights sum to 1 within an ulp). So the x16 conv runs at
// x16's own size and its output is sampled in the combine: for Base 4x fewer MACs (1/16
// instead of 1/8), for Tiny the same work when x16 already has f8's size (identity) and
// no f16 copy otherwise. The sigmoid of the x16 vote is not affine; it stays after the
// resize, inside the combine, as in PaddleSeg. Tiny's f8 stays a materialised resize of x8
// followed by the conv: conv-first would run the conv at 1/8, 4x the MACs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "pms/core/tensor.hpp"
#include "pms/kernels/aam_combine.hpp"
#include "pms/kernels/eltwise.hpp"
#include "pms/kernels/pointwise_conv.hpp"
#include "pms/kernels/resize.hpp"
#include "pms/layers/rounding.hpp"
#include "pms/layers/run_context.hpp"
#include "pms/layers/weight_binder.hpp"

namespace pms {

// How the Aggregated Attention Module combines the three backbone outputs (spec 7).
enum class AamKind : std::uint8_t {
  sum_all_at_x16,  // Tiny "AAM": s8*s16*s32*(e8+e16)+e32 at 1/16
  votes_at_x8,     // Base "AAMSx8": s16*s32*e8+e32 at 1/8
};

// The AAM's form, its input widths (the backbone outputs) and its width, which the head keeps.
struct AamSpec {
  AamKind kind;
  int x8, x16, x32;  // channels of the 1/8, 1/16 and 1/32 backbone outputs
  int channels;      // embedding width = head width (256 in both variants)
};

// Extent of the AAM's output (the low-res logits) for x8's extent. Tiny: Paddle's scale-factor
// resize by 0.5 gives floor(extent8 * 0.5).
constexpr int aam_out_extent(AamKind kind, int extent8) noexcept { return kind == AamKind::sum_all_at_x16 ? extent8 / 2 : extent8; }

}  // namespace pms

namespace pms::inline PMS_ISA_NS::layers {

template <AamSpec S, Precision P = Fp32>
struct AamHead {
  static constexpr AamSpec spec = S;
  static constexpr int c = S.channels;
  static constexpr bool sum_all = S.kind == AamKind::sum_all_at_x16;
  static constexpr int c8 = S.x8, c16 = S.x16, c32 = S.x32;

  PointwiseWeightsOf<P> x8{}, x16{}, x32{};  // the AAM's merged [embedding | vote] convs
  kernels::HeadAffine linear_fuse{};
  PointwiseWeightsOf<P> classifier{};  // conv_seg

  // aam, head: the two modules' names ("backbone.inj_module", "decode_head").
  void bind(WeightBinder& b, const TensorName& aam, const TensorName& head, int num_classes) noexcept {
    x8 = bind_pointwise<P>(b, aam + ".x8", c8, sum_all ? 2 * c : c);
    x16 = bind_pointwise<P>(b, aam + ".x16", c16, sum_all ? 2 * c : c);
    x32 = bind_pointwise<P>(b, aam + ".x32", c32, 2 * c);
    const kernels::DepthwiseWeights fuse = bind_depthwise(b, head + ".linear_fuse", 1, c);
    linear_fuse = {fuse.weight, fuse.bias};
    classifier = bind_pointwise<P>(b, head + ".conv_seg", c, num_classes);
  }

  static constexpr int out_extent(int extent8) noexcept { return aam_out_extent(S.kind, extent8); }

  // Floats of one thread's tile of combined rows (256 KiB).
  static constexpr std::size_t kTileFloats = 64 * 1024;

  // logits: conv_seg(relu(linear_fuse(AAM))), out_extent(h8) x out_extent(w8) x K.
  template <class Ctx>
  constexpr void forward(Ctx& ctx, ConstTensorView f8_src, ConstTensorView f16_src, ConstTensorView f32_src,
                         TensorView logits) const {
    const int h = logits.height, w = logits.width;
    const std::size_t mark = ctx.arena.mark();
    kernels::AamInputs in{};

    // x32: [embedding | vote] at 1/32, sigmoid on the vote; sampled to h x w in the combine.
    TensorView m32 = ctx.arena.tensor(f32_src.height, f32_src.width, 2 * c);
    ctx.rows(m32.height, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(f32_src, x32, m32, r); });
    ctx.rows(m32.height, [&](RowRange r) { kernels::activate_inplace<act::Sigmoid>(channel_slice(m32, c, c), r); });
    in.e32 = channel_slice(ConstTensorView(m32), 0, c);
    in.s32 = channel_slice(ConstTensorView(m32), c, c);
    in.at32 = kernels::GridSampling::of(m32.height, m32.width, h, w);
    // x16's conv at x16's size (conv before resize, see above); sampled to h x w in the combine.
    in.at16 = kernels::GridSampling::of(f16_src.height, f16_src.width, h, w);

    if constexpr (sum_all) {
      TensorView f8 = resized(ctx, f8_src, h, w, kernels::ResizeMode::scale(0.5f));
      TensorView m8 = ctx.arena.tensor(h, w, 2 * c);
      TensorView m16 = ctx.arena.tensor(f16_src.height, f16_src.width, 2 * c);
      ctx.rows(h, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(f8, x8, m8, r); });
      ctx.rows(m16.height, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(f16_src, x16, m16, r); });
      in.e8 = channel_slice(ConstTensorView(m8), 0, c);
      in.v8 = channel_slice(ConstTensorView(m8), c, c);
      in.e16 = channel_slice(ConstTensorView(m16), 0, c);
      in.v16 = channel_slice(ConstTensorView(m16), c, c);
    } else {
      TensorView e8 = ctx.arena.tensor(h, w, c);
      ctx.rows(h, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(f8_src, x8, e8, r); });
      TensorView v16 = ctx.arena.tensor(f16_src.height, f16_src.width, c);
      ctx.rows(v16.height, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(f16_src, x16, v16, r); });
      in.e8 = e8;
      in.v16 = v16;
    }
    const std::size_t row_floats = static_cast<std::size_t>(w) * padded_channels(c);
    const int tile_rows = static_cast<int>(std::max<std::size_t>(1, kTileFloats / row_floats));
    // Per thread: the tile, then the combine's scratch.
    const std::size_t per_thread = tile_rows * row_floats + kernels::aam_combine_scratch_floats(in);
    float* scratch = ctx.arena.floats(per_thread * static_cast<std::size_t>(ctx.exec.threads()));
    ctx.chunks(h, [&](RowRange rows, int chunk) {
      float* tile = scratch + per_thread * static_cast<std::size_t>(chunk);
      float* combine_scratch = tile + tile_rows * row_floats;
      for (int y0 = rows.begin; y0 < rows.end; y0 += tile_rows) {
        const int n = std::min(tile_rows, rows.end - y0);
        kernels::aam_combine_head_rows<sum_all, RoundingOf<P>>(in, linear_fuse, [&](int y) { return tile + (y - y0) * row_floats; },
                                                padded_channels(c), RowRange{y0, y0 + n}, combine_scratch);
        classify(ConstTensorView{tile, n, w, c, padded_channels(c)}, TensorView{logits.row(y0), n, w, logits.channels, logits.stride});
      }
    });
    ctx.arena.release(mark);
  }

  // The head's classifier on rows of relu(linear_fuse(aam)): n rows x c -> the same rows x K.
  void classify(ConstTensorView fused, TensorView logits) const noexcept {
    kernels::pointwise_conv<act::Identity>(fused, classifier, logits, fused.all_rows());
  }

 private:
  // src resized to h x w in a new arena tensor; src itself when Paddle would copy (a size
  // target equal to the input size).
  template <class Ctx, class T>
  static constexpr TensorView resized(Ctx& ctx, BasicTensorView<T> src, int h, int w, kernels::ResizeMode mode) {
    if (mode.factor == 0.0f && src.height == h && src.width == w)
      return TensorView{const_cast<float*>(src.data), src.height, src.width, src.channels, src.stride};
    TensorView dst = ctx.arena.tensor(h, w, src.channels);
    ctx.rows(h, [&](RowRange r) { kernels::resize_bilinear<kernels::Store>(src, dst, mode, r); });
    return dst;
  }
};

}  // namespace pms::inline PMS_ISA_NS::layers

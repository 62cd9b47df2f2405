// pms/layers/sea_block.hpp: a strided SEA transformer block (spec 5.2, 5.3), a stage of them,
// and the stage's spec.
//
// x (H0 x W0 x C) is updated in place:
//   s = BN(dw3x3/2(x) + b)                                  H x W x C, H = ceil(H0/2)
//   qkv = [q | k | v] = 1x1(s)                              q, k: nh_kd channels, v: dh channels
//   detail = 1x1(relu6(dw3x3(qkv)))                         H x W x C
//   row = 1x1(relu6(attention over rows of the W-means))    H x 1 x dh
//   col = 1x1(relu6(attention over columns of the H-means)) 1 x W x dh
//   y = hsigmoid(1x1(relu6(v + row + col))) * detail        H x W x C
//   x += resize(y to H0 x W0)
//   x += 1x1(relu6(dw3x3(1x1(x)) + b))                      the MLP, at full stage resolution
#pragma once

#include <array>

#include "pms/core/extent.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/kernels/axial_attention.hpp"
#include "pms/kernels/depthwise_conv.hpp"
#include "pms/kernels/eltwise.hpp"
#include "pms/kernels/pointwise_conv.hpp"
#include "pms/kernels/resize.hpp"
#include "pms/layers/rounding.hpp"
#include "pms/layers/run_context.hpp"
#include "pms/layers/weight_binder.hpp"

namespace pms {

// A stage of strided SEA transformer blocks (spec 5.1). attn_ratio is 2 in both variants.
struct SeaStageSpec {
  int depth;      // blocks
  int dim;        // C
  int heads;      // h
  int key_dim;    // kd
  int mlp_ratio;  // hidden = dim * mlp_ratio
  constexpr int qk_channels() const noexcept { return heads * key_dim; }     // nh_kd
  constexpr int value_dim() const noexcept { return 2 * key_dim; }           // d
  constexpr int v_channels() const noexcept { return heads * value_dim(); }  // dh
  constexpr int qkv_channels() const noexcept { return 2 * qk_channels() + v_channels(); }
  constexpr int mlp_hidden() const noexcept { return dim * mlp_ratio; }
  static constexpr int pos_table_length = 16;
};

}  // namespace pms

namespace pms::inline PMS_ISA_NS::layers {

template <SeaStageSpec S, Precision P = Fp32>
struct SeaBlock {
  static constexpr SeaStageSpec spec = S;
  static constexpr int qk = S.qk_channels();
  static constexpr int dh = S.v_channels();
  static constexpr int table = SeaStageSpec::pos_table_length;

  kernels::DepthwiseWeights stride_conv{}, detail_dw{}, mlp_dw{};
  PointwiseWeightsOf<P> qkv{}, detail_pw{}, proj_row{}, proj_col{}, proj{}, fc1{}, fc2{};
  const float* pos_row_q = nullptr;  // [nh_kd][16] positional tables, resized per input size
  const float* pos_row_k = nullptr;
  const float* pos_col_q = nullptr;
  const float* pos_col_k = nullptr;

  // p: the block's name with a trailing dot ("backbone.trans1.transformer_blocks.0.").
  void bind(WeightBinder& b, const TensorName& p) noexcept {
    stride_conv = bind_depthwise(b, p + "attn.stride_conv", 3, S.dim);
    qkv = bind_pointwise<P>(b, p + "attn.qkv", S.dim, S.qkv_channels());
    detail_dw = bind_depthwise(b, p + "attn.dwconv", 3, S.qkv_channels());
    detail_pw = bind_pointwise<P>(b, p + "attn.pwconv", S.qkv_channels(), S.dim);
    proj_row = bind_pointwise<P>(b, p + "attn.proj_encode_row.1", dh, dh);
    proj_col = bind_pointwise<P>(b, p + "attn.proj_encode_column.1", dh, dh);
    proj = bind_pointwise<P>(b, p + "attn.proj.1", dh, S.dim);
    pos_row_q = b.f32(p + "attn.pos_emb_rowq", {qk, table});
    pos_row_k = b.f32(p + "attn.pos_emb_rowk", {qk, table});
    pos_col_q = b.f32(p + "attn.pos_emb_columnq", {qk, table});
    pos_col_k = b.f32(p + "attn.pos_emb_columnk", {qk, table});
    fc1 = bind_pointwise<P>(b, p + "mlp.fc1", S.dim, S.mlp_hidden());
    mlp_dw = bind_depthwise(b, p + "mlp.dwconv", 3, S.mlp_hidden());
    fc2 = bind_pointwise<P>(b, p + "mlp.fc2", S.mlp_hidden(), S.dim);
  }

  template <class Ctx>
  constexpr void forward(Ctx& ctx, TensorView x) const {
    attention(ctx, x);
    mlp(ctx, x);
  }

 private:
  // Workspace of one squeeze direction over n positions.
  struct AxialBuffers {
    TensorView means;     // n x 1 x qkv: [q | k | v] means per position
    float* table_q;       // [n][P(nh_kd)] positional tables resized to n
    float* table_k;
    TensorView attended;  // n x 1 x dh
    float* scratch;
  };
  template <class Ctx>
  static constexpr AxialBuffers axial_buffers(Ctx& ctx, int n) {
    AxialBuffers b{};
    b.means = ctx.arena.tensor(n, 1, S.qkv_channels());
    b.table_q = ctx.arena.floats(static_cast<std::size_t>(n) * padded_channels(qk));
    b.table_k = ctx.arena.floats(static_cast<std::size_t>(n) * padded_channels(qk));
    b.attended = ctx.arena.tensor(n, 1, dh);
    b.scratch = ctx.arena.floats(kernels::axial_attention_scratch_floats(n, S.key_dim));
    return b;
  }

  // One squeeze direction: attention over the n positions of the means of q, k, v taken
  // along the other axis, then proj_encode (relu6 -> 1x1) into out (n x 1 or 1 x n).
  // `along_width`: the row branch. Runs on one thread.
  void axial(ConstTensorView qkv_t, bool along_width, const AxialBuffers& b, TensorView out) const noexcept {
    const int n = along_width ? qkv_t.height : qkv_t.width;
    if (along_width)
      kernels::mean_over_width(qkv_t, b.means.data, b.means.stride);
    else
      kernels::mean_over_height(qkv_t, b.means.data, b.means.stride);
    kernels::resize_pos_table(along_width ? pos_row_q : pos_col_q, qk, n, b.table_q);
    kernels::resize_pos_table(along_width ? pos_row_k : pos_col_k, qk, n, b.table_k);
    kernels::AxialAttentionInputs in{};
    in.q = b.means.data, in.q_stride = b.means.stride;
    in.k = b.means.data + qk, in.k_stride = b.means.stride;
    in.v = b.means.data + 2 * qk, in.v_stride = b.means.stride;
    in.q_pos = b.table_q, in.k_pos = b.table_k, in.pos_stride = padded_channels(qk);
    kernels::axial_attention<RoundingOf<P>>(in, kernels::AxialAttentionShape{n, S.heads, S.key_dim, S.value_dim()}, b.attended.data,
                             b.attended.stride, b.scratch);
    // encode as a 1 x n or n x 1 image: the pointwise kernel only sees pixels.
    const TensorView src = along_width ? b.attended : TensorView{b.attended.data, 1, n, dh, b.attended.stride};
    kernels::pointwise_conv<act::Identity, act::ReLU6>(src, along_width ? proj_row : proj_col, out, src.all_rows());
  }

  template <class Ctx>
  constexpr void attention(Ctx& ctx, TensorView x) const {
    const int h = conv_out_extent(x.height, 2), w = conv_out_extent(x.width, 2);
    const std::size_t mark = ctx.arena.mark();
    TensorView strided = ctx.arena.tensor(h, w, S.dim);
    TensorView qkv_t = ctx.arena.tensor(h, w, S.qkv_channels());
    TensorView detail_in = ctx.arena.tensor(h, w, S.qkv_channels());
    TensorView detail = ctx.arena.tensor(h, w, S.dim);
    TensorView row = ctx.arena.tensor(h, 1, dh);
    TensorView col = ctx.arena.tensor(1, w, dh);
    TensorView mixed = ctx.arena.tensor(h, w, dh);
    TensorView gated = ctx.arena.tensor(h, w, S.dim);

    ctx.rows(h, [&](RowRange r) { kernels::depthwise_conv<3, 2, act::Identity, RoundingOf<P>>(x, stride_conv, strided, r); });
    ctx.rows(h, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(strided, qkv, qkv_t, r); });
    ctx.rows(h, [&](RowRange r) { kernels::depthwise_conv<3, 1, act::ReLU6, RoundingOf<P>>(qkv_t, detail_dw, detail_in, r); });
    ctx.rows(h, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(detail_in, detail_pw, detail, r); });

    {
      // The two directions are independent: one per thread when there are two.
      const std::size_t axial_mark = ctx.arena.mark();
      const AxialBuffers rows_b = axial_buffers(ctx, h), cols_b = axial_buffers(ctx, w);
      ctx.chunks(2, [&](RowRange directions, int) {
        for (int d = directions.begin; d < directions.end; ++d) {
          if (d == 0) axial(qkv_t, true, rows_b, row);
          else axial(qkv_t, false, cols_b, col);
        }
      });
      ctx.arena.release(axial_mark);
    }

    const ConstTensorView v = channel_slice(ConstTensorView(qkv_t), 2 * qk, dh);
    ctx.rows(h, [&](RowRange r) { kernels::add_row_col<act::ReLU6>(v, row.data, row.stride, col.data, col.stride, mixed, r); });
    ctx.rows(h, [&](RowRange r) { kernels::pointwise_conv<act::HSigmoid>(mixed, proj, gated, r); });
    ctx.rows(h, [&](RowRange r) { kernels::multiply(gated, detail, gated, r); });
    ctx.rows(x.height, [&](RowRange r) { kernels::resize_bilinear<kernels::Accumulate>(gated, x, kernels::ResizeMode::to_size(), r); });
    ctx.arena.release(mark);
  }

  template <class Ctx>
  constexpr void mlp(Ctx& ctx, TensorView x) const {
    const std::size_t mark = ctx.arena.mark();
    TensorView hidden = ctx.arena.tensor(x.height, x.width, S.mlp_hidden());
    TensorView filtered = ctx.arena.tensor(x.height, x.width, S.mlp_hidden());
    ctx.rows(x.height, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(x, fc1, hidden, r); });
    ctx.rows(x.height, [&](RowRange r) { kernels::depthwise_conv<3, 1, act::ReLU6, RoundingOf<P>>(hidden, mlp_dw, filtered, r); });
    // fc2 writes into `hidden`'s memory (free once the dw conv has read it), then adds to x:
    // the pointwise kernel keeps partial sums in its output, so it cannot update x in place.
    TensorView update = make_tensor(hidden.data, x.height, x.width, S.dim);
    ctx.rows(x.height, [&](RowRange r) { kernels::pointwise_conv<act::Identity>(filtered, fc2, update, r); });
    ctx.rows(x.height, [&](RowRange r) { kernels::add_inplace(x, update, r); });
    ctx.arena.release(mark);
  }
};

// `backbone.trans{n}`: S.depth blocks of the same shape, run in place on the output of the
// MV3 stage they follow.
template <SeaStageSpec S, Precision P = Fp32>
struct SeaStage {
  static constexpr SeaStageSpec spec = S;
  std::array<SeaBlock<S, P>, S.depth> blocks{};

  // name: the stage's name ("backbone.trans1").
  void bind(WeightBinder& b, const TensorName& name) noexcept {
    for (int i = 0; i < S.depth; ++i) blocks[i].bind(b, TensorName(name).append(".transformer_blocks.").append(i).append("."));
  }
  // x: H x W x S.dim, updated in place.
  template <class Ctx>
  constexpr void forward(Ctx& ctx, TensorView x) const {
    for (const SeaBlock<S, P>& block : blocks) block.forward(ctx, x);
  }
};

}  // namespace pms::inline PMS_ISA_NS::layers

// pms/model/variants.hpp: PP-MobileSeg Tiny and Base as compile-time data (spec sections 4-8).
//
// The two variants differ only in these numbers; nothing in pms branches on the variant at
// run time. Everything else (layer types, workspace sizes, weight names) is derived from here.
#pragma once

#include <array>
#include <cstdint>

namespace pms {

enum class BlockActivation : std::uint8_t { relu, hswish };

// A MobileNetV3 ResidualUnit (spec 4.1): expand 1x1 -> depthwise kxk/s -> [SE] -> linear 1x1 [+ input].
struct MV3BlockSpec {
  int stage;   // 1..4: backbone.smb{stage}
  int index;   // block index inside the stage
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

// How the Aggregated Attention Module combines the three backbone outputs (spec 7).
enum class AamKind : std::uint8_t {
  sum_all_at_x16,  // Tiny "AAM": s8*s16*s32*(e8+e16)+e32 at 1/16
  votes_at_x8,     // Base "AAMSx8": s16*s32*e8+e32 at 1/8
};

struct Tiny {
  static constexpr const char* name = "tiny";
  static constexpr std::uint32_t file_id = 0;  // variant field of .pms files
  static constexpr int stem_channels = 16;
  static constexpr std::array<MV3BlockSpec, 9> blocks{{
      {1, 0, 16, 3, 16, 16, true, BlockActivation::relu, 1},
      {1, 1, 16, 3, 64, 32, false, BlockActivation::relu, 2},
      {1, 2, 32, 3, 48, 24, false, BlockActivation::relu, 1},
      {2, 0, 24, 5, 96, 32, true, BlockActivation::hswish, 2},
      {2, 1, 32, 5, 96, 32, true, BlockActivation::hswish, 1},
      {3, 0, 32, 5, 160, 64, true, BlockActivation::hswish, 2},
      {3, 1, 64, 5, 160, 64, true, BlockActivation::hswish, 1},
      {4, 0, 64, 3, 384, 128, true, BlockActivation::hswish, 2},
      {4, 1, 128, 3, 384, 128, true, BlockActivation::hswish, 1},
  }};
  static constexpr SeaStageSpec trans1{2, 64, 4, 16, 2};
  static constexpr SeaStageSpec trans2{2, 128, 4, 24, 4};
  static constexpr AamKind aam = AamKind::sum_all_at_x16;
  static constexpr int aam_channels = 256;
  static constexpr int logits_stride = 16;  // low-res logits at 1/16
  // The AAM halves x8 by a 0.5 scale factor; Paddle fails for an empty result (spec 7.1).
  static constexpr int min_input_side = 9;
};

struct Base {
  static constexpr const char* name = "base";
  static constexpr std::uint32_t file_id = 1;
  static constexpr int stem_channels = 16;
  static constexpr std::array<MV3BlockSpec, 9> blocks{{
      {1, 0, 16, 3, 16, 16, true, BlockActivation::relu, 1},
      {1, 1, 16, 3, 64, 32, false, BlockActivation::relu, 2},
      {1, 2, 32, 3, 96, 32, false, BlockActivation::relu, 1},
      {2, 0, 32, 5, 128, 64, true, BlockActivation::hswish, 2},
      {2, 1, 64, 5, 240, 64, true, BlockActivation::hswish, 1},
      {3, 0, 64, 5, 384, 128, true, BlockActivation::hswish, 2},
      {3, 1, 128, 5, 384, 128, true, BlockActivation::hswish, 1},
      {4, 0, 128, 5, 768, 192, true, BlockActivation::hswish, 2},
      {4, 1, 192, 5, 768, 192, true, BlockActivation::hswish, 1},
  }};
  static constexpr SeaStageSpec trans1{3, 128, 8, 16, 2};
  static constexpr SeaStageSpec trans2{3, 192, 8, 24, 4};
  static constexpr AamKind aam = AamKind::votes_at_x8;
  static constexpr int aam_channels = 256;
  static constexpr int logits_stride = 8;  // low-res logits at 1/8
  static constexpr int min_input_side = 1;
};

// Backbone feature channels of a variant (spec 6).
template <class V>
struct BackboneOutputs {
  static constexpr int x8 = V::blocks[4].out;
  static constexpr int x16 = V::trans1.dim;
  static constexpr int x32 = V::trans2.dim;
};

// Checks that every variant must pass; the messages read as sentences.
template <class V>
constexpr bool check_variant() {
  for (std::size_t i = 1; i < V::blocks.size(); ++i)
    if (V::blocks[i].in != V::blocks[i - 1].out) return false;
  return V::blocks[0].in == V::stem_channels && V::blocks[6].out == V::trans1.dim && V::blocks[8].out == V::trans2.dim;
}
static_assert(check_variant<Tiny>(), "Tiny's blocks must chain: each block's input width equals the previous output width.");
static_assert(check_variant<Base>(), "Base's blocks must chain: each block's input width equals the previous output width.");

// Output extent of a k x k convolution with stride s and padding (k-1)/2: ceil(n / s).
constexpr int conv_out_extent(int n, int stride) noexcept { return (n + stride - 1) / stride; }

}  // namespace pms

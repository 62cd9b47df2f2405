// pms/kernels/aam_combine.hpp: the Aggregated Attention Module's elementwise combine (spec
// 7.1, 7.2), fused with the head's linear_fuse (depthwise 1x1 + BN = per-channel affine)
// and its ReLU, so the 256-channel AAM output is never written on its own.
//
// All inputs are channel slices (256 channels each) of padded channels-last tensors of one
// spatial size; each slice may have its own stride. `votes` are pre-activation logits of the
// sigmoid votes computed here; `s32` has had its sigmoid applied before it was resized.
//   Tiny (sum_all):  out = relu(scale * (sig(v8) * sig(v16) * s32 * (e8 + e16) + e32) + shift)
//   Base (votes_x8): out = relu(scale * (sig(v16) * s32 * e8 + e32) + shift)
#pragma once

#include "pms/core/tensor.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

struct AamInputs {
  ConstTensorView e8, e16, e32;  // embeddings (Base: e16.data == nullptr)
  ConstTensorView v8, v16;       // vote logits (Base: v8.data == nullptr)
  ConstTensorView s32;           // sigmoid(vote of x32), resized
};

struct HeadAffine {
  const float* scale;  // [P(C)] linear_fuse weight (BN folded)
  const float* shift;  // [P(C)] linear_fuse bias
};

inline void aam_combine_head(const AamInputs& in, const HeadAffine& head, TensorView out, RowRange rows) noexcept {
  using simd::f32v;
  constexpr int L = simd::kLanes;
  const bool sum_all = in.e16.data != nullptr;
  const int c_vec = out.stride;  // whole padded pixel: pad lanes come out finite
  for (int y = rows.begin; y < rows.end; ++y)
    for (int x = 0; x < out.width; ++x) {
      const float* e8 = in.e8.pixel(y, x);
      const float* e32 = in.e32.pixel(y, x);
      const float* v16 = in.v16.pixel(y, x);
      const float* s32 = in.s32.pixel(y, x);
      const float* e16 = sum_all ? in.e16.pixel(y, x) : nullptr;
      const float* v8 = sum_all ? in.v8.pixel(y, x) : nullptr;
      float* o = out.pixel(y, x);
      for (int c = 0; c < c_vec; c += L) {
        f32v gate = act::Sigmoid::apply(simd::load(v16 + c)) * simd::load(s32 + c);
        f32v detail = simd::load(e8 + c);
        if (sum_all) {
          gate = gate * act::Sigmoid::apply(simd::load(v8 + c));
          detail = detail + simd::load(e16 + c);
        }
        const f32v fused = simd::fma(gate, detail, simd::load(e32 + c));
        simd::store(o + c, act::ReLU::apply(simd::fma(simd::load(head.scale + c), fused, simd::load(head.shift + c))));
      }
    }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

// pms/layers/seg_head.hpp: the segmentation head (spec 8) and its binding.
//
// linear_fuse (depthwise 1x1 + BN + ReLU) is a per-channel affine that the AAM combine
// kernel applies as it writes (kernels/aam_combine.hpp); what runs here is conv_seg, the
// 1x1 classifier 256 -> K with bias, producing the low-res logits. The AAM layer calls it on
// each tile of rows it has combined (layers/aam.hpp).
#pragma once

#include "pms/kernels/aam_combine.hpp"
#include "pms/kernels/pointwise_conv.hpp"
#include "pms/layers/mv3_block.hpp"
#include "pms/layers/run_context.hpp"
#include "pms/layers/weight_binder.hpp"

namespace pms::inline PMS_ISA_NS::layers {

template <int Channels>
struct SegHead {
  static constexpr int channels = Channels;
  kernels::HeadAffine linear_fuse{};
  kernels::PointwiseWeights classifier{};

  void bind(WeightBinder& b, int num_classes) noexcept {
    const kernels::DepthwiseWeights fuse = bind_depthwise(b, TensorName("decode_head.linear_fuse"), 1, Channels);
    linear_fuse = {fuse.weight, fuse.bias};
    classifier = bind_pointwise(b, TensorName("decode_head.conv_seg"), Channels, num_classes);
  }

  // fused: rows of relu(linear_fuse(aam)); logits: the same rows x K.
  void classify(ConstTensorView fused, TensorView logits) const noexcept {
    kernels::pointwise_conv<act::Identity>(fused, classifier, logits, fused.all_rows());
  }
};

}  // namespace pms::inline PMS_ISA_NS::layers

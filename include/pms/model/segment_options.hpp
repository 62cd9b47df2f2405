// pms/model/segment_options.hpp: what segment() takes besides the image and what it reports,
// and the limits it checks.
#pragma once

#include <cstdint>

#include "pms/core/tensor.hpp"

namespace pms {

// How low-res logits become full-resolution labels (spec 9).
enum class Upsampling : std::uint8_t {
  automatic,  // PaddleSeg's choice: VIM for 30 classes or more, exact otherwise
  vim,        // upsample only the classes that win somewhere at low resolution
  exact,      // upsample every class, argmax; fused, the K x H x W logits never exist
};

struct SegmentOptions {
  Upsampling upsampling = Upsampling::automatic;
};

// What segment() reports besides the label map. Views point into the workspace and stay
// valid until the workspace is used again.
struct SegmentInfo {
  ConstTensorView logits{};               // low-res logits, padded channels-last, K channels
  const std::int32_t* classes = nullptr;  // ascending class ids present in the label map
  int class_count = 0;
  bool used_vim = false;
};

// What a workspace must hold: an image size, the class count, the threads that will run
// it, and the label map's width when it differs from the image's.
struct WorkspaceQuery {
  int height = 0;
  int width = 0;
  int num_classes = 0;
  int threads = 1;
  int label_width = 0;  // 0: the image's width
};

inline constexpr int kMaxImageSide = 16384;  // keeps every size computation far from overflow
inline constexpr int kVimMinClasses = 30;    // PaddleSeg uses VIM from 30 classes on

}  // namespace pms

// pms/layers/weight_binder.hpp: looks up the tensors a layer needs in a parsed weights file.
//
// Layers ask for tensors by name and exact packed shape; the first failure (missing tensor,
// wrong shape) is recorded with the offending name, and later lookups return nullptr, so
// binding a whole network needs one status check at the end. No allocation.
// bind_pointwise and bind_depthwise read the two conv layouts every layer uses.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "pms/core/status.hpp"
#include "pms/io/weights_file.hpp"
#include "pms/kernels/depthwise_conv.hpp"
#include "pms/kernels/pointwise_conv.hpp"

namespace pms {

// A tensor name assembled from parts without the heap ("backbone.smb1.blocks." + 0 + ...).
class TensorName {
 public:
  static constexpr int kCapacity = 128;
  TensorName() noexcept = default;
  explicit TensorName(std::string_view s) noexcept { append(s); }
  TensorName& append(std::string_view s) noexcept {
    const int n = std::min<int>(static_cast<int>(s.size()), kCapacity - 1 - length_);
    std::copy_n(s.data(), n, text_ + length_);
    length_ += n;
    text_[length_] = '\0';
    return *this;
  }
  TensorName& append(int value) noexcept {
    char digits[12];
    int n = 0;
    do digits[n++] = static_cast<char>('0' + value % 10), value /= 10;
    while (value > 0 && n < 11);
    while (n > 0) append(std::string_view(&digits[--n], 1));
    return *this;
  }
  TensorName operator+(std::string_view s) const noexcept { return TensorName(*this).append(s); }
  std::string_view view() const noexcept { return {text_, static_cast<std::size_t>(length_)}; }
  const char* c_str() const noexcept { return text_; }

 private:
  char text_[kCapacity] = {};
  int length_ = 0;
};

class WeightBinder {
 public:
  explicit WeightBinder(const WeightsFile& file) noexcept : file_(file) {}

  // The f32 tensor `name` with exactly these dims, or nullptr (status() says why).
  const float* f32(const TensorName& name, std::initializer_list<int> dims) noexcept {
    if (status_ != Status::ok) return nullptr;
    const float* data = nullptr;
    const Status s = file_.get_f32(name.view(), std::span<const int>(dims.begin(), dims.size()), data);
    if (s != Status::ok) {
      status_ = s;
      failed_ = name;
      return nullptr;
    }
    return data;
  }

  Status status() const noexcept { return status_; }
  // Name of the tensor that failed first (empty when status() is ok).
  const TensorName& failed_tensor() const noexcept { return failed_; }

 private:
  const WeightsFile& file_;
  Status status_ = Status::ok;
  TensorName failed_;
};

}  // namespace pms

namespace pms::inline PMS_ISA_NS::layers {

// Weights of a 1x1 conv as the converter packs them: [cin][P(cout)] and bias [P(cout)].
inline kernels::PointwiseWeights bind_pointwise(WeightBinder& b, const TensorName& name, int cin, int cout) noexcept {
  return {b.f32(name + ".weight", {cin, padded_channels(cout)}), b.f32(name + ".bias", {padded_channels(cout)}), cin, cout};
}
// Weights of a kxk depthwise conv: [k*k][P(c)] and bias [P(c)].
inline kernels::DepthwiseWeights bind_depthwise(WeightBinder& b, const TensorName& name, int kernel, int channels) noexcept {
  return {b.f32(name + ".weight", {kernel * kernel, padded_channels(channels)}), b.f32(name + ".bias", {padded_channels(channels)}),
          channels};
}

}  // namespace pms::inline PMS_ISA_NS::layers

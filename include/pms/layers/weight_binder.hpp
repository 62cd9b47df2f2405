// pms/layers/weight_binder.hpp: looks up the tensors a layer needs in a parsed weights file.
//
// Layers ask for tensors by name and exact packed shape; the first failure (missing tensor,
// wrong shape) is recorded with the offending name, and later lookups return nullptr, so
// binding a whole network needs one status check at the end. No allocation.
// bind_pointwise (fp32 or int8, by the precision) and bind_depthwise read the conv layouts
// every layer uses.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <type_traits>

#include "pms/core/precision.hpp"
#include "pms/core/status.hpp"
#include "pms/io/weights_file.hpp"
#include "pms/kernels/depthwise_conv.hpp"
#include "pms/kernels/pointwise_conv.hpp"
#include "pms/kernels/pointwise_conv_int8.hpp"

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

  // The f32 (i8, i32) tensor `name` with exactly these dims, or nullptr (status() says why).
  const float* f32(const TensorName& name, std::initializer_list<int> dims) noexcept {
    return get<float>(name, dims, &WeightsFile::get_f32);
  }
  const std::int8_t* i8(const TensorName& name, std::initializer_list<int> dims) noexcept {
    return get<std::int8_t>(name, dims, &WeightsFile::get_i8);
  }
  const std::int32_t* i32(const TensorName& name, std::initializer_list<int> dims) noexcept {
    return get<std::int32_t>(name, dims, &WeightsFile::get_i32);
  }

  // Records a failure the lookups cannot see (a tensor's values break a rule), unless an
  // earlier one is recorded already.
  void refuse(Status s, const TensorName& name) noexcept {
    if (status_ != Status::ok) return;
    status_ = s;
    failed_ = name;
  }

  Status status() const noexcept { return status_; }
  bool ok() const noexcept { return status_ == Status::ok; }
  // Name of the tensor that failed first (empty when status() is ok).
  const TensorName& failed_tensor() const noexcept { return failed_; }

 private:
  template <class T>
  const T* get(const TensorName& name, std::initializer_list<int> dims,
               Status (WeightsFile::*lookup)(std::string_view, std::span<const int>, const T*&) const noexcept) noexcept {
    if (status_ != Status::ok) return nullptr;
    const T* data = nullptr;
    const Status s = (file_.*lookup)(name.view(), std::span<const int>(dims.begin(), dims.size()), data);
    if (s != Status::ok) {
      refuse(s, name);
      return nullptr;
    }
    return data;
  }

  const WeightsFile& file_;
  Status status_ = Status::ok;
  TensorName failed_;
};

}  // namespace pms

namespace pms::inline PMS_ISA_NS::layers {

// The weights of a 1x1 conv at precision P.
template <Precision P>
using PointwiseWeightsOf = std::conditional_t<std::same_as<P, Int8>, kernels::PointwiseInt8Weights, kernels::PointwiseWeights>;

// Whether every code of an int8 conv's pad (input channels cin .. 4G-1, output lanes cout ..
// P-1) is 0, as FORMAT.md 7.2 requires: the kernels multiply whatever the quantizer leaves
// in the pad activation bytes with these rows, so only zeros keep the result exact and the
// same on every ISA. Layout [G][P(cout)][4].
inline bool int8_pad_is_zero(const kernels::PointwiseInt8Weights& w) noexcept {
  const int groups = (w.cin + 3) / 4, lanes = padded_channels(w.cout);
  for (int g = 0; g < groups; ++g)
    for (int co = 0; co < lanes; ++co)
      for (int j = 0; j < 4; ++j)
        if ((4 * g + j >= w.cin || co >= w.cout) && w.weight_q[(static_cast<std::size_t>(g) * lanes + co) * 4 + j] != 0)
          return false;
  return true;
}

// Weights of a 1x1 conv as the converter packs them. fp32: weight [cin][P(cout)] and bias
// [P(cout)]; int8 (FORMAT.md 7.2): weight_q [ceil(cin/4)][P(cout)][4], weight_scale,
// weight_sum and bias [P(cout)], the pad checked (bad_quantized_weights).
template <Precision P = Fp32>
inline PointwiseWeightsOf<P> bind_pointwise(WeightBinder& b, const TensorName& name, int cin, int cout) noexcept {
  const int lanes = padded_channels(cout);
  if constexpr (std::same_as<P, Int8>) {
    const kernels::PointwiseInt8Weights w{b.i8(name + ".weight_q", {(cin + 3) / 4, lanes, 4}), b.f32(name + ".weight_scale", {lanes}),
                                          b.i32(name + ".weight_sum", {lanes}), b.f32(name + ".bias", {lanes}), cin, cout};
    if (b.ok() && !int8_pad_is_zero(w)) b.refuse(Status::bad_quantized_weights, name + ".weight_q");
    return w;
  } else {
    return {b.f32(name + ".weight", {cin, lanes}), b.f32(name + ".bias", {lanes}), cin, cout};
  }
}
// Weights of a kxk depthwise conv: [k*k][P(c)] and bias [P(c)].
inline kernels::DepthwiseWeights bind_depthwise(WeightBinder& b, const TensorName& name, int kernel, int channels) noexcept {
  return {b.f32(name + ".weight", {kernel * kernel, padded_channels(channels)}), b.f32(name + ".bias", {padded_channels(channels)}),
          channels};
}

}  // namespace pms::inline PMS_ISA_NS::layers

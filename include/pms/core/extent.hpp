// pms/core/extent.hpp: how spatial extents change through the network's convolutions.
#pragma once

namespace pms {

// Output extent of a k x k convolution with stride s and padding (k - 1) / 2: ceil(n / s).
constexpr int conv_out_extent(int n, int stride) noexcept { return (n + stride - 1) / stride; }

}  // namespace pms

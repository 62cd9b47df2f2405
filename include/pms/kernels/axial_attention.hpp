// pms/kernels/axial_attention.hpp: the squeeze-axial attention of SEA blocks (spec 5.3
// steps 4-6, 5.4).
//
//   mean_over_width:  out[y][c] = sum_x in(y, x, c) / W        (row branch, length H)
//   mean_over_height: out[x][c] = sum_y in(y, x, c) / H        (column branch, length W)
//   resize_pos_table: a [C][16] table resized to [n][P(C)] (Paddle 1-D linear, half-pixel)
//   axial_attention:  per head, out[n][head*d + j] =
//                       sum_m softmax_m(scale * sum_i Q[n][head*kd + i] K[m][head*kd + i]) V[m][head*d + j]
//                     with Q = q + q_pos, K = k + k_pos, scale = kd^-0.5 (float)
//   add_row_col:      out(y, x, c) = Act(v(y, x, c) + (row[y][c] + col[x][c]))
//
// Sequences (squeezed tensors, positional tables, attention outputs) are row-major: element
// (n, c) at data[n * stride + c]. The means can be taken over the merged qkv tensor in one
// call, giving [q | k | v] means per position; q, k and v are then that buffer at offsets
// 0, nh_kd and 2 * nh_kd with the same stride.
#pragma once

#include <cmath>
#include <cstddef>

#include "pms/core/config.hpp"
#include "pms/core/tensor.hpp"
#include "pms/kernels/activation.hpp"
#include "pms/kernels/resize.hpp"
#include "pms/simd/simd.hpp"

namespace pms::inline PMS_ISA_NS::kernels {

// ---- squeeze means -----------------------------------------------------------------------

// out[y * out_stride + c] = mean over x of in(y, x, c), all padded_channels(C) lanes.
inline void mean_over_width(ConstTensorView in, float* out, int out_stride) noexcept {
  using simd::f32v;
  constexpr int L = simd::kLanes;
  const int lanes = padded_channels(in.channels);
  const f32v n = simd::splat(static_cast<float>(in.width));
  for (int y = 0; y < in.height; ++y) {
    float* o = out + static_cast<std::ptrdiff_t>(y) * out_stride;
    const float* row = in.row(y);
    int c = 0;
    for (; c + 2 * L <= lanes; c += 2 * L) {  // two independent chains per pass
      f32v a0 = simd::zero(), a1 = simd::zero();
      const float* p = row + c;
      for (int x = 0; x < in.width; ++x, p += in.stride) {
        a0 = a0 + simd::load(p);
        a1 = a1 + simd::load(p + L);
      }
      simd::store(o + c, simd::div(a0, n));
      simd::store(o + c + L, simd::div(a1, n));
    }
    if (c < lanes) {
      f32v a0 = simd::zero();
      const float* p = row + c;
      for (int x = 0; x < in.width; ++x, p += in.stride) a0 = a0 + simd::load(p);
      simd::store(o + c, simd::div(a0, n));
    }
  }
}

// out[x * out_stride + c] = mean over y of in(y, x, c), all padded_channels(C) lanes.
inline void mean_over_height(ConstTensorView in, float* out, int out_stride) noexcept {
  using simd::f32v;
  constexpr int L = simd::kLanes;
  const int lanes = padded_channels(in.channels);
  for (int x = 0; x < in.width; ++x) {
    const float* p = in.pixel(0, x);
    float* o = out + static_cast<std::ptrdiff_t>(x) * out_stride;
    for (int c = 0; c < lanes; c += L) simd::store(o + c, simd::load(p + c));
  }
  for (int y = 1; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x) {
      const float* p = in.pixel(y, x);
      float* o = out + static_cast<std::ptrdiff_t>(x) * out_stride;
      for (int c = 0; c < lanes; c += L) simd::store(o + c, simd::load(o + c) + simd::load(p + c));
    }
  const f32v n = simd::splat(static_cast<float>(in.height));
  for (int x = 0; x < in.width; ++x) {
    float* o = out + static_cast<std::ptrdiff_t>(x) * out_stride;
    for (int c = 0; c < lanes; c += L) simd::store(o + c, simd::div(simd::load(o + c), n));
  }
}

// ---- positional tables -------------------------------------------------------------------

inline constexpr int kPosTableLength = 16;

// out[p * P(channels) + c] = table [channels][16] (raw checkpoint layout, element [c][i] at
// c * 16 + i) resized to length n with Paddle's 1-D linear rule: the resize.hpp axis with
// in = 16, out = n (n == 1 samples entry 0; n == 16 copies). Pad lanes are set to 0.
inline void resize_pos_table(const float* table, int channels, int n, float* out) noexcept {
  PMS_ASSERT(n >= 1 && channels >= 1);
  const int lanes = padded_channels(channels);
  const ResizeAxis axis(kPosTableLength, n, ResizeMode::to_size());
  for (int p = 0; p < n; ++p) {
    float* o = out + static_cast<std::ptrdiff_t>(p) * lanes;
    if (n == kPosTableLength) {
      for (int c = 0; c < channels; ++c) o[c] = table[c * kPosTableLength + p];
    } else {
      const AxisSample s = axis(p);
      for (int c = 0; c < channels; ++c)
        o[c] = std::fma(table[c * kPosTableLength + s.i1], s.w1, table[c * kPosTableLength + s.i0] * s.w0);
    }
    for (int c = channels; c < lanes; ++c) o[c] = 0.0f;
  }
}

// ---- attention ---------------------------------------------------------------------------

struct AxialAttentionShape {
  int length;     // N: positions (H for the row branch, W for the column branch)
  int heads;      // h
  int key_dim;    // kd
  int value_dim;  // d
};

struct AxialAttentionInputs {
  const float* q;  // [N][q_stride], h * kd channels used
  int q_stride;
  const float* k;  // [N][k_stride]
  int k_stride;
  const float* v;  // [N][v_stride], h * d channels used
  int v_stride;
  const float* q_pos = nullptr;  // [N][pos_stride] added to q (resize_pos_table's output), or null
  const float* k_pos = nullptr;  // [N][pos_stride] added to k, or null
  int pos_stride = 0;
};

// Floats of scratch axial_attention needs: K of one head transposed to [kd][P(N)], and one
// row of scores.
constexpr std::size_t axial_attention_scratch_floats(int length, int key_dim) noexcept {
  return static_cast<std::size_t>(key_dim + 1) * static_cast<std::size_t>(padded_channels(length));
}

// Paddle's scale: the Python double kd ** -0.5, applied to float32 scores.
inline float attention_scale(int key_dim) noexcept { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(key_dim))); }

// out[n * out_stride + head * d + j] as above; lanes h*d .. P(h*d) of each output row are
// set to 0. out must not overlap the inputs. Rounding: simd::FusedAlways in the int8 network,
// FusedIfNative in the fp32 one.
template <class Rounding = simd::FusedIfNative>
void axial_attention(const AxialAttentionInputs& in, AxialAttentionShape shape, float* out, int out_stride,
                     float* scratch) noexcept {
  using simd::f32v;
  constexpr int L = simd::kLanes;
  const int n_pos = shape.length, kd = shape.key_dim, d = shape.value_dim;
  PMS_ASSERT(n_pos >= 1 && shape.heads >= 1 && kd >= 1 && d >= 1);
  const int np = padded_channels(n_pos);  // scores are computed for P(N) positions
  const float scale = attention_scale(kd);
  float* kt = scratch;                                      // [kd][np]
  float* score = scratch + static_cast<std::ptrdiff_t>(kd) * np;  // [np]
  const f32v lane = simd::lane_index();
  const f32v lowest = simd::splat(-3.0e38f);
  // Vector path for the value product: every head's value block is whole vectors.
  const bool value_vectors = d % L == 0;

  for (int h = 0; h < shape.heads; ++h) {
    const int qk0 = h * kd, v0 = h * d;
    for (int i = 0; i < kd; ++i) {
      float* row = kt + static_cast<std::ptrdiff_t>(i) * np;
      for (int m = 0; m < n_pos; ++m) {
        float kv = in.k[static_cast<std::ptrdiff_t>(m) * in.k_stride + qk0 + i];
        if (in.k_pos) kv += in.k_pos[static_cast<std::ptrdiff_t>(m) * in.pos_stride + qk0 + i];
        row[m] = kv;
      }
      for (int m = n_pos; m < np; ++m) row[m] = 0.0f;
    }
    for (int n = 0; n < n_pos; ++n) {
      // scores[m] = scale * (Q[n] . K[m]), then a softmax over the N real positions.
      f32v vmax = lowest;
      for (int mb = 0; mb < np; mb += L) {
        f32v acc = simd::zero();
        for (int i = 0; i < kd; ++i) {
          float qv = in.q[static_cast<std::ptrdiff_t>(n) * in.q_stride + qk0 + i];
          if (in.q_pos) qv += in.q_pos[static_cast<std::ptrdiff_t>(n) * in.pos_stride + qk0 + i];
          acc = Rounding::fma(simd::splat(qv), simd::load(kt + static_cast<std::ptrdiff_t>(i) * np + mb), acc);
        }
        acc = simd::select(lane < simd::splat(static_cast<float>(n_pos - mb)), acc * simd::splat(scale), lowest);
        vmax = simd::max(vmax, acc);
        simd::store(score + mb, acc);
      }
      vmax = simd::broadcast_max(vmax);
      for (int mb = 0; mb < np; mb += L) {
        const simd::mask32 valid = lane < simd::splat(static_cast<float>(n_pos - mb));
        simd::store(score + mb, simd::select(valid, simd::exp<Rounding>(simd::load(score + mb) - vmax), simd::zero()));
      }
      // Summed in position order, not in vector lanes: the same sum on every vector width.
      float sum = 0.0f;
      for (int m = 0; m < n_pos; ++m) sum += score[m];
      const f32v total = simd::splat(sum);
      for (int mb = 0; mb < np; mb += L) simd::store(score + mb, simd::div(simd::load(score + mb), total));

      float* o = out + static_cast<std::ptrdiff_t>(n) * out_stride + v0;
      if (value_vectors) {
        for (int j = 0; j < d; j += L) {
          f32v acc = simd::zero();
          const float* vp = in.v + v0 + j;
          for (int m = 0; m < n_pos; ++m)
            acc = Rounding::fma(simd::splat(score[m]), simd::loadu(vp + static_cast<std::ptrdiff_t>(m) * in.v_stride), acc);
          simd::storeu(o + j, acc);
        }
      } else {
        for (int j = 0; j < d; ++j) {
          float acc = 0.0f;
          // Rounded as the vector path above: a head's result does not depend on the path.
          for (int m = 0; m < n_pos; ++m) acc = Rounding::fma(score[m], in.v[static_cast<std::ptrdiff_t>(m) * in.v_stride + v0 + j], acc);
          o[j] = acc;
        }
      }
    }
  }
  const int dh = shape.heads * d;
  for (int n = 0; n < n_pos; ++n)
    for (int c = dh; c < padded_channels(dh); ++c) out[static_cast<std::ptrdiff_t>(n) * out_stride + c] = 0.0f;
}

// ---- fuse ----------------------------------------------------------------------------------

// out(y, x, c) = Act(v(y, x, c) + (row[y * row_stride + c] + col[x * col_stride + c])) for the
// rows, all padded_channels(C) lanes. v may be a channel slice (q/k/v inside qkv); Act is
// act::ReLU6 when the result feeds proj (spec 5.3 step 6).
template <class Act = act::Identity>
inline void add_row_col(ConstTensorView v, const float* row, int row_stride, const float* col, int col_stride, TensorView out,
                        RowRange rows) noexcept {
  constexpr int L = simd::kLanes;
  PMS_ASSERT(v.height == out.height && v.width == out.width && v.channels == out.channels);
  PMS_ASSERT(rows.begin >= 0 && rows.end <= out.height);
  const int lanes = padded_channels(out.channels);
  for (int y = rows.begin; y < rows.end; ++y) {
    const float* r = row + static_cast<std::ptrdiff_t>(y) * row_stride;
    for (int x = 0; x < out.width; ++x) {
      const float* pv = v.pixel(y, x);
      const float* pc = col + static_cast<std::ptrdiff_t>(x) * col_stride;
      float* po = out.pixel(y, x);
      for (int c = 0; c < lanes; c += L)
        simd::store(po + c, Act::apply(simd::load(pv + c) + (simd::load(r + c) + simd::load(pc + c))));
    }
  }
}

}  // namespace pms::inline PMS_ISA_NS::kernels

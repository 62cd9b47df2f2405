// The int8 1x1 conv (pointwise_conv_int8.hpp) and the per-pixel activation quantizer
// (quantize.hpp) against oracles written here from weights/FORMAT.md 7.3-7.6, compared bit
// for bit (float bit patterns equal, or both NaN), in every output lane, pad lanes included.
//
// The oracle's float steps must round one by one as 7.6 says. The kernel suite is compiled
// with GCC's default -ffp-contract=fast (and -mfma on the AVX2/AVX-512 levels), under which
// `a * s + b` in plain code may become one FMA; so every oracle step goes through a volatile
// float (`rnd`), which forces a rounding and cannot be contracted. The suite deliberately
// keeps -ffp-contract=fast for the kernel: it must give the 7.6 floats under the flags
// users compile it with.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "conv_test_support.hpp"
#include "pms/kernels/pointwise_conv_int8.hpp"
#include "pms/kernels/quantize.hpp"

namespace {

using namespace pms;
using namespace pms::test;
using kernels::Int8ActivationCode;
using kernels::PointwiseExtras;
using kernels::PointwiseInt8Weights;
using kernels::QuantizedPixels;
using pms::test::conv::Int8ConvWeights;

// One IEEE binary32 rounding, not contractible with what comes before or after.
float rnd(float v) {
  volatile float t = v;
  return t;
}

std::uint32_t bits(float v) { return std::bit_cast<std::uint32_t>(v); }

std::string hex(float v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", static_cast<unsigned>(bits(v)));
  return b;
}

bool same_float(float a, float b) { return (std::isnan(a) && std::isnan(b)) || bits(a) == bits(b); }

// ---- 7.4 as written in FORMAT.md ---------------------------------------------------------

struct RefQuant {
  std::vector<int> q;
  float s_a = 0.0f;
};

RefQuant ref_quantize(const float* x, int cin) {
  RefQuant r;
  r.q.assign(cin, 0);
  std::uint32_t a = 0;
  for (int c = 0; c < cin; ++c) a = std::max(a, bits(x[c]) & 0x7fffffffu);
  if (a >= 0x7f800000u) {
    r.s_a = std::numeric_limits<float>::quiet_NaN();
    return r;
  }
  if (a < 0x1f800000u) return r;
  const float amax = std::bit_cast<float>(a);
  const float inv = rnd(127.0f / amax);
  for (int c = 0; c < cin; ++c) {
    const float t = rnd(x[c] * inv);
    r.q[c] = static_cast<int>(std::clamp(std::nearbyint(t), -127.0f, 127.0f));
  }
  r.s_a = rnd(amax / 127.0f);
  return r;
}

template <class Code>
int decode(Code c) {
  return std::is_same_v<Code, std::uint8_t> ? static_cast<int>(c) - 128 : static_cast<int>(c);
}

// ---- 7.5 / 7.6 ----------------------------------------------------------------------------

// Act as 7.6 defines it: the fp32 path's activation policy (its vector form, which the fp32
// kernels apply), evaluated on one value. The same for the input activation (7.4: the
// quantizer sees what the fp32 path feeds its GEMM): the vector and scalar forms differ on
// NaN (x86 MAXPS returns its second operand, so ReLU6(NaN) = 0 there; NEON's FMAX gives NaN).
template <class Act>
float ref_act(float y) {
  return simd::first_lane(Act::apply(simd::splat(y)));
}

// Every lane (co < P(cout)) of one output pixel: the pad lanes follow from the 7.2 pad values
// (weight rows, s_w and bias 0).
template <class Act>
void ref_pixel(const RefQuant& qa, const Int8ConvWeights& w, const float* residual, float* out) {
  for (int co = 0; co < w.padded; ++co) {
    std::int64_t acc = 0;
    if (co < w.cout)
      for (int ci = 0; ci < w.cin; ++ci) acc += static_cast<std::int64_t>(qa.q[ci]) * w.q[static_cast<std::size_t>(co) * w.cin + ci];
    REQUIRE(std::llabs(acc) < (1 << 24));
    const float a = static_cast<float>(acc);
    const float scale = rnd(qa.s_a * w.weight_scale[co]);
    float y = rnd(a * scale);
    y = rnd(y + w.bias[co]);
    y = rnd(ref_act<Act>(y));
    if (residual != nullptr) y = rnd(y + residual[co]);
    out[co] = y;
  }
}

PointwiseInt8Weights view_of(const Int8ConvWeights& w) {
  return {w.weight_q.data(), w.weight_scale.data(), w.weight_sum.data(), w.bias.data(), w.cin, w.cout};
}

// fp32 weights W'[cout][cin] (uniform, scaled so outputs stay O(1)), with the rows listed in
// zero_rows all 0 (s_w = 0), quantized by 7.3.
Int8ConvWeights random_weights(std::mt19937_64& g, int cin, int cout, std::vector<int> zero_rows = {}) {
  const float ws = 1.0f / std::sqrt(static_cast<float>(cin));
  std::vector<float> w(static_cast<std::size_t>(cout) * cin), b(cout);
  for (float& v : w) v = uniform(g, -ws, ws);
  for (float& v : b) v = uniform(g, -0.5f, 0.5f);
  for (int co : zero_rows)
    if (co < cout) std::fill_n(w.begin() + static_cast<std::ptrdiff_t>(co) * cin, cin, 0.0f);
  return conv::quantize_weights(w, b, cin, cout);
}

// Compares every lane of out with the oracle; reports the first few mismatches.
template <class Act>
void check_against_oracle(ConstTensorView in, const Int8ConvWeights& w, ConstTensorView out, const float* residual,
                          const std::string& what, bool relu6_input = false) {
  int failures = 0;
  std::vector<float> ref(w.padded), x(in.channels);
  for (int y = 0; y < out.height; ++y)
    for (int xx = 0; xx < out.width; ++xx) {
      const float* px = in.pixel(y, xx);
      for (int c = 0; c < in.channels; ++c) x[c] = relu6_input ? ref_act<act::ReLU6>(px[c]) : px[c];
      const RefQuant qa = ref_quantize(x.data(), in.channels);
      const std::ptrdiff_t off = out.pixel(y, xx) - out.data;
      ref_pixel<Act>(qa, w, residual != nullptr ? residual + off : nullptr, ref.data());
      const float* o = out.pixel(y, xx);
      for (int co = 0; co < w.padded; ++co)
        if (!same_float(o[co], ref[co]) && failures++ < 5)
          FAIL_CHECK(what << ": at (" << y << "," << xx << "," << co << ") got " << o[co] << " (" << hex(o[co])
                          << ") expected " << ref[co] << " (" << hex(ref[co]) << ")");
    }
  CHECK_MESSAGE(failures == 0, what << ": " << failures << " mismatches");
}

struct Case {
  int h, w, cin, cout;
  bool residual = false;
  int splits = 1;
  std::vector<int> zero_rows = {};
};

std::string describe(const Case& c, const char* act, const char* in_act) {
  return std::string("int8 pointwise ") + act + "/in-" + in_act + " c" + std::to_string(c.cin) + "x" +
         std::to_string(c.cout) + " h" + std::to_string(c.h) + "w" + std::to_string(c.w) +
         (c.residual ? " residual" : "") + " splits " + std::to_string(c.splits) + " [" + kernels::int8_dot::path_name() +
         "]";
}

template <class Act, class InputAct = act::Identity>
void check_conv(const Case& c, std::uint64_t salt, OwnedTensor* input = nullptr) {
  auto g = rng(salt);
  OwnedTensor own_in = random_tensor(g, c.h, c.w, c.cin, -2.0f, 2.0f);
  const OwnedTensor& in = input != nullptr ? *input : own_in;
  const Int8ConvWeights w = random_weights(g, c.cin, c.cout, c.zero_rows);
  OwnedTensor res = random_tensor(g, c.h, c.w, c.cout);
  OwnedTensor out(c.h, c.w, c.cout);
  PointwiseExtras extras;
  if (c.residual) extras.residual = res.view;
  for (int s = 0; s < c.splits; ++s) {
    const RowRange r{c.h * s / c.splits, c.h * (s + 1) / c.splits};
    kernels::pointwise_conv_int8<Act, InputAct>(in.view, view_of(w), out.view, r, extras);
  }
  check_against_oracle<Act>(in.view, w, out.view, c.residual ? res.view.data : nullptr, describe(c, Act::name, InputAct::name),
                            !std::is_same_v<InputAct, act::Identity>);
}

}  // namespace

// ---- the quantizer alone ----------------------------------------------------------------

namespace {

template <class Code, class InputAct = act::Identity>
void check_quantize_pixel(const std::vector<float>& x_in, const std::string& what) {
  const int cin = static_cast<int>(x_in.size());
  const int padded = padded_channels(cin);
  // A padded pixel whose pad lanes hold NaN: they must not reach A or any code.
  Buffer x(padded);
  for (int c = 0; c < cin; ++c) x[c] = x_in[c];
  std::vector<float> xa(cin);
  for (int c = 0; c < cin; ++c) xa[c] = ref_act<InputAct>(x_in[c]);
  const RefQuant ref = ref_quantize(xa.data(), cin);

  std::vector<Code> q(padded, Code(77)), qs(cin, Code(77));
  const float s = kernels::quantize_pixel<Code, InputAct>(x.data(), cin, q.data());
  const float ss = kernels::quantize_pixel_scalar<Code, InputAct>(x.data(), cin, qs.data());
  CHECK_MESSAGE(same_float(s, ref.s_a), what << ": s_a " << s << " expected " << ref.s_a);
  CHECK_MESSAGE(same_float(ss, ref.s_a), what << ": scalar s_a " << ss << " expected " << ref.s_a);
  int failures = 0;
  for (int c = 0; c < padded; ++c) {
    const int expected = c < cin ? ref.q[c] : 0;
    if (decode(q[c]) != expected && failures++ < 5)
      FAIL_CHECK(what << ": code " << c << " is " << decode(q[c]) << ", expected " << expected);
    if (c < cin && decode(qs[c]) != expected && failures++ < 5)
      FAIL_CHECK(what << ": scalar code " << c << " is " << decode(qs[c]) << ", expected " << expected);
  }
  CHECK_MESSAGE(failures == 0, what << ": " << failures << " wrong codes");
}

// x in a padded buffer (NaN pad lanes), as quantize_pixel reads whole padded pixels.
Buffer padded_copy(const std::vector<float>& x) {
  Buffer b(padded_channels(static_cast<int>(x.size())));
  for (std::size_t i = 0; i < x.size(); ++i) b[i] = x[i];
  return b;
}

template <class InputAct = act::Identity>
void check_quantize_all_codes(const std::vector<float>& x, const std::string& what) {
  check_quantize_pixel<std::int8_t, InputAct>(x, what + " (int8)");
  check_quantize_pixel<std::uint8_t, InputAct>(x, what + " (uint8)");
  check_quantize_pixel<std::int16_t, InputAct>(x, what + " (int16)");
}

}  // namespace

TEST_CASE("quantize_pixel: random pixels of every length against the 7.4 formula") {
  auto g = rng(4000);
  for (int cin : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 96, 768}) {
    std::vector<float> x(cin);
    for (float& v : x) v = uniform(g, -3.0f, 3.0f);
    check_quantize_all_codes(x, "random c" + std::to_string(cin));
    for (float& v : x) v = uniform(g, -1e-30f, 1e-30f);  // tiny but above 2^-64 in most pixels
    check_quantize_all_codes(x, "tiny c" + std::to_string(cin));
    for (float& v : x) v = uniform(g, -8.0f, 8.0f);
    check_quantize_all_codes<act::ReLU6>(x, "relu6 input c" + std::to_string(cin));
  }
}

TEST_CASE("quantize_pixel: ties round half to even") {
  // amax = 127 gives inv = 1 exactly, so x * inv = x and every .5 is a tie: half-even gives
  // 0, 2, 2, -2, 126, 4, -0; ties away from zero (std::round) would give 1, 2, 3, -3, 127, 5, -1.
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, -2.5f, 126.5f, 4.5f, -0.5f, 127.0f, -3.5f};
  const int expected[] = {0, 2, 2, -2, 126, 4, 0, 127, -4};
  check_quantize_all_codes(x, "ties");
  std::vector<std::int8_t> q(16);
  const float s = kernels::quantize_pixel<std::int8_t>(padded_copy(x).data(), static_cast<int>(x.size()), q.data());
  CHECK(s == 1.0f);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK_MESSAGE(q[i] == expected[i], "tie " << x[i]);
  // amax = 254: inv = 0.5, x = 1, 3, 5 are ties at 0.5, 1.5, 2.5.
  const std::vector<float> y = {1.0f, 3.0f, 5.0f, -7.0f, 254.0f};
  const int expected_y[] = {0, 2, 2, -4, 127};
  check_quantize_all_codes(y, "ties at inv 0.5");
  kernels::quantize_pixel<std::int8_t>(padded_copy(y).data(), static_cast<int>(y.size()), q.data());
  for (std::size_t i = 0; i < y.size(); ++i) CHECK_MESSAGE(q[i] == expected_y[i], "tie " << y[i]);
}

TEST_CASE("quantize_pixel: NaN, Inf, zero, below 2^-64, exactly 2^-64, subnormals") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const float two_m64 = std::ldexp(1.0f, -64), denorm = std::numeric_limits<float>::denorm_min();
  for (int cin : {1, 5, 17, 96}) {
    const std::string c = " c" + std::to_string(cin);
    std::vector<float> x(cin, 0.25f);
    check_quantize_all_codes(std::vector<float>(cin, 0.0f), "zero" + c);
    check_quantize_all_codes(std::vector<float>(cin, -0.0f), "negative zero" + c);
    x[cin / 2] = nan;
    check_quantize_all_codes(x, "NaN" + c);
    x[cin / 2] = -nan;
    check_quantize_all_codes(x, "negative NaN" + c);
    x[cin - 1] = inf, x[cin / 2] = 1.0f;
    check_quantize_all_codes(x, "+Inf" + c);
    x[cin - 1] = -inf;
    check_quantize_all_codes(x, "-Inf" + c);
    check_quantize_all_codes(std::vector<float>(cin, std::nextafter(two_m64, 0.0f)), "just below 2^-64" + c);
    check_quantize_all_codes(std::vector<float>(cin, -two_m64), "exactly 2^-64" + c);
    check_quantize_all_codes(std::vector<float>(cin, 3.0f * denorm), "all subnormal" + c);
    std::vector<float> sub(cin, 1e-39f);
    sub[0] = -1e-38f, sub[cin - 1] = 1e-44f;
    if (cin > 2) sub[1] = two_m64;
    check_quantize_all_codes(sub, "subnormals with a normal max" + c);
  }
  // The NaN pixel's s_a is NaN, its codes 0; the zero pixel's s_a 0.
  std::vector<float> x(5, 1.0f);
  x[2] = nan;
  std::vector<std::int8_t> q(16, 9);
  CHECK(std::isnan(kernels::quantize_pixel<std::int8_t>(padded_copy(x).data(), 5, q.data())));
  for (int c = 0; c < 16; ++c) CHECK(q[c] == 0);
}

namespace {

// quantize_pixels over n pixels of a tensor with special pixels mixed in, against the 7.4
// oracle per pixel; codes written with a pitch wider than the pixel (the gap must stay).
template <class Code, class InputAct = act::Identity>
void check_quantize_pixels(int n, int cin, std::uint64_t salt) {
  auto g = rng(salt);
  OwnedTensor in = random_tensor(g, 1, n, cin, -3.0f, 3.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (int p = 0; p < n; ++p) {
    float* px = in.view.pixel(0, p);
    switch (p % 11) {
      case 1: px[g() % cin] = nan; break;
      case 3: px[g() % cin] = -inf; break;
      case 4: std::fill_n(px, cin, 0.0f); break;
      case 6: std::fill_n(px, cin, 1e-25f); break;
      case 7: std::fill_n(px, cin, 1e-39f), px[g() % cin] = 0.5f; break;
      case 9: std::fill_n(px, cin, std::ldexp(1.0f, -64)); break;
      default: break;
    }
  }
  const int pitch = padded_channels(cin) + 16;
  std::vector<Code> q(static_cast<std::size_t>(n) * pitch, Code(99));
  std::vector<float> s(n + 1, 42.0f);
  kernels::quantize_pixels<Code, InputAct>(in.view.data, in.view.stride, n, cin, q.data(), pitch, s.data());
  int failures = 0;
  std::vector<float> x(cin);
  for (int p = 0; p < n; ++p) {
    for (int c = 0; c < cin; ++c) x[c] = ref_act<InputAct>(in.view.pixel(0, p)[c]);
    const RefQuant ref = ref_quantize(x.data(), cin);
    if (!same_float(s[p], ref.s_a) && failures++ < 5) FAIL_CHECK("pixel " << p << ": s_a " << s[p] << " expected " << ref.s_a);
    for (int c = 0; c < pitch; ++c) {
      const Code got = q[static_cast<std::size_t>(p) * pitch + c];
      const bool ok = c < padded_channels(cin) ? decode(got) == (c < cin ? ref.q[c] : 0) : got == Code(99);
      if (!ok && failures++ < 5) FAIL_CHECK("pixel " << p << " code " << c << ": " << decode(got));
    }
  }
  CHECK(s[n] == 42.0f);
  CHECK_MESSAGE(failures == 0, "quantize_pixels n" << n << " c" << cin << ": " << failures << " mismatches");
}

}  // namespace

TEST_CASE("quantize_pixels: blocks of odd pixel counts with special pixels, every code type") {
  std::uint64_t salt = 4500;
  for (int n : {1, 5, 15, 16, 17, 33, 64, 65, 100, 131})
    for (int cin : {1, 3, 16, 17, 40, 96}) {
      check_quantize_pixels<std::int8_t>(n, cin, salt++);
      check_quantize_pixels<std::uint8_t>(n, cin, salt++);
      check_quantize_pixels<std::int16_t, act::ReLU6>(n, cin, salt++);
    }
}

// ---- the conv -------------------------------------------------------------------------------

TEST_CASE("pointwise_conv_int8: every cin x cout of the brief, odd pixel counts") {
  const int cins[] = {1, 3, 4, 5, 16, 17, 63, 96, 768};
  const int couts[] = {1, 7, 16, 17, 40, 150};
  const int pixel_shapes[][2] = {{1, 1}, {1, 5}, {17, 1}, {13, 9}};  // 1, 5, 17, 117 pixels
  std::uint64_t salt = 5000;
  int k = 0;
  for (int cin : cins)
    for (int cout : couts) {
      const auto& ps = pixel_shapes[k++ % 4];
      check_conv<act::Identity>({ps[0], ps[1], cin, cout}, salt++);
      check_conv<act::HardSwish>({1, 1, cin, cout}, salt++);
      check_conv<act::ReLU>({1, 5, cin, cout, true}, salt++);
    }
}

TEST_CASE("pointwise_conv_int8: every activation, with and without residual and ReLU6 input") {
  std::uint64_t salt = 6000;
  for (const Case& c : {Case{13, 9, 17, 40}, Case{3, 7, 96, 150, false, 2}, Case{101, 1, 63, 17, false, 3}}) {
    for (bool residual : {false, true}) {
      Case d = c;
      d.residual = residual;
      check_conv<act::Identity>(d, salt++);
      check_conv<act::ReLU>(d, salt++);
      check_conv<act::ReLU6>(d, salt++);
      check_conv<act::HardSwish>(d, salt++);
      check_conv<act::HSigmoid>(d, salt++);
      check_conv<act::SEGate>(d, salt++);
      check_conv<act::Sigmoid>(d, salt++);
      check_conv<act::Identity, act::ReLU6>(d, salt++);
      check_conv<act::HSigmoid, act::ReLU6>(d, salt++);
    }
  }
}

TEST_CASE("pointwise_conv_int8: several pixel blocks, row-range splits, zero weight rows") {
  check_conv<act::HardSwish>({17, 31, 17, 40, true, 3, {0, 5, 39}}, 7000);  // 527 pixels: > 256 per block
  check_conv<act::Identity>({11, 13, 768, 16, false, 2, {3}}, 7001);       // 143 pixels of 768: many blocks
  check_conv<act::ReLU>({9, 7, 256, 150, true, 1, {0, 1, 149}}, 7002);
  check_conv<act::Identity>({5, 3, 2048, 7}, 7003);                        // kMaxCin
}

TEST_CASE("pointwise_conv_int8: NaN, Inf, zero, tiny and subnormal pixels") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::uint64_t salt = 8000;
  for (int cin : {1, 5, 17, 96})
    for (int cout : {7, 40}) {
      auto g = rng(salt);
      OwnedTensor in = random_tensor(g, 3, 5, cin, -2.0f, 2.0f);
      const auto fill = [&](int p, float v) {
        for (int c = 0; c < cin; ++c) in.view.data[p * in.view.stride + c] = v;
      };
      in.view.data[0 * in.view.stride + cin / 2] = nan;
      in.view.data[1 * in.view.stride + cin - 1] = inf;
      in.view.data[2 * in.view.stride + 0] = -inf;
      fill(3, 0.0f);
      fill(4, 1e-25f);                      // below 2^-64
      fill(5, 1e-39f);                      // subnormal
      in.view.data[5 * in.view.stride] = 0.75f;  // ... with a normal max
      fill(6, std::ldexp(1.0f, -64));       // exactly the floor
      fill(7, -std::numeric_limits<float>::denorm_min());
      check_conv<act::Identity>({3, 5, cin, cout}, salt++, &in);
      check_conv<act::HardSwish>({3, 5, cin, cout, true}, salt++, &in);
      check_conv<act::ReLU>({3, 5, cin, cout, true, 2}, salt++, &in);
      check_conv<act::HardSwish, act::ReLU6>({3, 5, cin, cout, true}, salt++, &in);
    }
}

TEST_CASE("pointwise_conv_int8: cin 768 with every code +-127 (no int32 overflow)") {
  // Weights +-127 by a sign pattern and activations +-amax with the same pattern (or its
  // opposite): acc = +-127^2 * 768 = +-12,387,072, the largest 7.5 allows; on the VPDPBUSD
  // path the biased sum 255 * 127 * 768 as well.
  const int cin = 768, cout = 40;
  std::vector<float> w(static_cast<std::size_t>(cout) * cin), b(cout, 0.25f);
  for (int co = 0; co < cout; ++co)
    for (int ci = 0; ci < cin; ++ci) {
      const bool neg = co % 3 == 0 ? ((ci * 7 + co) % 5 < 2) : co % 3 == 1;
      w[static_cast<std::size_t>(co) * cin + ci] = neg ? -0.5f : 0.5f;
    }
  const Int8ConvWeights qw = conv::quantize_weights(w, b, cin, cout);
  for (int co = 0; co < cout; ++co)
    for (int ci = 0; ci < cin; ++ci) REQUIRE(std::abs(qw.q[static_cast<std::size_t>(co) * cin + ci]) == 127);
  OwnedTensor in(2, 3, cin), out(2, 3, cout);
  for (int p = 0; p < 6; ++p)
    for (int ci = 0; ci < in.view.stride; ++ci) {
      const bool neg = p % 2 == 0 ? ((ci * 7) % 5 < 2) : p % 3 == 0;
      in.view.data[p * in.view.stride + ci] = ci < cin ? (neg ? -3.0f : 3.0f) : kPadSentinel;
    }
  kernels::pointwise_conv_int8<act::Identity>(in.view, view_of(qw), out.view, RowRange{0, 2});
  check_against_oracle<act::Identity>(in.view, qw, out.view, nullptr, "all codes +-127");
  // Pixel 0 against output channel 0 (same pattern): the largest positive sum, exactly.
  const float expected = rnd(rnd(12387072.0f * rnd(rnd(3.0f / 127.0f) * qw.weight_scale[0])) + 0.25f);
  CHECK(bits(out.view.data[0]) == bits(expected));
}

TEST_CASE("pointwise_conv_int8_quantized: codes past cin may hold anything") {
  std::uint64_t salt = 9000;
  for (int cin : {1, 3, 5, 17, 63})
    for (int cout : {7, 40}) {
      auto g = rng(salt++);
      const int np = 13, padded = padded_channels(cin), pitch = padded + 16;
      OwnedTensor in = random_tensor(g, 1, np, cin, -2.0f, 2.0f);
      const Int8ConvWeights w = random_weights(g, cin, cout);
      OwnedTensor res = random_tensor(g, 1, np, cout);
      OwnedTensor out(1, np, cout);
      std::vector<Int8ActivationCode> codes(static_cast<std::size_t>(np) * pitch);
      std::vector<float> scale(np);
      for (int p = 0; p < np; ++p) {
        scale[p] = kernels::quantize_pixel<Int8ActivationCode>(in.view.pixel(0, p), cin, codes.data() + p * pitch);
        for (int c = cin; c < pitch; ++c)  // garbage: any value of the code type
          codes[static_cast<std::size_t>(p) * pitch + c] = static_cast<Int8ActivationCode>(g());
      }
      kernels::pointwise_conv_int8_quantized<act::HardSwish>(QuantizedPixels{codes.data(), pitch, scale.data(), np},
                                                             view_of(w), out.view.data, out.view.stride, res.view.data);
      check_against_oracle<act::HardSwish>(in.view, w, out.view, res.view.data,
                                           "garbage pad codes c" + std::to_string(cin) + "x" + std::to_string(cout));
    }
}

// Microbenchmarks of the non-conv kernels at every shape Tiny and Base use at 512 x 512
// (from bench/layer_shapes.hpp, deduplicated), plus the to-labels tail: low-res argmax and
// the fused upsample + argmax for K = 150 (exact) and n = 15 (VIM), from 32 x 32 and
// 64 x 64 logits to 512 x 512.
//
// Counters (rates): FLOP/s where the work is arithmetic, elements/s for the argmax tails
// (class values a materialised tail would produce, K x H x W), and bytes/s = the minimum
// bytes moved (inputs read once, outputs written once). Buffers stay hot in cache: in the
// network each of these ops reads what the layer before it just wrote.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "layer_shapes.hpp"
#include "pms/kernels/argmax.hpp"
#include "pms/kernels/axial_attention.hpp"
#include "pms/kernels/eltwise.hpp"
#include "pms/kernels/resize.hpp"
#include "pms/kernels/squeeze_excite.hpp"
#include "pms/kernels/upsample_argmax.hpp"

namespace {

using namespace pms;
namespace k = pms::kernels;

using pms::bench::Floats;
using pms::bench::random_floats;

void set_rates(benchmark::State& state, double flop, double bytes) {
  const auto it = static_cast<double>(state.iterations());
  if (flop > 0) state.counters["FLOP/s"] = benchmark::Counter(flop * it, benchmark::Counter::kIsRate);
  state.counters["bytes/s"] = benchmark::Counter(bytes * it, benchmark::Counter::kIsRate);
}

std::string hw(int h, int w) { return "h" + std::to_string(h) + "w" + std::to_string(w); }

// Shortest decimal of a float ("0.5").
std::string decimal(float v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// ---- squeeze-excite --------------------------------------------------------------------

// The network's path: per-row channel sums (the blocks take them as they write each
// depthwise row), then the gate from the row sums.
void bench_se(benchmark::State& state, int h, int w, int c, int s) {
  const auto x = random_floats(tensor_floats(h, w, c), 1, 0.0f, 2.0f);
  const auto w1 = random_floats(static_cast<std::size_t>(c) * padded_channels(s), 2, -0.1f, 0.1f);
  const auto b1 = random_floats(padded_channels(s), 3);
  const auto w2 = random_floats(static_cast<std::size_t>(s) * padded_channels(c), 4, -0.1f, 0.1f);
  const auto b2 = random_floats(padded_channels(c), 5);
  const auto gate = random_floats(padded_channels(c), 6);
  const auto scratch = random_floats(k::squeeze_excite_scratch_floats(c, s), 7);
  const auto row_sums = random_floats(static_cast<std::size_t>(h) * padded_channels(c), 8);
  const k::SqueezeExciteWeights wts{w1.get(), b1.get(), w2.get(), b2.get(), c, s};
  const ConstTensorView in{x.get(), h, w, c, padded_channels(c)};
  for (auto _ : state) {
    k::row_channel_sums(in, in.all_rows(), row_sums.get());
    k::squeeze_excite_gate_from_row_sums(row_sums.get(), h, w, wts, gate.get(), scratch.get());
    benchmark::DoNotOptimize(gate.get());
    benchmark::ClobberMemory();
  }
  const double flop = double(h) * w * c + 4.0 * c * s;
  // The tensor, the row sums written and read back, the FC weights.
  const double bytes = 4.0 * (double(h) * w * padded_channels(c) + 2.0 * h * padded_channels(c) +
                              double(c + s) * (padded_channels(s) + padded_channels(c)));
  set_rates(state, flop, bytes);
}

// ---- axial attention: squeeze means + positional add + attention, one direction ----------

void bench_axial(benchmark::State& state, int h, int w, bool along_width, int heads, int kd, int d) {
  const int qk = heads * kd, dh = heads * d, cqkv = 2 * qk + dh;
  const int n = along_width ? h : w;
  const auto qkv = random_floats(tensor_floats(h, w, cqkv), 11);
  const auto means = random_floats(static_cast<std::size_t>(n) * padded_channels(cqkv), 12);
  const auto table = random_floats(static_cast<std::size_t>(qk) * 16, 13);
  const auto pos_q = random_floats(static_cast<std::size_t>(n) * padded_channels(qk), 14);
  const auto pos_k = random_floats(static_cast<std::size_t>(n) * padded_channels(qk), 15);
  k::resize_pos_table(table.get(), qk, n, pos_q.get());  // once per input size in the network
  k::resize_pos_table(table.get(), qk, n, pos_k.get());
  const auto out = random_floats(static_cast<std::size_t>(n) * padded_channels(dh), 16);
  const auto scratch = random_floats(k::axial_attention_scratch_floats(n, kd), 17);
  const ConstTensorView in{qkv.get(), h, w, cqkv, padded_channels(cqkv)};
  // As layers/sea_block.hpp calls it: q, k, v are the [q | k | v] means of the merged tensor.
  const int means_stride = padded_channels(cqkv);
  const k::AxialAttentionInputs inputs{means.get(),          means_stride, means.get() + qk, means_stride,
                                       means.get() + 2 * qk, means_stride, pos_q.get(),      pos_k.get(),
                                       padded_channels(qk)};
  for (auto _ : state) {
    if (along_width)
      k::mean_over_width(in, means.get(), means_stride);
    else
      k::mean_over_height(in, means.get(), means_stride);
    k::axial_attention(inputs, k::AxialAttentionShape{n, heads, kd, d}, out.get(), padded_channels(dh), scratch.get());
    benchmark::DoNotOptimize(out.get());
    benchmark::ClobberMemory();
  }
  const double flop = double(h) * w * cqkv + 2.0 * n * n * heads * (kd + d) + 2.0 * n * qk;
  const double bytes = 4.0 * (double(h) * w * padded_channels(cqkv) + double(n) * padded_channels(dh));
  set_rates(state, flop, bytes);
}

// s = relu6(v + (row + col)) over the strided grid; v is the slice of qkv.
void bench_add_row_col(benchmark::State& state, int h, int w, int qk, int dh) {
  const int cqkv = 2 * qk + dh;
  const auto qkv = random_floats(tensor_floats(h, w, cqkv), 21);
  const auto row = random_floats(tensor_floats(h, 1, dh), 22);
  const auto col = random_floats(tensor_floats(1, w, dh), 23);
  const auto out = random_floats(tensor_floats(h, w, dh), 24);
  const ConstTensorView v{qkv.get() + 2 * qk, h, w, dh, padded_channels(cqkv)};
  const TensorView o{out.get(), h, w, dh, padded_channels(dh)};
  for (auto _ : state) {
    k::add_row_col<act::ReLU6>(v, row.get(), padded_channels(dh), col.get(), padded_channels(dh), o, o.all_rows());
    benchmark::DoNotOptimize(out.get());
    benchmark::ClobberMemory();
  }
  set_rates(state, 4.0 * h * w * dh, 4.0 * 2.0 * h * w * padded_channels(dh));
}

// ---- resize ------------------------------------------------------------------------------

// mode: a size target (the SEA blocks' upsample) or a scale factor (Tiny's AAM halves x8).
template <class Combine>
void bench_resize(benchmark::State& state, int ih, int iw, int oh, int ow, int c, k::ResizeMode mode) {
  const auto in = random_floats(tensor_floats(ih, iw, c), 31);
  const auto out = random_floats(tensor_floats(oh, ow, c), 32);
  const ConstTensorView i{in.get(), ih, iw, c, padded_channels(c)};
  const TensorView o{out.get(), oh, ow, c, padded_channels(c)};
  for (auto _ : state) {
    k::resize_bilinear<Combine>(i, o, mode, o.all_rows());
    benchmark::DoNotOptimize(out.get());
    benchmark::ClobberMemory();
  }
  const bool acc = std::is_same_v<Combine, k::Accumulate>;
  const double flop = (11.0 + (acc ? 1.0 : 0.0)) * oh * ow * c;  // 8 mul + 3 add per value (+ the accumulate)
  const double bytes = 4.0 * padded_channels(c) * (double(ih) * iw + (acc ? 2.0 : 1.0) * oh * ow);
  set_rates(state, flop, bytes);
}

// ---- the to-labels tail -------------------------------------------------------------------

enum class Field { random, segments };

// Low-res logits: uniform noise (the worst case for upsample_argmax's pruning: ~90 of 150
// classes survive per cell), or ~12 regions each won by one class, plus noise (what a
// trained network gives: most cells have one candidate).
Floats make_logits(int h, int w, int kc, Field field, std::uint64_t seed) {
  Floats t = random_floats(tensor_floats(h, w, kc), seed);
  if (field == Field::segments) {
    std::mt19937_64 g(seed + 1);
    std::uniform_real_distribution<float> uy(0.0f, float(h)), ux(0.0f, float(w));
    std::uniform_int_distribution<int> cls(0, kc - 1);
    struct Seed {
      float y, x;
      int c;
    };
    std::vector<Seed> seeds;
    for (int i = 0; i < 12; ++i) seeds.push_back({uy(g), ux(g), cls(g)});
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        float best = 1e30f;
        int c = 0;
        for (const Seed& s : seeds) {
          const float dd = (s.y - y) * (s.y - y) + (s.x - x) * (s.x - x);
          if (dd < best) best = dd, c = s.c;
        }
        t[(static_cast<std::size_t>(y) * w + x) * padded_channels(kc) + c] += 6.0f;
      }
  }
  return t;
}

void bench_argmax(benchmark::State& state, int h, int w, int kc) {
  const auto logits = make_logits(h, w, kc, Field::random, 51);
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(h) * w);
  const ConstTensorView in{logits.get(), h, w, kc, padded_channels(kc)};
  for (auto _ : state) {
    k::argmax_channels<std::uint8_t>(in, labels.data(), w, in.all_rows());
    benchmark::DoNotOptimize(labels.data());
    benchmark::ClobberMemory();
  }
  state.counters["elements/s"] = benchmark::Counter(double(h) * w * kc * state.iterations(), benchmark::Counter::kIsRate);
  set_rates(state, 0, (4.0 * padded_channels(kc) + 1.0) * h * w);
}

// labels (int32, the export's type) of the (out x out) image from (in x in) logits of kc
// classes; class_ids set for the VIM case.
void bench_upsample_argmax(benchmark::State& state, int in, int out, int kc, Field field, bool vim) {
  const auto logits = make_logits(in, in, kc, field, 61);
  std::vector<std::int32_t> ids(kc);
  for (int c = 0; c < kc; ++c) ids[c] = 10 * c;
  std::vector<std::int32_t> labels(static_cast<std::size_t>(out) * out);
  const auto scratch = random_floats(k::upsample_argmax_scratch_floats(kc, in, out), 62);
  const ConstTensorView l{logits.get(), in, in, kc, padded_channels(kc)};
  for (auto _ : state) {
    k::upsample_argmax<std::int32_t>(l, out, out, labels.data(), out, {0, out}, scratch.get(), vim ? ids.data() : nullptr);
    benchmark::DoNotOptimize(labels.data());
    benchmark::ClobberMemory();
  }
  state.counters["elements/s"] = benchmark::Counter(double(out) * out * kc * state.iterations(), benchmark::Counter::kIsRate);
  set_rates(state, 0, 4.0 * (double(in) * in * padded_channels(kc) + double(out) * out));
}

// The unfused exact tail for comparison: resize all classes to (out x out), then argmax.
void bench_unfused_tail(benchmark::State& state, int in, int out, int kc) {
  const auto logits = make_logits(in, in, kc, Field::random, 71);
  const auto full = random_floats(tensor_floats(out, out, kc), 72);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(out) * out);
  const ConstTensorView l{logits.get(), in, in, kc, padded_channels(kc)};
  const TensorView f{full.get(), out, out, kc, padded_channels(kc)};
  for (auto _ : state) {
    k::resize_bilinear(l, f, k::ResizeMode::to_size(), f.all_rows());
    k::argmax_channels<std::int32_t>(f, labels.data(), out, f.all_rows());
    benchmark::DoNotOptimize(labels.data());
    benchmark::ClobberMemory();
  }
  state.counters["elements/s"] = benchmark::Counter(double(out) * out * kc * state.iterations(), benchmark::Counter::kIsRate);
  set_rates(state, 0, 4.0 * (double(in) * in + 2.0 * double(out) * out) * padded_channels(kc) + 4.0 * out * out);
}

// ---- registration -----------------------------------------------------------------------

template <class V>
void add_variant(std::map<std::string, std::string>& seen, std::vector<std::pair<std::string, std::function<void(benchmark::State&)>>>& out) {
  for (const bench::LayerShape& s : bench::layer_shapes<V>(512, 512, 150)) {
    std::string name;
    std::function<void(benchmark::State&)> fn;
    switch (s.kind) {
      case bench::LayerKind::squeeze_excite:
        name = "se/c" + std::to_string(s.cin) + "s" + std::to_string(s.cout) + "/" + hw(s.in_h, s.in_w);
        fn = [s](benchmark::State& st) { bench_se(st, s.in_h, s.in_w, s.cin, s.cout); };
        break;
      case bench::LayerKind::axial_attention: {
        const bool row = s.name.find("[row]") != std::string::npos;
        const std::string head = "h" + std::to_string(s.heads) + "kd" + std::to_string(s.key_dim) + "d" + std::to_string(s.value_dim);
        // layer_shapes gives the column branch as (W, H); the kernel reads the (H, W) qkv.
        const int h = row ? s.in_h : s.in_w, w = row ? s.in_w : s.in_h;
        name = std::string("axial/") + (row ? "row" : "column") + "/" + head + "/" + hw(h, w);
        fn = [s, row, h, w](benchmark::State& st) { bench_axial(st, h, w, row, s.heads, s.key_dim, s.value_dim); };
        if (row && !seen.count("add_row_col" + head + hw(h, w))) {
          seen["add_row_col" + head + hw(h, w)] = s.name;
          out.push_back({"add_row_col_relu6/c" + std::to_string(s.cout) + "/" + hw(h, w),
                         [s, h, w](benchmark::State& st) { bench_add_row_col(st, h, w, s.cin, s.cout); }});
        }
        break;
      }
      case bench::LayerKind::resize: {
        const bool acc = s.name.find("attn[upsample]") != std::string::npos;
        const k::ResizeMode mode = s.scale > 0.0f ? k::ResizeMode::scale(s.scale) : k::ResizeMode::to_size();
        name = std::string("resize/") + (acc ? "accumulate" : "store") + (s.scale > 0.0f ? "/scale" + decimal(s.scale) : "") + "/c" +
               std::to_string(s.cin) + "/" + hw(s.in_h, s.in_w) + "->" + hw(s.out_h, s.out_w);
        if (acc)
          fn = [s, mode](benchmark::State& st) { bench_resize<k::Accumulate>(st, s.in_h, s.in_w, s.out_h, s.out_w, s.cin, mode); };
        else
          fn = [s, mode](benchmark::State& st) { bench_resize<k::Store>(st, s.in_h, s.in_w, s.out_h, s.out_w, s.cin, mode); };
        break;
      }
      default:
        continue;
    }
    if (seen.count(name)) continue;
    seen[name] = std::string(V::name) + " " + s.name;
    out.push_back({name, fn});
  }
}

const bool registered = [] {
  std::map<std::string, std::string> seen;
  std::vector<std::pair<std::string, std::function<void(benchmark::State&)>>> all;
  add_variant<Tiny>(seen, all);
  add_variant<Base>(seen, all);
  for (auto& [name, fn] : all) {
    const std::string label = seen.count(name) ? seen[name] : "";
    // fn = fn: an init-capture, since clang before 16 cannot capture a structured binding.
    benchmark::RegisterBenchmark(name.c_str(), [fn = fn, label](benchmark::State& st) {
      st.SetLabel(label);
      fn(st);
    })->Unit(benchmark::kMicrosecond);
  }
  for (int in : {32, 64}) {
    benchmark::RegisterBenchmark(("argmax/k150/" + hw(in, in)).c_str(),
                                 [in](benchmark::State& st) { bench_argmax(st, in, in, 150); })->Unit(benchmark::kMicrosecond);
    for (Field f : {Field::segments, Field::random}) {
      const char* fname = f == Field::random ? "random" : "segments";
      for (const auto& [kc, vim] : {std::pair<int, bool>{150, false}, std::pair<int, bool>{15, true}}) {
        const std::string name = std::string("upsample_argmax/") + (vim ? "vim_n15" : "k150") + "/" + hw(in, in) + "->" + hw(512, 512) +
                                 "/" + fname;
        benchmark::RegisterBenchmark(name.c_str(), [in, kc = kc, vim = vim, f](benchmark::State& st) {
          bench_upsample_argmax(st, in, 512, kc, f, vim);
        })->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::RegisterBenchmark("unfused_tail/resize+argmax/k150/h32w32->h512w512",
                               [](benchmark::State& st) { bench_unfused_tail(st, 32, 512, 150); })->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace

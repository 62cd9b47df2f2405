// Microbenchmarks of the conv kernels (pointwise, depthwise, stem) at every layer shape of
// Tiny and Base at 512 x 512 with 150 classes, enumerated from bench/layer_shapes.hpp and
// deduplicated. Names: kernel/act/parameters/extent/first layer with that shape, e.g.
//   pointwise/hswish/c24x96/h128w128/backbone.smb2.blocks.0.expand_conv/hot
//   dwconv/k5s2/hswish/c96/h128w128/backbone.smb2.blocks.0.bottleneck_conv/hot
//
// Counters (rates): FLOP/s = 2 x the real MACs (cout unpadded; bias and activation not
// counted); bytes/s = input read once + output written once + weights read once, padded
// tensors as they lie in memory.
//
// Two variants per shape:
//   /hot  the same buffers every iteration: the kernel's own speed with its working set in
//         cache as far as it fits (the input of a layer is what the layer before just wrote);
//   /cold input, weights and output rotate through copies totalling >= 64 MiB (past the
//         32 MiB L3), so every iteration starts from DRAM: what a layer-at-a-time schedule
//         sees for weights, which no layer before has touched (Base has 23.6 MB of them).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "bench_support.hpp"
#include "layer_shapes.hpp"
#include "pms/kernels/depthwise_conv.hpp"
#include "pms/kernels/pointwise_conv.hpp"
#include "pms/kernels/stem_conv.hpp"

namespace {

using namespace pms;
namespace k = pms::kernels;
using pms::bench::LayerKind;
using pms::bench::LayerShape;

using pms::bench::Floats;
using pms::bench::random_floats;

constexpr std::size_t kColdBytes = std::size_t{64} << 20;

// Copies of a working set of `bytes` to rotate through: 1 when hot.
int copies_for(std::size_t bytes, bool cold) {
  return cold ? static_cast<int>(std::max<std::size_t>(1, (kColdBytes + bytes - 1) / bytes)) : 1;
}

void set_rates(benchmark::State& state, double flop, double bytes) {
  const auto it = static_cast<double>(state.iterations());
  state.counters["FLOP/s"] = benchmark::Counter(flop * it, benchmark::Counter::kIsRate);
  state.counters["bytes/s"] = benchmark::Counter(bytes * it, benchmark::Counter::kIsRate);
}

std::string hw(int h, int w) { return "h" + std::to_string(h) + "w" + std::to_string(w); }

// ---- pointwise ---------------------------------------------------------------------------

template <class Act, class InputAct>
void bench_pointwise(benchmark::State& state, int h, int w, int cin, int cout, bool cold) {
  const std::size_t in_f = tensor_floats(h, w, cin), out_f = tensor_floats(h, w, cout);
  const std::size_t w_f = static_cast<std::size_t>(cin) * padded_channels(cout);
  const int n = copies_for(4 * (in_f + out_f + w_f), cold);
  std::vector<Floats> in, out, wt;
  for (int i = 0; i < n; ++i) {
    in.push_back(random_floats(in_f, 1 + i));
    out.push_back(random_floats(out_f, 2));
    wt.push_back(random_floats(w_f, 3 + i, -0.1f, 0.1f));
  }
  const auto bias = random_floats(padded_channels(cout), 4);
  int i = 0;
  for (auto _ : state) {
    const k::PointwiseWeights pw{wt[i].get(), bias.get(), cin, cout};
    k::pointwise_conv<Act, InputAct>(ConstTensorView{in[i].get(), h, w, cin, padded_channels(cin)}, pw,
                                     make_tensor(out[i].get(), h, w, cout), RowRange{0, h});
    benchmark::DoNotOptimize(out[i].get());
    benchmark::ClobberMemory();
    i = i + 1 == n ? 0 : i + 1;
  }
  set_rates(state, 2.0 * h * w * cin * cout, 4.0 * (in_f + out_f + w_f + padded_channels(cout)));
}

template <class InputAct>
auto pointwise_fn(const std::string& act) -> void (*)(benchmark::State&, int, int, int, int, bool) {
  if (act == "relu") return bench_pointwise<act::ReLU, InputAct>;
  if (act == "relu6") return bench_pointwise<act::ReLU6, InputAct>;
  if (act == "hswish") return bench_pointwise<act::HardSwish, InputAct>;
  if (act == "hsigmoid") return bench_pointwise<act::HSigmoid, InputAct>;
  if (act == "sigmoid") return bench_pointwise<act::Sigmoid, InputAct>;
  return bench_pointwise<act::Identity, InputAct>;
}

// ---- depthwise ---------------------------------------------------------------------------

template <int K, int S, class Act>
void bench_depthwise(benchmark::State& state, int h, int w, int c, bool cold) {
  const int oh = (h + S - 1) / S, ow = (w + S - 1) / S;
  const std::size_t in_f = tensor_floats(h, w, c), out_f = tensor_floats(oh, ow, c);
  const std::size_t w_f = static_cast<std::size_t>(K) * K * padded_channels(c);
  const int n = copies_for(4 * (in_f + out_f + w_f), cold);
  std::vector<Floats> in, out, wt;
  for (int i = 0; i < n; ++i) {
    in.push_back(random_floats(in_f, 1 + i));
    out.push_back(random_floats(out_f, 2));
    wt.push_back(random_floats(w_f, 3 + i));
  }
  const auto bias = random_floats(padded_channels(c), 4);
  int i = 0;
  for (auto _ : state) {
    const k::DepthwiseWeights dw{wt[i].get(), bias.get(), c};
    k::depthwise_conv<K, S, Act>(ConstTensorView{in[i].get(), h, w, c, padded_channels(c)}, dw,
                                 make_tensor(out[i].get(), oh, ow, c), RowRange{0, oh});
    benchmark::DoNotOptimize(out[i].get());
    benchmark::ClobberMemory();
    i = i + 1 == n ? 0 : i + 1;
  }
  set_rates(state, 2.0 * oh * ow * c * K * K, 4.0 * (in_f + out_f + w_f + padded_channels(c)));
}

template <int K, int S>
auto depthwise_fn_act(const std::string& act) -> void (*)(benchmark::State&, int, int, int, bool) {
  if (act == "relu") return bench_depthwise<K, S, act::ReLU>;
  if (act == "relu6") return bench_depthwise<K, S, act::ReLU6>;
  if (act == "hswish") return bench_depthwise<K, S, act::HardSwish>;
  return bench_depthwise<K, S, act::Identity>;
}

auto depthwise_fn(int kernel, int stride, const std::string& act) -> void (*)(benchmark::State&, int, int, int, bool) {
  if (kernel == 1) return depthwise_fn_act<1, 1>(act);
  if (kernel == 3) return stride == 1 ? depthwise_fn_act<3, 1>(act) : depthwise_fn_act<3, 2>(act);
  return stride == 1 ? depthwise_fn_act<5, 1>(act) : depthwise_fn_act<5, 2>(act);
}

// ---- stem --------------------------------------------------------------------------------

void bench_stem(benchmark::State& state, int h, int w, bool cold) {
  const int oh = (h + 1) / 2, ow = (w + 1) / 2;
  const std::size_t img_bytes = static_cast<std::size_t>(h) * w * 3, out_f = tensor_floats(oh, ow, 16);
  const int n = copies_for(img_bytes + 4 * out_f, cold);
  std::vector<std::vector<std::uint8_t>> img;
  std::vector<Floats> out;
  std::mt19937_64 g(5);
  for (int i = 0; i < n; ++i) {
    img.emplace_back(img_bytes);
    for (auto& p : img.back()) p = static_cast<std::uint8_t>(g());
    out.push_back(random_floats(out_f, 2));
  }
  const auto wt = random_floats(27 * 16, 3), bias = random_floats(16, 4);
  const k::StemWeights sw{wt.get(), bias.get()};
  int i = 0;
  for (auto _ : state) {
    const ImageView image{img[i].data(), h, w, static_cast<std::ptrdiff_t>(w) * 3, PixelFormat::rgb};
    k::stem_conv<act::HardSwish>(image, Normalization{}, sw, make_tensor(out[i].get(), oh, ow, 16), RowRange{0, oh});
    benchmark::DoNotOptimize(out[i].get());
    benchmark::ClobberMemory();
    i = i + 1 == n ? 0 : i + 1;
  }
  set_rates(state, 2.0 * oh * ow * 16 * 27, static_cast<double>(img_bytes) + 4.0 * (out_f + 27 * 16 + 16));
}

// ---- registration ------------------------------------------------------------------------

// The SEA projections that take ReLU6 on their input (cost_map.md: "relu6 on input").
bool relu6_on_input(const std::string& name) {
  return name.find("proj_encode") != std::string::npos || name.find("attn.proj.") != std::string::npos;
}

void register_all() {
  std::vector<LayerShape> layers = pms::bench::layer_shapes<pms::Tiny>(512, 512, 150);
  for (const LayerShape& s : pms::bench::layer_shapes<pms::Base>(512, 512, 150)) layers.push_back(s);
  std::set<std::tuple<int, std::string, int, int, int, int, int, int, bool>> seen;
  for (const LayerShape& s : layers) {
    if (s.kind != LayerKind::pointwise && s.kind != LayerKind::depthwise && s.kind != LayerKind::stem) continue;
    const bool in_relu6 = s.kind == LayerKind::pointwise && relu6_on_input(s.name);
    if (!seen.insert({static_cast<int>(s.kind), s.act, s.in_h, s.in_w, s.cin, s.cout, s.kernel, s.stride, in_relu6}).second)
      continue;
    for (bool cold : {false, true}) {
      const std::string suffix = std::string("/") + s.name + (cold ? "/cold" : "/hot");
      if (s.kind == LayerKind::pointwise) {
        const auto fn = in_relu6 ? pointwise_fn<act::ReLU6>(s.act) : pointwise_fn<act::Identity>(s.act);
        const std::string name = "pointwise/" + s.act + (in_relu6 ? "/in-relu6" : "") + "/c" + std::to_string(s.cin) +
                                 "x" + std::to_string(s.cout) + "/" + hw(s.in_h, s.in_w) + suffix;
        benchmark::RegisterBenchmark(name.c_str(), fn, s.in_h, s.in_w, s.cin, s.cout, cold)->Unit(benchmark::kMicrosecond);
      } else if (s.kind == LayerKind::depthwise) {
        const std::string name = "dwconv/k" + std::to_string(s.kernel) + "s" + std::to_string(s.stride) + "/" + s.act +
                                 "/c" + std::to_string(s.cin) + "/" + hw(s.in_h, s.in_w) + suffix;
        benchmark::RegisterBenchmark(name.c_str(), depthwise_fn(s.kernel, s.stride, s.act), s.in_h, s.in_w, s.cin, cold)
            ->Unit(benchmark::kMicrosecond);
      } else {
        const std::string name = "stem/k3s2/" + s.act + "/rgb/c3x16/" + hw(s.in_h, s.in_w) + suffix;
        benchmark::RegisterBenchmark(name.c_str(), bench_stem, s.in_h, s.in_w, cold)->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

const int registered = (register_all(), 0);

}  // namespace

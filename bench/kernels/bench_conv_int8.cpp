// Microbenchmarks of the int8 pointwise conv (pms/kernels/pointwise_conv_int8.hpp) at every
// pointwise layer shape of Tiny and Base at 512 x 512 with 150 classes (bench/layer_shapes.hpp,
// deduplicated as bench_conv.cpp does), named like the fp32 ones with `pointwise_int8` in
// place of `pointwise`, so one filter runs both side by side:
//   --benchmark_filter='^pointwise(_int8)?/.*/hot$'
//
// Counters (rates): OP/s = 2 x the real multiply-adds (cout unpadded; quantization, bias and
// activation not counted), the same count as the fp32 benchmark's FLOP/s; bytes/s = fp32
// input read once + fp32 output written once + the int8 weights and their three f32/i32
// vectors. /hot and /cold as in bench_conv.cpp. The dot-product path (int8_dot.hpp) is in
// the label.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "bench_support.hpp"
#include "layer_shapes.hpp"
#include "pms/kernels/pointwise_conv_int8.hpp"

namespace {

using namespace pms;
namespace k = pms::kernels;
using pms::bench::Floats;
using pms::bench::LayerKind;
using pms::bench::LayerShape;
using pms::bench::random_floats;

constexpr std::size_t kColdBytes = std::size_t{64} << 20;

// The tensors of one int8 conv (FORMAT.md 7.2) with random codes in [-127, 127] (0 in the
// pad rows and lanes) and plausible scales.
struct Int8Tensors {
  std::vector<std::int8_t> q;
  std::vector<float> scale, bias;
  std::vector<std::int32_t> sum;
  Int8Tensors(int cin, int cout, std::uint64_t seed) {
    const int groups = (cin + 3) / 4, p = padded_channels(cout);
    q.assign(static_cast<std::size_t>(groups) * p * 4, 0);
    scale.assign(p, 0.0f), bias.assign(p, 0.0f), sum.assign(p, 0);
    std::mt19937_64 g(seed);
    std::uniform_int_distribution<int> code(-127, 127);
    for (int ci = 0; ci < cin; ++ci)
      for (int co = 0; co < cout; ++co) {
        const int v = code(g);
        q[(static_cast<std::size_t>(ci / 4) * p + co) * 4 + ci % 4] = static_cast<std::int8_t>(v);
        sum[co] += v;
      }
    for (int co = 0; co < cout; ++co) scale[co] = 1e-3f, bias[co] = 0.01f * static_cast<float>(co % 7);
  }
  k::PointwiseInt8Weights view(int cin, int cout) const { return {q.data(), scale.data(), sum.data(), bias.data(), cin, cout}; }
  std::size_t bytes() const { return q.size() + 4 * (scale.size() + bias.size() + sum.size()); }
};

template <class Act, class InputAct>
void bench_pointwise_int8(benchmark::State& state, int h, int w, int cin, int cout, bool cold) {
  const std::size_t in_f = tensor_floats(h, w, cin), out_f = tensor_floats(h, w, cout);
  const Int8Tensors probe(cin, cout, 3);
  const std::size_t set_bytes = 4 * (in_f + out_f) + probe.bytes();
  const int n = cold ? static_cast<int>(std::max<std::size_t>(1, (kColdBytes + set_bytes - 1) / set_bytes)) : 1;
  std::vector<Floats> in, out;
  std::vector<Int8Tensors> wt;
  for (int i = 0; i < n; ++i) {
    in.push_back(random_floats(in_f, 1 + i));
    out.push_back(random_floats(out_f, 2));
    wt.emplace_back(cin, cout, 3 + i);
  }
  int i = 0;
  for (auto _ : state) {
    k::pointwise_conv_int8<Act, InputAct>(ConstTensorView{in[i].get(), h, w, cin, padded_channels(cin)}, wt[i].view(cin, cout),
                                          make_tensor(out[i].get(), h, w, cout), RowRange{0, h});
    benchmark::DoNotOptimize(out[i].get());
    benchmark::ClobberMemory();
    i = i + 1 == n ? 0 : i + 1;
  }
  const auto it = static_cast<double>(state.iterations());
  state.counters["OP/s"] = benchmark::Counter(2.0 * h * w * cin * cout * it, benchmark::Counter::kIsRate);
  state.counters["bytes/s"] = benchmark::Counter(static_cast<double>(set_bytes) * it, benchmark::Counter::kIsRate);
  state.SetLabel(k::int8_dot::path_name());
}

template <class InputAct>
auto pointwise_int8_fn(const std::string& act) -> void (*)(benchmark::State&, int, int, int, int, bool) {
  if (act == "relu") return bench_pointwise_int8<act::ReLU, InputAct>;
  if (act == "relu6") return bench_pointwise_int8<act::ReLU6, InputAct>;
  if (act == "hswish") return bench_pointwise_int8<act::HardSwish, InputAct>;
  if (act == "hsigmoid") return bench_pointwise_int8<act::HSigmoid, InputAct>;
  if (act == "sigmoid") return bench_pointwise_int8<act::Sigmoid, InputAct>;
  return bench_pointwise_int8<act::Identity, InputAct>;
}

// The SEA projections that take ReLU6 on their input (as bench_conv.cpp).
bool relu6_on_input(const std::string& name) {
  return name.find("proj_encode") != std::string::npos || name.find("attn.proj.") != std::string::npos;
}

std::string hw(int h, int w) { return "h" + std::to_string(h) + "w" + std::to_string(w); }

void register_all() {
  std::vector<LayerShape> layers = pms::bench::layer_shapes<pms::Tiny>(512, 512, 150);
  for (const LayerShape& s : pms::bench::layer_shapes<pms::Base>(512, 512, 150)) layers.push_back(s);
  std::set<std::tuple<std::string, int, int, int, int, bool>> seen;
  for (const LayerShape& s : layers) {
    if (s.kind != LayerKind::pointwise) continue;
    const bool in_relu6 = relu6_on_input(s.name);
    if (!seen.insert({s.act, s.in_h, s.in_w, s.cin, s.cout, in_relu6}).second) continue;
    for (bool cold : {false, true}) {
      const auto fn = in_relu6 ? pointwise_int8_fn<act::ReLU6>(s.act) : pointwise_int8_fn<act::Identity>(s.act);
      const std::string name = "pointwise_int8/" + s.act + (in_relu6 ? "/in-relu6" : "") + "/c" + std::to_string(s.cin) +
                               "x" + std::to_string(s.cout) + "/" + hw(s.in_h, s.in_w) + "/" + s.name +
                               (cold ? "/cold" : "/hot");
      benchmark::RegisterBenchmark(name.c_str(), fn, s.in_h, s.in_w, s.cin, s.cout, cold)->Unit(benchmark::kMicrosecond);
    }
  }
}

const int registered = (register_all(), 0);

}  // namespace

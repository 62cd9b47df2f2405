// Whole-model and per-layer benchmarks of MobileSeg<Tiny> and <Base> at 512x512.
//
//   build/bench/bench_model [--benchmark_filter=...]
//
// Layers are reached through Network<V>::get<I>() and named by PaddleSeg module path
// (stage and block); each reports GFLOP/s from the MACs of bench/layer_shapes.hpp. The whole
// model runs the body (image -> low-res logits) and the full path to labels (VIM and exact).
// Weights: PMS_BENCH_WEIGHTS_TINY / _BASE (environment) or the compiled-in defaults: the
// random 150-class weights the test build generates, else the shipped CamVid (11-class) ones.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "layer_shapes.hpp"
#include "pms/core/page_buffer.hpp"
#include "pms/mobileseg.hpp"

namespace {

using namespace pms;

constexpr int kSide = 512;

template <class V>
const MobileSeg<V>* model() {
  static PageBuffer file = [] {  // weights and workspaces as the README recommends
    const char* env = std::getenv(std::is_same_v<V, Tiny> ? "PMS_BENCH_WEIGHTS_TINY" : "PMS_BENCH_WEIGHTS_BASE");
    const std::string path = env ? env : (std::is_same_v<V, Tiny> ? PMS_BENCH_TINY_WEIGHTS : PMS_BENCH_BASE_WEIGHTS);
    std::ifstream f(path, std::ios::binary);
    std::vector<char> raw((std::istreambuf_iterator<char>(f)), {});
    PageBuffer b(raw.size());
    if (b.allocated()) std::copy_n(reinterpret_cast<const std::byte*>(raw.data()), raw.size(), b.data());
    return b;
  }();
  static MobileSeg<V> m;
  static const bool ok = file.allocated() && m.load(file.span()) == Status::ok;
  return ok ? &m : nullptr;
}

std::vector<std::uint8_t> test_image(int h, int w) {
  std::mt19937 g(7);
  std::vector<std::uint8_t> img(static_cast<std::size_t>(h) * w * 3);
  for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<std::uint8_t>((i * 7 + (g() & 31)) & 255);
  return img;
}

double macs(const bench::LayerShape& s) {
  switch (s.kind) {
    case bench::LayerKind::stem:
      return double(conv_out_extent(s.in_h, 2)) * conv_out_extent(s.in_w, 2) * 27 * s.cout;
    case bench::LayerKind::pointwise: return double(s.in_h) * s.in_w * s.cin * s.cout;
    case bench::LayerKind::depthwise:
      return double(conv_out_extent(s.in_h, s.stride)) * conv_out_extent(s.in_w, s.stride) * s.cin * s.kernel * s.kernel;
    case bench::LayerKind::squeeze_excite: return 2.0 * s.cin * s.cout;
    case bench::LayerKind::axial_attention:
      return double(s.in_h) * s.in_h * s.heads * (s.key_dim + s.value_dim);  // q k^T and A v per head
    default: return 0;
  }
}

// MACs of all layer shapes whose name starts with `prefix`, times `repeat`.
template <class V>
double macs_of(const std::string& prefix, int repeat, int num_classes) {
  double total = 0;
  for (const auto& s : bench::layer_shapes<V>(kSide, kSide, num_classes))
    if (s.name.rfind(prefix, 0) == 0) total += macs(s);
  return total * repeat;
}

template <class V>
void set_flops(benchmark::State& state, double mac) {
  state.counters["FLOP/s"] = benchmark::Counter(2 * mac * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// One network layer, forward over random inputs of its real 512x512 shape.
template <class V, std::size_t I>
void bm_layer(benchmark::State& state) {
  const MobileSeg<V>* m = model<V>();
  if (m == nullptr) return state.SkipWithError("weights not found");
  const auto& net = m->network();
  const auto& layer = net.template get<I>();
  using L = std::remove_cvref_t<decltype(layer)>;
  const FeatureSizes s = Network<V>::sizes(kSide, kSide);
  const int k = m->num_classes();
  PageBuffer ws(MobileSeg<V>::workspace_size({kSide, kSide, k}));
  if (!ws.allocated()) return state.SkipWithError("out of memory");
  Arena arena(ws.data(), ws.size());
  Serial serial;
  RunContext<Serial> ctx{arena, serial, true};
  auto random = [&](int h, int w, int c) {
    TensorView t = arena.tensor(h, w, c);
    std::mt19937 g(static_cast<unsigned>(I));
    std::uniform_real_distribution<float> u(-1, 1);
    for (std::size_t i = 0; i < t.size(); ++i) t.data[i] = u(g);
    return t;
  };
  std::string prefix;
  int repeat = 1;
  double extra_macs = 0;
  if constexpr (I == 0) {
    const auto img = test_image(kSide, kSide);
    TensorView out = arena.tensor(s.stem_h, s.stem_w, V::stem_channels);
    const ImageView image{img.data(), kSide, kSide, kSide * 3, PixelFormat::rgb};
    for (auto _ : state) layer.forward(ctx, image, m->normalization(), out);
    prefix = "backbone.smb1.conv";
  } else if constexpr (requires { L::stage; }) {
    const int h = L::stage == 1 ? s.h16 : s.h32, w = L::stage == 1 ? s.w16 : s.w32;
    TensorView x = random(h, w, L::spec.dim);
    for (auto _ : state) layer.forward(ctx, x);  // x drifts; the work does not depend on values
    prefix = "backbone.trans" + std::to_string(L::stage) + ".";
    repeat = L::spec.depth;
  } else if constexpr (requires { L::spec.expand; }) {
    constexpr MV3BlockSpec b = L::spec;
    int h = s.stem_h, w = s.stem_w;
    for (const MV3BlockSpec& p : V::blocks) {
      if (p.stage == b.stage && p.index == b.index) break;
      h = conv_out_extent(h, p.stride), w = conv_out_extent(w, p.stride);
    }
    TensorView in = random(h, w, b.in);
    TensorView out = arena.tensor(L::out_extent(h), L::out_extent(w), b.out);
    for (auto _ : state) layer.forward(ctx, in, out);
    prefix = "backbone.smb" + std::to_string(b.stage) + ".blocks." + std::to_string(b.index) + ".";
  } else if constexpr (I == Network<V>::aam_index) {
    TensorView x8 = random(s.h8, s.w8, BackboneOutputs<V>::x8);
    TensorView x16 = random(s.h16, s.w16, BackboneOutputs<V>::x16);
    TensorView x32 = random(s.h32, s.w32, BackboneOutputs<V>::x32);
    TensorView logits = arena.tensor(s.logits_h, s.logits_w, k);
    for (auto _ : state) layer.forward(ctx, x8, x16, x32, net.template get<Network<V>::head_index>(), logits);
    prefix = "backbone.inj_module";
    extra_macs = macs_of<V>("decode_head.conv_seg", 1, k);  // the AAM runs the head's classifier
  } else {
    // The classifier on its own (in the network the AAM layer runs it on its row tiles).
    TensorView fused = random(s.logits_h, s.logits_w, V::aam_channels);
    TensorView logits = arena.tensor(s.logits_h, s.logits_w, k);
    for (auto _ : state) layer.classify(fused, logits);
    prefix = "decode_head.conv_seg";
  }
  state.SetLabel(prefix);
  set_flops<V>(state, macs_of<V>(prefix, repeat, k) + extra_macs);
}

template <class V, std::size_t... I>
void register_layers(std::index_sequence<I...>) {
  const char* v = V::name;
  (benchmark::RegisterBenchmark((std::string("layer/") + v + "/" + std::to_string(I)).c_str(), bm_layer<V, I>)
       ->Unit(benchmark::kMicrosecond),
   ...);
}

enum class Job { body, labels_vim, labels_exact };

template <class V>
void bm_model(benchmark::State& state, Job job, int threads) {
  const MobileSeg<V>* m = model<V>();
  if (m == nullptr) return state.SkipWithError("weights not found");
  const auto img = test_image(kSide, kSide);
  const ImageView image{img.data(), kSide, kSide, kSide * 3, PixelFormat::rgb};
  PageBuffer ws(m->workspace_size(kSide, kSide, threads));
  if (!ws.allocated()) return state.SkipWithError("out of memory");
  std::vector<std::uint8_t> labels(kSide * kSide);
  const LabelMap<std::uint8_t> out{labels.data(), kSide, kSide, kSide};
  ThreadPool pool(threads);
  SegmentInfo info;
  const SegmentOptions options{job == Job::labels_vim ? Upsampling::vim : Upsampling::exact};
  for (auto _ : state) {
    const Status s = job == Job::body ? m->logits(image, ws.span(), pool, info) : m->segment(image, ws.span(), out, pool, options, &info);
    if (s != Status::ok) return state.SkipWithError(describe(s));
  }
  double total = 0;
  for (const auto& s : bench::layer_shapes<V>(kSide, kSide, m->num_classes())) {
    const bool sea = s.name.find(".transformer_blocks.") != std::string::npos;
    total += macs(s) * (sea ? (s.name.find("trans1") != std::string::npos ? V::trans1.depth : V::trans2.depth) : 1);
  }
  set_flops<V>(state, total);
  state.counters["workspace_MB"] = static_cast<double>(ws.size()) / 1e6;
}

template <class V>
void register_model() {
  const std::string v = V::name;
  for (int threads : {1, 2}) {
    const std::string t = "/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(("model/" + v + "/body" + t).c_str(), bm_model<V>, Job::body, threads)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("model/" + v + "/labels_vim" + t).c_str(), bm_model<V>, Job::labels_vim, threads)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("model/" + v + "/labels_exact" + t).c_str(), bm_model<V>, Job::labels_exact, threads)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_model<Tiny>();
  register_model<Base>();
  register_layers<Tiny>(std::make_index_sequence<Network<Tiny>::layer_count>{});
  register_layers<Base>(std::make_index_sequence<Network<Base>::layer_count>{});
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}

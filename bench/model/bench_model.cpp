// Whole-model and per-layer benchmarks of MobileSeg<Tiny> and <Base> at 512x512, and the
// whole model of MobileSeg<Tiny, Int8> and <Base, Int8> ("tiny_int8", "base_int8").
//
//   build/bench/bench_model [--benchmark_filter=...]
//
// Layers are the network's named stages (each MV3 block on its own) on random inputs of the
// shapes the plan gives at 512x512, named by PaddleSeg module path; each reports GFLOP/s from
// the MACs of bench/layer_shapes.hpp. The whole
// model runs the body (image -> low-res logits) and the full path to labels (VIM and exact).
// Weights: PMS_BENCH_WEIGHTS_TINY / _BASE (environment) or the compiled-in defaults: the
// random 150-class weights the test build generates, else the shipped CamVid (11-class) ones.
// Int8: PMS_BENCH_WEIGHTS_TINY_INT8 / _BASE_INT8, else the shipped int8 CamVid files (11
// classes: compare them with the fp32 CamVid files, PMS_BENCH_WEIGHTS_TINY=weights/...).
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
#include "pms/core/thread_pool.hpp"
#include "pms/mobileseg.hpp"

namespace {

using namespace pms;

constexpr int kSide = 512;

template <class V, class P = Fp32>
const MobileSeg<V, P>* model() {
  static PageBuffer file = [] {  // weights and workspaces as the README recommends
    constexpr bool tiny = std::is_same_v<V, Tiny>, int8 = std::is_same_v<P, Int8>;
    const char* env = std::getenv(int8 ? (tiny ? "PMS_BENCH_WEIGHTS_TINY_INT8" : "PMS_BENCH_WEIGHTS_BASE_INT8")
                                       : (tiny ? "PMS_BENCH_WEIGHTS_TINY" : "PMS_BENCH_WEIGHTS_BASE"));
    const std::string path = env    ? env
                             : int8 ? std::string(PMS_SOURCE_DIR "/weights/pp_mobileseg_") + V::name + "_camvid_int8.pms"
                             : tiny ? PMS_BENCH_TINY_WEIGHTS
                                    : PMS_BENCH_BASE_WEIGHTS;
    std::ifstream f(path, std::ios::binary);
    std::vector<char> raw((std::istreambuf_iterator<char>(f)), {});
    PageBuffer b(raw.size());
    if (b.allocated()) std::copy_n(reinterpret_cast<const std::byte*>(raw.data()), raw.size(), b.data());
    return b;
  }();
  static MobileSeg<V, P> m;
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

// The network's MV3 stage number Stage (1-4) and its plan.
template <class V, int Stage>
const auto& member_stage(const Network<V>& n) {
  if constexpr (Stage == 1) return n.smb1;
  else if constexpr (Stage == 2) return n.smb2;
  else if constexpr (Stage == 3) return n.smb3;
  else return n.smb4;
}
template <class V, int Stage>
const auto& plan_stage(const Plan<V>& p) {
  if constexpr (Stage == 1) return p.smb1;
  else if constexpr (Stage == 2) return p.smb2;
  else if constexpr (Stage == 3) return p.smb3;
  else return p.smb4;
}

// What a layer benchmark runs on: the model, a workspace arena and random tensors.
template <class V>
struct LayerBench {
  const MobileSeg<V>* m = model<V>();
  Plan<V> plan = make_plan<V>(kSide, kSide, m != nullptr ? m->num_classes() : 1);
  PageBuffer ws{MobileSeg<V>::workspace_size({kSide, kSide, plan.logits.channels})};
  Arena arena{ws.data(), ws.size()};
  Serial serial;
  RunContext<Serial> ctx{arena, serial, true};

  bool ready(benchmark::State& state) {
    if (m == nullptr) return state.SkipWithError("weights not found"), false;
    if (!ws.allocated()) return state.SkipWithError("out of memory"), false;
    return true;
  }
  TensorView random(Shape s) {
    TensorView t = arena.tensor(s.height, s.width, s.channels);
    std::mt19937 g(7);
    std::uniform_real_distribution<float> u(-1, 1);
    for (std::size_t i = 0; i < t.size(); ++i) t.data[i] = u(g);
    return t;
  }
  // Reports GFLOP/s from the MACs of the layer shapes named `prefix`, counted `repeat` times.
  void report(benchmark::State& state, const std::string& prefix, int repeat = 1, double extra_macs = 0) {
    state.SetLabel(prefix);
    set_flops<V>(state, macs_of<V>(prefix, repeat, plan.logits.channels) + extra_macs);
  }
};

// One MV3 block (block I of a stage) on random inputs of its real 512x512 shape.
template <class V, int Stage, std::size_t I>
void bm_mv3_block(benchmark::State& state, const std::string& stage_name) {
  LayerBench<V> b;
  if (!b.ready(state)) return;
  const auto& stage = member_stage<V, Stage>(b.m->network());
  const auto& plan = plan_stage<V, Stage>(b.plan);
  TensorView in = b.random(I == 0 ? plan.in : plan.blocks[I - 1]);
  TensorView out = b.arena.tensor(plan.blocks[I].height, plan.blocks[I].width, plan.blocks[I].channels);
  for (auto _ : state) stage.template block<I>().forward(b.ctx, in, out);
  b.report(state, "backbone." + stage_name + ".blocks." + std::to_string(I) + ".");
}

template <class V>
void bm_stem(benchmark::State& state) {
  LayerBench<V> b;
  if (!b.ready(state)) return;
  const auto img = test_image(kSide, kSide);
  TensorView out = b.arena.tensor(b.plan.stem.height, b.plan.stem.width, b.plan.stem.channels);
  const ImageView image{img.data(), kSide, kSide, kSide * 3, PixelFormat::rgb};
  for (auto _ : state) b.m->network().stem.forward(b.ctx, image, b.m->normalization(), out);
  b.report(state, "backbone.smb1.conv");
}

template <class V, int Trans>
void bm_sea_stage(benchmark::State& state) {
  LayerBench<V> b;
  if (!b.ready(state)) return;
  const auto& stage = [&]() -> const auto& {
    if constexpr (Trans == 1) return b.m->network().trans1;
    else return b.m->network().trans2;
  }();
  TensorView x = b.random(Trans == 1 ? b.plan.x16 : b.plan.x32);
  for (auto _ : state) stage.forward(b.ctx, x);  // x drifts; the work does not depend on values
  b.report(state, "backbone.trans" + std::to_string(Trans) + ".", stage.spec.depth);
}

template <class V>
void bm_aam_head(benchmark::State& state) {
  LayerBench<V> b;
  if (!b.ready(state)) return;
  TensorView x8 = b.random(b.plan.x8), x16 = b.random(b.plan.x16), x32 = b.random(b.plan.x32);
  TensorView logits = b.arena.tensor(b.plan.logits.height, b.plan.logits.width, b.plan.logits.channels);
  for (auto _ : state) b.m->network().aam_head.forward(b.ctx, x8, x16, x32, logits);
  b.report(state, "backbone.inj_module", 1, macs_of<V>("decode_head.conv_seg", 1, b.plan.logits.channels));
}

// The classifier on its own (in the network the AAM + head layer runs it on its row tiles).
template <class V>
void bm_classifier(benchmark::State& state) {
  LayerBench<V> b;
  if (!b.ready(state)) return;
  TensorView fused = b.random({b.plan.logits.height, b.plan.logits.width, V::aam.channels});
  TensorView logits = b.arena.tensor(b.plan.logits.height, b.plan.logits.width, b.plan.logits.channels);
  for (auto _ : state) b.m->network().aam_head.classify(fused, logits);
  b.report(state, "decode_head.conv_seg");
}

template <class V, int Stage, std::size_t... I>
void register_stage(const std::string& stage_name, std::index_sequence<I...>) {
  (benchmark::RegisterBenchmark(("layer/" + std::string(V::name) + "/backbone." + stage_name + ".blocks." + std::to_string(I)).c_str(),
                                [stage_name](benchmark::State& st) { bm_mv3_block<V, Stage, I>(st, stage_name); })
       ->Unit(benchmark::kMicrosecond),
   ...);
}

template <class V>
void register_layers() {
  const std::string v = std::string("layer/") + V::name + "/";
  benchmark::RegisterBenchmark((v + "backbone.smb1.conv").c_str(), bm_stem<V>)->Unit(benchmark::kMicrosecond);
  register_stage<V, 1>("smb1", std::make_index_sequence<V::smb1.size()>{});
  register_stage<V, 2>("smb2", std::make_index_sequence<V::smb2.size()>{});
  register_stage<V, 3>("smb3", std::make_index_sequence<V::smb3.size()>{});
  benchmark::RegisterBenchmark((v + "backbone.trans1").c_str(), bm_sea_stage<V, 1>)->Unit(benchmark::kMicrosecond);
  register_stage<V, 4>("smb4", std::make_index_sequence<V::smb4.size()>{});
  benchmark::RegisterBenchmark((v + "backbone.trans2").c_str(), bm_sea_stage<V, 2>)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark((v + "aam_head").c_str(), bm_aam_head<V>)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark((v + "decode_head.conv_seg").c_str(), bm_classifier<V>)->Unit(benchmark::kMicrosecond);
}

enum class Job { body, labels_vim, labels_exact };

template <class V, class P = Fp32>
void bm_model(benchmark::State& state, Job job, int threads) {
  const MobileSeg<V, P>* m = model<V, P>();
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

template <class V, class P = Fp32>
void register_model() {
  const std::string v = std::string(V::name) + (std::is_same_v<P, Int8> ? "_int8" : "");
  for (int threads : {1, 2}) {
    const std::string t = "/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(("model/" + v + "/body" + t).c_str(), bm_model<V, P>, Job::body, threads)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("model/" + v + "/labels_vim" + t).c_str(), bm_model<V, P>, Job::labels_vim, threads)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("model/" + v + "/labels_exact" + t).c_str(), bm_model<V, P>, Job::labels_exact, threads)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_model<Tiny>();
  register_model<Base>();
  register_model<Tiny, Int8>();
  register_model<Base, Int8>();
  register_layers<Tiny>();
  register_layers<Base>();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}

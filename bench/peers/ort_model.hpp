// bench/peers/ort_model.hpp: an ONNX model run by ONNX Runtime, which is loaded at run time
// (dlopen() of g_ort_lib; only ORT's headers are needed to build), for the peer programs.
//
// Layouts: the input is float [1, 3, H, W] (NCHW), the image already normalised, as
// normalise() makes it from 8-bit interleaved RGB; the output is float logits [1, K, h, w]
// (a "body" model) or int32 labels [1, H, W] (a "labels" model). Both shapes must be fixed
// in the model (export at a fixed size).
#pragma once

// The C++ API normally binds to the linked library's OrtGetApiBase at start-up; with manual
// init it waits for Ort::InitApi(), which ort_init() calls with the dlopen()ed library's API.
#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <pms/core/image.hpp>

namespace pms_peers {

// The program's name, which starts its one-line errors; main() sets it.
inline std::string g_program_name = "ort";

// One line on stderr ("side_by_side: cannot open ..."), then exit.
[[noreturn]] inline void die(const std::string& msg, int status = 1) {
  std::fprintf(stderr, "%s: %s\n", g_program_name.c_str(), msg.c_str());
  std::exit(status);
}

// The library ort_init() opens (meson passes the path of the one in .deps/onnxruntime) and
// the version it reports once opened.
#ifdef PMS_ORT_LIB
inline std::string g_ort_lib = PMS_ORT_LIB;
#else
inline std::string g_ort_lib = "libonnxruntime.so.1";
#endif
inline std::string g_ort_version;

inline void ort_init() {
  static bool done = false;
  if (done) return;
  void* h = dlopen(g_ort_lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) die("dlopen " + g_ort_lib + ": " + dlerror());
  using GetApiBase = const OrtApiBase* (*)();
  auto get = reinterpret_cast<GetApiBase>(dlsym(h, "OrtGetApiBase"));
  if (get == nullptr) die("OrtGetApiBase not found in " + g_ort_lib);
  g_ort_version = get()->GetVersionString();
  const OrtApi* api = get()->GetApi(ORT_API_VERSION);
  if (api == nullptr) die("ONNX Runtime does not provide API version " + std::to_string(ORT_API_VERSION));
  Ort::InitApi(api);
  done = true;
}

inline Ort::Env& ort_env() {
  static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, g_program_name.c_str());
  return env;
}

struct OrtModel {
  std::unique_ptr<Ort::Session> session;
  std::string in_name, out_name;
  std::vector<int64_t> in_shape, out_shape;
  bool int_out = false;  // int32 labels, else float logits
  std::vector<float> out_f;
  std::vector<std::int32_t> out_i;
  Ort::MemoryInfo mem{nullptr};

  OrtModel(const std::string& path, int threads) {
    ort_init();
    Ort::SessionOptions so;
    so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    so.SetIntraOpNumThreads(threads);
    so.SetInterOpNumThreads(1);
    so.SetExecutionMode(ExecutionMode::ORT_SEQUENTIAL);
    // ORT's intra-op workers spin (default "allow_spinning" 1) during a Run, which is its best
    // case; without this they also keep spinning for a while after Run returns and slow down
    // whatever runs next (pms, in the alternation). Spinning restarts on the next Run.
    so.AddConfigEntry("session.force_spinning_stop", "1");
    if (const char* prof = std::getenv("PMS_ORT_PROFILE"); prof != nullptr && *prof != 0)
      so.EnableProfiling(prof);  // per-operator times in PREFIX_<date>.json (diagnosis only)
    session = std::make_unique<Ort::Session>(ort_env(), path.c_str(), so);
    Ort::AllocatorWithDefaultOptions alloc;
    in_name = session->GetInputNameAllocated(0, alloc).get();
    out_name = session->GetOutputNameAllocated(0, alloc).get();
    in_shape = session->GetInputTypeInfo(0).GetTensorTypeAndShapeInfo().GetShape();
    const Ort::TypeInfo out_type = session->GetOutputTypeInfo(0);
    const auto out_info = out_type.GetTensorTypeAndShapeInfo();
    out_shape = out_info.GetShape();
    int_out = out_info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    for (int64_t d : out_shape)
      if (d <= 0) die(path + ": output shape not fixed in the model (export at a fixed size)");
    for (int64_t d : in_shape)
      if (d <= 0) die(path + ": input shape not fixed in the model (export at a fixed size)");
    std::size_t n = 1;
    for (int64_t d : out_shape) n *= static_cast<std::size_t>(d);
    (int_out ? out_i.resize(n) : out_f.resize(n));
    mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  }

  // Runs on a prepared float input into this object's own output buffer (no output allocation).
  void run(std::vector<float>& input) {
    Ort::Value in = Ort::Value::CreateTensor<float>(mem, input.data(), input.size(), in_shape.data(), in_shape.size());
    Ort::Value out = int_out ? Ort::Value::CreateTensor<std::int32_t>(mem, out_i.data(), out_i.size(), out_shape.data(), out_shape.size())
                             : Ort::Value::CreateTensor<float>(mem, out_f.data(), out_f.size(), out_shape.data(), out_shape.size());
    const char* in_names[] = {in_name.c_str()};
    const char* out_names[] = {out_name.c_str()};
    session->Run(Ort::RunOptions{nullptr}, in_names, &in, 1, out_names, &out, 1);
  }
};

// float [1,3,H,W] from 8-bit interleaved RGB [H,W,3]: x = (p/255 - mean)/std in float32
// (tests/reference preprocess()).
inline std::vector<float> normalise(const std::vector<std::uint8_t>& img, int h, int w, const pms::Normalization& n) {
  std::vector<float> out(static_cast<std::size_t>(3) * h * w);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < h * w; ++i)
      out[static_cast<std::size_t>(c) * h * w + i] =
          (static_cast<float>(img[static_cast<std::size_t>(i) * 3 + c]) / 255.0f - n.mean[c]) / n.std[c];
  return out;
}

}  // namespace pms_peers

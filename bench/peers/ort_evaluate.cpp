// ort_evaluate: accuracy of an ONNX labels model, run by ONNX Runtime, over a folder of images
// and label maps, scored exactly as examples/evaluate.cpp scores pms (so the two can be compared).
//
//   ort_evaluate --model M.labels.onnx --images DIR --labels DIR --classes K [--ignore N]
//                [--threads N] [--limit N] [--mean a b c --std a b c]
//
// The model (NAME.labels.onnx from bench/peers/export_onnx.py) takes x: float32 [1,3,H,W], the
// image normalised with --mean/--std (default pms::Normalization{}, ImageNet's), and gives
// int32 labels [1,H,W]; H and W are fixed at export, so every image must be H x W (nothing is
// resized here). As in evaluate: each image (sorted by name) is paired with the label map of
// the same stem, pixels labelled --ignore (default 255) are skipped, one confusion matrix is
// kept over the whole set, IoU_c = TP / (TP + FP + FN) (0 for a class never occurring nor
// predicted), mIoU = mean over all K classes, pixel accuracy = correct / counted pixels.
// Errors are one line on stderr and exit status 1; a wrong command line exits 2.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/image_io.hpp"
#include "common/labelled_set.hpp"
#include "ort_model.hpp"

namespace {

using namespace pms_examples;
using pms_peers::die;

struct Options {
  std::string model, images, labels;
  int classes = 0, ignore = 255, threads = 1, limit = 0;
  pms::Normalization normalization;
};

const char* kUsage =
    "usage: ort_evaluate --model M.labels.onnx --images DIR --labels DIR --classes K [--ignore N]\n"
    "                    [--threads N] [--limit N] [--mean a b c --std a b c]\n";

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) die("missing value after " + a + "\n" + kUsage, kUsageExit);
      return argv[++i];
    };
    const auto three_numbers = [&](std::array<float, 3>& out) {
      for (float& v : out) {
        const char* text = value();
        char* end = nullptr;
        v = std::strtof(text, &end);
        if (end == text || *end != '\0') die(a + " needs three numbers", kUsageExit);
      }
    };
    if (a == "--model") o.model = value();
    else if (a == "--images") o.images = value();
    else if (a == "--labels") o.labels = value();
    else if (a == "--classes") o.classes = int_option(a, value(), 1, 256, die);  // label maps hold 8-bit ids
    else if (a == "--ignore") o.ignore = int_option(a, value(), 0, 255, die);
    else if (a == "--threads") o.threads = int_option(a, value(), 1, 256, die);
    else if (a == "--limit") o.limit = int_option(a, value(), 1, 1 << 30, die);
    else if (a == "--mean") three_numbers(o.normalization.mean);
    else if (a == "--std") three_numbers(o.normalization.std);
    else die("unknown option " + a + "\n" + kUsage, kUsageExit);
  }
  if (o.model.empty() || o.images.empty() || o.labels.empty() || o.classes == 0)
    die(std::string("--model, --images, --labels and --classes are required\n") + kUsage, kUsageExit);
  if (o.ignore < o.classes)
    die("--ignore " + std::to_string(o.ignore) + " is one of the " + std::to_string(o.classes) + " classes", kUsageExit);
  for (float s : o.normalization.std)
    if (!(s > 0)) die("--std needs three positive numbers", kUsageExit);
  return o;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int run(const Options& o) {
  const auto t_start = std::chrono::steady_clock::now();
  pms_peers::OrtModel model(o.model, o.threads);
  // A labels model: float [1,3,H,W] in, int32 [1,H,W] out, at one fixed H x W.
  const std::vector<int64_t>& in = model.in_shape;
  const std::vector<int64_t>& out = model.out_shape;
  const bool float_in = model.session->GetInputTypeInfo(0).GetTensorTypeAndShapeInfo().GetElementType() ==
                        ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  if (!float_in || !model.int_out || in.size() != 4 || in[0] != 1 || in[1] != 3 || out.size() != 3 || out[0] != 1 ||
      out[1] != in[2] || out[2] != in[3])
    die(o.model + ": not a labels model (needs float [1,3,H,W] in, int32 [1,H,W] out; has " + shape_text(in) + " -> " +
        shape_text(out) + ")");
  const int h = static_cast<int>(in[2]), w = static_cast<int>(in[3]), k = o.classes;

  const auto pairs = labelled_images(o.images, o.labels, o.limit, [](const std::string& m) { die(m); });
  const int n = static_cast<int>(pairs.size());

  ConfusionMatrix confusion(k, o.ignore);
  double inference_s = 0;
  for (const auto& [image_path, label_path] : pairs) {
    RgbImage photo;
    GrayImage truth;
    if (const std::string e = load_labelled_pair(image_path, label_path, photo, truth); !e.empty()) die(e);
    if (photo.width != w || photo.height != h)
      die(image_path.string() + ": image is " + std::to_string(photo.width) + "x" + std::to_string(photo.height) + ", the model takes " +
          std::to_string(w) + "x" + std::to_string(h) + " only (its input size is fixed at export; nothing is resized)");

    std::vector<float> x = pms_peers::normalise(photo.pixels, h, w, o.normalization);
    const auto t0 = std::chrono::steady_clock::now();
    model.run(x);
    inference_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    if (const std::string e = confusion.add(truth.pixels.data(), model.out_i.data(), model.out_i.size(), w, label_path.string(),
                                            image_path.string());
        !e.empty())
      die(e);
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  std::printf("%s: ONNX Runtime %s, %d classes, %d image%s, %dx%d input, label %d ignored (%llu pixels)\n", o.model.c_str(),
              pms_peers::g_ort_version.c_str(), k, n, n == 1 ? "" : "s", w, h, o.ignore, static_cast<unsigned long long>(confusion.ignored()));
  confusion.print();
  std::printf("time %.1f s: %.1f s inference (%.1f ms/image, %d thread%s), the rest loading and scoring\n", total_s, inference_s,
              1000 * inference_s / n, o.threads, o.threads == 1 ? "" : "s");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  pms_peers::g_program_name = "ort_evaluate";
  const Options o = parse(argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {  // ONNX Runtime's errors (Ort::Exception) and bad_alloc: one line
    die(e.what());
  }
}

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
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "common/cli.hpp"
#include "common/image_io.hpp"
#include "common/palette.hpp"
#include "ort_model.hpp"

namespace {

using namespace pms_examples;
using pms_peers::die;
namespace fs = std::filesystem;

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

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Image files of a folder by stem, as evaluate pairs them: hidden files skipped, and of two
// files with one stem the PNG wins (label maps are PNGs); two of one kind are ambiguous.
std::map<std::string, fs::path> image_files(const std::string& dir, const char* what) {
  static const char* const kExt[] = {".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".pnm"};
  std::error_code ec, list_ec;
  if (!fs::is_directory(dir, ec)) die(std::string(what) + " folder " + dir + " does not exist or is not a folder");
  std::map<std::string, fs::path> out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, list_ec)) {
    const fs::path& p = e.path();
    const std::string ext = lower(p.extension().string());
    if (p.filename().string().starts_with(".") || std::none_of(std::begin(kExt), std::end(kExt), [&](const char* k) { return ext == k; }) ||
        !e.is_regular_file(ec))
      continue;
    auto [slot, inserted] = out.emplace(p.stem().string(), p);
    if (inserted) continue;
    const bool old_png = lower(slot->second.extension().string()) == ".png", new_png = ext == ".png";
    if (old_png == new_png) die(std::string(what) + " folder has two files with the stem '" + p.stem().string() + "'");
    if (new_png) slot->second = p;
  }
  if (list_ec) die("cannot list " + dir + ": " + list_ec.message());
  return out;
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

  const auto images = image_files(o.images, "image");
  const auto labels = image_files(o.labels, "label");
  std::vector<std::pair<fs::path, fs::path>> pairs;
  for (const auto& [stem, path] : images) {
    const auto l = labels.find(stem);
    if (l == labels.end()) die(path.string() + ": no label map with the stem '" + stem + "' in " + o.labels);
    pairs.emplace_back(path, l->second);
    if (o.limit > 0 && static_cast<int>(pairs.size()) == o.limit) break;
  }
  if (pairs.empty()) die("no images (.png, .jpg, .jpeg, .ppm, .pgm, .pnm) in " + o.images);
  const int n = static_cast<int>(pairs.size());

  std::vector<std::uint64_t> confusion(static_cast<std::size_t>(k) * k, 0);  // [truth][prediction]
  std::uint64_t ignored = 0;
  double inference_s = 0;
  for (const auto& [image_path, label_path] : pairs) {
    RgbImage photo;
    GrayImage truth;
    std::string error;
    if (!load_rgb(image_path.string(), photo, error)) die(error);
    if (!load_gray8(label_path.string(), truth, error)) die(error);
    if (truth.width != photo.width || truth.height != photo.height)
      die(label_path.string() + ": label map is " + std::to_string(truth.width) + "x" + std::to_string(truth.height) + ", its image " +
          image_path.filename().string() + " is " + std::to_string(photo.width) + "x" + std::to_string(photo.height));
    if (photo.width != w || photo.height != h)
      die(image_path.string() + ": image is " + std::to_string(photo.width) + "x" + std::to_string(photo.height) + ", the model takes " +
          std::to_string(w) + "x" + std::to_string(h) + " only (its input size is fixed at export; nothing is resized)");

    std::vector<float> x = pms_peers::normalise(photo.pixels, h, w, o.normalization);
    const auto t0 = std::chrono::steady_clock::now();
    model.run(x);
    inference_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    for (std::size_t p = 0; p < model.out_i.size(); ++p) {
      const int t = truth.pixels[p], predicted = model.out_i[p];
      if (t == o.ignore) {
        ++ignored;
        continue;
      }
      if (t >= k)
        die(label_path.string() + ": label " + std::to_string(t) + " at (x " + std::to_string(p % w) + ", y " + std::to_string(p / w) +
            ") is neither one of the " + std::to_string(k) + " classes nor the ignored label " + std::to_string(o.ignore) +
            "; pass --ignore " + std::to_string(t) + " if it marks pixels to skip");
      if (predicted < 0 || predicted >= k)  // a model of more classes than --classes says
        die(image_path.string() + ": the model predicted label " + std::to_string(predicted) + ", outside the " + std::to_string(k) +
            " classes of --classes");
      ++confusion[static_cast<std::size_t>(t) * k + predicted];
    }
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  // Per class: IoU = TP / (TP + FP + FN); accuracy (recall) = TP / (TP + FN). As evaluate.
  std::uint64_t correct = 0, counted = 0;
  std::vector<double> iou(static_cast<std::size_t>(k)), recall(static_cast<std::size_t>(k));
  std::vector<std::uint64_t> truth_count(static_cast<std::size_t>(k), 0);
  for (int c = 0; c < k; ++c) {
    std::uint64_t tp = confusion[static_cast<std::size_t>(c) * k + c], row = 0, col = 0;
    for (int j = 0; j < k; ++j) {
      row += confusion[static_cast<std::size_t>(c) * k + j];
      col += confusion[static_cast<std::size_t>(j) * k + c];
    }
    const std::uint64_t uni = row + col - tp;
    iou[c] = uni > 0 ? static_cast<double>(tp) / static_cast<double>(uni) : 0.0;
    recall[c] = row > 0 ? static_cast<double>(tp) / static_cast<double>(row) : 0.0;
    truth_count[c] = row;
    correct += tp;
    counted += row;
  }
  double miou = 0;
  for (double v : iou) miou += v;
  miou = 100 * miou / k;
  const double pixel_acc = counted > 0 ? 100.0 * static_cast<double>(correct) / static_cast<double>(counted) : 0.0;

  std::printf("%s: ONNX Runtime %s, %d classes, %d image%s, %dx%d input, label %d ignored (%llu pixels)\n", o.model.c_str(),
              pms_peers::g_ort_version.c_str(), k, n, n == 1 ? "" : "s", w, h, o.ignore, static_cast<unsigned long long>(ignored));
  std::printf("%-3s %-18s %7s %7s %12s\n", "id", "class", "IoU %", "acc %", "pixels");
  for (int c = 0; c < k; ++c)
    std::printf("%3d %-18s %7.2f %7.2f %12llu\n", c, class_name(k, c).c_str(), 100 * iou[c], 100 * recall[c],
                static_cast<unsigned long long>(truth_count[c]));
  std::printf("mIoU %.2f\n", miou);
  std::printf("pixel accuracy %.2f\n", pixel_acc);
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

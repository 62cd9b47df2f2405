// segment: PP-MobileSeg on one image from the command line.
//
//   segment --weights W.pms --input IMAGE [--overlay OUT.png] [--mask OUT.png]
//           [--labels OUT.png] [--mode auto|vim|exact] [--threads N] [--repeat N] [--max-side N]
//           [--max-memory MIB] [--skip-self-test]
//
// The variant (Tiny or Base), the precision (fp32 or int8) and the class count come from the
// weights file, which must pass its embedded self-test first (unless --skip-self-test). With
// --max-side, a larger image is shrunk for the network and the labels are upsampled from the
// low-res logits straight to the original size (what PaddleSeg's evaluation does), so every
// output picture has the size of the input photo. The memory a run needs is computed from the image header before
// anything is decoded or allocated, and refused (with the size and a hint) if it exceeds the
// machine's physical memory or --max-memory.
//
// Exit status: 0 done, 1 an error (one line on stderr), 2 a wrong command line.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <pms/core/thread_pool.hpp>
#include <pms/mobileseg.hpp>

#include "common/cli.hpp"
#include "common/image_io.hpp"
#include "common/palette.hpp"

namespace {

using namespace pms_examples;

struct Options {
  std::string weights, input, overlay, mask, labels;
  pms::Upsampling mode = pms::Upsampling::automatic;
  int threads = 1;
  int repeat = 1;
  int max_side = 0;
  int max_memory_mib = 0;  // 0: physical memory is the only limit
  bool self_test = true;
};

[[noreturn]] void fail(const std::string& message, int status = kErrorExit) {
  std::fprintf(stderr, "segment: %s\n", message.c_str());
  std::exit(status);
}

const char* kUsage =
    "usage: segment --weights W.pms --input IMAGE [--overlay OUT.png] [--mask OUT.png] [--labels OUT.png]\n"
    "               [--mode auto|vim|exact] [--threads N] [--repeat N] [--max-side N] [--max-memory MIB]\n"
    "               [--skip-self-test]\n";

Options parse(int argc, char** argv) {
  Options o;
  const auto is_switch = [&](const std::string& a) {
    if (a != "--skip-self-test") return false;
    o.self_test = false;
    return true;
  };
  parse_options(argc, argv, kUsage, fail, is_switch, [&](const std::string& a, const char* v) {
    if (a == "--weights") o.weights = v;
    else if (a == "--input") o.input = v;
    else if (a == "--overlay") o.overlay = v;
    else if (a == "--mask") o.mask = v;
    else if (a == "--labels") o.labels = v;
    else if (a == "--threads") o.threads = int_option(a, v, 1, 256, fail);
    else if (a == "--repeat") o.repeat = int_option(a, v, 1, 100000, fail);
    else if (a == "--max-side") o.max_side = int_option(a, v, 16, pms::kMaxImageSide, fail);
    else if (a == "--max-memory") o.max_memory_mib = int_option(a, v, 1, 1 << 30, fail);
    else if (a == "--mode") o.mode = mode_option(v, fail);
    else return false;
    return true;
  });
  if (o.weights.empty() || o.input.empty()) fail(std::string("--weights and --input are required\n") + kUsage, kUsageExit);
  return o;
}

// The size the network sees: the photo's, or with --max-side a shrunk one (aspect kept).
std::array<int, 2> network_size(const Options& o, int width, int height) {
  if (o.max_side == 0 || std::max(width, height) <= o.max_side) return {width, height};
  const double s = static_cast<double>(o.max_side) / std::max(width, height);
  return {std::max(1, static_cast<int>(width * s + 0.5)), std::max(1, static_cast<int>(height * s + 0.5))};
}

template <class Model>
int run(const Options& o, std::span<const std::byte> weights) {
  Model model;
  if (const pms::Status s = model.load(weights); s != pms::Status::ok) fail(load_error(o.weights, s, model));
  if (o.self_test) require_self_test(model, o.weights, fail);

  // Sizes from the image header, checked before anything large is decoded or allocated.
  int width = 0, height = 0;
  std::string error;
  if (!read_image_size(o.input, width, height, error)) fail(error);
  const std::string photo_size = std::to_string(width) + "x" + std::to_string(height);
  // The label map keeps the photo's size, so no --max-side helps past the largest side.
  if (width > pms::kMaxImageSide || height > pms::kMaxImageSide)
    fail(o.input + ": image " + photo_size + " is larger than " + std::to_string(pms::kMaxImageSide) +
         " pixels per side (the labels keep the photo's size)");
  const auto [net_w, net_h] = network_size(o, width, height);
  const std::string net_size = std::to_string(net_w) + "x" + std::to_string(net_h);
  if (const pms::Status s = Model::check_size(net_h, net_w); s != pms::Status::ok)
    fail(o.input + ": " + pms::describe(s) + " (" + net_size + (s == pms::Status::image_too_large ? "; use --max-side)" : ")"));

  std::unique_ptr<pms::ThreadPool> pool;
  if (o.threads > 1) pool = std::make_unique<pms::ThreadPool>(o.threads);
  const int threads = pool ? pool->threads() : 1;  // the system may grant fewer
  const std::size_t workspace_bytes = model.workspace_size(net_h, net_w, threads, width);
  const std::uint64_t pixels = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
  // Decoded photo (3 bytes a pixel), labels (1), mask and overlay (3 each) when asked for.
  const std::uint64_t picture_bytes = pixels * (4 + (o.mask.empty() && o.overlay.empty() ? 0 : 6));
  const std::uint64_t budget = memory_budget(o.max_memory_mib);
  const std::string hint = "; shrink the input with --max-side (e.g. --max-side " + std::to_string(std::max(16, std::max(net_w, net_h) / 4)) + ")";
  if (workspace_bytes == 0 || workspace_bytes > budget || picture_bytes > budget - workspace_bytes)
    fail(o.input + ": a " + net_size + " network input needs a " + size_text(workspace_bytes) + " workspace (plus " +
         size_text(picture_bytes) + " for the pictures), more than the " + size_text(budget) + " available" + hint);
  AlignedBytes workspace;
  if (!workspace.reserve(workspace_bytes))
    fail(o.input + ": cannot allocate the " + size_text(workspace_bytes) + " workspace a " + net_size + " input needs" + hint);

  RgbImage photo;
  if (!load_rgb(o.input, photo, error)) fail(error);
  if (photo.width != width || photo.height != height) fail(o.input + ": decoded size differs from the header's " + photo_size);
  // The image the network sees: the photo, or a shrunk copy with --max-side.
  RgbImage shrunk;
  const RgbImage* seen = &photo;
  if (net_w != width || net_h != height) {
    shrunk = resize_rgb(photo, net_w, net_h);
    seen = &shrunk;
  }
  const pms::ImageView image{seen->pixels.data(), seen->height, seen->width, static_cast<std::ptrdiff_t>(seen->width) * 3,
                             pms::PixelFormat::rgb};

  const int k = model.num_classes();  // at most 256 (weights/FORMAT.md): labels fit a byte
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(pixels));
  const pms::LabelMap<std::uint8_t> label_map{labels.data(), photo.height, photo.width, photo.width};

  std::vector<double> ms;
  pms::SegmentInfo info;
  for (int r = 0; r < o.repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const pms::SegmentOptions options{o.mode};
    const std::span<std::byte> ws(workspace.data(), workspace.size());
    const pms::Status s = pool ? model.segment(image, ws, label_map, *pool, options, &info) : model.segment(image, ws, label_map, options, &info);
    const auto t1 = std::chrono::steady_clock::now();
    if (s != pms::Status::ok) fail(std::string("inference failed: ") + pms::describe(s));
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());

  std::printf("%s: %s, %d classes, %dx%d", o.input.c_str(), model_name<Model>().c_str(), k, photo.width, photo.height);
  if (seen != &photo) std::printf(" (network input %dx%d)", seen->width, seen->height);
  std::printf(", %s upsampling\n", info.used_vim ? "VIM" : "exact");
  std::printf("inference: %.2f ms median of %d run%s, %d thread%s (image decode excluded)\n", ms[ms.size() / 2], o.repeat,
              o.repeat == 1 ? "" : "s", threads, threads == 1 ? "" : "s");

  // Every label is checked before it indexes anything: a label outside [0, K) would mean a
  // library fault, and is refused rather than written through.
  std::vector<long> counts(static_cast<std::size_t>(k), 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= k)
      fail("inference returned label " + std::to_string(labels[i]) + " at (x " + std::to_string(i % photo.width) + ", y " +
           std::to_string(i / photo.width) + "), outside the " + std::to_string(k) + " classes");
    ++counts[labels[i]];
  }
  std::printf("classes found:\n");
  for (int c = 0; c < k; ++c)
    if (counts[c] > 0)
      std::printf("  %3d %-16s %6.2f %%\n", c, class_name(k, c).c_str(), 100.0 * static_cast<double>(counts[c]) / labels.size());

  const std::size_t n = labels.size();
  if (!o.mask.empty() || !o.overlay.empty()) {
    std::vector<std::uint8_t> mask(n * 3), overlay(n * 3);
    for (std::size_t i = 0; i < n; ++i) {
      const auto rgb = class_colour(k, labels[i]);
      for (int ch = 0; ch < 3; ++ch) {
        mask[i * 3 + ch] = rgb[ch];
        overlay[i * 3 + ch] = static_cast<std::uint8_t>((photo.pixels[i * 3 + ch] + rgb[ch] + 1) / 2);  // 50 % blend
      }
    }
    if (!o.mask.empty()) {
      if (!write_png(o.mask, photo.width, photo.height, 3, mask.data(), photo.width * 3)) fail("cannot write " + o.mask);
      std::printf("mask written to %s\n", o.mask.c_str());
    }
    if (!o.overlay.empty()) {
      if (!write_png(o.overlay, photo.width, photo.height, 3, overlay.data(), photo.width * 3)) fail("cannot write " + o.overlay);
      std::printf("overlay written to %s\n", o.overlay.c_str());
    }
  }
  if (!o.labels.empty()) {
    if (!write_png(o.labels, photo.width, photo.height, 1, labels.data(), photo.width)) fail("cannot write " + o.labels);
    std::printf("class ids written to %s\n", o.labels.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    return run_with_weights(o.weights, fail, [&]<class Model>(std::span<const std::byte> weights) { return run<Model>(o, weights); });
  } catch (const std::bad_alloc&) {  // the budget above is an estimate; a refused allocation still ends in one line
    fail(o.input + ": out of memory; shrink the input with --max-side");
  }
}

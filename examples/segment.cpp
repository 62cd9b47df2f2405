// segment: PP-MobileSeg on one image from the command line.
//
//   segment --weights W.pms --input IMAGE [--overlay OUT.png] [--mask OUT.png]
//           [--labels OUT.png] [--mode auto|vim|exact] [--threads N] [--repeat N] [--max-side N]
//
// The variant (Tiny or Base) and the class count come from the weights file. With
// --max-side, a larger image is shrunk for the network and the labels are upsampled from the
// low-res logits straight to the original size (what PaddleSeg's evaluation does), so every
// output picture has the size of the input photo.
#include <algorithm>
#include <chrono>
#include <cstdio>
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
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "segment: %s\n", message.c_str());
  std::exit(1);
}

const char* kUsage =
    "usage: segment --weights W.pms --input IMAGE [--overlay OUT.png] [--mask OUT.png] [--labels OUT.png]\n"
    "               [--mode auto|vim|exact] [--threads N] [--repeat N] [--max-side N]\n";

Options parse(int argc, char** argv) {
  Options o;
  parse_options(argc, argv, kUsage, fail, [&](const std::string& a, const char* v) {
    if (a == "--weights") o.weights = v;
    else if (a == "--input") o.input = v;
    else if (a == "--overlay") o.overlay = v;
    else if (a == "--mask") o.mask = v;
    else if (a == "--labels") o.labels = v;
    else if (a == "--threads") o.threads = int_option(a, v, 1, 256, fail);
    else if (a == "--repeat") o.repeat = int_option(a, v, 1, 100000, fail);
    else if (a == "--max-side") o.max_side = int_option(a, v, 16, pms::kMaxImageSide, fail);
    else if (a == "--mode") o.mode = mode_option(v, fail);
    else return false;
    return true;
  });
  if (o.weights.empty() || o.input.empty()) fail(std::string("--weights and --input are required\n") + kUsage);
  return o;
}

template <class Variant>
int run(const Options& o, std::span<const std::byte> weights) {
  pms::MobileSeg<Variant> model;
  if (const pms::Status s = model.load(weights); s != pms::Status::ok) fail(load_error(o.weights, s, model));
  RgbImage photo;
  std::string error;
  if (!load_rgb(o.input, photo, error)) fail(error);
  if (photo.width > pms::kMaxImageSide || photo.height > pms::kMaxImageSide)
    fail(o.input + ": image larger than " + std::to_string(pms::kMaxImageSide) + " pixels per side; use --max-side");

  // The image the network sees: the photo, or a shrunk copy with --max-side.
  RgbImage shrunk;
  const RgbImage* seen = &photo;
  if (o.max_side > 0 && std::max(photo.width, photo.height) > o.max_side) {
    const double s = static_cast<double>(o.max_side) / std::max(photo.width, photo.height);
    shrunk = resize_rgb(photo, std::max(1, static_cast<int>(photo.width * s + 0.5)), std::max(1, static_cast<int>(photo.height * s + 0.5)));
    seen = &shrunk;
  }
  const pms::ImageView image{seen->pixels.data(), seen->height, seen->width, static_cast<std::ptrdiff_t>(seen->width) * 3,
                             pms::PixelFormat::rgb};
  if (const pms::Status s = pms::MobileSeg<Variant>::check_size(image.height, image.width); s != pms::Status::ok)
    fail(o.input + ": " + pms::describe(s) + " (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");

  const int k = model.num_classes();
  std::vector<std::int32_t> labels(static_cast<std::size_t>(photo.width) * photo.height);
  const pms::LabelMap<std::int32_t> label_map{labels.data(), photo.height, photo.width, photo.width};
  std::unique_ptr<pms::ThreadPool> pool;
  if (o.threads > 1) pool = std::make_unique<pms::ThreadPool>(o.threads);
  const int threads = pool ? pool->threads() : 1;  // the system may grant fewer
  AlignedBytes workspace(model.workspace_size(image.height, image.width, threads, photo.width));

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

  std::printf("%s: %s, %d classes, %dx%d", o.input.c_str(), Variant::name, k, photo.width, photo.height);
  if (seen != &photo) std::printf(" (network input %dx%d)", seen->width, seen->height);
  std::printf(", %s upsampling\n", info.used_vim ? "VIM" : "exact");
  std::printf("inference: %.2f ms median of %d run%s, %d thread%s (image decode excluded)\n", ms[ms.size() / 2], o.repeat,
              o.repeat == 1 ? "" : "s", threads, threads == 1 ? "" : "s");

  std::vector<long> counts(static_cast<std::size_t>(k), 0);
  for (std::int32_t l : labels) ++counts[static_cast<std::size_t>(l)];
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
    if (k > 256) fail("--labels writes 8-bit PNG class ids; this model has more than 256 classes");
    std::vector<std::uint8_t> ids(labels.begin(), labels.end());
    if (!write_png(o.labels, photo.width, photo.height, 1, ids.data(), photo.width)) fail("cannot write " + o.labels);
    std::printf("class ids written to %s\n", o.labels.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  return run_with_weights(o.weights, fail, [&]<class Variant>(std::span<const std::byte> weights) { return run<Variant>(o, weights); });
}

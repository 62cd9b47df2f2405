// evaluate: accuracy of a PP-MobileSeg model over a folder of images and label maps.
//
//   evaluate --weights W.pms --images DIR --labels DIR [--ignore N] [--threads N]
//            [--mode auto|vim|exact] [--limit N] [--expect-miou X] [--max-memory MIB] [--skip-self-test]
//
// Every image in --images (PNG, JPEG, binary PPM/PGM; sorted by name) is paired with the
// file of the same stem in --labels (PNG preferred): a map of class ids of the image's size,
// stored as 8-bit grey values or palette indices (as PIL reads it). The image goes to the network at its own size; the labels come out at
// that size (PaddleSeg's single-scale evaluation). Pixels whose label is --ignore (default
// 255, PaddleSeg's ignore index; CamVid uses 11) are skipped; any other label outside
// [0, K) is an error. One confusion matrix is accumulated over the whole set:
// IoU_c = TP / (TP + FP + FN) (0 for a class that never occurs nor is predicted), mIoU is the
// mean over all K classes, pixel accuracy = correct / counted pixels. With --expect-miou the
// exit status is 1 unless the mIoU is within 0.1 points of X. The weights must pass their
// embedded self-test first (unless --skip-self-test). Progress goes to stderr only when it is
// a terminal.
//
// Errors (missing folder, image without a label map, unreadable file, size mismatch, a
// label value outside the classes, an image whose workspace exceeds physical memory or
// --max-memory) are one line on stderr and exit status 1; a wrong command line exits 2.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <pms/core/thread_pool.hpp>
#include <pms/mobileseg.hpp>

#include "common/cli.hpp"
#include "common/image_io.hpp"
#include "common/labelled_set.hpp"

namespace {

using namespace pms_examples;

struct Options {
  std::string weights, images, labels;
  int ignore = 255;
  int threads = 1;
  int limit = 0;
  pms::Upsampling mode = pms::Upsampling::automatic;
  double expect_miou = -1;
  int max_memory_mib = 0;  // 0: physical memory is the only limit
  bool self_test = true;
};

bool g_progress_shown = false;  // a progress line without its newline is on stderr

[[noreturn]] void fail(const std::string& message, int status = kErrorExit) {
  std::fprintf(stderr, "%sevaluate: %s\n", g_progress_shown ? "\n" : "", message.c_str());
  std::exit(status);
}

const char* kUsage =
    "usage: evaluate --weights W.pms --images DIR --labels DIR [--ignore N] [--threads N]\n"
    "                [--mode auto|vim|exact] [--limit N] [--expect-miou X] [--max-memory MIB] [--skip-self-test]\n"
    "  --ignore N       label value that marks pixels to skip (default 255; CamVid: 11)\n"
    "  --limit N        only the first N images (by name)\n"
    "  --expect-miou X  exit 1 unless the mIoU (in %) is within 0.1 points of X\n"
    "  --max-memory MIB refuse images whose workspace needs more (default: physical memory)\n"
    "  --skip-self-test run without the weights' embedded self-test\n";

Options parse(int argc, char** argv) {
  Options o;
  const auto is_switch = [&](const std::string& a) {
    if (a != "--skip-self-test") return false;
    o.self_test = false;
    return true;
  };
  parse_options(argc, argv, kUsage, fail, is_switch, [&](const std::string& a, const char* v) {
    if (a == "--weights") o.weights = v;
    else if (a == "--images") o.images = v;
    else if (a == "--labels") o.labels = v;
    else if (a == "--ignore") o.ignore = int_option(a, v, 0, 255, fail);
    else if (a == "--threads") o.threads = int_option(a, v, 1, 256, fail);
    else if (a == "--limit") o.limit = int_option(a, v, 1, 1 << 30, fail);
    else if (a == "--max-memory") o.max_memory_mib = int_option(a, v, 1, 1 << 30, fail);
    else if (a == "--expect-miou") {
      char* end = nullptr;
      o.expect_miou = std::strtod(v, &end);
      if (end == v || *end != '\0' || !(o.expect_miou >= 0 && o.expect_miou <= 100))
        fail("--expect-miou needs a percentage", kUsageExit);
    } else if (a == "--mode") o.mode = mode_option(v, fail);
    else return false;
    return true;
  });
  if (o.weights.empty() || o.images.empty() || o.labels.empty())
    fail(std::string("--weights, --images and --labels are required\n") + kUsage, kUsageExit);
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class Model>
int run(const Options& o, std::span<const std::byte> weights) {
  const auto t_start = std::chrono::steady_clock::now();
  Model model;
  if (const pms::Status s = model.load(weights); s != pms::Status::ok) fail(load_error(o.weights, s, model));
  if (o.self_test) require_self_test(model, o.weights, fail);
  const int k = model.num_classes();
  if (o.ignore < k)
    fail("--ignore " + std::to_string(o.ignore) + " is one of this model's " + std::to_string(k) + " classes (0-" +
         std::to_string(k - 1) + ")");

  const auto pairs = labelled_images(o.images, o.labels, o.limit, [](const std::string& m) { fail(m); });
  const int n = static_cast<int>(pairs.size());

  std::unique_ptr<pms::ThreadPool> pool;
  if (o.threads > 1) pool = std::make_unique<pms::ThreadPool>(o.threads);
  const int threads = pool ? pool->threads() : 1;  // the system may grant fewer
  AlignedBytes workspace;
  std::vector<std::uint8_t> predicted;
  ConfusionMatrix confusion(k, o.ignore);
  double inference_s = 0;
  bool used_vim = false;
  const bool progress = stderr_is_terminal();
  const std::uint64_t budget = memory_budget(o.max_memory_mib);

  for (int i = 0; i < n; ++i) {
    const auto& [image_path, label_path] = pairs[static_cast<std::size_t>(i)];
    if (progress) {  // "\r[ 12/233] name  36 ms/image"
      std::fprintf(stderr, "\r[%*d/%d] %s", static_cast<int>(std::to_string(n).size()), i + 1, n, image_path.filename().c_str());
      if (i > 0) std::fprintf(stderr, "  %.0f ms/image", 1000 * inference_s / i);
      std::fputs("   ", stderr);
      std::fflush(stderr);
      g_progress_shown = true;
    }
    RgbImage photo;
    GrayImage truth;
    if (const std::string e = load_labelled_pair(image_path, label_path, photo, truth); !e.empty()) fail(e);
    if (const pms::Status s = Model::check_size(photo.height, photo.width); s != pms::Status::ok)
      fail(image_path.string() + ": " + pms::describe(s) + " (" + std::to_string(photo.width) + "x" + std::to_string(photo.height) + ")");

    const pms::ImageView image{photo.pixels.data(), photo.height, photo.width, static_cast<std::ptrdiff_t>(photo.width) * 3,
                               pms::PixelFormat::rgb};
    const std::size_t workspace_bytes = model.workspace_size(photo.height, photo.width, threads);
    if (workspace_bytes > budget)
      fail(image_path.string() + ": a " + std::to_string(photo.width) + "x" + std::to_string(photo.height) + " image needs a " +
           size_text(workspace_bytes) + " workspace, more than the " + size_text(budget) + " available");
    if (!workspace.reserve(workspace_bytes))
      fail(image_path.string() + ": cannot allocate the " + size_text(workspace_bytes) + " workspace it needs");
    predicted.resize(static_cast<std::size_t>(photo.width) * photo.height);
    const pms::LabelMap<std::uint8_t> map{predicted.data(), photo.height, photo.width, photo.width};
    const std::span<std::byte> ws(workspace.data(), workspace.size());
    pms::SegmentInfo info;
    const auto t0 = std::chrono::steady_clock::now();
    const pms::Status s = pool ? model.segment(image, ws, map, *pool, pms::SegmentOptions{o.mode}, &info)
                               : model.segment(image, ws, map, pms::SegmentOptions{o.mode}, &info);
    inference_s += seconds_since(t0);
    if (s != pms::Status::ok) fail(image_path.string() + ": inference failed: " + pms::describe(s));
    used_vim = used_vim || info.used_vim;

    if (const std::string e = confusion.add(truth.pixels.data(), predicted.data(), predicted.size(), photo.width, label_path.string(),
                                            image_path.string());
        !e.empty())
      fail(e);
  }
  if (progress) std::fputc('\n', stderr);
  g_progress_shown = false;
  const double total_s = seconds_since(t_start);

  std::printf("%s: %s, %d classes, %d image%s, %s upsampling, label %d ignored (%llu pixels)\n", o.weights.c_str(), model_name<Model>().c_str(), k, n,
              n == 1 ? "" : "s", used_vim ? "VIM" : "exact", o.ignore, static_cast<unsigned long long>(confusion.ignored()));
  const double miou = confusion.print();
  std::printf("time %.1f s: %.1f s inference (%.1f ms/image, %d thread%s), the rest loading and scoring\n", total_s, inference_s,
              1000 * inference_s / n, threads, threads == 1 ? "" : "s");
  if (o.expect_miou >= 0) {
    if (std::fabs(miou - o.expect_miou) > 0.1 + 1e-9) {
      std::printf("FAIL: mIoU %.2f differs from the expected %.2f by more than 0.1 points\n", miou, o.expect_miou);
      return 1;
    }
    std::printf("OK: mIoU within 0.1 points of the expected %.2f\n", o.expect_miou);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    return run_with_weights(o.weights, fail, [&]<class Model>(std::span<const std::byte> weights) { return run<Model>(o, weights); });
  } catch (const std::bad_alloc&) {  // the workspace check above is an estimate; any refusal still ends in one line
    fail("out of memory");
  }
}

// embedded: PP-MobileSeg Tiny as on a microcontroller-like target. The weights are
// compiled into the program (examples/embed_weights.py: `.incbin` of
// weights/pp_mobileseg_tiny_camvid.pms, 64-byte aligned, in read-only data; built a second
// time as `embedded_int8` with -DPMS_EMBEDDED_INT8 and the int8 file), the workspace
// and the label map are static arrays sized at compile time for one image size, and the
// program uses no file system, no heap, no exceptions and no RTTI (built with
// -fno-exceptions -fno-rtti). It
//   1. loads the embedded weights (no copy: pms points into them),
//   2. runs the self-test vector the weights carry (`self_test`),
//   3. segments an image held in memory (the 72x56 self-test picture, itself inside the
//      embedded weights) into a static label map and checks every pixel whose reference
//      top-2 margin is clear against the reference labels,
// then prints one line and exits 0; any failure prints why and exits 1.
//
// The proof of "no heap": this program replaces malloc and its relatives (C++ `new` ends in
// them). They serve the C/C++ runtime's own start-up from a small static pool, and abort the
// program if anything calls them while steps 1-3 run.
#include <pms/mobileseg.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

// From the generated embedded_weights.cpp.
extern "C" const std::byte pms_tiny_camvid[];
extern "C" const std::size_t pms_tiny_camvid_size;

namespace {

// ---- Heap guard -----------------------------------------------------------------------
bool g_heap_forbidden = false;
unsigned long g_heap_calls = 0;  // allocations served (all outside the guarded section)
alignas(64) unsigned char g_pool[256 * 1024];
std::size_t g_pool_used = 0;

[[noreturn]] void heap_violation(const char* fn) {
  static const char prefix[] = "embedded: FAIL: heap used during inference (";
  (void)!::write(2, prefix, sizeof prefix - 1);
  (void)!::write(2, fn, std::strlen(fn));
  (void)!::write(2, ")\n", 2);
  std::abort();
}

// Bump allocation with the block size stored in the 16 bytes (or `align`) before the block.
void* pool_alloc(const char* fn, std::size_t n, std::size_t align) {
  if (g_heap_forbidden) heap_violation(fn);
  if (align < 16) align = 16;
  if ((align & (align - 1)) != 0 || n > sizeof g_pool) return errno = ENOMEM, nullptr;
  const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(g_pool);
  std::uintptr_t p = (base + g_pool_used + sizeof(std::size_t) + align - 1) / align * align;
  if (p + n > base + sizeof g_pool) return errno = ENOMEM, nullptr;
  std::memcpy(reinterpret_cast<void*>(p - sizeof(std::size_t)), &n, sizeof n);
  g_pool_used = p + n - base;
  ++g_heap_calls;
  return reinterpret_cast<void*>(p);
}

std::size_t block_size(const void* p) {
  std::size_t n = 0;
  std::memcpy(&n, static_cast<const unsigned char*>(p) - sizeof n, sizeof n);
  return n;
}

}  // namespace

extern "C" {
void* malloc(std::size_t n) noexcept { return pool_alloc("malloc", n, 16); }
void free(void*) noexcept {}  // a bump pool: memory is not reused
void* calloc(std::size_t count, std::size_t n) noexcept {
  if (n != 0 && count > static_cast<std::size_t>(-1) / n) return errno = ENOMEM, nullptr;
  return pool_alloc("calloc", count * n, 16);  // the pool is never reused: still zero
}
void* realloc(void* old, std::size_t n) noexcept {
  void* p = pool_alloc("realloc", n, 16);
  if (p != nullptr && old != nullptr) std::memcpy(p, old, std::min(n, block_size(old)));
  return p;
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept { return pool_alloc("aligned_alloc", n, align); }
void* memalign(std::size_t align, std::size_t n) noexcept { return pool_alloc("memalign", n, align); }
void* valloc(std::size_t n) noexcept { return pool_alloc("valloc", n, 4096); }
void* pvalloc(std::size_t n) noexcept { return pool_alloc("pvalloc", (n + 4095) / 4096 * 4096, 4096); }
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  void* p = pool_alloc("posix_memalign", n, align);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
std::size_t malloc_usable_size(void* p) noexcept { return p != nullptr ? block_size(p) : 0; }
}

namespace {

// ---- The application ------------------------------------------------------------------
#if defined(PMS_EMBEDDED_INT8)
using Model = pms::MobileSeg<pms::Tiny, pms::Int8>;
constexpr const char* kModelName = "Tiny int8";
#else
using Model = pms::MobileSeg<pms::Tiny>;
constexpr const char* kModelName = "Tiny fp32";
#endif

// The image size this build serves: the self-test image of the weights (weights/FORMAT.md:
// h = 56, w = 72) and the CamVid class count.
constexpr int kHeight = 56, kWidth = 72, kClasses = 11;

// segment() needs workspace_size(...); self_test() additionally keeps its own h*w label
// map at the end (self_test_workspace_size()). Any alignment works.
constexpr std::size_t kSegmentBytes = Model::workspace_size({kHeight, kWidth, kClasses});
constexpr std::size_t kWorkspaceBytes = kSegmentBytes + static_cast<std::size_t>(kHeight) * kWidth;
static_assert(kSegmentBytes > 0, "workspace_size is a constant expression");

std::byte workspace[kWorkspaceBytes];
Model model;  // a few KB of tensor views into the weights
std::uint8_t labels[kHeight * kWidth];

enum class Step { none, load, dims, self_test, selftest_tensors, segment, check };

struct Result {
  Step failed = Step::none;
  pms::Status status = pms::Status::ok;
  int mismatches = 0;  // labels differing from the reference where the margin is clear
  int checked = 0;     // pixels compared
  int classes = 0;     // distinct classes in the label map
};

// Everything that must run without a heap. probe_heap: allocate on purpose (the test
// that the guard is live; the program must then abort).
Result run(bool probe_heap) noexcept {
  Result r;
  if (probe_heap) {
    void* (*volatile alloc)(std::size_t) noexcept = std::malloc;
    std::free(alloc(1));
  }
  if ((r.status = model.load({pms_tiny_camvid, pms_tiny_camvid_size})) != pms::Status::ok) return r.failed = Step::load, r;
  if (model.self_test_dims() != std::array<int, 2>{kHeight, kWidth} || model.num_classes() != kClasses) return r.failed = Step::dims, r;
  if (model.self_test_workspace_size() > sizeof workspace) return r.failed = Step::dims, r;
  if ((r.status = model.self_test(workspace)) != pms::Status::ok) return r.failed = Step::self_test, r;

  // The image in memory: the self-test picture (RGB, rows packed) inside the weights; the
  // reference labels and top-2 margins beside it.
  const std::uint8_t* pixels = nullptr;
  const std::uint8_t* want = nullptr;
  const float* margin = nullptr;
  const int rgb_dims[] = {kHeight, kWidth, 3};
  const int map_dims[] = {kHeight, kWidth};
  if ((r.status = model.weights().get_u8("selftest.image", rgb_dims, pixels)) != pms::Status::ok ||
      (r.status = model.weights().get_u8("selftest.labels", map_dims, want)) != pms::Status::ok ||
      (r.status = model.weights().get_f32("selftest.label_margin", map_dims, margin)) != pms::Status::ok)
    return r.failed = Step::selftest_tensors, r;

  const pms::ImageView image{pixels, kHeight, kWidth, kWidth * 3, pms::PixelFormat::rgb};
  pms::SegmentInfo info;
  r.status = model.segment(image, std::span<std::byte>(workspace, kSegmentBytes), pms::LabelMap<std::uint8_t>{labels, kHeight, kWidth, kWidth},
                           pms::SegmentOptions{}, &info);
  if (r.status != pms::Status::ok) return r.failed = Step::segment, r;
  r.classes = info.class_count;
  for (int i = 0; i < kHeight * kWidth; ++i) {
    if (!(margin[i] > Model::kSelfTestTieMargin)) continue;
    ++r.checked;
    if (labels[i] != want[i]) ++r.mismatches;
  }
  if (r.mismatches != 0 || r.checked == 0) r.failed = Step::check;
  return r;
}

const char* step_name(Step s) {
  switch (s) {
    case Step::load: return "loading the embedded weights";
    case Step::dims: return "the weights' self-test image is not 56x72 with 11 classes (rebuild for its size)";
    case Step::self_test: return "self_test";
    case Step::selftest_tensors: return "reading the self-test tensors";
    case Step::segment: return "segment";
    case Step::check: return "checking the labels";
    case Step::none: break;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const bool probe_heap = argc == 2 && std::strcmp(argv[1], "--probe-heap") == 0;
  if (argc > 1 && !probe_heap) return std::printf("usage: embedded (no arguments; --probe-heap: allocate, to test the heap guard)\n"), 2;
  const unsigned long startup_calls = g_heap_calls;
  g_heap_forbidden = true;
  const Result r = run(probe_heap);
  g_heap_forbidden = false;
  if (r.failed != Step::none) {
    std::printf("embedded: FAIL: %s", step_name(r.failed));
    if (r.status != pms::Status::ok) std::printf(": %s", pms::describe(r.status));
    if (r.failed == Step::check) std::printf(" (%d of %d pixels differ)", r.mismatches, r.checked);
    std::printf("\n");
    return 1;
  }
  std::printf(
      "embedded: OK: %s weights in the binary (%zu bytes), self-test passed, %dx%d image segmented into %d classes, %d/%d "
      "clear pixels match the reference; static workspace %zu bytes, 0 heap allocations (%lu by the runtime before main)\n",
      kModelName, pms_tiny_camvid_size, kWidth, kHeight, r.classes, r.checked, r.checked, sizeof workspace, startup_calls);
  return 0;
}

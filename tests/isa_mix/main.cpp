// One program holding the Tiny model compiled for SSE2, AVX2+FMA and AVX-512 (three
// translation units, see meson.build), as a user's dispatching binary would. Checks that
// each level runs its own pms code (pms's inline functions are distinct symbols per level:
// pms::PMS_ISA_NS in pms/simd/simd.hpp) and that all levels give identical label maps with
// the fp32 and the int8 Tiny models (the int8 network's bits are the same on every ISA:
// weights/FORMAT.md 7.8, and model/test_int8_identity.cpp checks them per build).
// Built without ISA flags; a level the CPU lacks is not called. Exit 77 (skipped) without AVX2.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <vector>

#include "isa_mix.hpp"
#include "noisy_gradients.hpp"
#include "pms/core/status.hpp"

namespace {

using isa_mix::Run;

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("FAILED: %s\n", what.c_str());
  }
}

struct Labels {
  std::vector<std::uint8_t> exact, vim, int8;
};

using Entry = Run (*)(const std::byte*, std::size_t, const std::byte*, std::size_t, const std::uint8_t*, int, int, std::uint8_t*,
                      std::uint8_t*, std::uint8_t*);

// A weights file in 64-byte aligned memory (pms reads weights in place); empty if unreadable.
struct Weights {
  std::byte* data = nullptr;
  std::size_t size = 0;
  explicit Weights(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    const std::vector<char> raw((std::istreambuf_iterator<char>(file)), {});
    if (raw.empty()) return;
    data = new (std::align_val_t{64}) std::byte[raw.size()];
    std::memcpy(data, raw.data(), raw.size());
    size = raw.size();
  }
  ~Weights() { ::operator delete[](data, std::align_val_t{64}); }
  Weights(const Weights&) = delete;
  Weights& operator=(const Weights&) = delete;
};

std::size_t differing(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return n;
}

}  // namespace

int main() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::printf("this CPU lacks AVX2+FMA: skipping\n");
    return 77;
  }
  const bool has_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512cd");

  const std::string dir = std::string(PMS_SOURCE_DIR) + "/weights/";
  const Weights weights(dir + "pp_mobileseg_tiny_camvid.pms"), int8(dir + "pp_mobileseg_tiny_camvid_int8.pms");
  if (weights.size == 0 || int8.size == 0) return std::printf("FAILED: cannot read the Tiny weights in %s\n", dir.c_str()), 1;

  const int height = 97, width = 131;
  const std::vector<std::uint8_t> rgb = pms::test::noisy_gradients(height, width);
  const std::size_t pixels = static_cast<std::size_t>(height) * width;

  struct Level {
    const char* name;
    Entry entry;
    bool runs_here;
    Run run{};
    Labels labels{};
  };
  std::vector<Level> levels = {{"sse2", isa_mix::segment_sse2, true},
                               {"avx2", isa_mix::segment_avx2, true},
                               {"avx512", isa_mix::segment_avx512, has_avx512}};
  for (Level& l : levels) {
    if (!l.runs_here) {
      std::printf("%s: not run (this CPU lacks AVX-512)\n", l.name);
      continue;
    }
    l.labels = {std::vector<std::uint8_t>(pixels, 255), std::vector<std::uint8_t>(pixels, 255), std::vector<std::uint8_t>(pixels, 255)};
    l.run = l.entry(weights.data, weights.size, int8.data, int8.size, rgb.data(), height, width, l.labels.exact.data(),
                    l.labels.vim.data(), l.labels.int8.data());
    std::printf("%s: compiled as %s, segment %s / %s, int8 %s\n", l.name, l.run.isa,
                pms::describe(static_cast<pms::Status>(l.run.status_exact)), pms::describe(static_cast<pms::Status>(l.run.status_vim)),
                pms::describe(static_cast<pms::Status>(l.run.status_int8)));
    check(l.run.status_exact == static_cast<int>(pms::Status::ok) && l.run.status_vim == static_cast<int>(pms::Status::ok) &&
              l.run.status_int8 == static_cast<int>(pms::Status::ok),
          std::string(l.name) + ": segment() not ok");
  }

  // Sanity of the reference: CamVid Tiny has 11 classes; a map of one class would compare trivially.
  const Labels& ref = levels[0].labels;
  bool seen[256] = {};
  for (std::uint8_t v : ref.exact) seen[v] = true;
  int classes = 0;
  for (int c = 0; c < 256; ++c) classes += seen[c];
  check(classes >= 2, "sse2: the label map holds " + std::to_string(classes) + " class(es); the comparison would prove little");
  for (int c = 11; c < 256; ++c) check(!seen[c], "sse2: label " + std::to_string(c) + " is not a CamVid class");

  for (std::size_t i = 0; i < levels.size(); ++i) {
    if (!levels[i].runs_here) continue;
    for (std::size_t j = i + 1; j < levels.size(); ++j) {
      if (!levels[j].runs_here) continue;
      const Level &a = levels[i], &b = levels[j];
      const std::string pair = std::string(a.name) + " and " + b.name;
      check(std::strcmp(a.run.isa, b.run.isa) != 0, pair + ": both compiled as " + a.run.isa);
      check(a.run.gather_channels != b.run.gather_channels,
            pair + ": one pms::kernels::gather_channels for both (ISA namespaces clash)");
      check(a.run.argmax_channels != b.run.argmax_channels,
            pair + ": one pms::kernels::argmax_channels<uint8_t> for both (ISA namespaces clash)");
      check(differing(a.labels.exact, b.labels.exact) == 0,
            pair + ": " + std::to_string(differing(a.labels.exact, b.labels.exact)) + " exact-mode labels differ");
      check(differing(a.labels.vim, b.labels.vim) == 0,
            pair + ": " + std::to_string(differing(a.labels.vim, b.labels.vim)) + " VIM labels differ");
      check(differing(a.labels.int8, b.labels.int8) == 0,
            pair + ": " + std::to_string(differing(a.labels.int8, b.labels.int8)) + " int8 labels differ");
    }
  }

  std::printf("%s: %d classes in the map, %zu pixels compared per mode (exact, VIM, int8) and level\n", failures == 0 ? "OK" : "FAILED", classes,
              pixels);
  return failures == 0 ? 0 : 1;
}

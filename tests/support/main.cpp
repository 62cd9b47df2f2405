// The doctest main shared by every test executable. Built without ISA flags, so that it can
// tell an unsupported machine apart before any AVX2/AVX-512 code runs: the build system
// passes the CPU feature an executable needs in PMS_TEST_REQUIRE_CPU, and an executable the
// CPU cannot run exits 77, which meson reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include "test_support.hpp"

namespace {

bool cpu_supports(const char* feature) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (std::strcmp(feature, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (std::strcmp(feature, "avx512bw") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
  // The int8 dot-product extensions (tests/meson.build: int8_dot_levels).
  if (std::strcmp(feature, "avx512vnni") == 0) return cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
  // AVX-VNNI through CPUID (leaf 7, subleaf 1, EAX bit 4): clang 14's __builtin_cpu_supports
  // does not know "avxvnni".
  if (std::strcmp(feature, "avxvnni") == 0) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    return cpu_supports("avx2") && __get_cpuid_count(7, 1, &a, &b, &c, &d) != 0 && (a & (1u << 4)) != 0;
  }
#endif
#if defined(__aarch64__) && defined(__linux__)
  if (std::strcmp(feature, "asimddp") == 0) return (getauxval(AT_HWCAP) & (1ul << 20)) != 0;  // HWCAP_ASIMDDP
#endif
  (void)feature;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const char* need = std::getenv("PMS_TEST_REQUIRE_CPU");
  if (need != nullptr && *need != '\0' && !cpu_supports(need)) {
    std::printf("this CPU lacks %s: skipping\n", need);
    return 77;
  }
  std::printf("pms tests: seed %llu (set PMS_TEST_SEED to override)\n",
              static_cast<unsigned long long>(pms::test::seed()));
  doctest::Context context(argc, argv);
  return context.run();
}

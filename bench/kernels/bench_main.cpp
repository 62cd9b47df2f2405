// The main of the kernel microbenchmarks.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();

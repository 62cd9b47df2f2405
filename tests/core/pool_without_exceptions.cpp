// ThreadPool built without exceptions (as firmware is): when the system refuses threads, the
// pool runs with those it got instead of aborting. Exit 0: pass, 1: fail, 77: skipped (the
// address-space limit is not enforced here, as under qemu-user).
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "pms/core/parallel.hpp"

#if defined(__cpp_exceptions)
#error "build this test with -fno-exceptions"
#endif

int main() {
  rlimit old{};
  if (getrlimit(RLIMIT_AS, &old) != 0) return std::puts("getrlimit failed"), 1;
  long pages = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  if (pages <= 0) return std::puts("cannot read /proc/self/statm"), 1;
  // Room for the first worker's stack (8 MiB by default), not for 63 of them.
  rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + (12u << 20);
  if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < tight.rlim_cur) tight.rlim_cur = old.rlim_cur;
  if (setrlimit(RLIMIT_AS, &tight) != 0) return std::puts("setrlimit failed"), 1;

  int started = 0, wrong_rows = 0;
  {
    pms::ThreadPool pool(64);
    started = pool.threads();
    setrlimit(RLIMIT_AS, &old);
    std::atomic<int> covered[100] = {};
    pool.for_chunks(100, [&](pms::RowRange r, int) {
      for (int y = r.begin; y < r.end; ++y) covered[y].fetch_add(1);
    });
    for (const auto& c : covered) wrong_rows += c.load() != 1;
  }
  std::printf("ThreadPool(64) under a tight address-space limit started %d threads; %d rows covered wrongly\n", started,
              wrong_rows);
  if (wrong_rows != 0) return 1;
  if (started == 64) return std::puts("the limit was not enforced: skipped"), 77;
  return started >= 1 ? 0 : 1;
}

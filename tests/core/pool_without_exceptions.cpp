// ThreadPool built without exceptions (as firmware is): when the system refuses threads, the
// pool runs with those it got instead of aborting. Exit 0: pass, 1: fail, 77: skipped (the
// address-space limit is not enforced here, as under qemu-user).
#include <atomic>
#include <cstddef>
#include <cstdio>

#include "address_space_limit.hpp"
#include "pms/core/thread_pool.hpp"

#if defined(__cpp_exceptions)
#error "build this test with -fno-exceptions"
#endif

int main() {
  // Room for the first worker's stack (8 MiB by default), not for 63 of them.
  pms::test::AddressSpaceLimit limit(std::size_t{12} << 20);
  if (!limit.active()) return std::puts("could not lower the address-space limit"), 1;

  int started = 0, wrong_rows = 0;
  {
    pms::ThreadPool pool(64);
    started = pool.threads();
    if (!limit.restore()) return std::puts("could not restore the address-space limit"), 1;
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

// ThreadPool: every chunk of every call runs exactly once, on the rows Serial would give it,
// and nothing of a call still runs once for_chunks has returned. The stress case mixes calls
// with fewer rows than threads (idle workers sit a call out) with full ones, which is where a
// worker that falls behind by a call could pick up the wrong job.
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

#include "pms/core/thread_pool.hpp"

#if defined(__linux__)
#include "address_space_limit.hpp"
#endif

namespace {

using pms::RowRange;
using pms::ThreadPool;

constexpr int kMaxThreads = 8;

}  // namespace

TEST_CASE("ThreadPool splits rows into contiguous chunks that cover them once") {
  for (int threads : {1, 2, 3, 4, kMaxThreads}) {
    ThreadPool pool(threads);
    CHECK(pool.threads() == threads);
    for (int rows : {0, 1, 2, 3, 5, 7, 64}) {
      CAPTURE(threads);
      CAPTURE(rows);
      std::vector<std::atomic<int>> covered(static_cast<std::size_t>(rows) + 1);
      std::array<RowRange, kMaxThreads> seen{};
      std::array<std::atomic<int>, kMaxThreads> calls{};
      pool.for_chunks(rows, [&](RowRange r, int chunk) {
        calls[chunk].fetch_add(1);
        seen[chunk] = r;
        for (int y = r.begin; y < r.end; ++y) covered[y].fetch_add(1);
      });
      const int chunks = rows < threads ? rows : threads;
      for (int c = 0; c < kMaxThreads; ++c) CHECK(calls[c].load() == (c < chunks ? 1 : 0));
      for (int y = 0; y < rows; ++y) CHECK(covered[y].load() == 1);
      for (int c = 1; c < chunks; ++c) CHECK(seen[c].begin == seen[c - 1].end);  // contiguous, in order
      if (chunks > 0) CHECK(seen[chunks - 1].end == rows);
    }
  }
}

TEST_CASE("ThreadPool: calls with idle workers and full calls in quick succession") {
#ifdef PMS_TEST_SMALL
  constexpr int kCalls = 20000;
#else
  constexpr int kCalls = 100000;
#endif
  // A stress test: races show up by chance. More threads than this machine has cores, so
  // workers get preempted mid-call and contend for the pool's mutex. Against a pool that let
  // a worker pair an old generation with a newer job, about a third of native runs and half
  // of those under qemu failed (a chunk run twice) or hung.
  ThreadPool pool(kMaxThreads);
  std::atomic<int> running{0};
  std::array<std::atomic<int>, kMaxThreads> calls{};
  int bad_calls = 0, late_chunks = 0;
  // One function object for all calls, so a chunk that ran late or twice is counted, not UB.
  auto body = [&](RowRange, int chunk) {
    running.fetch_add(1);
    calls[chunk].fetch_add(1);
    running.fetch_sub(1);
  };
  for (int i = 0; i < kCalls; ++i) {
    for (auto& c : calls) c.store(0);
    const int rows = 1 + i % (kMaxThreads + 1);  // fewer rows than threads leave workers idle
    pool.for_chunks(rows, body);
    if (running.load() != 0) ++late_chunks;
    const int chunks = rows < kMaxThreads ? rows : kMaxThreads;
    for (int c = 0; c < kMaxThreads; ++c)
      if (calls[c].load() != (c < chunks ? 1 : 0)) {
        ++bad_calls;
        break;
      }
  }
  CHECK(bad_calls == 0);
  CHECK(late_chunks == 0);
}

#if defined(__linux__) && defined(__cpp_exceptions)
TEST_CASE("ThreadPool keeps the threads it could start when the system refuses more") {
  // Room for the first worker's stack (8 MiB by default), not for many more.
  pms::test::AddressSpaceLimit limit(std::size_t{12} << 20);
  REQUIRE(limit.active());
  int started = 0;
  {
    ThreadPool pool(64);  // would need about 500 MiB of stacks
    started = pool.threads();
    REQUIRE(limit.restore());
    std::vector<std::atomic<int>> covered(100);
    pool.for_chunks(100, [&](RowRange r, int) {
      for (int y = r.begin; y < r.end; ++y) covered[y].fetch_add(1);
    });
    for (int y = 0; y < 100; ++y) CHECK(covered[y].load() == 1);
  }
  if (started == 64) {
    MESSAGE("the address-space limit was not enforced here (an emulator?): nothing refused");  // qemu-user
  } else {
    CHECK(started >= 1);
    CHECK(started < 64);
  }
}
#endif

TEST_CASE("ThreadPool shared by several calling threads") {
  // Two callers (say two models on two camera streams) share one pool; each call must still
  // run each of its own chunks once.
  ThreadPool pool(3);
  constexpr int kCallers = 2, kCallsEach = 3000;
  std::array<int, kCallers> bad{};
  auto caller = [&](int who) {
    for (int i = 0; i < kCallsEach; ++i) {
      const int rows = 2 + (i + who) % 4;
      std::array<std::atomic<int>, 8> covered{};
      pool.for_chunks(rows, [&](RowRange r, int) {
        for (int y = r.begin; y < r.end; ++y) covered[y].fetch_add(1);
      });
      for (int y = 0; y < rows; ++y)
        if (covered[y].load() != 1) {
          ++bad[who];
          break;
        }
    }
  };
  std::thread other(caller, 1);
  caller(0);
  other.join();
  CHECK(bad[0] == 0);
  CHECK(bad[1] == 0);
}

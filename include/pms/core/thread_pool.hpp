// pms/core/thread_pool.hpp: ThreadPool, the executor that splits rows across threads
// (opt-in: include it next to pms/mobileseg.hpp; see pms/core/executor.hpp).
//
// ThreadPool keeps N-1 workers parked between calls; starting them allocates (thread stacks),
// so create the pool once, outside inference. for_chunks itself does not allocate. Several
// threads may share one pool (two models, two camera streams): their calls take turns.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <type_traits>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define PMS_THREAD_POOL_PTHREADS 1  // workers are pthreads: a refused thread is an error code
#endif

#include "pms/core/executor.hpp"
#include "pms/core/tensor.hpp"

namespace pms {

// A pause inside spin loops (lets the sibling hyper-thread run, saves power).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until done() or about 0.1-1 ms have passed; returns done(). Every 256 pauses (a few
// microseconds) it offers the core to the scheduler: with more threads than free cores, the
// thread being waited for may be queued behind the spinner, and each call could take a whole
// time slice (measured: 700 us against 27 us per call, 8 threads on 2 cores). With nothing
// else runnable the yield returns at once; the 2-thread pass times did not move.
template <class Done>
bool spin_until(Done&& done) noexcept {
  constexpr int kSpins = 20000, kYieldEvery = 256;
  for (int spin = 1; spin <= kSpins; ++spin) {
    if (done()) return true;
    cpu_relax();
    if (spin % kYieldEvery == 0) std::this_thread::yield();
  }
  return done();
}

class ThreadPool {
 public:
  // threads >= 1 counts the calling thread; ThreadPool(1) behaves like Serial. If the system
  // refuses a thread (thread or memory limits), the pool keeps those it started and threads()
  // says how many that makes; size workspaces by threads(). With POSIX threads this needs no
  // exceptions; elsewhere it relies on std::thread throwing (without exceptions it aborts).
  explicit ThreadPool(int threads) noexcept {
    const int wanted = std::max(threads, 1);
    if (wanted == 1) return;
    workers_.reset(new (std::nothrow) Worker[static_cast<std::size_t>(wanted - 1)]);
    if (!workers_) return;
    for (int i = 1; i < wanted; ++i) {
      Worker& w = workers_[static_cast<std::size_t>(i - 1)];
      w.pool = this;
      w.index = i;
      if (!start(w)) break;
      count_ = i + 1;
    }
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (int i = 0; i < count_ - 1; ++i) join(workers_[static_cast<std::size_t>(i)]);
  }

  int threads() const noexcept { return count_; }

  // Splits [0, rows) into one contiguous chunk per thread and runs f(range, chunk) on each;
  // returns when all chunks are done. Chunk i is the same for every call with the same rows.
  // A forward pass makes hundreds of such calls a few microseconds apart, so both sides
  // spin briefly before they sleep on a condition variable. f must not call for_chunks on
  // the same pool (the call would wait for itself).
  template <class F>
  void for_chunks(int rows, F&& f) noexcept {
    if (rows <= 0) return;
    const int chunks = std::min(count_, rows);
    if (chunks == 1) {
      f(RowRange{0, rows}, 0);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    const std::lock_guard<std::mutex> one_call_at_a_time(caller_mutex_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = {[](void* ctx, RowRange r, int chunk) { (*static_cast<Fn*>(ctx))(r, chunk); },
              const_cast<void*>(static_cast<const void*>(&f)), rows, chunks};
      pending_.store(chunks - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_chunk(job_, 0);
    if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    }
  }

 private:
  struct Job {
    void (*call)(void*, RowRange, int) = nullptr;
    void* context = nullptr;
    int rows = 0;
    int chunks = 0;
  };

  struct Worker {
    ThreadPool* pool = nullptr;
    int index = 0;  // its chunk, 1..threads()-1
#if defined(PMS_THREAD_POOL_PTHREADS)
    pthread_t thread{};
#else
    std::thread thread;
#endif
  };

  static void* worker_entry(void* worker) noexcept {
    Worker& w = *static_cast<Worker*>(worker);
    w.pool->worker_loop(w.index);
    return nullptr;
  }

#if defined(PMS_THREAD_POOL_PTHREADS)
  static bool start(Worker& w) noexcept { return pthread_create(&w.thread, nullptr, &worker_entry, &w) == 0; }
  static void join(Worker& w) noexcept { pthread_join(w.thread, nullptr); }
#else
  static bool start(Worker& w) noexcept {
#if defined(__cpp_exceptions)
    try {
      w.thread = std::thread(&worker_entry, &w);
    } catch (...) {
      return false;
    }
#else
    w.thread = std::thread(&worker_entry, &w);
#endif
    return true;
  }
  static void join(Worker& w) noexcept { w.thread.join(); }
#endif

  static void run_chunk(const Job& job, int i) noexcept {
    const RowRange r{job.rows * i / job.chunks, job.rows * (i + 1) / job.chunks};
    job.call(job.context, r, i);
  }

  void worker_loop(int index) noexcept {
    std::uint64_t seen = 0;
    for (;;) {
      if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      }
      // The generation and its job are read together under the lock they are written under.
      // A worker that sat out a call (index >= chunks) may fall behind while the next call is
      // published; reading the generation alone and the job later could pair an old
      // generation with a newer job, run that job's chunk twice and unbalance pending_.
      Job job;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
        seen = generation_.load(std::memory_order_relaxed);
        job = job_;
      }
      if (index >= job.chunks) continue;
      run_chunk(job, index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  int count_ = 1;                      // calling thread + workers started
  std::unique_ptr<Worker[]> workers_;  // threads() - 1 of them started
  std::mutex caller_mutex_;  // held by the thread whose call the workers run
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  Job job_;
  std::atomic<int> pending_{0};
  std::atomic<std::uint64_t> generation_{0};
  bool stopping_ = false;
};

static_assert(Executor<ThreadPool>, "ThreadPool is an executor.");

}  // namespace pms

// pms/layers/run_context.hpp: what a layer's forward pass runs with.
//
// Every forward pass is written once and runs in two modes:
//  * measuring (arena without memory): only the allocations happen, so the workspace size is
//    the peak of the very allocation sequence inference uses; usable in constant expressions;
//  * live: the same allocations hand out workspace memory and the kernels run.
#pragma once

#include "pms/core/arena.hpp"
#include "pms/core/executor.hpp"

namespace pms {

template <class Exec>
struct RunContext {
  Arena& arena;
  Exec& exec;
  bool live;  // false while measuring: kernels are skipped

  // f(RowRange) over [0, rows), split across the executor's threads.
  template <class F>
  constexpr void rows(int rows, F&& f) {
    if (live) exec.for_chunks(rows, [&](RowRange r, int) { f(r); });
  }
  // f(RowRange, int chunk): for kernels with per-thread scratch (chunk < exec.threads()).
  template <class F>
  constexpr void chunks(int rows, F&& f) {
    if (live) exec.for_chunks(rows, f);
  }
  // f() once, on the calling thread (whole-tensor reductions, tiny matrices).
  template <class F>
  constexpr void once(F&& f) {
    if (live) f();
  }
};

}  // namespace pms

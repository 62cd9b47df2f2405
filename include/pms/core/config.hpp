// pms/core/config.hpp: build-time switches and the debug assert.
//
// PMS_ASSERT checks kernel preconditions in debug builds (NDEBUG unset). A user may define
// PMS_ASSERT before including pms to route failures elsewhere (firmware: a trap or a log).
#pragma once

#ifndef PMS_ASSERT
#ifdef NDEBUG
#define PMS_ASSERT(cond) ((void)0)
#else
#include <cstdio>
#include <cstdlib>
#define PMS_ASSERT(cond) \
  ((cond) ? (void)0 : (std::fprintf(stderr, "%s:%d: pms assertion failed: %s\n", __FILE__, __LINE__, #cond), std::abort()))
#endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PMS_RESTRICT __restrict__
#define PMS_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define PMS_RESTRICT
#define PMS_ALWAYS_INLINE inline
#endif

// Assertions that stay on in every build, release included (TigerBeetle's
// habit): a broken pre- or postcondition of the engine stops the process
// before a wrong balance reaches the journal, instead of being compiled away
// with NDEBUG. Keep what they check O(1); the engine runs them on every order.
// The books' and tables' own structural checks stay debug-only `assert`s:
// check_invariants(), the differential test and the fuzzers cover them, and
// on the hottest loops they cost measurable throughput (docs/perf-notes.md,
// "always-on assertions").
//
// Here rather than in matching/: settlement/ sits below matching/ and uses
// them too, and must not depend on it.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace gpux::detail {

// Out of line and cold: each check costs the hot path a compare and a
// never-taken branch, not the code of the report.
[[noreturn]] [[gnu::cold]] [[gnu::noinline]] inline void assert_failed(const char* expression,
                                                                       const char* message,
                                                                       const char* file,
                                                                       int line) noexcept {
  std::fprintf(stderr, "%s:%d: assertion failed: %s%s%s\n", file, line, expression,
               message != nullptr ? ": " : "", message != nullptr ? message : "");
  std::abort();
}

}  // namespace gpux::detail

// Aborts with file:line and the expression unless `condition` holds.
#define GPUX_ASSERT(condition)                       \
  (__builtin_expect(static_cast<bool>(condition), 1) \
       ? static_cast<void>(0)                        \
       : ::gpux::detail::assert_failed(#condition, nullptr, __FILE__, __LINE__))

// The same, with a sentence saying what the condition promises.
#define GPUX_ASSERT_MSG(condition, message)          \
  (__builtin_expect(static_cast<bool>(condition), 1) \
       ? static_cast<void>(0)                        \
       : ::gpux::detail::assert_failed(#condition, message, __FILE__, __LINE__))

// Test sizes an operator may raise for a longer run (GPUX_CRASH_KILLS=200).
#pragma once

#include <cstdlib>

namespace gpux::test {

// The whole number in the environment variable `name`, or `fallback` when unset.
inline std::size_t count_from_environment(const char* name, std::size_t fallback) {
  const char* value = std::getenv(name);
  return value ? std::strtoull(value, nullptr, 10) : fallback;
}

}  // namespace gpux::test

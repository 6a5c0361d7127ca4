// Waiting for something another process does (a log line, a file gone, a
// process exited) without sleeping a guessed time: poll it, with a bound.
#pragma once

#include <chrono>
#include <thread>

namespace gpux::test {

// Polls `done` every 20 ms for at most `bound`; whether it came true.
template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace gpux::test

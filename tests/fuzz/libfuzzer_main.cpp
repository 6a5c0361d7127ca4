// libFuzzer entry point (clang only; see ops/fuzz): a problem is a crash.
// Each fuzzer target compiles it with its harness: GPUX_FUZZ_HEADER names
// the header, GPUX_FUZZ_CASE the function (bytes -> problem, empty if none).
#include <cstdio>
#include <cstdlib>

#include GPUX_FUZZ_HEADER

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string problem = GPUX_FUZZ_CASE(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}

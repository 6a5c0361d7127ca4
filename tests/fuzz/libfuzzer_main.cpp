// libFuzzer entry point (clang only; see ops/fuzz): a problem is a crash.
#include <cstdio>
#include <cstdlib>

#include "engine_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string problem = gpux::test::run_engine_fuzz_case(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "engine fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}

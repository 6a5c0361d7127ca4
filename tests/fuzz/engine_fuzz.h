// Fuzz harness for the engine: bytes become a command stream (every byte
// string is a valid stream; many commands in it are invalid on purpose) that
// is applied to both book implementations. Returns the first problem: events
// that differ, a broken invariant, or a state-hash mismatch; empty if none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gpux::test {

std::string run_engine_fuzz_case(const std::uint8_t* data, std::size_t size);

}  // namespace gpux::test

// Fuzz harness for the provider API's frames as the exchange reads them: the
// exchange challenges a provider's two GPUs at once (prove_concurrently), and
// its every answer batch is built from the bytes.
// Most answers are of the kind asked for, with fields of fuzzed sizes and
// contents (nonces, roots, lanes, results, Merkle paths, tiles, strips);
// others are raw bytes (a length header of any size, garbage) or a frame of
// the wrong kind. They are read through read_frame and prove_concurrently into the
// Verifier, as gpuxd reads a provider's. Returns the first problem: an
// exception other than WireError, or a proof that passes (random bytes never
// match the committed work); empty if none. A crash or a sanitizer report
// is a problem too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gpux::test {

std::string run_provider_frame_fuzz_case(const std::uint8_t* data, std::size_t size);

// How far the cases run so far went, so that a test can tell the harness
// still reaches the verifier's checks.
struct ProviderFrameFuzzReach {
  long cases = 0;
  long lanes_received = 0;  // the verifier asked for lanes and got an answer of that kind
  long tiles_received = 0;  // ... tiles
  long finished = 0;        // the verifier reached its verdict
};
ProviderFrameFuzzReach provider_frame_fuzz_reach();

}  // namespace gpux::test

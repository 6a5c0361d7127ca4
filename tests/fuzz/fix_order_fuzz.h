// Fuzz harness for FIX order entry below QuickFIX's parser: bytes choose an
// order message (type, then fields from the tags order entry reads and any
// others, with values that sit on its rules' edges or are random), which is
// framed, parsed and validated against gpux's dictionary as a session would,
// then read by read_order_message. Returns the first problem: a request
// let through that breaks what OrderMessage promises, an exception that is
// not the session's to answer, or an answer that differs on a second read;
// empty if none. A crash or sanitizer report is a problem too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gpux {
namespace test {

std::string run_fix_order_fuzz_case(const std::uint8_t* data, std::size_t size);

// How far the cases run so far went, so that a test can tell the harness
// still reaches order entry (a dictionary it cannot load rejects everything).
struct FixOrderFuzzReach {
  long cases = 0;
  long read = 0;      // passed validation and were read by read_order_message
  long accepted = 0;  // ... and came out as requests to submit
};
FixOrderFuzzReach fix_order_fuzz_reach();

}  // namespace test
}  // namespace gpux

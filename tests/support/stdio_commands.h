// Engine commands on gpuxd's framed command stream (--stdio,
// proto/command_stream.proto) for the C++14 FIX tests, which cannot include
// the generated classes or the engine's types: what no FIX client can ask
// for (gate closure, a provider agent's report of a delivery), and what the
// acknowledgement says, in plain types. stdio_commands.cpp (C++20) builds
// them with the engine's own codec, so they follow proto/engine.proto.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gpux {
namespace test {

// matching::InstrumentState, the ones the tests move an instrument to.
enum class StdioInstrumentState { gate_closed, delivering, settled };

// matching::DeliveryStage, as a provider's agent reports it.
enum class StdioDeliveryStage { opened, failed, revoked };

// matching::DeliveryAccess.
struct StdioDeliveryAccess {
  StdioDeliveryStage stage = StdioDeliveryStage::opened;
  std::string host;
  std::uint16_t port = 0;
  std::string user;
  std::string host_key_fingerprint;
  std::string detail;
  std::uint32_t processes_ended = 0;
};

// A gpux.proto.Command's bytes, for stdio_execute().
// ChangeInstrumentState.
std::string stdio_change_state(std::uint32_t instrument, StdioInstrumentState state);
// RecordDelivery: the provider's agent's report of `trade`.
std::string stdio_record_delivery(std::uint64_t trade, const StdioDeliveryAccess& access);

// The kinds of event the tests look for in an acknowledgement.
enum class StdioEvent { obligation_created, delivery_recorded, other };

struct StdioAcknowledgement {
  // Empty, or why there is no acknowledgement: gpuxd refused the frame,
  // closed its command stream, or wrote nothing in time.
  std::string error;
  std::vector<StdioEvent> events;  // the acknowledged command's, in order
};

// Writes `command` (stdio_*'s bytes) as one frame to `to_daemon` and reads
// frames from `from_daemon` up to its acknowledgement (skipping Ready, which
// comes first, once), waiting up to `timeout_ms` for each. gpuxd writes it
// once the command is durable and its events observed.
StdioAcknowledgement stdio_execute(int to_daemon, int from_daemon, const std::string& command,
                                   int timeout_ms = 30000);

}  // namespace test
}  // namespace gpux

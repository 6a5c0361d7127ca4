#include "stdio_commands.h"

#include <poll.h>

#include <memory>
#include <stdexcept>

#include "command_stream.pb.h"
#include "daemon_commands.h"
#include "gpux/daemon/command_stream.h"

namespace gpux::test {
namespace {

matching::InstrumentState engine_state(StdioInstrumentState state) {
  switch (state) {
    case StdioInstrumentState::gate_closed:
      return matching::InstrumentState::gate_closed;
    case StdioInstrumentState::delivering:
      return matching::InstrumentState::delivering;
    case StdioInstrumentState::settled:
      return matching::InstrumentState::settled;
  }
  throw std::invalid_argument("unknown StdioInstrumentState");
}

matching::DeliveryStage engine_stage(StdioDeliveryStage stage) {
  switch (stage) {
    case StdioDeliveryStage::opened:
      return matching::DeliveryStage::opened;
    case StdioDeliveryStage::failed:
      return matching::DeliveryStage::failed;
    case StdioDeliveryStage::revoked:
      return matching::DeliveryStage::revoked;
  }
  throw std::invalid_argument("unknown StdioDeliveryStage");
}

std::string bytes_of(const matching::CommandBody& body) {
  return command_of(body).SerializeAsString();
}

StdioEvent kind_of(const proto::Event& event) {
  if (event.has_obligation_created()) return StdioEvent::obligation_created;
  if (event.has_delivery_recorded()) return StdioEvent::delivery_recorded;
  return StdioEvent::other;
}

// Whether `fd` has something to read (or its end) within `timeout_ms`.
bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

}  // namespace

std::string stdio_change_state(std::uint32_t instrument, StdioInstrumentState state) {
  return bytes_of(matching::ChangeInstrumentState{instrument, engine_state(state)});
}

std::string stdio_record_delivery(std::uint64_t trade, const StdioDeliveryAccess& access) {
  auto engine = std::make_shared<matching::DeliveryAccess>();
  engine->stage = engine_stage(access.stage);
  engine->host = access.host;
  engine->port = access.port;
  engine->user = access.user;
  engine->host_key_fingerprint = access.host_key_fingerprint;
  engine->detail = access.detail;
  engine->processes_ended = access.processes_ended;
  return bytes_of(matching::RecordDelivery{trade, std::move(engine)});
}

StdioAcknowledgement stdio_execute(int to_daemon, int from_daemon, const std::string& command,
                                   int timeout_ms) {
  proto::Command message;
  if (!message.ParseFromString(command)) return {"not a gpux.proto.Command's bytes", {}};
  if (!daemon::write_all(to_daemon, daemon::frame(message)))
    return {"gpuxd closed its command stream", {}};
  const std::string silent = "gpuxd wrote nothing for " + std::to_string(timeout_ms / 1000) + " s";
  for (;;) {
    char header[4];
    if (!readable(from_daemon, timeout_ms)) return {silent, {}};
    if (!daemon::read_exact(from_daemon, header, sizeof header))
      return {"gpuxd closed its command stream", {}};
    std::string body(daemon::frame_length(std::string_view(header, sizeof header)), '\0');
    if (!body.empty() && !readable(from_daemon, timeout_ms)) return {silent, {}};
    if (!daemon::read_exact(from_daemon, body.data(), body.size()))
      return {"gpuxd closed its command stream", {}};
    proto::StreamMessage answer;
    if (!answer.ParseFromString(body)) return {"gpuxd wrote an unreadable frame", {}};
    if (answer.has_error()) return {"gpuxd refused the frame: " + answer.error().message(), {}};
    if (!answer.has_acknowledgement()) continue;  // Ready
    StdioAcknowledgement out;
    for (const proto::Event& event : answer.acknowledgement().events())
      out.events.push_back(kind_of(event));
    return out;
  }
}

}  // namespace gpux::test

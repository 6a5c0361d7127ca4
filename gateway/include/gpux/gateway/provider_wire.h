// The provider API's wire, shared by gpuxd and the provider tools: frames
// (4-byte big-endian length + one ProviderFrame) over a blocking Asio TCP
// socket, and the proof protocol carried on them. During a proof the exchange
// holds a RemoteProver, a verify::Prover whose every call is a request on the
// connection; the provider answers each request from its local prover with
// answer_proof_requests. So the verifier, its timing and its checks are the
// same code in-process and over the network.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "gpux/verify/prover.h"
#include "provider.pb.h"

namespace gpux::gateway::provider {

using Frame = proto::provider::ProviderFrame;
using Socket = boost::asio::ip::tcp::socket;

// The connection closed, stalled past its deadline, or sent what is not a
// frame; the message says which. The connection is unusable afterwards.
struct WireError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The peer closed the connection between frames: the normal end of a session.
struct ConnectionClosed : WireError {
  using WireError::WireError;
};

inline constexpr std::size_t kDefaultMaxFrameBytes = 64u << 20;

void write_frame(Socket& socket, const Frame& frame);

// Waits at most `timeout` for the frame to start and for each part of it.
Frame read_frame(Socket& socket, std::size_t max_bytes, std::chrono::milliseconds timeout);

// "host:port" -> a connected socket; throws WireError naming what failed.
void connect(Socket& socket, const std::string& address);

// The name of a frame's message, for errors and logs: "step_commitment".
std::string frame_type(const Frame& frame);

class RemoteProver final : public verify::Prover {
 public:
  RemoteProver(Socket& socket, std::size_t max_frame_bytes, std::chrono::milliseconds timeout)
      : socket_(socket), max_frame_bytes_(max_frame_bytes), timeout_(timeout) {}

  verify::MemoryCommitment run_memory_phase() override;
  std::vector<verify::LaneOpening> open_lanes(std::span<const std::uint32_t> lanes) override;
  verify::StepCommitment run_step() override;
  verify::StepOpening open_tiles(std::span<const verify::TilePosition> tiles) override;

 private:
  Frame ask(const Frame& request, Frame::BodyCase answer);
  Socket& socket_;
  std::size_t max_frame_bytes_;
  std::chrono::milliseconds timeout_;
};

// The ChallengeStart's challenge; throws WireError for an unknown profile or
// a malformed nonce.
verify::Challenge challenge_of(const proto::provider::ChallengeStart& start);

// Answers proof requests with `prover` until a frame that is none arrives,
// and returns it (a ChallengeResult, QualificationResult or Error).
Frame answer_proof_requests(Socket& socket, verify::Prover& prover, std::size_t max_frame_bytes,
                            std::chrono::milliseconds timeout);

}  // namespace gpux::gateway::provider

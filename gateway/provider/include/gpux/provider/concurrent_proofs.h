// Proof of quantity: the exchange challenges all of a provider's GPUs at the
// same instant, one challenge each, over one connection, and every proof
// must meet the class's time window. One device cannot finish two proofs in
// one window (docs/verification.md, "Proof of quantity"), so N passing
// proofs need N devices.
//
// The connection carries them in lockstep (ProofBatch): the exchange sends
// one request per challenge still running, the provider answers all of them
// in one batch, and the exchange times every answer by the batch's arrival.
// Both sides stay single-threaded on the connection; the provider's devices
// compute a batch in parallel, one thread each.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "gpux/provider/wire.h"
#include "gpux/verify/verifier.h"

namespace gpux::provider {

// GPUs proved at once, in a qualification or a delivery round: bounds the
// verifiers and threads one round takes.
inline constexpr std::uint32_t kMaxGpusPerRound = 256;

// One of the challenges proved together. Every verifier of one call must
// have been constructed (issued) at the same instant, before the call.
struct ConcurrentChallenge {
  proto::provider::ChallengeStart start;
  verify::Verifier* verifier = nullptr;
};

// The exchange's side: drives every challenge until each has a verdict, and
// returns them in order. A challenge the provider answers with an Error, or
// answers out of protocol, fails alone (incomplete or malformed); a batch
// that is not one, or a connection that fails, throws WireError.
std::vector<verify::Verdict> prove_concurrently(Stream& stream,
                                                std::span<const ConcurrentChallenge> challenges,
                                                std::size_t max_frame_bytes,
                                                std::chrono::milliseconds timeout);

// The ChallengeStart's challenge; throws WireError for an unknown profile or
// a malformed nonce.
verify::Challenge challenge_of(const proto::provider::ChallengeStart& start);

// The provider's side: `devices` devices, one thread each. Slot s of a round
// is proved on device s; a slot beyond the devices is answered with an Error
// (a device proves one challenge at a time: sharing one between two
// challenges of a round would make both too slow).
class DeviceProvers {
 public:
  using MakeProver = std::function<std::unique_ptr<verify::Prover>(
      const proto::provider::ChallengeStart& start, std::uint32_t device)>;
  DeviceProvers(std::uint32_t devices, MakeProver make_prover);
  ~DeviceProvers();
  DeviceProvers(const DeviceProvers&) = delete;
  DeviceProvers& operator=(const DeviceProvers&) = delete;

  std::uint32_t devices() const { return static_cast<std::uint32_t>(workers_.size()); }
  // Answers one batch, every device computing at once. A prover that throws
  // answers with an Error naming what failed.
  proto::provider::ProofBatch answer(const proto::provider::ProofBatch& requests);
  // Forgets the provers of the round that ended.
  void end_round();

 private:
  struct Worker;
  MakeProver make_prover_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

// Answers ProofBatches (and Heartbeats) until another frame arrives, and
// returns it (a QualificationResult, RoundResult or Error); the round's
// provers are forgotten then.
Frame answer_proof_batches(Stream& stream, DeviceProvers& devices, std::size_t max_frame_bytes,
                           std::chrono::milliseconds timeout);

}  // namespace gpux::provider

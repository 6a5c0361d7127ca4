#include "provider_frame_fuzz.h"

#include <algorithm>
#include <array>
#include <exception>
#include <map>
#include <span>

#include "fuzz_bytes.h"
#include "gpux/provider/concurrent_proofs.h"
#include "gpux/verify/verifier.h"

namespace gpux::test {
namespace {

namespace pb = proto::provider;
using provider::Frame;

ProviderFrameFuzzReach reach;

// A small challenge, so that a case costs microseconds, and valid.
verify::Challenge small_challenge(std::uint64_t seed) {
  verify::Challenge c;
  c.nonce = verify::nonce_from_seed(seed);
  c.gpu_class = "cpu-sim";
  c.matrix_size = 64;
  c.tile_size = 16;
  c.steps = 2;
  c.memory_items = 4096;
  c.memory_parents = 8;
  c.memory_lanes = 16;
  c.memory_reads = 16;
  c.tile_openings = 4;
  c.lane_openings = 2;
  c.max_step_ns = 1'000'000'000;
  c.max_memory_ns = 1'000'000'000;
  c.slack_ns = 1'000'000'000;
  c.deadline_ns = 60'000'000'000;
  return c;
}

// A clock that advances a microsecond each time it is read: an honest pace.
class PacedClock final : public verify::Clock {
 public:
  std::int64_t now_ns() override { return now_ += 1000; }

 private:
  std::int64_t now_ = 0;
};

std::string framed(const Frame& frame) {
  const std::string body = frame.SerializeAsString();
  const auto n = static_cast<std::uint32_t>(body.size());
  return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)} +
         body;
}

// A provider that answers the exchange's requests from the fuzz bytes.
class FuzzedProvider final : public provider::Stream {
 public:
  // Slot i answers `challenges[i]`, with its own nonce: an answer moved to
  // another slot must fail there.
  FuzzedProvider(FuzzBytes& bytes, std::span<const verify::Challenge> challenges) : bytes_(bytes) {
    for (const verify::Challenge& c : challenges)
      nonces_.emplace_back(c.nonce.bytes.begin(), c.nonce.bytes.end());
  }

  void write_all(const std::string& request_bytes, std::chrono::milliseconds) override {
    Frame request;
    if (request_bytes.size() < 4 || !request.ParseFromString(request_bytes.substr(4)) ||
        request.body_case() != Frame::kProofBatch)
      throw std::logic_error("the exchange sent a malformed frame");
    if (!bytes_.done()) pending_ += answer_batch(request.proof_batch());
  }

  std::size_t read_some(char* out, std::size_t size, std::chrono::milliseconds) override {
    if (pending_.empty()) throw provider::ConnectionClosed("the fuzz input ended");
    const std::size_t n = std::min(size, pending_.size());
    std::copy_n(pending_.data(), n, out);
    pending_.erase(0, n);
    return n;
  }

 private:
  // 32 bytes mostly; any length up to 40 sometimes.
  std::string digest() { return bytes_.take(bytes_.next() < 240 ? 32 : bytes_.next() % 41); }
  std::string nonce(std::uint32_t slot) {
    return bytes_.next() < 224 ? nonces_[slot % nonces_.size()] : digest();
  }
  std::size_t count(std::size_t asked) {
    const std::uint8_t choice = bytes_.next();
    return choice < 224 ? asked : choice % 8;
  }
  template <class Repeated>
  void path(Repeated* out) {
    for (std::size_t i = 0, n = bytes_.next() % 16; i < n; ++i)
      out->Add(digest());
  }

  // One batch: answers to the requests, some of them missing, repeated, for
  // another slot, or of the wrong kind; or raw bytes, or not a batch at all.
  std::string answer_batch(const pb::ProofBatch& requests) {
    const std::uint8_t kind = bytes_.next();
    if (kind < 12) {  // raw bytes: any length header, then whatever follows
      return bytes_.take(4 + bytes_.next() % 64);
    }
    Frame reply;
    if (kind < 24) {  // the wrong kind of answer
      reply.mutable_heartbeat();
      return framed(reply);
    }
    for (const pb::ProofSlot& request : requests.slots()) {
      if (bytes_.next() < 8) continue;  // no answer for this one
      pb::ProofSlot* slot = reply.mutable_proof_batch()->add_slots();
      slot->set_slot(bytes_.next() < 240 ? request.slot() : bytes_.next());
      *slot->mutable_frame() = answer(request.slot(), request.frame());
    }
    return framed(reply);
  }

  Frame answer(std::uint32_t slot, const Frame& request) {
    Frame reply;
    if (bytes_.next() < 12) {  // the wrong kind of answer
      reply.mutable_heartbeat();
      return reply;
    }
    switch (request.body_case()) {
      case Frame::kChallengeStart: {
        auto* c = reply.mutable_memory_commitment();
        c->set_nonce(nonce(slot));
        c->set_root(digest());
        break;
      }
      case Frame::kOpenLanes: {
        ++reach.lanes_received;
        auto* out = reply.mutable_lane_openings();
        const auto& asked = request.open_lanes().lanes();
        for (std::size_t i = 0, n = count(asked.size()); i < n; ++i) {
          pb::LaneOpening* lane = out->add_lanes();
          lane->set_lane(i < static_cast<std::size_t>(asked.size()) && bytes_.next() < 224
                             ? asked[static_cast<int>(i)]
                             : bytes_.next());
          for (std::size_t w = 0, words = count(4); w < words; ++w)
            lane->add_result(bytes_.next() | std::uint32_t{bytes_.next()} << 8);
          path(lane->mutable_path());
        }
        break;
      }
      case Frame::kRunStep: {
        auto* c = reply.mutable_step_commitment();
        c->set_nonce(nonce(slot));
        c->set_step(bytes_.next() < 224 ? steps_[slot]++ : bytes_.next());
        c->set_root(digest());
        break;
      }
      case Frame::kOpenTiles: {
        ++reach.tiles_received;
        auto* out = reply.mutable_step_opening();
        const auto& asked = request.open_tiles().tiles();
        out->set_step(asked.empty() || bytes_.next() >= 224 ? bytes_.next() : asked[0].step());
        for (std::size_t i = 0, n = count(asked.size()); i < n; ++i) {
          pb::TileOpening* tile = out->add_tiles();
          const bool as_asked = i < static_cast<std::size_t>(asked.size()) && bytes_.next() < 224;
          tile->set_row(as_asked ? asked[static_cast<int>(i)].row() : bytes_.next());
          tile->set_col(as_asked ? asked[static_cast<int>(i)].col() : bytes_.next());
          tile->set_leaf(digest());
          path(tile->mutable_path());
          tile->set_strip(bytes_.take(bytes_.next() < 224 ? 16 * 64 : bytes_.next()));
          path(tile->mutable_strip_path());
        }
        break;
      }
      default:
        reply.mutable_heartbeat();
        break;
    }
    return reply;
  }

  FuzzBytes& bytes_;
  std::vector<std::string> nonces_;               // by slot
  std::map<std::uint32_t, std::uint32_t> steps_;  // by slot
  std::string pending_;
};

}  // namespace

ProviderFrameFuzzReach provider_frame_fuzz_reach() {
  return reach;
}

std::string run_provider_frame_fuzz_case(const std::uint8_t* data, std::size_t size) {
  ++reach.cases;
  // Two challenges at once, as a provider with two GPUs is challenged.
  static const std::array<verify::Challenge, 2> two = {small_challenge(7), small_challenge(8)};
  if (const auto problem = verify::validate(two[0])) return "the harness's challenge: " + *problem;
  FuzzBytes bytes(data, size);
  FuzzedProvider provider(bytes, two);
  PacedClock clock;
  const std::uint64_t secret = bytes.next();
  verify::Verifier first(two[0], secret, clock), second(two[1], secret ^ 1, clock);
  std::vector<provider::ConcurrentChallenge> challenges(2);
  challenges[0].verifier = &first;
  challenges[1].verifier = &second;
  try {
    const auto verdicts =
        provider::prove_concurrently(provider, challenges, 1u << 20, std::chrono::seconds(1));
    ++reach.finished;
    for (const verify::Verdict& verdict : verdicts)
      if (verdict.passed()) return "a proof made of fuzz bytes passed";
  } catch (const provider::WireError&) {
    // The connection is dropped, as gpuxd drops a provider's.
  } catch (const std::exception& e) {
    return std::string("an exception that is not a WireError: ") + e.what();
  }
  return "";
}

}  // namespace gpux::test

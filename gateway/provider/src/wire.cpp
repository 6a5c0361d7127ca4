#include "gpux/provider/wire.h"

#include <algorithm>
#include <cstring>

#include "gpux/verify/challenge.h"

namespace gpux::provider {

namespace pb = proto::provider;

namespace {

std::string bytes_of(const verify::Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.b), sizeof d.b);
}

std::string bytes_of(const verify::Nonce& n) {
  return std::string(reinterpret_cast<const char*>(n.bytes.data()), n.bytes.size());
}

verify::Digest digest_of(const std::string& bytes) {
  verify::Digest d{};
  if (bytes.size() != sizeof d.b)
    throw WireError("a digest of " + std::to_string(bytes.size()) + " bytes, not 32");
  std::memcpy(d.b, bytes.data(), sizeof d.b);
  return d;
}

verify::Nonce nonce_of(const std::string& bytes) {
  verify::Nonce n;
  if (bytes.size() != n.bytes.size())
    throw WireError("a nonce of " + std::to_string(bytes.size()) + " bytes, not 32");
  std::memcpy(n.bytes.data(), bytes.data(), n.bytes.size());
  return n;
}

template <class Repeated>
verify::MerklePath path_of(const Repeated& digests) {
  verify::MerklePath path;
  for (const std::string& d : digests)
    path.push_back(digest_of(d));
  return path;
}

template <class Repeated>
void put_path(const verify::MerklePath& path, Repeated* out) {
  for (const verify::Digest& d : path)
    out->Add(bytes_of(d));
}

}  // namespace

void write_frame(Stream& stream, const Frame& frame) {
  const std::string body = frame.SerializeAsString();
  const auto size = static_cast<std::uint32_t>(body.size());
  std::string bytes = {static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                       static_cast<char>(size >> 8), static_cast<char>(size)};
  bytes += body;
  try {
    stream.write_all(bytes, kWriteTimeout);
  } catch (const WireError& e) {
    throw WireError("cannot send " + frame_type(frame) + ": " + e.what());
  }
}

Frame read_frame(Stream& stream, std::size_t max_bytes, std::chrono::milliseconds timeout) {
  // One deadline for the whole frame, not one per read: a peer that trickles
  // a byte at a time must not hold its connection, and a slot, for ever.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto time_left = [&] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw WireError("a frame not completed within " + std::to_string(timeout.count()) + " ms");
    return left;
  };
  const auto read_exactly = [&](char* out, std::size_t size, bool frame_start) {
    const std::size_t wanted = size;
    while (size > 0) {
      try {
        const std::size_t n = stream.read_some(out, size, time_left());
        out += n;
        size -= n;
      } catch (const ConnectionClosed&) {
        if (frame_start && size == wanted) throw;
        throw WireError("connection closed by the peer in the middle of a frame");
      } catch (const WireError&) {
        time_left();  // the read ran into the frame's deadline: say that
        throw;
      }
    }
  };
  unsigned char header[4];
  read_exactly(reinterpret_cast<char*>(header), sizeof header, true);
  const std::size_t size = std::size_t{header[0]} << 24 | std::size_t{header[1]} << 16 |
                           std::size_t{header[2]} << 8 | header[3];
  if (size > max_bytes)
    throw WireError("a frame of " + std::to_string(size) + " bytes; the limit is " +
                    std::to_string(max_bytes));
  // Grown as the bytes arrive: a header that announces a large frame costs
  // the receiver only what the peer really sends.
  constexpr std::size_t kChunk = 64u << 10;
  std::string body;
  while (body.size() < size) {
    const std::size_t at = body.size();
    body.resize(at + std::min(kChunk, size - at));
    read_exactly(body.data() + at, body.size() - at, false);
  }
  Frame frame;
  if (!frame.ParseFromString(body)) throw WireError("a frame that is not a ProviderFrame");
  if (frame.body_case() == Frame::BODY_NOT_SET)
    throw WireError("a frame of an unknown or missing message type");
  return frame;
}

std::string frame_type(const Frame& frame) {
  const auto* field = Frame::descriptor()->FindFieldByNumber(frame.body_case());
  return field ? std::string(field->name()) : "empty frame";
}

Frame RemoteProver::ask(const Frame& request, Frame::BodyCase answer) {
  write_frame(stream_, request);
  Frame reply = read_frame(stream_, max_frame_bytes_, timeout_);
  if (reply.body_case() != answer)
    throw WireError("asked " + frame_type(request) + ", answered " + frame_type(reply));
  return reply;
}

verify::MemoryCommitment RemoteProver::run_memory_phase() {
  Frame request;
  request.mutable_run_memory_phase();
  const Frame reply = ask(request, Frame::kMemoryCommitment);
  return {nonce_of(reply.memory_commitment().nonce()), digest_of(reply.memory_commitment().root())};
}

std::vector<verify::LaneOpening> RemoteProver::open_lanes(std::span<const std::uint32_t> lanes) {
  Frame request;
  for (std::uint32_t lane : lanes)
    request.mutable_open_lanes()->add_lanes(lane);
  if (lanes.empty()) request.mutable_open_lanes();
  const Frame reply = ask(request, Frame::kLaneOpenings);
  std::vector<verify::LaneOpening> openings;
  for (const pb::LaneOpening& l : reply.lane_openings().lanes()) {
    verify::LaneOpening o;
    o.lane = l.lane();
    if (l.result_size() != 4)
      throw WireError("a lane result of " + std::to_string(l.result_size()) + " words, not 4");
    for (int i = 0; i < 4; ++i)
      o.result[i] = l.result(i);
    o.path = path_of(l.path());
    openings.push_back(std::move(o));
  }
  return openings;
}

verify::StepCommitment RemoteProver::run_step() {
  Frame request;
  request.mutable_run_step();
  const Frame reply = ask(request, Frame::kStepCommitment);
  const pb::StepCommitment& c = reply.step_commitment();
  return {nonce_of(c.nonce()), c.step(), digest_of(c.root())};
}

verify::StepOpening RemoteProver::open_tiles(std::span<const verify::TilePosition> tiles) {
  Frame request;
  auto* open = request.mutable_open_tiles();
  for (const verify::TilePosition& t : tiles) {
    pb::TilePosition* p = open->add_tiles();
    p->set_step(t.step);
    p->set_row(t.row);
    p->set_col(t.col);
  }
  const Frame reply = ask(request, Frame::kStepOpening);
  verify::StepOpening opening;
  opening.step = reply.step_opening().step();
  for (const pb::TileOpening& t : reply.step_opening().tiles()) {
    verify::TileOpening o;
    o.row = t.row();
    o.col = t.col();
    o.leaf = digest_of(t.leaf());
    o.path = path_of(t.path());
    o.strip.assign(t.strip().begin(), t.strip().end());
    o.strip_path = path_of(t.strip_path());
    opening.tiles.push_back(std::move(o));
  }
  return opening;
}

verify::Challenge challenge_of(const pb::ChallengeStart& start) {
  const verify::ClassProfile* profile = verify::find_class(start.profile());
  if (profile == nullptr) throw WireError("unknown verification profile '" + start.profile() + "'");
  if (start.work_ns() <= 0) throw WireError("a challenge without work");
  return verify::make_challenge(*profile, nonce_of(start.nonce()), start.work_ns());
}

Frame answer_proof_requests(Stream& stream, verify::Prover& prover, std::size_t max_frame_bytes,
                            std::chrono::milliseconds timeout) {
  for (;;) {
    Frame request = read_frame(stream, max_frame_bytes, timeout);
    Frame reply;
    switch (request.body_case()) {
      case Frame::kRunMemoryPhase: {
        const verify::MemoryCommitment c = prover.run_memory_phase();
        reply.mutable_memory_commitment()->set_nonce(bytes_of(c.nonce));
        reply.mutable_memory_commitment()->set_root(bytes_of(c.root));
        break;
      }
      case Frame::kOpenLanes: {
        const std::vector<std::uint32_t> lanes(request.open_lanes().lanes().begin(),
                                               request.open_lanes().lanes().end());
        auto* out = reply.mutable_lane_openings();
        for (const verify::LaneOpening& o : prover.open_lanes(lanes)) {
          pb::LaneOpening* l = out->add_lanes();
          l->set_lane(o.lane);
          for (std::uint32_t word : o.result)
            l->add_result(word);
          put_path(o.path, l->mutable_path());
        }
        break;
      }
      case Frame::kRunStep: {
        const verify::StepCommitment c = prover.run_step();
        reply.mutable_step_commitment()->set_nonce(bytes_of(c.nonce));
        reply.mutable_step_commitment()->set_step(c.step);
        reply.mutable_step_commitment()->set_root(bytes_of(c.root));
        break;
      }
      case Frame::kOpenTiles: {
        std::vector<verify::TilePosition> tiles;
        for (const pb::TilePosition& t : request.open_tiles().tiles())
          tiles.push_back({t.step(), t.row(), t.col()});
        const verify::StepOpening opening = prover.open_tiles(tiles);
        auto* out = reply.mutable_step_opening();
        out->set_step(opening.step);
        for (const verify::TileOpening& o : opening.tiles) {
          pb::TileOpening* t = out->add_tiles();
          t->set_row(o.row);
          t->set_col(o.col);
          t->set_leaf(bytes_of(o.leaf));
          put_path(o.path, t->mutable_path());
          t->set_strip(std::string(o.strip.begin(), o.strip.end()));
          put_path(o.strip_path, t->mutable_strip_path());
        }
        break;
      }
      case Frame::kHeartbeat:
        reply.mutable_heartbeat();
        break;
      default:
        return request;
    }
    write_frame(stream, reply);
  }
}

}  // namespace gpux::provider

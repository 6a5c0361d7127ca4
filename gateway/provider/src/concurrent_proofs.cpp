#include "gpux/provider/concurrent_proofs.h"

#include <atomic>
#include <cstring>
#include <map>
#include <optional>

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

Frame error_frame(const std::string& reason) {
  Frame frame;
  frame.mutable_error()->set_reason(reason);
  return frame;
}

// ---- the exchange's side: requests out, answers read into the verifier ----

// Where one challenge stands: what the exchange asks next.
struct Running {
  enum class Ask { start, lanes, step, tiles, done };
  const ConcurrentChallenge* challenge = nullptr;
  Ask ask = Ask::start;
  std::vector<std::uint32_t> lanes;
  std::vector<verify::TilePosition> tiles;
  std::optional<verify::Verdict> ended;  // failed here, without the verifier's finish()

  verify::Verifier& verifier() const { return *challenge->verifier; }

  Frame request() const {
    Frame frame;
    switch (ask) {
      case Ask::start:
        *frame.mutable_challenge_start() = challenge->start;
        break;
      case Ask::lanes:
        frame.mutable_open_lanes();
        for (std::uint32_t lane : lanes)
          frame.mutable_open_lanes()->add_lanes(lane);
        break;
      case Ask::step:
        frame.mutable_run_step();
        break;
      case Ask::tiles:
        for (const verify::TilePosition& t : tiles) {
          pb::TilePosition* p = frame.mutable_open_tiles()->add_tiles();
          p->set_step(t.step);
          p->set_row(t.row);
          p->set_col(t.col);
        }
        break;
      case Ask::done:
        break;
    }
    return frame;
  }

  void fail(verify::Failure failure, std::string detail) {
    ended = verify::Verdict{.failure = failure, .detail = std::move(detail)};
    ask = Ask::done;
  }

  // After the verifier took an answer: the next step, or the end.
  void step_or_end() { ask = verifier().failed() || verifier().complete() ? Ask::done : Ask::step; }

  // Takes the answer to request(); throws WireError for one of the wrong shape.
  void take(const Frame& answer) {
    static constexpr Frame::BodyCase kExpected[] = {Frame::kMemoryCommitment, Frame::kLaneOpenings,
                                                    Frame::kStepCommitment, Frame::kStepOpening};
    if (answer.body_case() == Frame::kError)
      return fail(verify::Failure::incomplete,
                  "the provider did not answer: " + answer.error().reason());
    if (answer.body_case() != kExpected[static_cast<int>(ask)])
      return fail(verify::Failure::malformed,
                  "asked " + frame_type(request()) + ", answered " + frame_type(answer));
    switch (ask) {
      case Ask::start: {
        const pb::MemoryCommitment& c = answer.memory_commitment();
        lanes = verifier().on_memory_commitment({nonce_of(c.nonce()), digest_of(c.root())});
        ask = verifier().failed() ? Ask::done : Ask::lanes;
        return;
      }
      case Ask::lanes: {
        std::vector<verify::LaneOpening> openings;
        for (const pb::LaneOpening& l : answer.lane_openings().lanes()) {
          if (l.result_size() != 4)
            throw WireError("a lane result of " + std::to_string(l.result_size()) +
                            " words, not 4");
          verify::LaneOpening o;
          o.lane = l.lane();
          for (int i = 0; i < 4; ++i)
            o.result[i] = l.result(i);
          o.path = path_of(l.path());
          openings.push_back(std::move(o));
        }
        verifier().receive_lanes(std::move(openings));
        ask = verifier().failed() ? Ask::done : Ask::step;
        return;
      }
      case Ask::step: {
        const pb::StepCommitment& c = answer.step_commitment();
        tiles = verifier().on_step_commitment({nonce_of(c.nonce()), c.step(), digest_of(c.root())});
        if (tiles.empty())
          step_or_end();
        else
          ask = Ask::tiles;
        return;
      }
      case Ask::tiles: {
        verify::StepOpening opening;
        opening.step = answer.step_opening().step();
        for (const pb::TileOpening& t : answer.step_opening().tiles()) {
          verify::TileOpening o;
          o.row = t.row();
          o.col = t.col();
          o.leaf = digest_of(t.leaf());
          o.path = path_of(t.path());
          o.strip.assign(t.strip().begin(), t.strip().end());
          o.strip_path = path_of(t.strip_path());
          opening.tiles.push_back(std::move(o));
        }
        verifier().receive_tiles(std::move(opening));
        step_or_end();
        return;
      }
      case Ask::done:
        return;
    }
  }
};

// ---- the provider's side: one request answered by a device's prover ----

Frame answer_request(const Frame& request, std::unique_ptr<verify::Prover>& prover,
                     const DeviceProvers::MakeProver& make_prover, std::uint32_t device) {
  Frame reply;
  if (request.body_case() == Frame::kChallengeStart) {
    prover = make_prover(request.challenge_start(), device);
    const verify::MemoryCommitment c = prover->run_memory_phase();
    reply.mutable_memory_commitment()->set_nonce(bytes_of(c.nonce));
    reply.mutable_memory_commitment()->set_root(bytes_of(c.root));
    return reply;
  }
  if (prover == nullptr) return error_frame(frame_type(request) + " before a ChallengeStart");
  switch (request.body_case()) {
    case Frame::kOpenLanes: {
      const std::vector<std::uint32_t> lanes(request.open_lanes().lanes().begin(),
                                             request.open_lanes().lanes().end());
      auto* out = reply.mutable_lane_openings();
      for (const verify::LaneOpening& o : prover->open_lanes(lanes)) {
        pb::LaneOpening* l = out->add_lanes();
        l->set_lane(o.lane);
        for (std::uint32_t word : o.result)
          l->add_result(word);
        put_path(o.path, l->mutable_path());
      }
      return reply;
    }
    case Frame::kRunStep: {
      const verify::StepCommitment c = prover->run_step();
      reply.mutable_step_commitment()->set_nonce(bytes_of(c.nonce));
      reply.mutable_step_commitment()->set_step(c.step);
      reply.mutable_step_commitment()->set_root(bytes_of(c.root));
      return reply;
    }
    case Frame::kOpenTiles: {
      std::vector<verify::TilePosition> tiles;
      for (const pb::TilePosition& t : request.open_tiles().tiles())
        tiles.push_back({t.step(), t.row(), t.col()});
      const verify::StepOpening opening = prover->open_tiles(tiles);
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
      return reply;
    }
    default:
      return error_frame(frame_type(request) + " is not a proof request");
  }
}

}  // namespace

std::vector<verify::Verdict> prove_concurrently(Stream& stream,
                                                std::span<const ConcurrentChallenge> challenges,
                                                std::size_t max_frame_bytes,
                                                std::chrono::milliseconds timeout) {
  std::vector<Running> running(challenges.size());
  for (std::size_t i = 0; i < challenges.size(); ++i)
    running[i].challenge = &challenges[i];
  for (;;) {
    Frame batch;
    auto* requests = batch.mutable_proof_batch();
    for (std::size_t i = 0; i < running.size(); ++i)
      if (running[i].ask != Running::Ask::done) {
        pb::ProofSlot* slot = requests->add_slots();
        slot->set_slot(static_cast<std::uint32_t>(i));
        *slot->mutable_frame() = running[i].request();
      }
    if (requests->slots_size() == 0) break;
    write_frame(stream, batch);
    const Frame reply = read_frame(stream, max_frame_bytes, timeout);
    if (reply.body_case() == Frame::kError)
      throw WireError("the provider gave up the proofs: " + reply.error().reason());
    if (reply.body_case() != Frame::kProofBatch)
      throw WireError("asked for proofs, answered " + frame_type(reply));
    std::map<std::uint32_t, const Frame*> answers;
    for (const pb::ProofSlot& a : reply.proof_batch().slots())
      if (a.slot() < running.size()) answers.emplace(a.slot(), &a.frame());
    for (const pb::ProofSlot& asked : requests->slots()) {
      Running& r = running[asked.slot()];
      const auto answer = answers.find(asked.slot());
      if (answer == answers.end()) {
        r.fail(verify::Failure::incomplete, "no answer in the batch");
        continue;
      }
      try {
        r.take(*answer->second);
      } catch (const WireError& e) {
        r.fail(verify::Failure::malformed, e.what());
      }
    }
  }
  // The checks (0.4 s of CPU for a 30 s h100-sxm proof) on every core: one
  // after another, a round of 256 would keep the provider waiting for its
  // result longer than its read timeout.
  std::vector<verify::Verdict> verdicts(running.size());
  std::atomic<std::size_t> next{0};
  const auto check = [&] {
    for (std::size_t i; (i = next++) < running.size();)
      verdicts[i] = running[i].ended ? *running[i].ended : running[i].verifier().finish();
  };
  {
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::jthread> checkers;
    for (std::size_t t = 1; t < std::min(cores, running.size()); ++t)
      checkers.emplace_back(check);
    check();
  }  // joined
  return verdicts;
}

verify::Challenge challenge_of(const pb::ChallengeStart& start) {
  const verify::ClassProfile* profile = verify::find_class(start.profile());
  if (profile == nullptr) throw WireError("unknown verification profile '" + start.profile() + "'");
  if (start.work_ns() <= 0) throw WireError("a challenge without work");
  return verify::make_challenge(*profile, nonce_of(start.nonce()), start.work_ns());
}

// One device's thread: it runs the tasks of one batch at a time, so every
// call on its prover comes from the same thread (a CUDA device is current
// per thread).
struct DeviceProvers::Worker {
  std::uint32_t device = 0;
  std::unique_ptr<verify::Prover> prover;  // of this round's slot `device`
  std::mutex mutex;
  std::condition_variable changed;
  std::function<void()> task;
  bool busy = false;
  bool stopping = false;
  std::thread thread;

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      changed.wait(lock, [&] { return task != nullptr || stopping; });
      if (task == nullptr) {
        prover.reset();  // on this thread, as every call on it was
        return;
      }
      auto work = std::move(task);
      task = nullptr;
      lock.unlock();
      work();
      lock.lock();
      busy = false;
      changed.notify_all();
    }
  }
  void post(std::function<void()> work) {
    std::lock_guard lock(mutex);
    task = std::move(work);
    busy = true;
    changed.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return !busy; });
  }
};

DeviceProvers::DeviceProvers(std::uint32_t devices, MakeProver make_prover)
    : make_prover_(std::move(make_prover)) {
  for (std::uint32_t d = 0; d < devices; ++d) {
    auto worker = std::make_unique<Worker>();
    worker->device = d;
    worker->thread = std::thread([w = worker.get()] { w->run(); });
    workers_.push_back(std::move(worker));
  }
}

DeviceProvers::~DeviceProvers() {
  for (auto& w : workers_) {
    {
      std::lock_guard lock(w->mutex);
      w->stopping = true;
    }
    w->changed.notify_all();
    w->thread.join();
  }
}

pb::ProofBatch DeviceProvers::answer(const pb::ProofBatch& requests) {
  std::vector<Frame> answers(static_cast<std::size_t>(requests.slots_size()));
  std::vector<Worker*> posted;
  for (int i = 0; i < requests.slots_size(); ++i) {
    const pb::ProofSlot& request = requests.slots(i);
    Frame& answer = answers[static_cast<std::size_t>(i)];
    if (request.slot() >= workers_.size()) {
      answer = error_frame("no device for challenge " + std::to_string(request.slot() + 1) +
                           ": this provider runs " + std::to_string(workers_.size()));
      continue;
    }
    Worker* worker = workers_[request.slot()].get();
    if (std::find(posted.begin(), posted.end(), worker) != posted.end()) {
      answer = error_frame("two requests for one challenge in one batch");
      continue;
    }
    posted.push_back(worker);
    worker->post([this, worker, &request, &answer] {
      try {
        answer = answer_request(request.frame(), worker->prover, make_prover_, worker->device);
      } catch (const std::exception& e) {
        worker->prover.reset();
        answer = error_frame(std::string("the prover failed: ") + e.what());
      }
    });
  }
  for (Worker* worker : posted)
    worker->wait();
  pb::ProofBatch out;
  for (int i = 0; i < requests.slots_size(); ++i) {
    pb::ProofSlot* slot = out.add_slots();
    slot->set_slot(requests.slots(i).slot());
    *slot->mutable_frame() = std::move(answers[static_cast<std::size_t>(i)]);
  }
  return out;
}

void DeviceProvers::end_round() {
  // Each prover is destroyed on its device's thread, where it was made.
  for (auto& w : workers_)
    w->post([w = w.get()] { w->prover.reset(); });
  for (auto& w : workers_)
    w->wait();
}

Frame answer_proof_batches(Stream& stream, DeviceProvers& devices, std::size_t max_frame_bytes,
                           std::chrono::milliseconds timeout) {
  for (;;) {
    Frame request = read_frame(stream, max_frame_bytes, timeout);
    Frame reply;
    if (request.body_case() == Frame::kProofBatch) {
      *reply.mutable_proof_batch() = devices.answer(request.proof_batch());
    } else if (request.body_case() == Frame::kHeartbeat) {
      reply.mutable_heartbeat();
    } else {
      devices.end_round();
      return request;
    }
    write_frame(stream, reply);
  }
}

}  // namespace gpux::provider

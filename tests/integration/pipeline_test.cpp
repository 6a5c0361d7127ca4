// The gpuxd pipeline in-process: sequencing, group commit, publication after
// durability, snapshots by count, and restart on the same data directory.
#include "gpux/gateway/pipeline.h"

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "command_generator.h"
#include "gpux/storage/journal.h"
#include "temp_dir.h"

using namespace gpux::test;
using gpux::gateway::Pipeline;
using gpux::gateway::PipelineOptions;

namespace {

struct NullListener : EventListener {
  void on_event(const Event&) override {}
};

std::uint64_t uninterrupted_hash(const std::vector<Command>& commands) {
  NullListener sink;
  auto engine = make_engine({}, sink);
  for (const Command& c : commands)
    engine->apply(c);
  return engine->state_hash();
}

PipelineOptions options_for(const TempDir& dir) {
  PipelineOptions options;
  options.data_directory = dir.path();
  options.snapshot_every = 700;
  options.queue_capacity = 256;  // small, so back-pressure is exercised
  options.max_batch = 64;
  return options;
}

}  // namespace

TEST_CASE(
    "the pipeline acknowledges after durability, in sequence, and restarts where it stopped") {
  TempDir dir;
  const auto commands = generate_stream(21, 3'000);
  std::vector<SequenceNumber> acknowledged;
  std::size_t events = 0;
  {
    Pipeline pipeline(options_for(dir));
    CHECK(pipeline.recovery().last_sequence == 0);
    for (const Command& c : commands) {
      REQUIRE(pipeline.submit(c.body, [&](const Command& done, std::span<const Event> e) {
        acknowledged.push_back(done.stamp.sequence);  // publisher thread only
        events += e.size();
      }));
    }
    pipeline.stop();
    CHECK(pipeline.stats().commands == commands.size());
    CHECK(pipeline.stats().snapshots >= commands.size() / 700);
    CHECK(pipeline.stats().group_commits < commands.size());
    CHECK(pipeline.state_hash() == uninterrupted_hash(commands));
    CHECK(!pipeline.submit(AddParticipant{99}, {}));
  }
  REQUIRE(acknowledged.size() == commands.size());
  for (std::size_t i = 0; i < acknowledged.size(); ++i)
    REQUIRE(acknowledged[i] == i + 1);
  CHECK(events >= commands.size());

  Pipeline restarted(options_for(dir));
  CHECK(restarted.recovery().last_sequence == commands.size());
  CHECK(restarted.recovery().snapshot_sequence == commands.size());  // clean stop snapshots
  CHECK(restarted.recovery().replayed == 0);
  const auto added = restarted.execute(AddParticipant{500}).get();
  REQUIRE(added.size() == 1);
  CHECK(std::get<ParticipantAdded>(added[0]).stamp.sequence == commands.size() + 1);
}

TEST_CASE("many producers: every command is sequenced once and acknowledged once") {
  TempDir dir;
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 2'000;
  std::mutex mutex;
  std::vector<int> acknowledgements(kProducers * kPerProducer, 0);
  SequenceNumber previous = 0;
  bool in_order = true;
  {
    Pipeline pipeline(options_for(dir));
    pipeline.execute(ListInstrument{standard_spec(1)}).get();
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < kPerProducer; ++i) {
          const int tag = p * kPerProducer + i;
          // Each command is a participant id unique to it; its event names it.
          pipeline.submit(AddParticipant{static_cast<ParticipantId>(tag)},
                          [&, tag](const Command& c, std::span<const Event> events) {
                            std::lock_guard lock(mutex);
                            ++acknowledgements[static_cast<std::size_t>(tag)];
                            in_order = in_order && c.stamp.sequence > previous;
                            previous = c.stamp.sequence;
                            in_order =
                                in_order && std::holds_alternative<ParticipantAdded>(events[0]);
                          });
        }
      });
    }
    for (auto& t : producers)
      t.join();
    pipeline.stop();
  }
  CHECK(in_order);
  for (int count : acknowledgements)
    REQUIRE(count == 1);
  CHECK(previous == kProducers * kPerProducer + 1);
}

TEST_CASE("restart replays the journal after the last snapshot") {
  TempDir dir;
  const auto commands = generate_stream(22, 2'000);
  {
    PipelineOptions options = options_for(dir);
    Pipeline pipeline(options);
    for (const Command& c : commands)
      pipeline.submit(c.body, {});
    pipeline.stop();
  }
  // More commands journaled past the last snapshot (the same seed continues
  // the same stream).
  const auto more = generate_stream(22, 2'500);
  {
    PipelineOptions options = options_for(dir);
    options.snapshot_every = 0;
    options.snapshot_on_stop = false;
    Pipeline pipeline(options);
    CHECK(pipeline.recovery().replayed == 0);
    for (std::size_t i = commands.size(); i < more.size(); ++i)
      pipeline.submit(more[i].body, {});
    pipeline.stop();
  }
  Pipeline restarted(options_for(dir));
  CHECK(restarted.recovery().last_sequence == more.size());
  CHECK(restarted.recovery().snapshot_sequence < more.size());
  CHECK(restarted.recovery().replayed == more.size() - restarted.recovery().snapshot_sequence);
  restarted.stop();
  CHECK(restarted.state_hash() == uninterrupted_hash(more));
}

TEST_CASE("discarding the journal behind snapshots, when asked, still recovers") {
  TempDir dir;
  const auto commands = generate_stream(23, 3'000);
  PipelineOptions options = options_for(dir);
  options.discard_journal_after_snapshot = true;
  {
    Pipeline pipeline(options);
    for (const Command& c : commands)
      pipeline.submit(c.body, {});
    pipeline.stop();
  }
  {
    auto journal = gpux::storage::Journal::open(dir.path());
    CHECK_THROWS_AS(journal->replay(0, 0, [](const Command&) {}), gpux::storage::JournalCorrupt);
  }
  Pipeline restarted(options);
  CHECK(restarted.recovery().last_sequence == commands.size());
  restarted.stop();
  CHECK(restarted.state_hash() == uninterrupted_hash(commands));
}

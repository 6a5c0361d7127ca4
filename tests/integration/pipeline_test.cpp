// The gpuxd pipeline in-process: sequencing, group commit, publication after
// durability, snapshots by count, and restart on the same data directory.
#include "gpux/sequencer/pipeline.h"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "command_generator.h"
#include "gpux/storage/journal.h"
#include "temp_dir.h"

using namespace gpux::test;
using gpux::sequencer::Pipeline;
using gpux::sequencer::PipelineOptions;

namespace {

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
    // The metrics' histograms add up: every group commit's size, every
    // command's acknowledgement, each in the bucket its value belongs to.
    const auto count = [](const gpux::sequencer::Histogram& h) {
      std::uint64_t n = 0;
      for (const std::uint64_t c : h.counts)
        n += c;
      return n;
    };
    const auto stats = pipeline.stats();
    CHECK(count(stats.group_commit_commands) == stats.group_commits);
    CHECK(stats.group_commit_commands.sum == commands.size());
    CHECK(count(stats.journal_write_us) == stats.group_commits);
    CHECK(count(stats.ack_latency_us) == commands.size());
    CHECK(stats.journal_bytes > commands.size() * 20);
    // The largest group commit is in the bucket of its size: at most its
    // bound, above the bound before.
    std::size_t top = 0;
    for (std::size_t b = 0; b < stats.group_commit_commands.counts.size(); ++b)
      if (stats.group_commit_commands.counts[b] > 0) top = b;
    CHECK(stats.group_commit_commands.sum <=
          stats.group_commits * gpux::sequencer::Histogram::upper_bound(top));
    if (top > 0)
      CHECK(stats.group_commit_commands.sum > gpux::sequencer::Histogram::upper_bound(top - 1));
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
    CHECK_THROWS_AS(journal->replay(0, 0, [](const Command&, std::string_view) {}),
                    gpux::storage::JournalCorrupt);
  }
  Pipeline restarted(options);
  CHECK(restarted.recovery().last_sequence == commands.size());
  restarted.stop();
  CHECK(restarted.state_hash() == uninterrupted_hash(commands));
}

TEST_CASE("orders and trades are queryable by id, participant, instrument and time") {
  TempDir dir;
  const auto commands = generate_stream(24, 4'000);
  std::vector<Event> published;
  {
    Pipeline pipeline(options_for(dir));
    for (const Command& c : commands)
      pipeline.submit(c.body, [&](const Command&, std::span<const Event> events) {
        published.insert(published.end(), events.begin(), events.end());
      });
    pipeline.stop();
  }
  // The expected state of every order, from the published events.
  Recorder sink;
  auto engine = make_engine({}, sink);
  std::vector<Trade> trades;
  std::map<OrderId, OrderAccepted> accepted;
  for (const Event& e : published) {
    if (const auto* t = std::get_if<Trade>(&e)) trades.push_back(*t);
    if (const auto* a = std::get_if<OrderAccepted>(&e)) accepted[a->order] = *a;
  }
  REQUIRE(trades.size() > 100);
  for (const Command& c : commands)
    engine->apply(c);

  auto journal = gpux::storage::Journal::open(dir.path());
  for (const Trade& t : trades) {
    const auto stored = journal->find_trade(t.trade);
    REQUIRE(stored);
    REQUIRE(stored->price == t.price);
    REQUIRE(stored->quantity == t.quantity);
    REQUIRE(stored->maker_order == t.maker_order);
  }
  CHECK(!journal->find_trade(trades.back().trade + 1));
  for (const auto& [id, a] : accepted) {
    const auto record = journal->find_order(id);
    REQUIRE(record);
    REQUIRE(record->accepted == a);
    const auto live = engine->order(id);
    if (live) {
      REQUIRE(record->status == gpux::storage::OrderRecord::Status::working);
      REQUIRE(record->remaining == live->remaining);
      REQUIRE(record->price == live->price);
    } else {
      REQUIRE(record->status != gpux::storage::OrderRecord::Status::working);
      REQUIRE(record->remaining == 0);
    }
  }
  // By participant: newest first, each one theirs.
  const Trade& last = trades.back();
  const auto of_maker = journal->trades_of(last.maker, 10);
  REQUIRE(!of_maker.empty());
  CHECK(of_maker.front().trade == last.trade);
  for (const Trade& t : of_maker)
    CHECK((t.maker == last.maker || t.taker == last.maker));
  // By participant and time: exactly the participant's trades in the middle
  // third of the run's times, newest first (the walk stops at the window).
  const auto all_of_maker = journal->trades_of(last.maker, 1'000'000);
  const gpux::matching::Nanoseconds span = last.stamp.time - trades.front().stamp.time;
  const gpux::matching::Nanoseconds from = trades.front().stamp.time + span / 3,
                                    to = trades.front().stamp.time + 2 * span / 3;
  std::vector<TradeId> expected_in_time;
  for (const Trade& t : all_of_maker)
    if (t.stamp.time >= from && t.stamp.time < to) expected_in_time.push_back(t.trade);
  std::vector<TradeId> found_in_time;
  for (const Trade& t : journal->trades_of(last.maker, from, to, 1'000'000))
    found_in_time.push_back(t.trade);
  CHECK(found_in_time == expected_in_time);
  CHECK(!found_in_time.empty());
  const auto orders = journal->orders_of(last.taker, 1'000'000);
  std::size_t expected = 0;
  for (const auto& [id, a] : accepted)
    expected += a.participant == last.taker;
  CHECK(orders.size() == expected);
  // By instrument and time: the window [first trade's time, last trade's time] on its instrument.
  const Trade& first = trades.front();
  const auto window =
      journal->trades_in(first.instrument, first.stamp.time, last.stamp.time + 1, 1'000'000);
  std::size_t in_window = 0;
  for (const Trade& t : trades)
    in_window += t.instrument == first.instrument;
  CHECK(window.size() == in_window);
  CHECK(journal->trades_in(first.instrument, 0, first.stamp.time, 10).empty());
  const auto recent_orders = journal->orders_in(first.instrument, 0, INT64_MAX, 5);
  CHECK(recent_orders.size() == 5);
}

TEST_CASE(
    "the observer sees again, with their own events and origins, the commands after "
    "observe_after") {
  TempDir dir;
  const auto commands = generate_stream(5, 2'000);
  std::map<SequenceNumber, std::pair<std::vector<Event>, std::string>> live;
  const auto record = [](auto& into) {
    return [&into](const Command& c, std::span<const Event> events, std::string_view origin) {
      into[c.stamp.sequence] = {{events.begin(), events.end()}, std::string(origin)};
    };
  };
  {
    PipelineOptions options = options_for(dir);
    options.observer = record(live);
    Pipeline pipeline(options);
    for (std::size_t i = 0; i < commands.size(); ++i)
      REQUIRE(pipeline.submit(commands[i].body, {}, "origin-" + std::to_string(i + 1)));
    pipeline.stop();
  }
  // 1,234 is between snapshots (every 700): recovery must start from one
  // no newer than it, and hand over exactly what followed.
  std::map<SequenceNumber, std::pair<std::vector<Event>, std::string>> replayed;
  PipelineOptions options = options_for(dir);
  options.observer = record(replayed);
  options.observe_after = 1'234;
  Pipeline restarted(options);
  CHECK(restarted.recovery().snapshot_sequence <= 1'234);
  REQUIRE(replayed.size() == commands.size() - 1'234);
  CHECK(replayed.begin()->first == 1'235);
  for (const auto& [sequence, seen] : replayed) {
    CAPTURE(sequence);
    CHECK(seen.second == "origin-" + std::to_string(sequence));
    CHECK(seen.first == live.at(sequence).first);
  }
}

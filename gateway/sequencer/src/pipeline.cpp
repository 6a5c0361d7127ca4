#include "gpux/sequencer/pipeline.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cassert>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <variant>

#include "bounded_queue.h"
#include "gpux/storage/journal.h"
#include "gpux/storage/recovery.h"

namespace gpux::sequencer {

using namespace gpux::matching;

namespace {

struct Sequenced {
  Command command;
  std::vector<Event> events;
  Pipeline::Done done;
  std::string origin;
  // Called instead of `done` when the command will never be durable (the
  // journal failed): how execute()'s futures learn it. May be empty.
  std::function<void()> lost;
};

// Asks the journal thread to store a snapshot once everything before it is durable.
struct SnapshotRequest {
  SequenceNumber sequence;
  std::uint64_t state_hash;
  EngineSnapshot state;
};

using JournalItem = std::variant<Sequenced, SnapshotRequest>;

// Collects the events of the command being applied; drops those of replay
// up to and including `keep_after` (which no observer asked to see again).
struct EventCollector : EventListener {
  std::vector<Event>* into = nullptr;
  SequenceNumber keep_after = 0;
  void on_event(const Event& event) override {
    if (into == nullptr) return;
    if (std::visit([](const auto& e) { return e.stamp.sequence; }, event) > keep_after)
      into->push_back(event);
  }
};

Nanoseconds wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A Histogram that several threads may count into and one may read.
class AtomicHistogram {
 public:
  void observe(std::uint64_t value) {
    // The first bucket whose bound 2^b holds the value: b = ceil(log2 value).
    const std::size_t bucket =
        std::min<std::size_t>(value <= 1 ? 0 : std::bit_width(value - 1), Histogram::kBuckets - 1);
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }
  Histogram read() const {
    Histogram h;
    for (std::size_t b = 0; b < Histogram::kBuckets; ++b)
      h.counts[b] = counts_[b].load(std::memory_order_relaxed);
    h.sum = sum_.load(std::memory_order_relaxed);
    return h;
  }

 private:
  std::array<std::atomic<std::uint64_t>, Histogram::kBuckets> counts_{};
  std::atomic<std::uint64_t> sum_{0};
};

}  // namespace

struct Pipeline::Impl {
  explicit Impl(PipelineOptions o)
      : options(std::move(o)),
        to_journal(options.queue_capacity),
        to_publish(options.queue_capacity) {}

  // The sequencer, on the submitting thread: order of arrival, wall time made
  // monotonic, then the engine, all under one lock. A thread of its own
  // would cost a wake-up and two context switches per command; applying
  // takes about a microsecond.
  bool sequence(CommandBody body, Pipeline::Done done, std::string origin,
                std::function<void()> lost = {}) {
    std::lock_guard lock(sequencer_mutex);
    if (!accepting) return false;
    last_time = std::max(last_time, wall_clock_ns());
    Sequenced item{.command = Command{{++last_sequence, last_time}, std::move(body)},
                   .events = {},
                   .done = std::move(done),
                   .origin = std::move(origin),
                   .lost = std::move(lost)};
    collector.into = &item.events;
    engine->apply(item.command);
    collector.into = nullptr;
    // Pushed under the lock, so the journal receives commands in sequence.
    bool pushed = to_journal.push(std::move(item));
    if (pushed && options.snapshot_every != 0 && last_sequence % options.snapshot_every == 0)
      pushed = to_journal.push(snapshot_request());
    // Only a failed journal closes the queue while accepting: nothing more
    // can become durable. This command was applied but is never published.
    if (!pushed) accepting = false;
    return pushed;
  }

  // Refuses what comes after; everything accepted is already with the journal.
  void stop_accepting() {
    std::lock_guard lock(sequencer_mutex);
    if (accepting && options.snapshot_on_stop && last_sequence != last_snapshot_sequence)
      to_journal.push(snapshot_request());
    accepting = false;
  }

  SnapshotRequest snapshot_request() {
    last_snapshot_sequence = last_sequence;
    return SnapshotRequest{last_sequence, engine->state_hash(), engine->snapshot()};
  }

  void run_journal() {
    std::vector<JournalItem> items;
    std::vector<Command> commands;
    std::vector<Event> events;
    std::vector<std::string> origins;
    std::vector<Sequenced> durable;
    try {
      while (to_journal.pop_all(items, options.max_batch)) {
        for (JournalItem& item : items) {
          if (auto* sequenced = std::get_if<Sequenced>(&item)) {
            commands.push_back(sequenced->command);
            events.insert(events.end(), sequenced->events.begin(), sequenced->events.end());
            origins.push_back(sequenced->origin);
            durable.push_back(std::move(*sequenced));
            sequenced->lost = nullptr;  // moved: abandon() must not call it twice
          } else {
            const auto& request = std::get<SnapshotRequest>(item);
            // The batch ends where the snapshot was asked for: its hash travels with it.
            flush(commands, events, origins, request.state_hash);
            assert(request.sequence == journal->last_sequence());
            journal->write_snapshot({request.sequence, request.state_hash, journal->last_chain(),
                                     std::move(std::get<SnapshotRequest>(item).state)});
            if (options.discard_journal_after_snapshot) journal->discard_through(request.sequence);
            ++snapshots;
          }
        }
        items.clear();
        flush(commands, events, origins);
        if (!durable.empty() && !to_publish.push_all(durable)) break;
      }
    } catch (...) {
      // Without a journal nothing may be acknowledged: refuse everything from here on.
      {
        std::lock_guard lock(failure_mutex);
        failure = std::current_exception();
      }
      to_journal.close();  // and so refuse every later submit()
      abandon(items, durable);
      if (options.on_failure) options.on_failure(describe(failure));
    }
    to_publish.close();
  }

  // After a journal failure: tells the submitters of every command that was
  // accepted but is not durable (this batch, and what still waits in the
  // closed queue) that it never will be.
  void abandon(std::vector<JournalItem>& items, std::vector<Sequenced>& durable) {
    const auto lose = [](Sequenced& s) {
      if (s.lost) s.lost();
    };
    for (Sequenced& s : durable)
      lose(s);
    durable.clear();
    do {
      for (JournalItem& item : items)
        if (auto* sequenced = std::get_if<Sequenced>(&item)) lose(*sequenced);
      items.clear();
    } while (to_journal.pop_all(items, options.max_batch));
  }

  static std::string describe(const std::exception_ptr& failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      return e.what();
    } catch (...) {
      return "unknown error";
    }
  }

  void flush(std::vector<Command>& commands, std::vector<Event>& events,
             std::vector<std::string>& origins,
             std::optional<std::uint64_t> state_hash = std::nullopt) {
    if (commands.empty()) return;
    const auto started = std::chrono::steady_clock::now();
    // Replicated first: a leader that is refused has journaled nothing of
    // it, so its journal never holds what the cluster's log does not.
    if (options.replicate) options.replicate(commands, origins, journal->last_chain(), state_hash);
    journal_bytes += journal->append(commands, events, origins);
    journal_write_us.observe(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count()));
    group_commit_commands.observe(commands.size());
    ++group_commits;
    commands.clear();
    events.clear();
    origins.clear();
  }

  void run_publisher() {
    std::vector<Sequenced> items;
    while (to_publish.pop_all(items, options.max_batch)) {
      // The observers first: whoever waits for a command (execute) finds
      // every gateway knowing it (a seat created at run time can log on as
      // soon as its creator hears back).
      for (Sequenced& item : items) {
        if (options.observer) options.observer(item.command, item.events, item.origin);
        if (item.done) item.done(item.command, item.events);
        // Once answered, observers' time included. The stamp is the
        // sequencer's wall clock; a step of the clock shows here, nowhere else.
        const Nanoseconds answered = wall_clock_ns();
        ack_latency_us.observe(static_cast<std::uint64_t>(
                                   std::max<Nanoseconds>(0, answered - item.command.stamp.time)) /
                               1000);
      }
      published += items.size();
      items.clear();
    }
  }

  PipelineOptions options;
  std::unique_ptr<storage::Journal> journal;
  RecoveryReport report;
  std::optional<EngineSnapshot> recovered_state;  // until take_recovered_state()
  EventCollector collector;
  std::unique_ptr<Engine> engine;
  std::mutex sequencer_mutex;  // the engine and everything up to here
  bool accepting = true;
  Nanoseconds last_time = 0;
  SequenceNumber last_sequence = 0;
  SequenceNumber last_snapshot_sequence = 0;
  BoundedQueue<JournalItem> to_journal;
  BoundedQueue<Sequenced> to_publish;
  std::thread journal_thread;
  std::thread publisher_thread;
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> group_commits{0};
  std::atomic<std::uint64_t> snapshots{0};
  std::atomic<std::uint64_t> journal_bytes{0};
  AtomicHistogram group_commit_commands;
  AtomicHistogram journal_write_us;
  AtomicHistogram ack_latency_us;
  std::mutex failure_mutex;
  std::exception_ptr failure;
  std::mutex stop_mutex;
  bool stopped = false;
};

Pipeline::Pipeline(PipelineOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl& i = *impl_;
  i.journal = storage::Journal::open(i.options.data_directory, {i.options.sync});
  // Replayed commands past observe_after go to the observer with their events.
  std::vector<Event> replayed_events;
  storage::ReplayObserver replay;
  if (i.options.observer) {
    replay.after = i.collector.keep_after = i.options.observe_after;
    i.collector.into = &replayed_events;
    replay.replayed = [&](const Command& command, std::string_view origin) {
      i.options.observer(command, replayed_events, origin);
      replayed_events.clear();
    };
  }
  storage::Recovered recovered =
      storage::recover(*i.journal, i.options.engine, i.collector, BookKind::price_ladder, replay);
  i.collector.into = nullptr;
  i.collector.keep_after = 0;
  i.engine = std::move(recovered.engine);
  i.last_sequence = i.last_snapshot_sequence = recovered.last_sequence;
  if (recovered.snapshot_sequence != recovered.last_sequence) i.last_snapshot_sequence = 0;
  i.report = {.state_hash = i.engine->state_hash(),
              .last_sequence = recovered.last_sequence,
              .snapshot_sequence = recovered.snapshot_sequence,
              .replayed = recovered.replayed,
              .skipped_snapshots = std::move(recovered.skipped_snapshots)};
  i.recovered_state = i.engine->snapshot();
  // Named, so that top -H and perf show which stage is busy.
  i.journal_thread = std::thread([&i] {
    pthread_setname_np(pthread_self(), "gpux-journal");
    i.run_journal();
  });
  i.publisher_thread = std::thread([&i] {
    pthread_setname_np(pthread_self(), "gpux-publish");
    i.run_publisher();
  });
}

Pipeline::~Pipeline() {
  try {
    stop();
  } catch (...) {
    // stop() reports journal failures; a destructor cannot.
  }
}

const RecoveryReport& Pipeline::recovery() const {
  return impl_->report;
}

EngineSnapshot Pipeline::take_recovered_state() {
  assert(impl_->recovered_state.has_value());
  EngineSnapshot state = std::move(*impl_->recovered_state);
  impl_->recovered_state.reset();
  return state;
}

bool Pipeline::submit(CommandBody body, Done done, std::string origin) {
  return impl_->sequence(std::move(body), std::move(done), std::move(origin));
}

std::future<std::vector<Event>> Pipeline::execute(CommandBody body) {
  auto promise = std::make_shared<std::promise<std::vector<Event>>>();
  auto future = promise->get_future();
  const auto stopped = [promise] {
    promise->set_exception(std::make_exception_ptr(
        PipelineStopped("the exchange is stopping: the command was not journaled")));
  };
  const bool accepted = impl_->sequence(
      std::move(body),
      [promise](const Command&, std::span<const Event> events) {
        promise->set_value({events.begin(), events.end()});
      },
      {}, stopped);
  if (!accepted) stopped();
  return future;
}

void Pipeline::stop() {
  Impl& i = *impl_;
  std::lock_guard lock(i.stop_mutex);
  if (!i.stopped) {
    i.stopped = true;
    i.stop_accepting();
    i.to_journal.close();
    i.journal_thread.join();
    i.publisher_thread.join();
    i.journal.reset();
  }
  std::lock_guard failure_lock(i.failure_mutex);
  if (i.failure) std::rethrow_exception(i.failure);
}

std::vector<matching::Trade> Pipeline::trades_of(matching::ParticipantId participant,
                                                 matching::Nanoseconds from,
                                                 matching::Nanoseconds to,
                                                 std::size_t limit) const {
  Impl& i = *impl_;
  std::lock_guard lock(i.stop_mutex);  // stop() closes the journal under it
  if (i.stopped || !i.journal) return {};
  return i.journal->trades_of(participant, from, to, limit);
}

PipelineStats Pipeline::stats() const {
  const Impl& i = *impl_;
  return {.commands = i.published.load(),
          .group_commits = i.group_commits.load(),
          .snapshots = i.snapshots.load(),
          .journal_bytes = i.journal_bytes.load(),
          .group_commit_commands = i.group_commit_commands.read(),
          .journal_write_us = i.journal_write_us.read(),
          .ack_latency_us = i.ack_latency_us.read()};
}

std::uint64_t Pipeline::state_hash() const {
  assert(impl_->stopped);
  return impl_->engine->state_hash();
}

}  // namespace gpux::sequencer

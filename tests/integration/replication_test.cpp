// The replicated log on real nats-server processes (three, one JetStream
// cluster on loopback): fencing, the lease, standbys that check what they
// apply, and gpuxd nodes whose leader is SIGKILLed again and again under
// load (GPUX_FAILOVER_KILLS, default 5), after which every acknowledged
// command is in the stream exactly once and every node's state equals a clean
// replay of the stream.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "daemon_commands.h"
#include "environment.h"
#include "eventually.h"
#include "gpux/matching/engine.h"
#include "gpux/replication/log.h"
#include "gpux/replication/standby.h"
#include "gpux/storage/codec.h"
#include "gpux/storage/journal.h"
#include "local_daemon.h"
#include "market.h"
#include "nats_cluster.h"
#include "run_command.h"
#include "temp_dir.h"

using namespace gpux;
using namespace gpux::matching;
using namespace gpux::test;
using replication::Entry;
using replication::Log;
using Clock = std::chrono::steady_clock;

namespace {

// The cluster's first request waits for JetStream's meta leader (seconds).
std::unique_ptr<Log> open_log(const NatsCluster& nats, const std::string& node,
                              const std::string& stream = "GPUX") {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  for (;;) {
    try {
      return Log::open({.servers = nats.urls(),
                        .stream = stream,
                        .replicas = 3,
                        .timeout_ms = 2000,
                        .node = node});
    } catch (const replication::Unavailable& e) {
      if (Clock::now() > deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the cluster's start
    }
  }
}

Command stamped(SequenceNumber sequence, CommandBody body) {
  return Command{{sequence, static_cast<Nanoseconds>(sequence) * 1000}, std::move(body)};
}

Entry entry_of(std::vector<Command> commands, std::string leader,
               std::optional<std::uint64_t> hash = {}) {
  std::vector<std::string> origins(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i)
    origins[i] = i % 2 ? "origin " + std::to_string(commands[i].stamp.sequence) : "";
  return {.stream_sequence = 0,
          .commands = std::move(commands),
          .origins = std::move(origins),
          .chain_before = 0,
          .chain_after = 0,
          .chains = {},
          .leader = std::move(leader),
          .state_hash = hash};
}

// Commands as the journal stores them: what "the same commands" means.
std::vector<std::string> bytes_of(const std::vector<Command>& commands) {
  std::vector<std::string> out;
  for (const Command& c : commands)
    out.push_back(storage::encode(c).SerializeAsString());
  return out;
}

}  // namespace

TEST_CASE("the log: a deposed leader is fenced; entries read back as written") {
  TempDir dir;
  NatsCluster nats(dir.path());
  auto a = open_log(nats, "a");
  auto b = open_log(nats, "b");
  CHECK(a->last_stream_sequence() == 0);

  const Entry first = entry_of({stamped(1, AddParticipant{1}), stamped(2, AddParticipant{2})}, "a");
  CHECK(a->append(first, 0).stream_sequence == 1);
  // Tried again after an answer that never came: it landed once, and stays once.
  CHECK(a->append(first, 0).stream_sequence == 1);
  CHECK(a->last_stream_sequence() == 1);
  CHECK_THROWS_AS(b->append(entry_of({stamped(3, AddParticipant{3})}, "b"), 0),
                  replication::Fenced);
  // b takes over with a mark after what it read; a, still expecting 1, is fenced.
  CHECK(b->append(entry_of({}, "b"), 1).stream_sequence == 2);
  CHECK_THROWS_AS(a->append(entry_of({stamped(3, AddParticipant{3})}, "a"), 1),
                  replication::Fenced);
  CHECK(b->append(entry_of({stamped(3, AddParticipant{3}), stamped(4, AdjustCash{3, 500})}, "b",
                           0xfeedULL),
                  2)
            .stream_sequence == 3);

  const auto read = a->read(1);
  REQUIRE(read);
  CHECK(read->stream_sequence == 1);
  CHECK(read->leader == "a");
  CHECK(bytes_of(read->commands) == bytes_of(first.commands));
  CHECK(read->origins == first.origins);
  CHECK(!read->state_hash);
  const auto third = a->read(3);
  REQUIRE(third);
  CHECK(third->state_hash == 0xfeedULL);
  CHECK(third->commands.size() == 2);
  CHECK(!a->read(4));

  // Where a journal ending at command N resumes: the entry holding N + 1.
  CHECK(a->resume_after(0) == 1);
  CHECK(a->resume_after(1) == 1);
  CHECK(a->resume_after(2) == 2);  // the mark, then 3 and 4
  CHECK(a->resume_after(3) == 2);  // 3 is skipped there
  CHECK(a->resume_after(4) == 4);  // nothing more yet

  // A follower sees them in order, from where it asked.
  const auto follower = a->follow(2);
  const auto mark = follower->next(std::chrono::seconds(5));
  REQUIRE(mark);
  CHECK(mark->stream_sequence == 2);
  CHECK(mark->commands.empty());
  const auto next = follower->next(std::chrono::seconds(5));
  REQUIRE(next);
  CHECK(next->stream_sequence == 3);
  CHECK(!follower->next(std::chrono::milliseconds(100)));
}

TEST_CASE("the lease: one holder at a time; taken over once its holder stops renewing") {
  TempDir dir;
  NatsCluster nats(dir.path());
  auto a = open_log(nats, "a");
  auto b = open_log(nats, "b");
  replication::Lease lease_a(*a, std::chrono::milliseconds(800));
  replication::Lease lease_b(*b, std::chrono::milliseconds(800));
  CHECK(lease_a.holder().empty());
  REQUIRE(lease_a.acquire());
  CHECK(!lease_b.acquire());
  CHECK(lease_b.holder() == "a");
  CHECK(lease_a.renew());
  // a stops renewing: b gets it once the term runs out, not before.
  const auto renewed = Clock::now();
  while (!lease_b.acquire())
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the lease's expiry
  CHECK(Clock::now() - renewed >= std::chrono::milliseconds(700));
  CHECK(lease_b.holder() == "b");
  CHECK(!lease_a.renew());
  CHECK(lease_b.renew());
  // Given up at a clean stop: taken at once, not after the term.
  lease_b.release();
  CHECK(lease_a.acquire());
  CHECK(lease_a.holder() == "a");
}

TEST_CASE("a standby applies the log and refuses a gap, another chain or another state") {
  TempDir dir;
  // The leader's engine, to know the hash the standby must reach.
  Recorder events;
  auto engine = make_engine({}, events);
  std::vector<Command> commands;
  for (ParticipantId p = 1; p <= 3; ++p) {
    commands.push_back(stamped(commands.size() + 1, AddParticipant{p}));
    commands.push_back(stamped(commands.size() + 1, AdjustCash{p, 1'000'000}));
  }
  for (const Command& c : commands)
    engine->apply(c);

  // A journal of the same commands gives the chains the entries carry.
  auto leader_journal = storage::Journal::open(dir.path() / "leader");
  const std::span<const Command> all(commands);
  Entry head = entry_of({all.begin(), all.begin() + 4}, "a");
  Entry tail = entry_of({all.begin() + 4, all.end()}, "a", engine->state_hash());
  leader_journal->append(head.commands, {}, head.origins);
  head.chain_after = leader_journal->last_chain();
  leader_journal->append(tail.commands, {}, tail.origins);
  tail.chain_after = leader_journal->last_chain();

  replication::StandbyOptions options{.data_directory = dir.path() / "standby",
                                      .engine = {},
                                      .snapshot_every = 4,
                                      .sync = false,
                                      .observer = {}};
  {
    replication::Standby standby(options);
    CHECK_THROWS_AS(standby.apply(tail), replication::Diverged);  // a gap: 1..4 missing
    Entry forged = head;
    forged.chain_after ^= 1;
    CHECK_THROWS_AS(standby.apply(forged), replication::Diverged);
    CHECK(standby.last_sequence() == 0);
    standby.apply(head);
    standby.apply(head);  // seen twice: nothing new
    CHECK(standby.last_sequence() == 4);
    standby.apply(tail);
    CHECK(standby.state_hash() == engine->state_hash());
  }
  {
    // Reopened: it recovered what it applied, and a leader's other state stops it.
    replication::Standby standby(options);
    CHECK(standby.last_sequence() == commands.size());
    CHECK(standby.state_hash() == engine->state_hash());
    Entry more = entry_of({stamped(commands.size() + 1, AdjustCash{1, 5})}, "a", 0x1234ULL);
    leader_journal->append(more.commands, {}, more.origins);
    more.chain_after = leader_journal->last_chain();
    try {
      standby.apply(more);
      FAIL("a different state hash was accepted");
    } catch (const replication::Diverged& e) {
      const std::string what = e.what();
      CHECK(what.find("after command 7") != std::string::npos);
      CHECK(what.find("0000000000001234") != std::string::npos);
    }
  }
}

namespace {

constexpr ParticipantId kTraders = 6;
constexpr InstrumentId kHour = 1;

// Orders crossing around the reference price, each with its own client id.
proto::Command crossing_order(std::mt19937_64& random, ClientOrderId id) {
  NewOrder order;
  order.client_order_id = id;
  order.participant = static_cast<ParticipantId>(1 + random() % kTraders);
  order.instrument = kHour;
  order.side = id % 2 ? Side::buy : Side::sell;
  order.type = OrderType::limit;
  order.self_trade = SelfTradePrevention::cancel_resting;
  order.price = 2'000'000 + 100 * (static_cast<Price>(random() % 11) - 5);
  order.quantity = 1 + static_cast<Quantity>(random() % 5);
  return command_of(order);
}

std::filesystem::path node_config(const std::filesystem::path& dir, const NatsCluster& nats,
                                  const std::string& node) {
  const auto file = dir / ("gpuxd-" + node + ".conf");
  std::ofstream out(file);
  out << "cluster_nats = " << nats.urls() << "\ncluster_node = " << node
      << "\ncluster_lease_ms = 1000\nsnapshot_every = 2000\n";
  return file;
}

}  // namespace

TEST_CASE("failover: the leader SIGKILLed under load, a standby takes over, nothing is lost") {
  TempDir dir;
  NatsCluster nats(dir.path());
  open_log(nats, "test");  // waits for JetStream
  const std::string nodes[] = {"a", "b"};
  std::map<std::string, std::filesystem::path> configs;
  for (const std::string& node : nodes)
    configs[node] = node_config(dir.path(), nats, node);
  const auto data = [&](const std::string& node) { return dir.path() / ("data-" + node); };
  const auto log = dir.path() / "gpuxd.log";

  std::mt19937_64 random(21);
  std::map<ClientOrderId, int> acknowledged;
  ClientOrderId next_id = 1;
  std::vector<double> failover_ms;
  const std::size_t wanted = count_from_environment("GPUX_FAILOVER_KILLS", 5);

  auto leader = std::make_unique<GpuxdProcess>(GPUXD_PATH, data("a"), log, configs["a"]);
  auto ready = leader->read();
  REQUIRE(ready);
  REQUIRE(ready->has_ready());
  {
    std::vector<CommandBody> setup{ListInstrument{standard_spec(kHour)},
                                   ChangeInstrumentState{kHour, InstrumentState::open}};
    for (ParticipantId p = 1; p <= kTraders; ++p) {
      setup.push_back(AddParticipant{p});
      setup.push_back(AdjustCash{p, 1'000'000'000'000'000});
      setup.push_back(SetSellCapacity{p, kHour, 1'000'000'000});
    }
    for (const CommandBody& body : setup)
      execute(*leader, body);
  }
  std::size_t leader_index = 0;
  for (std::size_t kill = 0; kill < wanted; ++kill) {
    CAPTURE(kill);
    const std::string standby_node = nodes[1 - leader_index];
    auto standby =
        std::make_unique<GpuxdProcess>(GPUXD_PATH, data(standby_node), log, configs[standby_node]);
    // Load until a random number of acknowledgements, then SIGKILL.
    std::vector<proto::Command> load;
    std::vector<ClientOrderId> ids;  // acknowledgements come in the order sent
    for (int i = 0; i < 5'000; ++i) {
      ids.push_back(next_id);
      load.push_back(crossing_order(random, next_id++));
    }
    std::thread writer([&] {
      for (const proto::Command& c : load)
        if (!leader->send(c)) return;
    });
    const std::size_t kill_after = 200 + random() % 1'500;
    for (std::size_t acks = 0; acks < kill_after; ++acks) {
      const auto message = leader->read();
      REQUIRE(message);
      REQUIRE(message->has_acknowledgement());
      ++acknowledged[ids[acks]];
    }
    const auto killed = Clock::now();
    leader->kill_hard();
    writer.join();
    leader->wait();
    // The standby leads: Ready once it holds the lease and the whole log.
    const auto took_over = standby->read();
    REQUIRE(took_over);
    REQUIRE(took_over->has_ready());
    failover_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - killed).count());
    leader = std::move(standby);
    leader_index = 1 - leader_index;
  }
  // The last leader stops cleanly; the other node follows the whole log first.
  auto follower = std::make_unique<GpuxdProcess>(GPUXD_PATH, data(nodes[1 - leader_index]), log,
                                                 configs[nodes[1 - leader_index]]);
  execute(*leader, AddParticipant{kTraders + 1});  // one more command it must follow
  leader->terminate();
  CHECK(leader->wait() == 0);
  // The follower takes over (nobody else holds the lease): it has everything.
  REQUIRE(follower->read());
  follower->terminate();
  follower->wait();

  // The stream: every command once, in order; every acknowledged order in it once.
  auto reader = open_log(nats, "reader");
  Recorder events;
  auto engine = make_engine({}, events);
  std::map<ClientOrderId, int> in_stream;
  SequenceNumber last = 0;
  std::size_t marks = 0;
  for (std::uint64_t n = 1;; ++n) {
    const auto entry = reader->read(n);
    if (!entry) break;
    marks += entry->commands.empty();
    for (const Command& c : entry->commands) {
      REQUIRE(c.stamp.sequence == last + 1);
      last = c.stamp.sequence;
      if (const auto* order = std::get_if<NewOrder>(&c.body)) ++in_stream[order->client_order_id];
      engine->apply(c);
    }
  }
  for (const auto& [id, count] : acknowledged) {
    REQUIRE_MESSAGE(count == 1, "client id " << id << " acknowledged " << count << " times");
    REQUIRE_MESSAGE(in_stream[id] == 1, "acknowledged client id " << id << " is in the stream "
                                                                  << in_stream[id] << " times");
  }
  CHECK(acknowledged.size() >= wanted * 200);
  CHECK(marks == wanted + 2);  // a's first lead, each takeover, the last one
  // Both nodes' journals replay to the stream's state.
  for (const std::string& node : nodes) {
    CAPTURE(node);
    Recorder replayed;
    auto replica = make_engine({}, replayed);
    auto journal = storage::Journal::open(data(node));
    journal->replay(0, 0, [&](const Command& c, std::string_view) { replica->apply(c); });
    CHECK(journal->last_sequence() == last);
    CHECK(replica->state_hash() == engine->state_hash());
  }
  std::sort(failover_ms.begin(), failover_ms.end());
  MESSAGE(wanted << " kills, " << acknowledged.size() << " acknowledged orders, stream at command "
                 << last << "; failover (kill to the new leader's Ready) median "
                 << failover_ms[failover_ms.size() / 2] << " ms, max " << failover_ms.back()
                 << " ms");
}

TEST_CASE("a leader stopped and continued after a standby took over acknowledges nothing") {
  TempDir dir;
  NatsCluster nats(dir.path());
  open_log(nats, "test");
  const auto log = dir.path() / "gpuxd.log";
  GpuxdProcess a(GPUXD_PATH, dir.path() / "data-a", log, node_config(dir.path(), nats, "a"));
  REQUIRE(a.read());
  execute(a, AddParticipant{1});
  GpuxdProcess b(GPUXD_PATH, dir.path() / "data-b", log, node_config(dir.path(), nats, "b"));
  a.pause();
  // b takes the lapsed lease, marks the stream, and leads.
  const auto ready = b.read();
  REQUIRE(ready);
  REQUIRE(ready->has_ready());
  CHECK(ready->ready().last_sequence() == 2);  // a's market terms, then participant 1
  execute(b, AddParticipant{2});
  a.resume();
  // The zombie's next append is fenced (or its renewal finds the lease
  // taken): no acknowledgement, and it stops.
  REQUIRE(a.send(command_of(AddParticipant{3})));
  CHECK(!a.read());
  const int status = a.wait();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  // Nothing of the zombie's reached the stream or the new leader.
  const auto after = execute(b, AddParticipant{4});
  REQUIRE(!after.empty());
  const Event event = storage::decode(after.front());
  CHECK(std::visit([](const auto& e) { return e.stamp.sequence; }, event) == 4);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find("cluster node a") != std::string::npos);
  CHECK(text.find("FATAL") != std::string::npos);
}

namespace {

// How many times `file` says `needle` now.
std::size_t log_count(const std::filesystem::path& file, const std::string& needle) {
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

// Whether `file` says `needle` more than `before` times within 30 s.
bool log_says_again(const std::filesystem::path& file, const std::string& needle,
                    std::size_t before) {
  return eventually([&] { return log_count(file, needle) > before; }, std::chrono::seconds(30));
}

// Every entry of the stream, read as soon as its servers answer again.
std::vector<Entry> read_all(Log& log) {
  std::vector<Entry> entries;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  for (std::uint64_t n = 1;;) {
    try {
      auto entry = log.read(n);
      if (!entry) return entries;
      entries.push_back(std::move(*entry));
      ++n;
    } catch (const replication::Unavailable&) {
      if (Clock::now() > deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a stream electing its leader
    }
  }
}

}  // namespace

TEST_CASE(
    "without a quorum of nats-servers the leader acknowledges nothing, refuses new "
    "orders over FIX with the reason, and resumes when the quorum is back") {
  TempDir dir;
  NatsCluster nats(dir.path());
  open_log(nats, "test");
  const int fix_port = gpux::local::free_port();
  const auto config = node_config(dir.path(), nats, "a");
  std::ofstream(config, std::ios::app)
      << "data_dir = " << (dir.path() / "data").string()
      << "\ncluster_timeout_ms = 500\nfix_port = " << fix_port
      << "\nfix_client = BUYER participant=1 password=none\nparticipant = 1 cash=1000000000000\n"
         "instrument = 1 symbol=H100-SXM.us-east.21000101T00 class=H100-SXM region=us-east "
         "start=4102444800 tick=100 max=1000 reference=2000000 band=500000\n";
  const auto log = dir.path() / "gpuxd.log";
  const pid_t daemon = gpux::local::spawn_daemon(GPUXD_PATH, config.string(), log.string());
  REQUIRE(daemon > 0);
  struct Stop {
    pid_t pid;
    ~Stop() {
      if (pid > 0) gpux::local::stop_daemon(pid, SIGKILL);  // kill(-1) would be everyone's
    }
  } stop{daemon};
  REQUIRE(gpux::local::wait_for_listener(fix_port));
  const auto trade = [&](const std::string& args, int timeout_s = 20) {
    return run_command(
        std::string(GPUX_PATH) + " trade --state-dir " + (dir.path() / "trade-state").string() +
        " --port " + std::to_string(fix_port) + " --sender BUYER --dictionary " +
        GPUX_FIX_DICTIONARY + " --timeout " + std::to_string(timeout_s) + " " + args);
  };
  const std::string order = "place buy H100-SXM.us-east.21000101T00 1 1.9";
  const std::string stalled = "ERROR: the log cannot be written";
  const std::string resumed = "the log is written again";

  // One of three lost: the order is acknowledged (after a pause, when the
  // lost server led the stream and JetStream elects another).
  nats.kill(2);
  const auto with_two = trade(order);
  CHECK_MESSAGE(with_two.status == 0, with_two.output);
  CHECK(with_two.output.find("new") != std::string::npos);

  // Two of three: the next order waits in the pipeline, unacknowledged; the
  // leader says so, and refuses the orders that follow.
  const std::size_t stalls = log_count(log, stalled);
  const std::size_t resumes = log_count(log, resumed);
  nats.kill(1);
  const auto waiting = trade(order, 3);
  CHECK(waiting.output.find("new") == std::string::npos);
  REQUIRE(log_says_again(log, stalled, stalls));
  const auto refused = trade(order);
  CHECK(refused.output.find("cannot replicate its log") != std::string::npos);
  CHECK_MESSAGE(refused.status != 0, refused.output);

  nats.restart(1);
  REQUIRE(log_says_again(log, resumed, resumes));
  const auto after = trade(order);
  CHECK_MESSAGE(after.status == 0, after.output);
  CHECK(after.output.find("new") != std::string::npos);
  CHECK(gpux::local::stop_daemon(daemon, SIGTERM) == 0);
  stop.pid = -1;

  // In the stream once each: the order before, the one that waited (journaled
  // once the quorum was back), the one after; not the refused one.
  auto reader = open_log(nats, "reader");
  std::size_t orders = 0;
  for (const Entry& entry : read_all(*reader))
    for (const Command& c : entry.commands)
      orders += std::holds_alternative<NewOrder>(c.body);
  CHECK(orders == 3);
}

TEST_CASE("a node whose journal the log does not hold refuses to lead") {
  TempDir dir;
  NatsCluster nats(dir.path());
  open_log(nats, "test");
  const auto data = dir.path() / "data";
  const auto log = dir.path() / "gpuxd.log";
  {
    // A single node's journal, then the same data_dir put into a new cluster.
    GpuxdProcess single(GPUXD_PATH, data, log);
    REQUIRE(single.read());
    execute(single, AddParticipant{1});
    single.terminate();
    REQUIRE(single.wait() == 0);
  }
  GpuxdProcess node(GPUXD_PATH, data, log, node_config(dir.path(), nats, "a"));
  CHECK(!node.read());  // no Ready: it exits
  const int status = node.wait();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(log_count(log, "is not this cluster's") == 1);
  // And it wrote nothing to the log: not even its mark.
  auto reader = open_log(nats, "reader");
  CHECK(read_all(*reader).empty());
}

// Crash test with real processes: a client drives gpuxd with sustained load
// over its command stream, SIGKILLs it at random moments, restarts it, and
// checks after every kill that
//   - every command whose acknowledgement the client received is in the
//     journal exactly once (and no command is there twice),
//   - every trade the client was told about is in the journal's replay,
//     identical, and no trade id repeats,
//   - the restarted daemon's recovered state hash equals a clean replay.
// Blocks (all-or-none over three hours) are part of the load.
// GPUX_CRASH_KILLS sets the number of kills (default 20).
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "daemon_commands.h"
#include "environment.h"
#include "gpux/storage/codec.h"
#include "gpux/storage/journal.h"
#include "gpuxd_process.h"
#include "market.h"
#include "raw_journal.h"
#include "temp_dir.h"

using namespace gpux::test;
namespace storage = gpux::storage;
namespace proto = gpux::proto;

namespace {

constexpr ParticipantId kParticipants = 20;
constexpr InstrumentId kHours = 3;  // consecutive delivery hours, instruments 1..3

// A random order with a unique client id, around the reference price; one in
// fifty a block order over some of the hours from a random one.
proto::Command random_order(std::mt19937_64& random, ClientOrderId id) {
  const int roll = static_cast<int>(random() % 100);
  const auto participant = static_cast<ParticipantId>(1 + random() % kParticipants);
  const auto instrument = static_cast<InstrumentId>(1 + random() % kHours);
  if (roll == 0) return command_of(MassCancel{participant, instrument});
  if (roll <= 2) {
    // Limits at the edge of the order prices, so that most blocks fill.
    const Side side = random() % 2 ? Side::buy : Side::sell;
    return command_of(
        NewBlockOrder{.client_order_id = id,
                      .participant = participant,
                      .first_instrument = instrument,
                      .hours = static_cast<std::uint32_t>(1 + random() % (kHours - instrument + 1)),
                      .side = side,
                      .one_provider = random() % 4 == 0,
                      .units = 1 + static_cast<Quantity>(random() % 4),
                      .limit = side == Side::buy ? 2'002'000 : 1'998'000});
  }
  NewOrder order;
  order.client_order_id = id;
  order.participant = participant;
  order.instrument = instrument;
  order.side = random() % 2 ? Side::buy : Side::sell;
  order.type = roll < 50 ? OrderType::limit : OrderType::immediate_or_cancel;
  order.self_trade = SelfTradePrevention::cancel_resting;
  order.price = 2'000'000 + 100 * (static_cast<Price>(random() % 41) - 20);
  order.quantity = 1 + static_cast<Quantity>(random() % 20);
  return command_of(order);
}

// What replaying the journal says: each client id's count, every trade, the hash.
struct JournalView {
  std::map<ClientOrderId, int> client_ids;
  std::map<TradeId, Trade> trades;
  std::uint64_t state_hash = 0;
  SequenceNumber last_sequence = 0;
};

JournalView read_journal(const std::filesystem::path& data) {
  JournalView view;
  Recorder events;
  auto engine = make_engine({}, events);
  auto journal = storage::Journal::open(data);
  journal->replay(0, 0, [&](const Command& c, std::string_view) {
    if (const auto* order = std::get_if<NewOrder>(&c.body))
      ++view.client_ids[order->client_order_id];
    if (const auto* block = std::get_if<NewBlockOrder>(&c.body))
      ++view.client_ids[block->client_order_id];
    events.events.clear();
    engine->apply(c);
    for (const Event& e : events.events) {
      if (const auto* t = std::get_if<Trade>(&e)) {
        CHECK_MESSAGE(!view.trades.contains(t->trade), "trade id repeats: " << t->trade);
        view.trades[t->trade] = *t;
      }
    }
    view.last_sequence = c.stamp.sequence;
  });
  view.state_hash = engine->state_hash();
  return view;
}

// Starts gpuxd and checks that it refuses to: no Ready, exit status `code`,
// and `reason` in its log.
void check_refused_start(const std::filesystem::path& data, const std::filesystem::path& log,
                         int code, const std::string& reason,
                         const std::filesystem::path& config = {}) {
  GpuxdProcess daemon(GPUXD_PATH, data, log, config);
  CHECK(!daemon.read());  // no Ready: it exits instead
  const int status = daemon.wait();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == code);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find(reason) != std::string::npos);
}

}  // namespace

TEST_CASE("gpuxd loses nothing it acknowledged when killed at random moments") {
  TempDir dir;
  const auto data = dir.path() / "data";
  const auto log = dir.path() / "gpuxd.log";
  std::mt19937_64 random(2026);
  std::map<ClientOrderId, int> acknowledged;  // client id -> acknowledgements received
  std::map<TradeId, Trade> told;              // trades the client was told about
  ClientOrderId next_id = 1;
  std::optional<JournalView> journal;
  std::size_t kills = 0;
  std::size_t blocks_filled = 0;  // acknowledged block fills, legs among `told`
  const std::size_t wanted = count_from_environment("GPUX_CRASH_KILLS", 20);

  for (std::size_t run = 0; run <= wanted; ++run) {
    CAPTURE(run);
    GpuxdProcess daemon(GPUXD_PATH, data, log);
    const auto ready = daemon.read();
    REQUIRE(ready);
    REQUIRE(ready->has_ready());
    if (!journal) {
      REQUIRE(ready->ready().last_sequence() == 0);
      std::vector<CommandBody> setup;
      for (InstrumentId hour = 1; hour <= kHours; ++hour) {
        setup.push_back(ListInstrument{hours_later(standard_spec(hour), hour - 1)});
        setup.push_back(ChangeInstrumentState{hour, InstrumentState::open});
      }
      for (ParticipantId p = 1; p <= kParticipants; ++p) {
        setup.push_back(AddParticipant{p});
        setup.push_back(AdjustCash{p, 1'000'000'000'000'000});
        for (InstrumentId hour = 1; hour <= kHours; ++hour)
          setup.push_back(SetSellCapacity{p, hour, 1'000'000'000});
      }
      for (const CommandBody& body : setup)
        REQUIRE(daemon.send(command_of(body)));
      for (std::size_t i = 0; i < setup.size(); ++i)
        REQUIRE(daemon.read()->has_acknowledgement());
    } else {
      // The restarted daemon recovered exactly what a clean replay gives.
      CHECK(ready->ready().last_sequence() == journal->last_sequence);
      CHECK(ready->ready().state_hash() == journal->state_hash);
    }
    if (run == wanted) break;  // the last start only checks recovery

    // Sustained load from a writer thread until the daemon dies.
    std::vector<proto::Command> load;
    for (int i = 0; i < 20'000; ++i)
      load.push_back(random_order(random, next_id++));
    std::thread writer([&] {
      for (const proto::Command& c : load)
        if (!daemon.send(c)) return;
    });
    // However this block is left (a failed REQUIRE throws), the daemon dies
    // first, which unblocks the writer, and then the writer is joined.
    const auto stop_writer = [&] {
      daemon.kill_hard();
      if (writer.joinable()) writer.join();
    };
    struct OnExit {
      const decltype(stop_writer)& run;
      ~OnExit() { run(); }
    } on_exit{stop_writer};
    // Kill after a random number of acknowledgements, once the client has
    // caught up with everything the daemon has written (so the freshest
    // acknowledgements are the ones at risk), or soon after if it cannot.
    const std::size_t kill_after = 200 + random() % 3'000;
    std::size_t acks = 0;
    while (acks < kill_after || (daemon.readable_now() && acks < kill_after + 5'000)) {
      const auto message = daemon.read();
      REQUIRE(message);
      REQUIRE(message->has_acknowledgement());
      ++acks;
      for (const proto::Event& p : message->acknowledgement().events()) {
        const Event e = storage::decode(p);
        if (const auto* a = std::get_if<OrderAccepted>(&e)) ++acknowledged[a->client_order_id];
        if (const auto* b = std::get_if<BlockOrderFilled>(&e)) {
          ++acknowledged[b->client_order_id];
          ++blocks_filled;
        }
        if (const auto* r = std::get_if<CommandRejected>(&e); r && r->client_order_id != 0)
          ++acknowledged[r->client_order_id];
        if (const auto* t = std::get_if<Trade>(&e)) told[t->trade] = *t;
      }
    }
    stop_writer();
    daemon.wait();
    ++kills;

    journal = read_journal(data);
    for (const auto& [id, count] : acknowledged) {
      REQUIRE_MESSAGE(count == 1, "client id " << id << " acknowledged " << count << " times");
      REQUIRE_MESSAGE(journal->client_ids[id] == 1, "acknowledged client id "
                                                        << id << " is in the journal "
                                                        << journal->client_ids[id] << " times");
    }
    for (const auto& [id, count] : journal->client_ids)
      REQUIRE_MESSAGE(count == 1, "client id " << id << " journaled " << count << " times");
    for (const auto& [id, trade] : told) {
      const auto it = journal->trades.find(id);
      REQUIRE_MESSAGE(it != journal->trades.end(), "acknowledged trade " << id << " was lost");
      REQUIRE(it->second == trade);
    }
  }
  CHECK(kills == wanted);
  CHECK(acknowledged.size() > wanted * 200);
  CHECK(blocks_filled > wanted / 2);  // blocks were part of what survived the kills
  MESSAGE(kills << " kills, " << acknowledged.size() << " acknowledged orders, " << blocks_filled
                << " block fills, " << told.size() << " acknowledged trades, journal at "
                << journal->last_sequence);
}

TEST_CASE("gpuxd stops cleanly on SIGTERM and on end of input: drained and snapshotted") {
  TempDir dir;
  const auto data = dir.path() / "data";
  const auto log = dir.path() / "gpuxd.log";
  for (const bool by_signal : {true, false}) {
    CAPTURE(by_signal);
    GpuxdProcess daemon(GPUXD_PATH, data, log);
    const auto ready = daemon.read();
    REQUIRE(ready);
    const auto first = ready->ready().last_sequence();
    for (ParticipantId p = 0; p < 100; ++p)
      REQUIRE(daemon.send(command_of(AddParticipant{static_cast<ParticipantId>(first + p)})));
    for (int i = 0; i < 100; ++i)
      REQUIRE(daemon.read()->has_acknowledgement());
    if (by_signal) {
      daemon.terminate();
    } else {
      daemon.close_input();
    }
    const int status = daemon.wait();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  GpuxdProcess daemon(GPUXD_PATH, data, log);
  const auto ready = daemon.read();
  REQUIRE(ready);
  // The market's terms, journaled first, then the 200 participants.
  CHECK(ready->ready().last_sequence() == 201);
  CHECK(ready->ready().snapshot_sequence() == 201);
  CHECK(ready->ready().replayed() == 0);
}

TEST_CASE("gpuxd refuses to start on a damaged journal and names the sequence number") {
  TempDir dir;
  const auto data = dir.path() / "data";
  const auto log = dir.path() / "gpuxd.log";
  {
    auto journal = storage::Journal::open(data);
    std::vector<Command> commands;
    for (SequenceNumber s = 1; s <= 50; ++s)
      commands.push_back(Command{{s, 0}, AddParticipant{static_cast<ParticipantId>(s)}});
    journal->append(commands);
  }
  {
    // Replace record 37 by record 36's bytes: parses, but breaks the chain.
    RawJournal raw(data);
    raw.put(37, raw.get(36));
  }
  check_refused_start(data, log, 1, "journal corrupt at sequence 37");
}

TEST_CASE("gpuxd lists the product calendar at start and trades on it") {
  TempDir dir;
  const auto config = dir.path() / "gpux.conf";
  std::ofstream(config) << "listing_horizon_hours = 3\n"
                           "product = H100-SXM region=us-east tick=100 max=100 "
                           "reference=2000000 band=500000\n"
                           "participant = 1 cash=1000000000000\n";
  GpuxdProcess daemon(GPUXD_PATH, dir.path() / "data", dir.path() / "gpuxd.log", config);
  const auto ready = daemon.read();
  REQUIRE(ready);
  REQUIRE(ready->has_ready());
  REQUIRE(daemon.send(command_of(NewOrder{77, 1, 0, Side::buy, OrderType::limit,
                                          SelfTradePrevention::cancel_incoming, 1'900'000, 2})));
  const auto ack = daemon.read();
  REQUIRE(ack);
  REQUIRE(ack->has_acknowledgement());
  // Accepted, and the buy's cash reserved: 2 x 1.9 USD.
  REQUIRE(ack->acknowledgement().events_size() == 2);
  CHECK(ack->acknowledgement().events(0).has_order_accepted());
  REQUIRE(ack->acknowledgement().events(1).has_ledger_posting());
  CHECK(ack->acknowledgement().events(1).ledger_posting().amount() == 3'800'000);
}

TEST_CASE(
    "a product's terms changed at run time: hours listed after carry them, those before "
    "keep theirs, across SIGKILL") {
  TempDir dir;
  const auto config = dir.path() / "gpux.conf";
  const auto data = dir.path() / "data";
  const auto log = dir.path() / "gpuxd.log";
  const auto configure = [&](int horizon) {
    std::ofstream(config) << "listing_horizon_hours = " << horizon
                          << "\nproduct = H100-SXM region=us-east tick=100 max=100 "
                             "reference=2000000 band=500000 maker_fee_ppm=1000 "
                             "taker_fee_ppm=2000\nbuyer_fee_ppm = 5000\n";
  };
  configure(2);
  {
    GpuxdProcess daemon(GPUXD_PATH, data, log, config);
    REQUIRE(daemon.read());
    // The taker fee from now on: 3,000 ppm.
    const auto events = execute(daemon, SetProductTerms{{.gpu_class = "H100-SXM",
                                                         .region = "us-east",
                                                         .maker_fee_ppm = 1'000,
                                                         .taker_fee_ppm = 3'000,
                                                         .reference_price = 2'000'000,
                                                         .band_width = 500'000,
                                                         .verification_profile = {},
                                                         .effective_from = 0}});
    REQUIRE(events.size() == 1);
    CHECK(events.front().product_terms_set().in_effect());
    daemon.kill_hard();
    daemon.wait();
  }
  configure(5);  // more hours are due, and the file still says 2,000 ppm
  {
    GpuxdProcess daemon(GPUXD_PATH, data, log, config);
    REQUIRE(daemon.read());
    daemon.terminate();
    daemon.wait();
  }
  CHECK(count_lines(log,
                    "the configuration's terms of product H100-SXM.us-east differ from "
                    "the journal's") == 1);
  SequenceNumber changed_at = 0;
  std::vector<std::pair<SequenceNumber, std::uint32_t>> listed;  // sequence, taker fee
  storage::Journal::open(data)->replay(0, 0, [&](const Command& c, std::string_view) {
    if (const auto* t = std::get_if<SetProductTerms>(&c.body);
        t && t->terms->taker_fee_ppm == 3'000)
      changed_at = c.stamp.sequence;
    if (const auto* l = std::get_if<ListInstrument>(&c.body))
      listed.emplace_back(c.stamp.sequence, l->spec->taker_fee_ppm);
  });
  REQUIRE(changed_at != 0);
  std::size_t before = 0, after = 0;
  for (const auto& [sequence, taker] : listed) {
    CHECK(taker == (sequence < changed_at ? 2'000u : 3'000u));
    ++(sequence < changed_at ? before : after);
  }
  CHECK(before >= 1);
  CHECK(after >= 2);
}

TEST_CASE("gpuxd refuses a bad configuration, naming the line") {
  TempDir dir;
  const auto config = dir.path() / "gpux.conf";
  std::ofstream(config) << "snapshot_every = 100\nproduct = H100 region=x tick=0 max=1 "
                           "reference=100 band=0\n";
  check_refused_start(dir.path() / "data", dir.path() / "gpuxd.log", 2,
                      "product H100.x: terms rejected (invalid_tick_size)", config);
}

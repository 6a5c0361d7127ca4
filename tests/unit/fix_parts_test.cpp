// FixOrderEntry's parts (gateway/fix/src/), each in-process: the outbox and
// its ordering, seat authentication and its lockout on an injected clock,
// market data's depth and incremental changes, the order index; then the
// whole order entry fed engine events, with a fake sink and a real state
// store.
#include <doctest/doctest.h>
#include <quickfix/FixValues.h>
#include <sodium.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fix_gateway.pb.h"
#include "gpux/fix/gateway.h"
#include "market_data.h"
#include "order_index.h"
#include "outbox.h"
#include "seat_guard.h"
#include "temp_dir.h"

using namespace gpux::matching;
using gpux::fix::BookEntry;
using gpux::fix::Ended;
using gpux::fix::MarketData;
using gpux::fix::OrderIndex;
using gpux::fix::Outbox;
using gpux::fix::SeatGuard;
using gpux::fix::Working;

// Found by ADL from std::vector's ==.
namespace gpux::fix {
bool operator==(const BookEntry& a, const BookEntry& b) {
  return a.type == b.type && a.action == b.action && a.price == b.price && a.quantity == b.quantity;
}
}  // namespace gpux::fix

namespace {

// A seat with a password (its hash), or without one on purpose (password=none).
// A seat with that password hash; without one, a seat open to anyone.
gpux::matching::Seat seat(std::string sender, ParticipantId participant,
                          std::string password_hash = {}) {
  const bool open = password_hash.empty();
  return {.sender_comp_id = std::move(sender),
          .participant = participant,
          .password_hash = std::move(password_hash),
          .no_password = open};
}

// A guard holding `seats`, on `minute`'s clock.
std::unique_ptr<SeatGuard> guard(std::initializer_list<gpux::matching::Seat> seats,
                                 SeatGuard::MinuteClock minute) {
  auto guard = std::make_unique<SeatGuard>(std::move(minute));
  for (const auto& s : seats)
    guard->set(s);
  return guard;
}

// Argon2id at the minimum cost: the check is what is tested, not its cost.
std::string password_hash(const std::string& password) {
  REQUIRE(sodium_init() >= 0);
  char hash[crypto_pwhash_STRBYTES];
  REQUIRE(crypto_pwhash_str(hash, password.c_str(), password.size(), crypto_pwhash_OPSLIMIT_MIN,
                            crypto_pwhash_MEMLIMIT_MIN) == 0);
  return hash;
}

}  // namespace

TEST_CASE("FIX outbox: batches in push order, on its own thread, drained at stop") {
  std::vector<std::vector<int>> batches;
  std::thread::id handler_thread;
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  Outbox<int> outbox([&](Outbox<int>::Batch& batch) {
    handler_thread = std::this_thread::get_id();
    batches.emplace_back(batch.begin(), batch.end());
    if (batches.size() == 1) {
      entered.set_value();
      released.wait();  // what is pushed meanwhile makes the next batch
    }
  });
  outbox.push(1);
  entered.get_future().wait();
  for (int i = 2; i <= 5; ++i)
    outbox.push(i);
  release.set_value();
  outbox.stop(true);
  outbox.push(6);  // after the stop: never handed over
  CHECK(handler_thread != std::this_thread::get_id());
  CHECK(batches == std::vector<std::vector<int>>{{1}, {2, 3, 4, 5}});
}

TEST_CASE("FIX outbox: a drain hands over everything pushed before it, from any thread") {
  std::vector<int> handled;
  Outbox<int> outbox([&](Outbox<int>::Batch& batch) {
    CHECK(!batch.empty());
    handled.insert(handled.end(), batch.begin(), batch.end());
  });
  std::thread other([&] {
    for (int i = 0; i < 1000; ++i)
      outbox.push(i);
  });
  other.join();
  outbox.stop(true);
  outbox.stop(false);  // stopped already: nothing more, and no second join
  REQUIRE(handled.size() == 1000);
  for (int i = 0; i < 1000; ++i)
    CHECK(handled[static_cast<std::size_t>(i)] == i);
}

// Where the logons of these tests come from.
const std::string kPeer = "192.0.2.1";

TEST_CASE("FIX seats: passwords checked; five failures in a minute lock an address out") {
  long minute = 1000;
  const auto seats_held =
      guard({seat("A", 1, password_hash("right")), seat("OPEN", 2)}, [&] { return minute; });
  SeatGuard& seats = *seats_held;
  CHECK(seats.authenticate("NOBODY", "x", kPeer) == "unknown SenderCompID NOBODY");
  CHECK(seats.authenticate("OPEN", "anything", kPeer) == "");
  // A seat without a hash and not open: closed until a hash is set.
  gpux::matching::Seat unset = seat("PROVIDER", 3);
  unset.no_password = false;
  const auto waiting_held = guard({unset}, [&] { return minute; });
  SeatGuard& waiting = *waiting_held;
  CHECK(waiting.authenticate("PROVIDER", "", kPeer) ==
        "seat PROVIDER has no password yet: the operator gives it one (gpux admin "
        "seat-password), or onboarding the provider issues one");
  waiting.set(seat("PROVIDER", 3, password_hash("issued")));
  CHECK(waiting.authenticate("PROVIDER", "issued", kPeer) == "");
  // Disabled: refused with the reason, the right password too; enabled, let in.
  gpux::matching::Seat disabled = seat("PROVIDER", 3, password_hash("issued"));
  disabled.enabled = false;
  waiting.set(disabled);
  CHECK(waiting.authenticate("PROVIDER", "issued", kPeer) ==
        "seat PROVIDER is disabled by the operator");
  disabled.enabled = true;
  waiting.set(disabled);
  CHECK(waiting.authenticate("PROVIDER", "issued", kPeer) == "");
  CHECK(seats.authenticate("A", "right", kPeer) == "");
  for (int i = 0; i < SeatGuard::max_failures_per_minute; ++i)
    CHECK(seats.authenticate("A", "wrong", kPeer) == "wrong password for A");
  CHECK(seats.authenticate("A", "right", kPeer) == "too many failed logons; try again in a minute");
  ++minute;  // the lockout lasts until the minute changes
  CHECK(seats.authenticate("A", "right", kPeer) == "");
}

TEST_CASE("FIX seats: a Logon without a password is told one is needed, and not counted") {
  const auto seats_held = guard({seat("A", 1, password_hash("right"))}, [] { return 0L; });
  SeatGuard& seats = *seats_held;
  const std::string needed = "a password is required for A: Password(554) on the Logon";
  for (int i = 0; i < SeatGuard::max_failures_per_minute + 1; ++i)
    CHECK(seats.authenticate("A", "", kPeer) == needed);
  seats.vet_password("A", "", kPeer);  // vetted wrong: still told why
  CHECK(seats.authenticate("A", "", kPeer) == needed);
  CHECK(seats.authenticate("A", "right", kPeer) == "");  // no lockout
}

TEST_CASE("FIX seats: failures count per minute, and vetting counts none") {
  long minute = 7;
  const auto seats_held = guard({seat("A", 1, password_hash("right"))}, [&] { return minute; });
  SeatGuard& seats = *seats_held;
  for (int i = 0; i < SeatGuard::max_failures_per_minute - 1; ++i)
    CHECK(seats.authenticate("A", "wrong", kPeer) == "wrong password for A");
  ++minute;
  for (int i = 0; i < SeatGuard::max_failures_per_minute - 1; ++i)
    CHECK(seats.authenticate("A", "wrong", kPeer) == "wrong password for A");
  for (int i = 0; i < 10; ++i)
    seats.vet_password("A", "wrong", kPeer);
  CHECK(seats.authenticate("A", "right", kPeer) == "");
  // A password vetted wrong is refused without hashing, and counted.
  seats.vet_password("A", "guess", kPeer);
  CHECK(seats.authenticate("A", "guess", kPeer) == "wrong password for A");
  CHECK(seats.authenticate("A", "right", kPeer) == "too many failed logons; try again in a minute");
}

TEST_CASE("FIX seats: a new password hash replaces the old one, vetted or not") {
  const auto seats_held = guard({seat("A", 1, password_hash("old"))}, [] { return 0L; });
  SeatGuard& seats = *seats_held;
  seats.vet_password("A", "old", kPeer);
  CHECK(seats.authenticate("A", "old", kPeer) == "");
  seats.set(seat("A", 1, password_hash("new")));
  CHECK(seats.authenticate("A", "old", kPeer) == "wrong password for A");
  CHECK(seats.authenticate("A", "new", kPeer) == "");
  CHECK(seats.authenticate("B", "b", kPeer) == "unknown SenderCompID B");
}

TEST_CASE("FIX seats: a stranger locked out of a seat does not lock out its owner") {
  long minute = 3;
  const auto seats_held = guard({seat("A", 1, password_hash("right"))}, [&] { return minute; });
  SeatGuard& seats = *seats_held;
  const std::string stranger = "198.51.100.7";
  for (int i = 0; i < SeatGuard::max_failures_per_minute; ++i)
    CHECK(seats.authenticate("A", "guess", stranger) == "wrong password for A");
  CHECK(seats.authenticate("A", "right", stranger) ==
        "too many failed logons; try again in a minute");
  seats.vet_password("A", "right", stranger);            // locked out: vetting does nothing for it
  CHECK(seats.authenticate("A", "right", kPeer) == "");  // the owner, from its own address
  CHECK(seats.authenticate("A", "guess", kPeer) == "wrong password for A");
}

TEST_CASE("FIX seats: guesses from many addresses stop being checked; the owner's are") {
  long minute = 9;
  const auto seats_held = guard({seat("A", 1, password_hash("right"))}, [&] { return minute; });
  SeatGuard& seats = *seats_held;
  CHECK(seats.authenticate("A", "right", kPeer) == "");  // the owner's address, known now
  for (int i = 0; i < SeatGuard::max_seat_failures_per_minute; ++i)
    CHECK(seats.authenticate("A", "guess", "203.0.113." + std::to_string(i)) ==
          "wrong password for A");
  // Past the seat's ceiling, an address it never logged on from is refused
  // unchecked, even with the right password; the owner's still gets in.
  CHECK(seats.authenticate("A", "right", "198.51.100.99") ==
        "too many failed logons; try again in a minute");
  CHECK(seats.authenticate("A", "right", kPeer) == "");
  ++minute;
  CHECK(seats.authenticate("A", "right", "198.51.100.99") == "");
}

namespace {

OrderAccepted accepted(OrderId order, Side side, Price price, Quantity quantity) {
  return {.order = order, .instrument = 1, .side = side, .price = price, .quantity = quantity};
}

Trade trade(OrderId maker, Quantity maker_remaining, OrderId taker, Quantity taker_remaining,
            Price price, Quantity quantity) {
  return {.trade = 9,
          .instrument = 1,
          .price = price,
          .quantity = quantity,
          .maker_order = maker,
          .maker_remaining = maker_remaining,
          .taker_order = taker,
          .taker_remaining = taker_remaining};
}

const char bid = FIX::MDEntryType_BID;
const char offer = FIX::MDEntryType_OFFER;

}  // namespace

TEST_CASE("FIX market data: depth by level, snapshots best first") {
  MarketData market;
  market.track(accepted(1, Side::buy, 100, 5));
  market.track(accepted(2, Side::buy, 100, 3));
  market.track(accepted(3, Side::buy, 101, 1));
  market.track(accepted(4, Side::sell, 110, 2));
  CHECK(market.level(1, Side::buy, 100) == 8);
  CHECK(market.level(1, Side::sell, 100) == 0);
  CHECK(market.level(2, Side::buy, 100) == 0);
  const char n = FIX::MDUpdateAction_NEW;
  CHECK(market.snapshot(1, 0) ==
        std::vector<BookEntry>{{bid, n, 101, 1}, {bid, n, 100, 8}, {offer, n, 110, 2}});
  CHECK(market.snapshot(1, 1) == std::vector<BookEntry>{{bid, n, 101, 1}, {offer, n, 110, 2}});
  CHECK(market.snapshot(2, 0).empty());
  CHECK(market.live().size() == 4);
}

TEST_CASE("FIX market data: a command's changes, level by level, then its trades") {
  MarketData market;
  market.track(accepted(1, Side::buy, 100, 5));
  market.track(accepted(2, Side::buy, 99, 4));
  market.discard_changes();  // an earlier command nobody heard of
  // A sell of 7 takes order 1 and part of order 2.
  market.track(accepted(3, Side::sell, 99, 7));
  const std::vector<Event> events{trade(1, 0, 3, 2, 100, 5), trade(2, 2, 3, 0, 99, 2)};
  for (const Event& event : events)
    market.track(event);
  CHECK(market.take_changes(events)[1] ==
        std::vector<BookEntry>{{bid, FIX::MDUpdateAction_CHANGE, 99, 2},
                               {bid, FIX::MDUpdateAction_DELETE, 100, 0},
                               {FIX::MDEntryType_TRADE, FIX::MDUpdateAction_NEW, 100, 5},
                               {FIX::MDEntryType_TRADE, FIX::MDUpdateAction_NEW, 99, 2}});
  CHECK(market.live().size() == 1);        // order 2, with 2 left
  CHECK(market.take_changes({}).empty());  // taken: forgotten

  market.track(OrderReplaced{.order = 2, .instrument = 1, .price = 98, .quantity = 6});
  market.track(OrderCanceled{.order = 77, .instrument = 1});  // not live: nothing
  CHECK(market.take_changes({})[1] ==
        std::vector<BookEntry>{{bid, FIX::MDUpdateAction_NEW, 98, 6},
                               {bid, FIX::MDUpdateAction_DELETE, 99, 0}});
  // Decrement-and-cancel shrinks the order, which lives on.
  market.track(OrderCanceled{.order = 2, .instrument = 1, .canceled = 4, .remaining = 2});
  CHECK(market.level(1, Side::buy, 98) == 2);
  market.track(OrderExpired{.order = 2, .instrument = 1});
  CHECK(market.level(1, Side::buy, 98) == 0);
  CHECK(market.live().empty());
}

TEST_CASE("FIX market data: orders restored from a checkpoint are in the book, not changes") {
  MarketData market;
  market.restore(5, {.instrument = 1, .side = Side::sell, .price = 120, .remaining = 4});
  CHECK(market.level(1, Side::sell, 120) == 4);
  CHECK(market.take_changes({}).empty());
  market.track(trade(5, 1, 6, 0, 120, 3));
  CHECK(market.take_changes({})[1] ==
        std::vector<BookEntry>{{offer, FIX::MDUpdateAction_CHANGE, 120, 1}});
}

namespace {

Working order(const std::string& cl_ord_id, const std::string& symbol = "S1") {
  return {.session = "A",
          .cl_ord_id = cl_ord_id,
          .symbol = symbol,
          .side = FIX::Side_SELL,
          .order_qty = 10,
          .price = 500,
          .cum_qty = 4,
          .cum_notional = 2000};
}

}  // namespace

TEST_CASE("FIX order index: working orders by id and ClOrdID; ended ones until forgotten") {
  OrderIndex orders;
  orders.open(7, order("c1"));
  REQUIRE(orders.find(7) != nullptr);
  CHECK(orders.find(7)->cl_ord_id == "c1");
  CHECK(orders.find("A", "c1") == OrderId{7});
  CHECK(!orders.find("B", "c1"));  // ClOrdIDs are per session
  CHECK(orders.taken("A", "c1"));
  CHECK(!orders.taken("B", "c1"));

  CHECK(!orders.finish(8, FIX::OrdStatus_CANCELED));  // not working
  const auto ended = orders.finish(7, FIX::OrdStatus_CANCELED);
  REQUIRE(ended);
  CHECK(ended->id == 7);
  CHECK(ended->order.cl_ord_id == "c1");
  CHECK(orders.find(7) == nullptr);
  CHECK(!orders.find("A", "c1"));
  CHECK(orders.taken("A", "c1"));  // a resent order must not trade twice
  REQUIRE(orders.find_ended("A", "c1") != nullptr);
  CHECK(orders.find_ended("A", "c1")->ord_status == FIX::OrdStatus_CANCELED);

  CHECK(!orders.forget("S2"));
  CHECK(orders.forget("S1"));
  CHECK(!orders.taken("A", "c1"));
  CHECK(orders.find_ended("A", "c1") == nullptr);
  CHECK(!orders.forget("S1"));  // the store has forgotten them already
}

TEST_CASE("FIX order index: a ClOrdID submitted and not yet journaled is taken") {
  OrderIndex orders;
  orders.reserve("A", "c1");
  CHECK(orders.taken("A", "c1"));  // a second order under it, sent at once, is a duplicate
  CHECK(!orders.taken("B", "c1"));
  CHECK(!orders.find("A", "c1"));  // not working: nothing to cancel or ask about yet
  orders.open(7, order("c1"));     // journaled and accepted
  orders.release("A", "c1");
  CHECK(orders.taken("A", "c1"));  // working now
  orders.reserve("A", "c2");
  orders.release("A", "c2");  // rejected by the engine, or refused by the sequencer
  CHECK(!orders.taken("A", "c2"));
  orders.release("A", "c3");  // never reserved: nothing happens
  CHECK(!orders.taken("A", "c3"));
}

TEST_CASE("FIX order index: a replace ends the old ClOrdID and keeps the order working") {
  OrderIndex orders;
  orders.open(7, order("c1"));
  const Ended replaced = orders.rename(7, "c2");
  CHECK(replaced.ord_status == FIX::OrdStatus_REPLACED);
  CHECK(replaced.order.cl_ord_id == "c1");
  CHECK(orders.find("A", "c2") == OrderId{7});
  CHECK(!orders.find("A", "c1"));
  CHECK(orders.find(7)->cl_ord_id == "c2");
  CHECK(orders.find_ended("A", "c1") != nullptr);
  CHECK(orders.taken("A", "c1"));
}

TEST_CASE("FIX order index: a ClOrdID ended again under another symbol outlives the first") {
  OrderIndex orders;
  orders.open(1, order("c1", "S1"));
  orders.finish(1, FIX::OrdStatus_FILLED);
  orders.open(2, order("c1", "S2"));  // after S1's ended orders were stored, not yet forgotten
  orders.finish(2, FIX::OrdStatus_EXPIRED);
  CHECK(orders.forget("S1"));
  REQUIRE(orders.find_ended("A", "c1") != nullptr);
  CHECK(orders.find_ended("A", "c1")->id == 2);
}

TEST_CASE("FIX order index: ended orders come back from their stored records") {
  const Ended ended{order("c1"), 42, FIX::OrdStatus_EXPIRED};
  OrderIndex orders;
  orders.load_ended(gpux::fix::record_of(ended));
  orders.load_ended("\xff not a record");
  const Ended* loaded = orders.find_ended("A", "c1");
  REQUIRE(loaded != nullptr);
  CHECK(loaded->id == 42);
  CHECK(loaded->ord_status == FIX::OrdStatus_EXPIRED);
  CHECK(loaded->order.side == FIX::Side_SELL);
  CHECK(loaded->order.price == 500);
  CHECK(loaded->order.order_qty == 10);
  CHECK(loaded->order.cum_qty == 4);
  CHECK(loaded->order.cum_notional == 2000);
  CHECK(orders.forget("S1"));
}

namespace {

using gpux::fix::FixOrderEntry;
using gpux::fix::FixStateStore;
using gpux::fix::MarketDataReport;
using gpux::fix::OrderRequest;
using gpux::fix::Report;

const std::string symbol = "H100-SXM.us-east.20261122T15";

// What the acceptor would send, kept. Read once the sender has stopped.
class FakeSink final : public gpux::fix::ReportSink {
 public:
  void send(const Report& report) override { reports.push_back(report); }
  void send(const gpux::fix::SecurityListReport&) override {}
  void send(const MarketDataReport& report) override { market_data.push_back(report); }
  void send(const gpux::fix::BalanceReport&) override {}
  void send(const gpux::fix::FillsReport&) override {}
  void send(const gpux::fix::DeliveryKeyReport&) override {}
  void end_of_batch() override { ++batches; }
  void seat_changed(const std::string&, bool, const std::string&) override {}

  std::vector<Report> reports;
  std::vector<MarketDataReport> market_data;
  int batches = 0;
};

// The FixOrigin journaled beside a FIX command.
std::string fix_origin(const std::string& session, const std::string& cl_ord_id, Quantity order_qty,
                       int msg_seq_num) {
  gpux::proto::FixOrigin origin;
  origin.set_session(session);
  origin.set_cl_ord_id(cl_ord_id);
  origin.set_symbol(symbol);
  origin.set_order_qty(order_qty);
  origin.set_msg_seq_num(static_cast<std::uint32_t>(msg_seq_num));
  origin.set_generation(1);
  return origin.SerializeAsString();
}

NewOrder buy(ParticipantId participant, Quantity quantity) {
  return {.participant = participant, .instrument = 1, .price = 100, .quantity = quantity};
}

NewOrder sell(ParticipantId participant, Quantity quantity) {
  return {.participant = participant,
          .instrument = 1,
          .side = Side::sell,
          .price = 100,
          .quantity = quantity};
}

OrderRequest status(const std::string& cl_ord_id) {
  // Copied from a string, not assigned from a literal: GCC 12 at -O3 warns
  // falsely (-Wrestrict, GCC bug 105329) on `session = "A"` here.
  static const std::string session = "A";
  OrderRequest request;
  request.kind = OrderRequest::status;
  request.session = session;
  request.cl_ord_id = cl_ord_id;
  return request;
}

// An order entry as the pipeline drives it: commands numbered from 1, with
// their events, on a state store in a temporary directory.
struct Exchange {
  explicit Exchange(const std::filesystem::path& directory) : store(directory) {
    entry.set_sink(sink);
    EngineSnapshot seats;
    seats.seats = {seat("A", 1), seat("B", 2)};
    entry.recovered(seats);
  }
  void observe(CommandBody body, const std::vector<Event>& events, const std::string& origin = {}) {
    entry.observe({.stamp = {.sequence = ++sequence}, .body = std::move(body)}, events, origin);
  }
  void list() {
    InstrumentSpec spec;
    spec.id = 1;
    spec.symbol = symbol;
    spec.max_quantity = 100;
    observe(ListInstrument(spec), {InstrumentListed{.instrument = 1}});
  }

  FixStateStore store;
  FakeSink sink;
  FixOrderEntry entry{gpux::fix::FixConfig{}, store};
  SequenceNumber sequence = 0;
};

}  // namespace

TEST_CASE("FIX order entry: a FIX order's acceptance and fills reach its session") {
  gpux::test::TempDir dir;
  Exchange exchange(dir.path());
  exchange.list();
  exchange.observe(buy(1, 5), {accepted(10, Side::buy, 100, 5)}, fix_origin("A", "a1", 5, 7));
  // Orders from elsewhere (no FixOrigin) trade with it: its owner hears.
  exchange.observe(sell(2, 2), {accepted(11, Side::sell, 100, 2), trade(10, 3, 11, 0, 100, 2)});
  exchange.entry.submit(status("a1"));
  exchange.observe(sell(2, 3), {accepted(12, Side::sell, 100, 3), trade(10, 0, 12, 0, 100, 3)});
  // Ended, its ClOrdID is still taken, and its status still known.
  OrderRequest again = status("a1");
  again.kind = OrderRequest::new_order;
  again.symbol = symbol;
  again.price = 100;
  again.quantity = 1;
  exchange.entry.submit(again);
  exchange.entry.submit(status("a1"));
  exchange.entry.stop_sending();

  const std::vector<Report>& r = exchange.sink.reports;
  REQUIRE(r.size() == 6);
  for (const Report& report : r)
    CHECK(report.session == "A");
  CHECK(r[0].exec_type == FIX::ExecType_NEW);
  CHECK(r[0].ord_status == FIX::OrdStatus_NEW);
  CHECK(r[0].order_id == "10");
  CHECK(r[0].exec_id == "2-0");
  CHECK(r[0].cl_ord_id == "a1");
  CHECK(r[0].symbol == symbol);
  CHECK(r[0].side == FIX::Side_BUY);
  CHECK(r[0].leaves_qty == 5);

  CHECK(r[1].exec_type == FIX::ExecType_TRADE);
  CHECK(r[1].ord_status == FIX::OrdStatus_PARTIALLY_FILLED);
  CHECK(r[1].exec_id == "T9-m");
  CHECK(r[1].last_qty == 2);
  CHECK(r[1].last_px == 100);
  CHECK(r[1].cum_qty == 2);
  CHECK(r[1].leaves_qty == 3);
  CHECK(r[1].avg_px == 100);

  CHECK(r[2].exec_type == FIX::ExecType_ORDER_STATUS);
  CHECK(r[2].ord_status == FIX::OrdStatus_PARTIALLY_FILLED);
  CHECK(r[2].leaves_qty == 3);

  CHECK(r[3].exec_type == FIX::ExecType_TRADE);
  CHECK(r[3].ord_status == FIX::OrdStatus_FILLED);
  CHECK(r[3].cum_qty == 5);
  CHECK(r[3].leaves_qty == 0);

  CHECK(r[4].exec_type == FIX::ExecType_REJECTED);
  CHECK(r[4].order_id == "NONE");
  CHECK(r[4].ord_rej_reason == FIX::OrdRejReason_DUPLICATE_ORDER);
  CHECK(r[4].text == "duplicate ClOrdID a1");

  CHECK(r[5].exec_type == FIX::ExecType_ORDER_STATUS);
  CHECK(r[5].ord_status == FIX::OrdStatus_FILLED);
  CHECK(r[5].exec_id == "S-10");

  CHECK(exchange.sink.batches >= 1);
  CHECK(exchange.store.ended().size() == 1);  // stored by the sender
  const auto inputs = exchange.entry.journaled_inputs();
  REQUIRE(inputs.contains("A"));
  CHECK(inputs.at("A").msg_seq_num == 7);
  CHECK(inputs.at("A").generation == 1);
}

TEST_CASE("FIX order entry: subscribers get a snapshot, then each command's changes") {
  gpux::test::TempDir dir;
  Exchange exchange(dir.path());
  exchange.list();
  exchange.observe(buy(1, 5), {accepted(10, Side::buy, 100, 5)});
  const char subscribe = FIX::SubscriptionRequestType_SNAPSHOT_PLUS_UPDATES;
  exchange.entry.request_market_data({"B", "deep", subscribe, 1, {symbol}});
  exchange.entry.request_market_data({"B", "nosuch", subscribe, 0, {"XYZ"}});
  exchange.entry.request_market_data({"B", "md", subscribe, 0, {symbol}});
  exchange.observe(sell(2, 2), {accepted(11, Side::sell, 100, 2), trade(10, 3, 11, 0, 100, 2)});
  exchange.entry.disconnected("B");  // no more updates
  exchange.observe(sell(2, 3), {accepted(12, Side::sell, 100, 3), trade(10, 0, 12, 0, 100, 3)});
  exchange.entry.stop_sending();

  const std::vector<MarketDataReport>& md = exchange.sink.market_data;
  REQUIRE(md.size() == 4);
  CHECK(md[0].kind == MarketDataReport::reject);
  CHECK(md[0].reject_reason == FIX::MDReqRejReason_UNSUPPORTED_MARKETDEPTH);
  CHECK(md[1].kind == MarketDataReport::reject);
  CHECK(md[1].reject_reason == FIX::MDReqRejReason_UNKNOWN_SYMBOL);
  CHECK(md[2].kind == MarketDataReport::snapshot);
  CHECK(md[2].entries == std::vector<BookEntry>{{bid, FIX::MDUpdateAction_NEW, 100, 5}});
  CHECK(md[3].kind == MarketDataReport::incremental);
  CHECK(md[3].request_id == "md");
  CHECK(md[3].symbol == symbol);
  CHECK(md[3].entries ==
        std::vector<BookEntry>{{bid, FIX::MDUpdateAction_CHANGE, 100, 3},
                               {FIX::MDEntryType_TRADE, FIX::MDUpdateAction_NEW, 100, 2}});
  CHECK(exchange.sink.reports.empty());  // no FIX orders
}

TEST_CASE("FIX order entry: a checkpoint brings back its working orders and the book") {
  gpux::test::TempDir dir;
  {
    Exchange exchange(dir.path());
    exchange.list();
    exchange.observe(buy(1, 5), {accepted(10, Side::buy, 100, 5)}, fix_origin("A", "a1", 5, 3));
    exchange.observe(sell(2, 2), {accepted(11, Side::sell, 100, 2), trade(10, 3, 11, 0, 100, 2)});
    exchange.entry.checkpoint();
    exchange.entry.stop_sending();
  }
  Exchange exchange(dir.path());
  CHECK(exchange.entry.checkpoint_sequence() == 3);
  CHECK(exchange.entry.journaled_inputs().at("A").msg_seq_num == 3);
  exchange.sequence = 3;
  exchange.list();  // as start() would: the instruments come from the engine
  exchange.entry.request_market_data(
      {"B", "md", FIX::SubscriptionRequestType_SNAPSHOT, 0, {symbol}});
  exchange.observe(sell(2, 3), {accepted(12, Side::sell, 100, 3), trade(10, 0, 12, 0, 100, 3)});
  exchange.entry.stop_sending();

  REQUIRE(exchange.sink.market_data.size() == 1);
  CHECK(exchange.sink.market_data[0].entries ==
        std::vector<BookEntry>{{bid, FIX::MDUpdateAction_NEW, 100, 3}});
  const std::vector<Report>& r = exchange.sink.reports;
  REQUIRE(r.size() == 1);
  CHECK(r[0].cl_ord_id == "a1");
  CHECK(r[0].ord_status == FIX::OrdStatus_FILLED);
  CHECK(r[0].cum_qty == 5);
  CHECK(r[0].avg_px == 100);
}

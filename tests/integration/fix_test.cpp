// A real gpuxd process with its FIX acceptor, and real QuickFIX initiator
// sessions over loopback. Compiled as C++14, like every QuickFIX unit.
#include <algorithm>
#include <set>

#include "fix_fixture.h"
#include "journal_view.h"
#include "order_entry.h"
#include "ssh_keys.h"

using namespace fixtest;

TEST_CASE("FIX order entry: acknowledge, trade, cancel, and the specific rejects") {
  Exchange exchange("fix_client = ALICE participant=1 password=none\n");
  Client& client = exchange.client;
  const FIX::SessionID& alice = exchange.alice;
  const FIX::SessionID& bob = exchange.bob;
  REQUIRE(client.wait_logons(2));

  SUBCASE("new, partial fill, cancel") {
    FIX::Message buy = new_order("a1", kSymbol, '1', "2.0001", "5");
    FIX::Session::sendToTarget(buy, alice);
    FIX::Message ack = client.next("ALICE");
    CHECK(field(ack, FIX::FIELD::ExecType) == "0");
    CHECK(field(ack, FIX::FIELD::ClOrdID) == "a1");
    CHECK(field(ack, FIX::FIELD::LeavesQty) == "5");
    const std::string order_id = field(ack, FIX::FIELD::OrderID);

    FIX::Message sell = new_order("b1", kSymbol, '2', "2", "3");
    FIX::Session::sendToTarget(sell, bob);
    CHECK(field(client.next("BOB"), FIX::FIELD::ExecType) == "0");
    const FIX::Message bob_fill = client.next("BOB");
    CHECK(field(bob_fill, FIX::FIELD::ExecType) == "F");
    CHECK(field(bob_fill, FIX::FIELD::OrdStatus) == "2");
    CHECK(field(bob_fill, FIX::FIELD::LastPx) == "2.000100");  // the maker's price
    const FIX::Message alice_fill = client.next("ALICE");
    CHECK(field(alice_fill, FIX::FIELD::ExecType) == "F");
    CHECK(field(alice_fill, FIX::FIELD::OrdStatus) == "1");
    CHECK(field(alice_fill, FIX::FIELD::LeavesQty) == "2");
    CHECK(field(alice_fill, FIX::FIELD::CumQty) == "3");
    CHECK(field(alice_fill, FIX::FIELD::ExecID) != field(bob_fill, FIX::FIELD::ExecID));

    FIX::Message out = cancel("a2", "a1", '1');
    FIX::Session::sendToTarget(out, alice);
    const FIX::Message canceled = client.next("ALICE");
    CHECK(field(canceled, FIX::FIELD::ExecType) == "4");
    CHECK(field(canceled, FIX::FIELD::ClOrdID) == "a2");
    CHECK(field(canceled, FIX::FIELD::OrigClOrdID) == "a1");
    CHECK(field(canceled, FIX::FIELD::OrderID) == order_id);
    CHECK(field(canceled, FIX::FIELD::LeavesQty) == "0");
  }
  SUBCASE("one ClOrdID sent twice at once: one order, then duplicate rejects with unique ExecIDs") {
    // Back to back, so the second arrives while the first is still being
    // journaled: the duplicate check must count orders in flight.
    FIX::Message first = new_order("d1", kSymbol, '1', "1.5", "1");
    FIX::Message second = new_order("d1", kSymbol, '1', "1.5", "1");
    FIX::Session::sendToTarget(first, alice);
    FIX::Session::sendToTarget(second, alice);
    // The duplicate's reject needs no journal, so it may overtake the
    // first's acknowledgement, which waits for the fsync.
    const FIX::Message x = client.next("ALICE");
    const FIX::Message y = client.next("ALICE");
    const bool acknowledged_first = field(x, FIX::FIELD::ExecType) == "0";
    const FIX::Message& a = acknowledged_first ? x : y;
    const FIX::Message& b = acknowledged_first ? y : x;
    CHECK(field(a, FIX::FIELD::ExecType) == "0");
    CHECK(field(b, FIX::FIELD::ExecType) == "8");
    CHECK(field(b, FIX::FIELD::OrdRejReason) == "6");  // duplicate order
    FIX::Message third = new_order("d1", kSymbol, '1', "1.5", "1");
    FIX::Session::sendToTarget(third, alice);
    const FIX::Message c = client.next("ALICE");
    CHECK(field(c, FIX::FIELD::OrdRejReason) == "6");
    CHECK(field(b, FIX::FIELD::ExecID) != field(c, FIX::FIELD::ExecID));
  }
  SUBCASE("replace, status, mass cancel") {
    FIX::Message buy = new_order("r1", kSymbol, '1', "1.9", "5");
    FIX::Session::sendToTarget(buy, alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "0");
    FIX::Message change = replace("r2", "r1", "1.95", "8");
    FIX::Session::sendToTarget(change, alice);
    FIX::Message replaced = client.next("ALICE");
    CHECK(field(replaced, FIX::FIELD::ExecType) == "5");
    CHECK(field(replaced, FIX::FIELD::ClOrdID) == "r2");
    CHECK(field(replaced, FIX::FIELD::OrigClOrdID) == "r1");
    CHECK(field(replaced, FIX::FIELD::Price) == "1.950000");
    CHECK(field(replaced, FIX::FIELD::LeavesQty) == "8");

    FIX::Message status;
    status.getHeader().setField(FIX::FIELD::MsgType, "H");
    status.setField(FIX::FIELD::ClOrdID, "r2");
    status.setField(FIX::FIELD::Symbol, kSymbol);
    status.setField(FIX::FIELD::Side, "1");
    FIX::Session::sendToTarget(status, alice);
    FIX::Message state = client.next("ALICE");
    CHECK(field(state, FIX::FIELD::ExecType) == "I");
    CHECK(field(state, FIX::FIELD::OrdStatus) == "0");
    CHECK(field(state, FIX::FIELD::LeavesQty) == "8");

    FIX::Message stale = replace("r3", "r1", "1.9", "5");  // r1 is now r2
    FIX::Session::sendToTarget(stale, alice);
    FIX::Message refused = client.next("ALICE");
    CHECK(refused.getHeader().getField(FIX::FIELD::MsgType) == "9");
    CHECK(field(refused, FIX::FIELD::CxlRejResponseTo) == "2");

    FIX::Message another = new_order("r4", kSymbol, '1', "1.8", "1");
    FIX::Session::sendToTarget(another, alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "0");
    FIX::Message mass;
    mass.getHeader().setField(FIX::FIELD::MsgType, "q");
    mass.setField(FIX::FIELD::ClOrdID, "m1");
    mass.setField(FIX::FIELD::MassCancelRequestType, "7");
    mass.setField(FIX::TransactTime());
    FIX::Session::sendToTarget(mass, alice);
    int canceled = 0;
    FIX::Message report;
    for (int i = 0; i < 3; ++i) {
      FIX::Message m = client.next("ALICE");
      if (m.getHeader().getField(FIX::FIELD::MsgType) == "r") {
        report = m;
      } else {
        canceled += field(m, FIX::FIELD::ExecType) == "4";
      }
    }
    CHECK(canceled == 2);
    CHECK(field(report, FIX::FIELD::ClOrdID) == "m1");
    CHECK(field(report, FIX::FIELD::MassCancelResponse) == "7");
    CHECK(field(report, FIX::FIELD::TotalAffectedOrders) == "2");
  }
  SUBCASE("rejects name their reason") {
    FIX::Message unknown_symbol = new_order("x1", "NOPE", '1', "2", "1");
    FIX::Session::sendToTarget(unknown_symbol, alice);
    FIX::Message r = client.next("ALICE");
    CHECK(field(r, FIX::FIELD::ExecType) == "8");
    CHECK(field(r, FIX::FIELD::OrdRejReason) == "1");

    // A buy of ALICE's, rejected: the reason's text.
    const auto rejected = [&](const char* id, const char* price, const char* quantity) {
      FIX::Message order = new_order(id, kSymbol, '1', price, quantity);
      FIX::Session::sendToTarget(order, alice);
      const FIX::Message reject = client.next("ALICE");
      CHECK(field(reject, FIX::FIELD::ExecType) == "8");
      return field(reject, FIX::FIELD::Text);
    };
    CHECK(rejected("x2", "2", "1.5") == "OrderQty(38) must be a whole number of units");
    // 9.3e12 USD is 9.3e18 micro-USD: past int64 if read naively.
    CHECK(rejected("x6", "9300000000000", "1") ==
          "Price(44) is too large (at most 1000000000000) (USD)");
    CHECK(rejected("x3", "9", "1") == "price_outside_band: the band is 1.500000 to 2.500000");
    const std::string long_id(65, 'L');
    CHECK(rejected(long_id.c_str(), "2", "1") == "ClOrdID(11) is longer than 64 characters");

    FIX::Message too_poor = new_order("x4", kSymbol, '2', "2", "1");  // ALICE has no capacity
    FIX::Session::sendToTarget(too_poor, alice);
    r = client.next("ALICE");
    CHECK(field(r, FIX::FIELD::OrdRejReason) == "3");
    CHECK(field(r, FIX::FIELD::Text) == "insufficient_capacity");

    FIX::Message nobody = cancel("x5", "never-sent", '1');
    FIX::Session::sendToTarget(nobody, alice);
    r = client.next("ALICE");
    CHECK(r.getHeader().getField(FIX::FIELD::MsgType) == "9");
    CHECK(field(r, FIX::FIELD::ClOrdID) == "x5");

    // Another participant's order is not found by its ClOrdID: sessions only see their own.
    FIX::Message resting = new_order("b9", kSymbol, '2', "2.4", "1");
    FIX::Session::sendToTarget(resting, bob);
    CHECK(field(client.next("BOB"), FIX::FIELD::ExecType) == "0");
    FIX::Message foreign = cancel("x6", "b9", '2');
    FIX::Session::sendToTarget(foreign, alice);
    CHECK(client.next("ALICE").getHeader().getField(FIX::FIELD::MsgType) == "9");
  }
}

// Three consecutive hours: kSymbol's and the two after it.
const char* const kHour2 = "H100-SXM.us-east.21000101T01";
const char* const kHour3 = "H100-SXM.us-east.21000101T02";

FIX::Message block_order(const std::string& id, char side, const char* limit, const char* units,
                         const char* hours) {
  FIX::Message m = new_order(id, kSymbol, side, limit, units);
  m.getHeader().setField(FIX::FIELD::MsgType, "AB");  // NewOrderMultileg
  m.setField(20010, hours);                           // BlockHours
  return m;
}

// ALICE and BOB, kSymbol's hour and the two after it; BOB may sell 100 in each.
const char* const kThreeHours =
    "fix_client = ALICE participant=1 password=none\n"
    "instrument = 2 symbol=H100-SXM.us-east.21000101T01 class=H100-SXM region=us-east "
    "start=4102448400 tick=100 max=1000 reference=2000000 band=500000\n"
    "instrument = 3 symbol=H100-SXM.us-east.21000101T02 class=H100-SXM region=us-east "
    "start=4102452000 tick=100 max=1000 reference=2000000 band=500000\n"
    "capacity = 2 instrument=2 units=100\ncapacity = 2 instrument=3 units=100\n";

// BOB offers 5 in each hour, dearer in the last.
void offer_three_hours(Exchange& exchange) {
  const char* const hours[] = {kSymbol, kHour2, kHour3};
  const char* const prices[] = {"2", "2", "2.3"};
  for (int h = 0; h < 3; ++h) {
    FIX::Message offer = new_order("o" + std::to_string(h), hours[h], '2', prices[h], "5");
    FIX::Session::sendToTarget(offer, exchange.bob);
    CHECK(field(exchange.client.next("BOB"), FIX::FIELD::ExecType) == "0");
  }
}

TEST_CASE("FIX block orders: every hour filled, legs reported as fills, or none") {
  Exchange exchange(kThreeHours);
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));
  offer_three_hours(exchange);
  const char* const hours[] = {kSymbol, kHour2, kHour3};

  SUBCASE("filled: an acknowledgement, then one fill per hour under the block's ClOrdID") {
    // 4 x (2 + 2 + 2.3) = 25.2 USD <= 3 hours x 4 units x 2.1 USD.
    FIX::Message block = block_order("blk1", '1', "2.1", "4", "3");
    FIX::Session::sendToTarget(block, exchange.alice);
    const FIX::Message ack = client.next("ALICE");
    CHECK(field(ack, FIX::FIELD::ExecType) == "0");
    CHECK(field(ack, FIX::FIELD::ClOrdID) == "blk1");
    CHECK(field(ack, FIX::FIELD::OrderQty) == "12");
    CHECK(field(ack, FIX::FIELD::Symbol) == kSymbol);  // the span's first hour
    for (int h = 0; h < 3; ++h) {
      CAPTURE(h);
      const FIX::Message leg = client.next("ALICE");
      CHECK(field(leg, FIX::FIELD::ExecType) == "F");
      CHECK(field(leg, FIX::FIELD::ClOrdID) == "blk1");
      CHECK(field(leg, FIX::FIELD::OrderID) == field(ack, FIX::FIELD::OrderID));
      CHECK(field(leg, FIX::FIELD::Symbol) == hours[h]);
      CHECK(field(leg, FIX::FIELD::LastQty) == "4");
      CHECK(field(leg, FIX::FIELD::LastPx) == (h < 2 ? "2.000000" : "2.300000"));
      CHECK(field(leg, FIX::FIELD::CumQty) == std::to_string(4 * (h + 1)));
      CHECK(field(leg, FIX::FIELD::LeavesQty) == std::to_string(12 - 4 * (h + 1)));
      CHECK(field(leg, FIX::FIELD::OrdStatus) == (h < 2 ? "1" : "2"));
    }
    // BOB's offers were filled as any hourly order is.
    for (int h = 0; h < 3; ++h)
      CHECK(field(client.next("BOB"), FIX::FIELD::LastQty) == "4");
    // The block has ended filled: its status says so, and its ClOrdID is taken.
    FIX::Message status = status_request("blk1");
    FIX::Session::sendToTarget(status, exchange.alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::OrdStatus) == "2");
    FIX::Message again = block_order("blk1", '1', "2.1", "1", "1");
    FIX::Session::sendToTarget(again, exchange.alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::OrdRejReason) == "6");  // duplicate order
  }
  SUBCASE("the total above the limit: rejected whole, nothing traded") {
    FIX::Message block = block_order("blk2", '1', "2.09", "4", "3");
    FIX::Session::sendToTarget(block, exchange.alice);
    const FIX::Message rejected = client.next("ALICE");
    CHECK(field(rejected, FIX::FIELD::ExecType) == "8");
    CHECK(field(rejected, FIX::FIELD::Text) == "block_not_fillable");
    FIX::Message cheap = new_order("a1", kHour3, '1', "2.3", "5");  // all 5 still there
    FIX::Session::sendToTarget(cheap, exchange.alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "0");
    CHECK(field(client.next("ALICE"), FIX::FIELD::CumQty) == "5");
  }
  SUBCASE("a span past the listed hours, and terms the acceptor refuses, each named") {
    FIX::Message long_block = block_order("blk3", '1', "2.5", "1", "4");
    FIX::Session::sendToTarget(long_block, exchange.alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::Text) == "block_hour_not_open");
    FIX::Message no_hours = block_order("blk4", '1', "2.5", "1", "0");
    FIX::Session::sendToTarget(no_hours, exchange.alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::Text) ==
          "BlockHours(20010) must be a whole number of hours from 1 to 168");
    FIX::Message fok = block_order("blk5", '1', "2.5", "1", "2");
    fok.setField(FIX::FIELD::TimeInForce, "4");
    FIX::Session::sendToTarget(fok, exchange.alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::Text) ==
          "TimeInForce(59) must be 3 (IOC: fill at once or not at all) or 0 or 1 (rest until "
          "the gate closes on an hour of the span)");
  }
}

TEST_CASE("FIX block orders: a resting block works until cancelled, or fills later") {
  Exchange exchange(kThreeHours);
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));
  const auto rest = [&](const std::string& id) {
    FIX::Message block = block_order(id, '1', "2.1", "4", "3");
    block.setField(FIX::FIELD::TimeInForce, "1");  // good till cancel: until the gate
    FIX::Session::sendToTarget(block, exchange.alice);
    const FIX::Message ack = client.next("ALICE");
    CHECK(field(ack, FIX::FIELD::ExecType) == "0");
    CHECK(field(ack, FIX::FIELD::OrdStatus) == "0");
    CHECK(field(ack, FIX::FIELD::LeavesQty) == "12");
  };
  rest("rest1");
  FIX::Message cancel_it = cancel("c1", "rest1", '1');
  FIX::Session::sendToTarget(cancel_it, exchange.alice);
  const FIX::Message canceled = client.next("ALICE");
  CHECK(field(canceled, FIX::FIELD::ExecType) == "4");
  CHECK(field(canceled, FIX::FIELD::OrigClOrdID) == "rest1");
  CHECK(field(canceled, FIX::FIELD::LeavesQty) == "0");

  rest("rest2");
  // A clean stop checkpoints the gateway with the block working in it.
  REQUIRE(exchange.daemon->stop() == 0);
  exchange.start_daemon();
  REQUIRE(client.wait_logons(4));
  // BOB's third offer makes every hour fillable within the limit: the
  // block fills then, each leg under its ClOrdID and its hour's Symbol.
  offer_three_hours(exchange);
  const char* const hours[] = {kSymbol, kHour2, kHour3};
  for (int h = 0; h < 3; ++h) {
    CAPTURE(h);
    const FIX::Message leg = client.next("ALICE");
    CHECK(field(leg, FIX::FIELD::ExecType) == "F");
    CHECK(field(leg, FIX::FIELD::ClOrdID) == "rest2");
    CHECK(field(leg, FIX::FIELD::Symbol) == hours[h]);
    CHECK(field(leg, FIX::FIELD::LeavesQty) == std::to_string(12 - 4 * (h + 1)));
  }
  exchange.daemon->kill_hard();
  exchange.start_daemon();
  REQUIRE(client.wait_logons(6));
  FIX::Message status = status_request("rest2");
  FIX::Session::sendToTarget(status, exchange.alice);
  const FIX::Message known = client.next_matching(
      "ALICE", [](const FIX::Message& m) { return field(m, FIX::FIELD::ExecType) == "I"; });
  CHECK(field(known, FIX::FIELD::OrdStatus) == "2");
  CHECK(field(known, FIX::FIELD::CumQty) == "12");
}

namespace {

FIX::Message market_data_request(const std::string& id, char subscription, int depth,
                                 const std::string& symbol) {
  FIX::Message m;
  m.getHeader().setField(FIX::FIELD::MsgType, "V");
  m.setField(FIX::FIELD::MDReqID, id);
  m.setField(FIX::FIELD::SubscriptionRequestType, std::string(1, subscription));
  m.setField(FIX::FIELD::MarketDepth, std::to_string(depth));
  FIX::Group type(FIX::FIELD::NoMDEntryTypes, FIX::FIELD::MDEntryType);
  type.setField(FIX::FIELD::MDEntryType, "0");
  m.addGroup(type);
  FIX::Group instrument(FIX::FIELD::NoRelatedSym, FIX::FIELD::Symbol);
  instrument.setField(FIX::FIELD::Symbol, symbol);
  m.addGroup(instrument);
  return m;
}

}  // namespace

TEST_CASE("FIX block orders: the first hour's book shows resting blocks and their span's price") {
  Exchange exchange(kThreeHours);
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));
  offer_three_hours(exchange);
  // 4 x (2 + 2 + 2.3) = 25.2 USD > 3 hours x 4 units x 2 USD: it rests.
  FIX::Message block = block_order("rest1", '1', "2", "4", "3");
  block.setField(FIX::FIELD::TimeInForce, "1");
  FIX::Session::sendToTarget(block, exchange.alice);
  CHECK(field(client.next("ALICE"), FIX::FIELD::OrdStatus) == "0");
  const auto book = [&] {
    FIX::Message request = market_data_request("md", '0', 0, kSymbol);
    FIX::Session::sendToTarget(request, exchange.alice);
    const FIX::Message snapshot = client.next("ALICE");
    std::vector<std::string> out;
    for (int i = 1; i <= static_cast<int>(snapshot.groupCount(FIX::FIELD::NoMDEntries)); ++i) {
      FIX::Group g(FIX::FIELD::NoMDEntries, FIX::FIELD::MDEntryType);
      snapshot.getGroup(i, g);
      out.push_back(g.getField(FIX::FIELD::MDEntryType) + " " + g.getField(FIX::FIELD::MDEntryPx) +
                    " " + g.getField(FIX::FIELD::MDEntrySize) +
                    (g.isSetField(20010) ? " " + g.getField(20010) + "h" : ""));
    }
    return out;
  };
  // The offer, the resting buy block (not tradable against it), and what
  // the offers of the three hours would cost per unit-hour: 25.2 / 12.
  CHECK(book() == std::vector<std::string>{"1 2.000000 5", "b 2.000000 4 3h", "i 2.100000 4 3h"});
  // Kept through a restart from the gateway's checkpoint.
  REQUIRE(exchange.daemon->stop() == 0);
  exchange.start_daemon();
  REQUIRE(client.wait_logons(4));
  CHECK(book() == std::vector<std::string>{"1 2.000000 5", "b 2.000000 4 3h", "i 2.100000 4 3h"});
  FIX::Message cancel_it = cancel("c1", "rest1", '1');
  FIX::Session::sendToTarget(cancel_it, exchange.alice);
  CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "4");
  CHECK(book() == std::vector<std::string>{"1 2.000000 5"});
}

TEST_CASE("FIX block orders: a block after the gateway's checkpoint survives a SIGKILL") {
  Exchange exchange(kThreeHours);
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));
  // A clean stop checkpoints the gateway: the hours are listed before it.
  REQUIRE(exchange.daemon->stop() == 0);
  exchange.start_daemon();
  REQUIRE(client.wait_logons(4));
  offer_three_hours(exchange);
  FIX::Message block = block_order("blk1", '1', "2.1", "4", "3");
  FIX::Session::sendToTarget(block, exchange.alice);
  for (int report = 0; report < 4; ++report)  // New, then three legs
    CHECK(field(client.next("ALICE"), FIX::FIELD::ClOrdID) == "blk1");
  // Killed: the restart replays the block's legs past the checkpoint.
  exchange.daemon->kill_hard();
  exchange.start_daemon();
  REQUIRE(client.wait_logons(6));
  FIX::Message status = status_request("blk1");
  FIX::Session::sendToTarget(status, exchange.alice);
  const FIX::Message known = client.next_matching(
      "ALICE", [](const FIX::Message& m) { return field(m, FIX::FIELD::ExecType) == "I"; });
  CHECK(field(known, FIX::FIELD::OrdStatus) == "2");
  CHECK(field(known, FIX::FIELD::CumQty) == "12");
}

TEST_CASE("FIX throttle") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_max_messages_per_second = 5\n");
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));

  {  // over the rate, orders are rejected with the reason, and the session stays up
    for (int i = 0; i < 12; ++i) {
      FIX::Message m = new_order("t" + std::to_string(i), kSymbol, '2', "2.4", "1");
      FIX::Session::sendToTarget(m, exchange.bob);
    }
    int throttled = 0;
    for (int i = 0; i < 12; ++i) {
      const FIX::Message m = client.next("BOB");
      throttled += field(m, FIX::FIELD::Text).find("throttle") != std::string::npos;
    }
    CHECK(throttled >= 2);
    CHECK(throttled <= 7);
  }
  {  // a block counts one message per hour it sweeps: six hours are over 5 a second
    FIX::Message block = new_order("blk", kSymbol, '1', "2.4", "1");
    block.getHeader().setField(FIX::FIELD::MsgType, "AB");
    block.setField(20010, "6");  // BlockHours
    FIX::Session::sendToTarget(block, exchange.alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::Text).find("throttle") != std::string::npos);
  }
}

namespace {

std::string hash_of(const std::string& password) {
  const std::string command = "echo '" + password + "' | " + GPUXD_PATH + " --hash-password";
  FILE* pipe = ::popen(command.c_str(), "r");
  char buffer[256] = {0};
  REQUIRE(std::fgets(buffer, sizeof buffer, pipe) != nullptr);
  ::pclose(pipe);
  std::string hash(buffer);
  while (!hash.empty() && (hash.back() == '\n' || hash.back() == '\r'))
    hash.pop_back();
  return hash;
}

}  // namespace

TEST_CASE("FIX logon accepts the right password") {
  Exchange exchange("fix_client = ALICE participant=1 password_hash=" + hash_of("s3cret") + "\n",
                    {{"ALICE", "s3cret"}});
  REQUIRE(exchange.client.wait_logons(2));  // BOB has no password set: any Logon is his
}

TEST_CASE("FIX logon lockout is per address: a stranger's guesses do not lock the owner out") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CAROL participant=3 " +
      std::string("password_hash=") + hash_of("s3cret") + "\n");
  REQUIRE(exchange.client.wait_logons(2));
  // A Logon for CAROL from `source`, starting its numbering afresh; the answer.
  const auto logon = [&](const char* source, const std::string& password) {
    RawFix raw(exchange.port, "CAROL", source);
    raw.send(raw.frame("A",
                       "98=0\x01"
                       "108=30\x01"
                       "141=Y\x01"
                       "554=" +
                           password + "\x01"));
    return raw.read();
  };
  // From 127.0.0.2, wrong guesses until that address is locked out (the
  // count restarts if a minute turns meanwhile: two minutes' worth at most).
  std::string answer;
  for (int i = 0; i < 11; ++i) {
    answer = logon("127.0.0.2", "guess");
    REQUIRE(RawFix::type_of(answer) == "5");
    if (RawFix::value(answer, "58").find("too many failed logons") != std::string::npos) break;
    CHECK(RawFix::value(answer, "58") == "Rejected Logon Attempt: wrong password for CAROL");
  }
  CHECK(RawFix::value(answer, "58") ==
        "Rejected Logon Attempt: too many failed logons; try again in a minute");
  // The owner, from 127.0.0.1, logs on.
  CHECK(RawFix::type_of(logon("127.0.0.1", "s3cret")) == "A");
}

TEST_CASE("FIX logon refuses a wrong password with the reason") {
  Exchange exchange("fix_client = ALICE participant=1 password_hash=" + hash_of("s3cret") + "\n",
                    {{"ALICE", "not-it"}});
  CHECK(exchange.client.logout_text().find("wrong password for ALICE") != std::string::npos);
}

namespace {

// "type action price size" for each MDEntry of a W or X.
std::vector<std::string> entries(const FIX::Message& m) {
  std::vector<std::string> out;
  const bool incremental = m.getHeader().getField(FIX::FIELD::MsgType) == "X";
  const int n = m.groupCount(FIX::FIELD::NoMDEntries);
  for (int i = 1; i <= n; ++i) {
    FIX::Group g(FIX::FIELD::NoMDEntries,
                 incremental ? FIX::FIELD::MDUpdateAction : FIX::FIELD::MDEntryType);
    m.getGroup(i, g);
    out.push_back(g.getField(FIX::FIELD::MDEntryType) + " " +
                  (incremental ? g.getField(FIX::FIELD::MDUpdateAction) : std::string("-")) + " " +
                  g.getField(FIX::FIELD::MDEntryPx) + " " + g.getField(FIX::FIELD::MDEntrySize));
  }
  return out;
}

bool of_type(const FIX::Message& m, const char* type) {
  return m.getHeader().getField(FIX::FIELD::MsgType) == type;
}

}  // namespace

TEST_CASE("FIX security list and market data: snapshot, then every change") {
  Exchange exchange("fix_client = ALICE participant=1 password=none\n");
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));

  FIX::Message list_request;
  list_request.getHeader().setField(FIX::FIELD::MsgType, "x");
  list_request.setField(FIX::FIELD::SecurityReqID, "s1");
  list_request.setField(FIX::FIELD::SecurityListRequestType, "4");  // all securities
  FIX::Session::sendToTarget(list_request, exchange.alice);
  const FIX::Message list = client.next("ALICE");
  REQUIRE(of_type(list, "y"));
  CHECK(field(list, FIX::FIELD::SecurityReqID) == "s1");
  REQUIRE(list.groupCount(FIX::FIELD::NoRelatedSym) == 1);
  FIX::Group instrument(FIX::FIELD::NoRelatedSym, FIX::FIELD::Symbol);
  list.getGroup(1, instrument);
  CHECK(instrument.getField(FIX::FIELD::Symbol) == kSymbol);
  CHECK(instrument.getField(20001) == "H100-SXM");
  CHECK(instrument.getField(20002) == "us-east");
  CHECK(instrument.getField(20003) == "21000101-00:00:00");
  CHECK(instrument.getField(20004) == "21000101-01:00:00");
  CHECK(instrument.getField(20006) == "open");
  CHECK(instrument.getField(20007) == "1000");
  CHECK(instrument.getField(FIX::FIELD::MinPriceIncrement) == "0.000100");

  FIX::Message subscribe = market_data_request("md1", '1', 0, kSymbol);
  FIX::Session::sendToTarget(subscribe, exchange.alice);
  const FIX::Message empty = client.next("ALICE");
  REQUIRE(of_type(empty, "W"));
  CHECK(entries(empty).empty());

  FIX::Message ask = new_order("b1", kSymbol, '2', "2.4", "3");
  FIX::Session::sendToTarget(ask, exchange.bob);
  FIX::Message update = client.next("ALICE");
  REQUIRE(of_type(update, "X"));
  CHECK(entries(update) == std::vector<std::string>{"1 0 2.400000 3"});
  FIX::Message more = new_order("b2", kSymbol, '2', "2.4", "2");
  FIX::Session::sendToTarget(more, exchange.bob);
  update = client.next("ALICE");
  CHECK(entries(update) == std::vector<std::string>{"1 1 2.400000 5"});
  FIX::Message bid = new_order("b3", kSymbol, '2', "2.5", "1");
  FIX::Session::sendToTarget(bid, exchange.bob);
  CHECK(entries(client.next("ALICE")) == std::vector<std::string>{"1 0 2.500000 1"});

  FIX::Message snapshot = market_data_request("md2", '0', 1, kSymbol);  // top of book only
  FIX::Session::sendToTarget(snapshot, exchange.alice);
  const FIX::Message top = client.next("ALICE");
  REQUIRE(of_type(top, "W"));
  CHECK(field(top, FIX::FIELD::MDReqID) == "md2");
  CHECK(entries(top) == std::vector<std::string>{"1 - 2.400000 5"});

  // A buy that takes the whole 2.4 level: a trade entry and the level's deletion.
  FIX::Message take = new_order("a1", kSymbol, '1', "2.4", "5");
  FIX::Session::sendToTarget(take, exchange.alice);
  const FIX::Message traded =
      client.next_matching("ALICE", [](const FIX::Message& m) { return of_type(m, "X"); });
  CHECK(entries(traded) ==
        std::vector<std::string>{"1 2 2.400000 0", "2 0 2.400000 3", "2 0 2.400000 2"});

  FIX::Message unknown = market_data_request("md3", '0', 0, "NOPE");
  FIX::Session::sendToTarget(unknown, exchange.alice);
  const FIX::Message refused =
      client.next_matching("ALICE", [](const FIX::Message& m) { return !of_type(m, "8"); });
  REQUIRE(of_type(refused, "Y"));
  CHECK(field(refused, FIX::FIELD::MDReqRejReason) == "0");
  CHECK(field(refused, FIX::FIELD::Text) == "unknown symbol NOPE");

  // A request id longer than 64 characters is not kept: a session Reject names it.
  FIX::Message long_id = market_data_request(std::string(65, 'm'), '1', 0, kSymbol);
  FIX::Session::sendToTarget(long_id, exchange.alice);
  const FIX::Message rejected =
      client.next_matching("ALICE", [](const FIX::Message& m) { return !of_type(m, "8"); });
  REQUIRE(of_type(rejected, "3"));
  CHECK(field(rejected, FIX::FIELD::RefTagID) == "262");
  CHECK(field(rejected, FIX::FIELD::SessionRejectReason) == "5");
}

TEST_CASE(
    "FIX malformed messages get a session Reject or BusinessMessageReject, and the session "
    "stays up") {
  Exchange exchange("fix_client = ALICE participant=1 password=none\n");
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));

  FIX::Message no_side = new_order("m1", kSymbol, '1', "2", "1");
  no_side.removeField(FIX::FIELD::Side);
  FIX::Session::sendToTarget(no_side, exchange.alice);
  FIX::Message r = client.next("ALICE");
  REQUIRE(of_type(r, "3"));
  CHECK(field(r, FIX::FIELD::SessionRejectReason) == "1");  // required tag missing
  CHECK(field(r, FIX::FIELD::RefTagID) == "54");

  FIX::Message not_a_number = new_order("m2", kSymbol, '1', "2", "1");
  not_a_number.setField(FIX::FIELD::OrderQty, "abc");
  FIX::Session::sendToTarget(not_a_number, exchange.alice);
  r = client.next("ALICE");
  REQUIRE(of_type(r, "3"));
  CHECK(field(r, FIX::FIELD::SessionRejectReason) == "6");  // incorrect data format

  FIX::Message unsupported;
  unsupported.getHeader().setField(FIX::FIELD::MsgType, "R");  // QuoteRequest: FIX's, not ours
  unsupported.setField(FIX::FIELD::QuoteReqID, "q1");
  FIX::Session::sendToTarget(unsupported, exchange.alice);
  r = client.next("ALICE");
  REQUIRE(of_type(r, "j"));
  CHECK(field(r, FIX::FIELD::BusinessRejectReason) == "3");  // unsupported message type

  FIX::Message unknown_type;
  unknown_type.getHeader().setField(FIX::FIELD::MsgType, "ZZ");  // not FIX's
  unknown_type.setField(FIX::FIELD::QuoteReqID, "q1");
  FIX::Session::sendToTarget(unknown_type, exchange.alice);
  r = client.next("ALICE");
  REQUIRE(of_type(r, "3"));
  CHECK(field(r, FIX::FIELD::SessionRejectReason) == "11");  // invalid MsgType

  // A message the dictionary knows but a client may not send.
  FIX::Message from_client;
  from_client.getHeader().setField(FIX::FIELD::MsgType, "y");
  from_client.setField(FIX::FIELD::SecurityReqID, "s");
  from_client.setField(FIX::FIELD::SecurityResponseID, "s");
  from_client.setField(FIX::FIELD::SecurityRequestResult, "0");
  FIX::Session::sendToTarget(from_client, exchange.alice);
  r = client.next("ALICE");
  REQUIRE(of_type(r, "j"));
  CHECK(field(r, FIX::FIELD::BusinessRejectReason) == "3");  // unsupported message type

  // Still logged on: an order goes through.
  FIX::Message fine = new_order("m3", kSymbol, '1', "2", "1");
  FIX::Session::sendToTarget(fine, exchange.alice);
  CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "0");
}

TEST_CASE(
    "FIX cancel-on-disconnect: a dropped connection takes its participant's orders off "
    "the book") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\n"
      "fix_client = CAROL participant=3 password=none cancel_on_disconnect=true\n");
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));
  FIX::Message subscribe = market_data_request("md", '1', 0, kSymbol);
  FIX::Session::sendToTarget(subscribe, exchange.alice);
  REQUIRE(of_type(client.next("ALICE"), "W"));

  RawFix carol(exchange.port, "CAROL");
  carol.logon();
  carol.send(carol.frame("D",
                         "11=c1\x01"
                         "55=" +
                             std::string(kSymbol) +
                             "\x01"
                             "54=2\x01"
                             "60=20261123-12:00:00\x01"
                             "38=4\x01"
                             "40=2\x01"
                             "44=2.3\x01"));
  const std::string ack = carol.read();
  REQUIRE(RawFix::type_of(ack) == "8");
  CHECK(RawFix::value(ack, "150") == "0");
  CHECK(entries(client.next("ALICE")) == std::vector<std::string>{"1 0 2.300000 4"});

  carol.close();  // no Logout: the connection is simply gone
  CHECK(entries(client.next("ALICE")) == std::vector<std::string>{"1 2 2.300000 0"});

  // BOB's session is not cancel-on-disconnect: its orders stay when it drops.
  FIX::Message stays = new_order("b1", kSymbol, '2', "2.35", "1");
  FIX::Session::sendToTarget(stays, exchange.bob);
  CHECK(entries(client.next("ALICE")) == std::vector<std::string>{"1 0 2.350000 1"});
}

namespace {

// ALICE bids 2 units, BOB sells them in two 1-unit orders: two trades a round.
void trading_rounds(Exchange& exchange, int from, int to) {
  for (int i = from; i < to; ++i) {
    FIX::Message bid = new_order("a" + std::to_string(i), kSymbol, '1', "2", "2");
    FIX::Session::sendToTarget(bid, exchange.alice);
    for (int half = 0; half < 2; ++half) {
      FIX::Message ask =
          new_order("b" + std::to_string(i) + "-" + std::to_string(half), kSymbol, '2', "2", "1");
      FIX::Session::sendToTarget(ask, exchange.bob);
    }
  }
}

// Sends a mass cancel and waits for its report: everything the session was
// sent for commands before it has then arrived.
void barrier(Exchange& exchange, const FIX::SessionID& session, const std::string& id) {
  FIX::Message mass;
  mass.getHeader().setField(FIX::FIELD::MsgType, "q");
  mass.setField(FIX::FIELD::ClOrdID, id);
  mass.setField(FIX::FIELD::MassCancelRequestType, "7");
  mass.setField(FIX::TransactTime());
  FIX::Session::sendToTarget(mass, session);
  exchange.client.next_matching(session.getSenderCompID().getValue(), [&](const FIX::Message& m) {
    return of_type(m, "r") && field(m, FIX::FIELD::ClOrdID) == id;
  });
}

// ExecID -> the MsgSeqNums it arrived under. The session layer may deliver
// one message twice around a resend (same MsgSeqNum, PossDupFlag=Y), as FIX
// allows; the exchange must never send one report under two numbers.
std::map<std::string, std::set<std::string>> received_reports(Client& client,
                                                              const std::string& session) {
  std::map<std::string, std::set<std::string>> reports;
  for (const FIX::Message& m : client.history(session))
    if (of_type(m, "8"))
      reports[field(m, FIX::FIELD::ExecID)].insert(m.getHeader().getField(FIX::FIELD::MsgSeqNum));
  return reports;
}

}  // namespace

TEST_CASE(
    "FIX: an order that ended is still known by its ClOrdID, which a new order cannot take, "
    "across a SIGKILL") {
  // A checkpoint every few commands: the restart starts from one taken after
  // the orders ended, so they must come from the state store, not the replay.
  Exchange exchange("fix_client = ALICE participant=1 password=none\nfix_checkpoint_every = 3\n");
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));
  // After the restart the gateway also answers, again, the requests it had
  // not journaled (docs/fix-spec.md): answers are matched by ClOrdID, and
  // any answer about an order tells its state now.
  const auto answer_about = [&](const std::string& id, const char* exec_type) {
    return client.next_matching("ALICE", [&](const FIX::Message& m) {
      return field(m, FIX::FIELD::ClOrdID) == id && field(m, FIX::FIELD::ExecType) == exec_type;
    });
  };
  const auto ask = [&](const std::string& id) {
    FIX::Message m = status_request(id);
    FIX::Session::sendToTarget(m, exchange.alice);
    return answer_about(id, "I");
  };

  FIX::Message buy = new_order("f1", kSymbol, '1', "2", "2");
  FIX::Session::sendToTarget(buy, exchange.alice);
  CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "0");
  FIX::Message sell = new_order("s1", kSymbol, '2', "2", "2");
  FIX::Session::sendToTarget(sell, exchange.bob);
  CHECK(field(client.next("BOB"), FIX::FIELD::ExecType) == "0");
  CHECK(field(client.next("BOB"), FIX::FIELD::OrdStatus) == "2");
  CHECK(field(client.next("ALICE"), FIX::FIELD::OrdStatus) == "2");

  FIX::Message rest = new_order("r1", kSymbol, '1', "1.9", "1");
  FIX::Session::sendToTarget(rest, exchange.alice);
  CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "0");
  FIX::Message change = replace("r2", "r1", "1.95", "1");
  FIX::Session::sendToTarget(change, exchange.alice);
  CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "5");
  // More commands after them, so that a checkpoint follows.
  for (int i = 0; i < 4; ++i) {
    FIX::Message more = new_order("m" + std::to_string(i), kSymbol, '1', "1.5", "1");
    FIX::Session::sendToTarget(more, exchange.alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "0");
  }

  for (int run = 0; run < 2; ++run) {
    CAPTURE(run);
    if (run == 1) {
      exchange.daemon->kill_hard();
      exchange.start_daemon();
      REQUIRE(client.wait_logons(4));
    }
    const FIX::Message filled = ask("f1");
    CHECK(field(filled, FIX::FIELD::OrdStatus) == "2");
    CHECK(field(filled, FIX::FIELD::CumQty) == "2");
    CHECK(field(filled, FIX::FIELD::LeavesQty) == "0");
    CHECK(field(ask("r1"), FIX::FIELD::OrdStatus) == "5");  // replaced: now r2
    CHECK(field(ask("r2"), FIX::FIELD::OrdStatus) == "0");
    // A resend of f1 after a lost answer would buy twice: refused.
    FIX::Message again = new_order("f1", kSymbol, '1', "2", "2");
    FIX::Session::sendToTarget(again, exchange.alice);
    CHECK(field(answer_about("f1", "8"), FIX::FIELD::OrdRejReason) == "6");
    CHECK(field(ask("never-sent"), FIX::FIELD::OrdStatus) == "8");
  }
}

TEST_CASE(
    "FIX after gpuxd is SIGKILLed mid-stream: sessions resume and resend, and every fill is "
    "reported exactly once") {
  // Frequent gateway checkpoints, so the restart replays from one mid-run.
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_checkpoint_every = 97\n"
      "capacity = 2 instrument=1 units=1000\n");
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));

  trading_rounds(exchange, 0, 150);
  client.next_matching("BOB", [](const FIX::Message& m) {  // some of it is through
    return field(m, FIX::FIELD::ClOrdID) == "b20-1";
  });
  exchange.daemon->kill_hard();        // with orders and reports in flight
  trading_rounds(exchange, 150, 200);  // while it is down: queued by the clients
  exchange.start_daemon();
  REQUIRE(client.wait_logons(4));
  trading_rounds(exchange, 200, 260);

  barrier(exchange, exchange.bob, "end-b1");
  barrier(exchange, exchange.alice, "end-a");
  barrier(exchange, exchange.bob, "end-b2");
  REQUIRE(exchange.daemon->stop() == 0);

  const std::string data = exchange.dir.path + "/data";
  for (const auto& who :
       {std::make_pair(std::string("ALICE"), 1u), std::make_pair(std::string("BOB"), 2u)}) {
    CAPTURE(who.first);
    const std::vector<std::string> stored = gpux::test::fill_exec_ids(data, who.second);
    const auto reports = received_reports(client, who.first);
    std::vector<std::string> received;
    for (const auto& report : reports) {
      CAPTURE(report.first);
      CHECK(report.second.size() == 1);  // never sent twice under different numbers
      if (report.first[0] == 'T') received.push_back(report.first);
    }
    CHECK(stored.size() >= 2 * 100);  // most rounds traded
    CHECK(std::set<std::string>(stored.begin(), stored.end()).size() == stored.size());
    std::vector<std::string> missing;
    std::set_difference(stored.begin(), stored.end(), received.begin(), received.end(),
                        std::back_inserter(missing));
    CHECK(missing.empty());
    for (const auto& id : missing)
      MESSAGE("fill never reported: " << id);
    CHECK(received.size() == stored.size());
    std::vector<std::string> extra;
    std::set_difference(received.begin(), received.end(), stored.begin(), stored.end(),
                        std::back_inserter(extra));
    for (const auto& id : extra)
      MESSAGE("extra " << id);
  }
  // Every order the exchange acknowledged (New or Rejected by the engine) is
  // in the journal exactly once, and nothing is journaled twice. (An order
  // whose ack never came may be lost with the process, like any message in
  // flight: FIX clients ask with OrderStatusRequest; docs/fix-spec.md.)
  std::map<std::string, int> journaled;
  for (const auto& order : gpux::test::journaled_orders(data))
    ++journaled[order.session + "/" + order.cl_ord_id];
  for (const auto& entry : journaled) {
    CAPTURE(entry.first);
    CHECK(entry.second == 1);
  }
  int acknowledged = 0;
  for (const char* session : {"ALICE", "BOB"})
    for (const FIX::Message& m : client.history(session))
      if (of_type(m, "8") && field(m, FIX::FIELD::ExecType) == "0") {
        ++acknowledged;
        CHECK(journaled.count(std::string(session) + "/" + field(m, FIX::FIELD::ClOrdID)) == 1);
      }
  CHECK(acknowledged > 2 * 260);
}

TEST_CASE(
    "FIX after a crash that lost the incoming sequence numbers: what the journal holds is not "
    "asked for again, what it does not is") {
  Exchange exchange("fix_client = ALICE participant=1 password=none\n");
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));
  // Alice's buys each trade in full against Bob's ask: none stays live, so
  // one resent would be a second order, not a duplicate-ClOrdID reject.
  FIX::Message ask = new_order("ask", kSymbol, '2', "2", "30");
  FIX::Session::sendToTarget(ask, exchange.bob);
  CHECK(field(client.next("BOB"), FIX::FIELD::ExecType) == "0");
  for (int i = 0; i < 20; ++i) {
    FIX::Message buy = new_order("early-" + std::to_string(i), kSymbol, '1', "2", "1");
    FIX::Session::sendToTarget(buy, exchange.alice);
    client.next_matching("ALICE", [](const FIX::Message& m) {
      return of_type(m, "8") && field(m, FIX::FIELD::ExecType) == "F";
    });
  }
  exchange.daemon->kill_hard();
  // The worst such a crash can do: no number since the Logon (1) was written.
  gpux::test::rewind_incoming_number(exchange.dir.path + "/data", "ALICE", 2);
  for (int i = 0; i < 5; ++i) {  // while it is down: queued, then resent
    FIX::Message buy = new_order("late-" + std::to_string(i), kSymbol, '1', "2", "1");
    FIX::Session::sendToTarget(buy, exchange.alice);
  }
  exchange.start_daemon();
  REQUIRE(client.wait_logons(4));
  barrier(exchange, exchange.alice, "end");
  REQUIRE(exchange.daemon->stop() == 0);

  std::map<std::string, int> journaled;
  for (const auto& order : gpux::test::journaled_orders(exchange.dir.path + "/data"))
    if (order.session == "ALICE") ++journaled[order.cl_ord_id];
  CHECK(journaled.size() == 25);  // all 20 early orders and the 5 sent while down
  for (const auto& entry : journaled) {
    CAPTURE(entry.first);
    CHECK(entry.second == 1);
  }
}

namespace {

// `gpux trade` against the exchange on `port`, its sessions' state kept in
// this process's own folder; the arguments follow.
std::string trade_command(int port) {
  static const ScratchDir state;
  return "env GPUX_TRADE_STATE_DIR=" + state.path + " " + std::string(GPUX_PATH) +
         " trade --port " + std::to_string(port) + " --dictionary " + GPUX_FIX_DICTIONARY + " ";
}

// `gpux trade ARGS` against the exchange on `port`, started now and read
// (stdout and stderr together) as it prints.
class TradeRun {
 public:
  TradeRun(int port, const std::string& args)
      : pipe_(::popen((trade_command(port) + args + " 2>&1").c_str(), "r")) {
    REQUIRE(pipe_ != nullptr);
  }
  ~TradeRun() {
    if (pipe_ != nullptr) ::pclose(pipe_);
  }
  // Reads until it has printed `text`; false if it ended first.
  bool wait_for(const std::string& text) {
    while (output_.find(text) == std::string::npos)
      if (!read_line()) return false;
    return true;
  }
  // Reads the rest: its exit status and everything it printed.
  std::pair<int, std::string> finish() {
    while (read_line()) {
    }
    const int status = ::pclose(pipe_);
    pipe_ = nullptr;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output_};
  }

 private:
  bool read_line() {
    char buffer[512];
    if (std::fgets(buffer, sizeof buffer, pipe_) == nullptr) return false;
    output_ += buffer;
    return true;
  }
  FILE* pipe_;
  std::string output_;
};

// Runs `gpux trade ARGS` against the exchange on `port`; its exit status and output.
std::pair<int, std::string> gpux_trade(int port, const std::string& args) {
  return TradeRun(port, args).finish();
}

// A Logon as `sender` with `password` (`gpux trade instruments`, which logs
// on, asks and logs out); its exit status and output.
std::pair<int, std::string> trade_logon(int port, const std::string& sender,
                                        const std::string& password) {
  ::setenv("GPUX_TEST_FIX_PASSWORD", password.c_str(), 1);
  return gpux_trade(port, "--sender " + sender +
                              " --password-env GPUX_TEST_FIX_PASSWORD --timeout 5 instruments");
}

// ALICE buys `quantity` units from BOB's offer of as many at 2.0: her
// fill's ExecutionReport, then his.
std::pair<FIX::Message, FIX::Message> alice_buys_from_bob(Exchange& exchange, const std::string& id,
                                                          const char* quantity) {
  FIX::Message offer = new_order("o-" + id, kSymbol, '2', "2.0", quantity);
  FIX::Session::sendToTarget(offer, exchange.bob);
  CHECK(field(exchange.client.next("BOB"), FIX::FIELD::ExecType) == "0");
  FIX::Message bid = new_order("b-" + id, kSymbol, '1', "2.0", quantity);
  FIX::Session::sendToTarget(bid, exchange.alice);
  CHECK(field(exchange.client.next("ALICE"), FIX::FIELD::ExecType) == "0");
  const FIX::Message alice = exchange.client.next("ALICE");
  CHECK(field(alice, FIX::FIELD::ExecType) == "F");
  const FIX::Message bob = exchange.client.next("BOB");
  CHECK(field(bob, FIX::FIELD::ExecType) == "F");
  return std::make_pair(alice, bob);
}

}  // namespace

TEST_CASE("gpux trade: places and lists over FIX, exits non-zero with the reason on a reject") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CLI participant=1 "
      "password=none\n");
  REQUIRE(exchange.client.wait_logons(2));

  auto result = gpux_trade(
      exchange.port, "--sender CLI --json place buy " + std::string(kSymbol) + " 2 2.1 --id cli-1");
  CHECK(result.first == 0);
  CHECK(result.second.find("{\"type\":\"new\"") != std::string::npos);
  CHECK(result.second.find("\"cl_ord_id\":\"cli-1\"") != std::string::npos);

  result = gpux_trade(exchange.port, "--sender CLI book " + std::string(kSymbol));
  CHECK(result.first == 0);
  CHECK(result.second.find("bid") != std::string::npos);
  CHECK(result.second.find("price=2.100000 quantity=2") != std::string::npos);

  result = gpux_trade(exchange.port, "--sender CLI instruments");
  CHECK(result.first == 0);
  CHECK(result.second.find("class=H100-SXM region=us-east") != std::string::npos);

  result = gpux_trade(exchange.port, "--sender CLI place buy " + std::string(kSymbol) + " 1 9");
  CHECK(result.first == 1);
  // The rule, and the limit it sets.
  CHECK_MESSAGE(result.second.find("reason=price_outside_band: the band is 1.500000 to 2.500000") !=
                    std::string::npos,
                result.second);
  result =
      gpux_trade(exchange.port, "--sender CLI place buy " + std::string(kSymbol) + " 1 2.00005");
  CHECK(result.first == 1);
  CHECK_MESSAGE(
      result.second.find("reason=tick_size_violation: prices are multiples of 0.000100") !=
          std::string::npos,
      result.second);
  result = gpux_trade(exchange.port, "--sender CLI place buy " + std::string(kSymbol) + " 1001 2");
  CHECK(result.first == 1);
  CHECK_MESSAGE(
      result.second.find("reason=quantity_above_maximum: at most 1000") != std::string::npos,
      result.second);

  // A block over one hour the books cannot fill: refused whole, with the rule.
  result = gpux_trade(exchange.port,
                      "--sender CLI place buy " + std::string(kSymbol) + " 5 2.2 --hours 1");
  CHECK(result.first == 1);
  CHECK_MESSAGE(result.second.find("reason=block_not_fillable") != std::string::npos,
                result.second);

  // With --rest it works instead, until cancelled.
  result = gpux_trade(exchange.port, "--sender CLI place buy " + std::string(kSymbol) +
                                         " 5 2.2 --hours 1 --rest --id blk-rest");
  CHECK_MESSAGE(result.first == 0, result.second);
  CHECK_MESSAGE(result.second.find("blk-rest") != std::string::npos, result.second);
  result = gpux_trade(exchange.port, "--sender CLI book " + std::string(kSymbol));
  CHECK_MESSAGE(result.second.find("block-bid") != std::string::npos, result.second);
  CHECK_MESSAGE(
      result.second.find("hours=1 units=5 price=2.200000 tradable=no") != std::string::npos,
      result.second);
  result = gpux_trade(exchange.port, "--sender CLI cancel blk-rest");
  CHECK_MESSAGE(result.first == 0, result.second);
  CHECK_MESSAGE(result.second.find("canceled") != std::string::npos, result.second);

  // Malformed terms and misplaced options are named before any session starts.
  const std::string symbol = kSymbol;
  const std::pair<std::string, std::string> usage_errors[] = {
      {"place buy " + symbol + " 1 abc", "PRICE must be USD with at most 6 decimals"},
      {"place buy " + symbol + " 1.5 2", "QUANTITY must be a whole number"},
      {"replace cli-1 0 2", "QUANTITY must be a whole number of units, at least 1, not '0'"},
      {"place buy " + symbol + " 1 2 --ioc --fok", "at most one of --ioc, --fok"},
      {"book " + symbol + " --count 3", "--count does not apply to book"},
      {"watch " + symbol + " --count x", "--count must be a whole number"},
      {"--password-env GPUX_TEST_UNSET_VARIABLE instruments",
       "GPUX_TEST_UNSET_VARIABLE is not set"},
      {"--port 70000 instruments", "must be a TCP port, 1 to 65535, not '70000'"},
      {"place buy " + symbol + " 1 2 --hours 169", "--hours must be a whole number of hours"},
      {"place buy " + symbol + " 1 market --hours 2", "PRICE must be USD with at most 6 decimals"},
      {"place buy " + symbol + " 1 2 --hours 2 --ioc", "a block (--hours) is all or none"},
      {"place buy " + symbol + " 1 2 --any-provider", "--any-provider goes with --hours"},
      {"place buy " + symbol + " 1 2 --rest", "--rest goes with --hours"}};
  for (const auto& error : usage_errors) {
    INFO(error.first);
    result = gpux_trade(exchange.port, "--sender CLI " + error.first);
    CHECK(result.first == 2);
    CHECK_MESSAGE(result.second.find(error.second) != std::string::npos, result.second);
  }

  result = gpux_trade(exchange.port, "--sender CLI cancel no-such-order");
  CHECK(result.first == 1);
  CHECK(result.second.find("cancel-reject") != std::string::npos);

  result = gpux_trade(exchange.port, "--sender CLI status cli-1");
  CHECK(result.first == 0);
  CHECK(result.second.find("leaves=2") != std::string::npos);
  CHECK(result.second.find("state=new") != std::string::npos);
  // The CLI's status names no Symbol: the unknown-order answer must still be
  // a valid ExecutionReport (it had an empty Symbol(55), which the client's
  // QuickFIX rejected, and the CLI waited out its timeout).
  result = gpux_trade(exchange.port, "--sender CLI --timeout 5 status no-such-order");
  CHECK_MESSAGE(result.first == 1, result.second);
  CHECK_MESSAGE(
      result.second.find("unknown        cl_ord_id=no-such-order reason=unknown order: no order "
                         "with ClOrdID no-such-order") != std::string::npos,
      result.second);

  result =
      gpux_trade(exchange.port, "--sender CLI place sideways " + std::string(kSymbol) + " 1 2");
  CHECK(result.first == 2);
  CHECK(result.second.find("side must be buy or sell") != std::string::npos);
}

TEST_CASE("gpux trade: orders lists the seat's open orders, cancel-all cancels them") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CLI participant=1 "
      "password=none\n");
  REQUIRE(exchange.client.wait_logons(2));
  const std::string symbol = kSymbol;
  auto result = gpux_trade(exchange.port, "--sender CLI orders");
  CHECK(result.first == 0);  // an answer, not a refusal
  CHECK_MESSAGE(result.second.find("state=none open reason=no open orders") != std::string::npos,
                result.second);

  for (const char* id : {"open-1", "open-2"})
    REQUIRE(
        gpux_trade(exchange.port, "--sender CLI place buy " + symbol + " 1 2.1 --id " + id).first ==
        0);
  result = gpux_trade(exchange.port, "--sender CLI --json orders " + symbol);
  CHECK(result.first == 0);
  std::size_t listed = 0;
  for (auto at = result.second.find("{\"type\":\"status\""); at != std::string::npos;
       at = result.second.find("{\"type\":\"status\"", at + 1))
    ++listed;
  CHECK_MESSAGE(listed == 2, result.second);
  for (const char* id : {"\"cl_ord_id\":\"open-1\"", "\"cl_ord_id\":\"open-2\""})
    CHECK_MESSAGE(result.second.find(id) != std::string::npos, result.second);

  result = gpux_trade(exchange.port, "--sender CLI orders NO-SUCH-SYMBOL");
  CHECK(result.first == 1);
  CHECK_MESSAGE(result.second.find("unknown symbol NO-SUCH-SYMBOL") != std::string::npos,
                result.second);

  result = gpux_trade(exchange.port, "--sender CLI cancel-all");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("cancelled=2") != std::string::npos, result.second);
  result = gpux_trade(exchange.port, "--sender CLI orders");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("no open orders") != std::string::npos, result.second);
  result = gpux_trade(exchange.port, "--sender CLI orders a b");
  CHECK(result.first == 2);
}

namespace {

// The CLI places a resting sell of `quantity` at 2.1 under `id` and logs
// out; ALICE then takes it.
void taken_while_away(Exchange& exchange, const std::string& id, const char* quantity) {
  REQUIRE(gpux_trade(exchange.port, "--sender CLI place sell " + std::string(kSymbol) + " " +
                                        quantity + " 2.1 --id " + id)
              .first == 0);
  FIX::Message buy = new_order("a-" + id, kSymbol, '1', "2.1", quantity);
  FIX::Session::sendToTarget(buy, exchange.alice);
  CHECK(field(exchange.client.next("ALICE"), FIX::FIELD::ExecType) == "0");
  CHECK(field(exchange.client.next("ALICE"), FIX::FIELD::ExecType) == "F");
}

}  // namespace

TEST_CASE("gpux trade: a fill while it is away reaches it at its next logon, once") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CLI participant=3 "
      "password=none\n");
  REQUIRE(exchange.client.wait_logons(2));
  const std::string symbol = kSymbol;
  taken_while_away(exchange, "away-1", "2");

  auto result = gpux_trade(exchange.port, "--sender CLI orders");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("trade          earlier=yes symbol=" + symbol +
                                   " side=sell cl_ord_id=away-1") != std::string::npos,
                result.second);
  CHECK_MESSAGE(result.second.find("no open orders") != std::string::npos, result.second);
  // Once: the next run has nothing from before.
  result = gpux_trade(exchange.port, "--sender CLI orders");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("earlier=yes") == std::string::npos, result.second);
  // buy by need reports them too, before its instrument list.
  taken_while_away(exchange, "away-2", "1");
  result = gpux_trade(exchange.port,
                      "--sender CLI buy --class H100-SXM --region us-east --from 2100-01-01T00 "
                      "--hours 1 --units 1 --limit 1.6");
  CHECK_MESSAGE(result.second.find("earlier=yes") != std::string::npos, result.second);
  CHECK_MESSAGE(result.second.find("cl_ord_id=away-2") != std::string::npos, result.second);
  // Starting over works too.
  CHECK(gpux_trade(exchange.port, "--sender CLI --reset orders").first == 0);
}

TEST_CASE("gpux trade buy: an order per hour of a window, and what filled and what did not") {
  std::string hours;
  for (int h = 1; h <= 2; ++h) {
    const std::string n = std::to_string(h + 1);
    hours += "instrument = " + n + " symbol=H100-SXM.us-east.21000101T0" + std::to_string(h) +
             " class=H100-SXM region=us-east start=" + std::to_string(4102444800 + 3600 * h) +
             " tick=100 max=1000 reference=2000000 band=500000\ncapacity = 2 instrument=" + n +
             " units=100\n";
  }
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CLI participant=1 "
      "password=none\n" +
      hours);
  REQUIRE(exchange.client.wait_logons(2));
  // BOB offers 2 units in the first hour and 1 in the second, none in the third.
  struct Offer {
    const char* symbol;
    const char* price;
    const char* quantity;
  };
  for (const Offer& offer : {Offer{"H100-SXM.us-east.21000101T00", "2.0", "2"},
                             Offer{"H100-SXM.us-east.21000101T01", "2.1", "1"}}) {
    FIX::Message sell =
        new_order(std::string("s-") + offer.symbol, offer.symbol, '2', offer.price, offer.quantity);
    FIX::Session::sendToTarget(sell, exchange.bob);
    CHECK(field(exchange.client.next("BOB"), FIX::FIELD::ExecType) == "0");
  }
  const std::string window =
      "--sender CLI buy --class H100-SXM --region us-east --from 2100-01-01T00 --units 2 "
      "--limit 2.2 --hours 4";
  // As one block (the default), a window with an hour not listed is not sent.
  auto result = gpux_trade(exchange.port, window + " --id blk");
  CHECK(result.first == 1);
  CHECK_MESSAGE(result.second.find("start=21000101-03:00:00 state=not listed") != std::string::npos,
                result.second);
  CHECK_MESSAGE(result.second.find("state=not sent") != std::string::npos, result.second);
  result = gpux_trade(exchange.port, window + " --ioc");
  CHECK(result.first == 2);
  CHECK(result.second.find("--ioc goes with --hourly") != std::string::npos);

  result = gpux_trade(exchange.port, window + " --hourly --id need");
  CHECK(result.first == 1);  // the fourth hour is not listed
  const std::string expected[] = {
      "hour           delivery=21000101-00:00:00 symbol=H100-SXM.us-east.21000101T00 filled=2/2 "
      "avg_px=2.000000 state=filled",
      "hour           delivery=21000101-01:00:00 symbol=H100-SXM.us-east.21000101T01 filled=1/2 "
      "avg_px=2.100000 resting=1 state=partially-filled",
      "hour           delivery=21000101-02:00:00 symbol=H100-SXM.us-east.21000101T02 filled=0/2 "
      "resting=2 state=new",
      "hour           delivery=21000101-03:00:00 filled=0/2 state=not listed",
      "total          filled=3/8 avg_px=2.033333 resting=3 hours=4"};
  for (const std::string& line : expected)
    CHECK_MESSAGE(result.second.find(line) != std::string::npos, line << "\nin\n" << result.second);

  // With --ioc nothing rests; over the listed hours alone the exit is 0.
  result = gpux_trade(exchange.port,
                      "--sender CLI buy --class H100-SXM --region us-east --from 2100-01-01T01 "
                      "--units 1 --limit 2.2 --hours 2 --hourly --ioc --id ioc");
  CHECK_MESSAGE(result.first == 0, result.second);
  CHECK_MESSAGE(
      result.second.find("total          filled=0/2 resting=0 hours=2") != std::string::npos,
      result.second);
  result = gpux_trade(exchange.port,
                      "--sender CLI buy --class H100-SXM --region us-east "
                      "--from 2100-01-01 --units 1 --limit 2 --hours 1");
  CHECK(result.first == 2);
  CHECK(result.second.find("--from must be a UTC hour as YYYY-MM-DDTHH") != std::string::npos);

  // The three listed hours as one block: nothing is offered in the third,
  // so it can only rest; it is one order under one ClOrdID.
  result = gpux_trade(exchange.port,
                      "--sender CLI buy --class H100-SXM --region us-east --from 2100-01-01T00 "
                      "--units 1 --limit 2.2 --hours 3 --id blk-3h");
  CHECK(result.first == 1);
  CHECK_MESSAGE(result.second.find("block_not_fillable") != std::string::npos, result.second);
  result = gpux_trade(exchange.port,
                      "--sender CLI buy --class H100-SXM --region us-east --from 2100-01-01T00 "
                      "--units 1 --limit 2.2 --hours 3 --rest --id blk-3h-rest");
  CHECK_MESSAGE(result.first == 0, result.second);
  CHECK_MESSAGE(result.second.find("cl_ord_id=blk-3h-rest") != std::string::npos, result.second);
  CHECK_MESSAGE(result.second.find("quantity=3") != std::string::npos, result.second);
}

TEST_CASE("gpux trade delivery-key: a journaled profile of SSH keys, each refusal named") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CLI participant=1 "
      "password=none\n");
  REQUIRE(exchange.client.wait_logons(2));
  const auto keys = [&](const std::string& args) {
    return gpux_trade(exchange.port, "--sender CLI delivery-key " + args);
  };
  auto result = keys("list");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("state=none") != std::string::npos, result.second);
  // ALICE buys from BOB: her fill's Text says she has no key; the seller's does not.
  const auto buy_from_bob = [&](const std::string& id) {
    const auto fills = alice_buys_from_bob(exchange, id, "1");
    CHECK(!fills.second.isSetField(FIX::FIELD::Text));
    return fills.first.isSetField(FIX::FIELD::Text) ? field(fills.first, FIX::FIELD::Text)
                                                    : std::string();
  };
  CHECK(buy_from_bob("1").find("no delivery key: add one") == 0);
  const std::string k1 = gpux::test::kEd25519Keys[0];
  result = keys("add '" + k1 + "'");
  CHECK_MESSAGE(result.first == 0, result.second);
  CHECK_MESSAGE(result.second.find("key=" + k1) != std::string::npos, result.second);
  CHECK(buy_from_bob("2").empty());
  // The same key under another comment; a weak key; not a key: each named.
  result = keys("add '" + k1.substr(0, k1.find(" k1@test")) + " laptop'");
  CHECK(result.first == 1);
  CHECK_MESSAGE(result.second.find("reason=delivery_key_exists") != std::string::npos,
                result.second);
  result = keys("add '" + std::string(gpux::test::kWeakRsaKey) + "'");
  CHECK(result.first == 1);
  CHECK_MESSAGE(result.second.find("invalid_delivery_key: an RSA key needs at least 2048 bits") !=
                    std::string::npos,
                result.second);
  result = keys("add 'ssh-ed25519 AAAA&'");
  CHECK(result.first == 1);
  CHECK_MESSAGE(result.second.find("the key's body is not base64") != std::string::npos,
                result.second);
  // From a .pub file, as ssh-keygen writes it.
  const std::string file = exchange.dir.path + "/id_ed25519.pub";
  std::ofstream(file) << gpux::test::kEd25519Keys[1] << "\n";
  result = keys("add " + file);
  CHECK_MESSAGE(result.first == 0, result.second);
  // Journaled: after a restart the profile is the same.
  REQUIRE(exchange.daemon->stop() == 0);
  exchange.start_daemon();
  REQUIRE(exchange.client.wait_logons(4));
  result = keys("list");
  CHECK_MESSAGE(result.second.find("key=" + k1) != std::string::npos, result.second);
  CHECK_MESSAGE(result.second.find(gpux::test::kEd25519Keys[1]) != std::string::npos,
                result.second);
  result = keys("remove '" + k1 + "'");
  CHECK_MESSAGE(result.first == 0, result.second);
  CHECK_MESSAGE(result.second.find(k1) == std::string::npos, result.second);
  result = keys("remove '" + k1 + "'");
  CHECK(result.first == 1);
  CHECK_MESSAGE(result.second.find("reason=unknown_delivery_key") != std::string::npos,
                result.second);
}

namespace {

FIX::Message delivery_request(const std::string& id) {
  FIX::Message m;
  m.getHeader().setField(FIX::FIELD::MsgType, gpux::fix::kMsgTypeDeliveryRequest);
  m.setField(gpux::fix::kDeliveryReqID, id);
  return m;
}

bool is_delivery_report(const FIX::Message& m) {
  return m.getHeader().getField(FIX::FIELD::MsgType) == gpux::fix::kMsgTypeDeliveryReport;
}

// The DeliveryReport entries of `m`, by DeliveryTradeID.
std::map<std::string, FIX::Group> delivery_entries(const FIX::Message& m) {
  std::map<std::string, FIX::Group> entries;
  const int n = m.groupCount(gpux::fix::kNoDeliveries);
  for (int i = 1; i <= n; ++i) {
    FIX::Group g(gpux::fix::kNoDeliveries, gpux::fix::kDeliveryTradeID);
    m.getGroup(static_cast<unsigned>(i), g);
    entries.insert(std::make_pair(g.getField(gpux::fix::kDeliveryTradeID), g));
  }
  return entries;
}

// The exchange's trade id in a fill's ExecID (T<trade>-m or -t).
std::string trade_of(const FIX::Message& fill) {
  const std::string exec = field(fill, FIX::FIELD::ExecID);
  return exec.substr(1, exec.find('-') - 1);
}

const char* const kFingerprint = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";

}  // namespace

TEST_CASE("FIX deliveries: the buyer is told where to connect, only its own, as it happens") {
  using gpux::fix::kDeliveryReqID;
  using gpux::test::stdio_change_state;
  using gpux::test::stdio_record_delivery;
  using gpux::test::StdioDeliveryAccess;
  using gpux::test::StdioDeliveryStage;
  using gpux::test::StdioEvent;
  using gpux::test::StdioInstrumentState;
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\n"
      "fix_client = CLI participant=1 password=none\n"
      "fix_client = CAROL participant=3 password=none\n",
      {}, true);
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));
  const auto deliveries = [&](const std::string& sender, const std::string& more) {
    return gpux_trade(exchange.port, "--sender " + sender + " deliveries" + more);
  };
  // ALICE (participant 1) buys 2 units from BOB (2), then 1 more: two trades.
  const std::string t1 = trade_of(alice_buys_from_bob(exchange, "d1", "2").first);
  const std::string t2 = trade_of(alice_buys_from_bob(exchange, "d2", "1").first);
  REQUIRE(t1 != t2);
  // Trades become obligations, and deliveries, only when the gate closes.
  auto result = deliveries("CLI", "");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("state=none") != std::string::npos, result.second);
  const std::vector<StdioEvent> closed =
      exchange.daemon->execute(stdio_change_state(1, StdioInstrumentState::gate_closed));
  CHECK(std::count(closed.begin(), closed.end(), StdioEvent::obligation_created) == 2);
  result = deliveries("CLI", "");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("trade=" + t1 + " symbol=" + std::string(kSymbol) +
                                   " role=buyer units=2 stage=pending") != std::string::npos,
                result.second);
  CHECK_MESSAGE(result.second.find("trade=" + t2) != std::string::npos, result.second);
  exchange.daemon->execute(stdio_change_state(1, StdioInstrumentState::delivering));

  // The CLI waits for the first to open; the provider's agent reports it meanwhile.
  TradeRun waiting(exchange.port, "--sender CLI deliveries --wait-open T" + t1);
  REQUIRE(waiting.wait_for("waiting up to 60 s for the delivery of trade " + t1));
  StdioDeliveryAccess opened;
  opened.host = "gpu-7.example.net";
  opened.port = 2201;
  opened.user = "gpux-" + t1;
  opened.host_key_fingerprint = kFingerprint;
  const std::vector<StdioEvent> events =
      exchange.daemon->execute(stdio_record_delivery(std::stoull(t1), opened));
  CHECK(std::count(events.begin(), events.end(), StdioEvent::delivery_recorded) == 1);
  // ALICE's session is told at once, unasked.
  const FIX::Message notice = client.next_matching("ALICE", is_delivery_report);
  CHECK(field(notice, FIX::FIELD::UnsolicitedIndicator) == "Y");
  CHECK(!notice.isSetField(kDeliveryReqID));
  CHECK(field(notice, FIX::FIELD::Text) == "delivery of trade " + t1 +
                                               " opened: ssh -p 2201 gpux-" + t1 +
                                               "@gpu-7.example.net, host key " + kFingerprint);
  auto entries = delivery_entries(notice);
  REQUIRE(entries.size() == 1);
  const FIX::Group& told = entries.at(t1);
  CHECK(field(told, FIX::FIELD::Symbol) == kSymbol);
  CHECK(field(told, FIX::FIELD::Side) == "1");
  CHECK(field(told, FIX::FIELD::LastQty) == "2");
  CHECK(field(told, gpux::fix::kDeliveryStage) == "1");
  CHECK(field(told, gpux::fix::kDeliveryHost) == "gpu-7.example.net");
  CHECK(field(told, gpux::fix::kDeliveryPort) == "2201");
  CHECK(field(told, gpux::fix::kDeliveryUser) == "gpux-" + t1);
  CHECK(field(told, gpux::fix::kHostKeyFingerprint) == kFingerprint);
  result = waiting.finish();
  CHECK_MESSAGE(result.first == 0, result.second);
  CHECK_MESSAGE(result.second.find("\n  ssh -p 2201 gpux-" + t1 + "@gpu-7.example.net\n") !=
                    std::string::npos,
                result.second);
  CHECK_MESSAGE(
      result.second.find("  host key " + std::string(kFingerprint) +
                         "  (pin it: ssh-keyscan -p 2201 gpu-7.example.net") != std::string::npos,
      result.second);

  // BOB, who delivers it, was sent no notice: the next he gets is the
  // answer to his own request, where the trade is his to deliver.
  FIX::Message ask = delivery_request("bob-1");
  FIX::Session::sendToTarget(ask, exchange.bob);
  const FIX::Message answer = client.next("BOB");
  REQUIRE(is_delivery_report(answer));
  CHECK(field(answer, kDeliveryReqID) == "bob-1");
  CHECK(field(answer, FIX::FIELD::UnsolicitedIndicator) == "N");
  CHECK(field(answer, FIX::FIELD::LastRptRequested) == "Y");
  entries = delivery_entries(answer);
  CHECK(entries.size() == 2);
  CHECK(field(entries.at(t1), FIX::FIELD::Side) == "2");
  CHECK(field(entries.at(t1), gpux::fix::kDeliveryStage) == "1");
  // CAROL (participant 3) is in neither trade: she sees none of them.
  result = deliveries("CAROL", "");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("state=none") != std::string::npos, result.second);
  CHECK_MESSAGE(result.second.find("gpu-7") == std::string::npos, result.second);

  // The second cannot be opened: the buyer is told why.
  StdioDeliveryAccess failed;
  failed.stage = StdioDeliveryStage::failed;
  failed.detail = "no healthy GPU: 0 of 1 passed nvidia-smi";
  exchange.daemon->execute(stdio_record_delivery(std::stoull(t2), failed));
  CHECK(field(client.next_matching("ALICE", is_delivery_report), FIX::FIELD::Text) ==
        "delivery of trade " + t2 + " failed: no healthy GPU: 0 of 1 passed nvidia-smi");
  result = deliveries("CLI", "");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("trade=" + t2 + " symbol=" + std::string(kSymbol) +
                                   " role=buyer units=1 stage=failed reason=no healthy GPU: 0 "
                                   "of 1 passed nvidia-smi") != std::string::npos,
                result.second);
  CHECK_MESSAGE(result.second.find("stage=opened") != std::string::npos, result.second);
  CHECK_MESSAGE(
      result.second.find("  ssh -p 2201 gpux-" + t1 + "@gpu-7.example.net") != std::string::npos,
      result.second);
  // Waiting for it ends after --timeout, with exit status 1 and why.
  result = deliveries("CLI", " --timeout 3 --wait-open " + t2);
  CHECK(result.first == 1);
  CHECK_MESSAGE(result.second.find("the delivery of trade " + t2 + " did not open within 3 s") !=
                    std::string::npos,
                result.second);

  // A request without its id, or with one too long, draws a session Reject naming it.
  FIX::Message no_id;
  no_id.getHeader().setField(FIX::FIELD::MsgType, gpux::fix::kMsgTypeDeliveryRequest);
  FIX::Session::sendToTarget(no_id, exchange.alice);
  FIX::Message reject = client.next("ALICE");
  CHECK(field(reject.getHeader(), FIX::FIELD::MsgType) == "3");
  CHECK(field(reject, FIX::FIELD::RefTagID) == std::to_string(kDeliveryReqID));
  CHECK(field(reject, FIX::FIELD::SessionRejectReason) == "1");  // required tag missing
  CHECK(!field(reject, FIX::FIELD::Text).empty());
  FIX::Message long_id = delivery_request(std::string(65, 'x'));
  FIX::Session::sendToTarget(long_id, exchange.alice);
  reject = client.next("ALICE");
  CHECK(field(reject.getHeader(), FIX::FIELD::MsgType) == "3");
  CHECK(field(reject, FIX::FIELD::RefTagID) == std::to_string(kDeliveryReqID));
  CHECK(field(reject, FIX::FIELD::SessionRejectReason) == "5");  // value out of range
  result = deliveries("CLI", " --wait-open soon");
  CHECK(result.first == 2);
  CHECK_MESSAGE(result.second.find("--wait-open takes a trade id (17 or T17) or any, not 'soon'") !=
                    std::string::npos,
                result.second);

  // The hour ends: access is revoked, with the buyer's processes.
  StdioDeliveryAccess revoked;
  revoked.stage = StdioDeliveryStage::revoked;
  revoked.detail = "the delivery hour ended";
  revoked.processes_ended = 3;
  exchange.daemon->execute(stdio_record_delivery(std::stoull(t1), revoked));
  CHECK(field(client.next_matching("ALICE", is_delivery_report), FIX::FIELD::Text) ==
        "delivery of trade " + t1 + " revoked: 3 processes ended (the delivery hour ended)");
  // Journaled: after a restart the list is the recovered engine's.
  REQUIRE(exchange.daemon->stop() == 0);
  // Notices went only to sessions logged on at the time: ALICE had all
  // three; CLI (the same buyer) the one it waited for, and none of those
  // that came while it was away is kept to be resent.
  const auto notices = [&](const std::string& session) {
    const std::string log = file_text(exchange.dir.path + "/data/fix-log/FIX.4.4-GPUX-" + session +
                                      ".messages.current.log");
    int count = 0;
    for (std::size_t at = log.find("\x01"
                                   "325=Y\x01");
         at != std::string::npos; at = log.find("\x01"
                                                "325=Y\x01",
                                                at + 1))
      ++count;
    return count;
  };
  CHECK(notices("ALICE") == 3);
  CHECK(notices("CLI") == 1);
  exchange.start_daemon();
  REQUIRE(client.wait_logons(4));
  result = deliveries("CLI", " --json");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("\"trade\":\"" + t1 + "\"") != std::string::npos, result.second);
  CHECK_MESSAGE(result.second.find("\"stage\":\"revoked\"") != std::string::npos, result.second);
  CHECK_MESSAGE(result.second.find("\"processes_ended\":\"3\"") != std::string::npos,
                result.second);
  CHECK_MESSAGE(result.second.find("\"stage\":\"failed\"") != std::string::npos, result.second);
  // Settled, they are gone.
  exchange.daemon->execute(stdio_change_state(1, StdioInstrumentState::settled));
  result = deliveries("CLI", "");
  CHECK(result.first == 0);
  CHECK_MESSAGE(result.second.find("state=none") != std::string::npos, result.second);
}

TEST_CASE("FIX deliveries: many are all listed, in reports within the message size limit") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_max_message_bytes = 1024\n", {}, true);
  REQUIRE(exchange.client.wait_logons(2));
  std::set<std::string> trades;
  for (int i = 0; i < 7; ++i)
    trades.insert(trade_of(alice_buys_from_bob(exchange, "m" + std::to_string(i), "1").first));
  exchange.daemon->execute(
      gpux::test::stdio_change_state(1, gpux::test::StdioInstrumentState::gate_closed));
  FIX::Message ask = delivery_request("all");
  FIX::Session::sendToTarget(ask, exchange.alice);
  std::set<std::string> listed;
  std::vector<FIX::Message> reports;
  do {
    reports.push_back(exchange.client.next("ALICE"));
    REQUIRE(is_delivery_report(reports.back()));
    CHECK(reports.back().toString().size() <= 1024);
    for (const auto& entry : delivery_entries(reports.back()))
      listed.insert(entry.first);
  } while (reports.size() < 20 && field(reports.back(), FIX::FIELD::LastRptRequested) != "Y");
  CHECK(listed == trades);
  REQUIRE(reports.size() > 1);
  for (const FIX::Message& report : reports)
    CHECK(field(report, FIX::FIELD::TotNumReports) == std::to_string(reports.size()));
  CHECK(field(reports.front(), FIX::FIELD::Text).find("deliveries 1-") == 0);
  CHECK(field(reports.back(), FIX::FIELD::Text).find(" of 7") != std::string::npos);
}

TEST_CASE("gpux trade cash and fills: follow orders and fills, and a restart") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CLI participant=1 "
      "password=none\n");
  REQUIRE(exchange.client.wait_logons(2));
  const auto cash = [&] {
    const auto result = gpux_trade(exchange.port, "--sender CLI cash");
    CHECK(result.first == 0);
    return result.second;
  };
  CHECK_MESSAGE(cash().find("cash           available=1000000.000000 reserved=0.000000 "
                            "in_escrow=0.000000 collateral=0.000000 receivable=0.000000 "
                            "currency=USD") != std::string::npos,
                cash());
  REQUIRE(gpux_trade(exchange.port, "--sender CLI place buy " + std::string(kSymbol) + " 2 2.1")
              .first == 0);
  std::string now = cash();
  CHECK_MESSAGE(
      now.find("available=999995.800000 reserved=4.200000 in_escrow=0.000000") != std::string::npos,
      now);
  // BOB sells into it: the reservation becomes escrow at the fill price.
  FIX::Message sell = new_order("s-cash", kSymbol, '2', "2.0", "2");
  FIX::Session::sendToTarget(sell, exchange.bob);
  CHECK(field(exchange.client.next("BOB"), FIX::FIELD::ExecType) == "0");
  CHECK(field(exchange.client.next("BOB"), FIX::FIELD::ExecType) == "F");
  now = cash();
  CHECK_MESSAGE(
      now.find("available=999995.800000 reserved=0.000000 in_escrow=4.200000") != std::string::npos,
      now);
  // The day's fills, from the journal: the CLI's resting buy was the maker.
  const auto fills = [&](const std::string& day) {
    const auto result = gpux_trade(exchange.port, "--sender CLI fills" + day);
    CHECK(result.first == 0);
    return result.second;
  };
  const std::string fill = "fill           symbol=" + std::string(kSymbol) +
                           " side=buy order_id=1 quantity=2 price=2.100000 time=";
  CHECK_MESSAGE(fills("").find(fill) != std::string::npos, fills(""));
  CHECK_MESSAGE(fills("").find("exec_id=T1-m") != std::string::npos, fills(""));
  CHECK_MESSAGE(fills(" --day 2000-01-01")
                        .find("fills          state=none reason=no fills on "
                              "20000101") != std::string::npos,
                fills(" --day 2000-01-01"));
  // After a restart the gateway starts from the recovered engine, not from zero.
  REQUIRE(exchange.daemon->stop() == 0);
  exchange.start_daemon();
  REQUIRE(exchange.client.wait_logons(4));
  CHECK_MESSAGE(cash().find("available=999995.800000 reserved=0.000000 in_escrow=4.200000") !=
                    std::string::npos,
                cash());
  CHECK_MESSAGE(fills("").find(fill) != std::string::npos, fills(""));
  CHECK(gpux_trade(exchange.port, "--sender CLI fills --day 2000-13-01").first == 2);
}

TEST_CASE("gpux trade: one run at a time per seat, and the second says why") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CLI participant=1 "
      "password=none\n");
  REQUIRE(exchange.client.wait_logons(2));
  const std::string trade = trade_command(exchange.port) + "--sender CLI ";
  // A watcher holds the seat: its pid, then the book once it is logged on.
  FILE* watcher =
      ::popen(("sh -c 'echo $$; exec " + trade + "watch " + kSymbol + "'").c_str(), "r");
  REQUIRE(watcher != nullptr);
  char line[512];
  REQUIRE(std::fgets(line, sizeof line, watcher) != nullptr);
  const pid_t pid = std::atoi(line);
  REQUIRE(std::fgets(line, sizeof line, watcher) != nullptr);  // the book: it is on
  CHECK(std::string(line).find("book") != std::string::npos);

  auto second = gpux_trade(exchange.port, "--sender CLI cash");
  CHECK(second.first == 3);
  CHECK_MESSAGE(second.second.find("another gpux trade runs as CLI on 127.0.0.1:" +
                                   std::to_string(exchange.port)) != std::string::npos,
                second.second);
  ::kill(pid, SIGINT);  // the watcher stops, and the seat is free again
  CHECK(WEXITSTATUS(::pclose(watcher)) == 0);
  const auto third = gpux_trade(exchange.port, "--sender CLI cash");
  CHECK(third.first == 0);
  CHECK_MESSAGE(third.second.find("cash ") != std::string::npos, third.second);
}

TEST_CASE(
    "gpux trade: a seat logged on elsewhere is refused with the reason; runs in a row are not") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CLI participant=1 "
      "password=none\n");
  REQUIRE(exchange.client.wait_logons(2));
  // The fixture's own session holds ALICE.
  const auto taken = gpux_trade(exchange.port, "--sender ALICE cash");
  CHECK(taken.first == 3);
  CHECK_MESSAGE(taken.second.find("seat ALICE is logged on from another connection; one "
                                  "session per seat") != std::string::npos,
                taken.second);
  // ALICE's session goes on as before.
  FIX::Message order = new_order("after-refusal", kSymbol, FIX::Side_BUY, "2.0", "1");
  FIX::Session::sendToTarget(order, exchange.alice);
  CHECK(field(exchange.client.next("ALICE"), FIX::FIELD::OrdStatus) ==
        std::string(1, FIX::OrdStatus_NEW));
  // Each run logs out and the next logs on at once, often before gpuxd has
  // closed the previous connection: that Logon waits for the close.
  for (int run = 0; run < 8; ++run) {
    const auto result = gpux_trade(exchange.port, "--sender CLI cash");
    CAPTURE(run);
    CHECK_MESSAGE(result.first == 0, result.second);
  }
}

TEST_CASE("FIX logon: a password that passed once is not a key for other passwords") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CLI participant=1 "
      "password_hash=" +
      hash_of("p4ss") + "\n");
  REQUIRE(exchange.client.wait_logons(2));
  const auto logon = [&](const char* password) {
    return trade_logon(exchange.port, "CLI", password);
  };
  CHECK(logon("p4ss").first == 0);  // checked with Argon2id, then remembered
  CHECK(logon("p4ss").first == 0);  // remembered
  const auto wrong = logon("p4ss-not");
  CHECK(wrong.first == 3);
  CHECK(wrong.second.find("wrong password for CLI") != std::string::npos);
  CHECK(logon("").first == 3);
  CHECK(logon("p4ss").first == 0);

  // No log holds a password: the Logons are there, their passwords masked.
  const std::string messages =
      exchange.dir.path + "/data/fix-log/FIX.4.4-GPUX-CLI.messages.current.log";
  CHECK(wait_for_line(messages,
                      "\x01"
                      "554=***\x01"));
  for (const char* log : {"FIX.4.4-GPUX-CLI.messages.current.log",
                          "FIX.4.4-GPUX-CLI.event.current.log", "GLOBAL.event.current.log"})
    CHECK(file_text(exchange.dir.path + "/data/fix-log/" + log).find("p4ss") == std::string::npos);
}

TEST_CASE(
    "FIX connections: a stranger, a second connection and a first message that is not a "
    "Logon are closed (the second told why); the live session is unaffected") {
  Exchange exchange(
      "fix_client = CAROL participant=3 password=none\nfix_client = DAVE participant=1 "
      "password=none\n");
  RawFix carol(exchange.port, "CAROL");
  carol.logon();

  RawFix stranger(exchange.port, "MALLORY");
  stranger.send(stranger.frame("A",
                               "98=0\x01"
                               "108=30\x01"));
  CHECK(stranger.read().empty());  // closed without an answer

  // A second connection for a seat logged on is told why, then closed.
  RawFix second(exchange.port, "CAROL");
  second.send(second.frame("A",
                           "98=0\x01"
                           "108=30\x01"));
  const std::string refused = second.read();
  CHECK(refused.find("\x01"
                     "35=5\x01") != std::string::npos);
  CHECK(refused.find("\x01"
                     "58=seat CAROL is logged on from another connection; one session per "
                     "seat\x01") != std::string::npos);
  CHECK(second.read().empty());  // and closed

  RawFix dave(exchange.port, "DAVE");
  dave.send(dave.frame("x",
                       "320=early\x01"
                       "559=4\x01"));
  CHECK(dave.read().empty());

  // Bytes that frame no FIX message are dropped (with whatever arrived with
  // them, so the next message goes once the drop is logged); what follows is
  // served.
  carol.send(
      "8=FIX.4.4\x01"
      "9=x\x01"
      "garbage");
  const std::string carol_events =
      exchange.dir.path + "/data/fix-log/FIX.4.4-GPUX-CAROL.event.current.log";
  CHECK(wait_for_line(carol_events, "Dropped bytes that do not frame a FIX message"));
  carol.send(carol.frame("x",
                         "320=after\x01"
                         "559=4\x01"));
  const std::string list = carol.read();
  CHECK(RawFix::type_of(list) == "y");
  CHECK(RawFix::value(list, "320") == "after");

  const std::string global = exchange.dir.path + "/data/fix-log/GLOBAL.event.current.log";
  CHECK(wait_for_line(global, "Session not found for incoming message: 8=FIX.4.4"));
  CHECK(file_text(global).find("49=MALLORY") != std::string::npos);
}

TEST_CASE("FIX logon: five wrong passwords in a minute, and the sixth Logon is refused unchecked") {
  const std::string hash = hash_of("p4ss");
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CLI participant=1 "
      "password_hash=" +
      hash + "\nfix_client = CLI2 participant=1 password_hash=" + hash + "\n");
  REQUIRE(exchange.client.wait_logons(2));
  // Failures count in clock minutes: a run that straddles one is repeated
  // with a seat that has none.
  for (const std::string sender : {"CLI", "CLI2"}) {
    const long minute = static_cast<long>(std::time(nullptr) / 60);
    std::vector<std::string> answers;
    for (int i = 0; i < 5; ++i)
      answers.push_back(trade_logon(exchange.port, sender, "wrong-" + std::to_string(i)).second);
    const auto sixth =
        trade_logon(exchange.port, sender, "p4ss");  // right, but after five failures
    if (static_cast<long>(std::time(nullptr) / 60) != minute) continue;
    for (const std::string& answer : answers)  // each failure counted once
      CHECK(answer.find("wrong password for " + sender) != std::string::npos);
    CHECK(sixth.first == 3);
    CHECK(sixth.second.find("too many failed logons; try again in a minute") != std::string::npos);
    return;
  }
  FAIL("both runs straddled a minute");
}

TEST_CASE("FIX: a client that stops reading is disconnected, and the others are still served") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CAROL participant=3 "
      "password=none\n"
      "fix_max_messages_per_second = 1000000\nfix_max_unsent_bytes = 65536\n");
  REQUIRE(exchange.client.wait_logons(2));
  RawFix carol(exchange.port, "CAROL");
  carol.limit_receive_buffer(64 * 1024);
  carol.logon();
  // Security lists asked for and never read: far more than the kernel's
  // socket buffers and the exchange's 64 KiB limit together hold.
  const int kRequests = 100000;
  std::string requests;
  for (int i = 0; i < kRequests; ++i)
    requests += carol.frame("x", "320=r" + std::to_string(i) + "\x01" + "559=4\x01");
  carol.try_send(requests);  // false once the exchange has closed the connection

  // Another session is still served while CAROL is not reading.
  FIX::Message order = new_order("alive", kSymbol, '2', "2.4", "1");
  FIX::Session::sendToTarget(order, exchange.bob);
  CHECK(field(exchange.client.next("BOB"), FIX::FIELD::OrdStatus) == "0");

  // CAROL's connection ends before all the answers reached it.
  int lists = 0;
  for (std::string m = carol.read(); !m.empty(); m = carol.read())
    lists += RawFix::type_of(m) == "y";
  CHECK(lists > 0);
  CHECK(lists < kRequests);
  CHECK(file_text(exchange.dir.path + "/data/fix-log/FIX.4.4-GPUX-CAROL.event.current.log")
            .find("left more than 65536 bytes unread") != std::string::npos);
}

TEST_CASE("gpux trade: a clear message and exit 3 when there is no exchange") {
  const int port = free_port();
  const auto result = gpux_trade(port, "--timeout 1 --sender CLI instruments");
  CHECK(result.second.find("nothing listens on 127.0.0.1:" + std::to_string(port)) !=
        std::string::npos);
  CHECK(result.first == 3);
}

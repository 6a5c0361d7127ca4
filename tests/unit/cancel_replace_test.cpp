// Cancel, replace and mass cancel, against both book implementations.
#include <doctest/doctest.h>

#include "market.h"

using namespace gpux::test;

TEST_CASE_TEMPLATE("cancel removes a resting order and releases its hold", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  const OrderId buy = m.buy(1, 1'900'000, 10);
  const OrderId sell = m.sell(2, 2'100'000, 10);
  CHECK(m.engine().account(1)->reserved == 19'000'000);
  CHECK(m.engine().capacity(2, 1).offered == 10);

  m.apply(CancelOrder{1, buy});
  auto canceled = only<OrderCanceled>(m.last());
  REQUIRE(canceled.size() == 1);
  CHECK(canceled[0] == OrderCanceled{canceled[0].stamp, buy, 1, 1, 10, 0, CancelReason::requested});
  m.apply(CancelOrder{2, sell});
  CHECK(m.engine().account(1)->reserved == 0);
  CHECK(m.engine().capacity(2, 1).offered == 0);
  CHECK(m.engine().depth(1, 10) == Depth{});
}

TEST_CASE_TEMPLATE("cancel of an unknown, finished or foreign order is rejected", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  const OrderId mine = m.buy(1, 1'900'000, 10);

  m.apply(CancelOrder{1, 999});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::unknown_order);
  m.apply(CancelOrder{2, mine});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::not_order_owner);
  CHECK(m.engine().order(mine));
  m.apply(CancelOrder{1, mine});
  m.apply(CancelOrder{1, mine});
  const auto rejected = only<CommandRejected>(m.last());
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0].reason == RejectReason::unknown_order);
  CHECK(rejected[0].order == mine);
}

TEST_CASE_TEMPLATE("replace keeps time priority only when just the quantity goes down", B,
                   BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  const OrderId a = m.sell(1, 2'000'000, 10);
  const OrderId b = m.sell(2, 2'000'000, 10);
  OrderId expected_first = a;

  SUBCASE("quantity down keeps priority") {
    m.apply(ReplaceOrder{1, a, 2'000'000, 4});
    CHECK(only<OrderReplaced>(m.last()).at(0).kept_priority);
    CHECK(m.engine().capacity(1, 1).offered == 4);
  }
  SUBCASE("quantity up loses priority") {
    m.apply(ReplaceOrder{1, a, 2'000'000, 11});
    CHECK(!only<OrderReplaced>(m.last()).at(0).kept_priority);
    expected_first = b;
  }
  SUBCASE("price change loses priority, even back to the same price") {
    m.apply(ReplaceOrder{1, a, 2'000'100, 10});
    m.apply(ReplaceOrder{1, a, 2'000'000, 10});
    expected_first = b;
  }
  m.buy(3, 2'000'000, 1);
  CHECK(only<Trade>(m.last()).at(0).maker_order == expected_first);
  CHECK(m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("a replace that crosses trades at once as the taker", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  m.sell(1, 2'000'000, 3);
  const OrderId bid = m.buy(2, 1'900'000, 5);
  m.apply(ReplaceOrder{2, bid, 2'000'000, 5});
  const auto trades = only<Trade>(m.last());
  REQUIRE(trades.size() == 1);
  CHECK(trades[0].taker_order == bid);
  CHECK(trades[0].quantity == 3);
  CHECK(m.engine().order(bid)->remaining == 2);
  CHECK(m.engine().account(2)->reserved == 2 * 2'000'000);
  CHECK(m.engine().account(2)->committed == 3 * 2'000'000);

  SUBCASE("and vanishes when it fills completely") {
    m.sell(3, 2'000'000, 5);
    const OrderId other = m.buy(4, 1'000'000 + 900'000, 3);
    m.apply(ReplaceOrder{4, other, 2'000'000, 3});
    CHECK(!m.engine().order(other));
  }
  CHECK(m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("invalid replaces are rejected and change nothing", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  m.sell(1, 2'000'000, 3);
  const OrderId bid = m.buy(2, 1'900'000, 5, OrderType::post_only);
  const std::uint64_t before = m.engine().state_hash();
  const auto reason_of = [&](ReplaceOrder r) {
    m.apply(r);
    return only<CommandRejected>(m.last()).at(0).reason;
  };
  CHECK(reason_of({2, bid, 1'900'050, 5}) == RejectReason::tick_size_violation);
  CHECK(reason_of({2, bid, 1'000'000, 5}) == RejectReason::price_outside_band);
  CHECK(reason_of({2, bid, 1'900'000, 0}) == RejectReason::invalid_quantity);
  CHECK(reason_of({2, bid, 1'900'000, 1001}) == RejectReason::quantity_above_maximum);
  CHECK(reason_of({2, bid, 2'000'000, 5}) == RejectReason::post_only_would_take);
  CHECK(reason_of({3, bid, 1'900'000, 5}) == RejectReason::not_order_owner);
  CHECK(reason_of({2, bid + 100, 1'900'000, 5}) == RejectReason::unknown_order);
  CHECK(m.engine().state_hash() == before);
}

TEST_CASE_TEMPLATE("mass cancel takes all of a participant's orders, or one instrument's", B,
                   BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard(1);
  m.open_standard(2);
  for (InstrumentId i : {1u, 2u}) {
    m.place(1, Side::buy, 1'900'000, 1, OrderType::limit, SelfTradePrevention::cancel_incoming, i);
    m.place(1, Side::sell, 2'100'000, 1, OrderType::limit, SelfTradePrevention::cancel_incoming, i);
    m.place(2, Side::buy, 1'800'000, 1, OrderType::limit, SelfTradePrevention::cancel_incoming, i);
  }
  m.apply(MassCancel{1, 2u});
  CHECK(only<OrderCanceled>(m.last()).size() == 2);
  CHECK(only<MassCancelDone>(m.last()).at(0).canceled_orders == 2);
  CHECK(m.engine().depth(1, 10).bids.size() == 2);
  CHECK(m.engine().depth(2, 10).bids.size() == 1);

  m.apply(MassCancel{1, std::nullopt});
  CHECK(only<MassCancelDone>(m.last()).at(0).canceled_orders == 2);
  for (const auto& c : only<OrderCanceled>(m.last()))
    CHECK(c.reason == CancelReason::mass_cancel);
  CHECK(m.engine().account(1)->reserved == 0);
  CHECK(m.engine().depth(1, 10).bids.size() == 1);

  m.apply(MassCancel{9, std::nullopt});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::unknown_participant);
  m.apply(MassCancel{2, 7u});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::unknown_instrument);
  CHECK(m.engine().check_invariants().empty());
}

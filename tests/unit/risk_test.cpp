// Pre-trade risk: cash reservation for buys, sell capacity for sells.
#include <doctest/doctest.h>

#include "market.h"

using namespace gpux::test;

TEST_CASE_TEMPLATE("a buy reserves price x quantity plus fee, and needs available cash", B,
                   BOTH_BOOKS) {
  EngineConfig config;
  config.buyer_fee_ppm = 2'500;  // 0.25%
  Market m(B::kind, config);
  m.open_standard(1, 2, 10'000'000);

  CHECK(m.buy(1, 2'000'000, 4) != 0);
  CHECK(m.engine().account(1)->reserved == 8'000'000 + 20'000);
  CHECK(m.buy(1, 2'000'000, 1) == 0);  // 1,980,000 available < 2,005,000
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::insufficient_cash);
  CHECK(m.engine().account(1)->available() == 10'000'000 - 8'020'000);
}

TEST_CASE_TEMPLATE("a fill at a better price releases the difference", B, BOTH_BOOKS) {
  EngineConfig config;
  config.buyer_fee_ppm = 1'000;
  Market m(B::kind, config);
  m.open_standard();
  m.sell(2, 1'800'000, 3);
  const OrderId bid = m.buy(1, 2'000'000, 5);
  const AccountView a = *m.engine().account(1);
  CHECK(a.committed == 3 * 1'800'000 + 5'400);
  CHECK(a.reserved == 2 * 2'000'000 + 4'000);
  m.apply(CancelOrder{1, bid});
  CHECK(m.engine().account(1)->reserved == 0);
  CHECK(m.engine().account(1)->available() == 10'000'000'000 - (3 * 1'800'000 + 5'400));
}

TEST_CASE_TEMPLATE("a sell needs free capacity and frees it on cancel", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard(1, 3, 10'000'000'000, 10);
  const OrderId first = m.sell(1, 2'000'000, 6);
  CHECK(m.sell(1, 2'000'000, 5) == 0);
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::insufficient_capacity);
  m.buy(2, 2'000'000, 6);
  CHECK(m.engine().capacity(1, 1) == CapacityView{10, 0, 6});
  CHECK(m.sell(1, 2'000'000, 5) == 0);
  const OrderId second = m.sell(1, 2'000'000, 4);
  CHECK(second != 0);
  m.apply(CancelOrder{1, second});
  CHECK(m.engine().capacity(1, 1) == CapacityView{10, 0, 6});
  CHECK(!m.engine().order(first));

  SUBCASE("capacity cannot drop below what is offered and sold") {
    m.apply(SetSellCapacity{1, 1, 5});
    CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::insufficient_capacity);
    m.apply(SetSellCapacity{1, 1, 6});
    CHECK(only<SellCapacitySet>(m.last()).size() == 1);
  }
  SUBCASE("no capacity set means no selling") {
    m.apply(AddParticipant{9});
    CHECK(m.sell(9, 2'000'000, 1) == 0);
    CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::insufficient_capacity);
  }
  SUBCASE("replace up needs the extra capacity") {
    const OrderId third = m.sell(1, 2'100'000, 2);
    m.apply(ReplaceOrder{1, third, 2'100'000, 5});
    CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::insufficient_capacity);
    m.apply(ReplaceOrder{1, third, 2'100'000, 4});
    CHECK(only<OrderReplaced>(m.last()).size() == 1);
  }
  CHECK(m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("cash adjustments", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard(1, 1, 1'000'000'000);
  m.buy(1, 2'000'000, 100);
  m.apply(AdjustCash{1, -800'000'001});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::insufficient_cash);
  m.apply(AdjustCash{1, -800'000'000});
  CHECK(only<CashAdjusted>(m.last()).at(0).balance == 200'000'000);
  m.apply(AdjustCash{1, 0});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::invalid_amount);
  m.apply(AdjustCash{1, INT64_MAX});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::invalid_amount);
  m.apply(AdjustCash{1, INT64_MIN});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::insufficient_cash);
  m.apply(AdjustCash{7, 5});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::unknown_participant);
}

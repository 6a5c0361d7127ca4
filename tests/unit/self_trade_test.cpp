// Self-trade prevention: the incoming order's mode decides.
#include <doctest/doctest.h>

#include "market.h"

using namespace gpux::test;

namespace {

// Participant 1 rests 5 (own) ahead of participant 2's 5, then sends a buy of `quantity`.
struct SelfTradeSetup {
  explicit SelfTradeSetup(BookKind kind) : m(kind) {
    m.open_standard();
    own = m.sell(1, 2'000'000, 5);
    other = m.sell(2, 2'000'000, 5);
  }
  OrderId send(SelfTradePrevention mode, Quantity quantity) {
    return m.place(1, Side::buy, 2'000'000, quantity, OrderType::limit, mode);
  }
  Market m;
  OrderId own = 0;
  OrderId other = 0;
};

}  // namespace

TEST_CASE_TEMPLATE("cancel resting: own order goes, incoming trades on", B, BOTH_BOOKS) {
  SelfTradeSetup s(B::kind);
  const OrderId in = s.send(SelfTradePrevention::cancel_resting, 8);
  const auto canceled = only<OrderCanceled>(s.m.last());
  REQUIRE(canceled.size() == 1);
  CHECK(canceled[0].order == s.own);
  CHECK(canceled[0].reason == CancelReason::self_trade);
  const auto trades = only<Trade>(s.m.last());
  REQUIRE(trades.size() == 1);
  CHECK(trades[0].maker_order == s.other);
  CHECK(s.m.engine().order(in)->remaining == 3);
  CHECK(s.m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("cancel incoming: the book is untouched", B, BOTH_BOOKS) {
  SelfTradeSetup s(B::kind);
  const OrderId in = s.send(SelfTradePrevention::cancel_incoming, 8);
  const auto canceled = only<OrderCanceled>(s.m.last());
  REQUIRE(canceled.size() == 1);
  CHECK(canceled[0].order == in);
  CHECK(canceled[0].canceled == 8);
  CHECK(only<Trade>(s.m.last()).empty());
  CHECK(s.m.engine().order(s.own)->remaining == 5);
  CHECK(!s.m.engine().order(in));
  CHECK(s.m.engine().account(1)->reserved == 0);
  CHECK(s.m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("cancel both: own resting and incoming go", B, BOTH_BOOKS) {
  SelfTradeSetup s(B::kind);
  const OrderId in = s.send(SelfTradePrevention::cancel_both, 8);
  const auto canceled = only<OrderCanceled>(s.m.last());
  REQUIRE(canceled.size() == 2);
  CHECK(canceled[0].order == s.own);
  CHECK(canceled[1].order == in);
  CHECK(only<Trade>(s.m.last()).empty());
  CHECK(s.m.engine().depth(1, 5).asks.at(0) == DepthLevel{2'000'000, 5, 1});
  CHECK(s.m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("decrement and cancel: both shrink by the overlap", B, BOTH_BOOKS) {
  SelfTradeSetup s(B::kind);
  SUBCASE("incoming larger: own resting cancelled, incoming decremented and trades on") {
    const OrderId in = s.send(SelfTradePrevention::decrement_and_cancel, 8);
    const auto canceled = only<OrderCanceled>(s.m.last());
    REQUIRE(canceled.size() == 2);
    CHECK(canceled[0] ==
          OrderCanceled{canceled[0].stamp, s.own, 1, 1, 5, 0, CancelReason::self_trade});
    CHECK(canceled[1] ==
          OrderCanceled{canceled[1].stamp, in, 1, 1, 5, 3, CancelReason::self_trade});
    const auto trades = only<Trade>(s.m.last());
    REQUIRE(trades.size() == 1);
    CHECK(trades[0].quantity == 3);
    CHECK(!s.m.engine().order(in));
  }
  SUBCASE("incoming smaller: own resting decremented and keeps its place") {
    const OrderId in = s.send(SelfTradePrevention::decrement_and_cancel, 2);
    CHECK(!s.m.engine().order(in));
    CHECK(s.m.engine().order(s.own)->remaining == 3);
    CHECK(s.m.engine().capacity(1, 1).offered == 3);
    s.m.buy(3, 2'000'000, 1);
    CHECK(only<Trade>(s.m.last()).at(0).maker_order == s.own);
  }
  CHECK(s.m.engine().account(1)->reserved == 0);
  CHECK(s.m.engine().check_invariants().empty());
}

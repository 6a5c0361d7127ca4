// Matching of each order type, run against both book implementations.
#include <doctest/doctest.h>

#include "market.h"

using namespace gpux::test;

TEST_CASE_TEMPLATE("limit orders trade by price, then time, at the maker's price", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  const OrderId first = m.sell(1, 2'000'100, 5);
  const OrderId second = m.sell(2, 2'000'100, 5);
  const OrderId better = m.sell(3, 2'000'000, 5);
  const OrderId taker = m.buy(4, 2'000'200, 12);

  const auto trades = only<Trade>(m.last());
  REQUIRE(trades.size() == 3);
  CHECK(trades[0].maker_order == better);
  CHECK(trades[0].price == 2'000'000);
  CHECK(trades[1].maker_order == first);
  CHECK(trades[1].price == 2'000'100);
  CHECK(trades[2].maker_order == second);
  CHECK(trades[2].quantity == 2);
  CHECK(trades[2].maker_remaining == 3);
  CHECK(trades[2].taker_remaining == 0);
  for (const Trade& t : trades) {
    CHECK(t.taker_order == taker);
    CHECK(t.aggressor == Side::buy);
  }
  CHECK(!m.engine().order(taker));
  CHECK(m.engine().order(second)->remaining == 3);
  CHECK(m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("a taker fills partially across many levels and rests the rest", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  for (int i = 0; i < 50; ++i)
    m.sell(1 + i % 3, 2'000'000 + 100 * i, 2);
  const OrderId taker = m.buy(4, 2'000'000 + 100 * 29, 100);
  const auto trades = only<Trade>(m.last());
  CHECK(trades.size() == 30);
  CHECK(trades.back().price == 2'000'000 + 100 * 29);
  REQUIRE(m.engine().order(taker));
  CHECK(m.engine().order(taker)->remaining == 40);
  const Depth depth = m.engine().depth(1, 5);
  REQUIRE(depth.bids.size() == 1);
  CHECK(depth.bids[0] == DepthLevel{2'000'000 + 100 * 29, 40, 1});
  REQUIRE(!depth.asks.empty());
  CHECK(depth.asks[0].price == 2'000'000 + 100 * 30);
  CHECK(m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("IOC fills what it can and the rest expires", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  m.sell(1, 2'000'000, 3);
  const OrderId ioc = m.buy(2, 2'000'000, 10, OrderType::immediate_or_cancel);
  CHECK(only<Trade>(m.last()).size() == 1);
  const auto expired = only<OrderExpired>(m.last());
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].order == ioc);
  CHECK(expired[0].expired == 7);
  CHECK(expired[0].reason == ExpireReason::unfilled_remainder);
  CHECK(!m.engine().order(ioc));
  CHECK(m.engine().account(2)->reserved == 0);
}

TEST_CASE_TEMPLATE("FOK fills completely or expires with no side effects", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  m.sell(1, 2'000'000, 4);
  m.sell(3, 2'000'100, 5);
  const std::uint64_t before = m.engine().state_hash();

  SUBCASE("one lot short: nothing trades") {
    const OrderId fok = m.buy(2, 2'000'100, 10, OrderType::fill_or_kill);
    CHECK(only<Trade>(m.last()).empty());
    const auto expired = only<OrderExpired>(m.last());
    REQUIRE(expired.size() == 1);
    CHECK(expired[0].order == fok);
    CHECK(expired[0].reason == ExpireReason::fill_or_kill);
    CHECK(m.engine().depth(1, 5).asks.size() == 2);
    CHECK(m.engine().account(2)->reserved == 0);
    CHECK(m.engine().account(2)->committed == 0);
    // Only the id counter moved.
    CHECK(m.engine().depth(1, 5).asks[0].quantity == 4);
    CHECK(before != m.engine().state_hash());
  }
  SUBCASE("liquidity beyond the limit does not count") {
    m.buy(2, 2'000'000, 5, OrderType::fill_or_kill);
    CHECK(only<Trade>(m.last()).empty());
  }
  SUBCASE("exact quantity fills") {
    m.buy(2, 2'000'100, 9, OrderType::fill_or_kill);
    CHECK(only<Trade>(m.last()).size() == 2);
    CHECK(only<OrderExpired>(m.last()).empty());
    CHECK(m.engine().depth(1, 5).asks.empty());
  }
  SUBCASE("own resting order stops a cancel_incoming FOK") {
    m.sell(2, 2'000'000, 1);  // behind participant 1's order at the same price
    m.place(2, Side::buy, 2'000'100, 9, OrderType::fill_or_kill,
            SelfTradePrevention::cancel_incoming);
    CHECK(only<Trade>(m.last()).empty());
    CHECK(only<OrderExpired>(m.last()).size() == 1);
  }
  CHECK(m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("post-only rests, and is rejected rather than repriced if it would take", B,
                   BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  m.sell(1, 2'000'000, 5);
  CHECK(m.buy(2, 1'999'900, 5, OrderType::post_only) != 0);
  CHECK(m.buy(2, 2'000'000, 5, OrderType::post_only) == 0);
  const auto rejected = only<CommandRejected>(m.last());
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0].reason == RejectReason::post_only_would_take);
  CHECK(m.engine().top_of_book(1).bid->price == 1'999'900);
  CHECK(m.engine().account(2)->reserved == 1'999'900 * 5);
}

TEST_CASE_TEMPLATE("market orders stop at their protection price, by default the band edge", B,
                   BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  m.sell(1, 2'000'000, 2);
  m.sell(1, 2'400'000, 2);
  m.sell(1, 2'500'000, 2);  // the band's upper edge

  SUBCASE("default protection walks to the band edge and no further") {
    const OrderId market = m.buy(2, 0, 10, OrderType::market);
    const auto accepted = only<OrderAccepted>(m.last());
    REQUIRE(accepted.size() == 1);
    CHECK(accepted[0].price == 2'500'000);
    CHECK(only<Trade>(m.last()).size() == 3);
    const auto expired = only<OrderExpired>(m.last());
    REQUIRE(expired.size() == 1);
    CHECK(expired[0].order == market);
    CHECK(expired[0].expired == 4);
  }
  SUBCASE("explicit protection price") {
    m.buy(2, 2'100'000, 10, OrderType::market);
    CHECK(only<Trade>(m.last()).size() == 1);
    CHECK(m.engine().top_of_book(1).ask->price == 2'400'000);
    CHECK(!m.engine().top_of_book(1).bid);
  }
  SUBCASE("protection outside the band is rejected") {
    CHECK(m.buy(2, 2'600'000, 10, OrderType::market) == 0);
    CHECK(only<CommandRejected>(m.last())[0].reason == RejectReason::price_outside_band);
  }
  SUBCASE("market sell") {
    m.buy(3, 1'900'000, 2);
    m.sell(4, 0, 5, OrderType::market);
    CHECK(only<Trade>(m.last()).size() == 1);
    CHECK(only<OrderExpired>(m.last())[0].expired == 3);
  }
  CHECK(m.engine().account(2)->reserved == 0);
  CHECK(m.engine().check_invariants().empty());
}

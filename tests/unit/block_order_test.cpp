// Block orders: all-or-none over consecutive delivery hours, filled at once
// against the hourly books or refused without a trace.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>

#include "market.h"

using namespace gpux::test;
namespace settlement = gpux::settlement;

namespace {

constexpr ParticipantId kBuyer = 1;
constexpr Price kTick = 100;

// Instrument `id` delivers hour id-1 after the standard hour: consecutive ids
// are consecutive hours of one class in one region.
InstrumentSpec hour_spec(InstrumentId id) {
  return hours_later(standard_spec(id), id - 1);
}

// `hours` open consecutive hours (instruments 1..hours) and participants
// 1..participants, each funded and free to sell 10,000 units every hour.
struct Hours {
  Market m;
  Hours(BookKind kind, InstrumentId hours, int participants = 5, EngineConfig config = {})
      : m(kind, config) {
    for (InstrumentId id = 1; id <= hours; ++id) {
      m.apply(ListInstrument{hour_spec(id)});
      m.apply(ChangeInstrumentState{id, InstrumentState::open});
    }
    for (int p = 1; p <= participants; ++p) {
      const auto who = static_cast<ParticipantId>(p);
      m.apply(AddParticipant{who});
      m.apply(AdjustCash{who, 10'000'000'000});
      for (InstrumentId id = 1; id <= hours; ++id)
        m.apply(SetSellCapacity{who, id, 10'000});
    }
  }
  OrderId offer(ParticipantId who, InstrumentId hour, Price price, Quantity quantity) {
    return m.place(who, Side::sell, price, quantity, OrderType::limit,
                   SelfTradePrevention::cancel_incoming, hour);
  }
  OrderId bid(ParticipantId who, InstrumentId hour, Price price, Quantity quantity) {
    return m.place(who, Side::buy, price, quantity, OrderType::limit,
                   SelfTradePrevention::cancel_incoming, hour);
  }
  std::vector<Event> block(NewBlockOrder order) { return m.apply(order); }
};

NewBlockOrder buy_block(InstrumentId first, std::uint32_t hours, Quantity units, Price limit,
                        bool one_provider = true) {
  return {.client_order_id = 77,
          .participant = kBuyer,
          .first_instrument = first,
          .hours = hours,
          .side = Side::buy,
          .one_provider = one_provider,
          .units = units,
          .limit = limit};
}

std::optional<RejectReason> refusal(const std::vector<Event>& events) {
  const auto rejected = only<CommandRejected>(events);
  if (rejected.empty()) return std::nullopt;
  return rejected.front().reason;
}

// Each leg's (maker order, quantity, price), in event order.
struct Leg {
  OrderId maker = 0;
  Quantity quantity = 0;
  Price price = 0;
  bool operator==(const Leg&) const = default;
};

std::vector<Leg> legs_of(const std::vector<Event>& events) {
  std::vector<Leg> legs;
  for (const Trade& t : only<Trade>(events))
    legs.push_back({.maker = t.maker_order, .quantity = t.quantity, .price = t.price});
  return legs;
}

// The oracle: what a block should take, worked out from the engine's
// snapshot alone (its books as plain lists in priority order).
struct Expected {
  std::vector<Leg> legs;
  Money notional = 0;
};

std::optional<Expected> take_from(const EngineSnapshot& s, const NewBlockOrder& c,
                                  std::optional<ParticipantId> only_provider) {
  Expected plan;
  for (InstrumentId hour = c.first_instrument; hour < c.first_instrument + c.hours; ++hour) {
    const InstrumentSnapshot& book = s.instruments.at(hour - 1);
    const auto& opposite = c.side == Side::buy ? book.asks : book.bids;
    Quantity taken = 0;
    for (const OrderView& o : opposite) {
      if (taken == c.units) break;
      if (o.participant == c.participant) continue;
      if (only_provider && o.participant != *only_provider) continue;
      const Quantity q = std::min(o.remaining, c.units - taken);
      plan.legs.push_back({.maker = o.order, .quantity = q, .price = o.price});
      plan.notional += q * o.price;
      taken += q;
    }
    if (taken < c.units) return std::nullopt;
  }
  return plan;
}

std::optional<Expected> expected_fill(const EngineSnapshot& s, const NewBlockOrder& c) {
  std::optional<Expected> plan;
  if (c.side == Side::buy && c.one_provider) {
    for (const OrderView& o : s.instruments.at(c.first_instrument - 1).asks) {
      if (o.participant == c.participant) continue;
      auto candidate = take_from(s, c, o.participant);
      if (candidate && (!plan || candidate->notional < plan->notional)) plan = candidate;
    }
  } else {
    plan = take_from(s, c, std::nullopt);
  }
  const Money bound = c.limit * c.units * c.hours;
  if (plan && (c.side == Side::buy ? plan->notional > bound : plan->notional < bound))
    return std::nullopt;
  return plan;
}

}  // namespace

TEST_CASE_TEMPLATE("a buy block takes every hour from the cheapest provider who can fill it", B,
                   BOTH_BOOKS) {
  Hours h(B::kind, 3);
  // Provider 3 is cheapest but has nothing in hour 3; provider 4 is dearest.
  for (InstrumentId hour = 1; hour <= 3; ++hour) {
    h.offer(4, hour, 2'100'000, 5);
    h.offer(2, hour, 2'000'000, 5);
    if (hour < 3) h.offer(3, hour, 1'900'000, 5);
  }
  const AccountView before = *h.m.engine().account(kBuyer);

  SUBCASE("one provider: provider 2 in every hour") {
    const auto events = h.block(buy_block(1, 3, 4, 2'050'000));
    const auto filled = only<BlockOrderFilled>(events);
    REQUIRE(filled.size() == 1);
    CHECK(filled[0].notional == 3 * 4 * 2'000'000);
    CHECK(filled[0].legs == 3);
    const auto trades = only<Trade>(events);
    REQUIRE(trades.size() == 3);
    for (std::size_t i = 0; i < trades.size(); ++i) {
      CHECK(trades[i].instrument == i + 1);
      CHECK(trades[i].maker == 2);
      CHECK(trades[i].taker == kBuyer);
      CHECK(trades[i].taker_order == filled[0].block);
      CHECK(trades[i].quantity == 4);
      CHECK(trades[i].price == 2'000'000);
    }
    const AccountView after = *h.m.engine().account(kBuyer);
    CHECK(after.committed == before.committed + 3 * 4 * 2'000'000);
    CHECK(after.reserved == before.reserved);  // nothing stays held
    CHECK(h.m.engine().capacity(2, 3).sold == 4);
  }
  SUBCASE("any providers: each hour's best offers") {
    const auto events = h.block(buy_block(1, 3, 4, 2'050'000, false));
    const auto trades = only<Trade>(events);
    REQUIRE(trades.size() == 3);
    CHECK(trades[0].maker == 3);
    CHECK(trades[1].maker == 3);
    CHECK(trades[2].maker == 2);
    CHECK(only<BlockOrderFilled>(events).at(0).notional == 4 * (2 * 1'900'000 + 2'000'000));
  }
  CHECK(h.m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("a block that cannot fill every hour in full leaves no trace", B, BOTH_BOOKS) {
  Hours h(B::kind, 3);
  h.offer(2, 1, 2'000'000, 5);
  h.offer(2, 2, 2'000'000, 3);  // short in hour 2
  h.offer(2, 3, 2'000'000, 5);
  const std::uint64_t hash = h.m.engine().state_hash();
  for (const bool one_provider : {true, false}) {
    const auto events = h.block(buy_block(1, 3, 4, 2'500'000, one_provider));
    REQUIRE(events.size() == 1);
    CHECK(refusal(events) == RejectReason::block_not_fillable);
    CHECK(h.m.engine().state_hash() == hash);
  }
  // Two providers together could fill hour 2, but not one alone.
  h.offer(3, 2, 2'000'000, 1);
  CHECK(refusal(h.block(buy_block(1, 3, 4, 2'500'000))) == RejectReason::block_not_fillable);
  CHECK(only<BlockOrderFilled>(h.block(buy_block(1, 3, 4, 2'500'000, false))).size() == 1);
  CHECK(h.m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("the limit binds the block's total, not each leg", B, BOTH_BOOKS) {
  Hours h(B::kind, 2);
  h.offer(2, 1, 2'200'000, 10);  // above the limit alone...
  h.offer(2, 2, 1'800'000, 10);  // ...but the two hours average 2.00 USD
  CHECK(refusal(h.block(buy_block(1, 2, 5, 1'999'900))) == RejectReason::block_not_fillable);
  const auto filled = only<BlockOrderFilled>(h.block(buy_block(1, 2, 5, 2'000'000)));
  REQUIRE(filled.size() == 1);
  CHECK(filled[0].notional == 5 * 2'200'000 + 5 * 1'800'000);
  CHECK(h.m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("a block passes over its owner's own orders", B, BOTH_BOOKS) {
  Hours h(B::kind, 2);
  const OrderId own = h.offer(kBuyer, 1, 1'500'000, 5);
  h.offer(2, 1, 2'000'000, 5);
  h.offer(2, 2, 2'000'000, 5);
  const auto trades = only<Trade>(h.block(buy_block(1, 2, 5, 2'000'000)));
  REQUIRE(trades.size() == 2);
  CHECK(trades[0].maker == 2);
  CHECK(h.m.engine().order(own)->remaining == 5);
  CHECK(h.m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("a sell block hits the best bids and needs capacity in every hour", B,
                   BOTH_BOOKS) {
  Hours h(B::kind, 2);
  constexpr ParticipantId kProvider = 2;
  const OrderId best = h.bid(3, 1, 2'100'000, 3);
  const OrderId next = h.bid(4, 1, 2'000'000, 5);
  const OrderId later = h.bid(3, 2, 1'900'000, 5);
  NewBlockOrder sell{.client_order_id = 9,
                     .participant = kProvider,
                     .first_instrument = 1,
                     .hours = 2,
                     .side = Side::sell,
                     .units = 4,
                     .limit = 2'000'000};
  SUBCASE("the legs' total must reach the limit") {
    CHECK(refusal(h.block(sell)) == RejectReason::block_not_fillable);
  }
  SUBCASE("filled at the resting bids' prices") {
    sell.limit = 1'900'000;
    const auto events = h.block(sell);
    CHECK(legs_of(events) == std::vector<Leg>{{.maker = best, .quantity = 3, .price = 2'100'000},
                                              {.maker = next, .quantity = 1, .price = 2'000'000},
                                              {.maker = later, .quantity = 4, .price = 1'900'000}});
    CHECK(h.m.engine().capacity(kProvider, 1).sold == 4);
    CHECK(h.m.engine().capacity(kProvider, 2).sold == 4);
    CHECK(h.m.engine().account(kProvider)->receivable == 3 * 2'100'000 + 2'000'000 + 4 * 1'900'000);
  }
  SUBCASE("capacity short in one hour: refused before the books are looked at") {
    h.m.apply(SetSellCapacity{kProvider, 2, 3});
    sell.limit = 1'900'000;
    const std::uint64_t hash = h.m.engine().state_hash();
    CHECK(refusal(h.block(sell)) == RejectReason::insufficient_capacity);
    CHECK(h.m.engine().state_hash() == hash);
  }
  CHECK(h.m.engine().check_invariants().empty());
}

TEST_CASE("a block's own terms are checked first, each with its reason") {
  Hours h(BookKind::price_ladder, 4);
  h.m.apply(ChangeInstrumentState{3, InstrumentState::gate_closed});
  using R = RejectReason;
  const auto reason = [&](NewBlockOrder c) { return refusal(h.block(c)); };
  CHECK(reason(buy_block(1, 0, 1, 2'000'000)) == R::invalid_block_hours);
  CHECK(reason(buy_block(1, kMaxBlockHours + 1, 1, 2'000'000)) == R::invalid_block_hours);
  CHECK(reason(buy_block(9, 1, 1, 2'000'000)) == R::unknown_instrument);
  CHECK(reason(buy_block(2, 2, 1, 2'000'000)) == R::block_hour_not_open);  // hour 3 closed
  CHECK(reason(buy_block(4, 2, 1, 2'000'000)) == R::block_hour_not_open);  // hour 5 unlisted
  CHECK(reason(buy_block(1, 2, 0, 2'000'000)) == R::invalid_quantity);
  CHECK(reason(buy_block(1, 2, 1'001, 2'000'000)) == R::quantity_above_maximum);
  CHECK(reason(buy_block(1, 2, 1, 0)) == R::invalid_block_limit);
  CHECK(reason(buy_block(1, 2, 1'000, 1'000'000'000'000)) == R::invalid_block_limit);
  NewBlockOrder stranger = buy_block(1, 2, 1, 2'000'000);
  stranger.participant = 99;
  CHECK(reason(stranger) == R::unknown_participant);
  h.m.apply(AdjustCash{kBuyer, -10'000'000'000 + 7'999'999});
  CHECK(reason(buy_block(1, 2, 2, 2'000'000)) == R::insufficient_cash);  // 8 USD needed
  CHECK(h.m.engine().check_invariants().empty());
}

TEST_CASE("a block's legs settle hour by hour and sum to its notional") {
  EngineConfig config;
  config.buyer_fee_ppm = 5'000;
  config.delivery.challenges_per_obligation = 2;
  Hours h(BookKind::price_ladder, 3, 3, config);
  constexpr ParticipantId kProvider = 2;
  h.m.apply(PostCollateral{kProvider, 100'000'000});
  for (InstrumentId hour = 1; hour <= 3; ++hour)
    h.offer(kProvider, hour, 2'000'000 + static_cast<Price>(hour) * 10'000, 6);
  const auto filled = only<BlockOrderFilled>(h.block(buy_block(1, 3, 6, 2'100'000)));
  REQUIRE(filled.size() == 1);
  Money settled_notional = 0;
  for (InstrumentId hour = 1; hour <= 3; ++hour) {
    h.m.apply(ChangeInstrumentState{hour, InstrumentState::gate_closed});
    const auto challenges = only<ChallengeScheduled>(
        h.m.apply(ChangeInstrumentState{hour, InstrumentState::delivering}));
    REQUIRE(challenges.size() == 2 * 6);  // two rounds of its 6 units
    for (const ChallengeScheduled& c : challenges)
      h.m.apply(RecordChallengeOutcome{c.trade, c.index, ChallengeOutcome::passed, 0});
    const auto settled =
        only<ObligationSettled>(h.m.apply(ChangeInstrumentState{hour, InstrumentState::settled}));
    REQUIRE(settled.size() == 1);
    CHECK(settled[0].figures.verified == 6);
    settled_notional += settled[0].price * settled[0].quantity;
  }
  CHECK(settled_notional == filled[0].notional);
  CHECK(h.m.engine().account(kBuyer)->committed == 0);
  CHECK(h.m.engine().account(kBuyer)->reserved == 0);
  CHECK(h.m.engine().balance(settlement::exchange_account(settlement::AccountKind::clearing)) == 0);
  CHECK(h.m.engine().check_invariants().empty());
}

// Random books over four hours and random blocks against them: each block
// fills exactly as the oracle reads the snapshot, or is refused and changes
// nothing; both books give the same events.
TEST_CASE("property: blocks fill as the oracle says, or leave the state as it was") {
  constexpr InstrumentId kHours = 4;
  constexpr int kParticipants = 5;
  int filled = 0;
  int refused = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 random(seed);
    const auto pick = [&](int lo, int hi) {
      return std::uniform_int_distribution<int>(lo, hi)(random);
    };
    Hours ladder(BookKind::price_ladder, kHours, kParticipants);
    Hours reference(BookKind::reference, kHours, kParticipants);
    const auto both = [&](const CommandBody& c) {
      const auto events = ladder.m.apply(c);
      REQUIRE(reference.m.apply(c) == events);
      return events;
    };
    for (int round = 0; round < 30; ++round) {
      for (int n = pick(0, 6); n > 0; --n) {
        const auto hour = static_cast<InstrumentId>(pick(1, kHours));
        both(NewOrder{.participant = static_cast<ParticipantId>(pick(1, kParticipants)),
                      .instrument = hour,
                      .side = pick(0, 1) == 0 ? Side::buy : Side::sell,
                      .price = 2'000'000 + pick(-15, 15) * kTick,
                      .quantity = pick(1, 6)});
      }
      const auto first = static_cast<InstrumentId>(pick(1, kHours));
      const NewBlockOrder block{
          .client_order_id = static_cast<ClientOrderId>(round),
          .participant = static_cast<ParticipantId>(pick(1, kParticipants)),
          .first_instrument = first,
          .hours = static_cast<std::uint32_t>(pick(1, static_cast<int>(kHours - first + 1))),
          .side = pick(0, 1) == 0 ? Side::buy : Side::sell,
          .one_provider = pick(0, 1) == 0,
          .units = pick(1, 8),
          .limit = 2'000'000 + pick(-10, 10) * kTick};
      const EngineSnapshot before = ladder.m.engine().snapshot();
      const std::uint64_t hash = ladder.m.engine().state_hash();
      const auto events = both(block);
      const std::optional<Expected> expected = expected_fill(before, block);
      if (expected) {
        ++filled;
        const auto done = only<BlockOrderFilled>(events);
        REQUIRE(done.size() == 1);
        CHECK(done[0].notional == expected->notional);
        CHECK(done[0].legs == expected->legs.size());
        CHECK(legs_of(events) == expected->legs);
        std::set<ParticipantId> sellers;
        for (const Trade& t : only<Trade>(events)) {
          CHECK(t.taker_order == done[0].block);
          CHECK(t.maker != block.participant);
          sellers.insert(t.maker);
        }
        if (block.side == Side::buy && block.one_provider) CHECK(sellers.size() == 1);
      } else {
        ++refused;
        CHECK(refusal(events) == RejectReason::block_not_fillable);
        CHECK(events.size() == 1);
        CHECK(ladder.m.engine().state_hash() == hash);
      }
      REQUIRE(ladder.m.engine().check_invariants().empty());
      REQUIRE(ladder.m.engine().state_hash() == reference.m.engine().state_hash());
    }
  }
  MESSAGE("blocks filled: " << filled << ", refused: " << refused);
  CHECK(filled > 100);  // the property saw both outcomes often
  CHECK(refused > 100);
}

TEST_CASE("two listings of one hour: the lowest id is the block's, live or restored") {
  Market live;
  // Hour 1 is listed twice, the higher id first: a block must not depend on
  // the order of listing, which a snapshot's restore does not keep.
  for (const InstrumentId id : {InstrumentId{1}, InstrumentId{3}, InstrumentId{2}}) {
    InstrumentSpec spec = hours_later(standard_spec(id), id == 1 ? 0 : 1);
    live.apply(ListInstrument{spec});
    live.apply(ChangeInstrumentState{id, InstrumentState::open});
  }
  for (const ParticipantId p : {kBuyer, ParticipantId{2}}) {
    live.apply(AddParticipant{p});
    live.apply(AdjustCash{p, 10'000'000'000});
    for (const InstrumentId id : {InstrumentId{1}, InstrumentId{2}, InstrumentId{3}})
      live.apply(SetSellCapacity{p, id, 100});
  }
  for (const InstrumentId id : {InstrumentId{1}, InstrumentId{2}})
    live.place(2, Side::sell, 2'000'000, 5, OrderType::limit, SelfTradePrevention::cancel_incoming,
               id);
  Recorder restored_events;
  auto restored = restore_engine({}, restored_events, live.engine().snapshot());
  const NewBlockOrder block = buy_block(1, 2, 5, 2'000'000);
  const auto events = live.apply(block);
  restored->apply(Command{{1'000, 1'000'000}, block});
  const std::vector<Event>* const both_engines[] = {&events, &restored_events.events};
  for (const std::vector<Event>* seen : both_engines) {
    const auto legs = only<Trade>(*seen);
    REQUIRE(legs.size() == 2);
    CHECK(legs[0].instrument == 1);
    CHECK(legs[1].instrument == 2);  // not 3, listed earlier for the same hour
  }
  CHECK(restored->state_hash() == live.engine().state_hash());
}

// ---- resting blocks (until_gate_closure) -------------------------------------

namespace {

NewBlockOrder resting(NewBlockOrder order) {
  order.time_in_force = BlockTimeInForce::until_gate_closure;
  return order;
}

NewBlockOrder sell_block(ParticipantId provider, InstrumentId first, std::uint32_t hours,
                         Quantity units, Price limit) {
  return {.client_order_id = 88,
          .participant = provider,
          .first_instrument = first,
          .hours = hours,
          .side = Side::sell,
          .one_provider = true,
          .time_in_force = BlockTimeInForce::until_gate_closure,
          .units = units,
          .limit = limit};
}

OrderId rested_id(const std::vector<Event>& events) {
  const auto rested = only<BlockOrderRested>(events);
  return rested.empty() ? 0 : rested.front().block;
}

}  // namespace

TEST_CASE_TEMPLATE("a block that cannot fill at once rests with its hold until cancelled", B,
                   BOTH_BOOKS) {
  Hours h(B::kind, 3);
  const AccountView before = *h.m.engine().account(kBuyer);
  const OrderId buy = rested_id(h.block(resting(buy_block(1, 3, 4, 2'000'000))));
  REQUIRE(buy != 0);
  CHECK(h.m.engine().account(kBuyer)->reserved == 3 * 4 * 2'000'000);
  const OrderId sell = rested_id(h.block(sell_block(2, 1, 2, 5, 2'500'000)));
  REQUIRE(sell != 0);
  for (InstrumentId hour : {1u, 2u})
    CHECK(h.m.engine().capacity(2, hour).offered == 5);
  CHECK(h.m.engine().snapshot().blocks.size() == 2);

  SUBCASE("only its owner cancels it, and a block is not replaced") {
    CHECK(refusal(h.m.apply(CancelOrder{3, buy})) == RejectReason::not_order_owner);
    CHECK(refusal(h.m.apply(ReplaceOrder{kBuyer, buy, 2'000'000, 4})) ==
          RejectReason::block_not_replaceable);
  }
  SUBCASE("a cancel releases all of it") {
    const auto canceled = only<OrderCanceled>(h.m.apply(CancelOrder{kBuyer, buy}));
    REQUIRE(canceled.size() == 1);
    CHECK(canceled.front().canceled == 12);
    CHECK(canceled.front().instrument == 1);
    CHECK(*h.m.engine().account(kBuyer) == before);
    CHECK(only<OrderCanceled>(h.m.apply(CancelOrder{2, sell})).size() == 1);
    for (InstrumentId hour : {1u, 2u})
      CHECK(h.m.engine().capacity(2, hour).offered == 0);
    CHECK(h.m.engine().snapshot().blocks.empty());
  }
  SUBCASE("a mass cancel over one of its hours ends it") {
    const auto events = h.m.apply(MassCancel{kBuyer, InstrumentId{3}});
    CHECK(only<MassCancelDone>(events).front().canceled_orders == 1);
    CHECK(*h.m.engine().account(kBuyer) == before);
  }
  SUBCASE("the gate closing on any hour of its span expires it") {
    const auto events = h.m.apply(ChangeInstrumentState{2, InstrumentState::gate_closed});
    const auto expired = only<OrderExpired>(events);
    REQUIRE(expired.size() == 2);
    for (const OrderExpired& e : expired)
      CHECK(e.reason == ExpireReason::gate_closure);
    CHECK(*h.m.engine().account(kBuyer) == before);
    CHECK(h.m.engine().capacity(2, 1).offered == 0);
  }
  CHECK(h.m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("a resting block fills once an order at rest makes every hour fillable", B,
                   BOTH_BOOKS) {
  Hours h(B::kind, 2);
  const OrderId block = rested_id(h.block(resting(buy_block(1, 2, 4, 2'000'000))));
  REQUIRE(block != 0);
  h.offer(3, 1, 1'900'000, 4);
  CHECK(only<BlockOrderFilled>(h.m.last()).empty());  // hour 2 still has nothing
  // Too dear in total: the block stays.
  h.offer(3, 2, 2'200'000, 4);
  CHECK(only<BlockOrderFilled>(h.m.last()).empty());
  h.offer(3, 2, 2'050'000, 4);
  const auto filled = only<BlockOrderFilled>(h.m.last());
  REQUIRE(filled.size() == 1);
  CHECK(filled.front().block == block);
  CHECK(filled.front().notional == 4 * 1'900'000 + 4 * 2'050'000);
  for (const Trade& t : only<Trade>(h.m.last()))
    CHECK(t.taker_order == block);
  CHECK(h.m.engine().account(kBuyer)->reserved == 0);
  CHECK(h.m.engine().account(kBuyer)->committed == 4 * 1'900'000 + 4 * 2'050'000);
  CHECK(h.m.engine().snapshot().blocks.empty());
  CHECK(h.m.engine().check_invariants().empty());
}

TEST_CASE_TEMPLATE("a block takes resting blocks of its span whole, to exactly its units", B,
                   BOTH_BOOKS) {
  Hours h(B::kind, 2);
  const OrderId a3 = rested_id(h.block(sell_block(2, 1, 2, 3, 1'800'000)));
  const OrderId b2 = rested_id(h.block(sell_block(3, 1, 2, 2, 1'700'000)));
  const OrderId a2 = rested_id(h.block(sell_block(2, 1, 2, 2, 1'900'000)));
  rested_id(h.block(sell_block(4, 1, 3 - 1, 9, 1'600'000)));  // too many units to fit
  rested_id(h.block(sell_block(4, 2, 1, 5, 1'000'000)));      // another span
  const auto sellers = [&](const std::vector<Event>& events) {
    std::vector<std::pair<OrderId, Price>> out;
    for (const Trade& t : only<Trade>(events))
      out.emplace_back(t.maker_order, t.price);
    return out;
  };
  SUBCASE("any sellers: in price-time order, passing over what does not fit") {
    const auto events = h.block(buy_block(1, 2, 5, 2'000'000, false));
    CHECK(sellers(events) ==
          std::vector<std::pair<OrderId, Price>>{
              {b2, 1'700'000}, {b2, 1'700'000}, {a3, 1'800'000}, {a3, 1'800'000}});
    CHECK(only<BlockOrderFilled>(events).size() == 3);
  }
  SUBCASE("one provider: the first seller whose blocks add up") {
    const auto events = h.block(buy_block(1, 2, 5, 2'000'000, true));
    CHECK(sellers(events) ==
          std::vector<std::pair<OrderId, Price>>{
              {a3, 1'800'000}, {a3, 1'800'000}, {a2, 1'900'000}, {a2, 1'900'000}});
  }
  SUBCASE("no combination adds up: it rests beside them") {
    CHECK(rested_id(h.block(resting(buy_block(1, 2, 6, 2'000'000, false)))) != 0);
  }
  SUBCASE("limits that do not cross never meet") {
    CHECK(refusal(h.block(buy_block(1, 2, 2, 1'650'000))) == RejectReason::block_not_fillable);
  }
  for (ParticipantId p = 1; p <= 4; ++p)
    CHECK(h.m.engine().account(p)->reserved >= 0);
  CHECK(h.m.engine().check_invariants().empty());
}

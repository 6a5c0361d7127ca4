// Instruments: spec validation, order validation against the spec, the
// lifecycle, and determinism of the whole engine.
#include <doctest/doctest.h>

#include "market.h"

using namespace gpux::test;

TEST_CASE("instrument specs are validated at listing") {
  Market m;
  const auto reason_of = [&](InstrumentSpec spec) {
    m.apply(ListInstrument{spec});
    const auto rejected = only<CommandRejected>(m.last());
    return rejected.empty() ? std::optional<RejectReason>{} : rejected[0].reason;
  };
  InstrumentSpec spec = standard_spec(1);
  CHECK(!reason_of(spec));
  CHECK(reason_of(spec) == RejectReason::instrument_exists);

  spec = standard_spec(2);
  spec.tick_size = 0;
  CHECK(reason_of(spec) == RejectReason::invalid_instrument_spec);
  spec = standard_spec(2);
  spec.reference_price = 2'000'050;  // off tick
  CHECK(reason_of(spec) == RejectReason::invalid_instrument_spec);
  spec = standard_spec(2);
  spec.band_width = 2'000'000;  // band reaches zero
  CHECK(reason_of(spec) == RejectReason::invalid_instrument_spec);
  spec = standard_spec(2);
  spec.lot_size = 3;  // min 1 is not a multiple of the lot
  CHECK(reason_of(spec) == RejectReason::invalid_instrument_spec);
  spec = standard_spec(2);
  spec.tick_size = 1;
  spec.band_width = 1'000'000;  // 2,000,001 levels > the default limit
  CHECK(reason_of(spec) == RejectReason::invalid_instrument_spec);
  spec = standard_spec(2);
  spec.max_quantity = 1'000'000'000'000;  // notional overflow guard
  CHECK(reason_of(spec) == RejectReason::invalid_instrument_spec);
  spec = standard_spec(2);
  spec.delivery_end = spec.delivery_start;
  CHECK(reason_of(spec) == RejectReason::invalid_instrument_spec);
  CHECK(reason_of(standard_spec(1u << 20)) == RejectReason::unknown_instrument);
}

TEST_CASE_TEMPLATE("orders are validated against tick, lot, size and band", B, BOTH_BOOKS) {
  Market m(B::kind);
  InstrumentSpec spec = standard_spec(1);
  spec.lot_size = 5;
  spec.min_quantity = 10;
  spec.max_quantity = 100;
  m.apply(ListInstrument{spec});
  m.apply(AddParticipant{1});
  m.apply(AdjustCash{1, 1'000'000'000'000});
  const auto reason_of = [&](Price price, Quantity quantity) {
    m.buy(1, price, quantity);
    return only<CommandRejected>(m.last()).at(0).reason;
  };
  CHECK(reason_of(2'000'000, 10) == RejectReason::instrument_not_open);
  m.apply(ChangeInstrumentState{1, InstrumentState::open});
  CHECK(reason_of(2'000'000, 0) == RejectReason::invalid_quantity);
  CHECK(reason_of(2'000'000, -5) == RejectReason::invalid_quantity);
  CHECK(reason_of(2'000'000, 12) == RejectReason::lot_size_violation);
  CHECK(reason_of(2'000'000, 5) == RejectReason::quantity_below_minimum);
  CHECK(reason_of(2'000'000, 105) == RejectReason::quantity_above_maximum);
  CHECK(reason_of(2'000'001, 10) == RejectReason::tick_size_violation);
  CHECK(reason_of(1'499'900, 10) == RejectReason::price_outside_band);
  CHECK(reason_of(2'500'100, 10) == RejectReason::price_outside_band);
  CHECK(m.buy(1, 1'500'000, 10) != 0);
  CHECK(m.buy(1, 2'500'000, 100) != 0);

  m.place(2, Side::buy, 2'000'000, 10);
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::unknown_participant);
  m.place(1, Side::buy, 2'000'000, 10, OrderType::limit, SelfTradePrevention::cancel_incoming, 4);
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::unknown_instrument);
}

TEST_CASE_TEMPLATE("gate closure expires resting orders and releases their holds", B, BOTH_BOOKS) {
  Market m(B::kind);
  m.open_standard();
  const OrderId bid = m.buy(1, 1'900'000, 5);
  const OrderId ask = m.sell(2, 2'100'000, 5);
  m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  const auto expired = only<OrderExpired>(m.last());
  REQUIRE(expired.size() == 2);
  CHECK(expired[0].order == bid);
  CHECK(expired[1].order == ask);
  for (const auto& e : expired)
    CHECK(e.reason == ExpireReason::gate_closure);
  CHECK(m.engine().account(1)->reserved == 0);
  CHECK(m.engine().capacity(2, 1).offered == 0);
  CHECK(m.buy(1, 1'900'000, 5) == 0);
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::instrument_not_open);
  CHECK(m.engine().check_invariants().empty());
}

TEST_CASE("instrument states advance one step at a time") {
  Market m;
  m.apply(ListInstrument{standard_spec(1)});
  const auto step = [&](InstrumentState to) {
    m.apply(ChangeInstrumentState{1, to});
    return only<InstrumentStateChanged>(m.last()).size() == 1;
  };
  CHECK(!step(InstrumentState::gate_closed));
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::invalid_state_transition);
  CHECK(!step(InstrumentState::listed));
  CHECK(step(InstrumentState::open));
  CHECK(!step(InstrumentState::open));
  CHECK(step(InstrumentState::gate_closed));
  CHECK(step(InstrumentState::delivering));
  CHECK(step(InstrumentState::settled));
  CHECK(!step(InstrumentState::settled));
  CHECK(m.engine().instrument_state(1) == InstrumentState::settled);
  m.apply(ChangeInstrumentState{9, InstrumentState::open});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::unknown_instrument);
}

TEST_CASE("events carry the stamp of the command that caused them") {
  Market m;
  m.open_standard();
  m.sell(1, 2'000'000, 1);
  m.buy(2, 2'000'000, 1);
  const Stamp stamp = only<Trade>(m.last()).at(0).stamp;
  for (const Event& e : m.last())
    std::visit([&](const auto& event) { CHECK(event.stamp == stamp); }, e);
  CHECK(stamp.sequence > 0);
  CHECK(stamp.time == static_cast<Nanoseconds>(stamp.sequence) * 1000);
}

TEST_CASE("a price ladder costs memory only while orders can rest") {
  Market m;
  m.open_standard();
  CHECK(m.engine().memory_usage().book_bytes == 0);  // listed and open, never traded
  m.buy(1, 1'900'000, 5);
  const std::size_t one_side = m.engine().memory_usage().book_bytes;
  CHECK(one_side > 0);
  m.sell(2, 2'100'000, 5);
  CHECK(m.engine().memory_usage().book_bytes == 2 * one_side);
  m.apply(ChangeInstrumentState{1, InstrumentState::gate_closed});
  CHECK(m.engine().memory_usage().book_bytes == 0);
  CHECK(m.engine().check_invariants().empty());
}

TEST_CASE("participants are added once, below the configured limit") {
  EngineConfig config;
  config.max_participants = 10;
  Market m(BookKind::price_ladder, config);
  m.apply(AddParticipant{3});
  CHECK(only<ParticipantAdded>(m.last()).size() == 1);
  m.apply(AddParticipant{3});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::participant_exists);
  m.apply(AddParticipant{10});
  CHECK(only<CommandRejected>(m.last()).at(0).reason == RejectReason::unknown_participant);
  CHECK(m.engine().account(3) == AccountView{});
}

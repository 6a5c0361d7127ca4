// Instruments: spec validation, order validation against the spec, the
// lifecycle, and determinism of the whole engine.
#include <doctest/doctest.h>

#include "market.h"

using namespace gpux::test;

TEST_CASE("instrument specs are validated at listing, each rule with its own reason") {
  Market m;
  const auto reason_of = [&](InstrumentSpec spec) {
    m.apply(ListInstrument{spec});
    const auto rejected = only<CommandRejected>(m.last());
    return rejected.empty() ? std::optional<RejectReason>{} : rejected[0].reason;
  };
  // `change` breaks one rule of an otherwise valid spec (a fresh id each, as
  // the valid ones list).
  InstrumentId next_id = 2;
  const auto breaking = [&](auto change) {
    InstrumentSpec spec = standard_spec(next_id++);
    change(spec);
    return reason_of(spec);
  };
  using R = RejectReason;
  InstrumentSpec spec = standard_spec(1);
  CHECK(!reason_of(spec));
  CHECK(reason_of(spec) == R::instrument_exists);
  CHECK(reason_of(standard_spec(1u << 20)) == R::unknown_instrument);

  CHECK(breaking([](auto& s) { s.symbol.clear(); }) == R::invalid_symbol);
  CHECK(breaking([](auto& s) { s.delivery_end = s.delivery_start; }) == R::invalid_delivery_window);
  CHECK(breaking([](auto& s) { s.delivery_end = s.delivery_start - 3600; }) ==
        R::invalid_delivery_window);
  CHECK(breaking([](auto& s) { s.gate_closure = s.delivery_start + 1; }) ==
        R::invalid_gate_closure);
  CHECK(!breaking([](auto& s) { s.gate_closure = s.delivery_start; }));  // closes as it starts
  CHECK(breaking([](auto& s) { s.gpus_per_unit = 0; }) == R::invalid_gpus_per_unit);
  CHECK(breaking([](auto& s) { s.tick_size = 0; }) == R::invalid_tick_size);
  CHECK(breaking([](auto& s) { s.tick_size = -100; }) == R::invalid_tick_size);
  CHECK(breaking([](auto& s) { s.lot_size = 0; }) == R::invalid_lot_size);
  CHECK(breaking([](auto& s) { s.min_quantity = 0; }) == R::invalid_min_quantity);
  CHECK(breaking([](auto& s) { s.lot_size = 3; }) == R::invalid_min_quantity);      // min 1 off lot
  CHECK(breaking([](auto& s) { s.max_quantity = 0; }) == R::invalid_max_quantity);  // below min
  CHECK(breaking([](auto& s) {
          s.lot_size = 5;
          s.min_quantity = 10;
          s.max_quantity = 12;  // off lot
        }) == R::invalid_max_quantity);
  CHECK(breaking([](auto& s) { s.reference_price = 0; }) == R::invalid_reference_price);
  CHECK(breaking([](auto& s) { s.reference_price = 2'000'050; }) ==
        R::invalid_reference_price);  // off tick
  CHECK(breaking([](auto& s) { s.reference_price = 1'000'000'000'000'000'100; }) ==
        R::invalid_reference_price);  // above USD 10^12 per unit
  CHECK(breaking([](auto& s) { s.band_width = -100; }) == R::invalid_price_band);
  CHECK(breaking([](auto& s) { s.band_width = 500'050; }) == R::invalid_price_band);  // off tick
  CHECK(breaking([](auto& s) { s.band_width = 2'000'000; }) ==
        R::invalid_price_band);                                 // band reaches zero
  CHECK(!breaking([](auto& s) { s.band_width = 1'999'900; }));  // lowest price: one tick
  CHECK(breaking([](auto& s) {
          s.tick_size = 1;
          s.band_width = 1'000'000;  // 2,000,001 levels > the default limit
        }) == R::too_many_price_levels);
  CHECK(breaking([](auto& s) { s.max_quantity = 1'000'000'000'000; }) ==
        R::order_notional_too_large);  // 2.5 USD x 10^12 units > USD 10^9
  // Fees may not exceed the buyer's fee hold (0 by default).
  CHECK(breaking([](auto& s) { s.maker_fee_ppm = 1; }) == R::invalid_maker_fee);
  CHECK(breaking([](auto& s) { s.taker_fee_ppm = 1; }) == R::invalid_taker_fee);

  // Each reason names its rule.
  CHECK(std::string(to_string(R::invalid_price_band)) == "invalid_price_band");
  CHECK(std::string(to_string(R::order_notional_too_large)) == "order_notional_too_large");
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

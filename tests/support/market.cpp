#include "market.h"

namespace gpux::test {

std::uint64_t uninterrupted_hash(const std::vector<Command>& commands) {
  NullListener sink;
  auto engine = make_engine({}, sink);
  for (const Command& c : commands)
    engine->apply(c);
  return engine->state_hash();
}

InstrumentSpec standard_spec(InstrumentId id) {
  InstrumentSpec spec;
  spec.id = id;
  spec.symbol = "H100-SXM.us-east.20261122T15." + std::to_string(id);
  spec.gpu_class = "H100-SXM";
  spec.region = "us-east";
  spec.delivery_start = 1'795'446'000;
  spec.delivery_end = spec.delivery_start + 3600;
  spec.gate_closure = spec.delivery_start - 300;
  spec.tick_size = 100;
  spec.lot_size = 1;
  spec.min_quantity = 1;
  spec.max_quantity = 1000;
  spec.reference_price = 2'000'000;
  spec.band_width = 500'000;
  return spec;
}

InstrumentSpec hours_later(InstrumentSpec spec, std::int64_t hours) {
  spec.delivery_start += hours * 3600;
  spec.delivery_end += hours * 3600;
  spec.gate_closure += hours * 3600;
  return spec;
}

Market::Market(BookKind kind, EngineConfig config)
    : engine_(make_engine(config, recorder_, kind)) {}

std::vector<Event> Market::apply(const CommandBody& body) {
  const std::size_t before = recorder_.events.size();
  ++sequence_;
  engine_->apply(Command{{sequence_, static_cast<Nanoseconds>(sequence_) * 1000}, body});
  last_.assign(recorder_.events.begin() + static_cast<std::ptrdiff_t>(before),
               recorder_.events.end());
  return last_;
}

void Market::open_standard(InstrumentId id, int participants, Money cash, Quantity capacity) {
  apply(ListInstrument{standard_spec(id)});
  apply(ChangeInstrumentState{id, InstrumentState::open});
  for (int p = 1; p <= participants; ++p) {
    const auto who = static_cast<ParticipantId>(p);
    if (!engine_->account(who)) apply(AddParticipant{who});
    if (engine_->account(who)->cash == 0) apply(AdjustCash{who, cash});
    apply(SetSellCapacity{who, id, capacity});
  }
}

OrderId Market::place(ParticipantId who, Side side, Price price, Quantity quantity, OrderType type,
                      SelfTradePrevention stp, InstrumentId instrument) {
  const auto events = apply(NewOrder{0, who, instrument, side, type, stp, price, quantity});
  const auto accepted = only<OrderAccepted>(events);
  return accepted.empty() ? 0 : accepted.front().order;
}

}  // namespace gpux::test

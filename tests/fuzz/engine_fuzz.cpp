#include "engine_fuzz.h"

#include <vector>

#include "market.h"

namespace gpux::test {
namespace {

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  std::uint8_t next() { return at_ < size_ ? data_[at_++] : 0; }
  int signed_byte() { return static_cast<int>(static_cast<std::int8_t>(next())); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

constexpr Price kReference = 1'000'000;
constexpr Price kTick = 100;

InstrumentSpec fuzz_spec(InstrumentId id) {
  InstrumentSpec spec = standard_spec(id);
  spec.tick_size = kTick;
  spec.reference_price = kReference;
  spec.band_width = 10 * kTick;
  spec.lot_size = id == 1 ? 1 : 2;
  spec.min_quantity = spec.lot_size;
  spec.max_quantity = 50 * spec.lot_size;
  // Instruments 1 and 2 deliver consecutive hours, so blocks can span both.
  return hours_later(spec, id - 1);
}

// Prices mostly inside the 21-tick band, sometimes off tick or outside it.
Price price_from(ByteReader& in) {
  const int offset = in.signed_byte();
  Price p = kReference + (offset % 12) * kTick;
  if (offset % 17 == 0) p += kTick / 2;
  return p;
}

CommandBody next_command(ByteReader& in, OrderId highest_order) {
  const auto participant = static_cast<ParticipantId>(in.next() % 6);    // 0 and 5 unknown
  const auto instrument = static_cast<InstrumentId>(1 + in.next() % 3);  // 3 unknown
  const auto some_order = [&] { return static_cast<OrderId>(in.next() % (highest_order + 3)); };
  switch (in.next() % 10) {
    case 0:
    case 1:
    case 2:
    case 3: {
      NewOrder o;
      o.client_order_id = in.next();
      o.participant = participant;
      o.instrument = instrument;
      o.side = in.next() % 2 ? Side::buy : Side::sell;
      o.type = static_cast<OrderType>(in.next() % 5);
      o.self_trade = static_cast<SelfTradePrevention>(in.next() % 4);
      o.price = o.type == OrderType::market && in.next() % 2 ? 0 : price_from(in);
      o.quantity = static_cast<Quantity>(in.next() % 64) - 4;
      return o;
    }
    case 4:
      return CancelOrder{participant, some_order()};
    case 5: {
      const OrderId order = some_order();
      const Price price = price_from(in);
      return ReplaceOrder{participant, order, price, static_cast<Quantity>(in.next() % 64) - 4};
    }
    case 6: {
      std::optional<InstrumentId> only;
      if (in.next() % 2) only = instrument;
      return MassCancel{participant, only};
    }
    case 7:
      return AdjustCash{participant, (in.signed_byte() - 20) * Money{1'000'000}};
    case 8:
      return SetSellCapacity{participant, instrument, static_cast<Quantity>(in.next()) - 10};
    default: {
      const std::uint8_t roll = in.next();
      if (roll < 120) return AdjustCash{participant, 1};
      if (roll < 240)
        return NewBlockOrder{.client_order_id = in.next(),
                             .participant = participant,
                             .first_instrument = instrument,
                             .hours = in.next() % 4u,
                             .side = in.next() % 2 ? Side::buy : Side::sell,
                             .one_provider = in.next() % 2 == 0,
                             .time_in_force = in.next() % 2 == 0
                                                  ? BlockTimeInForce::immediate_or_cancel
                                                  : BlockTimeInForce::until_gate_closure,
                             .units = static_cast<Quantity>(in.next() % 10),
                             .limit = price_from(in)};
      // Rarely, an instrument moves on (or tries an invalid step).
      return ChangeInstrumentState{instrument, static_cast<InstrumentState>(in.next() % 5)};
    }
  }
}

}  // namespace

std::string run_engine_fuzz_case(const std::uint8_t* data, std::size_t size) {
  Recorder fast_events;
  Recorder reference_events;
  auto fast = make_engine({}, fast_events, BookKind::price_ladder);
  auto reference = make_engine({}, reference_events, BookKind::reference);
  ByteReader in(data, size);
  SequenceNumber sequence = 0;
  OrderId highest_order = 0;
  const auto step = [&](const CommandBody& body) -> std::string {
    const Command command{{++sequence, static_cast<Nanoseconds>(sequence)}, body};
    fast_events.events.clear();
    reference_events.events.clear();
    fast->apply(command);
    reference->apply(command);
    if (fast_events.events.empty()) return "command " + std::to_string(sequence) + ": no event";
    if (fast_events.events != reference_events.events)
      return "command " + std::to_string(sequence) + ": the books' events differ";
    for (const Event& e : fast_events.events)
      if (const auto* a = std::get_if<OrderAccepted>(&e)) highest_order = a->order;
    const auto problems = fast->check_invariants();
    if (!problems.empty()) return "command " + std::to_string(sequence) + ": " + problems.front();
    return {};
  };

  std::vector<CommandBody> setup;
  for (InstrumentId i : {1u, 2u}) {
    setup.push_back(ListInstrument{fuzz_spec(i)});
    setup.push_back(ChangeInstrumentState{i, InstrumentState::open});
  }
  for (ParticipantId p = 1; p <= 4; ++p) {
    setup.push_back(AddParticipant{p});
    setup.push_back(AdjustCash{p, Money{1 + in.next()} * 2'000'000});
    for (InstrumentId i : {1u, 2u})
      setup.push_back(SetSellCapacity{p, i, in.next()});
  }
  for (const CommandBody& body : setup)
    if (std::string problem = step(body); !problem.empty()) return problem;
  while (!in.done()) {
    if (std::string problem = step(next_command(in, highest_order)); !problem.empty())
      return problem;
  }
  if (fast->state_hash() != reference->state_hash()) return "final state hashes differ";
  return {};
}

}  // namespace gpux::test

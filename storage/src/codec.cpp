#include "gpux/storage/codec.h"

#include <type_traits>

namespace gpux::storage {
namespace {

namespace m = gpux::matching;

// The proto enums mirror the engine's, value for value.
template <class To, class From>
To convert_enum(From value, int last, const char* what) {
  const int v = static_cast<int>(value);
  if (v < 0 || v > last)
    throw DecodeError(std::string("invalid ") + what + " " + std::to_string(v));
  return static_cast<To>(v);
}

m::Side side(proto::Side v) {
  return convert_enum<m::Side>(v, 1, "side");
}
m::OrderType order_type(proto::OrderType v) {
  return convert_enum<m::OrderType>(v, 4, "order type");
}
m::SelfTradePrevention self_trade(proto::SelfTradePrevention v) {
  return convert_enum<m::SelfTradePrevention>(v, 3, "self-trade prevention");
}
m::InstrumentState state(proto::InstrumentState v) {
  return convert_enum<m::InstrumentState>(v, 4, "instrument state");
}
m::ChallengeOutcome outcome(int v) {
  return convert_enum<m::ChallengeOutcome>(v, 3, "challenge outcome");
}

proto::AccountRef* encode_account(const settlement::AccountRef& a, proto::AccountRef* p) {
  p->set_owner(a.owner);
  p->set_kind(static_cast<proto::AccountKind>(a.kind));
  return p;
}
settlement::AccountRef decode_account(const proto::AccountRef& p) {
  return {p.owner(), convert_enum<settlement::AccountKind>(p.kind(), 8, "account kind")};
}

void encode_spec(const m::InstrumentSpec& s, proto::InstrumentSpec& p) {
  p.set_id(s.id);
  p.set_symbol(s.symbol);
  p.set_gpu_class(s.gpu_class);
  p.set_region(s.region);
  p.set_delivery_start(s.delivery_start);
  p.set_delivery_end(s.delivery_end);
  p.set_gate_closure(s.gate_closure);
  p.set_gpus_per_unit(s.gpus_per_unit);
  p.set_tick_size(s.tick_size);
  p.set_lot_size(s.lot_size);
  p.set_min_quantity(s.min_quantity);
  p.set_max_quantity(s.max_quantity);
  p.set_reference_price(s.reference_price);
  p.set_band_width(s.band_width);
  p.set_maker_fee_ppm(s.maker_fee_ppm);
  p.set_taker_fee_ppm(s.taker_fee_ppm);
}

m::InstrumentSpec decode_spec(const proto::InstrumentSpec& p) {
  return m::InstrumentSpec{
      p.id(),           p.symbol(),       p.gpu_class(),       p.region(),     p.delivery_start(),
      p.delivery_end(), p.gate_closure(), p.gpus_per_unit(),   p.tick_size(),  p.lot_size(),
      p.min_quantity(), p.max_quantity(), p.reference_price(), p.band_width(), p.maker_fee_ppm(),
      p.taker_fee_ppm()};
}

void encode_order(const m::OrderView& o, proto::OrderView& p) {
  p.set_order(o.order);
  p.set_participant(o.participant);
  p.set_instrument(o.instrument);
  p.set_side(static_cast<proto::Side>(o.side));
  p.set_type(static_cast<proto::OrderType>(o.type));
  p.set_self_trade(static_cast<proto::SelfTradePrevention>(o.self_trade));
  p.set_price(o.price);
  p.set_remaining(o.remaining);
}

m::OrderView decode_order(const proto::OrderView& p) {
  return m::OrderView{p.order(),      p.participant(),      p.instrument(),
                      side(p.side()), order_type(p.type()), self_trade(p.self_trade()),
                      p.price(),      p.remaining()};
}

struct BodyEncoder {
  proto::Command& p;
  void operator()(const m::NewOrder& c) {
    auto& o = *p.mutable_new_order();
    o.set_client_order_id(c.client_order_id);
    o.set_participant(c.participant);
    o.set_instrument(c.instrument);
    o.set_side(static_cast<proto::Side>(c.side));
    o.set_type(static_cast<proto::OrderType>(c.type));
    o.set_self_trade(static_cast<proto::SelfTradePrevention>(c.self_trade));
    o.set_price(c.price);
    o.set_quantity(c.quantity);
  }
  void operator()(const m::CancelOrder& c) {
    auto& o = *p.mutable_cancel_order();
    o.set_participant(c.participant);
    o.set_order(c.order);
  }
  void operator()(const m::ReplaceOrder& c) {
    auto& o = *p.mutable_replace_order();
    o.set_participant(c.participant);
    o.set_order(c.order);
    o.set_price(c.price);
    o.set_quantity(c.quantity);
  }
  void operator()(const m::MassCancel& c) {
    auto& o = *p.mutable_mass_cancel();
    o.set_participant(c.participant);
    if (c.instrument) o.set_instrument(*c.instrument);
  }
  void operator()(const m::ListInstrument& c) {
    if (!c.spec) throw DecodeError("listing without a spec");
    encode_spec(*c.spec, *p.mutable_list_instrument()->mutable_spec());
  }
  void operator()(const m::ChangeInstrumentState& c) {
    auto& o = *p.mutable_change_instrument_state();
    o.set_instrument(c.instrument);
    o.set_state(static_cast<proto::InstrumentState>(c.state));
  }
  void operator()(const m::AddParticipant& c) {
    p.mutable_add_participant()->set_participant(c.participant);
  }
  void operator()(const m::AdjustCash& c) {
    auto& o = *p.mutable_adjust_cash();
    o.set_participant(c.participant);
    o.set_amount(c.amount);
  }
  void operator()(const m::SetSellCapacity& c) {
    auto& o = *p.mutable_set_sell_capacity();
    o.set_participant(c.participant);
    o.set_instrument(c.instrument);
    o.set_capacity(c.capacity);
  }
  void operator()(const m::PostCollateral& c) {
    auto& o = *p.mutable_post_collateral();
    o.set_participant(c.participant);
    o.set_amount(c.amount);
  }
  void operator()(const m::RecordChallengeOutcome& c) {
    auto& o = *p.mutable_record_challenge_outcome();
    o.set_trade(c.trade);
    o.set_index(c.index);
    o.set_outcome(static_cast<proto::ChallengeOutcome>(c.outcome));
    o.set_failure(c.failure);
  }
};

m::CommandBody decode_body(const proto::Command& p) {
  switch (p.body_case()) {
    case proto::Command::kNewOrder: {
      const auto& o = p.new_order();
      return m::NewOrder{o.client_order_id(), o.participant(),      o.instrument(),
                         side(o.side()),      order_type(o.type()), self_trade(o.self_trade()),
                         o.price(),           o.quantity()};
    }
    case proto::Command::kCancelOrder:
      return m::CancelOrder{p.cancel_order().participant(), p.cancel_order().order()};
    case proto::Command::kReplaceOrder: {
      const auto& o = p.replace_order();
      return m::ReplaceOrder{o.participant(), o.order(), o.price(), o.quantity()};
    }
    case proto::Command::kMassCancel: {
      const auto& o = p.mass_cancel();
      std::optional<m::InstrumentId> instrument;
      if (o.has_instrument()) instrument = o.instrument();
      return m::MassCancel{o.participant(), instrument};
    }
    case proto::Command::kListInstrument:
      return m::ListInstrument{decode_spec(p.list_instrument().spec())};
    case proto::Command::kChangeInstrumentState:
      return m::ChangeInstrumentState{p.change_instrument_state().instrument(),
                                      state(p.change_instrument_state().state())};
    case proto::Command::kAddParticipant:
      return m::AddParticipant{p.add_participant().participant()};
    case proto::Command::kAdjustCash:
      return m::AdjustCash{p.adjust_cash().participant(), p.adjust_cash().amount()};
    case proto::Command::kSetSellCapacity: {
      const auto& o = p.set_sell_capacity();
      return m::SetSellCapacity{o.participant(), o.instrument(), o.capacity()};
    }
    case proto::Command::kPostCollateral:
      return m::PostCollateral{p.post_collateral().participant(), p.post_collateral().amount()};
    case proto::Command::kRecordChallengeOutcome: {
      const auto& o = p.record_challenge_outcome();
      return m::RecordChallengeOutcome{o.trade(), o.index(), outcome(o.outcome()), o.failure()};
    }
    case proto::Command::BODY_NOT_SET:
      break;
  }
  throw DecodeError("command " + std::to_string(p.sequence()) + " has no body");
}

struct EventEncoder {
  proto::Event& p;
  template <class E>
  void stamp(const E& e) {
    p.set_sequence(e.stamp.sequence);
    p.set_time(e.stamp.time);
  }
  void operator()(const m::InstrumentListed& e) {
    stamp(e);
    p.mutable_instrument_listed()->set_instrument(e.instrument);
  }
  void operator()(const m::InstrumentStateChanged& e) {
    stamp(e);
    auto& o = *p.mutable_instrument_state_changed();
    o.set_instrument(e.instrument);
    o.set_state(static_cast<proto::InstrumentState>(e.state));
  }
  void operator()(const m::ParticipantAdded& e) {
    stamp(e);
    p.mutable_participant_added()->set_participant(e.participant);
  }
  void operator()(const m::CashAdjusted& e) {
    stamp(e);
    auto& o = *p.mutable_cash_adjusted();
    o.set_participant(e.participant);
    o.set_amount(e.amount);
    o.set_balance(e.balance);
  }
  void operator()(const m::SellCapacitySet& e) {
    stamp(e);
    auto& o = *p.mutable_sell_capacity_set();
    o.set_participant(e.participant);
    o.set_instrument(e.instrument);
    o.set_capacity(e.capacity);
  }
  void operator()(const m::CommandRejected& e) {
    stamp(e);
    auto& o = *p.mutable_command_rejected();
    o.set_reason(static_cast<proto::RejectReason>(e.reason));
    o.set_participant(e.participant);
    o.set_client_order_id(e.client_order_id);
    o.set_order(e.order);
  }
  void operator()(const m::OrderAccepted& e) {
    stamp(e);
    auto& o = *p.mutable_order_accepted();
    o.set_order(e.order);
    o.set_client_order_id(e.client_order_id);
    o.set_participant(e.participant);
    o.set_instrument(e.instrument);
    o.set_side(static_cast<proto::Side>(e.side));
    o.set_type(static_cast<proto::OrderType>(e.type));
    o.set_price(e.price);
    o.set_quantity(e.quantity);
  }
  void operator()(const m::Trade& e) {
    stamp(e);
    auto& o = *p.mutable_trade();
    o.set_trade(e.trade);
    o.set_instrument(e.instrument);
    o.set_price(e.price);
    o.set_quantity(e.quantity);
    o.set_aggressor(static_cast<proto::Side>(e.aggressor));
    o.set_maker_order(e.maker_order);
    o.set_maker(e.maker);
    o.set_maker_remaining(e.maker_remaining);
    o.set_taker_order(e.taker_order);
    o.set_taker(e.taker);
    o.set_taker_remaining(e.taker_remaining);
  }
  void operator()(const m::OrderCanceled& e) {
    stamp(e);
    auto& o = *p.mutable_order_canceled();
    o.set_order(e.order);
    o.set_participant(e.participant);
    o.set_instrument(e.instrument);
    o.set_canceled(e.canceled);
    o.set_remaining(e.remaining);
    o.set_reason(static_cast<proto::CancelReason>(e.reason));
  }
  void operator()(const m::OrderReplaced& e) {
    stamp(e);
    auto& o = *p.mutable_order_replaced();
    o.set_order(e.order);
    o.set_participant(e.participant);
    o.set_instrument(e.instrument);
    o.set_price(e.price);
    o.set_quantity(e.quantity);
    o.set_kept_priority(e.kept_priority);
  }
  void operator()(const m::OrderExpired& e) {
    stamp(e);
    auto& o = *p.mutable_order_expired();
    o.set_order(e.order);
    o.set_participant(e.participant);
    o.set_instrument(e.instrument);
    o.set_expired(e.expired);
    o.set_reason(static_cast<proto::ExpireReason>(e.reason));
  }
  void operator()(const m::MassCancelDone& e) {
    stamp(e);
    auto& o = *p.mutable_mass_cancel_done();
    o.set_participant(e.participant);
    if (e.instrument) o.set_instrument(*e.instrument);
    o.set_canceled_orders(e.canceled_orders);
  }
  void operator()(const m::LedgerPosting& e) {
    stamp(e);
    auto& o = *p.mutable_ledger_posting();
    encode_account(e.posting.from, o.mutable_from());
    encode_account(e.posting.to, o.mutable_to());
    o.set_amount(e.posting.amount);
    o.set_reason(static_cast<proto::PostingReason>(e.posting.reason));
  }
  void operator()(const m::CollateralChanged& e) {
    stamp(e);
    auto& o = *p.mutable_collateral_changed();
    o.set_participant(e.participant);
    o.set_amount(e.amount);
    o.set_balance(e.balance);
  }
  void operator()(const m::ObligationCreated& e) {
    stamp(e);
    auto& o = *p.mutable_obligation_created();
    o.set_trade(e.trade);
    o.set_instrument(e.instrument);
    o.set_buyer(e.buyer);
    o.set_provider(e.provider);
    o.set_price(e.price);
    o.set_quantity(e.quantity);
  }
  void operator()(const m::ChallengeScheduled& e) {
    stamp(e);
    auto& o = *p.mutable_challenge_scheduled();
    o.set_trade(e.trade);
    o.set_index(e.index);
    o.set_instrument(e.instrument);
    o.set_provider(e.provider);
    o.set_at(e.at);
  }
  void operator()(const m::ChallengeRecorded& e) {
    stamp(e);
    auto& o = *p.mutable_challenge_recorded();
    o.set_trade(e.trade);
    o.set_index(e.index);
    o.set_outcome(static_cast<proto::ChallengeOutcome>(e.outcome));
    o.set_failure(e.failure);
  }
  void operator()(const m::ObligationSettled& e) {
    stamp(e);
    auto& o = *p.mutable_obligation_settled();
    o.set_trade(e.trade);
    o.set_instrument(e.instrument);
    o.set_buyer(e.buyer);
    o.set_provider(e.provider);
    o.set_price(e.price);
    o.set_quantity(e.quantity);
    o.set_challenges(e.challenges);
    o.set_passed(e.passed);
    const settlement::SettlementFigures& f = e.figures;
    o.set_verified(f.verified);
    o.set_unverified(f.unverified);
    o.set_paid_to_provider(f.paid_to_provider);
    o.set_buyer_fee(f.buyer_fee);
    o.set_provider_fee(f.provider_fee);
    o.set_refund(f.refund);
    o.set_penalty(f.penalty);
    o.set_penalty_shortfall(f.penalty_shortfall);
  }
};

m::Event decode_event_body(const proto::Event& p) {
  const m::Stamp s{p.sequence(), p.time()};
  switch (p.body_case()) {
    case proto::Event::kInstrumentListed:
      return m::InstrumentListed{s, p.instrument_listed().instrument()};
    case proto::Event::kInstrumentStateChanged:
      return m::InstrumentStateChanged{s, p.instrument_state_changed().instrument(),
                                       state(p.instrument_state_changed().state())};
    case proto::Event::kParticipantAdded:
      return m::ParticipantAdded{s, p.participant_added().participant()};
    case proto::Event::kCashAdjusted: {
      const auto& o = p.cash_adjusted();
      return m::CashAdjusted{s, o.participant(), o.amount(), o.balance()};
    }
    case proto::Event::kSellCapacitySet: {
      const auto& o = p.sell_capacity_set();
      return m::SellCapacitySet{s, o.participant(), o.instrument(), o.capacity()};
    }
    case proto::Event::kCommandRejected: {
      const auto& o = p.command_rejected();
      return m::CommandRejected{s, convert_enum<m::RejectReason>(o.reason(), 23, "reject reason"),
                                o.participant(), o.client_order_id(), o.order()};
    }
    case proto::Event::kOrderAccepted: {
      const auto& o = p.order_accepted();
      return m::OrderAccepted{s,
                              o.order(),
                              o.client_order_id(),
                              o.participant(),
                              o.instrument(),
                              side(o.side()),
                              order_type(o.type()),
                              o.price(),
                              o.quantity()};
    }
    case proto::Event::kTrade: {
      const auto& o = p.trade();
      return m::Trade{s,
                      o.trade(),
                      o.instrument(),
                      o.price(),
                      o.quantity(),
                      side(o.aggressor()),
                      o.maker_order(),
                      o.maker(),
                      o.maker_remaining(),
                      o.taker_order(),
                      o.taker(),
                      o.taker_remaining()};
    }
    case proto::Event::kOrderCanceled: {
      const auto& o = p.order_canceled();
      return m::OrderCanceled{s,
                              o.order(),
                              o.participant(),
                              o.instrument(),
                              o.canceled(),
                              o.remaining(),
                              convert_enum<m::CancelReason>(o.reason(), 2, "cancel reason")};
    }
    case proto::Event::kOrderReplaced: {
      const auto& o = p.order_replaced();
      return m::OrderReplaced{s,         o.order(),    o.participant(),  o.instrument(),
                              o.price(), o.quantity(), o.kept_priority()};
    }
    case proto::Event::kOrderExpired: {
      const auto& o = p.order_expired();
      return m::OrderExpired{s,
                             o.order(),
                             o.participant(),
                             o.instrument(),
                             o.expired(),
                             convert_enum<m::ExpireReason>(o.reason(), 2, "expire reason")};
    }
    case proto::Event::kMassCancelDone: {
      const auto& o = p.mass_cancel_done();
      std::optional<m::InstrumentId> instrument;
      if (o.has_instrument()) instrument = o.instrument();
      return m::MassCancelDone{s, o.participant(), instrument, o.canceled_orders()};
    }
    case proto::Event::kLedgerPosting: {
      const auto& o = p.ledger_posting();
      return m::LedgerPosting{
          s,
          {decode_account(o.from()), decode_account(o.to()), o.amount(),
           convert_enum<settlement::PostingReason>(o.reason(), 10, "posting reason")}};
    }
    case proto::Event::kCollateralChanged: {
      const auto& o = p.collateral_changed();
      return m::CollateralChanged{s, o.participant(), o.amount(), o.balance()};
    }
    case proto::Event::kObligationCreated: {
      const auto& o = p.obligation_created();
      return m::ObligationCreated{s,         o.trade(),   o.instrument(), o.buyer(), o.provider(),
                                  o.price(), o.quantity()};
    }
    case proto::Event::kChallengeScheduled: {
      const auto& o = p.challenge_scheduled();
      return m::ChallengeScheduled{s, o.trade(), o.index(), o.instrument(), o.provider(), o.at()};
    }
    case proto::Event::kChallengeRecorded: {
      const auto& o = p.challenge_recorded();
      return m::ChallengeRecorded{s, o.trade(), o.index(), outcome(o.outcome()), o.failure()};
    }
    case proto::Event::kObligationSettled: {
      const auto& o = p.obligation_settled();
      return m::ObligationSettled{
          s,
          o.trade(),
          o.instrument(),
          o.buyer(),
          o.provider(),
          o.price(),
          o.quantity(),
          o.challenges(),
          o.passed(),
          {o.verified(), o.unverified(), o.paid_to_provider(), o.buyer_fee(), o.provider_fee(),
           o.refund(), o.penalty(), o.penalty_shortfall()}};
    }
    case proto::Event::BODY_NOT_SET:
      break;
  }
  throw DecodeError("event " + std::to_string(p.sequence()) + " has no body");
}

}  // namespace

proto::Event encode(const m::Event& event) {
  proto::Event p;
  std::visit(EventEncoder{p}, event);
  return p;
}

m::Event decode(const proto::Event& event) {
  return decode_event_body(event);
}

proto::Command encode(const m::Command& command) {
  proto::Command p;
  p.set_sequence(command.stamp.sequence);
  p.set_time(command.stamp.time);
  std::visit(BodyEncoder{p}, command.body);
  return p;
}

m::Command decode(const proto::Command& p) {
  return m::Command{{p.sequence(), p.time()}, decode_body(p)};
}

proto::Snapshot encode(const m::EngineSnapshot& s) {
  proto::Snapshot p;
  p.set_next_order_id(s.next_order_id);
  p.set_next_trade_id(s.next_trade_id);
  for (const m::InstrumentSnapshot& i : s.instruments) {
    auto& out = *p.add_instruments();
    encode_spec(i.spec, *out.mutable_spec());
    out.set_state(static_cast<proto::InstrumentState>(i.state));
    for (const m::OrderView& o : i.bids)
      encode_order(o, *out.add_bids());
    for (const m::OrderView& o : i.asks)
      encode_order(o, *out.add_asks());
    for (const m::ObligationView& o : i.obligations) {
      auto& ob = *out.add_obligations();
      ob.set_trade(o.trade);
      ob.set_buyer(o.buyer);
      ob.set_provider(o.provider);
      ob.set_price(o.price);
      ob.set_quantity(o.quantity);
      ob.set_escrow(o.escrow);
      ob.set_buyer_is_taker(o.buyer_is_taker);
      for (m::ChallengeOutcome outcome : o.outcomes)
        ob.add_outcomes(static_cast<proto::ChallengeOutcome>(outcome));
    }
  }
  for (const m::AccountSnapshot& a : s.accounts) {
    auto& out = *p.add_accounts();
    out.set_participant(a.participant);
    out.set_cash(a.view.cash);
    out.set_reserved(a.view.reserved);
    out.set_committed(a.view.committed);
    out.set_collateral(a.view.collateral);
    out.set_receivable(a.view.receivable);
    for (m::OrderId id : a.resting)
      out.add_resting(id);
  }
  for (const m::CapacitySnapshot& c : s.capacities) {
    auto& out = *p.add_capacities();
    out.set_participant(c.participant);
    out.set_instrument(c.instrument);
    out.set_capacity(c.view.capacity);
    out.set_offered(c.view.offered);
    out.set_sold(c.view.sold);
  }
  p.set_external(s.exchange.external);
  p.set_fees(s.exchange.fees);
  p.set_penalties(s.exchange.penalties);
  p.set_clearing(s.exchange.clearing);
  return p;
}

m::EngineSnapshot decode(const proto::Snapshot& p) {
  m::EngineSnapshot s{p.next_order_id(),
                      p.next_trade_id(),
                      {},
                      {},
                      {},
                      {p.external(), p.fees(), p.penalties(), p.clearing()}};
  for (const auto& i : p.instruments()) {
    m::InstrumentSnapshot& out = s.instruments.emplace_back();
    out.spec = decode_spec(i.spec());
    out.state = state(i.state());
    for (const auto& o : i.bids())
      out.bids.push_back(decode_order(o));
    for (const auto& o : i.asks())
      out.asks.push_back(decode_order(o));
    for (const auto& o : i.obligations()) {
      m::ObligationView& ob = out.obligations.emplace_back(m::ObligationView{o.trade(),
                                                                             o.buyer(),
                                                                             o.provider(),
                                                                             o.price(),
                                                                             o.quantity(),
                                                                             o.escrow(),
                                                                             o.buyer_is_taker(),
                                                                             {}});
      for (int v : o.outcomes())
        ob.outcomes.push_back(outcome(v));
    }
  }
  for (const auto& a : p.accounts())
    s.accounts.push_back({a.participant(),
                          {a.cash(), a.reserved(), a.committed(), a.collateral(), a.receivable()},
                          {a.resting().begin(), a.resting().end()}});
  for (const auto& c : p.capacities())
    s.capacities.push_back(
        {c.participant(), c.instrument(), {c.capacity(), c.offered(), c.sold()}});
  return s;
}

}  // namespace gpux::storage

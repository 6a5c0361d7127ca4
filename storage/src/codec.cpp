#include "gpux/storage/codec.h"

#include <type_traits>

namespace gpux::storage {
namespace {

namespace m = gpux::matching;

// ---- enums ------------------------------------------------------------------
// The proto enums mirror the engine's value for value, so that converting is a
// cast. Mirror<E>::value() names each engine enumerator's proto counterpart,
// one case each and no default; the static_asserts below then make an
// enumerator added on one side only a compile error:
// - engine only: its case is missing (-Wswitch, an error in this file), or
//   names a proto enumerator that does not exist;
// - proto only: a value up to the proto enum's _MAX that no engine enumerator
//   mirrors;
// - numbered differently: a case whose proto value is not the engine's.
#pragma GCC diagnostic error "-Wswitch"

template <class E>
struct Mirror;  // kMax: the proto enum's _MAX; value(e): e's proto counterpart, as int

template <>
struct Mirror<m::Side> {
  static constexpr int kMax = proto::Side_MAX;
  static constexpr int value(m::Side v) {
    switch (v) {
      case m::Side::buy:
        return proto::BUY;
      case m::Side::sell:
        return proto::SELL;
    }
    return -1;
  }
};

template <>
struct Mirror<m::OrderType> {
  static constexpr int kMax = proto::OrderType_MAX;
  static constexpr int value(m::OrderType v) {
    switch (v) {
      case m::OrderType::limit:
        return proto::LIMIT;
      case m::OrderType::immediate_or_cancel:
        return proto::IMMEDIATE_OR_CANCEL;
      case m::OrderType::fill_or_kill:
        return proto::FILL_OR_KILL;
      case m::OrderType::post_only:
        return proto::POST_ONLY;
      case m::OrderType::market:
        return proto::MARKET;
    }
    return -1;
  }
};

template <>
struct Mirror<m::SelfTradePrevention> {
  static constexpr int kMax = proto::SelfTradePrevention_MAX;
  static constexpr int value(m::SelfTradePrevention v) {
    switch (v) {
      case m::SelfTradePrevention::cancel_resting:
        return proto::CANCEL_RESTING;
      case m::SelfTradePrevention::cancel_incoming:
        return proto::CANCEL_INCOMING;
      case m::SelfTradePrevention::cancel_both:
        return proto::CANCEL_BOTH;
      case m::SelfTradePrevention::decrement_and_cancel:
        return proto::DECREMENT_AND_CANCEL;
    }
    return -1;
  }
};

template <>
struct Mirror<m::InstrumentState> {
  static constexpr int kMax = proto::InstrumentState_MAX;
  static constexpr int value(m::InstrumentState v) {
    switch (v) {
      case m::InstrumentState::listed:
        return proto::LISTED;
      case m::InstrumentState::open:
        return proto::OPEN;
      case m::InstrumentState::gate_closed:
        return proto::GATE_CLOSED;
      case m::InstrumentState::delivering:
        return proto::DELIVERING;
      case m::InstrumentState::settled:
        return proto::SETTLED;
    }
    return -1;
  }
};

template <>
struct Mirror<m::ChallengeOutcome> {
  static constexpr int kMax = proto::ChallengeOutcome_MAX;
  static constexpr int value(m::ChallengeOutcome v) {
    switch (v) {
      case m::ChallengeOutcome::pending:
        return proto::PENDING;
      case m::ChallengeOutcome::passed:
        return proto::PASSED;
      case m::ChallengeOutcome::failed:
        return proto::FAILED;
      case m::ChallengeOutcome::timed_out:
        return proto::TIMED_OUT;
    }
    return -1;
  }
};

template <>
struct Mirror<m::RejectReason> {
  static constexpr int kMax = proto::RejectReason_MAX;
  static constexpr int value(m::RejectReason v) {
    switch (v) {
      case m::RejectReason::unknown_instrument:
        return proto::UNKNOWN_INSTRUMENT;
      case m::RejectReason::instrument_exists:
        return proto::INSTRUMENT_EXISTS;
      case m::RejectReason::invalid_instrument_spec:
        return proto::INVALID_INSTRUMENT_SPEC;
      case m::RejectReason::instrument_not_open:
        return proto::INSTRUMENT_NOT_OPEN;
      case m::RejectReason::invalid_state_transition:
        return proto::INVALID_STATE_TRANSITION;
      case m::RejectReason::unknown_participant:
        return proto::UNKNOWN_PARTICIPANT;
      case m::RejectReason::participant_exists:
        return proto::PARTICIPANT_EXISTS;
      case m::RejectReason::invalid_quantity:
        return proto::INVALID_QUANTITY;
      case m::RejectReason::quantity_below_minimum:
        return proto::QUANTITY_BELOW_MINIMUM;
      case m::RejectReason::quantity_above_maximum:
        return proto::QUANTITY_ABOVE_MAXIMUM;
      case m::RejectReason::lot_size_violation:
        return proto::LOT_SIZE_VIOLATION;
      case m::RejectReason::tick_size_violation:
        return proto::TICK_SIZE_VIOLATION;
      case m::RejectReason::price_outside_band:
        return proto::PRICE_OUTSIDE_BAND;
      case m::RejectReason::post_only_would_take:
        return proto::POST_ONLY_WOULD_TAKE;
      case m::RejectReason::insufficient_cash:
        return proto::INSUFFICIENT_CASH;
      case m::RejectReason::insufficient_capacity:
        return proto::INSUFFICIENT_CAPACITY;
      case m::RejectReason::unknown_order:
        return proto::UNKNOWN_ORDER;
      case m::RejectReason::not_order_owner:
        return proto::NOT_ORDER_OWNER;
      case m::RejectReason::invalid_amount:
        return proto::INVALID_AMOUNT;
      case m::RejectReason::insufficient_collateral:
        return proto::INSUFFICIENT_COLLATERAL;
      case m::RejectReason::collateral_locked:
        return proto::COLLATERAL_LOCKED;
      case m::RejectReason::unknown_obligation:
        return proto::UNKNOWN_OBLIGATION;
      case m::RejectReason::invalid_challenge:
        return proto::INVALID_CHALLENGE;
      case m::RejectReason::challenge_already_recorded:
        return proto::CHALLENGE_ALREADY_RECORDED;
      case m::RejectReason::invalid_symbol:
        return proto::INVALID_SYMBOL;
      case m::RejectReason::invalid_delivery_window:
        return proto::INVALID_DELIVERY_WINDOW;
      case m::RejectReason::invalid_gate_closure:
        return proto::INVALID_GATE_CLOSURE;
      case m::RejectReason::invalid_gpus_per_unit:
        return proto::INVALID_GPUS_PER_UNIT;
      case m::RejectReason::invalid_tick_size:
        return proto::INVALID_TICK_SIZE;
      case m::RejectReason::invalid_lot_size:
        return proto::INVALID_LOT_SIZE;
      case m::RejectReason::invalid_min_quantity:
        return proto::INVALID_MIN_QUANTITY;
      case m::RejectReason::invalid_max_quantity:
        return proto::INVALID_MAX_QUANTITY;
      case m::RejectReason::invalid_reference_price:
        return proto::INVALID_REFERENCE_PRICE;
      case m::RejectReason::invalid_price_band:
        return proto::INVALID_PRICE_BAND;
      case m::RejectReason::too_many_price_levels:
        return proto::TOO_MANY_PRICE_LEVELS;
      case m::RejectReason::order_notional_too_large:
        return proto::ORDER_NOTIONAL_TOO_LARGE;
      case m::RejectReason::invalid_maker_fee:
        return proto::INVALID_MAKER_FEE;
      case m::RejectReason::invalid_taker_fee:
        return proto::INVALID_TAKER_FEE;
      case m::RejectReason::invalid_block_hours:
        return proto::INVALID_BLOCK_HOURS;
      case m::RejectReason::block_hour_not_open:
        return proto::BLOCK_HOUR_NOT_OPEN;
      case m::RejectReason::invalid_block_limit:
        return proto::INVALID_BLOCK_LIMIT;
      case m::RejectReason::block_not_fillable:
        return proto::BLOCK_NOT_FILLABLE;
      case m::RejectReason::invalid_market_terms:
        return proto::INVALID_MARKET_TERMS;
      case m::RejectReason::market_terms_locked:
        return proto::MARKET_TERMS_LOCKED;
      case m::RejectReason::instrument_halted:
        return proto::INSTRUMENT_HALTED;
      case m::RejectReason::invalid_seat:
        return proto::INVALID_SEAT;
      case m::RejectReason::seat_taken:
        return proto::SEAT_TAKEN;
      case m::RejectReason::invalid_provider:
        return proto::INVALID_PROVIDER;
      case m::RejectReason::provider_name_taken:
        return proto::PROVIDER_NAME_TAKEN;
      case m::RejectReason::unknown_provider:
        return proto::UNKNOWN_PROVIDER;
      case m::RejectReason::invalid_product_terms:
        return proto::INVALID_PRODUCT_TERMS;
      case m::RejectReason::spec_differs_from_product_terms:
        return proto::SPEC_DIFFERS_FROM_PRODUCT_TERMS;
      case m::RejectReason::block_not_replaceable:
        return proto::BLOCK_NOT_REPLACEABLE;
      case m::RejectReason::invalid_delivery_key:
        return proto::INVALID_DELIVERY_KEY;
      case m::RejectReason::delivery_key_exists:
        return proto::DELIVERY_KEY_EXISTS;
      case m::RejectReason::too_many_delivery_keys:
        return proto::TOO_MANY_DELIVERY_KEYS;
      case m::RejectReason::unknown_delivery_key:
        return proto::UNKNOWN_DELIVERY_KEY;
      case m::RejectReason::invalid_delivery_record:
        return proto::INVALID_DELIVERY_RECORD;
      case m::RejectReason::delivery_not_open:
        return proto::DELIVERY_NOT_OPEN;
    }
    return -1;
  }
};

template <>
struct Mirror<m::DeliveryStage> {
  static constexpr int kMax = proto::DeliveryStage_MAX;
  static constexpr int value(m::DeliveryStage v) {
    switch (v) {
      case m::DeliveryStage::none:
        return proto::DELIVERY_NONE;
      case m::DeliveryStage::opened:
        return proto::DELIVERY_OPENED;
      case m::DeliveryStage::failed:
        return proto::DELIVERY_FAILED;
      case m::DeliveryStage::revoked:
        return proto::DELIVERY_REVOKED;
    }
    return -1;
  }
};

template <>
struct Mirror<m::BlockTimeInForce> {
  static constexpr int kMax = proto::BlockTimeInForce_MAX;
  static constexpr int value(m::BlockTimeInForce v) {
    switch (v) {
      case m::BlockTimeInForce::immediate_or_cancel:
        return proto::BLOCK_IMMEDIATE_OR_CANCEL;
      case m::BlockTimeInForce::until_gate_closure:
        return proto::BLOCK_UNTIL_GATE_CLOSURE;
    }
    return -1;
  }
};

template <>
struct Mirror<m::CancelReason> {
  static constexpr int kMax = proto::CancelReason_MAX;
  static constexpr int value(m::CancelReason v) {
    switch (v) {
      case m::CancelReason::requested:
        return proto::REQUESTED;
      case m::CancelReason::mass_cancel:
        return proto::MASS_CANCEL;
      case m::CancelReason::self_trade:
        return proto::SELF_TRADE;
    }
    return -1;
  }
};

template <>
struct Mirror<m::ExpireReason> {
  static constexpr int kMax = proto::ExpireReason_MAX;
  static constexpr int value(m::ExpireReason v) {
    switch (v) {
      case m::ExpireReason::unfilled_remainder:
        return proto::UNFILLED_REMAINDER;
      case m::ExpireReason::fill_or_kill:
        return proto::FILL_OR_KILL_UNFILLED;
      case m::ExpireReason::gate_closure:
        return proto::GATE_CLOSURE;
    }
    return -1;
  }
};

template <>
struct Mirror<settlement::AccountKind> {
  static constexpr int kMax = proto::AccountKind_MAX;
  static constexpr int value(settlement::AccountKind v) {
    switch (v) {
      case settlement::AccountKind::available:
        return proto::AVAILABLE;
      case settlement::AccountKind::reserved:
        return proto::RESERVED;
      case settlement::AccountKind::escrow:
        return proto::ESCROW;
      case settlement::AccountKind::collateral:
        return proto::COLLATERAL;
      case settlement::AccountKind::receivable:
        return proto::RECEIVABLE;
      case settlement::AccountKind::external:
        return proto::EXTERNAL;
      case settlement::AccountKind::fees:
        return proto::FEES;
      case settlement::AccountKind::penalties:
        return proto::PENALTIES;
      case settlement::AccountKind::clearing:
        return proto::CLEARING;
    }
    return -1;
  }
};

template <>
struct Mirror<settlement::PostingReason> {
  static constexpr int kMax = proto::PostingReason_MAX;
  static constexpr int value(settlement::PostingReason v) {
    switch (v) {
      case settlement::PostingReason::deposit:
        return proto::DEPOSIT;
      case settlement::PostingReason::withdrawal:
        return proto::WITHDRAWAL;
      case settlement::PostingReason::reserve:
        return proto::RESERVE;
      case settlement::PostingReason::release:
        return proto::RELEASE;
      case settlement::PostingReason::trade:
        return proto::TRADE_ESCROW;
      case settlement::PostingReason::collateral:
        return proto::COLLATERAL_MOVED;
      case settlement::PostingReason::payout:
        return proto::PAYOUT;
      case settlement::PostingReason::fee:
        return proto::FEE;
      case settlement::PostingReason::refund:
        return proto::REFUND;
      case settlement::PostingReason::receivable_due:
        return proto::RECEIVABLE_DUE;
      case settlement::PostingReason::penalty:
        return proto::PENALTY;
    }
    return -1;
  }
};

// Every value from 0 to the proto enum's _MAX is an engine enumerator whose
// counterpart has the same value, and the engine has none past it.
template <class E>
constexpr bool mirrors() {
  for (int v = 0; v <= Mirror<E>::kMax; ++v)
    if (Mirror<E>::value(static_cast<E>(v)) != v) return false;
  return Mirror<E>::value(static_cast<E>(Mirror<E>::kMax + 1)) == -1;
}
static_assert(mirrors<m::Side>(), "m::Side and proto::Side differ");
static_assert(mirrors<m::OrderType>(), "m::OrderType and proto::OrderType differ");
static_assert(mirrors<m::SelfTradePrevention>(),
              "m::SelfTradePrevention and proto::SelfTradePrevention differ");
static_assert(mirrors<m::InstrumentState>(),
              "m::InstrumentState and proto::InstrumentState differ");
static_assert(mirrors<m::ChallengeOutcome>(),
              "m::ChallengeOutcome and proto::ChallengeOutcome differ");
static_assert(mirrors<m::RejectReason>(), "m::RejectReason and proto::RejectReason differ");
static_assert(mirrors<m::CancelReason>(), "m::CancelReason and proto::CancelReason differ");
static_assert(mirrors<m::BlockTimeInForce>(),
              "m::BlockTimeInForce and proto::BlockTimeInForce differ");
static_assert(mirrors<m::ExpireReason>(), "m::ExpireReason and proto::ExpireReason differ");
static_assert(mirrors<m::DeliveryStage>(), "m::DeliveryStage and proto::DeliveryStage differ");
static_assert(mirrors<settlement::AccountKind>(),
              "settlement::AccountKind and proto::AccountKind differ");
static_assert(mirrors<settlement::PostingReason>(),
              "settlement::PostingReason and proto::PostingReason differ");

// An engine enum from its proto value; out of range (a newer writer, a damaged
// record) is a DecodeError.
template <class To, class From>
To convert_enum(From value, const char* what) {
  const int v = static_cast<int>(value);
  if (v < 0 || v > Mirror<To>::kMax)
    throw DecodeError(std::string("invalid ") + what + " " + std::to_string(v));
  return static_cast<To>(v);
}

m::Side side(proto::Side v) {
  return convert_enum<m::Side>(v, "side");
}
m::BlockTimeInForce block_time_in_force(proto::BlockTimeInForce v) {
  return convert_enum<m::BlockTimeInForce>(v, "block time in force");
}
m::OrderType order_type(proto::OrderType v) {
  return convert_enum<m::OrderType>(v, "order type");
}
m::SelfTradePrevention self_trade(proto::SelfTradePrevention v) {
  return convert_enum<m::SelfTradePrevention>(v, "self-trade prevention");
}
m::InstrumentState state(proto::InstrumentState v) {
  return convert_enum<m::InstrumentState>(v, "instrument state");
}
m::ChallengeOutcome outcome(int v) {
  return convert_enum<m::ChallengeOutcome>(v, "challenge outcome");
}

proto::AccountRef* encode_account(const settlement::AccountRef& a, proto::AccountRef* p) {
  p->set_owner(a.owner);
  p->set_kind(static_cast<proto::AccountKind>(a.kind));
  return p;
}
settlement::AccountRef decode_account(const proto::AccountRef& p) {
  return {.owner = p.owner(),
          .kind = convert_enum<settlement::AccountKind>(p.kind(), "account kind")};
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
  return m::InstrumentSpec{.id = p.id(),
                           .symbol = p.symbol(),
                           .gpu_class = p.gpu_class(),
                           .region = p.region(),
                           .delivery_start = p.delivery_start(),
                           .delivery_end = p.delivery_end(),
                           .gate_closure = p.gate_closure(),
                           .gpus_per_unit = p.gpus_per_unit(),
                           .tick_size = p.tick_size(),
                           .lot_size = p.lot_size(),
                           .min_quantity = p.min_quantity(),
                           .max_quantity = p.max_quantity(),
                           .reference_price = p.reference_price(),
                           .band_width = p.band_width(),
                           .maker_fee_ppm = p.maker_fee_ppm(),
                           .taker_fee_ppm = p.taker_fee_ppm()};
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
  return m::OrderView{.order = p.order(),
                      .participant = p.participant(),
                      .instrument = p.instrument(),
                      .side = side(p.side()),
                      .type = order_type(p.type()),
                      .self_trade = self_trade(p.self_trade()),
                      .price = p.price(),
                      .remaining = p.remaining()};
}

void encode_terms(const m::SetMarketTerms& terms, proto::SetMarketTerms& p) {
  p.set_buyer_fee_ppm(terms.buyer_fee_ppm);
  p.set_challenges_per_obligation(terms.delivery.challenges_per_obligation);
  p.set_penalty_ppm(terms.delivery.penalty_ppm);
  p.set_challenge_seed(terms.delivery.challenge_seed);
}

void encode_key(m::ParticipantId participant, const std::shared_ptr<const std::string>& key,
                proto::DeliveryKey& p) {
  if (!key) throw DecodeError("a delivery key command or event without its key");
  p.set_participant(participant);
  p.set_key(*key);
}

std::shared_ptr<const std::string> decode_key(const proto::DeliveryKey& p) {
  return std::make_shared<const std::string>(p.key());
}

void encode_access(const m::DeliveryAccess& a, proto::DeliveryAccess& p) {
  p.set_stage(static_cast<proto::DeliveryStage>(a.stage));
  p.set_host(a.host);
  p.set_port(a.port);
  p.set_user(a.user);
  p.set_host_key_fingerprint(a.host_key_fingerprint);
  p.set_detail(a.detail);
  p.set_processes_ended(a.processes_ended);
}

m::DeliveryAccess decode_access(const proto::DeliveryAccess& p) {
  if (p.port() > 0xffff) throw DecodeError("a delivery port above 65535");
  return {.stage = convert_enum<m::DeliveryStage>(p.stage(), "delivery stage"),
          .host = p.host(),
          .port = static_cast<std::uint16_t>(p.port()),
          .user = p.user(),
          .host_key_fingerprint = p.host_key_fingerprint(),
          .detail = p.detail(),
          .processes_ended = p.processes_ended()};
}

void encode_record(m::TradeId trade, const std::shared_ptr<const m::DeliveryAccess>& access,
                   proto::DeliveryRecord& p) {
  if (!access) throw DecodeError("a delivery record without its access");
  p.set_trade(trade);
  encode_access(*access, *p.mutable_access());
}

void encode_seat(const m::Seat& seat, proto::Seat& p) {
  p.set_sender_comp_id(seat.sender_comp_id);
  p.set_participant(seat.participant);
  p.set_password_hash(seat.password_hash);
  p.set_no_password(seat.no_password);
  p.set_cancel_on_disconnect(seat.cancel_on_disconnect);
  p.set_enabled(seat.enabled);
}

m::Seat decode_seat(const proto::Seat& p) {
  return {.sender_comp_id = p.sender_comp_id(),
          .participant = p.participant(),
          .password_hash = p.password_hash(),
          .no_password = p.no_password(),
          .cancel_on_disconnect = p.cancel_on_disconnect(),
          .enabled = p.enabled()};
}

void encode_provider(const m::ProviderRecord& r, proto::ProviderRecord& p) {
  p.set_participant(r.participant);
  p.set_name(r.name);
  p.set_region(r.region);
  p.set_token_hash(r.token_hash);
  p.set_fix_sender_comp_id(r.fix_sender_comp_id);
  for (const m::ProvenGpus& g : r.gpus) {
    auto& out = *p.add_gpus();
    out.set_gpu_class(g.gpu_class);
    out.set_region(g.region);
    out.set_count(g.count);
  }
}

m::ProviderRecord decode_provider(const proto::ProviderRecord& p) {
  m::ProviderRecord r{.participant = p.participant(),
                      .name = p.name(),
                      .region = p.region(),
                      .token_hash = p.token_hash(),
                      .fix_sender_comp_id = p.fix_sender_comp_id(),
                      .gpus = {}};
  for (const auto& g : p.gpus())
    r.gpus.push_back({.gpu_class = g.gpu_class(), .region = g.region(), .count = g.count()});
  return r;
}

void encode_product_terms(const m::ProductTerms& t, proto::ProductTerms& p) {
  p.set_gpu_class(t.gpu_class);
  p.set_region(t.region);
  p.set_maker_fee_ppm(t.maker_fee_ppm);
  p.set_taker_fee_ppm(t.taker_fee_ppm);
  p.set_reference_price(t.reference_price);
  p.set_band_width(t.band_width);
  p.set_verification_profile(t.verification_profile);
  p.set_effective_from(t.effective_from);
}

m::ProductTerms decode_product_terms(const proto::ProductTerms& p) {
  return {.gpu_class = p.gpu_class(),
          .region = p.region(),
          .maker_fee_ppm = p.maker_fee_ppm(),
          .taker_fee_ppm = p.taker_fee_ppm(),
          .reference_price = p.reference_price(),
          .band_width = p.band_width(),
          .verification_profile = p.verification_profile(),
          .effective_from = p.effective_from()};
}

m::SetMarketTerms decode_terms(const proto::SetMarketTerms& p) {
  return {.buyer_fee_ppm = p.buyer_fee_ppm(),
          .delivery = {.challenges_per_obligation = p.challenges_per_obligation(),
                       .penalty_ppm = p.penalty_ppm(),
                       .challenge_seed = p.challenge_seed()}};
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
  void operator()(const m::NewBlockOrder& c) {
    auto& o = *p.mutable_new_block_order();
    o.set_client_order_id(c.client_order_id);
    o.set_participant(c.participant);
    o.set_first_instrument(c.first_instrument);
    o.set_hours(c.hours);
    o.set_side(static_cast<proto::Side>(c.side));
    o.set_one_provider(c.one_provider);
    o.set_units(c.units);
    o.set_limit(c.limit);
    o.set_time_in_force(static_cast<proto::BlockTimeInForce>(c.time_in_force));
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
  void operator()(const m::SetMarketTerms& c) { encode_terms(c, *p.mutable_set_market_terms()); }
  void operator()(const m::SetSeat& c) {
    if (!c.seat) throw DecodeError("SetSeat without a seat");
    encode_seat(*c.seat, *p.mutable_set_seat());
  }
  void operator()(const m::SetProductTerms& c) {
    if (!c.terms) throw DecodeError("SetProductTerms without terms");
    encode_product_terms(*c.terms, *p.mutable_set_product_terms());
  }
  void operator()(const m::AddDeliveryKey& c) {
    encode_key(c.participant, c.key, *p.mutable_add_delivery_key());
  }
  void operator()(const m::RemoveDeliveryKey& c) {
    encode_key(c.participant, c.key, *p.mutable_remove_delivery_key());
  }
  void operator()(const m::RecordDelivery& c) {
    encode_record(c.trade, c.access, *p.mutable_record_delivery());
  }
  void operator()(const m::SetProvider& c) {
    auto& o = *p.mutable_set_provider();
    o.set_participant(c.participant);
    if (c.record) encode_provider(*c.record, *o.mutable_record());
  }
  void operator()(const m::HaltInstrument& c) {
    p.mutable_halt_instrument()->set_instrument(c.instrument);
    p.mutable_halt_instrument()->set_halted(c.halted);
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
      return m::NewOrder{.client_order_id = o.client_order_id(),
                         .participant = o.participant(),
                         .instrument = o.instrument(),
                         .side = side(o.side()),
                         .type = order_type(o.type()),
                         .self_trade = self_trade(o.self_trade()),
                         .price = o.price(),
                         .quantity = o.quantity()};
    }
    case proto::Command::kNewBlockOrder: {
      const auto& o = p.new_block_order();
      return m::NewBlockOrder{.client_order_id = o.client_order_id(),
                              .participant = o.participant(),
                              .first_instrument = o.first_instrument(),
                              .hours = o.hours(),
                              .side = side(o.side()),
                              .one_provider = o.one_provider(),
                              .time_in_force = block_time_in_force(o.time_in_force()),
                              .units = o.units(),
                              .limit = o.limit()};
    }
    case proto::Command::kCancelOrder:
      return m::CancelOrder{.participant = p.cancel_order().participant(),
                            .order = p.cancel_order().order()};
    case proto::Command::kReplaceOrder: {
      const auto& o = p.replace_order();
      return m::ReplaceOrder{.participant = o.participant(),
                             .order = o.order(),
                             .price = o.price(),
                             .quantity = o.quantity()};
    }
    case proto::Command::kMassCancel: {
      const auto& o = p.mass_cancel();
      std::optional<m::InstrumentId> instrument;
      if (o.has_instrument()) instrument = o.instrument();
      return m::MassCancel{.participant = o.participant(), .instrument = instrument};
    }
    case proto::Command::kListInstrument:
      return m::ListInstrument{decode_spec(p.list_instrument().spec())};
    case proto::Command::kChangeInstrumentState:
      return m::ChangeInstrumentState{.instrument = p.change_instrument_state().instrument(),
                                      .state = state(p.change_instrument_state().state())};
    case proto::Command::kAddParticipant:
      return m::AddParticipant{.participant = p.add_participant().participant()};
    case proto::Command::kAdjustCash:
      return m::AdjustCash{.participant = p.adjust_cash().participant(),
                           .amount = p.adjust_cash().amount()};
    case proto::Command::kSetSellCapacity: {
      const auto& o = p.set_sell_capacity();
      return m::SetSellCapacity{
          .participant = o.participant(), .instrument = o.instrument(), .capacity = o.capacity()};
    }
    case proto::Command::kPostCollateral:
      return m::PostCollateral{.participant = p.post_collateral().participant(),
                               .amount = p.post_collateral().amount()};
    case proto::Command::kSetMarketTerms:
      return decode_terms(p.set_market_terms());
    case proto::Command::kSetProductTerms:
      return m::SetProductTerms{decode_product_terms(p.set_product_terms())};
    case proto::Command::kSetSeat:
      return m::SetSeat{decode_seat(p.set_seat())};
    case proto::Command::kAddDeliveryKey:
      return m::AddDeliveryKey{.participant = p.add_delivery_key().participant(),
                               .key = decode_key(p.add_delivery_key())};
    case proto::Command::kRemoveDeliveryKey:
      return m::RemoveDeliveryKey{.participant = p.remove_delivery_key().participant(),
                                  .key = decode_key(p.remove_delivery_key())};
    case proto::Command::kRecordDelivery:
      return m::RecordDelivery{.trade = p.record_delivery().trade(),
                               .access = std::make_shared<const m::DeliveryAccess>(
                                   decode_access(p.record_delivery().access()))};
    case proto::Command::kSetProvider: {
      const auto& o = p.set_provider();
      m::SetProvider c{.participant = o.participant(), .record = nullptr};
      if (o.has_record())
        c.record = std::make_shared<const m::ProviderRecord>(decode_provider(o.record()));
      return c;
    }
    case proto::Command::kHaltInstrument:
      return m::HaltInstrument{.instrument = p.halt_instrument().instrument(),
                               .halted = p.halt_instrument().halted()};
    case proto::Command::kRecordChallengeOutcome: {
      const auto& o = p.record_challenge_outcome();
      return m::RecordChallengeOutcome{.trade = o.trade(),
                                       .index = o.index(),
                                       .outcome = outcome(o.outcome()),
                                       .failure = o.failure()};
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
  void operator()(const m::InstrumentHalted& e) {
    stamp(e);
    p.mutable_instrument_halted()->set_instrument(e.instrument);
    p.mutable_instrument_halted()->set_halted(e.halted);
  }
  void operator()(const m::ProductTermsSet& e) {
    stamp(e);
    if (e.terms) encode_product_terms(*e.terms, *p.mutable_product_terms_set()->mutable_terms());
    p.mutable_product_terms_set()->set_in_effect(e.in_effect);
  }
  void operator()(const m::DeliveryRecorded& e) {
    stamp(e);
    auto& r = *p.mutable_delivery_recorded();
    encode_record(e.trade, e.access, r);
    r.set_instrument(e.instrument);
    r.set_buyer(e.buyer);
    r.set_provider(e.provider);
  }
  void operator()(const m::DeliveryKeyChanged& e) {
    stamp(e);
    encode_key(e.participant, e.key, *p.mutable_delivery_key_changed());
    p.mutable_delivery_key_changed()->set_added(e.added);
  }
  void operator()(const m::SeatSet& e) {
    stamp(e);
    p.mutable_seat_set()->set_participant(e.participant);
  }
  void operator()(const m::ProviderSet& e) {
    stamp(e);
    p.mutable_provider_set()->set_participant(e.participant);
    p.mutable_provider_set()->set_registered(e.registered);
  }
  void operator()(const m::MarketTermsSet& e) {
    stamp(e);
    encode_terms({.buyer_fee_ppm = e.buyer_fee_ppm, .delivery = e.delivery},
                 *p.mutable_market_terms_set());
  }
  void operator()(const m::BlockOrderFilled& e) {
    stamp(e);
    auto& o = *p.mutable_block_order_filled();
    o.set_block(e.block);
    o.set_client_order_id(e.client_order_id);
    o.set_participant(e.participant);
    o.set_first_instrument(e.first_instrument);
    o.set_hours(e.hours);
    o.set_side(static_cast<proto::Side>(e.side));
    o.set_units(e.units);
    o.set_limit(e.limit);
    o.set_notional(e.notional);
    o.set_legs(e.legs);
  }
  void operator()(const m::BlockOrderRested& e) {
    stamp(e);
    auto& o = *p.mutable_block_order_rested();
    o.set_block(e.block);
    o.set_client_order_id(e.client_order_id);
    o.set_participant(e.participant);
    o.set_first_instrument(e.first_instrument);
    o.set_hours(e.hours);
    o.set_side(static_cast<proto::Side>(e.side));
    o.set_one_provider(e.one_provider);
    o.set_units(e.units);
    o.set_limit(e.limit);
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
    o.set_round(e.round);
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
  const m::Stamp s{.sequence = p.sequence(), .time = p.time()};
  switch (p.body_case()) {
    case proto::Event::kInstrumentListed:
      return m::InstrumentListed{.stamp = s, .instrument = p.instrument_listed().instrument()};
    case proto::Event::kInstrumentStateChanged:
      return m::InstrumentStateChanged{.stamp = s,
                                       .instrument = p.instrument_state_changed().instrument(),
                                       .state = state(p.instrument_state_changed().state())};
    case proto::Event::kParticipantAdded:
      return m::ParticipantAdded{.stamp = s, .participant = p.participant_added().participant()};
    case proto::Event::kCashAdjusted: {
      const auto& o = p.cash_adjusted();
      return m::CashAdjusted{
          .stamp = s, .participant = o.participant(), .amount = o.amount(), .balance = o.balance()};
    }
    case proto::Event::kSellCapacitySet: {
      const auto& o = p.sell_capacity_set();
      return m::SellCapacitySet{.stamp = s,
                                .participant = o.participant(),
                                .instrument = o.instrument(),
                                .capacity = o.capacity()};
    }
    case proto::Event::kCommandRejected: {
      const auto& o = p.command_rejected();
      return m::CommandRejected{
          .stamp = s,
          .reason = convert_enum<m::RejectReason>(o.reason(), "reject reason"),
          .participant = o.participant(),
          .client_order_id = o.client_order_id(),
          .order = o.order()};
    }
    case proto::Event::kOrderAccepted: {
      const auto& o = p.order_accepted();
      return m::OrderAccepted{.stamp = s,
                              .order = o.order(),
                              .client_order_id = o.client_order_id(),
                              .participant = o.participant(),
                              .instrument = o.instrument(),
                              .side = side(o.side()),
                              .type = order_type(o.type()),
                              .price = o.price(),
                              .quantity = o.quantity()};
    }
    case proto::Event::kTrade: {
      const auto& o = p.trade();
      return m::Trade{.stamp = s,
                      .trade = o.trade(),
                      .instrument = o.instrument(),
                      .price = o.price(),
                      .quantity = o.quantity(),
                      .aggressor = side(o.aggressor()),
                      .maker_order = o.maker_order(),
                      .maker = o.maker(),
                      .maker_remaining = o.maker_remaining(),
                      .taker_order = o.taker_order(),
                      .taker = o.taker(),
                      .taker_remaining = o.taker_remaining()};
    }
    case proto::Event::kInstrumentHalted:
      return m::InstrumentHalted{.stamp = s,
                                 .instrument = p.instrument_halted().instrument(),
                                 .halted = p.instrument_halted().halted()};
    case proto::Event::kProductTermsSet:
      return m::ProductTermsSet{.stamp = s,
                                .terms = std::make_shared<const m::ProductTerms>(
                                    decode_product_terms(p.product_terms_set().terms())),
                                .in_effect = p.product_terms_set().in_effect()};
    case proto::Event::kDeliveryRecorded: {
      const auto& r = p.delivery_recorded();
      return m::DeliveryRecorded{
          .stamp = s,
          .trade = r.trade(),
          .instrument = r.instrument(),
          .buyer = r.buyer(),
          .provider = r.provider(),
          .access = std::make_shared<const m::DeliveryAccess>(decode_access(r.access()))};
    }
    case proto::Event::kDeliveryKeyChanged:
      return m::DeliveryKeyChanged{.stamp = s,
                                   .participant = p.delivery_key_changed().participant(),
                                   .key = decode_key(p.delivery_key_changed()),
                                   .added = p.delivery_key_changed().added()};
    case proto::Event::kSeatSet:
      return m::SeatSet{.stamp = s, .participant = p.seat_set().participant()};
    case proto::Event::kProviderSet:
      return m::ProviderSet{.stamp = s,
                            .participant = p.provider_set().participant(),
                            .registered = p.provider_set().registered()};
    case proto::Event::kMarketTermsSet: {
      const m::SetMarketTerms terms = decode_terms(p.market_terms_set());
      return m::MarketTermsSet{
          .stamp = s, .buyer_fee_ppm = terms.buyer_fee_ppm, .delivery = terms.delivery};
    }
    case proto::Event::kBlockOrderFilled: {
      const auto& o = p.block_order_filled();
      return m::BlockOrderFilled{.stamp = s,
                                 .block = o.block(),
                                 .client_order_id = o.client_order_id(),
                                 .participant = o.participant(),
                                 .first_instrument = o.first_instrument(),
                                 .hours = o.hours(),
                                 .side = side(o.side()),
                                 .units = o.units(),
                                 .limit = o.limit(),
                                 .notional = o.notional(),
                                 .legs = o.legs()};
    }
    case proto::Event::kBlockOrderRested: {
      const auto& o = p.block_order_rested();
      return m::BlockOrderRested{.stamp = s,
                                 .block = o.block(),
                                 .client_order_id = o.client_order_id(),
                                 .participant = o.participant(),
                                 .first_instrument = o.first_instrument(),
                                 .hours = o.hours(),
                                 .side = side(o.side()),
                                 .one_provider = o.one_provider(),
                                 .units = o.units(),
                                 .limit = o.limit()};
    }
    case proto::Event::kOrderCanceled: {
      const auto& o = p.order_canceled();
      return m::OrderCanceled{.stamp = s,
                              .order = o.order(),
                              .participant = o.participant(),
                              .instrument = o.instrument(),
                              .canceled = o.canceled(),
                              .remaining = o.remaining(),
                              .reason = convert_enum<m::CancelReason>(o.reason(), "cancel reason")};
    }
    case proto::Event::kOrderReplaced: {
      const auto& o = p.order_replaced();
      return m::OrderReplaced{.stamp = s,
                              .order = o.order(),
                              .participant = o.participant(),
                              .instrument = o.instrument(),
                              .price = o.price(),
                              .quantity = o.quantity(),
                              .kept_priority = o.kept_priority()};
    }
    case proto::Event::kOrderExpired: {
      const auto& o = p.order_expired();
      return m::OrderExpired{.stamp = s,
                             .order = o.order(),
                             .participant = o.participant(),
                             .instrument = o.instrument(),
                             .expired = o.expired(),
                             .reason = convert_enum<m::ExpireReason>(o.reason(), "expire reason")};
    }
    case proto::Event::kMassCancelDone: {
      const auto& o = p.mass_cancel_done();
      std::optional<m::InstrumentId> instrument;
      if (o.has_instrument()) instrument = o.instrument();
      return m::MassCancelDone{.stamp = s,
                               .participant = o.participant(),
                               .instrument = instrument,
                               .canceled_orders = o.canceled_orders()};
    }
    case proto::Event::kLedgerPosting: {
      const auto& o = p.ledger_posting();
      return m::LedgerPosting{.stamp = s,
                              .posting = {.from = decode_account(o.from()),
                                          .to = decode_account(o.to()),
                                          .amount = o.amount(),
                                          .reason = convert_enum<settlement::PostingReason>(
                                              o.reason(), "posting reason")}};
    }
    case proto::Event::kCollateralChanged: {
      const auto& o = p.collateral_changed();
      return m::CollateralChanged{
          .stamp = s, .participant = o.participant(), .amount = o.amount(), .balance = o.balance()};
    }
    case proto::Event::kObligationCreated: {
      const auto& o = p.obligation_created();
      return m::ObligationCreated{.stamp = s,
                                  .trade = o.trade(),
                                  .instrument = o.instrument(),
                                  .buyer = o.buyer(),
                                  .provider = o.provider(),
                                  .price = o.price(),
                                  .quantity = o.quantity()};
    }
    case proto::Event::kChallengeScheduled: {
      const auto& o = p.challenge_scheduled();
      return m::ChallengeScheduled{.stamp = s,
                                   .trade = o.trade(),
                                   .index = o.index(),
                                   .instrument = o.instrument(),
                                   .provider = o.provider(),
                                   .at = o.at(),
                                   .round = o.round()};
    }
    case proto::Event::kChallengeRecorded: {
      const auto& o = p.challenge_recorded();
      return m::ChallengeRecorded{.stamp = s,
                                  .trade = o.trade(),
                                  .index = o.index(),
                                  .outcome = outcome(o.outcome()),
                                  .failure = o.failure()};
    }
    case proto::Event::kObligationSettled: {
      const auto& o = p.obligation_settled();
      return m::ObligationSettled{.stamp = s,
                                  .trade = o.trade(),
                                  .instrument = o.instrument(),
                                  .buyer = o.buyer(),
                                  .provider = o.provider(),
                                  .price = o.price(),
                                  .quantity = o.quantity(),
                                  .challenges = o.challenges(),
                                  .passed = o.passed(),
                                  .figures = {.verified = o.verified(),
                                              .unverified = o.unverified(),
                                              .paid_to_provider = o.paid_to_provider(),
                                              .buyer_fee = o.buyer_fee(),
                                              .provider_fee = o.provider_fee(),
                                              .refund = o.refund(),
                                              .penalty = o.penalty(),
                                              .penalty_shortfall = o.penalty_shortfall()}};
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
  return m::Command{.stamp = {.sequence = p.sequence(), .time = p.time()}, .body = decode_body(p)};
}

proto::Snapshot encode(const m::EngineSnapshot& s) {
  proto::Snapshot p;
  p.set_next_order_id(s.next_order_id);
  p.set_next_trade_id(s.next_trade_id);
  for (const m::InstrumentSnapshot& i : s.instruments) {
    auto& out = *p.add_instruments();
    encode_spec(i.spec, *out.mutable_spec());
    out.set_state(static_cast<proto::InstrumentState>(i.state));
    out.set_halted(i.halted);
    out.set_challenge_seed(i.challenge_seed);
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
      if (o.delivery.stage != m::DeliveryStage::none)
        encode_access(o.delivery, *ob.mutable_delivery());
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
  if (s.market_terms) encode_terms(*s.market_terms, *p.mutable_market_terms());
  for (const m::Seat& seat : s.seats)
    encode_seat(seat, *p.add_seats());
  for (const m::ProviderRecord& provider : s.providers)
    encode_provider(provider, *p.add_providers());
  for (const m::ProductTerms& t : s.product_terms)
    encode_product_terms(t, *p.add_product_terms());
  for (const m::ProductTerms& t : s.pending_product_terms)
    encode_product_terms(t, *p.add_pending_product_terms());
  for (const m::DeliveryProfile& profile : s.delivery_profiles) {
    auto& out = *p.add_delivery_profiles();
    out.set_participant(profile.participant);
    for (const std::string& key : profile.keys)
      out.add_keys(key);
  }
  for (const m::BlockView& b : s.blocks) {
    auto& out = *p.add_blocks();
    out.set_block(b.block);
    out.set_client_order_id(b.client_order_id);
    out.set_participant(b.participant);
    for (m::InstrumentId hour : b.span)
      out.add_span(hour);
    out.set_side(static_cast<proto::Side>(b.side));
    out.set_one_provider(b.one_provider);
    out.set_units(b.units);
    out.set_limit(b.limit);
  }
  return p;
}

m::EngineSnapshot decode(const proto::Snapshot& p) {
  m::EngineSnapshot s{.next_order_id = p.next_order_id(),
                      .next_trade_id = p.next_trade_id(),
                      .instruments = {},
                      .accounts = {},
                      .capacities = {},
                      .exchange = {.external = p.external(),
                                   .fees = p.fees(),
                                   .penalties = p.penalties(),
                                   .clearing = p.clearing()},
                      .market_terms = std::nullopt,
                      .seats = {},
                      .providers = {},
                      .product_terms = {},
                      .pending_product_terms = {},
                      .blocks = {},
                      .delivery_profiles = {}};
  if (p.has_market_terms()) s.market_terms = decode_terms(p.market_terms());
  for (const auto& seat : p.seats())
    s.seats.push_back(decode_seat(seat));
  for (const auto& provider : p.providers())
    s.providers.push_back(decode_provider(provider));
  for (const auto& t : p.product_terms())
    s.product_terms.push_back(decode_product_terms(t));
  for (const auto& t : p.pending_product_terms())
    s.pending_product_terms.push_back(decode_product_terms(t));
  for (const auto& profile : p.delivery_profiles())
    s.delivery_profiles.push_back({.participant = profile.participant(),
                                   .keys = {profile.keys().begin(), profile.keys().end()}});
  for (const auto& b : p.blocks())
    s.blocks.push_back({.block = b.block(),
                        .client_order_id = b.client_order_id(),
                        .participant = b.participant(),
                        .span = {b.span().begin(), b.span().end()},
                        .side = side(b.side()),
                        .one_provider = b.one_provider(),
                        .units = b.units(),
                        .limit = b.limit()});
  for (const auto& i : p.instruments()) {
    m::InstrumentSnapshot& out = s.instruments.emplace_back();
    out.spec = decode_spec(i.spec());
    out.state = state(i.state());
    out.halted = i.halted();
    out.challenge_seed = i.challenge_seed();
    for (const auto& o : i.bids())
      out.bids.push_back(decode_order(o));
    for (const auto& o : i.asks())
      out.asks.push_back(decode_order(o));
    for (const auto& o : i.obligations()) {
      m::ObligationView& ob =
          out.obligations.emplace_back(m::ObligationView{.trade = o.trade(),
                                                         .buyer = o.buyer(),
                                                         .provider = o.provider(),
                                                         .price = o.price(),
                                                         .quantity = o.quantity(),
                                                         .escrow = o.escrow(),
                                                         .buyer_is_taker = o.buyer_is_taker(),
                                                         .outcomes = {},
                                                         .delivery = {}});
      for (int v : o.outcomes())
        ob.outcomes.push_back(outcome(v));
      if (o.has_delivery()) ob.delivery = decode_access(o.delivery());
    }
  }
  for (const auto& a : p.accounts())
    s.accounts.push_back({.participant = a.participant(),
                          .view = {.cash = a.cash(),
                                   .reserved = a.reserved(),
                                   .committed = a.committed(),
                                   .collateral = a.collateral(),
                                   .receivable = a.receivable()},
                          .resting = {a.resting().begin(), a.resting().end()}});
  for (const auto& c : p.capacities())
    s.capacities.push_back(
        {.participant = c.participant(),
         .instrument = c.instrument(),
         .view = {.capacity = c.capacity(), .offered = c.offered(), .sold = c.sold()}});
  return s;
}

}  // namespace gpux::storage

#include "gpux/matching/types.h"

#include "gpux/matching/access.h"

namespace gpux::matching {

const char* to_string(Side v) {
  switch (v) {
    case Side::buy:
      return "buy";
    case Side::sell:
      return "sell";
  }
  return "?";
}

const char* to_string(OrderType v) {
  switch (v) {
    case OrderType::limit:
      return "limit";
    case OrderType::immediate_or_cancel:
      return "immediate_or_cancel";
    case OrderType::fill_or_kill:
      return "fill_or_kill";
    case OrderType::post_only:
      return "post_only";
    case OrderType::market:
      return "market";
  }
  return "?";
}

const char* to_string(SelfTradePrevention v) {
  switch (v) {
    case SelfTradePrevention::cancel_resting:
      return "cancel_resting";
    case SelfTradePrevention::cancel_incoming:
      return "cancel_incoming";
    case SelfTradePrevention::cancel_both:
      return "cancel_both";
    case SelfTradePrevention::decrement_and_cancel:
      return "decrement_and_cancel";
  }
  return "?";
}

const char* to_string(InstrumentState v) {
  switch (v) {
    case InstrumentState::listed:
      return "listed";
    case InstrumentState::open:
      return "open";
    case InstrumentState::gate_closed:
      return "gate_closed";
    case InstrumentState::delivering:
      return "delivering";
    case InstrumentState::settled:
      return "settled";
  }
  return "?";
}

const char* to_string(RejectReason v) {
  switch (v) {
    case RejectReason::unknown_instrument:
      return "unknown_instrument";
    case RejectReason::instrument_exists:
      return "instrument_exists";
    case RejectReason::invalid_instrument_spec:
      return "invalid_instrument_spec";
    case RejectReason::instrument_not_open:
      return "instrument_not_open";
    case RejectReason::invalid_state_transition:
      return "invalid_state_transition";
    case RejectReason::unknown_participant:
      return "unknown_participant";
    case RejectReason::participant_exists:
      return "participant_exists";
    case RejectReason::invalid_quantity:
      return "invalid_quantity";
    case RejectReason::quantity_below_minimum:
      return "quantity_below_minimum";
    case RejectReason::quantity_above_maximum:
      return "quantity_above_maximum";
    case RejectReason::lot_size_violation:
      return "lot_size_violation";
    case RejectReason::tick_size_violation:
      return "tick_size_violation";
    case RejectReason::price_outside_band:
      return "price_outside_band";
    case RejectReason::post_only_would_take:
      return "post_only_would_take";
    case RejectReason::insufficient_cash:
      return "insufficient_cash";
    case RejectReason::insufficient_capacity:
      return "insufficient_capacity";
    case RejectReason::unknown_order:
      return "unknown_order";
    case RejectReason::not_order_owner:
      return "not_order_owner";
    case RejectReason::invalid_amount:
      return "invalid_amount";
    case RejectReason::insufficient_collateral:
      return "insufficient_collateral";
    case RejectReason::collateral_locked:
      return "collateral_locked";
    case RejectReason::unknown_obligation:
      return "unknown_obligation";
    case RejectReason::invalid_challenge:
      return "invalid_challenge";
    case RejectReason::challenge_already_recorded:
      return "challenge_already_recorded";
    case RejectReason::invalid_symbol:
      return "invalid_symbol";
    case RejectReason::invalid_delivery_window:
      return "invalid_delivery_window";
    case RejectReason::invalid_gate_closure:
      return "invalid_gate_closure";
    case RejectReason::invalid_gpus_per_unit:
      return "invalid_gpus_per_unit";
    case RejectReason::invalid_tick_size:
      return "invalid_tick_size";
    case RejectReason::invalid_lot_size:
      return "invalid_lot_size";
    case RejectReason::invalid_min_quantity:
      return "invalid_min_quantity";
    case RejectReason::invalid_max_quantity:
      return "invalid_max_quantity";
    case RejectReason::invalid_reference_price:
      return "invalid_reference_price";
    case RejectReason::invalid_price_band:
      return "invalid_price_band";
    case RejectReason::too_many_price_levels:
      return "too_many_price_levels";
    case RejectReason::order_notional_too_large:
      return "order_notional_too_large";
    case RejectReason::invalid_maker_fee:
      return "invalid_maker_fee";
    case RejectReason::invalid_taker_fee:
      return "invalid_taker_fee";
    case RejectReason::invalid_block_hours:
      return "invalid_block_hours";
    case RejectReason::block_hour_not_open:
      return "block_hour_not_open";
    case RejectReason::invalid_block_limit:
      return "invalid_block_limit";
    case RejectReason::block_not_fillable:
      return "block_not_fillable";
    case RejectReason::block_not_replaceable:
      return "block_not_replaceable";
    case RejectReason::invalid_delivery_key:
      return "invalid_delivery_key";
    case RejectReason::delivery_key_exists:
      return "delivery_key_exists";
    case RejectReason::too_many_delivery_keys:
      return "too_many_delivery_keys";
    case RejectReason::unknown_delivery_key:
      return "unknown_delivery_key";
    case RejectReason::invalid_delivery_record:
      return "invalid_delivery_record";
    case RejectReason::delivery_not_open:
      return "delivery_not_open";
    case RejectReason::invalid_market_terms:
      return "invalid_market_terms";
    case RejectReason::market_terms_locked:
      return "market_terms_locked";
    case RejectReason::instrument_halted:
      return "instrument_halted";
    case RejectReason::invalid_seat:
      return "invalid_seat";
    case RejectReason::seat_taken:
      return "seat_taken";
    case RejectReason::invalid_provider:
      return "invalid_provider";
    case RejectReason::provider_name_taken:
      return "provider_name_taken";
    case RejectReason::unknown_provider:
      return "unknown_provider";
    case RejectReason::invalid_product_terms:
      return "invalid_product_terms";
    case RejectReason::spec_differs_from_product_terms:
      return "spec_differs_from_product_terms";
  }
  return "?";
}

const char* to_string(CancelReason v) {
  switch (v) {
    case CancelReason::requested:
      return "requested";
    case CancelReason::mass_cancel:
      return "mass_cancel";
    case CancelReason::self_trade:
      return "self_trade";
  }
  return "?";
}

const char* to_string(ExpireReason v) {
  switch (v) {
    case ExpireReason::unfilled_remainder:
      return "unfilled_remainder";
    case ExpireReason::fill_or_kill:
      return "fill_or_kill";
    case ExpireReason::gate_closure:
      return "gate_closure";
  }
  return "?";
}

const char* to_string(ChallengeOutcome v) {
  switch (v) {
    case ChallengeOutcome::pending:
      return "pending";
    case ChallengeOutcome::passed:
      return "passed";
    case ChallengeOutcome::failed:
      return "failed";
    case ChallengeOutcome::timed_out:
      return "timed_out";
  }
  return "?";
}

bool valid_access_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxAccessName) return false;
  const auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!word(name.front())) return false;
  for (const char c : name)
    if (!word(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

}  // namespace gpux::matching

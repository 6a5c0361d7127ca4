// Plain domain types of the market. Everything here is an integer or an enum:
// prices are micro-USD per unit, quantities are whole units, and nothing in
// matching or risk ever touches floating point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gpux::matching {

using Price = std::int64_t;           // micro-USD per unit
using Quantity = std::int64_t;        // whole units (GPU-hours, or nodes for node classes)
using Money = std::int64_t;           // micro-USD
using OrderId = std::uint64_t;        // assigned by the engine, dense, starting at 1
using TradeId = std::uint64_t;        // assigned by the engine, dense, starting at 1
using ClientOrderId = std::uint64_t;  // opaque to the engine, echoed back to the client
using ParticipantId = std::uint32_t;  // dense, below EngineConfig::max_participants
using InstrumentId = std::uint32_t;   // dense, below EngineConfig::max_instruments
using SequenceNumber = std::uint64_t;
using Nanoseconds = std::int64_t;  // since the Unix epoch, as stamped by the sequencer

// The sequencer's stamp on every command; the engine copies it into the events
// the command causes and never reads a clock of its own.
struct Stamp {
  SequenceNumber sequence = 0;
  Nanoseconds time = 0;
  bool operator==(const Stamp&) const = default;
};

enum class Side : std::uint8_t { buy, sell };

constexpr Side opposite(Side side) {
  return side == Side::buy ? Side::sell : Side::buy;
}

enum class OrderType : std::uint8_t {
  limit,                // rests until filled, cancelled or the gate closes
  immediate_or_cancel,  // fills what it can now; the rest expires
  fill_or_kill,         // fills completely now or expires without side effects
  post_only,            // rests; rejected (never repriced) if it would take
  market,               // takes up to its protection price (default: band edge); the rest expires
};

// What happens when an incoming order would trade with a resting order of the
// same participant. The incoming order's mode decides.
enum class SelfTradePrevention : std::uint8_t {
  cancel_resting,
  cancel_incoming,
  cancel_both,
  decrement_and_cancel,  // both shrink by the overlap; whichever reaches zero is cancelled
};

// listed -> open -> gate_closed -> delivering -> settled, one step at a time.
enum class InstrumentState : std::uint8_t { listed, open, gate_closed, delivering, settled };

enum class RejectReason : std::uint8_t {
  unknown_instrument,
  instrument_exists,
  invalid_instrument_spec,  // ListInstrument without a spec
  instrument_not_open,
  invalid_state_transition,
  unknown_participant,
  participant_exists,
  invalid_quantity,  // zero or negative
  quantity_below_minimum,
  quantity_above_maximum,
  lot_size_violation,
  tick_size_violation,
  price_outside_band,
  post_only_would_take,
  insufficient_cash,
  insufficient_capacity,
  unknown_order,            // no such resting order (filled, cancelled, expired or never existed)
  not_order_owner,          // the order belongs to another participant
  invalid_amount,           // zero cash adjustment, negative capacity, or an overflowing balance
  insufficient_collateral,  // returning more collateral than is posted
  collateral_locked,        // returning collateral while obligations await settlement
  unknown_obligation,       // no unsettled obligation for that trade
  invalid_challenge,        // index out of range, pending outcome, or not delivering
  challenge_already_recorded,  // that challenge already has its outcome
  // ListInstrument: which rule of the spec failed (the first, in this order).
  invalid_symbol,            // the symbol is empty
  invalid_delivery_window,   // delivery_end is not after delivery_start
  invalid_gate_closure,      // the gate closes after delivery starts
  invalid_gpus_per_unit,     // gpus_per_unit is below 1
  invalid_tick_size,         // tick_size is not positive
  invalid_lot_size,          // lot_size is not positive
  invalid_min_quantity,      // min_quantity is not a positive multiple of the lot
  invalid_max_quantity,      // max_quantity is below min_quantity or not a multiple of the lot
  invalid_reference_price,   // not positive, off tick, or above the notional limit
  invalid_price_band,        // band_width negative, off tick, above the limit, or reaching zero
  too_many_price_levels,     // the band holds more ticks than max_price_levels per side
  order_notional_too_large,  // the band's top price x max_quantity exceeds USD 10^9
  invalid_maker_fee,         // maker_fee_ppm above the buyer's fee hold or 100%
  invalid_taker_fee,         // taker_fee_ppm above the buyer's fee hold or 100%
  // NewBlockOrder: the block's own terms, then the market.
  invalid_block_hours,  // hours outside 1..kMaxBlockHours
  block_hour_not_open,  // an hour of the span is not listed, or its book is not open
  invalid_block_limit,  // limit not positive, or limit x units x hours above USD 10^9
  block_not_fillable,   // the hourly books cannot fill every hour within the limit
  // SetMarketTerms: the terms themselves, then the market they would apply to.
  invalid_market_terms,  // fee hold above 100% or below a listed fee; rounds not 1..60
  market_terms_locked,   // the fee hold changes while buyers' money is reserved or escrowed
  instrument_halted,     // new orders and replaces wait until the operator resumes trading
  // SetSeat and SetProvider.
  invalid_seat,         // a bad SenderCompID, an overlong hash, or no_password with a hash
  seat_taken,           // the SenderCompID is another participant's seat
  invalid_provider,     // a bad name or region, an overlong field, or a record for another id
  provider_name_taken,  // another provider has that name
  unknown_provider,     // deregistering a participant that is not a registered provider
  // SetProductTerms, and the listings they govern.
  invalid_product_terms,            // bad names, a fee above 100% or the hold, a band reaching 0
  spec_differs_from_product_terms,  // a listing whose fees or band are not its product's terms
  block_not_replaceable,            // ReplaceOrder names a resting block: cancel it instead
  // AddDeliveryKey and RemoveDeliveryKey.
  invalid_delivery_key,    // not a key line gpux accepts (check_delivery_key says why)
  delivery_key_exists,     // the profile has that key already
  too_many_delivery_keys,  // the profile is full (kMaxDeliveryKeys)
  unknown_delivery_key,    // the profile has no such key
  // RecordDelivery.
  invalid_delivery_record,  // delivery_access_problem() names the rule broken
  delivery_not_open,        // the instrument is not delivering, or access was revoked already
};

// The longest block order: one week of consecutive delivery hours.
inline constexpr std::uint32_t kMaxBlockHours = 168;

// How long a block order waits for a fill it cannot get at once.
enum class BlockTimeInForce : std::uint8_t {
  immediate_or_cancel,  // fills at once in full, or is rejected block_not_fillable
  until_gate_closure,   // rests until it fills, is cancelled, or an hour of its span closes
};

// A verification challenge's outcome; pending until one is recorded (an
// instrument settles its still-pending challenges as timed out).
enum class ChallengeOutcome : std::uint8_t { pending, passed, failed, timed_out };

enum class CancelReason : std::uint8_t {
  requested,    // CancelOrder
  mass_cancel,  // MassCancel
  self_trade,   // self-trade prevention
};

enum class ExpireReason : std::uint8_t {
  unfilled_remainder,  // IOC or market order: what could not fill at once
  fill_or_kill,        // FOK that could not fill completely
  gate_closure,        // resting order when its instrument's gate closed
};

// Everything the engine needs to know about one tradable product.
struct InstrumentSpec {
  InstrumentId id = 0;
  std::string symbol;               // e.g. "H100-SXM.us-east.20261122T15"
  std::string gpu_class;            // e.g. "H100-SXM"; selects the verification profile
  std::string region;               // e.g. "us-east"
  std::int64_t delivery_start = 0;  // Unix seconds, UTC; the hour starts here
  std::int64_t delivery_end = 0;    // Unix seconds, UTC
  std::int64_t gate_closure = 0;    // Unix seconds; the scheduler closes the gate then
  std::uint32_t gpus_per_unit = 1;  // 1 for per-GPU classes, 8 for 8-GPU node classes
  Price tick_size = 1;
  Quantity lot_size = 1;
  Quantity min_quantity = 1;
  Quantity max_quantity = 1;
  Price reference_price = 0;  // centre of the price band
  Price band_width = 0;       // orders must be priced within reference_price +- band_width
  // Fees charged at settlement on verified GPU-hours, parts per million of
  // notional, rounded down; the maker is the resting order's owner.
  std::uint32_t maker_fee_ppm = 0;
  std::uint32_t taker_fee_ppm = 0;
  bool operator==(const InstrumentSpec&) const = default;
};

// The rules an order's own terms must meet on an instrument, whatever the
// book and the accounts hold. The engine applies them; gateways check them
// first, so that nothing invalid reaches the journal.
// Inline: the engine calls them on every order.
inline std::optional<RejectReason> invalid_quantity(const InstrumentSpec& spec, Quantity q) {
  if (q <= 0) return RejectReason::invalid_quantity;
  if (q % spec.lot_size != 0) return RejectReason::lot_size_violation;
  if (q < spec.min_quantity) return RejectReason::quantity_below_minimum;
  if (q > spec.max_quantity) return RejectReason::quantity_above_maximum;
  return std::nullopt;
}

inline std::optional<RejectReason> invalid_price(const InstrumentSpec& spec, Price p) {
  if (p % spec.tick_size != 0) return RejectReason::tick_size_violation;
  if (p < spec.reference_price - spec.band_width || p > spec.reference_price + spec.band_width)
    return RejectReason::price_outside_band;
  return std::nullopt;
}

const char* to_string(Side);
const char* to_string(OrderType);
const char* to_string(SelfTradePrevention);
const char* to_string(InstrumentState);
const char* to_string(RejectReason);
const char* to_string(CancelReason);
const char* to_string(ExpireReason);
const char* to_string(ChallengeOutcome);

}  // namespace gpux::matching

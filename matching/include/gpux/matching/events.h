// Events: what the engine tells the world. Every command produces at least one
// event carrying the command's stamp, so a gateway can acknowledge it.
#pragma once

#include <memory>
#include <optional>
#include <variant>

#include "gpux/matching/delivery_access.h"
#include "gpux/matching/product_terms.h"
#include "gpux/matching/types.h"
#include "gpux/settlement/delivery.h"
#include "gpux/settlement/ledger.h"

namespace gpux::matching {

// Events hold rare, large parts by pointer; two events are equal when what
// they point at is (or neither points at anything).
template <class T>
bool same_pointee(const std::shared_ptr<const T>& a, const std::shared_ptr<const T>& b) {
  return a == b || (a && b && *a == *b);
}

struct InstrumentListed {
  Stamp stamp = {};
  InstrumentId instrument = 0;
  bool operator==(const InstrumentListed&) const = default;
};

struct InstrumentStateChanged {
  Stamp stamp = {};
  InstrumentId instrument = 0;
  InstrumentState state = InstrumentState::listed;
  bool operator==(const InstrumentStateChanged&) const = default;
};

struct ParticipantAdded {
  Stamp stamp = {};
  ParticipantId participant = 0;
  bool operator==(const ParticipantAdded&) const = default;
};

struct CashAdjusted {
  Stamp stamp = {};
  ParticipantId participant = 0;
  Money amount = 0;
  Money balance = 0;  // cash after the adjustment
  bool operator==(const CashAdjusted&) const = default;
};

struct SellCapacitySet {
  Stamp stamp = {};
  ParticipantId participant = 0;
  InstrumentId instrument = 0;
  Quantity capacity = 0;
  bool operator==(const SellCapacitySet&) const = default;
};

// Any command the engine refused; nothing changed.
struct CommandRejected {
  Stamp stamp = {};
  RejectReason reason = RejectReason::unknown_instrument;
  ParticipantId participant = 0;
  ClientOrderId client_order_id = 0;  // NewOrder only
  OrderId order = 0;                  // CancelOrder and ReplaceOrder only
  bool operator==(const CommandRejected&) const = default;
};

struct OrderAccepted {
  Stamp stamp = {};
  OrderId order = 0;
  ClientOrderId client_order_id = 0;
  ParticipantId participant = 0;
  InstrumentId instrument = 0;
  Side side = Side::buy;
  OrderType type = OrderType::limit;
  Price price = 0;  // for market orders: the effective protection price
  Quantity quantity = 0;
  bool operator==(const OrderAccepted&) const = default;
};

struct Trade {
  Stamp stamp = {};
  TradeId trade = 0;
  InstrumentId instrument = 0;
  Price price = 0;  // always the resting (maker) order's price
  Quantity quantity = 0;
  Side aggressor = Side::buy;
  OrderId maker_order = 0;
  ParticipantId maker = 0;
  Quantity maker_remaining = 0;
  OrderId taker_order = 0;
  ParticipantId taker = 0;
  Quantity taker_remaining = 0;
  bool operator==(const Trade&) const = default;
};

// A block order traded in full. Its legs are ordinary Trade events naming
// the block as maker_order or taker_order, all within the same command; every
// leg becomes its own hourly obligation. Against the hourly books the legs
// follow at once, hour by hour in delivery order. Against resting blocks, the
// incoming block's BlockOrderFilled comes first, then each resting block's,
// each followed by its legs (one per hour).
struct BlockOrderFilled {
  Stamp stamp = {};
  OrderId block = 0;  // from the same sequence as order ids
  ClientOrderId client_order_id = 0;
  ParticipantId participant = 0;
  InstrumentId first_instrument = 0;
  std::uint32_t hours = 0;
  Side side = Side::buy;
  Quantity units = 0;
  Price limit = 0;
  Money notional = 0;      // the legs' price x quantity, summed
  std::uint32_t legs = 0;  // its Trade events
  bool operator==(const BlockOrderFilled&) const = default;
};

// A block order (until_gate_closure) that could not fill at once now rests,
// holding its buyer's cash or its provider's capacity in every hour. It
// ends with a BlockOrderFilled, or an OrderCanceled or OrderExpired naming
// it as the order (instrument: its first hour; quantity: units x hours).
struct BlockOrderRested {
  Stamp stamp = {};
  OrderId block = 0;
  ClientOrderId client_order_id = 0;
  ParticipantId participant = 0;
  InstrumentId first_instrument = 0;
  std::uint32_t hours = 0;
  Side side = Side::buy;
  bool one_provider = true;
  Quantity units = 0;
  Price limit = 0;
  bool operator==(const BlockOrderRested&) const = default;
};

// All or part of an order was cancelled. remaining > 0 only when self-trade
// prevention (decrement-and-cancel) shrank an order that lives on: a resting
// order keeping its place, or an incoming order that goes on matching.
struct OrderCanceled {
  Stamp stamp = {};
  OrderId order = 0;
  ParticipantId participant = 0;
  InstrumentId instrument = 0;
  Quantity canceled = 0;
  Quantity remaining = 0;
  CancelReason reason = CancelReason::requested;
  bool operator==(const OrderCanceled&) const = default;
};

struct OrderReplaced {
  Stamp stamp = {};
  OrderId order = 0;
  ParticipantId participant = 0;
  InstrumentId instrument = 0;
  Price price = 0;
  Quantity quantity = 0;  // remaining quantity after the replace (before any trade it causes)
  bool kept_priority = false;
  bool operator==(const OrderReplaced&) const = default;
};

struct OrderExpired {
  Stamp stamp = {};
  OrderId order = 0;
  ParticipantId participant = 0;
  InstrumentId instrument = 0;
  Quantity expired = 0;
  ExpireReason reason = ExpireReason::unfilled_remainder;
  bool operator==(const OrderExpired&) const = default;
};

struct MassCancelDone {
  Stamp stamp = {};
  ParticipantId participant = 0;
  std::optional<InstrumentId> instrument;
  std::uint32_t canceled_orders = 0;
  bool operator==(const MassCancelDone&) const = default;
};

// Money moved between two ledger accounts. Every change of a balance comes
// with one, so the postings alone rebuild every balance.
struct LedgerPosting {
  Stamp stamp = {};
  settlement::Posting posting;
  bool operator==(const LedgerPosting&) const = default;
};

struct CollateralChanged {
  Stamp stamp = {};
  ParticipantId participant = 0;
  Money amount = 0;
  Money balance = 0;  // collateral after the change
  bool operator==(const CollateralChanged&) const = default;
};

// At gate closure, each trade becomes an obligation to deliver.
struct ObligationCreated {
  Stamp stamp = {};
  TradeId trade = 0;
  InstrumentId instrument = 0;
  ParticipantId buyer = 0;
  ParticipantId provider = 0;
  Price price = 0;
  Quantity quantity = 0;
  bool operator==(const ObligationCreated&) const = default;
};

// When delivery starts, each obligation's challenges are drawn (seeded):
// one per unit and round, every unit of a provider's round at one instant.
struct ChallengeScheduled {
  Stamp stamp = {};
  TradeId trade = 0;
  std::uint32_t index = 0;
  InstrumentId instrument = 0;
  ParticipantId provider = 0;
  std::int64_t at = 0;      // Unix seconds within the delivery hour
  std::uint32_t round = 0;  // two rounds may fall in the same second: still two
  bool operator==(const ChallengeScheduled&) const = default;
};

struct ChallengeRecorded {
  Stamp stamp = {};
  TradeId trade = 0;
  std::uint32_t index = 0;
  ChallengeOutcome outcome = ChallengeOutcome::passed;
  std::uint32_t failure = 0;
  bool operator==(const ChallengeRecorded&) const = default;
};

// An obligation settled after its delivery hour; its postings follow.
struct ObligationSettled {
  Stamp stamp = {};
  TradeId trade = 0;
  InstrumentId instrument = 0;
  ParticipantId buyer = 0;
  ParticipantId provider = 0;
  Price price = 0;
  Quantity quantity = 0;
  std::uint32_t challenges = 0;
  std::uint32_t passed = 0;
  settlement::SettlementFigures figures;
  bool operator==(const ObligationSettled&) const = default;
};

// The market's terms from this command on (SetMarketTerms accepted).
struct MarketTermsSet {
  Stamp stamp = {};
  std::uint32_t buyer_fee_ppm = 0;
  settlement::DeliveryTerms delivery;
  bool operator==(const MarketTermsSet&) const = default;
};

// Trading in an open instrument halted, or resumed (HaltInstrument accepted).
struct InstrumentHalted {
  Stamp stamp = {};
  InstrumentId instrument = 0;
  bool halted = true;
  bool operator==(const InstrumentHalted&) const = default;
};

// A seat is as its SetSeat says from here on (the command carries the seat).
struct SeatSet {
  Stamp stamp = {};
  ParticipantId participant = 0;
  bool operator==(const SeatSet&) const = default;
};

// A provider registered or changed (registered), or deregistered; the
// SetProvider command carries the record.
struct ProviderSet {
  Stamp stamp = {};
  ParticipantId participant = 0;
  bool registered = true;
  bool operator==(const ProviderSet&) const = default;
};

// A product's terms accepted: scheduled (in_effect false, for a later
// sequence), or in effect from this command on (in the events of the
// command at whose sequence they take effect, whatever it is).
struct ProductTermsSet {
  Stamp stamp = {};
  std::shared_ptr<const ProductTerms> terms;
  bool in_effect = true;
  bool operator==(const ProductTermsSet& o) const {
    return stamp == o.stamp && in_effect == o.in_effect && same_pointee(terms, o.terms);
  }
};

// A key added to, or removed from, a participant's delivery profile.
struct DeliveryKeyChanged {
  Stamp stamp = {};
  ParticipantId participant = 0;
  std::shared_ptr<const std::string> key;  // the line as added
  bool added = true;                       // false: removed
  bool operator==(const DeliveryKeyChanged& o) const {
    return stamp == o.stamp && participant == o.participant && added == o.added &&
           same_pointee(key, o.key);
  }
};

// An obligation's access as its provider's agent reported it (RecordDelivery
// accepted); for the buyer, its notice of where and as whom to connect.
struct DeliveryRecorded {
  Stamp stamp = {};
  TradeId trade = 0;
  InstrumentId instrument = 0;
  ParticipantId buyer = 0;
  ParticipantId provider = 0;
  std::shared_ptr<const DeliveryAccess> access;
  bool operator==(const DeliveryRecorded& o) const {
    return stamp == o.stamp && trade == o.trade && instrument == o.instrument && buyer == o.buyer &&
           provider == o.provider && same_pointee(access, o.access);
  }
};

using Event =
    std::variant<InstrumentListed, InstrumentStateChanged, ParticipantAdded, CashAdjusted,
                 SellCapacitySet, CommandRejected, OrderAccepted, Trade, OrderCanceled,
                 OrderReplaced, OrderExpired, MassCancelDone, LedgerPosting, CollateralChanged,
                 ObligationCreated, ChallengeScheduled, ChallengeRecorded, ObligationSettled,
                 BlockOrderFilled, MarketTermsSet, InstrumentHalted, SeatSet, ProviderSet,
                 ProductTermsSet, BlockOrderRested, DeliveryKeyChanged, DeliveryRecorded>;

// Receives events synchronously on the engine thread, in order. Kept apart
// from the book so that market data, journaling and tests plug in alike.
class EventListener {
 public:
  virtual ~EventListener() = default;
  virtual void on_event(const Event& event) = 0;
};

}  // namespace gpux::matching

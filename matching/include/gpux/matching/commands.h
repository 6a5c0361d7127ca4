// Commands: everything that changes engine state. The sequencer stamps each one
// with a sequence number and time; the engine applies them in that order.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "gpux/matching/access.h"
#include "gpux/matching/delivery_access.h"
#include "gpux/matching/product_terms.h"
#include "gpux/matching/types.h"
#include "gpux/settlement/delivery.h"

namespace gpux::matching {

// Listings are rare and a spec is large (184 bytes); holding it by pointer
// keeps every command at 64 bytes, and commands are what the engine streams.
struct ListInstrument {
  explicit ListInstrument(InstrumentSpec s)
      : spec(std::make_shared<const InstrumentSpec>(std::move(s))) {}
  std::shared_ptr<const InstrumentSpec> spec;
};

struct ChangeInstrumentState {
  InstrumentId instrument = 0;
  InstrumentState state = InstrumentState::listed;
  bool operator==(const ChangeInstrumentState&) const = default;
};

struct AddParticipant {
  ParticipantId participant = 0;
};

// Deposit (positive) or withdrawal (negative) of cash. A withdrawal may not take
// more than the participant's available cash.
struct AdjustCash {
  ParticipantId participant = 0;
  Money amount = 0;
};

// How many units of an instrument a provider may have offered or sold in total.
// Lowering it below what is already offered or sold is rejected.
struct SetSellCapacity {
  ParticipantId participant = 0;
  InstrumentId instrument = 0;
  Quantity capacity = 0;
};

struct NewOrder {
  ClientOrderId client_order_id = 0;
  ParticipantId participant = 0;
  InstrumentId instrument = 0;
  Side side = Side::buy;
  OrderType type = OrderType::limit;
  SelfTradePrevention self_trade = SelfTradePrevention::cancel_incoming;
  Price price = 0;  // limit price; for market orders the protection price, 0 = band edge
  Quantity quantity = 0;
};

// An all-or-none block: `units` units in each of `hours` consecutive delivery
// hours of one GPU class and region, the first being `first_instrument`'s
// hour. It trades whole or not at all:
//   1. against resting opposite blocks of the identical span whose limits
//      cross, in price-time priority, each taken whole (each at its own
//      limit) and only while their units still fit what the block wants:
//      they must add up to exactly `units` (from one seller for a
//      one-provider buy);
//   2. otherwise against the hourly books, every hour in full, each leg at
//      its resting order's price, the total within the limit;
//   3. otherwise it is rejected without any effect (block_not_fillable) or,
//      until_gate_closure, it rests: its hold stays (a buy's cash, a sell's
//      capacity in every hour) until it fills, is cancelled, or an hour of
//      its span closes (OrderExpired, gate_closure).
// A resting block is tried again against the hourly books when an order
// comes to rest in an hour of its span on the side it takes from: the first
// kBlockRetriesPerCommand such blocks, in price-time priority.
// `limit` is per unit-hour and binds the block's total, not each leg: a buy
// pays at most limit x units x hours, a sell receives at least that. A block
// never trades with its owner's own orders or blocks; it passes over them.
struct NewBlockOrder {
  ClientOrderId client_order_id = 0;
  ParticipantId participant = 0;
  InstrumentId first_instrument = 0;
  std::uint32_t hours = 1;
  Side side = Side::buy;
  // A buy block takes every hour from one provider, the one that fills it for
  // the least (the earliest in the first hour's book on a tie); false lets
  // each hour's best offers fill it, whoever they belong to. A sell block has
  // one provider by nature and ignores it.
  bool one_provider = true;
  BlockTimeInForce time_in_force = BlockTimeInForce::immediate_or_cancel;
  Quantity units = 0;  // per hour
  Price limit = 0;     // micro-USD per unit-hour
};

// How many resting blocks one command re-tries against the hourly books: each
// try walks every hour of a span (up to 168 books), so the work an order
// causes stays bounded.
inline constexpr std::size_t kBlockRetriesPerCommand = 4;

struct CancelOrder {
  ParticipantId participant = 0;
  OrderId order = 0;
};

// Changes a resting order's price and remaining quantity. Lowering only the
// quantity keeps time priority; any other change loses it, and a new price that
// crosses the book trades at once.
struct ReplaceOrder {
  ParticipantId participant = 0;
  OrderId order = 0;
  Price price = 0;
  Quantity quantity = 0;  // new remaining quantity
};

// Cancels every resting order of a participant, or only those in one instrument.
struct MassCancel {
  ParticipantId participant = 0;
  std::optional<InstrumentId> instrument;
};

// Moves cash from available into collateral (positive) or back (negative).
// Collateral cannot be returned while the participant has traded GPU-hours
// awaiting settlement as a provider.
struct PostCollateral {
  ParticipantId participant = 0;
  Money amount = 0;
};

// The outcome of one scheduled verification challenge, as the verifier (off
// the engine thread) found it. Accepted only while the instrument delivers.
struct RecordChallengeOutcome {
  TradeId trade = 0;
  std::uint32_t index = 0;
  ChallengeOutcome outcome = ChallengeOutcome::passed;
  std::uint32_t failure = 0;  // the verifier's reason code when failed; kept for reports
};

// The market's terms from this command on, journaled so that the journal
// alone defines how it replays: gpuxd applies the configuration's first,
// and an operator may change them later. The fee hold cannot change while a
// buyer's money is reserved or escrowed under the old one (what was held
// would not be what is released); delivery terms apply to the challenges
// scheduled and the obligations settled after this command.
struct SetMarketTerms {
  std::uint32_t buyer_fee_ppm = 0;  // at most 1,000,000
  settlement::DeliveryTerms delivery;
  bool operator==(const SetMarketTerms&) const = default;
};

// The operator halts trading in an open instrument (halted = true) or
// resumes it. While halted, new orders, replaces and block orders over it
// are refused (instrument_halted); cancels go on, and resting orders stay.
// Gate closure ends a halt.
struct HaltInstrument {
  InstrumentId instrument = 0;
  bool halted = true;
};

// A FIX seat created, or changed as a whole: its password (a new hash is a
// rotation), cancel-on-disconnect, or enabled. A seat keeps its participant
// for life (seat_taken otherwise). Rare and large, so held by pointer.
struct SetSeat {
  explicit SetSeat(Seat s) : seat(std::make_shared<const Seat>(std::move(s))) {}
  std::shared_ptr<const Seat> seat;
};

// A provider registered, or its record replaced (its proven GPUs, its seat),
// when `record` is set; deregistered when it is not. The participant must
// exist (AddParticipant first) and a name belongs to one provider.
struct SetProvider {
  ParticipantId participant = 0;
  std::shared_ptr<const ProviderRecord> record;
};

// A product's terms (fees, price band) from `effective_from` on: at once
// when that sequence has passed, else held until the first command at or
// after it. Refused (invalid_product_terms) for a bad class or region, a
// fee above 100% or the buyers' fee hold, or a band reaching zero. Held
// by pointer: rare, and large.
struct SetProductTerms {
  explicit SetProductTerms(ProductTerms t)
      : terms(std::make_shared<const ProductTerms>(std::move(t))) {}
  std::shared_ptr<const ProductTerms> terms;
};

// Adds an SSH public key line to a participant's delivery profile: what its
// deliveries will let in. Refused: unknown_participant, invalid_delivery_key
// (check_delivery_key in delivery_keys.h), delivery_key_exists (the same
// key, whatever its comment), too_many_delivery_keys (kMaxDeliveryKeys).
struct AddDeliveryKey {
  ParticipantId participant = 0;
  std::shared_ptr<const std::string> key;  // held by pointer: rare, and large
};

// Removes the key of the profile with the identity of `key` ("TYPE BASE64",
// a comment ignored). Refused: unknown_delivery_key.
struct RemoveDeliveryKey {
  ParticipantId participant = 0;
  std::shared_ptr<const std::string> key;
};

// The provider's agent reports an obligation's access (delivery_access.h):
// opened (again, after an agent restart), failed, or revoked at the hour's
// end. Accepted while the instrument delivers and until revoked. Refused:
// unknown_obligation, invalid_delivery_record, delivery_not_open.
struct RecordDelivery {
  TradeId trade = 0;
  std::shared_ptr<const DeliveryAccess> access;  // held by pointer: rare, and large
};

using CommandBody =
    std::variant<NewOrder, CancelOrder, ReplaceOrder, MassCancel, ListInstrument,
                 ChangeInstrumentState, AddParticipant, AdjustCash, SetSellCapacity, PostCollateral,
                 RecordChallengeOutcome, NewBlockOrder, SetMarketTerms, HaltInstrument, SetSeat,
                 SetProvider, SetProductTerms, AddDeliveryKey, RemoveDeliveryKey, RecordDelivery>;

struct Command {
  Stamp stamp;
  CommandBody body;
};

}  // namespace gpux::matching

// The matching engine: a deterministic state machine from commands to events.
// It reads no clock, socket or disk; the same commands in give the same events
// and the same state hash out, whichever book implementation runs underneath.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gpux/matching/commands.h"
#include "gpux/matching/events.h"
#include "gpux/settlement/delivery.h"

namespace gpux::matching {

struct EngineConfig {
  std::uint32_t max_participants = 1u << 16;
  std::uint32_t max_instruments = 1u << 16;
  // Per side per instrument: bounds 2 * band_width / tick_size + 1.
  std::uint32_t max_price_levels = 1u << 18;
  // The fee hold, parts per million of notional: reserved with every buy and
  // escrowed with every fill. Settlement charges the instrument's maker or
  // taker rate, which may not exceed it, and refunds the rest.
  std::uint32_t buyer_fee_ppm = 0;
  settlement::DeliveryTerms delivery;
};

// Two books run through the same engine and the same tests: the fast one, and
// a deliberately simple one that the fast one is checked against.
enum class BookKind : std::uint8_t {
  price_ladder,  // array of price levels + bitset, intrusive queues, pooled orders
  reference,     // std::map of std::list; obviously correct, slow
};

// A participant's money. `cash` is everything the exchange holds for it
// outside collateral: available + reserved + committed (escrow).
struct AccountView {
  Money cash = 0;
  Money reserved = 0;    // held for open buy orders (price x quantity + fee hold)
  Money committed = 0;   // escrowed for bought GPU-hours, awaiting settlement
  Money collateral = 0;  // a provider's pledge for penalties
  Money receivable = 0;  // a provider's sold GPU-hours, awaiting settlement
  Money available() const { return cash - reserved - committed; }
  bool operator==(const AccountView&) const = default;
};

struct CapacityView {
  Quantity capacity = 0;  // what the provider may offer in total
  Quantity offered = 0;   // in open sell orders
  Quantity sold = 0;      // traded
  Quantity free() const { return capacity - offered - sold; }
  bool operator==(const CapacityView&) const = default;
};

struct OrderView {
  OrderId order = 0;
  ParticipantId participant = 0;
  InstrumentId instrument = 0;
  Side side = Side::buy;
  OrderType type = OrderType::limit;
  SelfTradePrevention self_trade = SelfTradePrevention::cancel_incoming;
  Price price = 0;
  Quantity remaining = 0;
  bool operator==(const OrderView&) const = default;
};

struct DepthLevel {
  Price price = 0;
  Quantity quantity = 0;
  std::uint32_t orders = 0;
  bool operator==(const DepthLevel&) const = default;
};

// Best levels first on both sides.
struct Depth {
  std::vector<DepthLevel> bids;
  std::vector<DepthLevel> asks;
  bool operator==(const Depth&) const = default;
};

struct TopOfBook {
  std::optional<DepthLevel> bid;
  std::optional<DepthLevel> ask;
  bool operator==(const TopOfBook&) const = default;
};

struct MemoryUsage {
  std::size_t order_pool_bytes = 0;   // pooled order records, free ones included
  std::size_t order_index_bytes = 0;  // order id -> order hash table
  std::size_t book_bytes = 0;         // price levels of every book
  std::size_t resting_orders = 0;
};

// A trade awaiting settlement. `outcomes` is empty until delivery starts.
struct ObligationView {
  TradeId trade = 0;
  ParticipantId buyer = 0;
  ParticipantId provider = 0;
  Price price = 0;
  Quantity quantity = 0;
  Money escrow = 0;  // the buyer's committed cash for it (notional + fee hold)
  bool buyer_is_taker = false;
  std::vector<ChallengeOutcome> outcomes;
  DeliveryAccess delivery;  // as the provider's agent last reported it
  bool operator==(const ObligationView&) const = default;
};

// The exchange's own ledger accounts (see settlement/ledger.h).
struct ExchangeAccounts {
  Money external = 0;  // minus everything deposited and not withdrawn
  Money fees = 0;
  Money penalties = 0;
  Money clearing = 0;  // minus every provider's receivable
  bool operator==(const ExchangeAccounts&) const = default;
};

struct InstrumentSnapshot {
  InstrumentSpec spec;
  InstrumentState state = InstrumentState::listed;
  std::vector<OrderView> bids;
  std::vector<OrderView> asks;
  std::vector<ObligationView> obligations;  // in trade order
  bool halted = false;                      // open, and trading halted by the operator
  // Delivering or later: the seed its challenge times were drawn with (the
  // terms may change the seed afterwards; these times do not change).
  std::uint64_t challenge_seed = 0;
  bool operator==(const InstrumentSnapshot&) const = default;
};

struct AccountSnapshot {
  ParticipantId participant = 0;
  AccountView view;
  std::vector<OrderId> resting;
  bool operator==(const AccountSnapshot&) const = default;
};

struct CapacitySnapshot {
  ParticipantId participant = 0;
  InstrumentId instrument = 0;
  CapacityView view;
  bool operator==(const CapacitySnapshot&) const = default;
};

// A block order resting until it fills, is cancelled or its span closes.
struct BlockView {
  OrderId block = 0;
  ClientOrderId client_order_id = 0;
  ParticipantId participant = 0;
  std::vector<InstrumentId> span;  // its hours, in delivery order
  Side side = Side::buy;
  bool one_provider = true;
  Quantity units = 0;  // per hour
  Price limit = 0;     // per unit-hour
  Quantity total() const { return units * static_cast<Quantity>(span.size()); }
  bool operator==(const BlockView&) const = default;
};

// A participant's delivery profile (delivery_keys.h): its key lines, in
// the order they were added.
struct DeliveryProfile {
  ParticipantId participant = 0;
  std::vector<std::string> keys;
  bool operator==(const DeliveryProfile&) const = default;
};

// Everything the engine knows, as plain values: what a snapshot stores.
// Orders are listed per side in priority order, and each account lists its
// resting orders in the engine's own order, so a restored engine replays the
// same future commands into the same events and the same state hash.
struct EngineSnapshot {
  OrderId next_order_id = 1;
  TradeId next_trade_id = 1;
  std::vector<InstrumentSnapshot> instruments;  // by id
  std::vector<AccountSnapshot> accounts;        // by participant
  std::vector<CapacitySnapshot> capacities;     // by participant, then instrument
  ExchangeAccounts exchange;
  // The terms the journal set last (SetMarketTerms); none: the engine's
  // configuration's, as in journals from before the command.
  std::optional<SetMarketTerms> market_terms;
  std::vector<Seat> seats;                          // by SenderCompID
  std::vector<ProviderRecord> providers;            // by participant
  std::vector<ProductTerms> product_terms;          // in effect, by class and region
  std::vector<ProductTerms> pending_product_terms;  // scheduled, by effective_from
  std::vector<BlockView> blocks;                    // resting block orders, by id
  std::vector<DeliveryProfile> delivery_profiles;   // by participant, none empty
  bool operator==(const EngineSnapshot&) const = default;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Applies one command; emits its events to the listener before returning.
  virtual void apply(const Command& command) = 0;

  // Covers instruments, books (in priority order), orders, accounts, sell
  // capacity and id counters; independent of the book implementation.
  virtual std::uint64_t state_hash() const = 0;

  // Full self-check of the state invariants (book not crossed, level totals,
  // reservations equal the open orders, index consistent). Empty when all hold.
  virtual std::vector<std::string> check_invariants() const = 0;

  virtual std::optional<InstrumentState> instrument_state(InstrumentId) const = 0;
  virtual std::optional<AccountView> account(ParticipantId) const = 0;
  virtual CapacityView capacity(ParticipantId, InstrumentId) const = 0;
  virtual ExchangeAccounts exchange_accounts() const = 0;
  // The balance of any ledger account, as the engine holds it.
  virtual Money balance(settlement::AccountRef) const = 0;
  virtual std::optional<OrderView> order(OrderId) const = 0;
  virtual TopOfBook top_of_book(InstrumentId) const = 0;
  virtual Depth depth(InstrumentId, std::size_t max_levels) const = 0;
  virtual MemoryUsage memory_usage() const = 0;

  virtual EngineSnapshot snapshot() const = 0;
};

std::unique_ptr<Engine> make_engine(const EngineConfig& config, EventListener& listener,
                                    BookKind book = BookKind::price_ladder);

// An engine in exactly the state `snapshot` describes. Throws
// std::invalid_argument naming the first problem if the snapshot is not a
// state the engine could have reached (its invariants do not hold).
std::unique_ptr<Engine> restore_engine(const EngineConfig& config, EventListener& listener,
                                       const EngineSnapshot& snapshot,
                                       BookKind book = BookKind::price_ladder);

}  // namespace gpux::matching

// The engine's state machine, written once over a Book (PriceLadderBook or
// ReferenceBook): validation, pre-trade risk, matching with self-trade
// prevention, and the events they produce.
#pragma once

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "flat_table.h"
#include "gpux/matching/delivery_keys.h"
#include "gpux/matching/engine.h"
#include "gpux/settlement/assert.h"
#include "gpux/settlement/delivery.h"
#include "order.h"
#include "state_hasher.h"

namespace gpux::matching {

// Largest price x quantity one order may reach (USD 1e9); keeps every product
// of money, fee rates and counts inside 64 bits.
inline constexpr Money kMaxOrderNotional = 1'000'000'000'000'000;

inline Money buyer_fee(Money notional, std::uint32_t fee_ppm) {
  return static_cast<Money>(static_cast<__int128>(notional) * fee_ppm / 1'000'000);
}

// Cash held for a buy of `quantity` at up to `price`. Because the fee rounds
// down, what any sequence of partial fills at or below `price` costs never
// exceeds what the reservation releases for them.
inline Money buy_reservation(Price price, Quantity quantity, std::uint32_t fee_ppm) {
  const Money notional = price * quantity;
  return notional + buyer_fee(notional, fee_ppm);
}

template <class Book>
class EngineCore final : public Engine {
 public:
  EngineCore(const EngineConfig& config, EventListener& listener)
      : config_(config), listener_(listener) {}

  void apply(const Command& command) override {
    stamp_ = command.stamp;
    // Product terms scheduled for this sequence take effect before the
    // command: a listing at that very sequence carries them.
    if (!pending_terms_.empty() && pending_terms_.front().effective_from <= stamp_.sequence)
      put_due_terms_in_effect();
    std::visit([this](const auto& body) { handle(body); }, command.body);
  }

  std::uint64_t state_hash() const override;
  std::vector<std::string> check_invariants() const override;
  EngineSnapshot snapshot() const override;
  // Loads a snapshot into this fresh engine; returns the invariant violations
  // of the result (empty when the snapshot was consistent).
  std::vector<std::string> restore(const EngineSnapshot& snapshot);

  std::optional<InstrumentState> instrument_state(InstrumentId id) const override {
    if (const Instrument* instrument = find_instrument(id)) return instrument->state;
    return std::nullopt;
  }

  std::optional<AccountView> account(ParticipantId id) const override {
    if (const Account* a = find_account(id)) return a->view;
    return std::nullopt;
  }

  CapacityView capacity(ParticipantId participant, InstrumentId instrument) const override {
    const CapacitySlot* slot = capacities_.find(capacity_key(participant, instrument));
    return slot ? slot->view : CapacityView{};
  }

  ExchangeAccounts exchange_accounts() const override { return exchange_; }

  Money balance(settlement::AccountRef ref) const override {
    using K = settlement::AccountKind;
    if (settlement::is_exchange_account(ref.kind))
      return const_cast<EngineCore*>(this)->exchange_field(ref.kind);
    const Account* a = find_account(ref.owner);
    if (a == nullptr) return 0;
    switch (ref.kind) {
      case K::available:
        return a->view.available();
      case K::reserved:
        return a->view.reserved;
      case K::escrow:
        return a->view.committed;
      case K::collateral:
        return a->view.collateral;
      case K::receivable:
        return a->view.receivable;
      default:
        return 0;
    }
  }

  std::optional<OrderView> order(OrderId id) const override {
    Order* const* slot = orders_.find(id);
    if (slot == nullptr) return std::nullopt;
    return view_of(**slot);
  }

  TopOfBook top_of_book(InstrumentId id) const override {
    TopOfBook top;
    const Depth d = depth(id, 1);
    if (!d.bids.empty()) top.bid = d.bids.front();
    if (!d.asks.empty()) top.ask = d.asks.front();
    return top;
  }

  Depth depth(InstrumentId id, std::size_t max_levels) const override {
    Depth depth;
    const Instrument* instrument = find_instrument(id);
    if (instrument == nullptr) return depth;
    for (Side side : {Side::buy, Side::sell}) {
      auto& out = side == Side::buy ? depth.bids : depth.asks;
      instrument->book->for_each_level(side, [&](const DepthLevel& level) {
        if (out.size() >= max_levels) return false;
        out.push_back(level);
        return true;
      });
    }
    return depth;
  }

  MemoryUsage memory_usage() const override {
    MemoryUsage usage{.order_pool_bytes = pool_.bytes(),
                      .order_index_bytes = orders_.bytes(),
                      .resting_orders = orders_.size()};
    for (const auto& instrument : instruments_)
      if (instrument) usage.book_bytes += instrument->book->bytes();
    return usage;
  }

 private:
  // A resting block's place among an hour's blocks: by side, then in
  // price-time priority (a buy's best limit is its highest), so that the
  // blocks a command tries come first without a sort.
  struct BlockRank {
    Side side = Side::buy;
    Price priority = 0;  // the limit; negated for buys
    OrderId block = 0;
    auto operator<=>(const BlockRank&) const = default;
  };
  static BlockRank rank_of(const BlockView& b) {
    return {.side = b.side, .priority = b.side == Side::buy ? -b.limit : b.limit, .block = b.block};
  }
  // The first rank of `side`'s blocks in an hour.
  static BlockRank first_rank(Side side) {
    return {.side = side, .priority = std::numeric_limits<Price>::min(), .block = 0};
  }

  struct Instrument {
    InstrumentSpec spec;
    InstrumentState state = InstrumentState::listed;
    Price min_price = 0;
    Price max_price = 0;
    std::unique_ptr<Book> book;
    std::vector<ObligationView> obligations;  // traded, not yet settled; in trade order
    bool halted = false;                      // open, with trading halted (HaltInstrument)
    std::set<BlockRank> blocks;               // resting blocks whose span holds this hour
    std::uint64_t challenge_seed = 0;         // its challenges' times were drawn with it
  };

  struct Account {
    AccountView view;
    Order* resting = nullptr;            // head of the participant's resting orders
    std::uint32_t open_obligations = 0;  // as provider; collateral stays locked while > 0
  };

  struct ObligationSlot {
    TradeId trade = 0;  // 0 = empty slot
    InstrumentId instrument = 0;
    std::uint32_t index = 0;  // in the instrument's obligations
  };
  struct ObligationSlotTraits {
    static std::uint64_t key(const ObligationSlot& s) { return s.trade; }
    static bool empty(const ObligationSlot& s) { return s.trade == 0; }
  };

  struct OrderSlotTraits {
    static std::uint64_t key(Order* const& o) { return o->id; }
    static bool empty(Order* const& o) { return o == nullptr; }
  };

  struct CapacitySlot {
    std::uint64_t key = 0;  // capacity_key(); 0 = empty slot
    CapacityView view;
  };
  struct CapacitySlotTraits {
    static std::uint64_t key(const CapacitySlot& s) { return s.key; }
    static bool empty(const CapacitySlot& s) { return s.key == 0; }
  };

  static OrderView view_of(const Order& o) {
    return OrderView{.order = o.id,
                     .participant = o.participant,
                     .instrument = o.instrument,
                     .side = o.side,
                     .type = o.type,
                     .self_trade = o.self_trade,
                     .price = o.price,
                     .remaining = o.remaining};
  }

  static std::uint64_t capacity_key(ParticipantId participant, InstrumentId instrument) {
    return (std::uint64_t{participant} + 1) << 32 | instrument;
  }

  // ---- lookups -------------------------------------------------------------

  Instrument* find_instrument(InstrumentId id) {
    return id < instruments_.size() && instruments_[id] ? &*instruments_[id] : nullptr;
  }
  const Instrument* find_instrument(InstrumentId id) const {
    return const_cast<EngineCore*>(this)->find_instrument(id);
  }
  Account* find_account(ParticipantId id) {
    return id < accounts_.size() && accounts_[id] ? &*accounts_[id] : nullptr;
  }
  const Account* find_account(ParticipantId id) const {
    return const_cast<EngineCore*>(this)->find_account(id);
  }
  CapacitySlot& capacity_slot(ParticipantId participant, InstrumentId instrument) {
    const std::uint64_t key = capacity_key(participant, instrument);
    if (CapacitySlot* slot = capacities_.find(key)) return *slot;
    return capacities_.insert(CapacitySlot{.key = key, .view = {}});
  }

  template <class E>
  void emit(E event) {
    event.stamp = stamp_;
    listener_.on_event(Event{std::move(event)});
  }

  void reject(RejectReason reason, ParticipantId participant, ClientOrderId client_order_id = 0,
              OrderId order = 0) {
    emit(CommandRejected{.reason = reason,
                         .participant = participant,
                         .client_order_id = client_order_id,
                         .order = order});
  }

  // ---- the ledger ----------------------------------------------------------
  // Balances live in the accounts' views (available is derived) and in
  // exchange_; every change goes through transfer(), which emits the posting.

  using AccountKind = settlement::AccountKind;
  using PostingReason = settlement::PostingReason;

  static settlement::AccountRef own(ParticipantId participant, AccountKind kind) {
    return {participant, kind};
  }
  static settlement::AccountRef exchange(AccountKind kind) {
    return settlement::exchange_account(kind);
  }

  Money& exchange_field(AccountKind kind) {
    switch (kind) {
      case AccountKind::fees:
        return exchange_.fees;
      case AccountKind::penalties:
        return exchange_.penalties;
      case AccountKind::clearing:
        return exchange_.clearing;
      default:
        return exchange_.external;
    }
  }

  void adjust(settlement::AccountRef ref, Money delta) {
    if (settlement::is_exchange_account(ref.kind)) {
      exchange_field(ref.kind) += delta;
      return;
    }
    AccountView& v = find_account(ref.owner)->view;
    switch (ref.kind) {
      case AccountKind::available:
        v.cash += delta;
        break;
      case AccountKind::reserved:
        v.reserved += delta, v.cash += delta;
        GPUX_ASSERT_MSG(v.reserved >= 0, "released more than the open buys hold");
        break;
      case AccountKind::escrow:
        v.committed += delta, v.cash += delta;
        GPUX_ASSERT_MSG(v.committed >= 0, "paid out more than the escrow holds");
        break;
      case AccountKind::collateral:
        v.collateral += delta;
        GPUX_ASSERT(v.collateral >= 0);
        break;
      case AccountKind::receivable:
        v.receivable += delta;
        GPUX_ASSERT(v.receivable >= 0);
        break;
      default:
        GPUX_ASSERT_MSG(false, "not a participant account");
    }
  }

  // `amount` from `from` to `to` when positive (for `in`), or its opposite
  // back from `to` to `from` when negative (for `out`): deposits and
  // withdrawals, collateral posted and taken back.
  void transfer_signed(settlement::AccountRef from, settlement::AccountRef to, Money amount,
                       PostingReason in, PostingReason out) {
    if (amount > 0) {
      transfer(from, to, amount, in);
    } else {
      transfer(to, from, -amount, out);
    }
  }

  void transfer(settlement::AccountRef from, settlement::AccountRef to, Money amount,
                PostingReason reason) {
    GPUX_ASSERT_MSG(amount >= 0, "a posting moves a positive amount from `from` to `to`");
    if (amount == 0) return;
    adjust(from, -amount);
    adjust(to, amount);
    emit(LedgerPosting{.posting = {.from = from, .to = to, .amount = amount, .reason = reason}});
  }

  // ---- admin commands ------------------------------------------------------

  // The first rule of the listing that `s` breaks, in the order of the reasons
  // in types.h; later rules rely on earlier ones (no division by a zero tick or
  // lot, no overflow past the notional limit).
  std::optional<RejectReason> invalid_spec(const InstrumentSpec& s) const {
    using R = RejectReason;
    if (s.id >= config_.max_instruments) return R::unknown_instrument;
    if (find_instrument(s.id) != nullptr) return R::instrument_exists;
    if (s.symbol.empty()) return R::invalid_symbol;
    if (s.delivery_end <= s.delivery_start) return R::invalid_delivery_window;
    if (s.gate_closure > s.delivery_start) return R::invalid_gate_closure;
    if (s.gpus_per_unit < 1) return R::invalid_gpus_per_unit;
    if (s.tick_size <= 0) return R::invalid_tick_size;
    if (s.lot_size <= 0) return R::invalid_lot_size;
    if (s.min_quantity <= 0 || s.min_quantity % s.lot_size != 0) return R::invalid_min_quantity;
    if (s.max_quantity < s.min_quantity || s.max_quantity % s.lot_size != 0)
      return R::invalid_max_quantity;
    if (s.reference_price <= 0 || s.reference_price % s.tick_size != 0 ||
        s.reference_price > kMaxOrderNotional)
      return R::invalid_reference_price;
    if (s.band_width < 0 || s.band_width % s.tick_size != 0 || s.band_width > kMaxOrderNotional ||
        s.reference_price - s.band_width < s.tick_size)
      return R::invalid_price_band;
    if (2 * (s.band_width / s.tick_size) + 1 > config_.max_price_levels)
      return R::too_many_price_levels;
    if (static_cast<__int128>(s.reference_price + s.band_width) * s.max_quantity >
        kMaxOrderNotional)
      return R::order_notional_too_large;
    const std::uint32_t max_fee_ppm = std::min(config_.buyer_fee_ppm, 1'000'000u);
    if (s.maker_fee_ppm > max_fee_ppm) return R::invalid_maker_fee;
    if (s.taker_fee_ppm > max_fee_ppm) return R::invalid_taker_fee;
    return std::nullopt;
  }

  void handle(const ListInstrument& c) {
    if (!c.spec) return reject(RejectReason::invalid_instrument_spec, 0);
    const InstrumentSpec& spec = *c.spec;
    if (auto reason = invalid_spec(spec)) return reject(*reason, 0);
    if (const auto terms = product_terms_.find({spec.gpu_class, spec.region});
        terms != product_terms_.end() && !carries(spec, terms->second))
      return reject(RejectReason::spec_differs_from_product_terms, 0);
    list(spec);
    emit(InstrumentListed{.instrument = spec.id});
  }

  // The spec must be valid and its id free.
  Instrument& list(const InstrumentSpec& spec) {
    if (instruments_.size() <= spec.id) instruments_.resize(spec.id + 1);
    Instrument& instrument = instruments_[spec.id].emplace();
    instrument.spec = spec;
    instrument.min_price = spec.reference_price - spec.band_width;
    instrument.max_price = spec.reference_price + spec.band_width;
    instrument.book = empty_book(instrument);
    // The lowest id of a (class, region, start): the same however the specs
    // come, listed one by one or restored from a snapshot in id order.
    const auto [hour, first] =
        hours_.emplace(HourKey{spec.gpu_class, spec.region, spec.delivery_start}, spec.id);
    if (!first && spec.id < hour->second) hour->second = spec.id;
    return instrument;
  }

  static std::unique_ptr<Book> empty_book(const Instrument& instrument) {
    const InstrumentSpec& spec = instrument.spec;
    const auto levels = static_cast<std::uint32_t>(2 * (spec.band_width / spec.tick_size) + 1);
    return std::make_unique<Book>(instrument.min_price, spec.tick_size, levels);
  }

  void handle(const HaltInstrument& c) {
    Instrument* instrument = find_instrument(c.instrument);
    if (instrument == nullptr) return reject(RejectReason::unknown_instrument, 0);
    if (instrument->state != InstrumentState::open || instrument->halted == c.halted)
      return reject(RejectReason::invalid_state_transition, 0);
    instrument->halted = c.halted;
    emit(InstrumentHalted{.instrument = c.instrument, .halted = c.halted});
  }

  void handle(const SetProductTerms& c) {
    const ProductTerms& t = *c.terms;
    constexpr std::uint32_t kWhole = 1'000'000;  // ppm
    if (!valid_access_name(t.gpu_class) || !valid_access_name(t.region) ||
        (!t.verification_profile.empty() && !valid_access_name(t.verification_profile)) ||
        std::max(t.maker_fee_ppm, t.taker_fee_ppm) > std::min(kWhole, config_.buyer_fee_ppm) ||
        t.reference_price <= 0 || t.band_width < 0 || t.band_width >= t.reference_price)
      return reject(RejectReason::invalid_product_terms, 0);
    if (t.effective_from <= stamp_.sequence) {
      product_terms_[{t.gpu_class, t.region}] = t;
      emit(ProductTermsSet{.terms = c.terms, .in_effect = true});
      return;
    }
    // After those scheduled for the same sequence: the later command wins.
    const auto at = std::upper_bound(
        pending_terms_.begin(), pending_terms_.end(), t.effective_from,
        [](SequenceNumber from, const ProductTerms& p) { return from < p.effective_from; });
    pending_terms_.insert(at, t);
    emit(ProductTermsSet{.terms = c.terms, .in_effect = false});
  }

  void put_due_terms_in_effect() {
    while (!pending_terms_.empty() && pending_terms_.front().effective_from <= stamp_.sequence) {
      const ProductTerms& t = pending_terms_.front();
      product_terms_[{t.gpu_class, t.region}] = t;
      emit(ProductTermsSet{.terms = std::make_shared<const ProductTerms>(t), .in_effect = true});
      pending_terms_.erase(pending_terms_.begin());
    }
  }

  void handle(const SetSeat& c) {
    const Seat& seat = *c.seat;
    if (!valid_access_name(seat.sender_comp_id) || seat.password_hash.size() > kMaxAccessSecret ||
        (seat.no_password && !seat.password_hash.empty()))
      return reject(RejectReason::invalid_seat, seat.participant);
    const auto held = seats_.find(seat.sender_comp_id);
    if (held != seats_.end() && held->second.participant != seat.participant)
      return reject(RejectReason::seat_taken, seat.participant);
    seats_[seat.sender_comp_id] = seat;
    emit(SeatSet{.participant = seat.participant});
  }

  void handle(const SetProvider& c) {
    if (find_account(c.participant) == nullptr)
      return reject(RejectReason::unknown_participant, c.participant);
    const auto held = providers_.find(c.participant);
    if (!c.record) {
      if (held == providers_.end()) return reject(RejectReason::unknown_provider, c.participant);
      providers_.erase(held);
      emit(ProviderSet{.participant = c.participant, .registered = false});
      return;
    }
    const ProviderRecord& r = *c.record;
    bool valid = r.participant == c.participant && valid_access_name(r.name) &&
                 valid_access_name(r.region) && r.token_hash.size() <= kMaxAccessSecret &&
                 (r.fix_sender_comp_id.empty() || valid_access_name(r.fix_sender_comp_id));
    for (const ProvenGpus& g : r.gpus)
      valid = valid && valid_access_name(g.gpu_class) && valid_access_name(g.region);
    if (!valid) return reject(RejectReason::invalid_provider, c.participant);
    for (const auto& [participant, other] : providers_)
      if (participant != c.participant && other.name == r.name)
        return reject(RejectReason::provider_name_taken, c.participant);
    providers_[c.participant] = r;
    emit(ProviderSet{.participant = c.participant, .registered = true});
  }

  // The key of `keys` that `key` is, whatever either's comment.
  static std::vector<std::string>::iterator find_delivery_key(std::vector<std::string>& keys,
                                                              const std::string& key) {
    const std::string identity = delivery_key_identity(key);
    return std::find_if(keys.begin(), keys.end(),
                        [&](const std::string& k) { return delivery_key_identity(k) == identity; });
  }

  void handle(const AddDeliveryKey& c) {
    if (find_account(c.participant) == nullptr)
      return reject(RejectReason::unknown_participant, c.participant);
    if (!c.key || check_delivery_key(*c.key) != DeliveryKeyProblem::none)
      return reject(RejectReason::invalid_delivery_key, c.participant);
    // A refusal below needs a key there already: no empty profile is left.
    std::vector<std::string>& keys = delivery_keys_[c.participant];
    if (find_delivery_key(keys, *c.key) != keys.end())
      return reject(RejectReason::delivery_key_exists, c.participant);
    if (keys.size() == kMaxDeliveryKeys)
      return reject(RejectReason::too_many_delivery_keys, c.participant);
    keys.push_back(*c.key);
    emit(DeliveryKeyChanged{.participant = c.participant, .key = c.key, .added = true});
  }

  void handle(const RemoveDeliveryKey& c) {
    const auto profile = delivery_keys_.find(c.participant);
    if (profile == delivery_keys_.end() || !c.key)
      return reject(RejectReason::unknown_delivery_key, c.participant);
    std::vector<std::string>& keys = profile->second;
    const auto found = find_delivery_key(keys, *c.key);
    if (found == keys.end()) return reject(RejectReason::unknown_delivery_key, c.participant);
    auto removed = std::make_shared<const std::string>(*found);
    keys.erase(found);
    if (keys.empty()) delivery_keys_.erase(profile);
    emit(DeliveryKeyChanged{
        .participant = c.participant, .key = std::move(removed), .added = false});
  }

  void handle(const ChangeInstrumentState& c) {
    Instrument* instrument = find_instrument(c.instrument);
    if (instrument == nullptr) return reject(RejectReason::unknown_instrument, 0);
    if (static_cast<int>(c.state) != static_cast<int>(instrument->state) + 1)
      return reject(RejectReason::invalid_state_transition, 0);
    instrument->state = c.state;
    instrument->halted = false;  // gate closure ends a halt: nothing trades after it anyway
    emit(InstrumentStateChanged{.instrument = c.instrument, .state = c.state});
    if (c.state == InstrumentState::gate_closed) {
      for (Side side : {Side::buy, Side::sell}) {
        while (Order* o = instrument->book->best(side)) {
          emit(OrderExpired{.order = o->id,
                            .participant = o->participant,
                            .instrument = o->instrument,
                            .expired = o->remaining,
                            .reason = ExpireReason::gate_closure});
          release(*o, o->remaining);
          remove_resting(*instrument, *o);
        }
      }
      // A block needs every hour of its span: those over this one end.
      std::vector<OrderId> over;  // in id order, as they came
      for (const BlockRank& rank : instrument->blocks)
        over.push_back(rank.block);
      std::sort(over.begin(), over.end());
      for (OrderId id : over)
        end_block(id, std::nullopt);
      // No order can rest here again: give the price ladder's memory back.
      instrument->book = empty_book(*instrument);
      for (const ObligationView& o : instrument->obligations)
        emit(ObligationCreated{.trade = o.trade,
                               .instrument = c.instrument,
                               .buyer = o.buyer,
                               .provider = o.provider,
                               .price = o.price,
                               .quantity = o.quantity});
    } else if (c.state == InstrumentState::delivering) {
      schedule_challenges(*instrument);
    } else if (c.state == InstrumentState::settled) {
      settle_deliveries(*instrument);
    }
  }

  // ---- delivery and settlement --------------------------------------------

  void schedule_challenges(Instrument& instrument) {
    const settlement::DeliveryTerms& terms = config_.delivery;
    GPUX_ASSERT(terms.challenges_per_obligation > 0);
    const InstrumentSpec& spec = instrument.spec;
    instrument.challenge_seed = terms.challenge_seed;
    for (ObligationView& o : instrument.obligations) {
      // One challenge per unit and round: all of a provider's units in a
      // round are challenged at once, so each needs a device of its own.
      const std::uint64_t count = std::uint64_t{terms.challenges_per_obligation} * o.quantity;
      GPUX_ASSERT(count <= std::numeric_limits<std::uint32_t>::max());
      o.outcomes.assign(count, ChallengeOutcome::pending);
      for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint32_t round = settlement::challenge_slot(i, o.quantity).round;
        emit(ChallengeScheduled{
            .trade = o.trade,
            .index = i,
            .instrument = spec.id,
            .provider = o.provider,
            .at = settlement::challenge_time(terms.challenge_seed, round, spec.delivery_start,
                                             spec.delivery_end),
            .round = round});
      }
    }
  }

  // Challenges still pending when the hour is over count as timed out.
  void settle_deliveries(Instrument& instrument) {
    const InstrumentSpec& spec = instrument.spec;
    for (ObligationView& o : instrument.obligations) {
      std::uint32_t passed = 0;
      for (std::uint32_t i = 0; i < o.outcomes.size(); ++i) {
        if (o.outcomes[i] == ChallengeOutcome::pending) {
          o.outcomes[i] = ChallengeOutcome::timed_out;
          emit(ChallengeRecorded{
              .trade = o.trade, .index = i, .outcome = ChallengeOutcome::timed_out, .failure = 0});
        }
        passed += o.outcomes[i] == ChallengeOutcome::passed;
      }
      Account& provider = *find_account(o.provider);
      const settlement::SettlementFigures f = settlement::settle({
          .price = o.price,
          .quantity = o.quantity,
          .escrow = o.escrow,
          .buyer_fee_ppm = o.buyer_is_taker ? spec.taker_fee_ppm : spec.maker_fee_ppm,
          .provider_fee_ppm = o.buyer_is_taker ? spec.maker_fee_ppm : spec.taker_fee_ppm,
          .challenges = static_cast<std::uint32_t>(o.outcomes.size()),
          .passed = passed,
          .collateral = provider.view.collateral,
          .penalty_ppm = config_.delivery.penalty_ppm,
      });
      emit(ObligationSettled{.trade = o.trade,
                             .instrument = spec.id,
                             .buyer = o.buyer,
                             .provider = o.provider,
                             .price = o.price,
                             .quantity = o.quantity,
                             .challenges = static_cast<std::uint32_t>(o.outcomes.size()),
                             .passed = passed,
                             .figures = f});
      const auto escrow = own(o.buyer, AccountKind::escrow);
      transfer(escrow, own(o.provider, AccountKind::available), f.paid_to_provider,
               PostingReason::payout);
      transfer(escrow, exchange(AccountKind::fees), f.buyer_fee, PostingReason::fee);
      transfer(escrow, exchange(AccountKind::fees), f.provider_fee, PostingReason::fee);
      transfer(escrow, own(o.buyer, AccountKind::available), f.refund, PostingReason::refund);
      transfer(own(o.provider, AccountKind::receivable), exchange(AccountKind::clearing),
               o.price * o.quantity, PostingReason::receivable_due);
      transfer(own(o.provider, AccountKind::collateral), exchange(AccountKind::penalties),
               f.penalty, PostingReason::penalty);
      --provider.open_obligations;
      obligation_index_.erase(o.trade);
    }
    instrument.obligations = {};
  }

  void handle(const RecordChallengeOutcome& c) {
    const ObligationSlot* slot = obligation_index_.find(c.trade);
    if (slot == nullptr) return reject(RejectReason::unknown_obligation, 0);
    Instrument& instrument = *find_instrument(slot->instrument);
    ObligationView& o = instrument.obligations[slot->index];
    if (instrument.state != InstrumentState::delivering || c.index >= o.outcomes.size() ||
        c.outcome == ChallengeOutcome::pending)
      return reject(RejectReason::invalid_challenge, o.provider);
    if (o.outcomes[c.index] != ChallengeOutcome::pending)
      return reject(RejectReason::challenge_already_recorded, o.provider);
    o.outcomes[c.index] = c.outcome;
    emit(ChallengeRecorded{
        .trade = c.trade, .index = c.index, .outcome = c.outcome, .failure = c.failure});
  }

  void handle(const RecordDelivery& c) {
    const ObligationSlot* slot = obligation_index_.find(c.trade);
    if (slot == nullptr) return reject(RejectReason::unknown_obligation, 0);
    Instrument& instrument = *find_instrument(slot->instrument);
    ObligationView& o = instrument.obligations[slot->index];
    if (!c.access || delivery_access_problem(*c.access) != nullptr)
      return reject(RejectReason::invalid_delivery_record, o.provider);
    if (instrument.state != InstrumentState::delivering ||
        o.delivery.stage == DeliveryStage::revoked)
      return reject(RejectReason::delivery_not_open, o.provider);
    o.delivery = *c.access;
    emit(DeliveryRecorded{.trade = c.trade,
                          .instrument = slot->instrument,
                          .buyer = o.buyer,
                          .provider = o.provider,
                          .access = c.access});
  }

  void handle(const PostCollateral& c) {
    Account* account = find_account(c.participant);
    if (account == nullptr) return reject(RejectReason::unknown_participant, c.participant);
    AccountView& v = account->view;
    if (c.amount == 0) return reject(RejectReason::invalid_amount, c.participant);
    if (c.amount > v.available()) return reject(RejectReason::insufficient_cash, c.participant);
    if (c.amount < -v.collateral)
      return reject(RejectReason::insufficient_collateral, c.participant);
    if (c.amount < 0 && account->open_obligations > 0)
      return reject(RejectReason::collateral_locked, c.participant);
    emit(CollateralChanged{
        .participant = c.participant, .amount = c.amount, .balance = v.collateral + c.amount});
    transfer_signed(own(c.participant, AccountKind::available),
                    own(c.participant, AccountKind::collateral), c.amount,
                    PostingReason::collateral, PostingReason::collateral);
  }

  void handle(const AddParticipant& c) {
    if (c.participant >= config_.max_participants)
      return reject(RejectReason::unknown_participant, c.participant);
    if (find_account(c.participant) != nullptr)
      return reject(RejectReason::participant_exists, c.participant);
    add_account(c.participant);
    emit(ParticipantAdded{.participant = c.participant});
  }

  Account& add_account(ParticipantId participant) {
    if (accounts_.size() <= participant) accounts_.resize(participant + 1);
    return accounts_[participant].emplace();
  }

  void handle(const AdjustCash& c) {
    Account* account = find_account(c.participant);
    if (account == nullptr) return reject(RejectReason::unknown_participant, c.participant);
    Money balance = 0;
    if (c.amount == 0 || __builtin_add_overflow(account->view.cash, c.amount, &balance))
      return reject(RejectReason::invalid_amount, c.participant);
    if (c.amount < 0 && c.amount < -account->view.available())
      return reject(RejectReason::insufficient_cash, c.participant);
    emit(CashAdjusted{.participant = c.participant, .amount = c.amount, .balance = balance});
    transfer_signed(exchange(AccountKind::external), own(c.participant, AccountKind::available),
                    c.amount, PostingReason::deposit, PostingReason::withdrawal);
  }

  void handle(const SetMarketTerms& c) {
    constexpr std::uint32_t kWhole = 1'000'000;  // ppm
    if (c.buyer_fee_ppm > kWhole || c.delivery.challenges_per_obligation == 0 ||
        c.delivery.challenges_per_obligation > settlement::kMaxRoundsPerHour ||
        c.delivery.penalty_ppm > 10 * kWhole)
      return reject(RejectReason::invalid_market_terms, 0);
    for (const auto& instrument : instruments_)
      if (instrument && std::max(instrument->spec.maker_fee_ppm, instrument->spec.taker_fee_ppm) >
                            c.buyer_fee_ppm)
        return reject(RejectReason::invalid_market_terms, 0);  // its fee would exceed the hold
    for (const auto* terms : product_terms_in_all())
      if (std::max(terms->maker_fee_ppm, terms->taker_fee_ppm) > c.buyer_fee_ppm)
        return reject(RejectReason::invalid_market_terms, 0);  // a product's would
    if (c.buyer_fee_ppm != config_.buyer_fee_ppm)
      for (const auto& account : accounts_)
        if (account && (account->view.reserved != 0 || account->view.committed != 0))
          return reject(RejectReason::market_terms_locked, 0);
    config_.buyer_fee_ppm = c.buyer_fee_ppm;
    config_.delivery = c.delivery;
    market_terms_set_ = true;
    emit(MarketTermsSet{.buyer_fee_ppm = c.buyer_fee_ppm, .delivery = c.delivery});
  }

  void handle(const SetSellCapacity& c) {
    if (find_account(c.participant) == nullptr)
      return reject(RejectReason::unknown_participant, c.participant);
    if (find_instrument(c.instrument) == nullptr)
      return reject(RejectReason::unknown_instrument, c.participant);
    if (c.capacity < 0) return reject(RejectReason::invalid_amount, c.participant);
    CapacitySlot& slot = capacity_slot(c.participant, c.instrument);
    if (c.capacity < slot.view.offered + slot.view.sold)
      return reject(RejectReason::insufficient_capacity, c.participant);
    slot.view.capacity = c.capacity;
    emit(SellCapacitySet{
        .participant = c.participant, .instrument = c.instrument, .capacity = c.capacity});
  }

  // ---- orders --------------------------------------------------------------

  static bool crosses(Side taker_side, Price taker_limit, Price resting_price) {
    return taker_side == Side::buy ? resting_price <= taker_limit : resting_price >= taker_limit;
  }

  bool would_take(const Instrument& instrument, Side side, Price price) const {
    const Order* best = instrument.book->best(opposite(side));
    return best != nullptr && crosses(side, price, best->price);
  }

  // Whether cash or capacity allows growing an order's hold from `old_quantity`
  // at `old_price` to `quantity` at `price`.
  bool affordable(ParticipantId participant, const Instrument& instrument, Side side,
                  Price old_price, Quantity old_quantity, Price price, Quantity quantity) {
    if (side == Side::buy) {
      const Money extra = buy_reservation(price, quantity, config_.buyer_fee_ppm) -
                          buy_reservation(old_price, old_quantity, config_.buyer_fee_ppm);
      return extra <= find_account(participant)->view.available();
    }
    const CapacitySlot* slot = capacities_.find(capacity_key(participant, instrument.spec.id));
    return quantity - old_quantity <= (slot ? slot->view.free() : 0);
  }

  void hold(const Order& o) {
    if (o.side == Side::buy) {
      transfer(
          own(o.participant, AccountKind::available), own(o.participant, AccountKind::reserved),
          buy_reservation(o.price, o.remaining, config_.buyer_fee_ppm), PostingReason::reserve);
    } else {
      capacity_slot(o.participant, o.instrument).view.offered += o.remaining;
    }
  }

  // Gives back the hold for `quantity` units the order no longer needs.
  // Call before the order's remaining quantity is lowered.
  void release(const Order& o, Quantity quantity) {
    if (o.side == Side::buy) {
      transfer(own(o.participant, AccountKind::reserved),
               own(o.participant, AccountKind::available), released_hold(o, quantity),
               PostingReason::release);
    } else {
      CapacityView& capacity = capacity_slot(o.participant, o.instrument).view;
      capacity.offered -= quantity;
      GPUX_ASSERT_MSG(capacity.offered >= 0, "released more than the open sells offer");
    }
  }

  Money released_hold(const Order& buy, Quantity quantity) const {
    GPUX_ASSERT(quantity > 0 && quantity <= buy.remaining);
    return buy_reservation(buy.price, buy.remaining, config_.buyer_fee_ppm) -
           buy_reservation(buy.price, buy.remaining - quantity, config_.buyer_fee_ppm);
  }

  // A buyer's side of a fill: the notional and its fee hold, from reserved
  // to escrow. What it escrowed.
  Money escrow_purchase(ParticipantId buyer, Money notional) {
    const Money escrowed = notional + buyer_fee(notional, config_.buyer_fee_ppm);
    transfer(own(buyer, AccountKind::reserved), own(buyer, AccountKind::escrow), escrowed,
             PostingReason::trade);
    return escrowed;
  }

  // A provider's side of a fill: the units sold, the notional receivable.
  void book_sale(ParticipantId provider, InstrumentId instrument, Quantity quantity,
                 Money notional) {
    capacity_slot(provider, instrument).view.sold += quantity;
    transfer(exchange(AccountKind::clearing), own(provider, AccountKind::receivable), notional,
             PostingReason::trade);
  }

  // Turns the hold for `quantity` units into a traded obligation at `price`:
  // the buyer's cash into escrow (notional + fee hold), the provider's
  // receivable. Call before the order's remaining quantity is lowered.
  void commit_fill(const Order& o, Quantity quantity, Price price) {
    const Money notional = price * quantity;
    if (o.side == Side::buy) {
      const Money released = released_hold(o, quantity);
      const Money escrowed = escrow_purchase(o.participant, notional);
      transfer(own(o.participant, AccountKind::reserved),
               own(o.participant, AccountKind::available), released - escrowed,
               PostingReason::release);
    } else {
      release(o, quantity);
      book_sale(o.participant, o.instrument, quantity, notional);
    }
  }

  void handle(const NewOrder& c) {
    const auto refuse = [&](RejectReason reason) {
      reject(reason, c.participant, c.client_order_id);
    };
    Instrument* instrument = find_instrument(c.instrument);
    if (instrument == nullptr) return refuse(RejectReason::unknown_instrument);
    if (instrument->state != InstrumentState::open)
      return refuse(RejectReason::instrument_not_open);
    if (instrument->halted) return refuse(RejectReason::instrument_halted);
    if (find_account(c.participant) == nullptr) return refuse(RejectReason::unknown_participant);
    if (auto reason = invalid_quantity(instrument->spec, c.quantity)) return refuse(*reason);
    Price price = c.price;
    if (c.type == OrderType::market && price == 0)
      price = c.side == Side::buy ? instrument->max_price : instrument->min_price;
    if (auto reason = invalid_price(instrument->spec, price)) return refuse(*reason);
    if (!affordable(c.participant, *instrument, c.side, 0, 0, price, c.quantity))
      return refuse(c.side == Side::buy ? RejectReason::insufficient_cash
                                        : RejectReason::insufficient_capacity);
    if (c.type == OrderType::post_only && would_take(*instrument, c.side, price))
      return refuse(RejectReason::post_only_would_take);

    Order& o = *pool_.allocate();
    o = Order{.id = next_order_id_++,
              .price = price,
              .remaining = c.quantity,
              .participant = c.participant,
              .instrument = c.instrument,
              .side = c.side,
              .type = c.type,
              .self_trade = c.self_trade};
    emit(OrderAccepted{.order = o.id,
                       .client_order_id = c.client_order_id,
                       .participant = c.participant,
                       .instrument = c.instrument,
                       .side = c.side,
                       .type = c.type,
                       .price = price,
                       .quantity = c.quantity});
    if (c.type == OrderType::fill_or_kill && !can_fill_completely(*instrument, o)) {
      emit(OrderExpired{.order = o.id,
                        .participant = o.participant,
                        .instrument = o.instrument,
                        .expired = o.remaining,
                        .reason = ExpireReason::fill_or_kill});
      pool_.release(&o);
      return;
    }
    hold(o);
    match(*instrument, o);
    if (o.remaining == 0) {
      pool_.release(&o);
    } else if (c.type == OrderType::limit || c.type == OrderType::post_only) {
      add_resting(*instrument, o);
      if (!instrument->blocks.empty()) retry_blocks(*instrument, opposite(c.side));
    } else {
      emit(OrderExpired{.order = o.id,
                        .participant = o.participant,
                        .instrument = o.instrument,
                        .expired = o.remaining,
                        .reason = ExpireReason::unfilled_remainder});
      release(o, o.remaining);
      pool_.release(&o);
    }
  }

  // A fill-or-kill fills completely only from other participants' orders that
  // it reaches before an own order would stop it (every self-trade mode but
  // cancel_resting stops or shrinks the incoming order).
  bool can_fill_completely(const Instrument& instrument, const Order& taker) const {
    Quantity available = 0;
    instrument.book->for_each_order(opposite(taker.side), [&](const Order& resting) {
      if (!crosses(taker.side, taker.price, resting.price)) return false;
      if (resting.participant == taker.participant)
        return taker.self_trade == SelfTradePrevention::cancel_resting;
      available += resting.remaining;
      return available < taker.remaining;
    });
    return available >= taker.remaining;
  }

  // ---- block orders (defined in block_matching.h) ---------------------------
  // A block is planned in full without touching any state, then executed;
  // a plan that fails leaves no trace but the reject (or the block rests).

  struct BlockLeg {
    Instrument* instrument = nullptr;
    Order* maker = nullptr;
    Quantity quantity = 0;
  };

  struct BlockPlan {
    std::vector<BlockLeg> legs;  // hour by hour, each hour in its book's priority order
    Money notional = 0;
  };

  void handle(const NewBlockOrder& c);
  std::optional<RejectReason> block_span(const NewBlockOrder& c, std::vector<InstrumentId>& span);
  Instrument* next_hour(const Instrument& hour);
  // Whether every hour of the span still trades (open, not halted).
  bool span_trades(const BlockView& b);
  Quantity take_hour(Instrument& hour, const BlockView& b, std::optional<ParticipantId> only,
                     BlockPlan& plan);
  std::optional<BlockPlan> plan_from(const BlockView& b, std::optional<ParticipantId> only);
  std::optional<ParticipantId> cheapest_provider(const BlockView& b);
  std::optional<BlockPlan> plan_block(const BlockView& b);
  std::vector<OrderId> opposite_blocks(const BlockView& b);

  void announce_fill(const BlockView& b, Money notional, std::uint32_t legs);
  void hold_block(const BlockView& b);
  void release_block(const BlockView& b);
  Money block_reservation(const BlockView& b) const {
    return buy_reservation(b.limit, b.total(), config_.buyer_fee_ppm);
  }
  void sell_leg(ParticipantId provider, InstrumentId hour, Quantity quantity, Money notional);
  void fill_from_books(const BlockView& b, const BlockPlan& plan, bool held);
  void release_unescrowed(const BlockView& buy, Money escrowed);
  void fill_against_blocks(const BlockView& incoming, const std::vector<OrderId>& matched);
  void rest_block(BlockView b);
  BlockView take_block(OrderId id);  // out of the resting blocks and their hours' index
  // Cancels a resting block (`cancel` set) or expires it at gate closure.
  void end_block(OrderId id, std::optional<CancelReason> cancel);
  void retry_blocks(Instrument& hour, Side blocks_side);

  void match(Instrument& instrument, Order& taker) {
    Book& book = *instrument.book;
    while (taker.remaining > 0) {
      Order* maker = book.best(opposite(taker.side));
      if (maker == nullptr || !crosses(taker.side, taker.price, maker->price)) return;
      if (maker->participant == taker.participant) {
        prevent_self_trade(instrument, taker, *maker);
        continue;
      }
      const Quantity quantity = std::min(taker.remaining, maker->remaining);
      fill_maker(instrument, *maker, quantity,
                 {.order = taker.id,
                  .participant = taker.participant,
                  .side = taker.side,
                  .remaining_after = taker.remaining - quantity},
                 [&](Price price) { commit_fill(taker, quantity, price); });
      taker.remaining -= quantity;
    }
  }

  struct Taker {
    OrderId order = 0;
    ParticipantId participant = 0;
    Side side = Side::buy;
    Quantity remaining_after = 0;  // what the taker still wants after this fill
  };

  struct TradeParty {
    OrderId order = 0;
    ParticipantId participant = 0;
    Quantity remaining = 0;  // what it still wants after this trade
  };

  // Emits a Trade and records its obligation; the money is the caller's.
  void record_trade(Instrument& instrument, Price price, Quantity quantity, Side aggressor,
                    const TradeParty& maker, const TradeParty& taker) {
    GPUX_ASSERT_MSG(maker.participant != taker.participant, "no trade with oneself");
    const TradeId trade = next_trade_id_++;
    emit(Trade{.trade = trade,
               .instrument = instrument.spec.id,
               .price = price,
               .quantity = quantity,
               .aggressor = aggressor,
               .maker_order = maker.order,
               .maker = maker.participant,
               .maker_remaining = maker.remaining,
               .taker_order = taker.order,
               .taker = taker.participant,
               .taker_remaining = taker.remaining});
    const bool buyer_is_taker = aggressor == Side::buy;
    const Money notional = price * quantity;
    add_obligation(instrument, {.trade = trade,
                                .buyer = buyer_is_taker ? taker.participant : maker.participant,
                                .provider = buyer_is_taker ? maker.participant : taker.participant,
                                .price = price,
                                .quantity = quantity,
                                .escrow = notional + buyer_fee(notional, config_.buyer_fee_ppm),
                                .buyer_is_taker = buyer_is_taker,
                                .outcomes = {},
                                .delivery = {}});
  }

  // Trades `quantity` of the resting `maker` with a taker: the Trade and its
  // obligation, both sides' money and capacity (the taker's through
  // `commit_taker`, called with the price), and the maker's book entry.
  template <class CommitTaker>
  void fill_maker(Instrument& instrument, Order& maker, Quantity quantity, const Taker& taker,
                  CommitTaker&& commit_taker) {
    GPUX_ASSERT_MSG(quantity > 0 && quantity <= maker.remaining,
                    "only orders with a positive remainder rest or take");
    record_trade(instrument, maker.price, quantity, taker.side,
                 {.order = maker.id,
                  .participant = maker.participant,
                  .remaining = maker.remaining - quantity},
                 {.order = taker.order,
                  .participant = taker.participant,
                  .remaining = taker.remaining_after});
    commit_fill(maker, quantity, maker.price);
    commit_taker(maker.price);
    instrument.book->reduce(maker, quantity);
    if (maker.remaining == 0) remove_resting(instrument, maker);
  }

  void prevent_self_trade(Instrument& instrument, Order& taker, Order& maker) {
    Quantity maker_cut = maker.remaining;
    Quantity taker_cut = taker.remaining;
    switch (taker.self_trade) {
      case SelfTradePrevention::cancel_resting:
        taker_cut = 0;
        break;
      case SelfTradePrevention::cancel_incoming:
        maker_cut = 0;
        break;
      case SelfTradePrevention::cancel_both:
        break;
      case SelfTradePrevention::decrement_and_cancel:
        maker_cut = taker_cut = std::min(maker.remaining, taker.remaining);
        break;
    }
    if (maker_cut > 0) {
      release(maker, maker_cut);
      instrument.book->reduce(maker, maker_cut);
      emit(OrderCanceled{.order = maker.id,
                         .participant = maker.participant,
                         .instrument = maker.instrument,
                         .canceled = maker_cut,
                         .remaining = maker.remaining,
                         .reason = CancelReason::self_trade});
      if (maker.remaining == 0) remove_resting(instrument, maker);
    }
    if (taker_cut > 0) {
      release(taker, taker_cut);
      taker.remaining -= taker_cut;
      emit(OrderCanceled{.order = taker.id,
                         .participant = taker.participant,
                         .instrument = taker.instrument,
                         .canceled = taker_cut,
                         .remaining = taker.remaining,
                         .reason = CancelReason::self_trade});
    }
  }

  void add_obligation(Instrument& instrument, ObligationView obligation) {
    obligation_index_.insert({.trade = obligation.trade,
                              .instrument = instrument.spec.id,
                              .index = static_cast<std::uint32_t>(instrument.obligations.size())});
    ++find_account(obligation.provider)->open_obligations;
    instrument.obligations.push_back(std::move(obligation));
  }

  void add_resting(Instrument& instrument, Order& o) {
    instrument.book->insert(o);
    orders_.insert(&o);
    Account& owner = *find_account(o.participant);
    o.prev_of_owner = nullptr;
    o.next_of_owner = owner.resting;
    if (owner.resting != nullptr) owner.resting->prev_of_owner = &o;
    owner.resting = &o;
  }

  // Takes a resting order out of the book and every index; its hold must
  // already be released.
  void remove_resting(Instrument& instrument, Order& o) {
    instrument.book->erase(o);
    forget(o);
  }

  // Drops an order that is out of its book from the id index and its owner's
  // list, and frees it.
  void forget(Order& o) {
    orders_.erase(o.id);
    Account& owner = *find_account(o.participant);
    (o.prev_of_owner ? o.prev_of_owner->next_of_owner : owner.resting) = o.next_of_owner;
    if (o.next_of_owner != nullptr) o.next_of_owner->prev_of_owner = o.prev_of_owner;
    pool_.release(&o);
  }

  void cancel_resting(Order& o, CancelReason reason) {
    emit(OrderCanceled{.order = o.id,
                       .participant = o.participant,
                       .instrument = o.instrument,
                       .canceled = o.remaining,
                       .remaining = 0,
                       .reason = reason});
    release(o, o.remaining);
    remove_resting(*find_instrument(o.instrument), o);
  }

  // The resting order `id` if it exists and belongs to `participant`;
  // otherwise rejects the command and returns null.
  Order* owned_order(ParticipantId participant, OrderId id) {
    Order** slot = orders_.find(id);
    if (slot == nullptr) {
      reject(RejectReason::unknown_order, participant, 0, id);
      return nullptr;
    }
    if ((*slot)->participant != participant) {
      reject(RejectReason::not_order_owner, participant, 0, id);
      return nullptr;
    }
    return *slot;
  }

  // Whether resting block `id` is `participant`'s; rejects the command when
  // it is another's.
  bool owns_block(ParticipantId participant, OrderId id) {
    if (blocks_.at(id).participant == participant) return true;
    reject(RejectReason::not_order_owner, participant, 0, id);
    return false;
  }

  void handle(const CancelOrder& c) {
    if (!blocks_.empty() && blocks_.contains(c.order)) {
      if (owns_block(c.participant, c.order)) end_block(c.order, CancelReason::requested);
      return;
    }
    if (Order* o = owned_order(c.participant, c.order)) cancel_resting(*o, CancelReason::requested);
  }

  void handle(const ReplaceOrder& c) {
    if (!blocks_.empty() && blocks_.contains(c.order)) {
      if (owns_block(c.participant, c.order))
        reject(RejectReason::block_not_replaceable, c.participant, 0, c.order);
      return;
    }
    Order* found = owned_order(c.participant, c.order);
    if (found == nullptr) return;
    Order& o = *found;
    Instrument& instrument = *find_instrument(o.instrument);
    const auto refuse = [&](RejectReason reason) { reject(reason, c.participant, 0, c.order); };
    // A replace can cross the book: it waits out a halt like a new order.
    if (instrument.halted) return refuse(RejectReason::instrument_halted);
    if (auto reason = invalid_quantity(instrument.spec, c.quantity)) return refuse(*reason);
    if (auto reason = invalid_price(instrument.spec, c.price)) return refuse(*reason);
    if (!affordable(o.participant, instrument, o.side, o.price, o.remaining, c.price, c.quantity))
      return refuse(o.side == Side::buy ? RejectReason::insufficient_cash
                                        : RejectReason::insufficient_capacity);
    if (o.type == OrderType::post_only && would_take(instrument, o.side, c.price))
      return refuse(RejectReason::post_only_would_take);

    if (c.price == o.price && c.quantity <= o.remaining) {
      if (c.quantity < o.remaining) {
        release(o, o.remaining - c.quantity);
        instrument.book->reduce(o, o.remaining - c.quantity);
      }
      emit(OrderReplaced{.order = o.id,
                         .participant = o.participant,
                         .instrument = o.instrument,
                         .price = o.price,
                         .quantity = o.remaining,
                         .kept_priority = true});
      return;
    }
    instrument.book->erase(o);
    release(o, o.remaining);
    o.price = c.price;
    o.remaining = c.quantity;
    hold(o);
    emit(OrderReplaced{.order = o.id,
                       .participant = o.participant,
                       .instrument = o.instrument,
                       .price = o.price,
                       .quantity = o.remaining,
                       .kept_priority = false});
    match(instrument, o);
    if (o.remaining > 0) {
      instrument.book->insert(o);
      if (!instrument.blocks.empty()) retry_blocks(instrument, opposite(o.side));
    } else {
      forget(o);
    }
  }

  void handle(const MassCancel& c) {
    Account* account = find_account(c.participant);
    if (account == nullptr) return reject(RejectReason::unknown_participant, c.participant);
    if (c.instrument && find_instrument(*c.instrument) == nullptr)
      return reject(RejectReason::unknown_instrument, c.participant);
    std::uint32_t canceled = 0;
    for (Order* o = account->resting; o != nullptr;) {
      Order* next = o->next_of_owner;
      if (!c.instrument || o->instrument == *c.instrument) {
        cancel_resting(*o, CancelReason::mass_cancel);
        ++canceled;
      }
      o = next;
    }
    std::vector<OrderId> blocks;
    for (const auto& [id, b] : blocks_)
      if (b.participant == c.participant &&
          (!c.instrument || std::find(b.span.begin(), b.span.end(), *c.instrument) != b.span.end()))
        blocks.push_back(id);
    for (OrderId id : blocks)
      end_block(id, CancelReason::mass_cancel);
    canceled += static_cast<std::uint32_t>(blocks.size());
    emit(MassCancelDone{
        .participant = c.participant, .instrument = c.instrument, .canceled_orders = canceled});
  }

  EngineConfig config_;            // its market terms as the journal last set them
  bool market_terms_set_ = false;  // by a SetMarketTerms, rather than the configuration
  EventListener& listener_;
  Stamp stamp_;
  std::vector<std::optional<Instrument>> instruments_;
  std::vector<std::optional<Account>> accounts_;
  FlatTable<CapacitySlot, CapacitySlotTraits> capacities_;
  OrderPool pool_;
  FlatTable<Order*, OrderSlotTraits> orders_{1u << 14};
  OrderId next_order_id_ = 1;
  TradeId next_trade_id_ = 1;
  ExchangeAccounts exchange_;
  FlatTable<ObligationSlot, ObligationSlotTraits> obligation_index_;  // unsettled obligations
  // Which instrument delivers a class in a region from a start time: how a
  // block finds its consecutive hours. Derived from the specs (the lowest id
  // wins), so neither hashed nor snapshotted.
  using HourKey = std::tuple<std::string, std::string, std::int64_t>;
  std::map<HourKey, InstrumentId> hours_;
  std::map<OrderId, BlockView> blocks_;                              // resting block orders
  std::map<ParticipantId, std::vector<std::string>> delivery_keys_;  // none empty
  std::map<std::string, Seat> seats_;                                // by SenderCompID
  std::map<ParticipantId, ProviderRecord> providers_;                // registered providers
  // Product terms in effect, by (class, region); those scheduled, by the
  // sequence they take effect at (in the order they came, on a tie).
  std::map<std::pair<std::string, std::string>, ProductTerms> product_terms_;
  std::vector<ProductTerms> pending_terms_;
  std::vector<const ProductTerms*> product_terms_in_all() const {
    std::vector<const ProductTerms*> all;
    for (const auto& [product, terms] : product_terms_)
      all.push_back(&terms);
    for (const ProductTerms& terms : pending_terms_)
      all.push_back(&terms);
    return all;
  }
};

template <class Book>
std::uint64_t EngineCore<Book>::state_hash() const {
  StateHasher h;
  h.add(next_order_id_);
  h.add(next_trade_id_);
  for (const auto& instrument : instruments_) {
    if (!instrument) continue;
    const InstrumentSpec& s = instrument->spec;
    h.add(s.id);
    h.add(s.symbol);
    h.add(s.gpu_class);
    h.add(s.region);
    for (std::int64_t v :
         {s.delivery_start, s.delivery_end, s.gate_closure, s.tick_size, s.lot_size, s.min_quantity,
          s.max_quantity, s.reference_price, s.band_width})
      h.add(v);
    h.add(s.gpus_per_unit);
    h.add(s.maker_fee_ppm);
    h.add(s.taker_fee_ppm);
    h.add(instrument->state);
    if (instrument->halted) h.add(std::uint64_t{0x68616c74});  // only then: older hashes stay
    if (instrument->challenge_seed != 0) h.add(instrument->challenge_seed);
    for (const ObligationView& o : instrument->obligations) {
      h.add(o.trade);
      h.add(o.buyer);
      h.add(o.provider);
      h.add(o.price);
      h.add(o.quantity);
      h.add(o.escrow);
      h.add(std::uint64_t{o.buyer_is_taker});
      for (ChallengeOutcome outcome : o.outcomes)
        h.add(outcome);
      if (o.delivery.stage != DeliveryStage::none) {  // only then: older hashes stay
        h.add(o.delivery.stage);
        h.add(o.delivery.host);
        h.add(std::uint32_t{o.delivery.port});
        h.add(o.delivery.user);
        h.add(o.delivery.host_key_fingerprint);
        h.add(o.delivery.detail);
        h.add(o.delivery.processes_ended);
      }
      h.add(~std::uint64_t{0});
    }
    for (Side side : {Side::buy, Side::sell}) {
      instrument->book->for_each_order(side, [&](const Order& o) {
        h.add(o.id);
        h.add(o.participant);
        h.add(o.side);
        h.add(o.type);
        h.add(o.self_trade);
        h.add(o.price);
        h.add(o.remaining);
        return true;
      });
      h.add(~std::uint64_t{0});  // side separator
    }
  }
  for (std::size_t id = 0; id < accounts_.size(); ++id) {
    if (!accounts_[id]) continue;
    const Account& a = *accounts_[id];
    h.add(std::uint64_t{id});
    h.add(a.view.cash);
    h.add(a.view.reserved);
    h.add(a.view.committed);
    h.add(a.view.collateral);
    h.add(a.view.receivable);
    for (const Order* o = a.resting; o != nullptr; o = o->next_of_owner)
      h.add(o->id);
  }
  std::vector<const CapacitySlot*> capacities;
  capacities_.for_each([&](const CapacitySlot& slot) { capacities.push_back(&slot); });
  std::sort(capacities.begin(), capacities.end(),
            [](const CapacitySlot* a, const CapacitySlot* b) { return a->key < b->key; });
  for (const CapacitySlot* slot : capacities) {
    h.add(slot->key);
    h.add(slot->view.capacity);
    h.add(slot->view.offered);
    h.add(slot->view.sold);
  }
  for (Money balance :
       {exchange_.external, exchange_.fees, exchange_.penalties, exchange_.clearing})
    h.add(balance);
  // Only once journaled: the hashes of journals from before SetMarketTerms
  // stay what their snapshots recorded.
  if (market_terms_set_) {
    h.add(config_.buyer_fee_ppm);
    h.add(config_.delivery.challenges_per_obligation);
    h.add(config_.delivery.penalty_ppm);
    h.add(config_.delivery.challenge_seed);
  }
  // Seats and providers only once there are any: older journals' hashes
  // stay what their snapshots recorded.
  for (const auto& [sender, seat] : seats_) {
    h.add(sender);
    h.add(seat.participant);
    h.add(seat.password_hash);
    h.add(std::uint64_t{seat.no_password} | std::uint64_t{seat.cancel_on_disconnect} << 1 |
          std::uint64_t{seat.enabled} << 2);
  }
  for (const ProductTerms* t : product_terms_in_all()) {
    h.add(t->gpu_class);
    h.add(t->region);
    h.add(t->maker_fee_ppm);
    h.add(t->taker_fee_ppm);
    h.add(t->reference_price);
    h.add(t->band_width);
    h.add(t->verification_profile);
    h.add(t->effective_from);
  }
  for (const auto& [id, b] : blocks_) {  // only once there are any, as above
    h.add(id);
    h.add(b.client_order_id);
    h.add(b.participant);
    for (InstrumentId hour : b.span)
      h.add(hour);
    h.add(b.side);
    h.add(std::uint64_t{b.one_provider});
    h.add(b.units);
    h.add(b.limit);
  }
  for (const auto& [participant, keys] : delivery_keys_) {  // only once there are any
    h.add(participant);
    for (const std::string& key : keys)
      h.add(key);
    h.add(~std::uint64_t{0});
  }
  for (const auto& [participant, p] : providers_) {
    h.add(participant);
    for (const std::string* field : {&p.name, &p.region, &p.token_hash, &p.fix_sender_comp_id})
      h.add(*field);
    for (const ProvenGpus& g : p.gpus) {
      h.add(g.gpu_class);
      h.add(g.region);
      h.add(g.count);
    }
    h.add(~std::uint64_t{0});
  }
  return h.value();
}

template <class Book>
std::vector<std::string> EngineCore<Book>::check_invariants() const {
  std::vector<std::string> problems;
  const auto fail = [&](std::string what) { problems.push_back(std::move(what)); };
  std::vector<Money> reserved(accounts_.size(), 0);
  std::vector<Money> escrowed(accounts_.size(), 0);
  std::vector<Money> receivable(accounts_.size(), 0);
  std::vector<std::uint32_t> open_obligations(accounts_.size(), 0);
  std::vector<std::pair<std::uint64_t, Quantity>> offered;
  std::size_t resting = 0;
  std::size_t obligations = 0;

  for (const auto& instrument : instruments_) {
    if (!instrument) continue;
    const auto name = [&] { return "instrument " + std::to_string(instrument->spec.id); };
    const Book& book = *instrument->book;
    const Order* bid = book.best(Side::buy);
    const Order* ask = book.best(Side::sell);
    if (bid && ask && bid->price >= ask->price) fail(name() + ": book crossed");
    if ((bid || ask) && instrument->state != InstrumentState::open)
      fail(name() + ": resting orders while not open");
    if (instrument->halted && instrument->state != InstrumentState::open)
      fail(name() + ": halted while not open");
    for (std::uint32_t i = 0; i < instrument->obligations.size(); ++i) {
      const ObligationView& o = instrument->obligations[i];
      const auto what = [&] { return name() + " obligation " + std::to_string(o.trade); };
      const ObligationSlot* slot = obligation_index_.find(o.trade);
      if (slot == nullptr || slot->instrument != instrument->spec.id || slot->index != i)
        fail(what() + ": not in the obligation index");
      if (o.buyer >= accounts_.size() || !accounts_[o.buyer] || o.provider >= accounts_.size() ||
          !accounts_[o.provider]) {
        fail(what() + ": unknown party");
        continue;
      }
      if (o.quantity <= 0 || o.price <= 0 || o.escrow < o.price * o.quantity)
        fail(what() + ": bad figures");
      if (o.outcomes.empty() != (instrument->state < InstrumentState::delivering))
        fail(what() + ": challenges do not match the instrument's state");
      escrowed[o.buyer] += o.escrow;
      receivable[o.provider] += o.price * o.quantity;
      ++open_obligations[o.provider];
      ++obligations;
    }
    if (instrument->state == InstrumentState::settled && !instrument->obligations.empty())
      fail(name() + ": settled with obligations left");
    for (Side side : {Side::buy, Side::sell}) {
      std::vector<DepthLevel> from_orders;
      book.for_each_order(side, [&](const Order& o) {
        const auto order = [&] { return name() + " order " + std::to_string(o.id); };
        if (o.side != side || o.instrument != instrument->spec.id) fail(order() + ": misfiled");
        if (o.remaining <= 0 || o.remaining % instrument->spec.lot_size != 0)
          fail(order() + ": bad remaining quantity");
        if (invalid_price(instrument->spec, o.price)) fail(order() + ": bad price");
        if (o.type != OrderType::limit && o.type != OrderType::post_only)
          fail(order() + ": type that cannot rest");
        Order* const* indexed = orders_.find(o.id);
        if (indexed == nullptr || *indexed != &o) fail(order() + ": not in the id index");
        if (from_orders.empty() || from_orders.back().price != o.price) {
          if (!from_orders.empty() && !crosses(opposite(side), o.price, from_orders.back().price))
            fail(order() + ": out of price priority");
          from_orders.push_back({o.price, 0, 0});
        }
        from_orders.back().quantity += o.remaining;
        ++from_orders.back().orders;
        if (o.participant >= reserved.size() || !accounts_[o.participant]) {
          fail(order() + ": unknown owner");
        } else if (side == Side::buy) {
          reserved[o.participant] += buy_reservation(o.price, o.remaining, config_.buyer_fee_ppm);
        } else {
          offered.emplace_back(capacity_key(o.participant, o.instrument), o.remaining);
        }
        ++resting;
        return true;
      });
      std::vector<DepthLevel> levels;
      book.for_each_level(side, [&](const DepthLevel& level) {
        levels.push_back(level);
        return true;
      });
      if (levels != from_orders) fail(name() + ": level totals differ from their orders");
    }
  }

  for (const auto& [id, b] : blocks_) {
    const auto block = [&] { return "block " + std::to_string(id); };
    if (b.block != id || id >= next_order_id_ || orders_.find(id) != nullptr)
      fail(block() + ": id reused or out of sequence");
    if (b.participant >= reserved.size() || !accounts_[b.participant]) {
      fail(block() + ": unknown owner");
      continue;
    }
    if (b.span.empty() || b.span.size() > kMaxBlockHours || b.units <= 0 || b.limit <= 0)
      fail(block() + ": bad figures");
    for (InstrumentId hour : b.span) {
      const Instrument* instrument = find_instrument(hour);
      if (instrument == nullptr || instrument->state != InstrumentState::open ||
          !instrument->blocks.contains(rank_of(b)))
        fail(block() + ": over an hour that is not open or does not list it");
      else if (b.side == Side::sell)
        offered.emplace_back(capacity_key(b.participant, hour), b.units);
    }
    if (b.side == Side::buy) reserved[b.participant] += block_reservation(b);
  }
  for (const auto& instrument : instruments_)
    if (instrument)
      for (const BlockRank& rank : instrument->blocks)
        if (!blocks_.contains(rank.block))
          fail("instrument " + std::to_string(instrument->spec.id) + ": lists a gone block");

  if (resting != orders_.size()) fail("id index size differs from resting orders");
  if (resting != pool_.in_use()) fail("order pool holds orders that rest nowhere");

  if (obligations != obligation_index_.size()) fail("obligation index holds settled trades");
  // Double entry: what participants hold is exactly what the exchange's own
  // accounts owe the world.
  __int128 ledger_sum =
      __int128{exchange_.external} + exchange_.fees + exchange_.penalties + exchange_.clearing;
  std::size_t owned = 0;
  for (std::size_t id = 0; id < accounts_.size(); ++id) {
    if (!accounts_[id]) continue;
    const Account& a = *accounts_[id];
    const auto name = [&] { return "participant " + std::to_string(id); };
    if (a.view.reserved != reserved[id]) fail(name() + ": reserved cash differs from open buys");
    if (a.view.committed < 0 || a.view.available() < 0) fail(name() + ": cash overdrawn");
    if (a.view.committed != escrowed[id]) fail(name() + ": escrow differs from obligations");
    if (a.view.receivable != receivable[id]) fail(name() + ": receivable differs from obligations");
    if (a.open_obligations != open_obligations[id])
      fail(name() + ": open obligation count differs");
    if (a.view.collateral < 0) fail(name() + ": negative collateral");
    ledger_sum += a.view.cash + a.view.collateral + a.view.receivable;
    const Order* prev = nullptr;
    for (const Order* o = a.resting; o != nullptr; prev = o, o = o->next_of_owner) {
      if (o->participant != id || o->prev_of_owner != prev) fail(name() + ": broken order list");
      ++owned;
    }
  }
  if (owned != resting) fail("owner lists differ from resting orders");
  if (ledger_sum != 0) fail("ledger balances do not sum to zero");

  std::sort(offered.begin(), offered.end());
  capacities_.for_each([&](const CapacitySlot& slot) {
    Quantity expected = 0;
    for (auto it =
             std::lower_bound(offered.begin(), offered.end(), std::pair{slot.key, Quantity{0}});
         it != offered.end() && it->first == slot.key; ++it)
      expected += it->second;
    const CapacityView& v = slot.view;
    if (v.offered != expected) fail("capacity " + std::to_string(slot.key) + ": offered differs");
    if (v.sold < 0 || v.free() < 0)
      fail("capacity " + std::to_string(slot.key) + ": overcommitted");
  });
  for (const auto& [key, quantity] : offered)
    if (capacities_.find(key) == nullptr) fail("sell order without a capacity entry");
  return problems;
}

template <class Book>
EngineSnapshot EngineCore<Book>::snapshot() const {
  EngineSnapshot s{.next_order_id = next_order_id_,
                   .next_trade_id = next_trade_id_,
                   .instruments = {},
                   .accounts = {},
                   .capacities = {},
                   .exchange = exchange_,
                   .market_terms = std::nullopt,
                   .seats = {},
                   .providers = {},
                   .product_terms = {},
                   .pending_product_terms = pending_terms_,
                   .blocks = {},
                   .delivery_profiles = {}};
  for (const auto& [product, terms] : product_terms_)
    s.product_terms.push_back(terms);
  for (const auto& instrument : instruments_) {
    if (!instrument) continue;
    InstrumentSnapshot& out = s.instruments.emplace_back();
    out.spec = instrument->spec;
    out.state = instrument->state;
    out.obligations = instrument->obligations;
    out.halted = instrument->halted;
    out.challenge_seed = instrument->challenge_seed;
    for (Side side : {Side::buy, Side::sell}) {
      instrument->book->for_each_order(side, [&](const Order& o) {
        (side == Side::buy ? out.bids : out.asks).push_back(view_of(o));
        return true;
      });
    }
  }
  for (std::size_t id = 0; id < accounts_.size(); ++id) {
    if (!accounts_[id]) continue;
    AccountSnapshot& out = s.accounts.emplace_back();
    out.participant = static_cast<ParticipantId>(id);
    out.view = accounts_[id]->view;
    for (const Order* o = accounts_[id]->resting; o != nullptr; o = o->next_of_owner)
      out.resting.push_back(o->id);
  }
  capacities_.for_each([&](const CapacitySlot& slot) {
    s.capacities.push_back({static_cast<ParticipantId>((slot.key >> 32) - 1),
                            static_cast<InstrumentId>(slot.key & 0xFFFFFFFFu), slot.view});
  });
  std::sort(s.capacities.begin(), s.capacities.end(), [](const auto& a, const auto& b) {
    return capacity_key(a.participant, a.instrument) < capacity_key(b.participant, b.instrument);
  });
  if (market_terms_set_)
    s.market_terms =
        SetMarketTerms{.buyer_fee_ppm = config_.buyer_fee_ppm, .delivery = config_.delivery};
  for (const auto& [sender, seat] : seats_)
    s.seats.push_back(seat);
  for (const auto& [participant, provider] : providers_)
    s.providers.push_back(provider);
  for (const auto& [id, b] : blocks_)
    s.blocks.push_back(b);
  for (const auto& [participant, keys] : delivery_keys_)
    s.delivery_profiles.push_back({.participant = participant, .keys = keys});
  return s;
}

template <class Book>
std::vector<std::string> EngineCore<Book>::restore(const EngineSnapshot& s) {
  const auto refuse = [](std::string what) { return std::vector<std::string>{std::move(what)}; };
  next_order_id_ = s.next_order_id;
  next_trade_id_ = s.next_trade_id;
  exchange_ = s.exchange;
  if (s.market_terms) {
    config_.buyer_fee_ppm = s.market_terms->buyer_fee_ppm;
    config_.delivery = s.market_terms->delivery;
    market_terms_set_ = true;
  }
  for (const AccountSnapshot& a : s.accounts) {
    if (a.participant >= config_.max_participants || find_account(a.participant))
      return refuse("participant " + std::to_string(a.participant) + ": invalid or repeated");
    add_account(a.participant).view = a.view;
  }
  for (const InstrumentSnapshot& i : s.instruments) {
    if (invalid_spec(i.spec))
      return refuse("instrument " + std::to_string(i.spec.id) + ": invalid spec");
    Instrument& instrument = list(i.spec);
    instrument.state = i.state;
    instrument.halted = i.halted;
    instrument.challenge_seed = i.challenge_seed;
    for (const auto* side : {&i.bids, &i.asks}) {
      for (const OrderView& v : *side) {
        if (v.instrument != i.spec.id || orders_.find(v.order) || v.order >= next_order_id_ ||
            !find_account(v.participant) || invalid_price(instrument.spec, v.price) ||
            v.remaining <= 0)
          return refuse("order " + std::to_string(v.order) + ": invalid or repeated");
        Order& o = *pool_.allocate();
        o = Order{.id = v.order,
                  .price = v.price,
                  .remaining = v.remaining,
                  .participant = v.participant,
                  .instrument = v.instrument,
                  .side = v.side,
                  .type = v.type,
                  .self_trade = v.self_trade};
        instrument.book->insert(o);
        orders_.insert(&o);
      }
    }
    for (const ObligationView& o : i.obligations) {
      if (o.trade == 0 || o.trade >= next_trade_id_ || obligation_index_.find(o.trade) ||
          !find_account(o.buyer) || !find_account(o.provider) ||
          (o.delivery.stage != DeliveryStage::none && delivery_access_problem(o.delivery)))
        return refuse("obligation " + std::to_string(o.trade) + ": invalid or repeated");
      add_obligation(instrument, o);
    }
  }
  for (const AccountSnapshot& a : s.accounts) {
    Account& account = *find_account(a.participant);
    for (auto id = a.resting.rbegin(); id != a.resting.rend(); ++id) {
      Order** slot = orders_.find(*id);
      if (slot == nullptr || (*slot)->participant != a.participant)
        return refuse("participant " + std::to_string(a.participant) + ": lists a foreign order");
      Order& o = **slot;
      o.prev_of_owner = nullptr;
      o.next_of_owner = account.resting;
      if (account.resting != nullptr) account.resting->prev_of_owner = &o;
      account.resting = &o;
    }
  }
  for (const CapacitySnapshot& c : s.capacities) {
    if (!find_account(c.participant) || !find_instrument(c.instrument) ||
        capacities_.find(capacity_key(c.participant, c.instrument)))
      return refuse("capacity entry: invalid or repeated");
    capacity_slot(c.participant, c.instrument).view = c.view;
  }
  for (const Seat& seat : s.seats)
    if (!valid_access_name(seat.sender_comp_id) ||
        !seats_.emplace(seat.sender_comp_id, seat).second)
      return refuse("seat " + seat.sender_comp_id + ": invalid or repeated");
  for (const ProviderRecord& p : s.providers)
    if (!find_account(p.participant) || !providers_.emplace(p.participant, p).second)
      return refuse("provider " + std::to_string(p.participant) + ": invalid or repeated");
  for (const ProductTerms& t : s.product_terms)
    if (!product_terms_.emplace(std::pair{t.gpu_class, t.region}, t).second)
      return refuse("product terms " + t.gpu_class + "." + t.region + ": repeated");
  if (!std::is_sorted(
          s.pending_product_terms.begin(), s.pending_product_terms.end(),
          [](const auto& a, const auto& b) { return a.effective_from < b.effective_from; }))
    return refuse("scheduled product terms out of order");
  pending_terms_ = s.pending_product_terms;
  for (const BlockView& b : s.blocks) {
    if (blocks_.contains(b.block) || orders_.find(b.block) || b.block >= next_order_id_ ||
        !find_account(b.participant) || b.span.empty() ||
        !std::all_of(b.span.begin(), b.span.end(),
                     [&](InstrumentId hour) { return find_instrument(hour) != nullptr; }))
      return refuse("block " + std::to_string(b.block) + ": invalid or repeated");
    for (InstrumentId hour : b.span)
      find_instrument(hour)->blocks.insert(rank_of(b));
    blocks_.emplace(b.block, b);
  }
  for (const DeliveryProfile& p : s.delivery_profiles) {
    const bool valid = find_account(p.participant) && !p.keys.empty() &&
                       p.keys.size() <= kMaxDeliveryKeys &&
                       std::all_of(p.keys.begin(), p.keys.end(), [](const std::string& k) {
                         return check_delivery_key(k) == DeliveryKeyProblem::none;
                       });
    if (!valid || !delivery_keys_.emplace(p.participant, p.keys).second)
      return refuse("delivery profile " + std::to_string(p.participant) + ": invalid or repeated");
  }
  return check_invariants();
}

}  // namespace gpux::matching

#include "block_matching.h"  // EngineCore's block order members

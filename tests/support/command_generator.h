// Seeded random command streams for property tests: small price bands and few
// participants, so that crossing, self-trades, risk rejections, invalid input
// and instrument lifecycles are all frequent.
#pragma once

#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "gpux/matching/resting_orders.h"
#include "market.h"
#include "ssh_keys.h"

namespace gpux::test {

constexpr Price kReference = 1'000'000;
constexpr Price kTick = 1'000;
constexpr ParticipantId kParticipants = 8;

// Small price band and few participants, so that crossing, self-trades and
// risk rejections are all frequent.
inline InstrumentSpec small_spec(InstrumentId id) {
  InstrumentSpec spec = standard_spec(id);
  spec.tick_size = kTick;
  spec.reference_price = kReference;
  spec.band_width = 20 * kTick;
  spec.lot_size = id % 2 == 0 ? 1 : 5;
  spec.min_quantity = spec.lot_size;
  spec.max_quantity = 40 * spec.lot_size;
  // Consecutive ids deliver consecutive hours, so block orders can span them.
  return hours_later(spec, id);
}

class CommandGenerator {
 public:
  explicit CommandGenerator(std::uint64_t seed) : random_(seed) {}

  std::vector<CommandBody> setup() {
    std::vector<CommandBody> commands;
    for (ParticipantId p = 0; p < kParticipants; ++p) {
      commands.push_back(AddParticipant{p});
      if (p != 0) commands.push_back(AdjustCash{p, money(20'000'000, 400'000'000)});
    }
    for (int i = 0; i < 2; ++i)
      list_next_instrument(commands);
    return commands;
  }

  CommandBody next() {
    if (!pending_.empty()) return advance_instrument();
    if (halted_ && --halted_->second == 0) {
      const InstrumentId instrument = halted_->first;
      halted_.reset();
      return HaltInstrument{instrument, false};
    }
    const int roll = pick(0, 999);
    if (roll < 20) return block_order();
    if (roll < 450) return new_order();
    if (roll < 630) {
      if (!blocks_.empty() && pick(0, 9) == 0) {
        const auto& [block, owner] = some_block();
        return CancelOrder{pick(0, 9) == 0 ? participant() : owner, block};
      }
      const OrderId order = some_order();
      return CancelOrder{owner_or_stranger(order), order};
    }
    if (roll < 880) return replace();
    if (roll < 890) {
      std::optional<InstrumentId> only;
      if (pick(0, 1) == 0) only = some_instrument();
      return MassCancel{participant(), only};
    }
    if (roll < 930) {
      const Money amount = pick(0, 3) == 0 ? -money(0, 100'000'000) : money(1, 50'000'000);
      return AdjustCash{participant(), amount};
    }
    if (roll < 970) return SetSellCapacity{participant(), some_instrument(), pick(0, 600)};
    if (roll < 971) return advance_instrument();
    if (roll < 978) {
      const Money amount = pick(0, 2) == 0 ? -money(0, 20'000'000) : money(1, 20'000'000);
      return PostCollateral{participant(), amount};
    }
    if (roll < 995) return challenge_outcome();
    if (roll < 997) return market_terms();
    if (roll < 998) return access_change();
    if (roll < 999 && !halted_) {
      // A short halt: resumed 20 commands on, so that trading goes on.
      halted_ = {some_instrument(), 20};
      return HaltInstrument{halted_->first, true};
    }
    if (pick(0, 1) == 0) return access_change();
    return new_order();
  }

  // Called with every event, to learn which orders rest and who owns them,
  // and which challenges are scheduled.
  void observe(const Event& event) {
    resting_.observe(event);
    if (const auto* b = std::get_if<BlockOrderRested>(&event)) {
      blocks_.emplace_back(b->block, b->participant);
    } else if (const OrderId ended = ended_block(event); ended != 0) {
      std::erase_if(blocks_, [&](const auto& block) { return block.first == ended; });
    }
    if (const auto* c = std::get_if<ChallengeScheduled>(&event))
      challenges_.push_back({c->trade, c->index});
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random_); }
  Money money(Money lo, Money hi) { return std::uniform_int_distribution<Money>(lo, hi)(random_); }
  ParticipantId participant() {
    // Now and then one that does not exist.
    return pick(0, 99) == 0 ? kParticipants + 3
                            : static_cast<ParticipantId>(pick(0, kParticipants - 1));
  }
  InstrumentId some_instrument() {
    if (pick(0, 199) == 0) return next_instrument_ + 5;                  // unknown
    if (!closing_.empty() && pick(0, 99) == 0) return closing_.front();  // not open
    return open_[static_cast<std::size_t>(pick(0, static_cast<int>(open_.size()) - 1))];
  }
  // A resting order, or now and then an id that is most likely finished or unknown.
  OrderId some_order() {
    if (resting_.empty() || pick(0, 19) == 0) return static_cast<OrderId>(pick(1, 1'000'000));
    return resting_[static_cast<std::size_t>(pick(0, static_cast<int>(resting_.size()) - 1))].order;
  }
  const std::pair<OrderId, ParticipantId>& some_block() {
    return blocks_[static_cast<std::size_t>(pick(0, static_cast<int>(blocks_.size()) - 1))];
  }
  // The order an event ends, if it may be a block.
  static OrderId ended_block(const Event& event) {
    if (const auto* f = std::get_if<BlockOrderFilled>(&event)) return f->block;
    if (const auto* c = std::get_if<OrderCanceled>(&event); c && c->remaining == 0) return c->order;
    if (const auto* e = std::get_if<OrderExpired>(&event)) return e->order;
    return 0;
  }
  // Mostly the order's owner, sometimes someone else.
  ParticipantId owner_or_stranger(OrderId order) {
    const RestingOrders::Entry* entry = resting_.find(order);
    return entry && pick(0, 9) != 0 ? entry->participant : participant();
  }
  Price price() {
    const int offset = pick(-12, 12);
    Price p = kReference + offset * kTick;
    const int oddity = pick(0, 99);
    if (oddity == 0) p += kTick / 2;               // off tick
    if (oddity == 1) p = kReference + 21 * kTick;  // outside the band
    return p;
  }
  Quantity quantity(InstrumentId instrument) {
    const Quantity lot = instrument % 2 == 0 ? 1 : 5;
    Quantity q = lot * pick(1, 12);
    const int oddity = pick(0, 99);
    if (oddity == 0) q += 1;        // off lot (or merely odd for lot 1)
    if (oddity == 1) q = lot * 41;  // above maximum
    if (oddity == 2) q = 0;
    return q;
  }

  // A seat or a provider record set, changed or removed; now and then one the
  // engine refuses (a bad name, another's seat, an unknown provider).
  CommandBody access_change() {
    const ParticipantId owner = participant();
    const std::string name = "seat-" + std::to_string(pick(0, 5));
    // Another product's, so that the listings here go on; without fees half
    // the time, which any fee hold allows.
    const auto fee = [&] {
      return static_cast<std::uint32_t>(pick(0, 3) == 0 ? pick(0, 2'000) : 0);
    };
    if (pick(0, 3) == 0) {
      // A delivery key added or removed; now and then one that is no key.
      const std::string key = pick(0, 9) == 0 ? "ssh-ed25519 not-base64"
                                              : kEd25519Keys[static_cast<std::size_t>(pick(0, 2))];
      auto line = std::make_shared<const std::string>(key);
      if (pick(0, 1) == 0) return AddDeliveryKey{.participant = owner, .key = std::move(line)};
      return RemoveDeliveryKey{.participant = owner, .key = std::move(line)};
    }
    if (pick(0, 2) == 0)
      return SetProductTerms{{.gpu_class = "A100",
                              .region = "eu-west",
                              .maker_fee_ppm = fee(),
                              .taker_fee_ppm = fee(),
                              .reference_price = kReference,
                              .band_width = 20 * kTick,
                              .verification_profile = {},
                              .effective_from = static_cast<SequenceNumber>(pick(0, 1'000'000))}};
    if (pick(0, 1) == 0)
      return SetSeat{{.sender_comp_id = pick(0, 19) == 0 ? "bad name" : name,
                      .participant = owner,
                      .password_hash = pick(0, 1) == 0 ? "" : "$argon2id$" + name,
                      .no_password = false,
                      .cancel_on_disconnect = pick(0, 1) == 0,
                      .enabled = pick(0, 3) != 0}};
    if (pick(0, 3) == 0) return SetProvider{.participant = owner, .record = nullptr};
    auto record = std::make_shared<const ProviderRecord>(
        ProviderRecord{.participant = owner,
                       .name = "provider-" + std::to_string(pick(0, 4)),
                       .region = "us-east",
                       .token_hash = std::string(32, static_cast<char>(pick(0, 255))),
                       .fix_sender_comp_id = name,
                       .gpus = {{.gpu_class = "H100-SXM",
                                 .region = "us-east",
                                 .count = static_cast<std::uint32_t>(pick(0, 64))}}});
    return SetProvider{.participant = owner, .record = std::move(record)};
  }

  CommandBody new_order() {
    NewOrder order;
    order.client_order_id = static_cast<ClientOrderId>(pick(1, 1'000'000));
    order.participant = participant();
    order.instrument = some_instrument();
    order.side = pick(0, 1) == 0 ? Side::buy : Side::sell;
    const int type = pick(0, 99);
    order.type = type < 50   ? OrderType::limit
                 : type < 65 ? OrderType::immediate_or_cancel
                 : type < 75 ? OrderType::fill_or_kill
                 : type < 90 ? OrderType::post_only
                             : OrderType::market;
    order.self_trade = static_cast<SelfTradePrevention>(pick(0, 3));
    order.price = order.type == OrderType::market && pick(0, 1) == 0 ? 0 : price();
    order.quantity = quantity(order.instrument);
    return order;
  }

  // A block from an open hour: often refused (too long, off lot, beyond the
  // limit, an hour closed or unlisted, too little liquidity), sometimes filled.
  // New delivery terms, now and then with another fee hold: refused while
  // money is held (most of the time), accepted when none is.
  CommandBody market_terms() {
    return SetMarketTerms{
        .buyer_fee_ppm = pick(0, 3) == 0 ? static_cast<std::uint32_t>(pick(0, 2) * 1'000) : 0u,
        .delivery = {.challenges_per_obligation = static_cast<std::uint32_t>(pick(1, 8)),
                     .penalty_ppm = static_cast<std::uint32_t>(pick(0, 1'000'000)),
                     .challenge_seed = static_cast<std::uint64_t>(pick(0, 1'000'000))}};
  }

  CommandBody block_order() {
    const int hours = pick(0, 19) == 0 ? 0 : pick(1, 3);
    return NewBlockOrder{.client_order_id = static_cast<ClientOrderId>(pick(1, 1'000'000)),
                         .participant = participant(),
                         .first_instrument = some_instrument(),
                         .hours = static_cast<std::uint32_t>(hours),
                         .side = pick(0, 1) == 0 ? Side::buy : Side::sell,
                         .one_provider = pick(0, 1) == 0,
                         .time_in_force = pick(0, 1) == 0 ? BlockTimeInForce::immediate_or_cancel
                                                          : BlockTimeInForce::until_gate_closure,
                         .units = pick(0, 9) == 0 ? pick(0, 3) : 5 * pick(1, 3),
                         .limit = price()};
  }

  // Mostly a scheduled challenge (perhaps already recorded or settled), now
  // and then an unknown trade, a bad index or a pending outcome.
  CommandBody challenge_outcome() {
    RecordChallengeOutcome c;
    if (!challenges_.empty() && pick(0, 9) != 0) {
      const auto& [trade, index] =
          challenges_[static_cast<std::size_t>(pick(0, static_cast<int>(challenges_.size()) - 1))];
      c.trade = trade;
      c.index = pick(0, 19) == 0 ? index + 7 : index;
    } else {
      c.trade = static_cast<TradeId>(pick(1, 100'000));
    }
    if (pick(0, 3) == 0) return delivery_record(c.trade);
    c.outcome = static_cast<ChallengeOutcome>(pick(0, 15) == 0 ? 0 : pick(1, 3));
    c.failure = c.outcome == ChallengeOutcome::failed ? static_cast<std::uint32_t>(pick(1, 6)) : 0;
    return c;
  }

  // The agent's report on a trade's access: opened (now and then without a
  // fingerprint, which is refused), failed or revoked.
  RecordDelivery delivery_record(TradeId trade) {
    const auto stage = static_cast<DeliveryStage>(pick(1, 3));
    return {.trade = trade,
            .access = std::make_shared<const DeliveryAccess>(DeliveryAccess{
                .stage = stage,
                .host = stage == DeliveryStage::opened ? "127.0.0.1" : "",
                .port = static_cast<std::uint16_t>(stage == DeliveryStage::opened ? 22 : 0),
                .user = stage == DeliveryStage::opened ? "gpux" : "",
                .host_key_fingerprint =
                    stage == DeliveryStage::opened && pick(0, 9) != 0 ? "SHA256:x" : "",
                .detail = stage == DeliveryStage::failed ? "no GPU free" : "",
                .processes_ended = static_cast<std::uint32_t>(pick(0, 2))})};
  }

  CommandBody replace() {
    if (!blocks_.empty() && pick(0, 19) == 0) {
      const auto& [block, owner] = some_block();
      return ReplaceOrder{owner, block, price(), 5};
    }
    const OrderId order = some_order();
    const RestingOrders::Entry* entry = resting_.find(order);
    const InstrumentId instrument = entry ? entry->instrument : 0;
    return ReplaceOrder{owner_or_stranger(order), order, price(), quantity(instrument)};
  }

  void list_next_instrument(std::vector<CommandBody>& commands) {
    const InstrumentId id = next_instrument_++;
    commands.push_back(ListInstrument{small_spec(id)});
    commands.push_back(ChangeInstrumentState{id, InstrumentState::open});
    for (ParticipantId p = 1; p < kParticipants; ++p)
      commands.push_back(SetSellCapacity{p, id, pick(0, 300)});
    open_.push_back(id);
  }

  // Closes the gate of an open instrument (and queues a new listing in its
  // place), or moves a closed one on towards settlement.
  CommandBody advance_instrument() {
    if (!pending_.empty()) {
      CommandBody next = pending_.back();
      pending_.pop_back();
      return next;
    }
    if (!closing_.empty() && pick(0, 1) == 0) {
      const InstrumentId id = closing_.front();
      const auto to = static_cast<InstrumentState>(static_cast<int>(states_[id]) + 1);
      states_[id] = to;
      if (to == InstrumentState::settled) closing_.erase(closing_.begin());
      return ChangeInstrumentState{id, to};
    }
    const auto index = static_cast<std::size_t>(pick(0, static_cast<int>(open_.size()) - 1));
    const InstrumentId id = open_[index];
    open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(index));
    closing_.push_back(id);
    states_[id] = InstrumentState::gate_closed;
    std::vector<CommandBody> listing;
    list_next_instrument(listing);
    pending_.assign(listing.rbegin(), listing.rend());
    return ChangeInstrumentState{id, InstrumentState::gate_closed};
  }

  std::mt19937_64 random_;
  // The instrument halted last, and the commands until it is resumed.
  std::optional<std::pair<InstrumentId, int>> halted_;
  RestingOrders resting_;
  std::vector<InstrumentId> open_;
  std::vector<InstrumentId> closing_;
  std::unordered_map<InstrumentId, InstrumentState> states_;
  std::vector<CommandBody> pending_;
  std::vector<std::pair<TradeId, std::uint32_t>> challenges_;
  std::vector<std::pair<OrderId, ParticipantId>> blocks_;  // resting, with their owners
  InstrumentId next_instrument_ = 0;
};

// A stamped stream of `count` generated commands after the set-up commands,
// produced by running a price-ladder engine.
std::vector<Command> generate_stream(std::uint64_t seed, std::size_t count);

}  // namespace gpux::test

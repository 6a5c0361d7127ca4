// Block orders: all or none of `units` in each of consecutive delivery hours
// (NewBlockOrder in commands.h states the rules). EngineCore's own members,
// kept apart from the hourly matching; engine_core.h includes this file last.
#pragma once

namespace gpux::matching {

template <class Book>
void EngineCore<Book>::handle(const NewBlockOrder& c) {
  const auto refuse = [&](RejectReason reason) {
    reject(reason, c.participant, c.client_order_id);
  };
  Account* account = find_account(c.participant);
  if (account == nullptr) return refuse(RejectReason::unknown_participant);
  if (c.hours < 1 || c.hours > kMaxBlockHours) return refuse(RejectReason::invalid_block_hours);
  BlockView block{.block = 0,
                  .client_order_id = c.client_order_id,
                  .participant = c.participant,
                  .span = {},
                  .side = c.side,
                  .one_provider = c.one_provider,
                  .units = c.units,
                  .limit = c.limit};
  if (auto reason = block_span(c, block.span)) return refuse(*reason);
  // units <= max_quantity keeps units x hours far inside 64 bits.
  if (c.limit <= 0 || static_cast<__int128>(c.limit) * c.units * c.hours > kMaxOrderNotional)
    return refuse(RejectReason::invalid_block_limit);
  if (c.side == Side::buy && block_reservation(block) > account->view.available())
    return refuse(RejectReason::insufficient_cash);
  if (c.side == Side::sell) {
    for (InstrumentId hour : block.span)
      if (capacity(c.participant, hour).free() < c.units)
        return refuse(RejectReason::insufficient_capacity);
  }
  const std::vector<OrderId> matched = opposite_blocks(block);
  std::optional<BlockPlan> plan;
  if (matched.empty()) plan = plan_block(block);
  if (matched.empty() && !plan && c.time_in_force == BlockTimeInForce::immediate_or_cancel)
    return refuse(RejectReason::block_not_fillable);

  block.block = next_order_id_++;
  if (!matched.empty()) {
    fill_against_blocks(block, matched);
  } else if (plan) {
    fill_from_books(block, *plan, false);
  } else {
    rest_block(std::move(block));
  }
}

// The instrument of each hour of the span, or the reason there is none.
template <class Book>
std::optional<RejectReason> EngineCore<Book>::block_span(const NewBlockOrder& c,
                                                         std::vector<InstrumentId>& span) {
  Instrument* hour = find_instrument(c.first_instrument);
  if (hour == nullptr) return RejectReason::unknown_instrument;
  for (std::uint32_t h = 0; h < c.hours; ++h) {
    if (hour == nullptr || hour->state != InstrumentState::open)
      return RejectReason::block_hour_not_open;
    if (hour->halted) return RejectReason::instrument_halted;
    if (auto reason = invalid_quantity(hour->spec, c.units)) return reason;
    span.push_back(hour->spec.id);
    if (h + 1 < c.hours) hour = next_hour(*hour);
  }
  return std::nullopt;
}

// The instrument of the same class and region whose delivery starts when
// `hour`'s ends, if one is listed.
template <class Book>
auto EngineCore<Book>::next_hour(const Instrument& hour) -> Instrument* {
  const auto it =
      hours_.find(HourKey{hour.spec.gpu_class, hour.spec.region, hour.spec.delivery_end});
  return it == hours_.end() ? nullptr : find_instrument(it->second);
}

template <class Book>
bool EngineCore<Book>::span_trades(const BlockView& b) {
  return std::all_of(b.span.begin(), b.span.end(), [&](InstrumentId id) {
    const Instrument* hour = find_instrument(id);
    return hour->state == InstrumentState::open && !hour->halted;
  });
}

// Takes up to `units` from the opposite side of `hour`'s book in priority
// order, passing over the block owner's orders and, when `only` is set,
// every other provider's. Returns what it took.
template <class Book>
Quantity EngineCore<Book>::take_hour(Instrument& hour, const BlockView& b,
                                     std::optional<ParticipantId> only, BlockPlan& plan) {
  Quantity taken = 0;
  hour.book->for_each_order(opposite(b.side), [&](const Order& resting) {
    if (resting.participant == b.participant || (only && resting.participant != *only)) return true;
    const Quantity quantity = std::min(resting.remaining, b.units - taken);
    plan.legs.push_back(
        {.instrument = &hour, .maker = const_cast<Order*>(&resting), .quantity = quantity});
    plan.notional += resting.price * quantity;
    taken += quantity;
    return taken < b.units;
  });
  return taken;
}

template <class Book>
auto EngineCore<Book>::plan_from(const BlockView& b, std::optional<ParticipantId> only)
    -> std::optional<BlockPlan> {
  BlockPlan plan;
  for (InstrumentId hour : b.span)
    if (take_hour(*find_instrument(hour), b, only, plan) < b.units) return std::nullopt;
  return plan;
}

// The provider a one-provider buy block takes every hour from: of those who
// can fill all of it, the cheapest; on a tie, the one whose first offer
// stands earliest in the first hour's book. One walk of each hour's offers
// prices every candidate at once (hours x depth, not candidates x that).
template <class Book>
std::optional<ParticipantId> EngineCore<Book>::cheapest_provider(const BlockView& b) {
  struct Candidate {
    ParticipantId provider = 0;
    std::size_t rank = 0;  // order of first offer in the first hour's book
    Quantity taken = 0;    // in the hour being walked
    Money notional = 0;    // over the hours walked so far
  };
  std::vector<Candidate> candidates;  // sorted by provider, for lookup
  const auto place_of = [&](ParticipantId provider) {
    return std::lower_bound(
        candidates.begin(), candidates.end(), provider,
        [](const Candidate& candidate, ParticipantId p) { return candidate.provider < p; });
  };
  std::size_t rank = 0;
  find_instrument(b.span.front())->book->for_each_order(Side::sell, [&](const Order& resting) {
    const auto at = place_of(resting.participant);
    if (resting.participant != b.participant &&
        (at == candidates.end() || at->provider != resting.participant))
      candidates.insert(at, {.provider = resting.participant, .rank = rank++});
    return true;
  });
  for (InstrumentId id : b.span) {
    std::size_t full = 0;  // candidates that have all of this hour
    find_instrument(id)->book->for_each_order(Side::sell, [&](const Order& resting) {
      const auto candidate = place_of(resting.participant);
      if (candidate == candidates.end() || candidate->provider != resting.participant ||
          candidate->taken == b.units)
        return true;
      const Quantity quantity = std::min(resting.remaining, b.units - candidate->taken);
      candidate->taken += quantity;
      candidate->notional += resting.price * quantity;
      full += candidate->taken == b.units;
      return full < candidates.size();
    });
    // Who cannot fill this hour cannot fill the block.
    std::erase_if(candidates,
                  [&](const Candidate& candidate) { return candidate.taken < b.units; });
    if (candidates.empty()) return std::nullopt;
    for (Candidate& candidate : candidates)
      candidate.taken = 0;
  }
  const auto best = std::min_element(
      candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) {
        return x.notional != y.notional ? x.notional < y.notional : x.rank < y.rank;
      });
  return best->provider;
}

template <class Book>
auto EngineCore<Book>::plan_block(const BlockView& b) -> std::optional<BlockPlan> {
  std::optional<BlockPlan> plan;
  if (b.side == Side::buy && b.one_provider) {
    if (const auto provider = cheapest_provider(b)) plan = plan_from(b, provider);
  } else {
    plan = plan_from(b, std::nullopt);
  }
  if (!plan) return std::nullopt;
  const Money bound = b.limit * b.total();
  const bool within = b.side == Side::buy ? plan->notional <= bound : plan->notional >= bound;
  if (!within) return std::nullopt;
  return plan;
}

// The resting blocks an incoming block takes whole: opposite, of the
// identical span, crossing its limit, not its owner's; in priority order,
// each taken while its units still fit, until they add up to exactly the
// incoming block's units (all from one seller for a one-provider buy: the
// first seller whose blocks get there). None when they cannot.
template <class Book>
std::vector<OrderId> EngineCore<Book>::opposite_blocks(const BlockView& b) {
  const bool one_seller = b.side == Side::buy && b.one_provider;
  // Per seller when one seller must fill it all; else one group for all.
  std::map<ParticipantId, std::pair<Quantity, std::vector<OrderId>>> groups;
  const std::set<BlockRank>& hour = find_instrument(b.span.front())->blocks;
  const Side side = opposite(b.side);
  for (auto rank = hour.lower_bound(first_rank(side)); rank != hour.end() && rank->side == side;
       ++rank) {
    const BlockView& r = blocks_.at(rank->block);
    if (!crosses(b.side, b.limit, r.limit)) break;  // nor will any after it
    if (r.participant == b.participant || r.span != b.span) continue;
    auto& [units, ids] = groups[one_seller ? r.participant : 0];
    if (units + r.units > b.units) continue;
    units += r.units;
    ids.push_back(r.block);
    if (units == b.units) return ids;
  }
  return {};
}

template <class Book>
void EngineCore<Book>::announce_fill(const BlockView& b, Money notional, std::uint32_t legs) {
  emit(BlockOrderFilled{.block = b.block,
                        .client_order_id = b.client_order_id,
                        .participant = b.participant,
                        .first_instrument = b.span.front(),
                        .hours = static_cast<std::uint32_t>(b.span.size()),
                        .side = b.side,
                        .units = b.units,
                        .limit = b.limit,
                        .notional = notional,
                        .legs = legs});
}

// A buy block holds limit x units x hours plus the fee hold; a sell block
// its units of capacity in every hour.
template <class Book>
void EngineCore<Book>::hold_block(const BlockView& b) {
  if (b.side == Side::buy) {
    transfer(own(b.participant, AccountKind::available), own(b.participant, AccountKind::reserved),
             block_reservation(b), PostingReason::reserve);
  } else {
    for (InstrumentId hour : b.span)
      capacity_slot(b.participant, hour).view.offered += b.units;
  }
}

template <class Book>
void EngineCore<Book>::release_block(const BlockView& b) {
  if (b.side == Side::buy) {
    transfer(own(b.participant, AccountKind::reserved), own(b.participant, AccountKind::available),
             block_reservation(b), PostingReason::release);
  } else {
    for (InstrumentId hour : b.span) {
      CapacityView& capacity = capacity_slot(b.participant, hour).view;
      capacity.offered -= b.units;
      GPUX_ASSERT_MSG(capacity.offered >= 0, "released more than the open sells offer");
    }
  }
}

// A sell block's leg: capacity from offered to sold, the notional receivable.
template <class Book>
void EngineCore<Book>::sell_leg(ParticipantId provider, InstrumentId hour, Quantity quantity,
                                Money notional) {
  CapacityView& capacity = capacity_slot(provider, hour).view;
  capacity.offered -= quantity;
  GPUX_ASSERT_MSG(capacity.offered >= 0, "a sell block sold more than it offered");
  book_sale(provider, hour, quantity, notional);
}

// Executes a plan over the hourly books for a block that holds its hold
// already (`held`: it rested) or takes it first (it just came in).
template <class Book>
void EngineCore<Book>::fill_from_books(const BlockView& b, const BlockPlan& plan, bool held) {
  announce_fill(b, plan.notional, static_cast<std::uint32_t>(plan.legs.size()));
  if (!held) hold_block(b);
  Money escrowed = 0;
  Quantity filled_in_hour = 0;
  const Instrument* hour = nullptr;
  for (const BlockLeg& leg : plan.legs) {
    if (leg.instrument != hour) hour = leg.instrument, filled_in_hour = 0;
    filled_in_hour += leg.quantity;
    fill_maker(*leg.instrument, *leg.maker, leg.quantity,
               {.order = b.block,
                .participant = b.participant,
                .side = b.side,
                .remaining_after = b.units - filled_in_hour},
               [&](Price price) {
                 const Money notional = price * leg.quantity;
                 if (b.side == Side::buy) {
                   escrowed += escrow_purchase(b.participant, notional);
                 } else {
                   sell_leg(b.participant, leg.instrument->spec.id, leg.quantity, notional);
                 }
               });
  }
  if (b.side == Side::buy) release_unescrowed(b, escrowed);
}

// A filled buy block gives back what its legs did not escrow: fees round
// down per leg, so the legs' escrow never exceeds the hold.
template <class Book>
void EngineCore<Book>::release_unescrowed(const BlockView& buy, Money escrowed) {
  const Money reservation = block_reservation(buy);
  GPUX_ASSERT_MSG(escrowed <= reservation, "a block escrowed more than it reserved");
  transfer(own(buy.participant, AccountKind::reserved),
           own(buy.participant, AccountKind::available), reservation - escrowed,
           PostingReason::release);
}

// The incoming block trades whole with each matched resting block, hour by
// hour, at the resting block's limit; each resting block is filled whole.
template <class Book>
void EngineCore<Book>::fill_against_blocks(const BlockView& incoming,
                                           const std::vector<OrderId>& matched) {
  const auto hours = static_cast<Quantity>(incoming.span.size());
  Money notional = 0;
  for (OrderId id : matched)
    notional += blocks_.at(id).limit * blocks_.at(id).total();
  announce_fill(incoming, notional, static_cast<std::uint32_t>(matched.size() * hours));
  hold_block(incoming);
  Money incoming_escrowed = 0;  // when it buys
  Quantity filled = 0;          // of the incoming block's units, in every hour
  for (OrderId id : matched) {
    const BlockView resting = take_block(id);
    Money resting_escrowed = 0;  // when it buys
    announce_fill(resting, resting.limit * resting.total(), static_cast<std::uint32_t>(hours));
    filled += resting.units;
    const BlockView& buyer = incoming.side == Side::buy ? incoming : resting;
    const BlockView& seller = incoming.side == Side::buy ? resting : incoming;
    for (InstrumentId hour_id : incoming.span) {
      Instrument& hour = *find_instrument(hour_id);
      const Money leg = resting.limit * resting.units;
      record_trade(hour, resting.limit, resting.units, incoming.side,
                   {.order = resting.block, .participant = resting.participant, .remaining = 0},
                   {.order = incoming.block,
                    .participant = incoming.participant,
                    .remaining = incoming.units - filled});
      (&buyer == &incoming ? incoming_escrowed : resting_escrowed) +=
          escrow_purchase(buyer.participant, leg);
      sell_leg(seller.participant, hour_id, resting.units, leg);
    }
    if (resting.side == Side::buy) release_unescrowed(resting, resting_escrowed);
  }
  GPUX_ASSERT_MSG(filled == incoming.units, "matched blocks add up to the incoming block");
  if (incoming.side == Side::buy) release_unescrowed(incoming, incoming_escrowed);
}

template <class Book>
void EngineCore<Book>::rest_block(BlockView b) {
  emit(BlockOrderRested{.block = b.block,
                        .client_order_id = b.client_order_id,
                        .participant = b.participant,
                        .first_instrument = b.span.front(),
                        .hours = static_cast<std::uint32_t>(b.span.size()),
                        .side = b.side,
                        .one_provider = b.one_provider,
                        .units = b.units,
                        .limit = b.limit});
  hold_block(b);
  for (InstrumentId hour : b.span)
    find_instrument(hour)->blocks.insert(rank_of(b));
  const OrderId id = b.block;
  blocks_.emplace(id, std::move(b));
}

template <class Book>
BlockView EngineCore<Book>::take_block(OrderId id) {
  const auto it = blocks_.find(id);
  GPUX_ASSERT_MSG(it != blocks_.end(), "only resting blocks are taken");
  BlockView b = std::move(it->second);
  blocks_.erase(it);
  for (InstrumentId hour : b.span)
    find_instrument(hour)->blocks.erase(rank_of(b));
  return b;
}

template <class Book>
void EngineCore<Book>::end_block(OrderId id, std::optional<CancelReason> cancel) {
  const BlockView b = take_block(id);
  if (cancel) {
    emit(OrderCanceled{.order = b.block,
                       .participant = b.participant,
                       .instrument = b.span.front(),
                       .canceled = b.total(),
                       .remaining = 0,
                       .reason = *cancel});
  } else {
    emit(OrderExpired{.order = b.block,
                      .participant = b.participant,
                      .instrument = b.span.front(),
                      .expired = b.total(),
                      .reason = ExpireReason::gate_closure});
  }
  release_block(b);
}

// An order came to rest on the side `blocks_side` takes from, in `hour`:
// the first kBlockRetriesPerCommand resting blocks over it on that side, in
// priority order, try the hourly books again.
template <class Book>
void EngineCore<Book>::retry_blocks(Instrument& hour, Side blocks_side) {
  std::vector<OrderId> tries;
  for (auto rank = hour.blocks.lower_bound(first_rank(blocks_side));
       rank != hour.blocks.end() && rank->side == blocks_side &&
       tries.size() < kBlockRetriesPerCommand;
       ++rank)
    tries.push_back(rank->block);
  for (OrderId id : tries) {
    const BlockView& b = blocks_.at(id);
    if (!span_trades(b)) continue;
    if (const std::optional<BlockPlan> plan = plan_block(b))
      fill_from_books(take_block(id), *plan, true);
  }
}

}  // namespace gpux::matching

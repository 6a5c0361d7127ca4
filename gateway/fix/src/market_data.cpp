#include "market_data.h"

#include <quickfix/FixValues.h>

#include <algorithm>
#include <cassert>
#include <set>
#include <tuple>

#include "gpux/matching/order_updates.h"

namespace gpux::fix {

using namespace gpux::matching;

namespace {

char entry_type(Side side) {
  return side == Side::buy ? FIX::MDEntryType_BID : FIX::MDEntryType_OFFER;
}

}  // namespace

Quantity MarketData::level(InstrumentId instrument, Side side, Price price) const {
  const auto depth = depth_.find(instrument);
  if (depth == depth_.end()) return 0;
  if (side == Side::buy) {
    const auto found = depth->second.bids.find(price);
    return found == depth->second.bids.end() ? 0 : found->second;
  }
  const auto found = depth->second.offers.find(price);
  return found == depth->second.offers.end() ? 0 : found->second;
}

void MarketData::move_level(const LevelKey& key, Quantity delta) {
  const auto& [instrument, side, price] = key;
  Depth& depth = depth_[instrument];
  const auto apply = [&](auto& levels) {
    const Quantity now = (levels[price] += delta);
    assert(now >= 0);
    if (now == 0) levels.erase(price);
  };
  if (side == Side::buy) {
    apply(depth.bids);
  } else {
    apply(depth.offers);
  }
}

void MarketData::adjust_level(InstrumentId instrument, Side side, Price price, Quantity delta) {
  const LevelKey key{instrument, side, price};
  touched_.try_emplace(key, level(instrument, side, price));
  move_level(key, delta);
}

void MarketData::restore(OrderId id, const Live& order) {
  live_[id] = order;
  move_level({order.instrument, order.side, order.price}, order.remaining);
}

void MarketData::track(const Event& event) {
  if (const auto* b = std::get_if<BlockOrderRested>(&event)) {
    blocks_[b->block] = {.first = b->first_instrument,
                         .hours = static_cast<int>(b->hours),
                         .side = b->side,
                         .limit = b->limit,
                         .units = b->units};
    return;
  }
  // A block ends whole: filled, cancelled or expired. (Most commands meet
  // no resting block: no lookup then.)
  if (!blocks_.empty()) {
    if (const auto* f = std::get_if<BlockOrderFilled>(&event)) blocks_.erase(f->block);
    if (const auto* c = std::get_if<OrderCanceled>(&event)) blocks_.erase(c->order);
    if (const auto* e = std::get_if<OrderExpired>(&event)) blocks_.erase(e->order);
  }
  if (const auto* a = std::get_if<OrderAccepted>(&event)) {
    live_[a->order] = {a->instrument, a->side, a->price, a->quantity};
    adjust_level(a->instrument, a->side, a->price, a->quantity);
    return;
  }
  for_each_order_update(event, [this](const OrderUpdate& update) {
    const auto found = live_.find(update.order);
    if (found == live_.end()) return;
    Live& o = found->second;
    if (update.price) {  // a replace: the whole order moves
      adjust_level(o.instrument, o.side, o.price, -o.remaining);
      o.price = *update.price;
      adjust_level(o.instrument, o.side, o.price, update.remaining);
    } else {
      adjust_level(o.instrument, o.side, o.price, update.remaining - o.remaining);
    }
    o.remaining = update.remaining;
    if (o.remaining == 0) live_.erase(found);
  });
}

MarketData::Changes MarketData::take_changes(std::span<const Event> events) {
  Changes changes;
  for (const auto& [key, before] : touched_) {
    const auto& [instrument, side, price] = key;
    const Quantity now = level(instrument, side, price);
    if (now == before) continue;
    changes[instrument].push_back({entry_type(side),
                                   before == 0 ? FIX::MDUpdateAction_NEW
                                   : now == 0  ? FIX::MDUpdateAction_DELETE
                                               : FIX::MDUpdateAction_CHANGE,
                                   price, now});
  }
  touched_.clear();
  for (const Event& event : events)
    if (const auto* t = std::get_if<Trade>(&event))
      changes[t->instrument].push_back(
          {FIX::MDEntryType_TRADE, FIX::MDUpdateAction_NEW, t->price, t->quantity});
  return changes;
}

std::vector<BookEntry> MarketData::snapshot(InstrumentId instrument, int depth) const {
  std::vector<BookEntry> entries;
  const auto found = depth_.find(instrument);
  if (found == depth_.end()) return entries;
  const auto take = [&](const auto& levels, char type) {
    int n = 0;
    for (const auto& [price, quantity] : levels) {
      if (depth > 0 && n++ == depth) break;
      entries.push_back({type, FIX::MDUpdateAction_NEW, price, quantity});
    }
  };
  take(found->second.bids, FIX::MDEntryType_BID);
  take(found->second.offers, FIX::MDEntryType_OFFER);
  return entries;
}

std::optional<Money> MarketData::sweep(std::span<const InstrumentId> span, Side side,
                                       Quantity units) const {
  Money total = 0;
  for (InstrumentId hour : span) {
    const auto depth = depth_.find(hour);
    if (depth == depth_.end()) return std::nullopt;
    Quantity wanted = units;
    const auto take = [&](const auto& levels) {
      for (auto level = levels.begin(); level != levels.end() && wanted > 0; ++level) {
        const Quantity quantity = std::min(level->second, wanted);
        total += level->first * quantity;
        wanted -= quantity;
      }
    };
    // A buy block would take the offers; a sell block, the bids.
    if (side == Side::buy) {
      take(depth->second.offers);
    } else {
      take(depth->second.bids);
    }
    if (wanted > 0) return std::nullopt;
  }
  return total;
}

int MarketData::longest_block_from(InstrumentId first) const {
  int longest = 0;
  for (const auto& [id, b] : blocks_)
    if (b.first == first) longest = std::max(longest, b.hours);
  return longest;
}

std::vector<BookEntry> MarketData::block_entries(const std::vector<InstrumentId>& hours) const {
  std::vector<BookEntry> entries;
  std::set<std::tuple<Side, int, Quantity>> spans;
  for (const auto& [id, b] : blocks_) {
    if (b.first != hours.front()) continue;
    entries.push_back({.type = b.side == Side::buy ? kMDEntryTypeBlockBid : kMDEntryTypeBlockOffer,
                       .action = FIX::MDUpdateAction_NEW,
                       .price = b.limit,
                       .quantity = b.units,
                       .block_hours = b.hours});
    spans.emplace(b.side, b.hours, b.units);
  }
  for (const auto& [side, span_hours, units] : spans) {
    if (static_cast<std::size_t>(span_hours) > hours.size()) continue;  // not all listed
    const auto total =
        sweep(std::span(hours).first(static_cast<std::size_t>(span_hours)), side, units);
    if (!total) continue;
    entries.push_back({.type = side == Side::buy ? kMDEntryTypeIndicativeBlockBuy
                                                 : kMDEntryTypeIndicativeBlockSell,
                       .action = FIX::MDUpdateAction_NEW,
                       .price = *total / (units * span_hours),
                       .quantity = units,
                       .block_hours = span_hours});
  }
  return entries;
}

}  // namespace gpux::fix

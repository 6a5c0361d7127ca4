#include "market_data.h"

#include <quickfix/FixValues.h>

#include <algorithm>
#include <set>
#include <tuple>

namespace gpux::fix {

using namespace gpux::matching;

namespace {

char entry_type(Side side) {
  return side == Side::buy ? FIX::MDEntryType_BID : FIX::MDEntryType_OFFER;
}

}  // namespace

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
  // Each level's quantity before the command, for the incremental refresh.
  depth_.track(event, [this](InstrumentId instrument, Side side, Price price) {
    touched_.try_emplace({instrument, side, price}, level(instrument, side, price));
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
  const BookDepth::Levels* found = depth_.levels(instrument);
  if (found == nullptr) return entries;
  const auto take = [&](const auto& levels, char type) {
    int n = 0;
    for (const auto& [price, quantity] : levels) {
      if (depth > 0 && n++ == depth) break;
      entries.push_back({type, FIX::MDUpdateAction_NEW, price, quantity});
    }
  };
  take(found->bids, FIX::MDEntryType_BID);
  take(found->offers, FIX::MDEntryType_OFFER);
  return entries;
}

std::optional<Money> MarketData::sweep(std::span<const InstrumentId> span, Side side,
                                       Quantity units) const {
  Money total = 0;
  for (InstrumentId hour : span) {
    const BookDepth::Levels* depth = depth_.levels(hour);
    if (depth == nullptr) return std::nullopt;
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
      take(depth->offers);
    } else {
      take(depth->bids);
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

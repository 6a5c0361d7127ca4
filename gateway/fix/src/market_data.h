// What FIX market data is made of: every live order, FIX or not, followed
// through the engine's events; the aggregated depth each instrument's book
// has by price; and the levels a command changed, for the incremental
// refresh that follows it. Not thread-safe: the order entry's lock guards it.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "gpux/matching/book_depth.h"
#include "gpux/matching/events.h"
#include "order_entry.h"

namespace gpux::fix {

class MarketData {
 public:
  // A resting or incoming order.
  using Live = matching::BookDepth::Order;
  // A resting block order: in no book, and not tradable against hourly
  // orders; shown in snapshots of its first hour.
  struct Block {
    matching::InstrumentId first = 0;
    int hours = 0;
    matching::Side side = matching::Side::buy;
    matching::Price limit = 0;     // per unit-hour
    matching::Quantity units = 0;  // per hour
  };
  // Entries by instrument, as an incremental refresh carries them.
  using Changes = std::map<matching::InstrumentId, std::vector<fix::BookEntry>>;

  // Follows one event: an OrderAccepted adds its order, and each update
  // for_each_order_update reads from the event moves or shrinks a live order
  // (gone at 0); events about unknown orders change nothing. Each level it
  // moves is remembered with its quantity before, until take_changes().
  void track(const matching::Event& event);
  // A live order from a checkpoint: in the book, but not a change.
  void restore(matching::OrderId id, const Live& order) { depth_.restore(id, order); }
  void restore_block(matching::OrderId id, const Block& block) { blocks_[id] = block; }

  // The resting quantity at a price (0: no such level).
  matching::Quantity level(matching::InstrumentId instrument, matching::Side side,
                           matching::Price price) const {
    return depth_.level(instrument, side, price);
  }
  // What the tracked events changed: per instrument, first each level whose
  // quantity differs from before (MDUpdateAction new when it was empty,
  // delete when it is now, change otherwise), then one entry per Trade in
  // `events`. The remembered levels are forgotten either way.
  Changes take_changes(std::span<const matching::Event> events);
  // Forgets the remembered levels, for when nobody subscribes.
  void discard_changes() { touched_.clear(); }
  // The book for a snapshot: bids best first, then offers best first, at
  // most `depth` levels a side (0: all).
  std::vector<fix::BookEntry> snapshot(matching::InstrumentId instrument, int depth) const;
  // The most hours a resting block starting at `first` spans (0: none).
  int longest_block_from(matching::InstrumentId first) const;
  // `hours`: the listed consecutive hours from a snapshot's hour on, that
  // hour first (as many as longest_block_from() asks for, or as are
  // listed). The resting blocks whose span starts there, by id (types
  // kMDEntryTypeBlockBid/Offer: limit, units, BlockHours), then for each
  // distinct (side, hours, units) among them the indicative price per
  // unit-hour (kMDEntryTypeIndicativeBlockBuy/Sell): the cheapest `units`
  // of each hour's offers (the best bids, for a sell block), summed and
  // divided by units x hours, rounded down; none when an hour lacks them.
  std::vector<fix::BookEntry> block_entries(const std::vector<matching::InstrumentId>& hours) const;
  // Every live order, by id: what a checkpoint keeps.
  const std::unordered_map<matching::OrderId, Live>& live() const { return depth_.live(); }
  // Every resting block, by id: a checkpoint keeps them too.
  const std::map<matching::OrderId, Block>& blocks() const { return blocks_; }

 private:
  using LevelKey = std::tuple<matching::InstrumentId, matching::Side, matching::Price>;

  // What `units` per hour over `span` would cost (buy) or earn (sell) from
  // the hourly books, in total; none when an hour has too little.
  std::optional<matching::Money> sweep(std::span<const matching::InstrumentId> span,
                                       matching::Side side, matching::Quantity units) const;

  matching::BookDepth depth_;
  std::map<matching::OrderId, Block> blocks_;
  std::map<LevelKey, matching::Quantity> touched_;  // level -> quantity before
};

}  // namespace gpux::fix

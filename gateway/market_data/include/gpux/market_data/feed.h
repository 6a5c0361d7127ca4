// The public view of the market, followed from the engine's durable events:
// instruments and their states, aggregated depth, the tape, OHLCV candles and
// the gpux GPU-hour index. Holds no participant identity, reads no clock: the
// same commands give the same view, live in gpuxd or replayed by `gpux index`
// from a data directory. Not thread-safe: one thread owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "gpux/market_data/config.h"
#include "gpux/market_data/index.h"
#include "gpux/matching/book_depth.h"
#include "gpux/matching/commands.h"
#include "gpux/matching/engine.h"
#include "gpux/matching/events.h"

namespace gpux::market_data {

struct Instrument {
  matching::InstrumentSpec spec;
  matching::InstrumentState state = matching::InstrumentState::listed;
  bool halted = false;
};

struct Level {
  matching::Price price = 0;
  matching::Quantity quantity = 0;
};

struct Depth {
  std::vector<Level> bids;    // best first
  std::vector<Level> offers;  // best first
};

// A trade as the public sees it: no participants, no order ids.
struct PublicTrade {
  matching::TradeId trade = 0;
  matching::InstrumentId instrument = 0;
  matching::Nanoseconds time = 0;
  matching::Price price = 0;  // per unit
  matching::Quantity quantity = 0;
  matching::Side aggressor = matching::Side::buy;
  bool block_leg = false;  // one hour of a block order
};

struct Candle {
  matching::Nanoseconds start = 0;  // the interval's first instant
  matching::Price open = 0, high = 0, low = 0, close = 0;
  matching::Quantity volume = 0;  // units (per instrument) or GPU-hours (per product)
  bool operator==(const Candle&) const = default;
};

// What one command changed in the public view, for subscribers.
struct FeedUpdate {
  std::vector<matching::InstrumentId> instruments;  // listed, or changed state
  std::vector<matching::InstrumentId> books;        // depth changed
  std::vector<PublicTrade> trades;
  std::vector<Fixing> fixings;  // published by this command's time
  bool empty() const {
    return instruments.empty() && books.empty() && trades.empty() && fixings.empty();
  }
};

class MarketFeed {
 public:
  explicit MarketFeed(FeedOptions options = {});

  // The state recovered from a snapshot taken after command `sequence`:
  // instruments and resting orders. No history: the tape, candles and
  // fixings start empty. Pre: nothing applied yet.
  void restore(const matching::EngineSnapshot& state, matching::SequenceNumber sequence);
  // Follows one durable command and its events, in sequence order. Before
  // the command's events, fixings due by its time are published from the
  // state as the previous command left it.
  FeedUpdate apply(const matching::Command& command, std::span<const matching::Event> events);
  matching::SequenceNumber last_sequence() const { return last_sequence_; }

  const std::map<matching::InstrumentId, Instrument>& instruments() const { return instruments_; }
  const Instrument* find(std::string_view symbol) const;
  // At most `levels` a side (0: all).
  Depth depth(matching::InstrumentId instrument, std::size_t levels) const;
  // Newest first, at most `limit`.
  std::vector<PublicTrade> trades(matching::InstrumentId instrument, std::size_t limit) const;
  // Candles of `interval_s` seconds (a multiple of 60 dividing 86400), oldest
  // first, at most `limit` (the newest). Per instrument: its price per unit;
  // per product (class x region, every delivery hour): price per GPU-hour.
  std::vector<Candle> candles(matching::InstrumentId instrument, std::int64_t interval_s,
                              std::size_t limit) const;
  std::vector<Candle> product_candles(const Product& product, std::int64_t interval_s,
                                      std::size_t limit) const;
  // The products that have traded or been listed, and their fixings.
  std::vector<Product> products() const;
  const std::vector<Fixing>& fixings(const Product& product) const;
  const IndexRule& index_rule() const { return options_.index; }

 private:
  using Minutes = std::map<std::int64_t, Candle>;  // one-minute candles by minute

  void list(const matching::InstrumentSpec& spec, matching::InstrumentState state, bool halted);
  void record(const matching::Trade& trade, bool block_leg, FeedUpdate& update);
  // Best bid and offer of the product's open instrument nearest delivery
  // that has both: what a fixing with too few trades falls back on.
  std::optional<Quote> quote(const Product& product) const;
  void publish_due(matching::Nanoseconds now, FeedUpdate& update);

  FeedOptions options_;
  matching::SequenceNumber last_sequence_ = 0;
  std::map<matching::InstrumentId, Instrument> instruments_;
  std::unordered_map<std::string, matching::InstrumentId> by_symbol_;
  matching::BookDepth depth_;
  std::map<matching::InstrumentId, std::deque<PublicTrade>> tape_;
  std::map<matching::InstrumentId, Minutes> instrument_minutes_;
  std::map<Product, Minutes> product_minutes_;
  IndexCalculator index_;
};

}  // namespace gpux::market_data

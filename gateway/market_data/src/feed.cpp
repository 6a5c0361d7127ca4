#include "gpux/market_data/feed.h"

#include <algorithm>
#include <cassert>
#include <set>

namespace gpux::market_data {

using namespace gpux::matching;

namespace {

constexpr Nanoseconds kMinute = 60'000'000'000;

Product product_of(const InstrumentSpec& spec) {
  return {.gpu_class = spec.gpu_class, .region = spec.region};
}

void add_to_candle(std::map<std::int64_t, Candle>& minutes, Nanoseconds time, Price price,
                   Quantity volume) {
  const std::int64_t minute = time / kMinute;
  auto [at, fresh] = minutes.try_emplace(
      minute,
      Candle{
          .start = minute * kMinute, .open = price, .high = price, .low = price, .close = price});
  Candle& c = at->second;
  c.high = std::max(c.high, price);
  c.low = std::min(c.low, price);
  c.close = price;
  c.volume += volume;
}

// One-minute candles merged into candles of `interval_s`, the newest `limit`
// (0: all), oldest first. Walked from the newest minute back, so that a
// request costs the minutes it returns, not the whole history.
std::vector<Candle> merge(const std::map<std::int64_t, Candle>& minutes, std::int64_t interval_s,
                          std::size_t limit) {
  assert(interval_s >= 60 && interval_s % 60 == 0 && 86400 % interval_s == 0);
  const Nanoseconds interval = interval_s * 1'000'000'000;
  std::vector<Candle> out;  // newest first until the end
  for (auto minute = minutes.rbegin(); minute != minutes.rend(); ++minute) {
    const Candle& c = minute->second;
    const Nanoseconds start = c.start / interval * interval;
    if (out.empty() || out.back().start != start) {
      if (limit > 0 && out.size() == limit) break;
      out.push_back(c);
      out.back().start = start;
      continue;
    }
    Candle& merged = out.back();  // a later minute's candle: this one came before it
    merged.open = c.open;
    merged.high = std::max(merged.high, c.high);
    merged.low = std::min(merged.low, c.low);
    merged.volume += c.volume;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

template <class Levels>
std::vector<Level> top(const Levels& levels, std::size_t count) {
  std::vector<Level> out;
  for (const auto& [price, quantity] : levels) {
    if (count > 0 && out.size() == count) break;
    out.push_back({.price = price, .quantity = quantity});
  }
  return out;
}

}  // namespace

MarketFeed::MarketFeed(FeedOptions options) : options_(options), index_(options.index) {}

void MarketFeed::restore(const EngineSnapshot& state, SequenceNumber sequence) {
  assert(last_sequence_ == 0);
  last_sequence_ = sequence;
  for (const InstrumentSnapshot& i : state.instruments) {
    list(i.spec, i.state, i.halted);
    for (const auto* side : {&i.bids, &i.asks})
      for (const OrderView& o : *side)
        depth_.restore(o.order, {.instrument = o.instrument,
                                 .side = o.side,
                                 .price = o.price,
                                 .remaining = o.remaining});
  }
}

const Instrument* MarketFeed::find(std::string_view symbol) const {
  const auto found = by_symbol_.find(std::string(symbol));
  return found == by_symbol_.end() ? nullptr : &instruments_.at(found->second);
}

void MarketFeed::list(const InstrumentSpec& spec, InstrumentState state, bool halted) {
  instruments_[spec.id] = {.spec = spec, .state = state, .halted = halted};
  by_symbol_.try_emplace(spec.symbol, spec.id);  // a symbol listed twice: the first
  index_.know(product_of(spec));
}

void MarketFeed::record(const Trade& trade, bool block_leg, FeedUpdate& update) {
  const PublicTrade t{.trade = trade.trade,
                      .instrument = trade.instrument,
                      .time = trade.stamp.time,
                      .price = trade.price,
                      .quantity = trade.quantity,
                      .aggressor = trade.aggressor,
                      .block_leg = block_leg};
  auto& tape = tape_[trade.instrument];
  tape.push_front(t);
  if (tape.size() > options_.trades_kept) tape.pop_back();
  update.trades.push_back(t);
  add_to_candle(instrument_minutes_[trade.instrument], t.time, t.price, t.quantity);
  const auto found = instruments_.find(trade.instrument);
  if (found == instruments_.end()) return;  // never listed: the engine would not trade it
  const InstrumentSpec& spec = found->second.spec;
  const Quantity gpu_hours = trade.quantity * spec.gpus_per_unit;
  add_to_candle(product_minutes_[product_of(spec)], t.time,
                trade.price / static_cast<Price>(spec.gpus_per_unit), gpu_hours);
  index_.add_fill(product_of(spec), trade.price * trade.quantity, gpu_hours);
}

std::optional<Quote> MarketFeed::quote(const Product& product) const {
  const Instrument* nearest = nullptr;
  for (const auto& [id, instrument] : instruments_) {
    if (instrument.state != InstrumentState::open || instrument.halted ||
        product_of(instrument.spec) != product)
      continue;
    const BookDepth::Levels* book = depth_.levels(id);
    if (book == nullptr || book->bids.empty() || book->offers.empty()) continue;
    if (nearest == nullptr || instrument.spec.delivery_start < nearest->spec.delivery_start)
      nearest = &instrument;
  }
  if (nearest == nullptr) return std::nullopt;
  const BookDepth::Levels& book = *depth_.levels(nearest->spec.id);
  return Quote{.bid = book.bids.begin()->first,
               .offer = book.offers.begin()->first,
               .gpus_per_unit = nearest->spec.gpus_per_unit};
}

void MarketFeed::publish_due(Nanoseconds now, FeedUpdate& update) {
  update.fixings =
      index_.publish_due(now, [this](const Product& product) { return quote(product); });
}

FeedUpdate MarketFeed::apply(const Command& command, std::span<const Event> events) {
  assert(command.stamp.sequence > last_sequence_);
  last_sequence_ = command.stamp.sequence;
  FeedUpdate update;
  publish_due(command.stamp.time, update);
  std::set<InstrumentId> books;
  std::set<OrderId> blocks;  // filled by this command: their legs follow
  for (const Event& event : events) {
    depth_.track(event, [&](InstrumentId instrument, Side, Price) { books.insert(instrument); });
    if (const auto* listed = std::get_if<InstrumentListed>(&event)) {
      if (const auto* listing = std::get_if<ListInstrument>(&command.body)) {
        list(*listing->spec, InstrumentState::listed, false);
        update.instruments.push_back(listed->instrument);
      }
    } else if (const auto* changed = std::get_if<InstrumentStateChanged>(&event)) {
      if (auto found = instruments_.find(changed->instrument); found != instruments_.end()) {
        found->second.state = changed->state;
        if (changed->state != InstrumentState::open) found->second.halted = false;
        update.instruments.push_back(changed->instrument);
      }
    } else if (const auto* halted = std::get_if<InstrumentHalted>(&event)) {
      if (auto found = instruments_.find(halted->instrument); found != instruments_.end()) {
        found->second.halted = halted->halted;
        update.instruments.push_back(halted->instrument);
      }
    } else if (const auto* filled = std::get_if<BlockOrderFilled>(&event)) {
      blocks.insert(filled->block);
    }
    if (const auto* trade = std::get_if<Trade>(&event))
      record(*trade, blocks.contains(trade->maker_order) || blocks.contains(trade->taker_order),
             update);
  }
  update.books.assign(books.begin(), books.end());
  return update;
}

Depth MarketFeed::depth(InstrumentId instrument, std::size_t levels) const {
  const BookDepth::Levels* book = depth_.levels(instrument);
  if (book == nullptr) return {};
  return {.bids = top(book->bids, levels), .offers = top(book->offers, levels)};
}

std::vector<PublicTrade> MarketFeed::trades(InstrumentId instrument, std::size_t limit) const {
  const auto tape = tape_.find(instrument);
  if (tape == tape_.end()) return {};
  const std::size_t n = std::min(limit, tape->second.size());
  return {tape->second.begin(), tape->second.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::vector<Candle> MarketFeed::candles(InstrumentId instrument, std::int64_t interval_s,
                                        std::size_t limit) const {
  const auto minutes = instrument_minutes_.find(instrument);
  if (minutes == instrument_minutes_.end()) return {};
  return merge(minutes->second, interval_s, limit);
}

std::vector<Candle> MarketFeed::product_candles(const Product& product, std::int64_t interval_s,
                                                std::size_t limit) const {
  const auto minutes = product_minutes_.find(product);
  if (minutes == product_minutes_.end()) return {};
  return merge(minutes->second, interval_s, limit);
}

std::vector<Product> MarketFeed::products() const {
  return index_.products();
}

const std::vector<Fixing>& MarketFeed::fixings(const Product& product) const {
  return index_.fixings(product);
}

}  // namespace gpux::market_data

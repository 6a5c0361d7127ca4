// The public market data (MarketFeed) and the GPU-hour index, fed by the real
// engine as gpuxd's market-data service feeds them: depth against the
// engine's own book, the tape, candles, every basis of a fixing with exact
// integer values, and when fixings are published.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "gpux/market_data/api.h"
#include "gpux/market_data/feed.h"
#include "market.h"

using namespace gpux::test;
namespace md = gpux::market_data;

namespace doctest {
template <>
struct StringMaker<md::Fixing> {
  static String convert(const md::Fixing& f) {
    return ("{" + f.product.name() + " at " + std::to_string(f.at) + " " + to_string(f.basis) +
            " " + std::to_string(f.value) + " volume " + std::to_string(f.volume) + " trades " +
            std::to_string(f.trades) + "}")
        .c_str();
  }
};
}  // namespace doctest

namespace {

constexpr Nanoseconds kSecond = 1'000'000'000;
constexpr Nanoseconds kMinute = 60 * kSecond;
constexpr Nanoseconds kHour = 3600 * kSecond;
// 2026-11-23T12:00:00Z: a fixing instant for every interval dividing a day.
constexpr Nanoseconds kNoon = 1'795'435'200 * kSecond;

const md::Product kH100{.gpu_class = "H100-SXM", .region = "us-east"};
const md::Product kNode{.gpu_class = "H100-SXM-8x", .region = "us-east"};

// Instrument `id`: the standard H100-SXM.us-east hour moved `hour` hours later.
InstrumentSpec gpu_hour(InstrumentId id, std::int64_t hour) {
  return hours_later(standard_spec(id), hour);
}

// Instrument `id`: an 8-GPU node hour of H100-SXM-8x.us-east, priced per node
// (16 USD = 2 USD a GPU-hour), tick 100 micro-USD: prices per GPU need not be
// whole micro-USD.
InstrumentSpec node_hour(InstrumentId id, std::int64_t hour) {
  InstrumentSpec spec = gpu_hour(id, hour);
  spec.gpu_class = "H100-SXM-8x";
  spec.symbol = "H100-SXM-8x.us-east.h" + std::to_string(hour);
  spec.gpus_per_unit = 8;
  spec.max_quantity = 64;
  spec.reference_price = 16'000'000;
  spec.band_width = 4'000'000;
  return spec;
}

// The engine and a MarketFeed following it as the service does: each
// command's events reach the feed after the engine applied the command.
class Exchange : public EventListener {
 public:
  explicit Exchange(md::IndexRule rule = {}, std::size_t trades_kept = 1000)
      : feed(md::FeedOptions{.index = rule, .trades_kept = trades_kept}),
        engine_(make_engine({}, *this)) {}

  void on_event(const Event& event) override { events_.push_back(event); }

  // Applies `body` stamped at `time`; returns what it changed in the feed.
  md::FeedUpdate at(Nanoseconds time, CommandBody body) {
    events_.clear();
    command_ = Command{{++sequence_, time}, std::move(body)};
    log.push_back(command_);
    engine_->apply(command_);
    return feed.apply(command_, events_);
  }

  // Lists `spec` and opens it; participants 1..4 are funded once and may
  // sell 10,000 units of it.
  void list(Nanoseconds time, const InstrumentSpec& spec) {
    at(time, ListInstrument{spec});
    at(time, ChangeInstrumentState{spec.id, InstrumentState::open});
    for (ParticipantId p = 1; p <= 4; ++p) {
      if (!engine_->account(p)) {
        at(time, AddParticipant{p});
        at(time, AdjustCash{p, 100'000'000'000});
      }
      at(time, SetSellCapacity{p, spec.id, 10'000});
    }
  }

  OrderId order(Nanoseconds time, ParticipantId who, InstrumentId instrument, Side side,
                Price price, Quantity quantity, OrderType type = OrderType::limit) {
    at(time, NewOrder{0, who, instrument, side, type, SelfTradePrevention::cancel_incoming, price,
                      quantity});
    const auto accepted = only<OrderAccepted>(events_);
    return accepted.empty() ? 0 : accepted.front().order;
  }

  // One trade of `quantity` at `price`, both orders at `time`: participant 2
  // offers, participant 1 buys (the aggressor). The book must hold no
  // better offer.
  void trade(Nanoseconds time, InstrumentId instrument, Price price, Quantity quantity) {
    REQUIRE(order(time, 2, instrument, Side::sell, price, quantity) != 0);
    order(time, 1, instrument, Side::buy, price, quantity);
    const auto trades = only<Trade>(events_);
    REQUIRE(trades.size() == 1);
    REQUIRE(trades[0].price == price);
    REQUIRE(trades[0].quantity == quantity);
  }

  Engine& engine() { return *engine_; }
  const Command& last_command() const { return command_; }
  const std::vector<Event>& last_events() const { return events_; }

  md::MarketFeed feed;
  std::vector<Command> log;  // every command applied, as a journal holds them

 private:
  std::vector<Event> events_;
  std::unique_ptr<Engine> engine_;
  SequenceNumber sequence_ = 0;
  Command command_{{}, AddParticipant{}};
};

struct PriceQuantity {
  Price price = 0;
  Quantity quantity = 0;
  bool operator==(const PriceQuantity&) const = default;
};

std::vector<PriceQuantity> levels(const std::vector<md::Level>& side) {
  std::vector<PriceQuantity> out;
  for (const md::Level& l : side)
    out.push_back({l.price, l.quantity});
  return out;
}

std::vector<PriceQuantity> levels(const std::vector<DepthLevel>& side) {
  std::vector<PriceQuantity> out;
  for (const DepthLevel& l : side)
    out.push_back({l.price, l.quantity});
  return out;
}

// The feed's whole book of `instrument` is the engine's, level by level.
void check_same_book(const md::MarketFeed& feed, Engine& engine, InstrumentId instrument) {
  const md::Depth mine = feed.depth(instrument, 0);
  const Depth theirs = engine.depth(instrument, 100'000);
  CHECK(levels(mine.bids) == levels(theirs.bids));
  CHECK(levels(mine.offers) == levels(theirs.asks));
}

const md::Fixing& only_fixing(const md::FeedUpdate& update, const md::Product& product) {
  const md::Fixing* found = nullptr;
  for (const md::Fixing& f : update.fixings)
    if (f.product == product) {
      REQUIRE(found == nullptr);
      found = &f;
    }
  REQUIRE(found != nullptr);
  return *found;
}

md::Fixing fixing(const md::Product& product, Nanoseconds at, md::FixingBasis basis, Price value,
                  Quantity volume, std::uint32_t trades) {
  return {.product = product,
          .at = at,
          .basis = basis,
          .value = value,
          .volume = volume,
          .trades = trades};
}

md::Candle candle(Nanoseconds start, Price open, Price high, Price low, Price close,
                  Quantity volume) {
  return {.start = start, .open = open, .high = high, .low = low, .close = close, .volume = volume};
}

}  // namespace

TEST_CASE("feed: depth is the engine's book after random orders, cancels and replaces") {
  std::map<std::size_t, int> seen;  // events by kind (their variant index), every seed
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto uniform = [&](std::int64_t lo, std::int64_t hi) {
      return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    Exchange x;
    x.list(kNoon, gpu_hour(1, 0));
    x.list(kNoon, gpu_hour(2, 1));
    std::map<OrderId, ParticipantId> owners;  // every order ever accepted
    std::optional<md::MarketFeed> restored;   // from a snapshot half-way
    Nanoseconds now = kNoon;
    for (int step = 0; step < 400; ++step) {
      now += uniform(0, 30) * kSecond;
      const auto who = static_cast<ParticipantId>(uniform(1, 4));
      const auto instrument = static_cast<InstrumentId>(uniform(1, 2));
      const Price price = 2'000'000 + 100 * uniform(-15, 15);
      const Quantity quantity = uniform(1, 20);
      const auto pick_order = [&]() -> std::pair<OrderId, ParticipantId> {
        if (owners.empty()) return {1, who};
        auto it = owners.begin();
        std::advance(it, uniform(0, static_cast<std::int64_t>(owners.size()) - 1));
        // Now and then someone else's: refused, and nothing changes.
        return {it->first, uniform(0, 9) == 0 ? who : it->second};
      };
      const std::int64_t dice = uniform(0, 99);
      if (dice < 50) {
        static constexpr OrderType kTypes[] = {
            OrderType::limit,        OrderType::limit,     OrderType::limit,
            OrderType::limit,        OrderType::post_only, OrderType::immediate_or_cancel,
            OrderType::fill_or_kill, OrderType::market};
        const auto stp = static_cast<SelfTradePrevention>(uniform(0, 3));
        x.at(now, NewOrder{0, who, instrument, uniform(0, 1) ? Side::buy : Side::sell,
                           kTypes[uniform(0, 7)], stp, price, quantity});
      } else if (dice < 65) {
        const auto [order, owner] = pick_order();
        x.at(now, CancelOrder{owner, order});
      } else if (dice < 85) {
        const auto [order, owner] = pick_order();
        x.at(now, ReplaceOrder{owner, order, price, quantity});
      } else if (dice < 88) {
        x.at(now, MassCancel{
                      who, uniform(0, 1) ? std::optional<InstrumentId>(instrument) : std::nullopt});
      } else if (dice < 96) {
        x.at(now,
             NewBlockOrder{.participant = who,
                           .first_instrument = 1,
                           .hours = static_cast<std::uint32_t>(uniform(1, 2)),
                           .side = uniform(0, 1) ? Side::buy : Side::sell,
                           .one_provider = uniform(0, 1) == 1,
                           .time_in_force = uniform(0, 1) ? BlockTimeInForce::until_gate_closure
                                                          : BlockTimeInForce::immediate_or_cancel,
                           .units = uniform(1, 10),
                           .limit = price});
      } else {
        x.at(now, HaltInstrument{instrument, uniform(0, 1) == 1});
      }
      for (const OrderAccepted& a : only<OrderAccepted>(x.last_events()))
        owners[a.order] = a.participant;
      for (const Event& e : x.last_events())
        ++seen[e.index()];
      if (restored) restored->apply(x.last_command(), x.last_events());
      if (step == 200) {
        restored.emplace();
        restored->restore(x.engine().snapshot(), x.last_command().stamp.sequence);
      }
      for (const InstrumentId id : {1, 2}) {
        check_same_book(x.feed, x.engine(), id);
        if (restored) check_same_book(*restored, x.engine(), id);
      }
    }
    // Gate closure expires what rests, blocks included.
    x.at(now, ChangeInstrumentState{1, InstrumentState::gate_closed});
    restored->apply(x.last_command(), x.last_events());
    for (const InstrumentId id : {1, 2}) {
      check_same_book(x.feed, x.engine(), id);
      check_same_book(*restored, x.engine(), id);
    }
    CHECK(x.feed.depth(1, 0).bids.empty());
    CHECK(x.feed.depth(1, 0).offers.empty());
    CHECK(x.engine().check_invariants().empty());
  }
  // The seeds reach every way an order leaves or changes the book.
  const auto kind = [](const Event& e) { return e.index(); };
  for (const Event& e :
       {Event{Trade{}}, Event{OrderCanceled{}}, Event{OrderReplaced{}}, Event{OrderExpired{}},
        Event{BlockOrderFilled{}}, Event{BlockOrderRested{}}, Event{InstrumentHalted{}}})
    CHECK_MESSAGE(seen[kind(e)] > 0, "event kind ", kind(e));
}

TEST_CASE("feed: depth levels are best first, limited, and empty for an unknown instrument") {
  Exchange x;
  x.list(kNoon, gpu_hour(1, 0));
  x.order(kNoon, 1, 1, Side::buy, 1'999'000, 3);
  x.order(kNoon, 2, 1, Side::buy, 1'999'500, 2);
  x.order(kNoon, 3, 1, Side::buy, 1'999'000, 4);
  x.order(kNoon, 2, 1, Side::sell, 2'000'500, 5);
  x.order(kNoon, 4, 1, Side::sell, 2'000'100, 1);
  const md::Depth all = x.feed.depth(1, 0);
  CHECK(levels(all.bids) == std::vector<PriceQuantity>{{1'999'500, 2}, {1'999'000, 7}});
  CHECK(levels(all.offers) == std::vector<PriceQuantity>{{2'000'100, 1}, {2'000'500, 5}});
  const md::Depth top = x.feed.depth(1, 1);
  CHECK(levels(top.bids) == std::vector<PriceQuantity>{{1'999'500, 2}});
  CHECK(levels(top.offers) == std::vector<PriceQuantity>{{2'000'100, 1}});
  CHECK(x.feed.depth(99, 0).bids.empty());
}

TEST_CASE("feed: the tape is newest first and names no participant or order") {
  Exchange x({}, /*trades_kept=*/3);
  const InstrumentSpec spec = gpu_hour(1, 0);
  x.list(kNoon, spec);
  x.order(kNoon + 1 * kSecond, 2, 1, Side::sell, 2'000'000, 5);
  x.order(kNoon + 2 * kSecond, 3, 1, Side::sell, 2'000'100, 5);
  // One buy takes 5 at 2.000000 and 2 at 2.000100: two trades, one command.
  const md::FeedUpdate update =
      x.at(kNoon + 3 * kSecond, NewOrder{0, 1, 1, Side::buy, OrderType::limit,
                                         SelfTradePrevention::cancel_incoming, 2'000'100, 7});
  REQUIRE(update.trades.size() == 2);
  x.order(kNoon + 4 * kSecond, 4, 1, Side::buy, 1'999'900, 1);
  // A seller hits the bid: aggressor sell.
  x.order(kNoon + 5 * kSecond, 3, 1, Side::sell, 1'999'900, 1);
  x.order(kNoon + 6 * kSecond, 4, 1, Side::buy, 2'000'100, 1);

  const std::vector<md::PublicTrade> tape = x.feed.trades(1, 100);
  REQUIRE(tape.size() == 3);  // trades_kept: the oldest went
  CHECK(tape[0].trade == 4);
  CHECK(tape[0].price == 2'000'100);
  CHECK(tape[0].quantity == 1);
  CHECK(tape[0].aggressor == Side::buy);
  CHECK(tape[0].time == kNoon + 6 * kSecond);
  CHECK(tape[1].trade == 3);
  CHECK(tape[1].price == 1'999'900);
  CHECK(tape[1].aggressor == Side::sell);
  CHECK(tape[1].time == kNoon + 5 * kSecond);
  CHECK(tape[2].trade == 2);
  CHECK(tape[2].price == 2'000'100);
  CHECK(tape[2].quantity == 2);
  CHECK_FALSE(tape[2].block_leg);
  CHECK(x.feed.trades(1, 1).size() == 1);
  CHECK(x.feed.trades(1, 1)[0].trade == 4);
  CHECK(x.feed.trades(2, 10).empty());

  // What the public reads carries no participant, order or client id.
  const std::string body = md::answer(x.feed, "/api/v1/trades?symbol=" + spec.symbol).body;
  CHECK(body.find("\"trade\":4") != std::string::npos);
  CHECK(body.find("\"price\":\"2.000100\"") != std::string::npos);
  const std::string message = md::update_message(x.feed, update, 0);
  for (const std::string& text : {body, message})
    for (const char* key : {"participant", "maker", "taker", "order", "client"})
      CHECK_MESSAGE(text.find(key) == std::string::npos, key, " in ", text);
}

TEST_CASE("feed: a block's legs are on the tape, marked") {
  Exchange x;
  x.list(kNoon, gpu_hour(1, 0));
  x.list(kNoon, gpu_hour(2, 1));
  x.order(kNoon, 2, 1, Side::sell, 2'000'000, 3);
  x.order(kNoon, 2, 2, Side::sell, 2'000'200, 3);
  x.at(kNoon + kSecond, NewBlockOrder{.participant = 1,
                                      .first_instrument = 1,
                                      .hours = 2,
                                      .side = Side::buy,
                                      .units = 3,
                                      .limit = 2'000'100});
  REQUIRE(x.feed.trades(1, 10).size() == 1);
  REQUIRE(x.feed.trades(2, 10).size() == 1);
  CHECK(x.feed.trades(1, 10)[0].block_leg);
  CHECK(x.feed.trades(2, 10)[0].block_leg);
  CHECK(x.feed.trades(2, 10)[0].price == 2'000'200);
}

TEST_CASE("feed: candles are OHLCV per minute, merged into longer intervals") {
  Exchange x;
  x.list(kNoon, gpu_hour(1, 0));
  x.list(kNoon, node_hour(2, 0));
  x.trade(kNoon + 5 * kSecond, 1, 2'000'000, 2);
  x.trade(kNoon + 30 * kSecond, 1, 2'000'500, 1);
  x.trade(kNoon + 59 * kSecond, 1, 1'999'800, 3);
  x.trade(kNoon + 70 * kSecond, 1, 2'000'200, 4);
  x.trade(kNoon + 5 * kMinute + 20 * kSecond, 1, 2'001'000, 1);
  x.trade(kNoon + 6 * kMinute + 10 * kSecond, 2, 16'000'100, 2);
  x.trade(kNoon + 6 * kMinute + 20 * kSecond, 2, 16'800'000, 1);

  using Candles = std::vector<md::Candle>;
  // start, open, high, low, close, volume
  CHECK(x.feed.candles(1, 60, 0) ==
        Candles{candle(kNoon, 2'000'000, 2'000'500, 1'999'800, 1'999'800, 6),
                candle(kNoon + kMinute, 2'000'200, 2'000'200, 2'000'200, 2'000'200, 4),
                candle(kNoon + 5 * kMinute, 2'001'000, 2'001'000, 2'001'000, 2'001'000, 1)});
  CHECK(x.feed.candles(1, 300, 0) ==
        Candles{candle(kNoon, 2'000'000, 2'000'500, 1'999'800, 2'000'200, 10),
                candle(kNoon + 5 * kMinute, 2'001'000, 2'001'000, 2'001'000, 2'001'000, 1)});
  CHECK(x.feed.candles(1, 60, 2).size() == 2);
  CHECK(x.feed.candles(1, 60, 2)[0].start == kNoon + kMinute);
  CHECK(x.feed.candles(1, 3600, 0).size() == 1);
  // A limit keeps the newest candles whole: merged from all their minutes.
  CHECK(x.feed.candles(1, 300, 1) == Candles{x.feed.candles(1, 300, 0).back()});
  CHECK(x.feed.candles(1, 3600, 1) == x.feed.candles(1, 3600, 0));
  CHECK(x.feed.candles(1, 300, 2) == x.feed.candles(1, 300, 0));

  // Per instrument, per unit; per product, per GPU-hour (rounded down) and
  // volume in GPU-hours: 16.000100 a node is 2.000012 a GPU-hour.
  CHECK(x.feed.candles(2, 60, 0) ==
        Candles{candle(kNoon + 6 * kMinute, 16'000'100, 16'800'000, 16'000'100, 16'800'000, 3)});
  CHECK(x.feed.product_candles(kNode, 60, 0) ==
        Candles{candle(kNoon + 6 * kMinute, 2'000'012, 2'100'000, 2'000'012, 2'100'000, 24)});
  CHECK(x.feed.product_candles(kH100, 3600, 0) ==
        Candles{candle(kNoon, 2'000'000, 2'001'000, 1'999'800, 2'001'000, 11)});
}

TEST_CASE("index: basis trades is the VWAP per GPU-hour of every hour, rounded down") {
  // A fixing every hour from 8 GPU-hours (the defaults).
  Exchange x;
  x.list(kNoon - 10 * kMinute, gpu_hour(1, 3));  // starts the clock: first fixing at noon
  x.list(kNoon - 10 * kMinute, gpu_hour(2, 4));
  x.list(kNoon - 10 * kMinute, node_hour(3, 3));
  x.list(kNoon - 10 * kMinute, node_hour(4, 4));
  const md::FeedUpdate at_noon = x.at(kNoon, AddParticipant{9});
  CHECK(only_fixing(at_noon, kH100) == fixing(kH100, kNoon, md::FixingBasis::none, 0, 0, 0));

  // Per GPU: 3 at 2.000100 in one delivery hour, 5 at 2.000000 in the next:
  // (6,000,300 + 10,000,000) / 8 = 2,000,037.5 -> 2.000037.
  x.trade(kNoon + 10 * kMinute, 1, 2'000'100, 3);
  x.trade(kNoon + 20 * kMinute, 2, 2'000'000, 5);
  // 8-GPU nodes: 1 node at 16.000100 and 2 at 16.800000 are 24 GPU-hours:
  // (16,000,100 + 33,600,000) / 24 = 2,066,670.83 -> 2.066670.
  x.trade(kNoon + 30 * kMinute, 3, 16'000'100, 1);
  x.trade(kNoon + 40 * kMinute, 4, 16'800'000, 2);
  const md::FeedUpdate at_one = x.at(kNoon + kHour, AddParticipant{10});
  CHECK(only_fixing(at_one, kH100) ==
        fixing(kH100, kNoon + kHour, md::FixingBasis::trades, 2'000'037, 8, 2));
  CHECK(only_fixing(at_one, kNode) ==
        fixing(kNode, kNoon + kHour, md::FixingBasis::trades, 2'066'670, 24, 2));
  CHECK(x.feed.fixings(kNode).size() == 2);

  // The API's shape, and gpux index --json's (the same writer).
  const std::string body = md::answer(x.feed, "/api/v1/index?product=H100-SXM-8x.us-east").body;
  CHECK(body ==
        "{\"interval_s\":3600,\"min_volume_gpu_hours\":8,\"products\":[{\"product\":"
        "\"H100-SXM-8x.us-east\",\"fixings\":["
        "{\"product\":\"H100-SXM-8x.us-east\",\"at_ms\":1795435200000,\"basis\":\"none\","
        "\"value\":null,\"volume_gpu_hours\":0,\"trades\":0},"
        "{\"product\":\"H100-SXM-8x.us-east\",\"at_ms\":1795438800000,\"basis\":\"trades\","
        "\"value\":\"2.066670\",\"volume_gpu_hours\":24,\"trades\":2}]}]}");
  CHECK(md::index_json(x.feed.index_rule(), {{kNode, x.feed.fixings(kNode)}}) == body);
}

TEST_CASE("index: basis quotes is the mid per GPU of the nearest open two-sided book") {
  Exchange x;
  x.list(kNoon - kMinute, gpu_hour(1, 3));  // nearest delivery: a bid, no offer
  x.list(kNoon - kMinute, gpu_hour(2, 4));  // next: two-sided
  x.list(kNoon - kMinute, gpu_hour(3, 5));  // later: two-sided, wider
  x.list(kNoon - kMinute, node_hour(4, 4));
  x.order(kNoon - kMinute, 1, 1, Side::buy, 2'050'000, 1);
  x.order(kNoon - kMinute, 1, 2, Side::buy, 1'999'000, 1);
  x.order(kNoon - kMinute, 2, 2, Side::sell, 2'000'100, 1);
  x.order(kNoon - kMinute, 1, 3, Side::buy, 2'100'000, 1);
  x.order(kNoon - kMinute, 2, 3, Side::sell, 2'200'000, 1);
  // Per node 16.000100 / 16.000300: (32,000,400) / (2 x 8) = 2.000025 exactly.
  x.order(kNoon - kMinute, 1, 4, Side::buy, 16'000'100, 1);
  x.order(kNoon - kMinute, 2, 4, Side::sell, 16'000'300, 1);
  // 7 GPU-hours traded: below the minimum of 8.
  x.trade(kNoon - 30 * kSecond, 3, 2'150'000, 7);

  const md::FeedUpdate at_noon = x.at(kNoon, AddParticipant{9});
  // (1,999,000 + 2,000,100) / 2 = 1,999,550: hour 2's; hour 1 has no offer.
  CHECK(only_fixing(at_noon, kH100) ==
        fixing(kH100, kNoon, md::FixingBasis::quotes, 1'999'550, 7, 1));
  CHECK(only_fixing(at_noon, kNode) ==
        fixing(kNode, kNoon, md::FixingBasis::quotes, 2'000'025, 0, 0));

  // Halted, hour 2 is passed over: hour 3's (2,100,000 + 2,200,000) / 2.
  x.at(kNoon + kMinute, HaltInstrument{2, true});
  const md::FeedUpdate at_one = x.at(kNoon + kHour, AddParticipant{10});
  CHECK(only_fixing(at_one, kH100) ==
        fixing(kH100, kNoon + kHour, md::FixingBasis::quotes, 2'150'000, 0, 0));
  // Gate closed, hour 3 is passed over too: only one-sided books remain.
  x.at(kNoon + kHour + kMinute, ChangeInstrumentState{3, InstrumentState::gate_closed});
  const md::FeedUpdate at_two = x.at(kNoon + 2 * kHour, AddParticipant{11});
  CHECK(only_fixing(at_two, kH100) ==
        fixing(kH100, kNoon + 2 * kHour, md::FixingBasis::none, 0, 0, 0));
}

TEST_CASE("index: thin trades without a two-sided quote, and none without either") {
  Exchange x;
  x.list(kNoon - kMinute, gpu_hour(1, 3));
  x.list(kNoon - kMinute, node_hour(2, 3));
  // 2 at 2.000100 and 1 at 2.000000: 3 GPU-hours, (4,000,200 + 2,000,000) / 3
  // = 2,000,066.67 -> 2.000066. A bid alone is no quote.
  x.trade(kNoon - 50 * kSecond, 1, 2'000'100, 2);
  x.trade(kNoon - 40 * kSecond, 1, 2'000'000, 1);
  x.order(kNoon - 30 * kSecond, 3, 1, Side::buy, 1'990'000, 5);
  // One node-hour is 8 GPU-hours: enough for basis trades in one fill.
  x.trade(kNoon - 20 * kSecond, 2, 15'999'900, 1);
  const md::FeedUpdate at_noon = x.at(kNoon, AddParticipant{9});
  CHECK(only_fixing(at_noon, kH100) ==
        fixing(kH100, kNoon, md::FixingBasis::thin_trades, 2'000'066, 3, 2));
  // 15,999,900 / 8 = 1,999,987.5 -> 1.999987.
  CHECK(only_fixing(at_noon, kNode) ==
        fixing(kNode, kNoon, md::FixingBasis::trades, 1'999'987, 8, 1));

  const md::FeedUpdate at_one = x.at(kNoon + kHour, AddParticipant{10});
  CHECK(only_fixing(at_one, kH100) == fixing(kH100, kNoon + kHour, md::FixingBasis::none, 0, 0, 0));
  CHECK(only_fixing(at_one, kNode) == fixing(kNode, kNoon + kHour, md::FixingBasis::none, 0, 0, 0));
  const std::string body = md::answer(x.feed, "/api/v1/index?product=H100-SXM.us-east").body;
  CHECK(body.find("\"basis\":\"thin_trades\",\"value\":\"2.000066\"") != std::string::npos);
  CHECK(body.find("\"basis\":\"none\",\"value\":null,\"volume_gpu_hours\":0") != std::string::npos);
}

TEST_CASE("index: a fixing is published by the first command at or after its instant") {
  // Every 5 minutes, from 1 GPU-hour.
  Exchange x(md::IndexRule{.interval_s = 300, .min_volume = 1});
  const Nanoseconds interval = 5 * kMinute;
  x.list(kNoon - 10 * kSecond, gpu_hour(1, 3));  // the clock starts: first fixing at noon
  x.order(kNoon - 10 * kSecond, 2, 1, Side::sell, 2'000'000, 1);
  x.order(kNoon - 10 * kSecond, 2, 1, Side::sell, 2'000'100, 1);
  // A trade one nanosecond before noon: no fixing yet.
  md::FeedUpdate update =
      x.at(kNoon - 1, NewOrder{0, 1, 1, Side::buy, OrderType::limit,
                               SelfTradePrevention::cancel_incoming, 2'000'000, 1});
  CHECK(update.fixings.empty());
  CHECK(x.feed.fixings(kH100).empty());
  // A command stamped exactly at noon publishes noon's fixing first, from
  // the fills before it: its own trade is the next interval's.
  update = x.at(kNoon, NewOrder{0, 1, 1, Side::buy, OrderType::limit,
                                SelfTradePrevention::cancel_incoming, 2'000'100, 1});
  CHECK(update.fixings ==
        std::vector{fixing(kH100, kNoon, md::FixingBasis::trades, 2'000'000, 1, 1)});
  CHECK(update.trades.size() == 1);
  // Nothing until the next instant, however many commands.
  CHECK(x.at(kNoon + interval - 1, AddParticipant{9}).fixings.empty());
  // A quiet spell: the first command after it publishes every instant passed,
  // oldest first.
  update = x.at(kNoon + 3 * interval + 7 * kSecond, AddParticipant{10});
  CHECK(update.fixings ==
        std::vector{fixing(kH100, kNoon + interval, md::FixingBasis::trades, 2'000'100, 1, 1),
                    fixing(kH100, kNoon + 2 * interval, md::FixingBasis::none, 0, 0, 0),
                    fixing(kH100, kNoon + 3 * interval, md::FixingBasis::none, 0, 0, 0)});
  // A quote standing at an instant counts even if the command at that
  // instant removes it: fixings come from the state before the command.
  const OrderId bid = x.order(kNoon + 3 * interval + 8 * kSecond, 1, 1, Side::buy, 1'999'000, 1);
  x.order(kNoon + 3 * interval + 9 * kSecond, 2, 1, Side::sell, 2'001'000, 1);
  update = x.at(kNoon + 4 * interval, CancelOrder{1, bid});
  CHECK(update.fixings ==
        std::vector{fixing(kH100, kNoon + 4 * interval, md::FixingBasis::quotes, 2'000'000, 0, 0)});
  // A product fixes from the first instant after it is listed.
  x.list(kNoon + 4 * interval + kSecond, node_hour(2, 3));
  update = x.at(kNoon + 5 * interval, AddParticipant{11});
  CHECK(update.fixings ==
        std::vector{fixing(kH100, kNoon + 5 * interval, md::FixingBasis::none, 0, 0, 0),
                    fixing(kNode, kNoon + 5 * interval, md::FixingBasis::none, 0, 0, 0)});
  CHECK(x.feed.fixings(kH100).size() == 6);
  CHECK(x.feed.fixings(kNode).size() == 1);
}

TEST_CASE("index: replaying the same commands gives the same fixings and JSON") {
  // What `gpux index` relies on: a fresh engine and feed fed the journal's
  // commands publish what the service published live.
  const md::IndexRule rule{.interval_s = 60, .min_volume = 3};
  Exchange live(rule);
  live.list(kNoon, gpu_hour(1, 1));
  live.list(kNoon, node_hour(2, 1));
  std::mt19937_64 rng(7);
  Nanoseconds now = kNoon;
  std::vector<md::Fixing> published;
  for (int step = 0; step < 300; ++step) {
    now += std::uniform_int_distribution<Nanoseconds>(0, 20 * kSecond)(rng);
    const InstrumentId instrument = rng() % 2 + 1;
    const Price base = instrument == 1 ? 2'000'000 : 16'000'000;
    const auto update = live.at(now, NewOrder{0, static_cast<ParticipantId>(rng() % 4 + 1),
                                              instrument, rng() % 2 ? Side::buy : Side::sell,
                                              OrderType::limit, SelfTradePrevention::cancel_both,
                                              base + 100 * static_cast<Price>(rng() % 21) - 1000,
                                              static_cast<Quantity>(rng() % 3 + 1)});
    published.insert(published.end(), update.fixings.begin(), update.fixings.end());
  }
  std::map<md::FixingBasis, int> bases;
  for (const md::Fixing& f : published)
    ++bases[f.basis];
  CHECK(bases[md::FixingBasis::trades] > 0);
  CHECK(bases[md::FixingBasis::quotes] > 0);

  Exchange again(rule);
  for (const Command& c : live.log)
    again.at(c.stamp.time, c.body);
  std::vector<md::Fixing> replayed;
  for (const md::Product& p : again.feed.products())
    for (const md::Fixing& f : again.feed.fixings(p))
      replayed.push_back(f);
  std::sort(published.begin(), published.end(), [](const auto& a, const auto& b) {
    return std::tie(a.product, a.at) < std::tie(b.product, b.at);
  });
  CHECK(replayed == published);
  const char* target = "/api/v1/index?limit=100000";
  CHECK(md::answer(again.feed, target).body == md::answer(live.feed, target).body);
}

#include "workloads.h"

#include <algorithm>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "gpux/matching/engine.h"
#include "gpux/matching/resting_orders.h"

namespace gpux::bench {
namespace {

using namespace gpux::matching;

constexpr InstrumentId kInstrument = 0;
constexpr Price kTick = 100;
constexpr Price kReference = 2'000'000;  // USD 2.00 per GPU-hour
constexpr Price kBand = 2'000 * kTick;   // 4,001 price levels per side

// The benchmark's product: H100-SXM in us-east, delivering `hour` hours
// after 2026-11-22T15:00Z.
InstrumentSpec product(InstrumentId id, std::int64_t hour) {
  InstrumentSpec spec;
  spec.id = id;
  spec.symbol = "H100-SXM.us-east.20261122T15+" + std::to_string(hour);
  spec.gpu_class = "H100-SXM";
  spec.region = "us-east";
  spec.delivery_start = 1'795'446'000 + hour * 3600;
  spec.delivery_end = spec.delivery_start + 3600;
  spec.gate_closure = spec.delivery_start - 300;
  spec.tick_size = kTick;
  spec.max_quantity = 1'000'000;
  spec.reference_price = kReference;
  spec.band_width = kBand;
  return spec;
}

// Runs a real engine while generating, to learn which orders rest.
class Generator : EventListener {
 public:
  Generator(std::uint64_t seed, ParticipantId accounts) : random_(seed), accounts_(accounts) {
    engine_ = make_engine({}, *this);
    submit(ListInstrument{product(kInstrument, 0)});
    submit(ChangeInstrumentState{kInstrument, InstrumentState::open});
    for (ParticipantId p = 0; p < accounts; ++p) {
      submit(AddParticipant{p});
      submit(AdjustCash{p, 1'000'000'000'000'000});
      submit(SetSellCapacity{p, kInstrument, 1'000'000'000});
    }
  }

  // Everything submitted so far becomes setup; what follows is measured.
  void start_measuring() {
    setup_ = std::move(log_);
    log_.clear();
    samples_ = 0;
    resting_sum_ = levels_sum_ = 0;
    trades_ = ended_cancelled_ = ended_filled_ = limits_ = replaces_ = 0;
  }

  Workload finish(std::string name, std::string description) {
    Workload w{std::move(name), std::move(description), std::move(setup_), std::move(log_)};
    w.mean_resting_orders = samples_ ? resting_sum_ / samples_ : 0;
    w.mean_price_levels = samples_ ? levels_sum_ / samples_ : 0;
    w.trades = trades_;
    const std::size_t ended = ended_cancelled_ + ended_filled_;
    w.cancelled_share =
        ended ? static_cast<double>(ended_cancelled_) / static_cast<double>(ended) : 0;
    w.replaced_share = limits_ ? static_cast<double>(replaces_) / static_cast<double>(limits_) : 0;
    return w;
  }

  void submit(const CommandBody& body) {
    ++sequence_;
    log_.push_back(Command{{sequence_, static_cast<Nanoseconds>(sequence_)}, body});
    engine_->apply(log_.back());
    if (sequence_ % 1024 == 0) {
      const Depth depth = engine_->depth(kInstrument, SIZE_MAX);
      resting_sum_ += static_cast<double>(resting_.size());
      levels_sum_ += static_cast<double>(depth.bids.size() + depth.asks.size());
      ++samples_;
    }
  }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random_); }
  bool chance(int percent) { return pick(0, 99) < percent; }
  ParticipantId account() {
    return static_cast<ParticipantId>(pick(0, static_cast<int>(accounts_) - 1));
  }
  Side side() { return chance(50) ? Side::buy : Side::sell; }
  static Price clamp(Price p) { return std::clamp(p, kReference - kBand, kReference + kBand); }

  // Away from the touch by 1..`levels` ticks (passive), or through it (aggressive).
  Price passive(Side s, int levels) {
    const Price away = kTick * pick(1, levels);
    return clamp(s == Side::buy ? last_price_ - away : last_price_ + away);
  }
  Price aggressive(Side s, int levels) {
    const Price through = kTick * pick(0, levels);
    return clamp(s == Side::buy ? last_price_ + through : last_price_ - through);
  }

  void new_order(OrderType type, Side s, Price price, Quantity quantity) {
    submit(NewOrder{0, account(), kInstrument, s, type, SelfTradePrevention::cancel_resting, price,
                    quantity});
  }

  // Places limit orders priced by `price(side)` until `target` orders rest.
  template <class PriceFor>
  void fill_book(std::size_t target, PriceFor&& price, int max_quantity) {
    while (resting_.size() < target) {
      const Side s = side();
      new_order(OrderType::limit, s, price(s), pick(1, max_quantity));
    }
  }

  // fill_book() with orders 1..`levels` ticks from the touch.
  void fill_book_passive(std::size_t target, int levels, int max_quantity) {
    fill_book(
        target, [&](Side s) { return passive(s, levels); }, max_quantity);
  }

  // Starts measuring, then `commands` times draws a roll (0..99) and a side,
  // in that order, and calls `step(roll, side)`.
  template <class Step>
  void measure_rolls(std::size_t commands, Step&& step) {
    start_measuring();
    for (std::size_t i = 0; i < commands; ++i) {
      const int roll = pick(0, 99);
      const Side s = side();
      step(roll, s);
    }
  }

  void cancel_some() {
    const auto& o = some_resting();
    submit(CancelOrder{o.participant, o.order});
  }

  const RestingOrders::Entry& some_resting() {
    return resting_[static_cast<std::size_t>(pick(0, static_cast<int>(resting_.size()) - 1))];
  }
  const RestingOrders& resting() const { return resting_; }
  Price last_price() const { return last_price_; }

 private:
  void on_event(const Event& event) override {
    resting_.observe(event);
    if (const auto* trade = std::get_if<Trade>(&event)) {
      last_price_ = trade->price;
      ++trades_;
      ended_filled_ += trade->maker_remaining == 0;
    } else if (const auto* cancel = std::get_if<OrderCanceled>(&event)) {
      ended_cancelled_ += cancel->remaining == 0;
    } else if (const auto* accepted = std::get_if<OrderAccepted>(&event)) {
      limits_ += accepted->type == OrderType::limit;
    } else if (std::holds_alternative<OrderReplaced>(event)) {
      ++replaces_;
    }
  }

  std::mt19937_64 random_;
  ParticipantId accounts_;
  std::unique_ptr<Engine> engine_;
  RestingOrders resting_;
  Price last_price_ = kReference;
  SequenceNumber sequence_ = 0;
  std::vector<Command> log_;
  std::vector<Command> setup_;
  double resting_sum_ = 0;
  double levels_sum_ = 0;
  double samples_ = 0;
  std::size_t trades_ = 0;
  std::size_t ended_cancelled_ = 0;
  std::size_t ended_filled_ = 0;
  std::size_t limits_ = 0;
  std::size_t replaces_ = 0;
};

// Counts what a block sweep did, and the book it swept.
struct SweepListener : EventListener {
  std::size_t trades = 0;
  std::size_t blocks_filled = 0;
  void on_event(const Event& event) override {
    trades += std::holds_alternative<Trade>(event);
    blocks_filled += std::holds_alternative<BlockOrderFilled>(event);
  }
};

}  // namespace

Workload block_sweep(std::size_t blocks, std::uint64_t seed) {
  constexpr auto kHours = static_cast<InstrumentId>(kMaxBlockHours);
  constexpr ParticipantId kProviders = 24;
  constexpr ParticipantId kBuyer = kProviders;
  constexpr int kOffersPerHour = 4;  // per provider
  constexpr Quantity kUnits = 8;
  // Enough that the last block still finds one provider able to fill it.
  const auto offer_size = static_cast<Quantity>(2 * blocks * kUnits / kProviders + kUnits);
  std::mt19937_64 random(seed);
  SweepListener counts;
  auto engine = make_engine({}, counts);
  Workload w;
  w.name = "d: 168h block sweep";
  w.description = "buy blocks of 8 units x 168 hours against 168 books of " +
                  std::to_string(kProviders * kOffersPerHour) +
                  " offers; half one-provider, half any";
  SequenceNumber sequence = 0;
  const auto add = [&](std::vector<Command>& to, const CommandBody& body) {
    ++sequence;
    to.push_back(Command{{sequence, static_cast<Nanoseconds>(sequence)}, body});
    engine->apply(to.back());
  };
  for (InstrumentId hour = 0; hour < kHours; ++hour) {
    add(w.setup, ListInstrument{product(hour, hour)});
    add(w.setup, ChangeInstrumentState{hour, InstrumentState::open});
  }
  for (ParticipantId p = 0; p <= kBuyer; ++p) {
    add(w.setup, AddParticipant{p});
    add(w.setup, AdjustCash{p, 1'000'000'000'000'000});
    for (InstrumentId hour = 0; hour < kHours && p != kBuyer; ++hour)
      add(w.setup, SetSellCapacity{p, hour, 1'000'000'000});
  }
  for (InstrumentId hour = 0; hour < kHours; ++hour)
    for (int offer = 0; offer < kOffersPerHour; ++offer)
      for (ParticipantId p = 0; p < kProviders; ++p) {
        const auto ticks = static_cast<Price>(random() % 100);
        add(w.setup, NewOrder{.participant = p,
                              .instrument = hour,
                              .side = Side::sell,
                              .price = kReference + ticks * kTick,
                              .quantity = offer_size});
      }
  w.mean_resting_orders = kHours * kProviders * kOffersPerHour;
  for (std::size_t b = 0; b < blocks; ++b)
    add(w.measured, NewBlockOrder{.client_order_id = b + 1,
                                  .participant = kBuyer,
                                  .first_instrument = 0,
                                  .hours = kMaxBlockHours,
                                  .side = Side::buy,
                                  .one_provider = b % 2 == 0,
                                  .units = kUnits,
                                  .limit = kReference + kBand});
  w.trades = counts.trades;
  if (counts.blocks_filled != blocks) throw std::logic_error("a benchmark block did not fill");
  return w;
}

Workload exchange_core_mix(std::size_t commands, std::uint64_t seed) {
  constexpr std::size_t kTargetOrders = 1'000;
  Generator g(seed, 1'000);
  g.fill_book_passive(kTargetOrders, 400, 100);
  g.measure_rolls(commands, [&](int roll, Side s) {
    if (roll < 9) {
      // Too many orders: GTC orders lean aggressive and eat into the book.
      const bool cross = g.chance(g.resting().size() > kTargetOrders ? 40 : 5);
      g.new_order(OrderType::limit, s, cross ? g.aggressive(s, 3) : g.passive(s, 400),
                  g.pick(1, 100));
    } else if (roll < 12 || g.resting().empty()) {
      g.new_order(OrderType::immediate_or_cancel, s, g.aggressive(s, 5), g.pick(1, 100));
    } else if (roll < 18) {
      g.cancel_some();
    } else {
      // Move one step toward the last price (sometimes a step away), same quantity.
      const auto& o = g.some_resting();
      const Price toward = o.price < g.last_price() ? kTick : -kTick;
      const Price step = g.chance(70) ? toward : -toward;
      g.submit(ReplaceOrder{o.participant, o.order, Generator::clamp(o.price + step), o.remaining});
    }
  });
  return g.finish("a: exchange-core mix",
                  "9% GTC, 3% IOC, 6% cancel, 82% move toward last price; 1,000 accounts");
}

Workload cancel_heavy(std::size_t commands, std::uint64_t seed) {
  constexpr std::size_t kTargetOrders = 2'000;
  Generator g(seed, 1'000);
  g.fill_book_passive(kTargetOrders, 50, 20);
  g.measure_rolls(commands, [&](int roll, Side s) {
    if (roll < 15 || g.resting().empty()) {
      g.new_order(OrderType::immediate_or_cancel, s, g.aggressive(s, 2), g.pick(1, 5));
    } else if (roll < 23) {
      const auto& o = g.some_resting();
      g.submit(ReplaceOrder{o.participant, o.order, g.passive(o.side, 50), g.pick(1, 20)});
    } else if (g.resting().size() < kTargetOrders) {
      // New orders and cancels share the rest, keeping the book near its target size.
      g.new_order(OrderType::limit, s, g.passive(s, 50), g.pick(1, 20));
    } else {
      g.cancel_some();
    }
  });
  return g.finish("b: cancel-heavy",
                  "15% IOC, 8% replace, the rest limit or cancel to hold ~2,000 orders");
}

Workload deep_book(std::size_t commands, std::uint64_t seed) {
  constexpr std::size_t kTargetOrders = 20'000;
  constexpr int kLevelsPerSide = 30;
  Generator g(seed, 1'000);
  const auto level_price = [&](Side s) {
    const Price away = kTick * g.pick(1, kLevelsPerSide);
    return s == Side::buy ? kReference - away : kReference + away;
  };
  g.fill_book(kTargetOrders, level_price, 20);
  g.start_measuring();
  for (std::size_t i = 0; i < commands; ++i) {
    const Side s = g.side();
    if (g.chance(10)) {
      // Takes a few orders off the front of the best level.
      g.new_order(OrderType::immediate_or_cancel, s,
                  s == Side::buy ? kReference + kTick : kReference - kTick, g.pick(1, 40));
    } else if (g.resting().size() < kTargetOrders) {
      g.new_order(OrderType::limit, s, level_price(s), g.pick(1, 20));
    } else {
      g.cancel_some();
    }
  }
  return g.finish("c: deep book",
                  "10% IOC, the rest limit or cancel (random queue position) to hold 20,000 orders "
                  "on 60 levels");
}

}  // namespace gpux::bench

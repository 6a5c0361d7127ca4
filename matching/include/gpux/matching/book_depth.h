// Follows an engine's event stream and keeps every instrument's aggregated
// depth: the resting quantity at each price, per side, summed over the live
// orders. What market data is made of, FIX's and the public service's; each
// adds what it needs on top (the levels a command changed, the tape).
#pragma once

#include <cassert>
#include <functional>
#include <map>
#include <unordered_map>

#include "gpux/matching/events.h"
#include "gpux/matching/order_updates.h"

namespace gpux::matching {

class BookDepth {
 public:
  struct Order {
    InstrumentId instrument = 0;
    Side side = Side::buy;
    Price price = 0;
    Quantity remaining = 0;
  };
  struct Levels {
    std::map<Price, Quantity, std::greater<>> bids;  // best first
    std::map<Price, Quantity> offers;                // best first
  };

  // Follows one event: an OrderAccepted adds its order, and each update
  // for_each_order_update reads moves or shrinks a live order (gone at 0);
  // events about unknown orders (blocks, orders gone before) change nothing.
  // `moving(instrument, side, price)` is called before each level changes.
  template <class Moving>
  void track(const Event& event, Moving&& moving) {
    if (const auto* a = std::get_if<OrderAccepted>(&event)) {
      const Order order{.instrument = a->instrument,
                        .side = a->side,
                        .price = a->price,
                        .remaining = a->quantity};
      live_[a->order] = order;
      moving(order.instrument, order.side, order.price);
      move(order, order.price, order.remaining);
      return;
    }
    for_each_order_update(event, [&](const OrderUpdate& update) {
      const auto found = live_.find(update.order);
      if (found == live_.end()) return;
      Order& o = found->second;
      if (update.price) {  // a replace: the whole order moves
        moving(o.instrument, o.side, o.price);
        move(o, o.price, -o.remaining);
        o.price = *update.price;
        moving(o.instrument, o.side, o.price);
        move(o, o.price, update.remaining);
      } else {
        moving(o.instrument, o.side, o.price);
        move(o, o.price, update.remaining - o.remaining);
      }
      o.remaining = update.remaining;
      if (o.remaining == 0) live_.erase(found);
    });
  }

  // A live order from a snapshot or a checkpoint: in the book, unannounced.
  void restore(OrderId id, const Order& order) {
    live_[id] = order;
    move(order, order.price, order.remaining);
  }

  // The resting quantity at a price (0: no such level).
  Quantity level(InstrumentId instrument, Side side, Price price) const {
    const Levels* l = levels(instrument);
    if (l == nullptr) return 0;
    const auto at = [price](const auto& side_levels) {
      const auto found = side_levels.find(price);
      return found == side_levels.end() ? Quantity{0} : found->second;
    };
    return side == Side::buy ? at(l->bids) : at(l->offers);
  }
  // An instrument's levels; null when it never had an order.
  const Levels* levels(InstrumentId instrument) const {
    const auto found = levels_.find(instrument);
    return found == levels_.end() ? nullptr : &found->second;
  }
  // Every live order, by id.
  const std::unordered_map<OrderId, Order>& live() const { return live_; }

 private:
  void move(const Order& order, Price price, Quantity delta) {
    Levels& l = levels_[order.instrument];
    const auto apply = [&](auto& side_levels) {
      const Quantity now = (side_levels[price] += delta);
      assert(now >= 0);
      if (now == 0) side_levels.erase(price);
    };
    if (order.side == Side::buy) {
      apply(l.bids);
    } else {
      apply(l.offers);
    }
  }

  std::unordered_map<OrderId, Order> live_;
  std::map<InstrumentId, Levels> levels_;
};

}  // namespace gpux::matching

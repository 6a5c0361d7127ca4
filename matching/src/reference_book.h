// The reference book: deliberately simple and slow, so that it is obviously
// correct. The differential tests feed it and the fast book the same commands
// and demand identical events and state hashes.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <list>
#include <map>

#include "gpux/matching/engine.h"
#include "order.h"

namespace gpux::matching {

class ReferenceBook {
 public:
  ReferenceBook(Price, Price, std::uint32_t) {}

  void insert(Order& order) { side(order.side)[order.price].push_back(&order); }

  void erase(Order& order) {
    auto& levels = side(order.side);
    auto level = levels.find(order.price);
    level->second.remove(&order);
    if (level->second.empty()) levels.erase(level);
  }

  void reduce(Order& order, Quantity by) {
    assert(by > 0 && by <= order.remaining);
    order.remaining -= by;
  }

  Order* best(Side s) const {
    const auto& levels = side(s);
    if (levels.empty()) return nullptr;
    return s == Side::buy ? levels.rbegin()->second.front() : levels.begin()->second.front();
  }

  template <class F>
  void for_each_order(Side s, F&& f) const {
    for_each_queue(s, [&](const std::list<Order*>& queue) {
      for (const Order* o : queue)
        if (!f(*o)) return false;
      return true;
    });
  }

  template <class F>
  void for_each_level(Side s, F&& f) const {
    for_each_queue(s, [&](const std::list<Order*>& queue) {
      DepthLevel level{queue.front()->price, 0, 0};
      for (const Order* o : queue) {
        level.quantity += o->remaining;
        ++level.orders;
      }
      return f(level);
    });
  }

  std::size_t bytes() const { return 0; }

 private:
  using Levels = std::map<Price, std::list<Order*>>;

  Levels& side(Side s) { return levels_[s == Side::buy ? 0 : 1]; }
  const Levels& side(Side s) const { return levels_[s == Side::buy ? 0 : 1]; }

  template <class F>
  void for_each_queue(Side s, F&& f) const {
    const Levels& levels = side(s);
    if (s == Side::buy) {
      for (auto it = levels.rbegin(); it != levels.rend(); ++it)
        if (!f(it->second)) return;
    } else {
      for (auto it = levels.begin(); it != levels.end(); ++it)
        if (!f(it->second)) return;
    }
  }

  Levels levels_[2];
};

}  // namespace gpux::matching

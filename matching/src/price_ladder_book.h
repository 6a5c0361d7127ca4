// The fast book: one array slot per price tick inside the instrument's band,
// a bitset of non-empty levels to find the next best price, and intrusive
// time-priority queues, so insert, erase and best are O(1) without allocation.
// A side's ladder is allocated by its first order, so the many instruments a
// calendar lists ahead cost nothing until they trade.
#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

#include "gpux/matching/engine.h"
#include "level_bitset.h"
#include "order.h"

namespace gpux::matching {

class PriceLadderBook {
 public:
  PriceLadderBook(Price min_price, Price tick_size, std::uint32_t levels)
      : min_price_(min_price), tick_size_(tick_size), levels_(levels) {}

  void insert(Order& order) {
    Ladder& ladder = sides_[index(order.side)];
    if (ladder.levels.empty()) ladder.allocate(levels_);
    order.level = static_cast<std::uint32_t>((order.price - min_price_) / tick_size_);
    Level& level = ladder.levels[order.level];
    order.next_in_level = nullptr;
    order.prev_in_level = level.tail;
    if (level.tail != nullptr) {
      level.tail->next_in_level = &order;
    } else {
      level.head = &order;
      ladder.non_empty.set(order.level);
      if (ladder.best == LevelBitset::npos || better(order.side, order.level, ladder.best))
        ladder.best = order.level;
    }
    level.tail = &order;
    level.quantity += order.remaining;
    ++level.orders;
  }

  void erase(Order& order) {
    Ladder& ladder = sides_[index(order.side)];
    Level& level = ladder.levels[order.level];
    (order.prev_in_level ? order.prev_in_level->next_in_level : level.head) = order.next_in_level;
    (order.next_in_level ? order.next_in_level->prev_in_level : level.tail) = order.prev_in_level;
    level.quantity -= order.remaining;
    assert(level.quantity >= 0);
    if (--level.orders == 0) {
      assert(level.head == nullptr && level.quantity == 0);
      ladder.non_empty.clear(order.level);
      if (ladder.best == order.level)
        ladder.best = order.side == Side::buy ? ladder.non_empty.prev_at_or_before(order.level)
                                              : ladder.non_empty.next_at_or_after(order.level);
    }
  }

  void reduce(Order& order, Quantity by) {
    assert(by > 0 && by <= order.remaining);
    order.remaining -= by;
    Quantity& total = sides_[index(order.side)].levels[order.level].quantity;
    total -= by;
    assert(total >= order.remaining);
  }

  Order* best(Side side) const {
    const Ladder& ladder = sides_[index(side)];
    return ladder.best == LevelBitset::npos ? nullptr : ladder.levels[ladder.best].head;
  }

  // Visits resting orders of one side in priority order while f returns true.
  template <class F>
  void for_each_order(Side side, F&& f) const {
    for_each_level_slot(side, [&](const Level& level) {
      for (const Order* o = level.head; o != nullptr; o = o->next_in_level)
        if (!f(*o)) return false;
      return true;
    });
  }

  // Visits price levels of one side, best first, while f returns true.
  template <class F>
  void for_each_level(Side side, F&& f) const {
    for_each_level_slot(side, [&](const Level& level) {
      return f(DepthLevel{level.head->price, level.quantity, level.orders});
    });
  }

  std::size_t bytes() const {
    std::size_t total = 0;
    for (const Ladder& ladder : sides_)
      total += ladder.levels.size() * sizeof(Level) + ladder.non_empty.bytes();
    return total;
  }

 private:
  struct Level {
    Order* head = nullptr;
    Order* tail = nullptr;
    Quantity quantity = 0;
    std::uint32_t orders = 0;
  };

  struct Ladder {
    void allocate(std::uint32_t size) {
      levels.resize(size);
      non_empty = LevelBitset(size);
    }
    std::vector<Level> levels;
    LevelBitset non_empty;
    std::uint32_t best = LevelBitset::npos;
  };

  static std::size_t index(Side side) { return side == Side::buy ? 0 : 1; }
  static bool better(Side side, std::uint32_t a, std::uint32_t b) {
    return side == Side::buy ? a > b : a < b;
  }

  template <class F>
  void for_each_level_slot(Side side, F&& f) const {
    const Ladder& ladder = sides_[index(side)];
    for (std::uint32_t i = ladder.best; i != LevelBitset::npos;) {
      if (!f(ladder.levels[i])) return;
      if (side == Side::buy) {
        i = i == 0 ? LevelBitset::npos : ladder.non_empty.prev_at_or_before(i - 1);
      } else {
        i = ladder.non_empty.next_at_or_after(i + 1);
      }
    }
  }

  Price min_price_;
  Price tick_size_;
  std::uint32_t levels_;
  Ladder sides_[2];
};

}  // namespace gpux::matching

// Follows an engine's event stream and keeps the orders that rest in the book,
// with O(1) lookup and random access: what a client needs to know its working
// orders, and what a load generator needs to pick orders to cancel or move.
#pragma once

#include <cstddef>
#include <unordered_map>
#include <vector>

#include "gpux/matching/events.h"
#include "gpux/matching/order_updates.h"

namespace gpux::matching {

class RestingOrders {
 public:
  struct Entry {
    OrderId order = 0;
    ParticipantId participant = 0;
    InstrumentId instrument = 0;
    Side side = Side::buy;
    Price price = 0;
    Quantity remaining = 0;
  };

  void observe(const Event& event) {
    if (const auto* accepted = std::get_if<OrderAccepted>(&event)) {
      position_[accepted->order] = entries_.size();
      entries_.push_back({.order = accepted->order,
                          .participant = accepted->participant,
                          .instrument = accepted->instrument,
                          .side = accepted->side,
                          .price = accepted->price,
                          .remaining = accepted->quantity});
      return;
    }
    for_each_order_update(event, [this](const OrderUpdate& update) {
      if (Entry* entry = find(update.order); entry && update.price) entry->price = *update.price;
      set_remaining(update.order, update.remaining);
    });
  }

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const Entry& operator[](std::size_t i) const { return entries_[i]; }

  Entry* find(OrderId order) {
    const auto it = position_.find(order);
    return it == position_.end() ? nullptr : &entries_[it->second];
  }

 private:
  void set_remaining(OrderId order, Quantity remaining) {
    const auto it = position_.find(order);
    if (it == position_.end()) return;
    if (remaining > 0) {
      entries_[it->second].remaining = remaining;
      return;
    }
    const std::size_t at = it->second;
    position_.erase(it);
    if (at + 1 != entries_.size()) {
      entries_[at] = entries_.back();
      position_[entries_[at].order] = at;
    }
    entries_.pop_back();
  }

  std::vector<Entry> entries_;
  std::unordered_map<OrderId, std::size_t> position_;
};

}  // namespace gpux::matching

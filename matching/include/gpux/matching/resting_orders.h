// Follows an engine's event stream and keeps the orders that rest in the book,
// with O(1) lookup and random access: what a client needs to know its working
// orders, and what a load generator needs to pick orders to cancel or move.
#pragma once

#include <cstddef>
#include <unordered_map>
#include <vector>

#include "gpux/matching/events.h"

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
      entries_.push_back({accepted->order, accepted->participant, accepted->instrument,
                          accepted->side, accepted->price, accepted->quantity});
    } else if (const auto* fill = std::get_if<Trade>(&event)) {
      set_remaining(fill->maker_order, fill->maker_remaining);
      set_remaining(fill->taker_order, fill->taker_remaining);
    } else if (const auto* canceled = std::get_if<OrderCanceled>(&event)) {
      set_remaining(canceled->order, canceled->remaining);
    } else if (const auto* expired = std::get_if<OrderExpired>(&event)) {
      set_remaining(expired->order, 0);
    } else if (const auto* replaced = std::get_if<OrderReplaced>(&event)) {
      if (Entry* entry = find(replaced->order)) entry->price = replaced->price;
      set_remaining(replaced->order, replaced->quantity);
    }
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

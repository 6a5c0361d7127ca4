// The engine's order record and the pool it lives in. Books keep orders in
// intrusive queues, so an order is one allocation-free record from accept to
// fill or cancel.
#pragma once

#include <cassert>
#include <cstddef>
#include <memory>
#include <vector>

#include "gpux/matching/types.h"

namespace gpux::matching {

struct Order {
  OrderId id = 0;
  Price price = 0;  // limit price; for market orders the effective protection price
  Quantity remaining = 0;
  Order* prev_in_level = nullptr;  // time-priority queue of the order's price level
  Order* next_in_level = nullptr;
  Order* prev_of_owner = nullptr;  // the participant's resting orders, for mass cancel
  Order* next_of_owner = nullptr;
  ParticipantId participant = 0;
  InstrumentId instrument = 0;
  std::uint32_t level = 0;  // book-private position of the price level
  Side side = Side::buy;
  OrderType type = OrderType::limit;
  SelfTradePrevention self_trade = SelfTradePrevention::cancel_resting;
};

// Hands out order records from chunks that are never returned to the heap, so
// the steady state allocates nothing. Freed records are reused LIFO (warm cache).
class OrderPool {
 public:
  Order* allocate() {
    if (free_ == nullptr) grow();
    Order* order = free_;
    free_ = order->next_in_level;
    ++in_use_;
    return order;
  }

  void release(Order* order) {
    assert((in_use_ > 0) && "released an order the pool never handed out");
    order->next_in_level = free_;
    free_ = order;
    --in_use_;
  }

  std::size_t in_use() const { return in_use_; }
  std::size_t bytes() const { return chunks_.size() * kChunkOrders * sizeof(Order); }

 private:
  static constexpr std::size_t kChunkOrders = 4096;

  void grow() {
    chunks_.push_back(std::make_unique<Order[]>(kChunkOrders));
    Order* chunk = chunks_.back().get();
    for (std::size_t i = kChunkOrders; i-- > 0;) {
      chunk[i].next_in_level = free_;
      free_ = &chunk[i];
    }
  }

  std::vector<std::unique_ptr<Order[]>> chunks_;
  Order* free_ = nullptr;
  std::size_t in_use_ = 0;
};

}  // namespace gpux::matching

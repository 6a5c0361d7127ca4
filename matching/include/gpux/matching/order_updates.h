// The one reading of how the engine's events change an order after its
// OrderAccepted: what is left of it, at which price, how much traded, and
// why it ended. Everything that follows orders through events uses it
// (RestingOrders, the FIX gateway's market data, the order store's
// find_order), so that a new event kind is taught to all of them at once.
#pragma once

#include <optional>
#include <variant>

#include "gpux/matching/events.h"

namespace gpux::matching {

enum class OrderEnd : std::uint8_t { none, filled, canceled, expired };

struct OrderUpdate {
  OrderId order = 0;
  Quantity remaining = 0;           // left in the book after the event (0: gone)
  std::optional<Price> price = {};  // a replace's new limit price
  Quantity traded = 0;              // filled by this event
  OrderEnd end = OrderEnd::none;    // why `remaining` became 0
  Stamp stamp = {};
};

// Calls `update(OrderUpdate)` for each order `event` changes: none, one, or
// two for a trade (maker first, then taker). OrderAccepted is an order's
// start, not an update: callers handle it themselves.
template <class Update>
void for_each_order_update(const Event& event, Update&& update) {
  if (const auto* t = std::get_if<Trade>(&event)) {
    const auto end = [](Quantity remaining) {
      return remaining == 0 ? OrderEnd::filled : OrderEnd::none;
    };
    update(OrderUpdate{.order = t->maker_order,
                       .remaining = t->maker_remaining,
                       .traded = t->quantity,
                       .end = end(t->maker_remaining),
                       .stamp = t->stamp});
    update(OrderUpdate{.order = t->taker_order,
                       .remaining = t->taker_remaining,
                       .traded = t->quantity,
                       .end = end(t->taker_remaining),
                       .stamp = t->stamp});
  } else if (const auto* c = std::get_if<OrderCanceled>(&event)) {
    // Decrement-and-cancel may leave the resting order with a remainder.
    update(OrderUpdate{.order = c->order,
                       .remaining = c->remaining,
                       .end = c->remaining == 0 ? OrderEnd::canceled : OrderEnd::none,
                       .stamp = c->stamp});
  } else if (const auto* e = std::get_if<OrderExpired>(&event)) {
    update(OrderUpdate{
        .order = e->order, .remaining = 0, .end = OrderEnd::expired, .stamp = e->stamp});
  } else if (const auto* r = std::get_if<OrderReplaced>(&event)) {
    update(OrderUpdate{
        .order = r->order, .remaining = r->quantity, .price = r->price, .stamp = r->stamp});
  }
}

}  // namespace gpux::matching

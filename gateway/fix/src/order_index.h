// The FIX orders the gateway knows: those working, by order id and by
// (session, ClOrdID), and those that ended (filled, canceled, expired) or
// whose ClOrdID a replace took over, by (session, ClOrdID), until their
// instrument's gate closes: a status request finds them, and a new order
// cannot take their ClOrdID, so a client that resends after a lost answer
// does not trade twice. Bookkeeping only: storing what ended is the
// owner's job, with what finish(), rename() and forget() return. Not
// thread-safe: the order entry's lock guards it.
#pragma once

#include <quickfix/FixValues.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gpux/matching/types.h"

namespace gpux::proto {
class GatewayOrder;
}

namespace gpux::fix {

// A FIX order, as its session knows it.
struct Working {
  std::string session;
  std::string cl_ord_id;
  std::string symbol;
  char side = FIX::Side_BUY;
  std::int64_t order_qty = 0;
  std::int64_t price = 0;
  std::int64_t cum_qty = 0;
  std::int64_t cum_notional = 0;
  bool block = false;  // a block order: each fill is a leg in its hour's Symbol
};

// A FIX order that ended, or the ClOrdID a replace took over.
struct Ended {
  Working order;
  matching::OrderId id = 0;
  // OrdStatus: filled, canceled, expired, or replaced (an old ClOrdID).
  char ord_status = FIX::OrdStatus_FILLED;
};

// A FIX order in a stored record (checkpoint or ended order), both ways.
// set_working writes the fields Working has but not the side and price,
// which a checkpoint takes from the live order.
void set_working(proto::GatewayOrder& record, const Working& order);
Working working_of(const proto::GatewayOrder& record);
std::string record_of(const Ended& ended);  // all of it, serialized

class OrderIndex {
 public:
  // An ended order from the FIX state store (a record_of), at start.
  // Unreadable records are skipped.
  void load_ended(const std::string& record);

  // `order` works from now on under `id` and its (session, ClOrdID),
  // replacing whatever was there: an acceptance, or a checkpoint's order.
  Working& open(matching::OrderId id, Working order);
  // The working order `id` (nullptr: not a working FIX order).
  Working* find(matching::OrderId id);
  const Working* find(matching::OrderId id) const;
  // The id of the order working under a session's ClOrdID.
  std::optional<matching::OrderId> find(const std::string& session,
                                        const std::string& cl_ord_id) const;
  // The ended order remembered under a session's ClOrdID (nullptr: none).
  const Ended* find_ended(const std::string& session, const std::string& cl_ord_id) const;
  // A session's working orders, in `symbol` (empty: in any), by id.
  std::vector<std::pair<matching::OrderId, const Working*>> open_orders(
      const std::string& session, const std::string& symbol) const;
  // Whether a new order may not take this ClOrdID: one works under it,
  // ended under it since its instrument's gate last closed, or was
  // submitted under it and is not journaled yet (reserve()).
  bool taken(const std::string& session, const std::string& cl_ord_id) const;
  // A new order under this ClOrdID goes to the sequencer: until release(),
  // taken() says so, so that two orders sent together under one ClOrdID
  // cannot both pass the check (the first is not yet working when the
  // second is checked).
  void reserve(const std::string& session, const std::string& cl_ord_id);
  // Its command was journaled (and the order opened, or rejected), or the
  // sequencer refused it: the reservation ends. Unknown keys are ignored.
  void release(const std::string& session, const std::string& cl_ord_id);

  // The working order `id` ended with `ord_status`: no longer working,
  // remembered as ended. What to store, or nothing when `id` was not working.
  std::optional<Ended> finish(matching::OrderId id, char ord_status);
  // A replace gave the working order `id` the ClOrdID `cl_ord_id`: its old
  // one is remembered as ended (replaced), and the order works on under
  // the new one. What to store. Precondition: `id` is working.
  Ended rename(matching::OrderId id, const std::string& cl_ord_id);
  // The gate of `symbol` closed: its ended orders are let go. Whether any
  // were remembered since the last forget (the store must forget them too).
  bool forget(const std::string& symbol);

 private:
  using OrderKey = std::pair<std::string, std::string>;  // session, ClOrdID
  void remember(const Ended& ended);

  std::unordered_map<matching::OrderId, Working> working_;
  std::map<OrderKey, matching::OrderId> by_cl_ord_id_;
  std::map<OrderKey, Ended> ended_;
  std::map<std::string, std::vector<OrderKey>> ended_by_symbol_;  // what forget() lets go
  std::set<OrderKey> in_flight_;                                  // reserve() until release()
};

}  // namespace gpux::fix

#include "order_index.h"

#include <algorithm>

#include "fix_gateway.pb.h"

namespace gpux::fix {

using matching::OrderId;

void set_working(proto::GatewayOrder& o, const Working& w) {
  o.set_session(w.session);
  o.set_cl_ord_id(w.cl_ord_id);
  o.set_symbol(w.symbol);
  o.set_order_qty(w.order_qty);
  o.set_cum_qty(w.cum_qty);
  o.set_cum_notional(w.cum_notional);
  o.set_block(w.block);
}

Working working_of(const proto::GatewayOrder& o) {
  return {.session = o.session(),
          .cl_ord_id = o.cl_ord_id(),
          .symbol = o.symbol(),
          .side = o.sell() ? FIX::Side_SELL : FIX::Side_BUY,
          .order_qty = o.order_qty(),
          .price = o.price(),
          .cum_qty = o.cum_qty(),
          .cum_notional = o.cum_notional(),
          .block = o.block()};
}

std::string record_of(const Ended& e) {
  proto::GatewayOrder record;
  record.set_order(e.id);
  record.set_sell(e.order.side == FIX::Side_SELL);
  record.set_price(e.order.price);
  record.set_ord_status(static_cast<std::uint32_t>(e.ord_status));
  set_working(record, e.order);
  return record.SerializeAsString();
}

void OrderIndex::load_ended(const std::string& bytes) {
  proto::GatewayOrder o;
  if (!o.ParseFromString(bytes)) return;
  remember({working_of(o), o.order(), static_cast<char>(o.ord_status())});
}

Working& OrderIndex::open(OrderId id, Working order) {
  by_cl_ord_id_[{order.session, order.cl_ord_id}] = id;
  return working_[id] = std::move(order);
}

Working* OrderIndex::find(OrderId id) {
  const auto found = working_.find(id);
  return found == working_.end() ? nullptr : &found->second;
}

const Working* OrderIndex::find(OrderId id) const {
  const auto found = working_.find(id);
  return found == working_.end() ? nullptr : &found->second;
}

std::optional<OrderId> OrderIndex::find(const std::string& session,
                                        const std::string& cl_ord_id) const {
  const auto found = by_cl_ord_id_.find({session, cl_ord_id});
  if (found == by_cl_ord_id_.end()) return std::nullopt;
  return found->second;
}

const Ended* OrderIndex::find_ended(const std::string& session,
                                    const std::string& cl_ord_id) const {
  const auto found = ended_.find({session, cl_ord_id});
  return found == ended_.end() ? nullptr : &found->second;
}

bool OrderIndex::taken(const std::string& session, const std::string& cl_ord_id) const {
  const OrderKey key{session, cl_ord_id};
  return by_cl_ord_id_.contains(key) || ended_.contains(key) || in_flight_.contains(key);
}

void OrderIndex::reserve(const std::string& session, const std::string& cl_ord_id) {
  in_flight_.insert({session, cl_ord_id});
}

void OrderIndex::release(const std::string& session, const std::string& cl_ord_id) {
  in_flight_.erase({session, cl_ord_id});
}

void OrderIndex::remember(const Ended& ended) {
  const OrderKey key{ended.order.session, ended.order.cl_ord_id};
  ended_[key] = ended;
  ended_by_symbol_[ended.order.symbol].push_back(key);
}

std::vector<std::pair<OrderId, const Working*>> OrderIndex::open_orders(
    const std::string& session, const std::string& symbol) const {
  std::vector<std::pair<OrderId, const Working*>> found;
  for (auto it = by_cl_ord_id_.lower_bound({session, ""});
       it != by_cl_ord_id_.end() && it->first.first == session; ++it) {
    const Working& order = working_.at(it->second);
    if (symbol.empty() || order.symbol == symbol) found.emplace_back(it->second, &order);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::optional<Ended> OrderIndex::finish(OrderId id, char ord_status) {
  const auto found = working_.find(id);
  if (found == working_.end()) return std::nullopt;
  by_cl_ord_id_.erase({found->second.session, found->second.cl_ord_id});
  Ended ended{std::move(found->second), id, ord_status};
  working_.erase(found);
  remember(ended);
  return ended;
}

Ended OrderIndex::rename(OrderId id, const std::string& cl_ord_id) {
  Working& o = working_.at(id);
  by_cl_ord_id_.erase({o.session, o.cl_ord_id});
  const Ended replaced{o, id, FIX::OrdStatus_REPLACED};
  remember(replaced);
  o.cl_ord_id = cl_ord_id;
  by_cl_ord_id_[{o.session, o.cl_ord_id}] = id;
  return replaced;
}

bool OrderIndex::forget(const std::string& symbol) {
  const auto keys = ended_by_symbol_.find(symbol);
  if (keys == ended_by_symbol_.end()) return false;
  // A key is listed once per remembering (a replay remembers again); its
  // entry may since be another symbol's, and then stays.
  for (const OrderKey& key : keys->second)
    if (const auto found = ended_.find(key);
        found != ended_.end() && found->second.order.symbol == symbol)
      ended_.erase(found);
  ended_by_symbol_.erase(keys);
  return true;
}

}  // namespace gpux::fix

#include "fix_order_entry.h"

namespace gpux::gateway {

using namespace gpux::matching;

namespace {

// OrdRejReason(103) for the engine's reasons: 1 unknown symbol, 2 exchange
// closed, 3 order exceeds limit, 13 incorrect quantity, 99 other; Text says
// exactly which rule.
int ord_rej_reason(RejectReason reason) {
  switch (reason) {
    case RejectReason::unknown_instrument:
      return 1;
    case RejectReason::instrument_not_open:
      return 2;
    case RejectReason::insufficient_cash:
    case RejectReason::insufficient_capacity:
      return 3;
    case RejectReason::invalid_quantity:
    case RejectReason::quantity_below_minimum:
    case RejectReason::quantity_above_maximum:
    case RejectReason::lot_size_violation:
      return 13;
    default:
      return 99;
  }
}

std::string exec_id(const Stamp& stamp, std::size_t position) {
  return std::to_string(stamp.sequence) + "-" + std::to_string(position);
}

}  // namespace

FixOrderEntry::FixOrderEntry(std::map<std::string, ParticipantId> clients)
    : clients_(std::move(clients)) {}

void FixOrderEntry::add_symbol(const std::string& symbol, InstrumentId id) {
  std::lock_guard lock(mutex_);
  symbols_[symbol] = id;
}

bool FixOrderEntry::knows(const std::string& session) {
  std::lock_guard lock(mutex_);
  return clients_.contains(session);
}

void FixOrderEntry::set_sink(std::function<void(const fix::Report&)> sink) {
  std::lock_guard lock(mutex_);
  sink_ = std::move(sink);
}

void FixOrderEntry::refuse(const fix::OrderRequest& request, int reason, const std::string& text) {
  fix::Report r;
  r.kind = request.kind == fix::OrderRequest::cancel ? fix::Report::cancel_reject
                                                     : fix::Report::execution;
  r.session = request.session;
  r.order_id = "NONE";
  r.cl_ord_id = request.cl_ord_id;
  r.orig_cl_ord_id = request.orig_cl_ord_id;
  r.exec_id = "R-" + request.session + "-" + request.cl_ord_id;
  r.exec_type = '8';
  r.ord_status = '8';
  r.symbol = request.symbol;
  r.side = request.side;
  r.order_qty = request.quantity;
  r.ord_rej_reason = reason;
  r.cxl_rej_reason = reason;
  r.text = text;
  sink_(r);
}

void FixOrderEntry::submit(const fix::OrderRequest& request) {
  std::unique_lock lock(mutex_);
  const ParticipantId participant = clients_.at(request.session);
  if (request.kind == fix::OrderRequest::cancel) {
    const auto found = by_cl_ord_id_.find({request.session, request.orig_cl_ord_id});
    if (found == by_cl_ord_id_.end())
      return refuse(request, 1,
                    "unknown order: no working order with OrigClOrdID " + request.orig_cl_ord_id);
    pending_cancels_[found->second].push_back(
        {request.session, request.cl_ord_id, request.orig_cl_ord_id});
    const OrderId order = found->second;
    lock.unlock();
    pipeline_->submit(CancelOrder{participant, order}, {});
    return;
  }
  const auto symbol = symbols_.find(request.symbol);
  if (symbol == symbols_.end()) return refuse(request, 1, "unknown symbol " + request.symbol);
  if (by_cl_ord_id_.contains({request.session, request.cl_ord_id}))
    return refuse(request, 6, "duplicate ClOrdID " + request.cl_ord_id);
  NewOrder order;
  order.client_order_id = next_token_++;
  order.participant = participant;
  order.instrument = symbol->second;
  order.side = request.side == '1' ? Side::buy : Side::sell;
  order.type = request.ord_type == '1'        ? OrderType::market
               : request.time_in_force == '3' ? OrderType::immediate_or_cancel
               : request.time_in_force == '4' ? OrderType::fill_or_kill
               : request.post_only            ? OrderType::post_only
                                              : OrderType::limit;
  order.self_trade = SelfTradePrevention::cancel_incoming;
  order.price = request.price;
  order.quantity = request.quantity;
  pending_orders_[order.client_order_id] = request;
  lock.unlock();
  pipeline_->submit(order, {});
}

void FixOrderEntry::finish(OrderId id) {
  const auto found = working_.find(id);
  if (found == working_.end()) return;
  by_cl_ord_id_.erase({found->second.session, found->second.cl_ord_id});
  working_.erase(found);
}

void FixOrderEntry::report(const Working& o, OrderId id, const std::string& exec, char exec_type,
                           Quantity leaves, Quantity last_qty, Price last_px,
                           const std::string& orig_cl_ord_id) {
  fix::Report r;
  r.session = o.session;
  r.order_id = std::to_string(id);
  r.cl_ord_id = o.cl_ord_id;
  r.orig_cl_ord_id = orig_cl_ord_id;
  r.exec_id = exec;
  r.exec_type = exec_type;
  r.ord_status = exec_type == 'F' ? (leaves == 0 ? '2' : '1') : exec_type;
  r.symbol = o.symbol;
  r.side = o.side;
  r.order_qty = o.order_qty;
  r.price = o.price;
  r.last_qty = last_qty;
  r.last_px = last_px;
  r.leaves_qty = leaves;
  r.cum_qty = o.cum_qty;
  r.avg_px = o.cum_qty == 0 ? 0 : o.cum_notional / o.cum_qty;
  sink_(r);
}

void FixOrderEntry::observe(const Command& command, std::span<const Event> events) {
  std::lock_guard lock(mutex_);
  if (const auto* listing = std::get_if<ListInstrument>(&command.body)) {
    symbols_[listing->spec->symbol] = listing->spec->id;
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& event = events[i];
    const std::string exec = exec_id(command.stamp, i);
    if (const auto* a = std::get_if<OrderAccepted>(&event)) {
      const auto pending = pending_orders_.find(a->client_order_id);
      if (pending == pending_orders_.end() || !std::holds_alternative<NewOrder>(command.body))
        continue;  // not a FIX order
      const fix::OrderRequest& request = pending->second;
      Working& o = working_[a->order];
      o = {request.session,
           request.cl_ord_id,
           request.symbol,
           request.side,
           a->quantity,
           a->price,
           0,
           0};
      by_cl_ord_id_[{request.session, request.cl_ord_id}] = a->order;
      pending_orders_.erase(pending);
      report(o, a->order, exec, '0', a->quantity);
    } else if (const auto* r = std::get_if<CommandRejected>(&event)) {
      if (const auto* order = std::get_if<NewOrder>(&command.body)) {
        const auto pending = pending_orders_.find(order->client_order_id);
        if (pending == pending_orders_.end()) continue;
        refuse(pending->second, ord_rej_reason(r->reason), to_string(r->reason));
        pending_orders_.erase(pending);
      } else if (std::holds_alternative<CancelOrder>(command.body)) {
        auto queue = pending_cancels_.find(r->order);
        if (queue == pending_cancels_.end() || queue->second.empty()) continue;
        fix::OrderRequest request;
        request.kind = fix::OrderRequest::cancel;
        request.session = queue->second.front().session;
        request.cl_ord_id = queue->second.front().cl_ord_id;
        request.orig_cl_ord_id = queue->second.front().orig_cl_ord_id;
        queue->second.pop_front();
        refuse(request, 0, std::string("too late to cancel: ") + to_string(r->reason));
      }
    } else if (const auto* t = std::get_if<Trade>(&event)) {
      for (const auto& [id, remaining] : {std::pair{t->maker_order, t->maker_remaining},
                                          std::pair{t->taker_order, t->taker_remaining}}) {
        const auto found = working_.find(id);
        if (found == working_.end()) continue;
        found->second.cum_qty += t->quantity;
        found->second.cum_notional += t->quantity * t->price;
        report(found->second, id, exec + (id == t->maker_order ? "-m" : "-t"), 'F', remaining,
               t->quantity, t->price);
        if (remaining == 0) finish(id);
      }
    } else if (const auto* c = std::get_if<OrderCanceled>(&event)) {
      const auto found = working_.find(c->order);
      if (found == working_.end()) continue;
      Working o = found->second;
      std::string orig;
      auto queue = pending_cancels_.find(c->order);
      if (c->reason == CancelReason::requested && queue != pending_cancels_.end() &&
          !queue->second.empty()) {
        // The cancel request's own ClOrdID, and the order's as OrigClOrdID.
        o.cl_ord_id = queue->second.front().cl_ord_id;
        orig = queue->second.front().orig_cl_ord_id;
        queue->second.pop_front();
      }
      report(o, c->order, exec, c->remaining == 0 ? '4' : 'D', c->remaining, 0, 0, orig);
      if (c->remaining == 0) finish(c->order);
    } else if (const auto* e = std::get_if<OrderExpired>(&event)) {
      const auto found = working_.find(e->order);
      if (found == working_.end()) continue;
      report(found->second, e->order, exec, 'C', 0);
      finish(e->order);
    }
  }
}

}  // namespace gpux::gateway

#include "fix_order_entry.h"

#include <sodium.h>

#include <ctime>

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

FixOrderEntry::FixOrderEntry(std::map<std::string, FixClient> clients)
    : clients_(std::move(clients)) {}

std::string FixOrderEntry::authenticate(const std::string& session, const std::string& password) {
  std::string hash;
  {
    std::lock_guard lock(mutex_);
    const auto client = clients_.find(session);
    if (client == clients_.end()) return "unknown SenderCompID " + session;
    const long minute = static_cast<long>(std::time(nullptr) / 60);
    auto& [failed, when] = failures_[session];
    if (when != minute) failed = 0, when = minute;
    if (failed >= 5) return "too many failed logons; try again in a minute";
    hash = client->second.password_hash;
  }
  // Verification is deliberately slow (Argon2id): done outside the lock.
  if (hash.empty() ||
      crypto_pwhash_str_verify(hash.c_str(), password.c_str(), password.size()) == 0)
    return {};
  std::lock_guard lock(mutex_);
  ++failures_[session].first;
  return "wrong password for " + session;
}

void FixOrderEntry::add_symbol(const std::string& symbol, InstrumentId id) {
  std::lock_guard lock(mutex_);
  symbols_[symbol] = id;
}

void FixOrderEntry::set_sink(std::function<void(const fix::Report&)> sink) {
  std::lock_guard lock(mutex_);
  sink_ = std::move(sink);
}

void FixOrderEntry::reject(const fix::OrderRequest& request, int reason, const std::string& text) {
  std::lock_guard lock(mutex_);
  refuse(request, reason, text);
}

void FixOrderEntry::refuse(const fix::OrderRequest& request, int reason, const std::string& text) {
  using Kind = fix::OrderRequest::Kind;
  fix::Report r;
  if (request.kind == Kind::cancel || request.kind == Kind::replace) {
    r.kind = fix::Report::cancel_reject;
    r.response_to = request.kind == Kind::replace ? '2' : '1';
  } else if (request.kind == Kind::mass_cancel) {
    r.kind = fix::Report::mass_cancel_report;
    r.mass_type = request.symbol.empty() ? '7' : '1';
  }
  r.session = request.session;
  r.order_id = "NONE";
  r.cl_ord_id = request.cl_ord_id;
  r.orig_cl_ord_id = request.orig_cl_ord_id;
  r.exec_id = "R-" + request.session + "-" + request.cl_ord_id;
  r.exec_type = request.kind == Kind::status ? 'I' : '8';
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
  const ParticipantId participant = clients_.at(request.session).participant;
  using Kind = fix::OrderRequest::Kind;
  if (request.kind == Kind::status) {
    const auto found = by_cl_ord_id_.find({request.session, request.cl_ord_id});
    if (found == by_cl_ord_id_.end())
      return refuse(request, 5,
                    "unknown order: no working order with ClOrdID " + request.cl_ord_id);
    const Working& o = working_.at(found->second);
    return report(o, found->second, "S-" + std::to_string(found->second), 'I',
                  o.order_qty - o.cum_qty);
  }
  if (request.kind == Kind::mass_cancel) {
    std::optional<InstrumentId> instrument;
    if (!request.symbol.empty()) {
      const auto symbol = symbols_.find(request.symbol);
      if (symbol == symbols_.end()) return refuse(request, 1, "unknown symbol " + request.symbol);
      instrument = symbol->second;
    }
    pending_mass_[participant].push_back(
        {request.session, request.cl_ord_id, request.symbol.empty() ? '7' : '1'});
    lock.unlock();
    pipeline_->submit(MassCancel{participant, instrument}, {});
    return;
  }
  if (request.kind == Kind::cancel || request.kind == Kind::replace) {
    const auto found = by_cl_ord_id_.find({request.session, request.orig_cl_ord_id});
    if (found == by_cl_ord_id_.end())
      return refuse(request, 1,
                    "unknown order: no working order with OrigClOrdID " + request.orig_cl_ord_id);
    const OrderId order = found->second;
    const Working& o = working_.at(order);
    const bool replace = request.kind == Kind::replace;
    if (replace && request.quantity <= o.cum_qty)
      return refuse(
          request, 99,
          "OrderQty(38) must exceed the " + std::to_string(o.cum_qty) + " units already filled");
    pending_changes_[order].push_back(
        {request.session, request.cl_ord_id, request.orig_cl_ord_id, replace, request.quantity});
    const Quantity remaining = request.quantity - o.cum_qty;
    lock.unlock();
    if (replace) {
      pipeline_->submit(ReplaceOrder{participant, order, request.price, remaining}, {});
    } else {
      pipeline_->submit(CancelOrder{participant, order}, {});
    }
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

std::optional<FixOrderEntry::PendingChange> FixOrderEntry::take_change(OrderId id) {
  const auto queue = pending_changes_.find(id);
  if (queue == pending_changes_.end()) return std::nullopt;
  PendingChange change = std::move(queue->second.front());
  queue->second.pop_front();
  if (queue->second.empty()) pending_changes_.erase(queue);  // nothing kept per finished order
  return change;
}

void FixOrderEntry::finish(OrderId id) {
  const auto found = working_.find(id);
  if (found == working_.end()) return;
  by_cl_ord_id_.erase({found->second.session, found->second.cl_ord_id});
  working_.erase(found);
  // Changes still queued for it are answered when the engine rejects them.
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
  switch (exec_type) {
    case 'F':
      r.ord_status = leaves == 0 ? '2' : '1';
      break;
    case '0':
    case '5':
    case 'D':
    case 'I':
      r.ord_status = o.cum_qty == 0 ? '0' : '1';
      break;
    default:
      r.ord_status = exec_type;  // 4 canceled, C expired
  }
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
      } else if (std::holds_alternative<CancelOrder>(command.body) ||
                 std::holds_alternative<ReplaceOrder>(command.body)) {
        const auto taken = take_change(r->order);
        if (!taken) continue;
        const PendingChange& change = *taken;
        fix::OrderRequest request;
        request.kind = change.replace ? fix::OrderRequest::replace : fix::OrderRequest::cancel;
        request.session = change.session;
        request.cl_ord_id = change.cl_ord_id;
        request.orig_cl_ord_id = change.orig_cl_ord_id;
        const bool gone = r->reason == RejectReason::unknown_order;
        refuse(request, gone ? 0 : 99,
               std::string(gone ? "too late: " : "") + to_string(r->reason));
      } else if (const auto* mass = std::get_if<MassCancel>(&command.body)) {
        auto queue = pending_mass_.find(mass->participant);
        if (queue == pending_mass_.end() || queue->second.empty()) continue;
        fix::OrderRequest request;
        request.kind = fix::OrderRequest::mass_cancel;
        request.session = queue->second.front().session;
        request.cl_ord_id = queue->second.front().cl_ord_id;
        queue->second.pop_front();
        refuse(request, 99, to_string(r->reason));
      }
    } else if (const auto* done = std::get_if<MassCancelDone>(&event)) {
      auto queue = pending_mass_.find(done->participant);
      if (queue == pending_mass_.end() || queue->second.empty()) continue;
      const PendingMassCancel pending = queue->second.front();
      queue->second.pop_front();
      fix::Report report;
      report.kind = fix::Report::mass_cancel_report;
      report.session = pending.session;
      report.cl_ord_id = pending.cl_ord_id;
      report.order_id = "MC-" + exec;
      report.mass_type = pending.type;
      report.mass_response = pending.type;
      report.affected = static_cast<int>(done->canceled_orders);
      sink_(report);
    } else if (const auto* replaced = std::get_if<OrderReplaced>(&event)) {
      const auto found = working_.find(replaced->order);
      if (found == working_.end()) continue;
      const auto taken = take_change(replaced->order);
      if (!taken) continue;
      const PendingChange& change = *taken;
      Working& o = found->second;
      by_cl_ord_id_.erase({o.session, o.cl_ord_id});
      o.cl_ord_id = change.cl_ord_id;
      by_cl_ord_id_[{o.session, o.cl_ord_id}] = replaced->order;
      o.price = replaced->price;
      o.order_qty = change.order_qty;
      report(o, replaced->order, exec, '5', replaced->quantity, 0, 0, change.orig_cl_ord_id);
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
      if (c->reason == CancelReason::requested) {
        if (const auto change = take_change(c->order)) {
          // The cancel request's own ClOrdID, and the order's as OrigClOrdID.
          o.cl_ord_id = change->cl_ord_id;
          orig = change->orig_cl_ord_id;
        }
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

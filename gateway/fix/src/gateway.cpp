#include "gpux/fix/gateway.h"

#include <quickfix/FixValues.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <ctime>
#include <random>

#include "deliveries.h"
#include "fix_gateway.pb.h"
#include "gpux/fix/decimal_text.h"
#include "gpux/matching/delivery_keys.h"
#include "gpux/storage/journal.h"
#include "market_data.h"
#include "order_index.h"
#include "outbox.h"
#include "seat_guard.h"

namespace gpux::fix {

using namespace gpux::matching;

static_assert(fix::kMaxBlockHours == kMaxBlockHours, "the acceptor checks BlockHours(20010)");

namespace {

// OrdRejReason(103) for the engine's reasons; Text says exactly which rule.
int ord_rej_reason(RejectReason reason) {
  switch (reason) {
    case RejectReason::unknown_instrument:
      return FIX::OrdRejReason_UNKNOWN_SYMBOL;
    case RejectReason::instrument_not_open:
    case RejectReason::instrument_halted:
      return FIX::OrdRejReason_EXCHANGE_CLOSED;
    case RejectReason::insufficient_cash:
    case RejectReason::insufficient_capacity:
      return FIX::OrdRejReason_ORDER_EXCEEDS_LIMIT;
    case RejectReason::invalid_quantity:
    case RejectReason::quantity_below_minimum:
    case RejectReason::quantity_above_maximum:
    case RejectReason::lot_size_violation:
      return FIX::OrdRejReason_INCORRECT_QUANTITY;
    default:
      return FIX::OrdRejReason_OTHER;
  }
}

// The rule's name, then the limit it sets: the client should not have to
// look the instrument up to learn what would pass.
std::string explain(const InstrumentSpec& spec, RejectReason reason) {
  const std::string rule = to_string(reason);
  switch (reason) {
    case RejectReason::price_outside_band:
      return rule + ": the band is " + decimal(spec.reference_price - spec.band_width) + " to " +
             decimal(spec.reference_price + spec.band_width);
    case RejectReason::tick_size_violation:
      return rule + ": prices are multiples of " + decimal(spec.tick_size);
    case RejectReason::lot_size_violation:
      return rule + ": quantities are multiples of " + std::to_string(spec.lot_size);
    case RejectReason::quantity_below_minimum:
      return rule + ": at least " + std::to_string(spec.min_quantity);
    case RejectReason::quantity_above_maximum:
      return rule + ": at most " + std::to_string(spec.max_quantity);
    default:
      return rule;
  }
}

// Text(58) of a fill to a buyer whose delivery profile is empty.
const char* const kNoDeliveryKey =
    "no delivery key: add one (DeliveryKeyRequest, gpux trade delivery-key add) before delivery "
    "starts, or the GPUs cannot be handed over";

std::string exec_id(const Stamp& stamp, std::size_t position) {
  return std::to_string(stamp.sequence) + "-" + std::to_string(position);
}

// Trades are known by trade id, so that a client can match its fills to
// the exchange's trade records.
std::string trade_exec_id(TradeId trade, bool maker) {
  return "T" + std::to_string(trade) + (maker ? "-m" : "-t");
}

// The request a journaled FIX command came from, or nothing for commands
// that did not come through FIX.
std::optional<fix::OrderRequest> decode_origin(const CommandBody& body, std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  proto::FixOrigin origin;
  if (!origin.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  fix::OrderRequest r;
  r.session = origin.session();
  r.cl_ord_id = origin.cl_ord_id();
  r.orig_cl_ord_id = origin.orig_cl_ord_id();
  r.symbol = origin.symbol();
  r.quantity = origin.order_qty();
  r.msg_seq_num = static_cast<int>(origin.msg_seq_num());
  r.generation = origin.generation();
  if (const auto* order = std::get_if<NewOrder>(&body)) {
    r.kind = fix::OrderRequest::new_order;
    r.side = order->side == Side::buy ? FIX::Side_BUY : FIX::Side_SELL;
  } else if (const auto* block = std::get_if<NewBlockOrder>(&body)) {
    r.kind = fix::OrderRequest::new_block;
    r.side = block->side == Side::buy ? FIX::Side_BUY : FIX::Side_SELL;
  } else if (std::holds_alternative<CancelOrder>(body)) {
    r.kind = fix::OrderRequest::cancel;
  } else if (std::holds_alternative<ReplaceOrder>(body)) {
    r.kind = fix::OrderRequest::replace;
  } else if (std::holds_alternative<MassCancel>(body)) {
    r.kind = fix::OrderRequest::mass_cancel;
  } else if (std::holds_alternative<AddDeliveryKey>(body) ||
             std::holds_alternative<RemoveDeliveryKey>(body)) {
    r.kind = fix::OrderRequest::delivery_key;
  } else {
    return std::nullopt;
  }
  return r;
}

std::string identity(const fix::Report& r) {
  switch (r.kind) {
    case fix::Report::execution:
      return FixStateStore::report_identity(FIX::MsgType_ExecutionReport[0], r.exec_id);
    case fix::Report::cancel_reject:
      return FixStateStore::report_identity(FIX::MsgType_OrderCancelReject[0], r.cl_ord_id);
    case fix::Report::mass_cancel_report:
      return FixStateStore::report_identity(FIX::MsgType_OrderMassCancelReport[0], r.cl_ord_id);
  }
  return {};
}

}  // namespace

FixOrderEntry::FixOrderEntry(const FixConfig& config, FixStateStore& store)
    : config_(config),
      store_(store),
      seats_(std::make_unique<SeatGuard>()),
      market_(std::make_unique<MarketData>()),
      deliveries_(std::make_unique<Deliveries>()),
      orders_(std::make_unique<OrderIndex>()) {
  std::random_device entropy;
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "R%08x%08x-", entropy(), entropy());
  refusal_prefix_ = prefix;
  if (const auto bytes = store_.checkpoint()) load_checkpoint(*bytes);
  for (const std::string& bytes : store_.ended())
    orders_->load_ended(bytes);
  outbox_ = std::make_unique<Outbox<Outgoing>>(
      [this](std::deque<Outgoing>& batch) { send_batch(batch); });
}

FixOrderEntry::~FixOrderEntry() = default;  // outbox_ goes first, dropping what it holds

void FixOrderEntry::stop_sending() {
  outbox_->stop(true);
}

void FixOrderEntry::send(Outgoing message) {
  outbox_->push(std::move(message));
}

void FixOrderEntry::send_batch(std::deque<Outgoing>& batch) {
  std::vector<FixStateStore::EndedOrder> ended;
  // Ended orders are written together, one write a batch, but always
  // before what follows them in the store: a checkpoint or a forgetting.
  const auto write_ended = [&] {
    if (!ended.empty()) store_.remember_ended(ended);
    ended.clear();
  };
  // sink_ is set once, before the acceptor starts and anything is queued.
  try {
    for (Outgoing& message : batch)
      std::visit(
          [&](auto& m) {
            using Message = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<Message, Ended>) {
              // Encoded here, off the gateway's lock.
              ended.push_back({record_of(m), m.order.symbol, m.order.session, m.order.cl_ord_id});
            } else if constexpr (std::is_same_v<Message, CheckpointBytes>) {
              write_ended();
              store_.write_checkpoint(m.bytes);
            } else if constexpr (std::is_same_v<Message, ForgetEnded>) {
              write_ended();
              store_.forget_ended(m.symbol);
            } else if constexpr (std::is_same_v<Message, SeatChanged>) {
              sink_->seat_changed(m.session, m.log_out, m.reason);
            } else if constexpr (std::is_same_v<Message, fix::DeliveryReport>) {
              sink_->send_deliveries(m);
            } else {
              sink_->send(m);
            }
          },
          message);
    write_ended();
  } catch (const storage::StorageError&) {
    // The store has told gpuxd, which is stopping (its on_failure): nothing
    // more can be made durable, so the rest of the batch is not sent.
  }
  sink_->end_of_batch();
}

void FixOrderEntry::recovered(const EngineSnapshot& state) {
  std::lock_guard lock(mutex_);
  using settlement::AccountKind;
  balances_ = {};
  for (const AccountSnapshot& a : state.accounts) {
    const auto set = [&](AccountKind kind, Money amount) {
      if (amount != 0)
        balances_.apply({.from = settlement::exchange_account(AccountKind::external),
                         .to = {.owner = a.participant, .kind = kind},
                         .amount = amount});
    };
    set(AccountKind::available, a.view.available());
    set(AccountKind::reserved, a.view.reserved);
    set(AccountKind::escrow, a.view.committed);
    set(AccountKind::collateral, a.view.collateral);
    set(AccountKind::receivable, a.view.receivable);
  }
  balances_known_ = true;
  for (const Seat& seat : state.seats)
    seats_->set(seat);
  delivery_keys_.clear();
  for (const DeliveryProfile& profile : state.delivery_profiles)
    delivery_keys_[profile.participant] = profile.keys;
  deliveries_->recovered(state);
}

// A participant's deliveries listed at most: an answer, not an export.
constexpr std::size_t kDeliveriesReported = 10'000;

void FixOrderEntry::report_deliveries(const std::string& session, const std::string& request_id) {
  const auto seat = participant_of(session);
  if (!seat) return;  // sessions exist for seats only, and a seat stays
  const ParticipantId participant = *seat;
  std::lock_guard lock(mutex_);
  const std::vector<Deliveries::Entry> mine = deliveries_->of(participant);
  std::vector<fix::DeliveryInfo> entries;
  for (const auto& [trade, obligation] : mine) {
    if (entries.size() == kDeliveriesReported) break;
    entries.push_back(
        delivery_info(trade, *obligation, participant, symbol_of(obligation->instrument)));
  }
  for (fix::DeliveryReport& page : delivery_pages(session, request_id, std::move(entries),
                                                  mine.size(), config_.max_message_bytes))
    send(std::move(page));
}

std::string FixOrderEntry::symbol_of(InstrumentId instrument) const {
  // Instruments listed before the gateway's checkpoint are known once
  // start() has run; "[N/A]" is FIX's word for none.
  const auto found = instruments_.find(instrument);
  return found != instruments_.end() ? found->second.spec.symbol : "[N/A]";
}

void FixOrderEntry::delivery_keys(const std::string& session, const std::string& request_id,
                                  char action, const std::string& key) {
  const auto seat = participant_of(session);
  if (!seat) return;  // sessions exist for seats only, and a seat stays
  const ParticipantId participant = *seat;
  std::unique_lock lock(mutex_);
  fix::DeliveryKeyReport answer{
      .session = session, .request_id = request_id, .rejected = false, .text = {}, .keys = {}};
  if (const auto found = delivery_keys_.find(participant); found != delivery_keys_.end())
    answer.keys = found->second;
  if (action == fix::kDeliveryKeyList) return send(answer);
  // A key that is no key is named here, rule by rule; the engine checks
  // again, and decides whether the profile has it already or is full.
  answer.rejected = true;
  if (key.empty()) {
    answer.text = "SshPublicKey(20032) is required to add or remove a key";
    return send(answer);
  }
  if (const DeliveryKeyProblem problem = check_delivery_key(key);
      action == fix::kDeliveryKeyAdd && problem != DeliveryKeyProblem::none) {
    answer.text =
        std::string(to_string(RejectReason::invalid_delivery_key)) + ": " + to_string(problem);
    return send(answer);
  }
  lock.unlock();
  fix::OrderRequest request;
  request.kind = fix::OrderRequest::delivery_key;
  request.session = session;
  request.cl_ord_id = request_id;
  auto line = std::make_shared<const std::string>(key);
  if (action == fix::kDeliveryKeyAdd) {
    submit_with_origin(AddDeliveryKey{.participant = participant, .key = std::move(line)}, request,
                       0);
  } else {
    submit_with_origin(RemoveDeliveryKey{.participant = participant, .key = std::move(line)},
                       request, 0);
  }
}

bool FixOrderEntry::has_seat(const std::string& session) {
  {
    // While the journal replays, a report's session is a seat's (seats are
    // never deleted), whether or not the replay has reached its SetSeat:
    // recovered() gives them all at the end, and no one logs on before.
    std::lock_guard lock(mutex_);
    if (recovering_) return true;
  }
  return seats_->find(session).has_value();
}

std::optional<ParticipantId> FixOrderEntry::participant_of(const std::string& session) const {
  const auto seat = seats_->find(session);
  if (!seat) return std::nullopt;
  return seat->participant;
}

void FixOrderEntry::report_balance(const std::string& session, const std::string& request_id) {
  const auto seat = participant_of(session);
  if (!seat) return;  // sessions exist for seats only, and a seat stays
  const ParticipantId participant = *seat;
  std::lock_guard lock(mutex_);
  const auto balance = [&](settlement::AccountKind kind) {
    return balances_.balance({.owner = participant, .kind = kind});
  };
  using settlement::AccountKind;
  send(fix::BalanceReport{.session = session,
                          .request_id = request_id,
                          .available = balance(AccountKind::available),
                          .reserved = balance(AccountKind::reserved),
                          .escrow = balance(AccountKind::escrow),
                          .collateral = balance(AccountKind::collateral),
                          .receivable = balance(AccountKind::receivable)});
}

// A day's fills reported at most: an answer, not an export.
constexpr std::size_t kFillsReported = 10'000;

void FixOrderEntry::report_fills(const std::string& session, const std::string& request_id,
                                 const std::string& trade_date) {
  const auto seat = participant_of(session);
  if (!seat) return;  // sessions exist for seats only, and a seat stays
  const ParticipantId participant = *seat;
  sequencer::Pipeline* pipeline = nullptr;
  {
    std::lock_guard lock(mutex_);
    pipeline = pipeline_;
  }
  std::tm day{};
  day.tm_year = std::stoi(trade_date.substr(0, 4)) - 1900;
  day.tm_mon = std::stoi(trade_date.substr(4, 2)) - 1;
  day.tm_mday = std::stoi(trade_date.substr(6, 2));
  const Nanoseconds from = static_cast<Nanoseconds>(::timegm(&day)) * 1'000'000'000;
  const Nanoseconds to = from + Nanoseconds{86'400} * 1'000'000'000;
  // Read without the gateway's lock: the journal is RocksDB's, and the
  // publisher must not wait for a search.
  std::vector<Trade> trades = pipeline != nullptr
                                  ? pipeline->trades_of(participant, from, to, kFillsReported)
                                  : std::vector<Trade>{};
  std::reverse(trades.begin(), trades.end());  // oldest first
  fix::FillsReport report{
      .session = session, .request_id = request_id, .trade_date = trade_date, .fills = {}};
  std::lock_guard lock(mutex_);
  for (const Trade& t : trades) {
    const bool maker = t.maker == participant;
    const Side side = maker ? (t.aggressor == Side::buy ? Side::sell : Side::buy) : t.aggressor;
    report.fills.push_back({.trade_report_id = "T" + std::to_string(t.trade),
                            .exec_id = trade_exec_id(t.trade, maker),
                            .symbol = symbol_of(t.instrument),
                            .side = side == Side::buy ? FIX::Side_BUY : FIX::Side_SELL,
                            .order_id = std::to_string(maker ? t.maker_order : t.taker_order),
                            .quantity = t.quantity,
                            .price = t.price,
                            .time_ns = t.stamp.time});
  }
  send(std::move(report));
}

void FixOrderEntry::start(sequencer::Pipeline& pipeline, const EngineSnapshot& recovered) {
  std::lock_guard lock(mutex_);
  pipeline_ = &pipeline;
  for (const InstrumentSnapshot& instrument : recovered.instruments) {
    const InstrumentSpec& spec = instrument.spec;
    instruments_[spec.id] = {spec, instrument.state, instrument.halted};
    symbols_[spec.symbol] = spec.id;
    if (instrument.state != InstrumentState::open) forget_ended(spec.symbol);
  }
  recovering_ = false;
}

std::string FixOrderEntry::authenticate(const std::string& session, const std::string& password,
                                        const std::string& peer) {
  return seats_->authenticate(session, password, peer);
}

void FixOrderEntry::vet_password(const std::string& session, const std::string& password,
                                 const std::string& peer) {
  seats_->vet_password(session, password, peer);
}

void FixOrderEntry::set_sink(fix::ReportSink& sink) {
  std::lock_guard lock(mutex_);
  sink_ = &sink;
}

void FixOrderEntry::deliver(const fix::Report& report) {
  assert(sink_ != nullptr);
  if (recovering_ && store_.was_sent(report.session, identity(report))) return;
  send(report);
}

std::array<std::uint64_t, FixOrderEntry::kRejectCodes> FixOrderEntry::rejects_by_code() const {
  std::array<std::uint64_t, kRejectCodes> out{};
  for (std::size_t code = 0; code < kRejectCodes; ++code)
    out[code] = rejects_[code].load(std::memory_order_relaxed);
  return out;
}

void FixOrderEntry::reject(const fix::OrderRequest& request, int reason, const std::string& text) {
  std::lock_guard lock(mutex_);
  refuse(request, reason, text);
}

void FixOrderEntry::refuse(const fix::OrderRequest& request, RejectReason reason,
                           const std::string& exec) {
  refuse(request, ord_rej_reason(reason), to_string(reason), exec);
}

void FixOrderEntry::refuse(const fix::OrderRequest& request, int reason, const std::string& text,
                           const std::string& exec) {
  rejects_[std::min<std::size_t>(static_cast<std::size_t>(std::max(reason, 0)), kRejectCodes - 1)]
      .fetch_add(1, std::memory_order_relaxed);
  using Kind = fix::OrderRequest::Kind;
  fix::Report r;
  if (request.kind == Kind::cancel || request.kind == Kind::replace) {
    r.kind = fix::Report::cancel_reject;
    r.response_to = request.kind == Kind::replace
                        ? FIX::CxlRejResponseTo_ORDER_CANCEL_REPLACE_REQUEST
                        : FIX::CxlRejResponseTo_ORDER_CANCEL_REQUEST;
  } else if (request.kind == Kind::mass_cancel) {
    r.kind = fix::Report::mass_cancel_report;
    r.mass_type = request.symbol.empty() ? FIX::MassCancelRequestType_CANCEL_ALL_ORDERS
                                         : FIX::MassCancelRequestType_CANCEL_ORDERS_FOR_A_SECURITY;
  }
  r.session = request.session;
  r.order_id = "NONE";
  r.cl_ord_id = request.cl_ord_id;
  r.orig_cl_ord_id = request.orig_cl_ord_id;
  // ExecIDs are unique (clients drop PossDup reports whose ExecID they have
  // seen): a journaled rejection's comes from its command's sequence, so a
  // replay finds it sent; one refused before the journal never replays, and
  // takes this run's own prefix and count.
  r.exec_id = exec.empty() ? refusal_prefix_ + std::to_string(++refusals_) : "R" + exec;
  const bool status = request.kind == Kind::status || request.kind == Kind::mass_status;
  r.exec_type = status ? FIX::ExecType_ORDER_STATUS : FIX::ExecType_REJECTED;
  if (request.kind == Kind::mass_status) {  // the one report: none follow
    r.mass_status_id = request.cl_ord_id;
    r.cl_ord_id.clear();
    r.last_report = true;
  }
  r.ord_status = FIX::OrdStatus_REJECTED;
  r.symbol = request.symbol;
  r.side = request.side;
  r.order_qty = request.quantity;
  r.ord_rej_reason = reason;
  r.cxl_rej_reason = reason;
  r.text = text;
  deliver(r);
}

void FixOrderEntry::submit_with_origin(CommandBody body, const fix::OrderRequest& request,
                                       std::int64_t order_qty) {
  proto::FixOrigin origin;
  origin.set_session(request.session);
  origin.set_cl_ord_id(request.cl_ord_id);
  origin.set_orig_cl_ord_id(request.orig_cl_ord_id);
  // New orders and blocks report it (and their ended records are let go
  // when its gate closes); a mass cancel's scope (empty: all orders) too.
  if (request.opens_order() || request.kind == fix::OrderRequest::mass_cancel)
    origin.set_symbol(request.symbol);
  origin.set_order_qty(order_qty);
  origin.set_msg_seq_num(static_cast<std::uint32_t>(request.msg_seq_num));
  origin.set_generation(request.generation);
  // Refused only once the journal has failed (gpuxd is stopping): the
  // client hears so now, rather than wait for an answer that cannot come.
  if (pipeline_->submit(std::move(body), {}, origin.SerializeAsString())) return;
  std::lock_guard lock(mutex_);
  if (request.opens_order()) orders_->release(request.session, request.cl_ord_id);
  if (!request.cl_ord_id.empty())
    refuse(request, FIX::OrdRejReason_OTHER,
           "the exchange is stopping (journal failure): not accepted, send it again later");
}

void FixOrderEntry::refuse_new_risk_when(std::function<std::optional<std::string>()> reason) {
  new_risk_refusal_ = std::move(reason);
}

void FixOrderEntry::submit(const fix::OrderRequest& request) {
  const auto seat = seats_->find(request.session);
  std::unique_lock lock(mutex_);
  if (!seat) return refuse(request, FIX::OrdRejReason_OTHER, "unknown seat " + request.session);
  // Logged out once its seat is disabled, but not before the Logout leaves
  // (the session timer, about a second): no new risk is taken meanwhile;
  // cancels and status requests go on, as in a halt.
  using Kind = fix::OrderRequest::Kind;
  const bool new_risk = request.kind == Kind::new_order || request.kind == Kind::replace ||
                        request.kind == Kind::new_block;
  if (!seat->enabled && new_risk)
    return refuse(request, FIX::OrdRejReason_OTHER,
                  "seat " + request.session + " is disabled by the operator");
  if (new_risk && new_risk_refusal_)
    if (const auto why = new_risk_refusal_()) return refuse(request, FIX::OrdRejReason_OTHER, *why);
  const ParticipantId participant = seat->participant;
  if (request.kind == Kind::status) {
    const auto found = orders_->find(request.session, request.cl_ord_id);
    if (!found) {
      if (const Ended* ended = orders_->find_ended(request.session, request.cl_ord_id))
        return report(ended->order, ended->id, "S-" + std::to_string(ended->id),
                      FIX::ExecType_ORDER_STATUS, 0, 0, 0, {}, ended->ord_status);
      return refuse(request, FIX::OrdRejReason_UNKNOWN_ORDER,
                    "unknown order: no order with ClOrdID " + request.cl_ord_id);
    }
    const Working& o = *orders_->find(*found);
    return report(o, *found, "S-" + std::to_string(*found), FIX::ExecType_ORDER_STATUS,
                  o.order_qty - o.cum_qty);
  }
  if (request.kind == Kind::mass_status) {
    if (!request.symbol.empty() && !symbols_.contains(request.symbol))
      return refuse(request, FIX::OrdRejReason_UNKNOWN_SYMBOL, "unknown symbol " + request.symbol);
    const auto working = orders_->open_orders(request.session, request.symbol);
    if (working.empty())
      return refuse(
          request, FIX::OrdRejReason_UNKNOWN_ORDER,
          request.symbol.empty() ? "no open orders" : "no open orders in " + request.symbol);
    for (std::size_t i = 0; i < working.size(); ++i) {
      const auto& [id, o] = working[i];
      fix::Report r = execution_report(*o, id, "S-" + std::to_string(id) + "-" + request.cl_ord_id,
                                       FIX::ExecType_ORDER_STATUS, o->order_qty - o->cum_qty);
      r.mass_status_id = request.cl_ord_id;
      r.total_reports = static_cast<int>(working.size());
      r.last_report = i + 1 == working.size();
      deliver(r);
    }
    return;
  }
  if (request.kind == Kind::mass_cancel) {
    std::optional<InstrumentId> instrument;
    if (!request.symbol.empty()) {
      const auto symbol = symbols_.find(request.symbol);
      if (symbol == symbols_.end())
        return refuse(request, FIX::OrdRejReason_UNKNOWN_SYMBOL,
                      "unknown symbol " + request.symbol);
      instrument = symbol->second;
    }
    lock.unlock();
    submit_with_origin(MassCancel{participant, instrument}, request, 0);
    return;
  }
  if (request.kind == Kind::cancel || request.kind == Kind::replace) {
    const auto found = orders_->find(request.session, request.orig_cl_ord_id);
    if (!found)
      return refuse(request, FIX::CxlRejReason_UNKNOWN_ORDER,
                    "unknown order: no working order with OrigClOrdID " + request.orig_cl_ord_id);
    const OrderId order = *found;
    const Working& o = *orders_->find(order);
    if (request.kind == Kind::cancel) {
      lock.unlock();
      submit_with_origin(CancelOrder{participant, order}, request, 0);
      return;
    }
    if (request.quantity <= o.cum_qty)
      return refuse(
          request, FIX::CxlRejReason_OTHER,
          "OrderQty(38) must exceed the " + std::to_string(o.cum_qty) + " units already filled");
    const Quantity remaining = request.quantity - o.cum_qty;
    if (const auto symbol = symbols_.find(o.symbol); symbol != symbols_.end()) {
      const InstrumentSpec& spec = instruments_.at(symbol->second).spec;
      if (auto reason = invalid_quantity(spec, remaining))
        return refuse(request, ord_rej_reason(*reason), explain(spec, *reason));
      if (auto reason = invalid_price(spec, request.price))
        return refuse(request, ord_rej_reason(*reason), explain(spec, *reason));
    }
    lock.unlock();
    submit_with_origin(ReplaceOrder{participant, order, request.price, remaining}, request,
                       request.quantity);
    return;
  }
  const auto symbol = symbols_.find(request.symbol);
  if (symbol == symbols_.end())
    return refuse(request, FIX::OrdRejReason_UNKNOWN_SYMBOL, "unknown symbol " + request.symbol);
  if (orders_->taken(request.session, request.cl_ord_id))
    return refuse(request, FIX::OrdRejReason_DUPLICATE_ORDER,
                  "duplicate ClOrdID " + request.cl_ord_id);
  // The order's own terms, checked here so that nothing invalid is journaled.
  const Instrument& instrument = instruments_.at(symbol->second);
  if (instrument.state != InstrumentState::open)
    return refuse(request, FIX::OrdRejReason_EXCHANGE_CLOSED,
                  std::string(to_string(RejectReason::instrument_not_open)) + ": " +
                      request.symbol + " is " + to_string(instrument.state));
  if (instrument.halted)
    return refuse(request, FIX::OrdRejReason_EXCHANGE_CLOSED,
                  std::string(to_string(RejectReason::instrument_halted)) + ": trading in " +
                      request.symbol + " is halted by the operator");
  const bool protection_price = request.ord_type == FIX::OrdType_MARKET && request.price == 0;
  if (auto reason = invalid_quantity(instrument.spec, request.quantity))
    return refuse(request, ord_rej_reason(*reason), explain(instrument.spec, *reason));
  if (request.kind == Kind::new_block) {
    // The later hours, the limit and the money are the engine's to check:
    // it knows the span, and refuses with the rule's name.
    const NewBlockOrder block{
        .participant = participant,
        .first_instrument = symbol->second,
        .hours = static_cast<std::uint32_t>(request.block_hours),
        .side = request.side == FIX::Side_BUY ? Side::buy : Side::sell,
        .one_provider = request.single_provider,
        .time_in_force = request.time_in_force == FIX::TimeInForce_IMMEDIATE_OR_CANCEL
                             ? BlockTimeInForce::immediate_or_cancel
                             : BlockTimeInForce::until_gate_closure,
        .units = request.quantity,
        .limit = request.price};
    orders_->reserve(request.session, request.cl_ord_id);  // until observe() sees it journaled
    lock.unlock();
    submit_with_origin(block, request, request.quantity * request.block_hours);
    return;
  }
  if (auto reason = protection_price ? std::nullopt : invalid_price(instrument.spec, request.price))
    return refuse(request, ord_rej_reason(*reason), explain(instrument.spec, *reason));
  NewOrder order;
  order.participant = participant;
  order.instrument = symbol->second;
  order.side = request.side == FIX::Side_BUY ? Side::buy : Side::sell;
  order.type = request.ord_type == FIX::OrdType_MARKET ? OrderType::market
               : request.time_in_force == FIX::TimeInForce_IMMEDIATE_OR_CANCEL
                   ? OrderType::immediate_or_cancel
               : request.time_in_force == FIX::TimeInForce_FILL_OR_KILL ? OrderType::fill_or_kill
               : request.post_only                                      ? OrderType::post_only
                                                                        : OrderType::limit;
  order.self_trade = SelfTradePrevention::cancel_incoming;
  order.price = request.price;
  order.quantity = request.quantity;
  orders_->reserve(request.session, request.cl_ord_id);  // until observe() sees it journaled
  lock.unlock();
  submit_with_origin(order, request, request.quantity);
}

void FixOrderEntry::list_instruments(const std::string& session, const std::string& request_id) {
  std::lock_guard lock(mutex_);
  fix::SecurityListReport list;
  list.session = session;
  list.request_id = request_id;
  for (const auto& [id, instrument] : instruments_) {
    const InstrumentSpec& s = instrument.spec;
    list.instruments.push_back({s.symbol, s.gpu_class, s.region, s.delivery_start, s.delivery_end,
                                s.gate_closure, s.tick_size, s.lot_size, s.min_quantity,
                                s.max_quantity, to_string(instrument.state)});
  }
  send(list);
}

void FixOrderEntry::request_market_data(const fix::MarketDataRequest& request) {
  std::lock_guard lock(mutex_);
  fix::MarketDataReport answer;
  answer.session = request.session;
  answer.request_id = request.request_id;
  if (request.subscription ==
      FIX::SubscriptionRequestType_DISABLE_PREVIOUS_SNAPSHOT_PLUS_UPDATE_REQUEST) {
    for (auto& [instrument, list] : subscribers_)
      std::erase(list, std::pair{request.session, request.request_id});
    return;
  }
  const bool subscribe = request.subscription == FIX::SubscriptionRequestType_SNAPSHOT_PLUS_UPDATES;
  answer.kind = fix::MarketDataReport::reject;
  if (subscribe && request.depth != 0) {
    answer.reject_reason = FIX::MDReqRejReason_UNSUPPORTED_MARKETDEPTH;
    answer.text = "subscriptions are to the full book: MarketDepth(264) must be 0";
    return send(answer);
  }
  std::vector<InstrumentId> ids;
  for (const std::string& symbol : request.symbols) {
    const auto found = symbols_.find(symbol);
    if (found == symbols_.end()) {
      answer.reject_reason = FIX::MDReqRejReason_UNKNOWN_SYMBOL;
      answer.text = "unknown symbol " + symbol;
      return send(answer);
    }
    ids.push_back(found->second);
  }
  answer.kind = fix::MarketDataReport::snapshot;
  for (const InstrumentId id : ids) {
    answer.symbol = instruments_.at(id).spec.symbol;
    answer.entries = market_->snapshot(id, request.depth);
    if (const int hours = market_->longest_block_from(id)) {
      const auto blocks = market_->block_entries(hours_from(id, hours));
      answer.entries.insert(answer.entries.end(), blocks.begin(), blocks.end());
    }
    send(answer);
    if (subscribe) subscribers_[id].emplace_back(request.session, request.request_id);
  }
}

void FixOrderEntry::disconnected(const std::string& session) {
  std::unique_lock lock(mutex_);
  for (auto& [instrument, list] : subscribers_)
    std::erase_if(list, [&](const auto& s) { return s.first == session; });
  const auto seat = seats_->find(session);
  if (!seat || !seat->cancel_on_disconnect || !pipeline_) return;
  fix::OrderRequest request;
  request.kind = fix::OrderRequest::mass_cancel;
  request.session = session;  // no ClOrdID: no OrderMassCancelReport, only the ExecutionReports
  lock.unlock();
  submit_with_origin(MassCancel{seat->participant, std::nullopt}, request, 0);
}

void FixOrderEntry::report(const Working& o, OrderId id, const std::string& exec, char exec_type,
                           Quantity leaves, Quantity last_qty, Price last_px,
                           const std::string& orig_cl_ord_id, char ord_status) {
  deliver(execution_report(o, id, exec, exec_type, leaves, last_qty, last_px, orig_cl_ord_id,
                           ord_status));
}

fix::Report FixOrderEntry::execution_report(const Working& o, OrderId id, const std::string& exec,
                                            char exec_type, Quantity leaves, Quantity last_qty,
                                            Price last_px, const std::string& orig_cl_ord_id,
                                            char ord_status) const {
  fix::Report r;
  r.session = o.session;
  r.order_id = std::to_string(id);
  r.cl_ord_id = o.cl_ord_id;
  r.orig_cl_ord_id = orig_cl_ord_id;
  r.exec_id = exec;
  r.exec_type = exec_type;
  const char working = o.cum_qty == 0 ? FIX::OrdStatus_NEW : FIX::OrdStatus_PARTIALLY_FILLED;
  switch (exec_type) {
    case FIX::ExecType_TRADE:
      r.ord_status = leaves == 0 ? FIX::OrdStatus_FILLED : FIX::OrdStatus_PARTIALLY_FILLED;
      break;
    case FIX::ExecType_NEW:
    case FIX::ExecType_REPLACED:
    case FIX::ExecType_RESTATED:
    case FIX::ExecType_ORDER_STATUS:
      r.ord_status = working;
      break;
    default:
      r.ord_status = exec_type;  // canceled and expired: the same value in both fields
  }
  if (ord_status != 0) r.ord_status = ord_status;
  r.symbol = o.symbol;
  r.side = o.side;
  r.order_qty = o.order_qty;
  r.price = o.price;
  r.last_qty = last_qty;
  r.last_px = last_px;
  r.leaves_qty = leaves;
  r.cum_qty = o.cum_qty;
  r.avg_px = o.cum_qty == 0 ? 0 : o.cum_notional / o.cum_qty;
  return r;
}

void FixOrderEntry::observe(const Command& command, std::span<const Event> events,
                            std::string_view origin_bytes) {
  std::lock_guard lock(mutex_);
  if (const auto* listing = std::get_if<ListInstrument>(&command.body)) {
    instruments_[listing->spec->id] = {*listing->spec, InstrumentState::listed, false};
    symbols_[listing->spec->symbol] = listing->spec->id;
  }
  // A seat as the journal has it from here on; a disabled one's session is
  // logged out (not while replaying: nobody is logged on yet).
  // (Accepted: a SeatSet among its events, which may follow product terms
  // that took effect at its sequence.)
  if (const auto* set = std::get_if<SetSeat>(&command.body);
      set && std::any_of(events.begin(), events.end(),
                         [](const Event& e) { return std::holds_alternative<SeatSet>(e); })) {
    const Seat& seat = *set->seat;
    const auto before = seats_->find(seat.sender_comp_id);
    seats_->set(seat);
    // A new password ends a session logged on with the old one.
    const bool rotated =
        before && !before->password_hash.empty() && before->password_hash != seat.password_hash;
    if (!recovering_)
      send(SeatChanged{.session = seat.sender_comp_id,
                       .log_out = !seat.enabled || rotated,
                       .reason = !seat.enabled ? "seat disabled by the operator"
                                               : "password changed by the operator: log on with "
                                                 "the new one"});
  }
  const auto origin = decode_origin(command.body, origin_bytes);
  if (const auto* block = std::get_if<NewBlockOrder>(&command.body))
    block_owner_ = block->participant;
  if (origin && origin->msg_seq_num > 0)
    inputs_[origin->session] = {origin->generation, origin->msg_seq_num};
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& event = events[i];
    if (const auto* changed = std::get_if<InstrumentStateChanged>(&event)) {
      if (const auto found = instruments_.find(changed->instrument); found != instruments_.end()) {
        found->second.state = changed->state;
        // No new order can trade there any more: its ended orders are let go.
        // (Instruments are not known while recovering: start() does it then.)
        if (changed->state != InstrumentState::open) forget_ended(found->second.spec.symbol);
        found->second.halted = false;
      }
    }
    if (const auto* halt = std::get_if<InstrumentHalted>(&event))
      if (const auto found = instruments_.find(halt->instrument); found != instruments_.end())
        found->second.halted = halt->halted;
    if (const auto* posting = std::get_if<LedgerPosting>(&event); posting && balances_known_)
      balances_.apply(posting->posting);
    report_on_fix_order(event, exec_id(command.stamp, i), origin ? &*origin : nullptr);
    market_->track(event);
    if (const Deliveries::Obligation* reported = deliveries_->track(event)) {
      // The buyer is told at once, in each of its sessions logged on now
      // (the acceptor drops the rest: a DeliveryRequest lists it later).
      const fix::DeliveryInfo delivery =
          delivery_info(std::get<DeliveryRecorded>(event).trade, *reported, reported->buyer,
                        symbol_of(reported->instrument));
      const std::string text = delivery_notice(delivery);
      for (const std::string& session : seats_->enabled_sessions_of(reported->buyer))
        send(fix::DeliveryReport{.session = session,
                                 .request_id = {},
                                 .total_reports = 1,
                                 .last_report = true,
                                 .text = text,
                                 .deliveries = {delivery}});
    }
  }
  // Journaled: the order now works (or was rejected), its reservation ends.
  if (origin && origin->opens_order()) orders_->release(origin->session, origin->cl_ord_id);
  block_owner_.reset();
  publish_changes(events);
  observed_ = command.stamp.sequence;
  if (observed_ - checkpoint_sequence_ >= config_.checkpoint_every) {
    send(CheckpointBytes{encode_checkpoint()});
    checkpoint_sequence_ = observed_;
  }
}

void FixOrderEntry::open_block(OrderId block, ParticipantId owner, Quantity total, Price limit,
                               const std::string& exec, const fix::OrderRequest* origin) {
  // Only the block the command placed: others it met belong to other
  // participants (a block never meets its owner's), and work already.
  if (origin == nullptr || block_owner_ != owner || orders_->find(block) != nullptr) return;
  // One FIX order of units x hours; its legs come as its fills.
  const Working& o = orders_->open(block, {.session = origin->session,
                                           .cl_ord_id = origin->cl_ord_id,
                                           .symbol = origin->symbol,
                                           .side = origin->side,
                                           .order_qty = total,
                                           .price = limit,
                                           .block = true});
  report(o, block, exec, FIX::ExecType_NEW, total);
}

std::vector<InstrumentId> FixOrderEntry::hours_from(InstrumentId first, int hours) const {
  // The hour after each: same class and region, starting when it ends (the
  // lowest id, as the engine has it).
  std::map<std::tuple<std::string, std::string, std::int64_t>, InstrumentId> by_start;
  for (const auto& [id, instrument] : instruments_)
    by_start.try_emplace(
        {instrument.spec.gpu_class, instrument.spec.region, instrument.spec.delivery_start}, id);
  std::vector<InstrumentId> listed{first};
  while (static_cast<int>(listed.size()) < hours) {
    const InstrumentSpec& last = instruments_.at(listed.back()).spec;
    const auto next = by_start.find({last.gpu_class, last.region, last.delivery_end});
    if (next == by_start.end()) break;
    listed.push_back(next->second);
  }
  return listed;
}

void FixOrderEntry::finish(OrderId id, char ord_status) {
  if (auto ended = orders_->finish(id, ord_status)) send(std::move(*ended));
}

void FixOrderEntry::forget_ended(const std::string& symbol) {
  if (orders_->forget(symbol)) send(ForgetEnded{symbol});
}

void FixOrderEntry::report_on_fix_order(const Event& event, const std::string& exec,
                                        const fix::OrderRequest* origin) {
  if (const auto* a = std::get_if<OrderAccepted>(&event)) {
    if (origin == nullptr) return;
    const Working& o = orders_->open(a->order, {.session = origin->session,
                                                .cl_ord_id = origin->cl_ord_id,
                                                .symbol = origin->symbol,
                                                .side = origin->side,
                                                .order_qty = a->quantity,
                                                .price = a->price});
    report(o, a->order, exec, FIX::ExecType_NEW, a->quantity);
  } else if (const auto* b = std::get_if<BlockOrderFilled>(&event)) {
    // A block filled at once works from here; one that rested works already.
    open_block(b->block, b->participant, b->units * b->hours, b->limit, exec, origin);
  } else if (const auto* rested = std::get_if<BlockOrderRested>(&event)) {
    open_block(rested->block, rested->participant, rested->units * rested->hours, rested->limit,
               exec, origin);
  } else if (const auto* changed = std::get_if<DeliveryKeyChanged>(&event)) {
    std::vector<std::string>& keys = delivery_keys_[changed->participant];
    if (changed->added) {
      keys.push_back(*changed->key);
    } else {
      std::erase(keys, *changed->key);
    }
    if (origin != nullptr && origin->kind == fix::OrderRequest::delivery_key)
      send(fix::DeliveryKeyReport{.session = origin->session,
                                  .request_id = origin->cl_ord_id,
                                  .rejected = false,
                                  .text = {},
                                  .keys = keys});
    if (keys.empty()) delivery_keys_.erase(changed->participant);
  } else if (const auto* r = std::get_if<CommandRejected>(&event)) {
    if (origin == nullptr) return;
    if (origin->kind == fix::OrderRequest::delivery_key) {
      fix::DeliveryKeyReport answer{.session = origin->session,
                                    .request_id = origin->cl_ord_id,
                                    .rejected = true,
                                    .text = to_string(r->reason),
                                    .keys = {}};
      if (const auto found = delivery_keys_.find(r->participant); found != delivery_keys_.end())
        answer.keys = found->second;
      send(answer);
    } else if (origin->opens_order()) {
      refuse(*origin, r->reason, exec);
    } else if (origin->kind == fix::OrderRequest::mass_cancel) {
      if (!origin->cl_ord_id.empty())
        refuse(*origin, FIX::OrdRejReason_OTHER, to_string(r->reason), exec);
    } else {
      const bool gone = r->reason == RejectReason::unknown_order;
      refuse(*origin, gone ? FIX::CxlRejReason_TOO_LATE_TO_CANCEL : FIX::CxlRejReason_OTHER,
             std::string(gone ? "too late: " : "") + to_string(r->reason), exec);
    }
  } else if (const auto* done = std::get_if<MassCancelDone>(&event)) {
    if (origin == nullptr || origin->cl_ord_id.empty()) return;
    fix::Report report;
    report.kind = fix::Report::mass_cancel_report;
    report.session = origin->session;
    report.cl_ord_id = origin->cl_ord_id;
    report.order_id = "MC-" + exec;
    report.mass_type = origin->symbol.empty()
                           ? FIX::MassCancelRequestType_CANCEL_ALL_ORDERS
                           : FIX::MassCancelRequestType_CANCEL_ORDERS_FOR_A_SECURITY;
    report.mass_response = report.mass_type;  // MassCancelResponse: done as requested
    report.affected = static_cast<int>(done->canceled_orders);
    deliver(report);
  } else if (const auto* replaced = std::get_if<OrderReplaced>(&event)) {
    if (orders_->find(replaced->order) == nullptr || origin == nullptr) return;
    send(orders_->rename(replaced->order, origin->cl_ord_id));
    Working& o = *orders_->find(replaced->order);
    o.price = replaced->price;
    o.order_qty = origin->quantity;
    report(o, replaced->order, exec, FIX::ExecType_REPLACED, replaced->quantity, 0, 0,
           origin->orig_cl_ord_id);
  } else if (const auto* t = std::get_if<Trade>(&event)) {
    for (const auto& [id, remaining] : {std::pair{t->maker_order, t->maker_remaining},
                                        std::pair{t->taker_order, t->taker_remaining}}) {
      Working* o = orders_->find(id);
      if (o == nullptr) continue;
      o->cum_qty += t->quantity;
      o->cum_notional += t->quantity * t->price;
      const std::string exec_id = trade_exec_id(t->trade, id == t->maker_order);
      // A buyer with no delivery key is told with each fill: its GPUs can
      // be handed over only to a key it adds before delivery starts.
      const ParticipantId party = id == t->maker_order ? t->maker : t->taker;
      const bool keyless = o->side == FIX::Side_BUY && !delivery_keys_.contains(party);
      const auto fill = [&](const Working& w, Quantity leaves) {
        fix::Report filled = execution_report(w, id, exec_id, FIX::ExecType_TRADE, leaves,
                                              t->quantity, t->price, {}, 0);
        if (keyless) filled.text = kNoDeliveryKey;
        deliver(filled);
        if (leaves == 0) finish(id, FIX::OrdStatus_FILLED);
      };
      if (o->block) {
        // A block's leg: its hour's Symbol, and what the whole block still wants.
        // (While recovering, instruments listed before the checkpoint are
        // not known yet; those reports are not sent again anyway.)
        Working leg = *o;
        if (const auto hour = instruments_.find(t->instrument); hour != instruments_.end())
          leg.symbol = hour->second.spec.symbol;
        fill(leg, o->order_qty - o->cum_qty);
        continue;
      }
      fill(*o, remaining);
    }
  } else if (const auto* c = std::get_if<OrderCanceled>(&event)) {
    const Working* found = orders_->find(c->order);
    if (found == nullptr) return;
    Working o = *found;
    std::string orig;
    if (c->reason == CancelReason::requested && origin != nullptr &&
        origin->kind == fix::OrderRequest::cancel) {
      // The cancel request's own ClOrdID, and the order's as OrigClOrdID.
      o.cl_ord_id = origin->cl_ord_id;
      orig = origin->orig_cl_ord_id;
    }
    // Decrement-and-cancel leaves a remainder: restated, still working.
    report(o, c->order, exec, c->remaining == 0 ? FIX::ExecType_CANCELED : FIX::ExecType_RESTATED,
           c->remaining, 0, 0, orig);
    if (c->remaining == 0) finish(c->order, FIX::OrdStatus_CANCELED);
  } else if (const auto* e = std::get_if<OrderExpired>(&event)) {
    const Working* o = orders_->find(e->order);
    if (o == nullptr) return;
    report(*o, e->order, exec, FIX::ExecType_EXPIRED, 0);
    finish(e->order, FIX::OrdStatus_EXPIRED);
  }
}

void FixOrderEntry::publish_changes(std::span<const Event> events) {
  if (subscribers_.empty()) {  // nobody to tell: skip building the updates
    market_->discard_changes();
    return;
  }
  for (auto& [instrument, entries] : market_->take_changes(events)) {
    const auto subscribers = subscribers_.find(instrument);
    if (subscribers == subscribers_.end()) continue;
    fix::MarketDataReport update;
    update.kind = fix::MarketDataReport::incremental;
    update.symbol = instruments_.at(instrument).spec.symbol;
    update.entries = entries;
    for (const auto& [session, request_id] : subscribers->second) {
      update.session = session;
      update.request_id = request_id;
      send(update);
    }
  }
}

std::map<std::string, FixOrderEntry::JournaledInput> FixOrderEntry::journaled_inputs() const {
  std::lock_guard lock(mutex_);
  return inputs_;
}

void FixOrderEntry::checkpoint() {
  std::lock_guard lock(mutex_);
  store_.write_checkpoint(encode_checkpoint());
  checkpoint_sequence_ = observed_;
}

std::string FixOrderEntry::encode_checkpoint() const {
  proto::GatewayCheckpoint checkpoint;
  checkpoint.set_sequence(observed_);
  // An order (or a block: its first hour, limit and units) with its FIX
  // order, when it has one.
  const auto add = [&](OrderId id, InstrumentId instrument, Side side, Price price,
                       Quantity remaining) -> proto::GatewayOrder& {
    proto::GatewayOrder& o = *checkpoint.add_orders();
    o.set_order(id);
    o.set_instrument(instrument);
    o.set_sell(side == Side::sell);
    o.set_price(price);
    o.set_remaining(remaining);
    if (const Working* fix = orders_->find(id)) set_working(o, *fix);
    return o;
  };
  for (const auto& [id, live] : market_->live())
    add(id, live.instrument, live.side, live.price, live.remaining);
  // Resting blocks are in no book: kept as blocks.
  for (const auto& [id, block] : market_->blocks()) {
    proto::GatewayOrder& o = add(id, block.first, block.side, block.limit, block.units);
    o.set_block(true);
    o.set_block_hours(static_cast<std::uint32_t>(block.hours));
  }
  for (const auto& [session, input] : inputs_) {
    proto::JournaledInput& i = *checkpoint.add_inputs();
    i.set_session(session);
    i.set_generation(input.generation);
    i.set_msg_seq_num(static_cast<std::uint32_t>(input.msg_seq_num));
  }
  return checkpoint.SerializeAsString();
}

void FixOrderEntry::load_checkpoint(const std::string& bytes) {
  proto::GatewayCheckpoint checkpoint;
  if (!checkpoint.ParseFromString(bytes)) return;  // rebuilt from the whole journal instead
  checkpoint_sequence_ = observed_ = checkpoint.sequence();
  for (const proto::GatewayOrder& o : checkpoint.orders()) {
    const Side side = o.sell() ? Side::sell : Side::buy;
    if (o.block()) {
      market_->restore_block(o.order(), {.first = o.instrument(),
                                         .hours = static_cast<int>(o.block_hours()),
                                         .side = side,
                                         .limit = o.price(),
                                         .units = o.remaining()});
    } else {
      market_->restore(o.order(), {o.instrument(), side, o.price(), o.remaining()});
    }
    if (!o.session().empty()) orders_->open(o.order(), working_of(o));
  }
  for (const proto::JournaledInput& i : checkpoint.inputs())
    inputs_[i.session()] = {i.generation(), static_cast<int>(i.msg_seq_num())};
}

}  // namespace gpux::fix

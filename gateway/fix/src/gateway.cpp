#include "gpux/fix/gateway.h"

#include <sodium.h>

#include <cassert>
#include <ctime>

#include "fix_gateway.pb.h"
#include "gpux/matching/order_updates.h"

namespace gpux::fix {

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
    r.side = order->side == Side::buy ? '1' : '2';
  } else if (std::holds_alternative<CancelOrder>(body)) {
    r.kind = fix::OrderRequest::cancel;
  } else if (std::holds_alternative<ReplaceOrder>(body)) {
    r.kind = fix::OrderRequest::replace;
  } else if (std::holds_alternative<MassCancel>(body)) {
    r.kind = fix::OrderRequest::mass_cancel;
  } else {
    return std::nullopt;
  }
  return r;
}

std::string identity(const fix::Report& r) {
  switch (r.kind) {
    case fix::Report::execution:
      return FixStateStore::report_identity('8', r.exec_id);
    case fix::Report::cancel_reject:
      return FixStateStore::report_identity('9', r.cl_ord_id);
    case fix::Report::mass_cancel_report:
      return FixStateStore::report_identity('r', r.cl_ord_id);
  }
  return {};
}

}  // namespace

FixOrderEntry::FixOrderEntry(const FixConfig& config, FixStateStore& store)
    : config_(config), store_(store) {
  if (const auto bytes = store_.checkpoint()) load_checkpoint(*bytes);
  for (const std::string& bytes : store_.ended()) {
    proto::GatewayOrder o;
    if (!o.ParseFromString(bytes)) continue;
    const OrderKey key{o.session(), o.cl_ord_id()};
    ended_[key] = ended_of(o);
    ended_by_symbol_[o.symbol()].push_back(key);
  }
  sender_ = std::thread([this] { run_sender(); });
}

FixOrderEntry::~FixOrderEntry() {
  stop_sender(false);
}

void FixOrderEntry::stop_sending() {
  stop_sender(true);
}

void FixOrderEntry::stop_sender(bool drain) {
  {
    std::lock_guard lock(outbox_mutex_);
    sender_stopping_ = true;
    drain_before_stop_ = drain_before_stop_ || drain;
  }
  outbox_changed_.notify_one();
  if (sender_.joinable()) sender_.join();
}

void FixOrderEntry::send(Outgoing message) {
  {
    std::lock_guard lock(outbox_mutex_);
    outbox_.push_back(std::move(message));
  }
  outbox_changed_.notify_one();
}

void FixOrderEntry::run_sender() {
  std::deque<Outgoing> batch;
  std::vector<FixStateStore::EndedOrder> ended;
  for (;;) {
    {
      std::unique_lock lock(outbox_mutex_);
      outbox_changed_.wait(lock, [&] { return sender_stopping_ || !outbox_.empty(); });
      if (sender_stopping_ && (!drain_before_stop_ || outbox_.empty())) return;
      batch.swap(outbox_);
    }
    // Ended orders are written together, one write a batch, but always
    // before what follows them in the store: a checkpoint or a forgetting.
    const auto write_ended = [&] {
      if (!ended.empty()) store_.remember_ended(ended);
      ended.clear();
    };
    // sink_ is set once, before the acceptor starts and anything is queued.
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
            } else {
              sink_->send(m);
            }
          },
          message);
    write_ended();
    sink_->end_of_batch();
    batch.clear();
  }
}

void FixOrderEntry::start(sequencer::Pipeline& pipeline, const EngineSnapshot& recovered) {
  std::lock_guard lock(mutex_);
  pipeline_ = &pipeline;
  for (const InstrumentSnapshot& instrument : recovered.instruments) {
    const InstrumentSpec& spec = instrument.spec;
    instruments_[spec.id] = {spec, instrument.state};
    symbols_[spec.symbol] = spec.id;
    if (instrument.state != InstrumentState::open) forget_ended(spec.symbol);
  }
  recovering_ = false;
}

namespace {

using Sha256 = std::array<unsigned char, 32>;  // FixOrderEntry::Digest

Sha256 sha256(const std::string& text) {
  Sha256 digest;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()),
                     text.size());
  return digest;
}

bool same(const Sha256& a, const Sha256& b) {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

long this_minute() {
  return static_cast<long>(std::time(nullptr) / 60);
}

}  // namespace

FixOrderEntry::Verdict FixOrderEntry::known_verdict(const std::string& session,
                                                    const Digest& digest, std::string& hash) const {
  const auto client = config_.clients.find(session);
  if (client == config_.clients.end()) return Verdict::unknown_client;
  const auto failures = failures_.find(session);
  if (failures != failures_.end() && failures->second.second == this_minute() &&
      failures->second.first >= 5)
    return Verdict::rate_limited;
  hash = client->second.password_hash;
  if (hash.empty()) return Verdict::accepted;
  const auto known = verified_.find(session);
  if (known != verified_.end() && same(known->second, digest)) return Verdict::accepted;
  const auto wrong = refused_.find(session);
  if (wrong != refused_.end() && same(wrong->second, digest)) return Verdict::refused;
  return Verdict::unchecked;
}

void FixOrderEntry::count_failure(const std::string& session) {
  auto& [failed, when] = failures_[session];
  if (when != this_minute()) failed = 0, when = this_minute();
  ++failed;
}

std::string FixOrderEntry::authenticate(const std::string& session, const std::string& password) {
  std::string hash;
  const Digest digest = sha256(password);
  {
    std::lock_guard lock(mutex_);
    switch (known_verdict(session, digest, hash)) {
      case Verdict::unknown_client:
        return "unknown SenderCompID " + session;
      case Verdict::rate_limited:
        return "too many failed logons; try again in a minute";
      case Verdict::accepted:
        return {};
      case Verdict::refused:
        count_failure(session);
        return "wrong password for " + session;
      case Verdict::unchecked:
        break;
    }
  }
  // Not vetted: verified here, slowly (Argon2id, ~60 ms), outside the lock.
  const bool right = crypto_pwhash_str_verify(hash.c_str(), password.c_str(), password.size()) == 0;
  std::lock_guard lock(mutex_);
  if (!right) {
    count_failure(session);
    return "wrong password for " + session;
  }
  if (config_.clients.at(session).password_hash == hash) verified_[session] = digest;
  return {};
}

// Verification is deliberately slow, and the acceptor's one thread serves
// every session: it vets a Logon's password on another thread first, and a
// password's verdict is then known by its SHA-256 (the right one until it
// changes, the last wrong one until another is tried). Failures are counted
// by authenticate alone, once per Logon.
void FixOrderEntry::vet_password(const std::string& session, const std::string& password) {
  std::string hash;
  const Digest digest = sha256(password);
  {
    std::lock_guard lock(mutex_);
    if (known_verdict(session, digest, hash) != Verdict::unchecked) return;
  }
  const bool right = crypto_pwhash_str_verify(hash.c_str(), password.c_str(), password.size()) == 0;
  std::lock_guard lock(mutex_);
  if (config_.clients.at(session).password_hash != hash) return;  // changed meanwhile
  (right ? verified_ : refused_)[session] = digest;
}

void FixOrderEntry::set_password_hash(const std::string& session, const std::string& hash) {
  std::lock_guard lock(mutex_);
  if (const auto client = config_.clients.find(session); client != config_.clients.end())
    client->second.password_hash = hash;
  verified_.erase(session);
  refused_.erase(session);
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

void FixOrderEntry::reject(const fix::OrderRequest& request, int reason, const std::string& text) {
  std::lock_guard lock(mutex_);
  refuse(request, reason, text);
}

void FixOrderEntry::refuse(const fix::OrderRequest& request, RejectReason reason) {
  refuse(request, ord_rej_reason(reason), to_string(reason));
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
  deliver(r);
}

void FixOrderEntry::submit_with_origin(CommandBody body, const fix::OrderRequest& request,
                                       std::int64_t order_qty) {
  proto::FixOrigin origin;
  origin.set_session(request.session);
  origin.set_cl_ord_id(request.cl_ord_id);
  origin.set_orig_cl_ord_id(request.orig_cl_ord_id);
  // New orders report it; a mass cancel's scope (empty: all orders) too.
  if (request.kind == fix::OrderRequest::new_order ||
      request.kind == fix::OrderRequest::mass_cancel)
    origin.set_symbol(request.symbol);
  origin.set_order_qty(order_qty);
  origin.set_msg_seq_num(static_cast<std::uint32_t>(request.msg_seq_num));
  origin.set_generation(request.generation);
  pipeline_->submit(std::move(body), {}, origin.SerializeAsString());
}

void FixOrderEntry::submit(const fix::OrderRequest& request) {
  std::unique_lock lock(mutex_);
  const ParticipantId participant = config_.clients.at(request.session).participant;
  using Kind = fix::OrderRequest::Kind;
  if (request.kind == Kind::status) {
    const auto found = by_cl_ord_id_.find({request.session, request.cl_ord_id});
    if (found == by_cl_ord_id_.end()) {
      const auto ended = ended_.find({request.session, request.cl_ord_id});
      if (ended != ended_.end())
        return report(ended->second.order, ended->second.id,
                      "S-" + std::to_string(ended->second.id), 'I', 0, 0, 0, {},
                      ended->second.ord_status);
      return refuse(request, 5, "unknown order: no order with ClOrdID " + request.cl_ord_id);
    }
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
    lock.unlock();
    submit_with_origin(MassCancel{participant, instrument}, request, 0);
    return;
  }
  if (request.kind == Kind::cancel || request.kind == Kind::replace) {
    const auto found = by_cl_ord_id_.find({request.session, request.orig_cl_ord_id});
    if (found == by_cl_ord_id_.end())
      return refuse(request, 1,
                    "unknown order: no working order with OrigClOrdID " + request.orig_cl_ord_id);
    const OrderId order = found->second;
    const Working& o = working_.at(order);
    if (request.kind == Kind::cancel) {
      lock.unlock();
      submit_with_origin(CancelOrder{participant, order}, request, 0);
      return;
    }
    if (request.quantity <= o.cum_qty)
      return refuse(
          request, 99,
          "OrderQty(38) must exceed the " + std::to_string(o.cum_qty) + " units already filled");
    const Quantity remaining = request.quantity - o.cum_qty;
    if (const auto symbol = symbols_.find(o.symbol); symbol != symbols_.end()) {
      const InstrumentSpec& spec = instruments_.at(symbol->second).spec;
      if (auto reason = invalid_quantity(spec, remaining)) return refuse(request, *reason);
      if (auto reason = invalid_price(spec, request.price)) return refuse(request, *reason);
    }
    lock.unlock();
    submit_with_origin(ReplaceOrder{participant, order, request.price, remaining}, request,
                       request.quantity);
    return;
  }
  const auto symbol = symbols_.find(request.symbol);
  if (symbol == symbols_.end()) return refuse(request, 1, "unknown symbol " + request.symbol);
  if (by_cl_ord_id_.contains({request.session, request.cl_ord_id}) ||
      ended_.contains({request.session, request.cl_ord_id}))
    return refuse(request, 6, "duplicate ClOrdID " + request.cl_ord_id);
  // The order's own terms, checked here so that nothing invalid is journaled.
  const Instrument& instrument = instruments_.at(symbol->second);
  if (instrument.state != InstrumentState::open)
    return refuse(request, RejectReason::instrument_not_open);
  const bool protection_price = request.ord_type == '1' && request.price == 0;
  if (auto reason = invalid_quantity(instrument.spec, request.quantity))
    return refuse(request, *reason);
  if (auto reason = protection_price ? std::nullopt : invalid_price(instrument.spec, request.price))
    return refuse(request, *reason);
  NewOrder order;
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
  if (request.subscription == '2') {
    for (auto& [instrument, list] : subscribers_)
      std::erase(list, std::pair{request.session, request.request_id});
    return;
  }
  answer.kind = fix::MarketDataReport::reject;
  if (request.subscription == '1' && request.depth != 0) {
    answer.reject_reason = '5';
    answer.text = "subscriptions are to the full book: MarketDepth(264) must be 0";
    return send(answer);
  }
  std::vector<InstrumentId> ids;
  for (const std::string& symbol : request.symbols) {
    const auto found = symbols_.find(symbol);
    if (found == symbols_.end()) {
      answer.reject_reason = '0';
      answer.text = "unknown symbol " + symbol;
      return send(answer);
    }
    ids.push_back(found->second);
  }
  answer.kind = fix::MarketDataReport::snapshot;
  for (const InstrumentId id : ids) {
    answer.symbol = instruments_.at(id).spec.symbol;
    answer.entries = snapshot_entries(id, request.depth);
    send(answer);
    if (request.subscription == '1')
      subscribers_[id].emplace_back(request.session, request.request_id);
  }
}

void FixOrderEntry::disconnected(const std::string& session) {
  std::unique_lock lock(mutex_);
  for (auto& [instrument, list] : subscribers_)
    std::erase_if(list, [&](const auto& s) { return s.first == session; });
  const auto client = config_.clients.find(session);
  if (client == config_.clients.end() || !client->second.cancel_on_disconnect || !pipeline_) return;
  fix::OrderRequest request;
  request.kind = fix::OrderRequest::mass_cancel;
  request.session = session;  // no ClOrdID: no OrderMassCancelReport, only the ExecutionReports
  lock.unlock();
  submit_with_origin(MassCancel{client->second.participant, std::nullopt}, request, 0);
}

void FixOrderEntry::report(const Working& o, OrderId id, const std::string& exec, char exec_type,
                           Quantity leaves, Quantity last_qty, Price last_px,
                           const std::string& orig_cl_ord_id, char ord_status) {
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
  deliver(r);
}

void FixOrderEntry::observe(const Command& command, std::span<const Event> events,
                            std::string_view origin_bytes) {
  std::lock_guard lock(mutex_);
  if (const auto* listing = std::get_if<ListInstrument>(&command.body)) {
    instruments_[listing->spec->id] = {*listing->spec, InstrumentState::listed};
    symbols_[listing->spec->symbol] = listing->spec->id;
  }
  const auto origin = decode_origin(command.body, origin_bytes);
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
      }
    }
    report_on_fix_order(event, exec_id(command.stamp, i), origin ? &*origin : nullptr);
    track_live(event);
  }
  publish_changes(events);
  observed_ = command.stamp.sequence;
  if (observed_ - checkpoint_sequence_ >= config_.checkpoint_every) {
    send(CheckpointBytes{encode_checkpoint()});
    checkpoint_sequence_ = observed_;
  }
}

void FixOrderEntry::remember_ended(const Working& order, OrderId id, char ord_status) {
  const OrderKey key{order.session, order.cl_ord_id};
  const Ended ended{order, id, ord_status};
  ended_[key] = ended;
  ended_by_symbol_[order.symbol].push_back(key);
  // Through the sender, in order with the checkpoints: every order that
  // ended before a checkpoint is stored when that checkpoint is; those after
  // it are found again by the replay from it.
  send(ended);
}

void FixOrderEntry::forget_ended(const std::string& symbol) {
  const auto keys = ended_by_symbol_.find(symbol);
  if (keys == ended_by_symbol_.end()) return;
  // A key is listed once per remembering (a replay remembers again); its
  // entry may since be another symbol's, and then stays.
  for (const OrderKey& key : keys->second)
    if (const auto found = ended_.find(key);
        found != ended_.end() && found->second.order.symbol == symbol)
      ended_.erase(found);
  ended_by_symbol_.erase(keys);
  send(ForgetEnded{symbol});
}

void FixOrderEntry::report_on_fix_order(const Event& event, const std::string& exec,
                                        const fix::OrderRequest* origin) {
  const auto finish = [this](OrderId id, char ord_status) {
    const auto found = working_.find(id);
    if (found == working_.end()) return;
    by_cl_ord_id_.erase({found->second.session, found->second.cl_ord_id});
    remember_ended(found->second, id, ord_status);
    working_.erase(found);
  };
  if (const auto* a = std::get_if<OrderAccepted>(&event)) {
    if (origin == nullptr) return;
    Working& o = working_[a->order];
    o = {origin->session,
         origin->cl_ord_id,
         origin->symbol,
         origin->side,
         a->quantity,
         a->price,
         0,
         0};
    by_cl_ord_id_[{o.session, o.cl_ord_id}] = a->order;
    report(o, a->order, exec, '0', a->quantity);
  } else if (const auto* r = std::get_if<CommandRejected>(&event)) {
    if (origin == nullptr) return;
    if (origin->kind == fix::OrderRequest::new_order) {
      refuse(*origin, r->reason);
    } else if (origin->kind == fix::OrderRequest::mass_cancel) {
      if (!origin->cl_ord_id.empty()) refuse(*origin, 99, to_string(r->reason));
    } else {
      const bool gone = r->reason == RejectReason::unknown_order;
      refuse(*origin, gone ? 0 : 99, std::string(gone ? "too late: " : "") + to_string(r->reason));
    }
  } else if (const auto* done = std::get_if<MassCancelDone>(&event)) {
    if (origin == nullptr || origin->cl_ord_id.empty()) return;
    fix::Report report;
    report.kind = fix::Report::mass_cancel_report;
    report.session = origin->session;
    report.cl_ord_id = origin->cl_ord_id;
    report.order_id = "MC-" + exec;
    report.mass_type = origin->symbol.empty() ? '7' : '1';
    report.mass_response = report.mass_type;
    report.affected = static_cast<int>(done->canceled_orders);
    deliver(report);
  } else if (const auto* replaced = std::get_if<OrderReplaced>(&event)) {
    const auto found = working_.find(replaced->order);
    if (found == working_.end() || origin == nullptr) return;
    Working& o = found->second;
    by_cl_ord_id_.erase({o.session, o.cl_ord_id});
    remember_ended(o, replaced->order, '5');  // its old ClOrdID, as FIX's "replaced"
    o.cl_ord_id = origin->cl_ord_id;
    by_cl_ord_id_[{o.session, o.cl_ord_id}] = replaced->order;
    o.price = replaced->price;
    o.order_qty = origin->quantity;
    report(o, replaced->order, exec, '5', replaced->quantity, 0, 0, origin->orig_cl_ord_id);
  } else if (const auto* t = std::get_if<Trade>(&event)) {
    for (const auto& [id, remaining] : {std::pair{t->maker_order, t->maker_remaining},
                                        std::pair{t->taker_order, t->taker_remaining}}) {
      const auto found = working_.find(id);
      if (found == working_.end()) continue;
      found->second.cum_qty += t->quantity;
      found->second.cum_notional += t->quantity * t->price;
      report(found->second, id, trade_exec_id(t->trade, id == t->maker_order), 'F', remaining,
             t->quantity, t->price);
      if (remaining == 0) finish(id, '2');
    }
  } else if (const auto* c = std::get_if<OrderCanceled>(&event)) {
    const auto found = working_.find(c->order);
    if (found == working_.end()) return;
    Working o = found->second;
    std::string orig;
    if (c->reason == CancelReason::requested && origin != nullptr &&
        origin->kind == fix::OrderRequest::cancel) {
      // The cancel request's own ClOrdID, and the order's as OrigClOrdID.
      o.cl_ord_id = origin->cl_ord_id;
      orig = origin->orig_cl_ord_id;
    }
    report(o, c->order, exec, c->remaining == 0 ? '4' : 'D', c->remaining, 0, 0, orig);
    if (c->remaining == 0) finish(c->order, '4');
  } else if (const auto* e = std::get_if<OrderExpired>(&event)) {
    const auto found = working_.find(e->order);
    if (found == working_.end()) return;
    report(found->second, e->order, exec, 'C', 0);
    finish(e->order, 'C');
  }
}

Quantity FixOrderEntry::level(const LevelKey& key) const {
  const auto& [instrument, side, price] = key;
  const auto depth = depth_.find(instrument);
  if (depth == depth_.end()) return 0;
  if (side == Side::buy) {
    const auto found = depth->second.bids.find(price);
    return found == depth->second.bids.end() ? 0 : found->second;
  }
  const auto found = depth->second.offers.find(price);
  return found == depth->second.offers.end() ? 0 : found->second;
}

void FixOrderEntry::adjust_level(InstrumentId instrument, Side side, Price price, Quantity delta) {
  const LevelKey key{instrument, side, price};
  touched_.try_emplace(key, level(key));
  Depth& depth = depth_[instrument];
  const auto apply = [&](auto& levels) {
    const Quantity now = (levels[price] += delta);
    assert(now >= 0);
    if (now == 0) levels.erase(price);
  };
  if (side == Side::buy) {
    apply(depth.bids);
  } else {
    apply(depth.offers);
  }
}

void FixOrderEntry::track_live(const Event& event) {
  if (const auto* a = std::get_if<OrderAccepted>(&event)) {
    live_[a->order] = {a->instrument, a->side, a->price, a->quantity};
    adjust_level(a->instrument, a->side, a->price, a->quantity);
    return;
  }
  for_each_order_update(event, [this](const OrderUpdate& update) {
    const auto found = live_.find(update.order);
    if (found == live_.end()) return;
    Live& o = found->second;
    if (update.price) {  // a replace: the whole order moves
      adjust_level(o.instrument, o.side, o.price, -o.remaining);
      o.price = *update.price;
      adjust_level(o.instrument, o.side, o.price, update.remaining);
    } else {
      adjust_level(o.instrument, o.side, o.price, update.remaining - o.remaining);
    }
    o.remaining = update.remaining;
    if (o.remaining == 0) live_.erase(found);
  });
}

void FixOrderEntry::publish_changes(std::span<const Event> events) {
  if (subscribers_.empty()) {  // nobody to tell: skip building the updates
    touched_.clear();
    return;
  }
  std::map<InstrumentId, std::vector<fix::BookEntry>> changes;
  for (const auto& [key, before] : touched_) {
    const Quantity now = level(key);
    if (now == before) continue;
    const auto& [instrument, side, price] = key;
    changes[instrument].push_back({side == Side::buy ? '0' : '1',
                                   before == 0 ? '0'
                                   : now == 0  ? '2'
                                               : '1',
                                   price, now});
  }
  touched_.clear();
  for (const Event& event : events)
    if (const auto* t = std::get_if<Trade>(&event))
      changes[t->instrument].push_back({'2', '0', t->price, t->quantity});
  for (auto& [instrument, entries] : changes) {
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

std::vector<fix::BookEntry> FixOrderEntry::snapshot_entries(InstrumentId instrument,
                                                            int depth) const {
  std::vector<fix::BookEntry> entries;
  const auto found = depth_.find(instrument);
  if (found == depth_.end()) return entries;
  const auto take = [&](const auto& levels, char type) {
    int n = 0;
    for (const auto& [price, quantity] : levels) {
      if (depth > 0 && n++ == depth) break;
      entries.push_back({type, '0', price, quantity});
    }
  };
  take(found->second.bids, '0');
  take(found->second.offers, '1');
  return entries;
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

void FixOrderEntry::set_working(proto::GatewayOrder& o, const Working& w) {
  o.set_session(w.session);
  o.set_cl_ord_id(w.cl_ord_id);
  o.set_symbol(w.symbol);
  o.set_order_qty(w.order_qty);
  o.set_cum_qty(w.cum_qty);
  o.set_cum_notional(w.cum_notional);
}

std::string FixOrderEntry::record_of(const Ended& e) {
  proto::GatewayOrder record;
  record.set_order(e.id);
  record.set_sell(e.order.side == '2');
  record.set_price(e.order.price);
  record.set_ord_status(static_cast<std::uint32_t>(e.ord_status));
  set_working(record, e.order);
  return record.SerializeAsString();
}

FixOrderEntry::Ended FixOrderEntry::ended_of(const proto::GatewayOrder& o) {
  return {working_of(o), o.order(), static_cast<char>(o.ord_status())};
}

FixOrderEntry::Working FixOrderEntry::working_of(const proto::GatewayOrder& o) {
  return {o.session(),   o.cl_ord_id(), o.symbol(),  o.sell() ? '2' : '1',
          o.order_qty(), o.price(),     o.cum_qty(), o.cum_notional()};
}

std::string FixOrderEntry::encode_checkpoint() const {
  proto::GatewayCheckpoint checkpoint;
  checkpoint.set_sequence(observed_);
  for (const auto& [id, live] : live_) {
    proto::GatewayOrder& o = *checkpoint.add_orders();
    o.set_order(id);
    o.set_instrument(live.instrument);
    o.set_sell(live.side == Side::sell);
    o.set_price(live.price);
    o.set_remaining(live.remaining);
    const auto fix = working_.find(id);
    if (fix == working_.end()) continue;
    set_working(o, fix->second);
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
    live_[o.order()] = {o.instrument(), side, o.price(), o.remaining()};
    adjust_level(o.instrument(), side, o.price(), o.remaining());
    if (o.session().empty()) continue;
    working_[o.order()] = working_of(o);
    by_cl_ord_id_[{o.session(), o.cl_ord_id()}] = o.order();
  }
  for (const proto::JournaledInput& i : checkpoint.inputs())
    inputs_[i.session()] = {i.generation(), static_cast<int>(i.msg_seq_num())};
  touched_.clear();
}

}  // namespace gpux::fix

// QuickFIX acceptor. Compiled as C++14 (QuickFIX's headers do not compile as
// C++17); talks to the exchange only through order_entry.h.
#include "fix_acceptor.h"

#include <quickfix/Application.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "batching_acceptor.h"
#include "durable_message_store.h"
#include "field_text.h"
#include "fix44_dictionary.h"
#include "gpux/fix/decimal_text.h"
#include "order_message.h"
#include "session_log.h"
#include "utc_time.h"

namespace gpux {
namespace fix {
namespace {

const char* const kBeginString = "FIX.4.4";

// Custom tags (docs/fix-spec.md): the GPU-hour terms FIX has no field for.
enum CustomTag {
  kGpuClass = 20001,
  kRegion = 20002,
  kDeliveryStart = 20003,
  kDeliveryEnd = 20004,
  kGateClosure = 20005,
  kInstrumentState = 20006,
  kMaxOrderQty = 20007,
};

}  // namespace

struct Acceptor::Impl : public FIX::Application, public ReportSink {
  Impl(const AcceptorOptions& o, OrderEntry& e, SessionStore& s)
      : options(o), entry(e), store_factory(s) {}

  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID& session) override {
    std::lock_guard<std::mutex> lock(logged_on_mutex);
    logged_on.insert(session.getTargetCompID().getValue());
  }
  // Also on a lost connection: subscriptions end, and cancel-on-disconnect.
  void onLogout(const FIX::SessionID& session) override {
    {
      std::lock_guard<std::mutex> lock(logged_on_mutex);
      logged_on.erase(session.getTargetCompID().getValue());
    }
    entry.disconnected(session.getTargetCompID().getValue());
  }
  std::size_t logged_on_count() {
    std::lock_guard<std::mutex> lock(logged_on_mutex);
    return logged_on.size();
  }
  // From any thread: FIX::Session::isLoggedOn() is for the polling thread only.
  bool is_logged_on(const std::string& client) {
    std::lock_guard<std::mutex> lock(logged_on_mutex);
    return logged_on.count(client) != 0;
  }
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}

  void fromAdmin(const FIX::Message& message,
                 const FIX::SessionID& session) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                      FIX::IncorrectTagValue,
                                                      FIX::RejectLogon) override {
    if (message.getHeader().getField(FIX::FIELD::MsgType) != FIX::MsgType_Logon) return;
    const std::string problem = entry.authenticate(session.getTargetCompID().getValue(),
                                                   field_or(message, FIX::FIELD::Password, ""),
                                                   BatchingAcceptor::logon_peer());
    if (!problem.empty()) throw FIX::RejectLogon(problem);  // Logout with the reason, logged
  }

  void fromApp(const FIX::Message& message,
               const FIX::SessionID& session) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                    FIX::IncorrectTagValue,
                                                    FIX::UnsupportedMessageType) override {
    const std::string type = message.getHeader().getField(FIX::FIELD::MsgType);
    const std::string client = session.getTargetCompID().getValue();
    if (type == FIX::MsgType_SecurityListRequest || type == FIX::MsgType_MarketDataRequest ||
        type == kMsgTypeAccountBalanceRequest || type == FIX::MsgType_TradeCaptureReportRequest ||
        type == kMsgTypeDeliveryKeyRequest || type == kMsgTypeDeliveryRequest) {
      if (!within_rate(client)) {
        // No order to reject: a BusinessMessageReject names the throttle.
        FIX::Message reject;
        reject.getHeader().setField(FIX::FIELD::MsgType, FIX::MsgType_BusinessMessageReject);
        reject.setField(FIX::FIELD::RefSeqNum, message.getHeader().getField(FIX::FIELD::MsgSeqNum));
        reject.setField(FIX::FIELD::RefMsgType, type);
        reject.setField(FIX::FIELD::BusinessRejectReason, text(FIX::BusinessRejectReason_OTHER));
        reject.setField(FIX::FIELD::Text, throttle_text());
        return to(client, reject);
      }
      // Request ids are kept with subscriptions and echoed: bounded like
      // the order identifiers; a longer one draws a session Reject naming it.
      for (const int tag : {FIX::FIELD::MDReqID, FIX::FIELD::SecurityReqID, kBalanceReqID,
                            FIX::FIELD::TradeRequestID, kDeliveryKeyReqID, kDeliveryReqID})
        if (message.isSetField(tag) && message.getField(tag).size() > kMaxIdentifier)
          throw FIX::IncorrectTagValue(tag);
      if (type == FIX::MsgType_SecurityListRequest) {
        if (message.getField(FIX::FIELD::SecurityListRequestType) !=
            text(FIX::SecurityListRequestType_ALL_SECURITIES))
          throw FIX::IncorrectTagValue(FIX::FIELD::SecurityListRequestType);
        entry.list_instruments(client, message.getField(FIX::FIELD::SecurityReqID));
      } else if (type == kMsgTypeAccountBalanceRequest) {
        entry.report_balance(client, message.getField(kBalanceReqID));
      } else if (type == kMsgTypeDeliveryKeyRequest) {
        const std::string action = message.getField(kDeliveryKeyAction);
        if (action.size() != 1 || (action[0] != kDeliveryKeyList && action[0] != kDeliveryKeyAdd &&
                                   action[0] != kDeliveryKeyRemove))
          throw FIX::IncorrectTagValue(kDeliveryKeyAction);
        entry.delivery_keys(
            client, message.getField(kDeliveryKeyReqID), action[0],
            message.isSetField(kSshPublicKey) ? message.getField(kSshPublicKey) : std::string());
      } else if (type == kMsgTypeDeliveryRequest) {
        entry.report_deliveries(client, message.getField(kDeliveryReqID));
      } else if (type == FIX::MsgType_TradeCaptureReportRequest) {
        if (message.getField(FIX::FIELD::TradeRequestType) !=
            std::to_string(FIX::TradeRequestType_ALL_TRADES))
          throw FIX::IncorrectTagValue(FIX::FIELD::TradeRequestType);
        // TradeDate: a UTC day, today's when left out.
        const std::string date = message.isSetField(FIX::FIELD::TradeDate)
                                     ? message.getField(FIX::FIELD::TradeDate)
                                     : utc_seconds(std::time(nullptr)).substr(0, 8);
        if (date.size() != 8 || date.find_first_not_of("0123456789") != std::string::npos ||
            date.substr(4, 2) < "01" || date.substr(4, 2) > "12" || date.substr(6, 2) < "01" ||
            date.substr(6, 2) > "31")
          throw FIX::IncorrectTagValue(FIX::FIELD::TradeDate);
        entry.report_fills(client, message.getField(FIX::FIELD::TradeRequestID), date);
      } else {
        entry.request_market_data(market_data_request(message, client));
      }
      return;
    }
    if (!is_order_message(type)) throw FIX::UnsupportedMessageType();
    OrderMessage read = read_order_message(message, client);
    read.request.generation = store_factory.generation(client);
    if (!read.oversized && !within_rate(client, read.cost)) read.problem = throttle_text();
    if (read.problem.empty()) {
      entry.submit(read.request);
    } else {
      refuse(read.request, read.problem);
    }
  }

  static MarketDataRequest market_data_request(const FIX::Message& message,
                                               const std::string& session) {
    MarketDataRequest request;
    request.session = session;
    request.request_id = message.getField(FIX::FIELD::MDReqID);
    const std::string subscription = message.getField(FIX::FIELD::SubscriptionRequestType);
    if (subscription != text(FIX::SubscriptionRequestType_SNAPSHOT) &&
        subscription != text(FIX::SubscriptionRequestType_SNAPSHOT_PLUS_UPDATES) &&
        subscription !=
            text(FIX::SubscriptionRequestType_DISABLE_PREVIOUS_SNAPSHOT_PLUS_UPDATE_REQUEST))
      throw FIX::IncorrectTagValue(FIX::FIELD::SubscriptionRequestType);
    request.subscription = subscription[0];
    const std::string depth = message.getField(FIX::FIELD::MarketDepth);
    if (depth.empty() || depth.size() > 4 ||
        depth.find_first_not_of("0123456789") != std::string::npos)
      throw FIX::IncorrectTagValue(FIX::FIELD::MarketDepth);
    request.depth = std::stoi(depth);
    const int symbols = message.groupCount(FIX::FIELD::NoRelatedSym);
    for (int i = 1; i <= symbols; ++i) {
      FIX::Group group(FIX::FIELD::NoRelatedSym, FIX::FIELD::Symbol);
      message.getGroup(i, group);
      request.symbols.push_back(group.getField(FIX::FIELD::Symbol));
    }
    return request;
  }

  std::string throttle_text() const {
    return "throttle: more than " + std::to_string(options.max_messages_per_second) +
           " messages in one second from this session";
  }

  // A fixed one-second window per session: simple, and what clients can
  // reason about. Sessions run on their own threads, hence the lock.
  // Whether `session` may send a message that costs `cost` (its weight in
  // messages) in this second.
  bool within_rate(const std::string& session, int cost = 1) {
    const long now = static_cast<long>(std::time(nullptr));
    std::lock_guard<std::mutex> lock(rate_mutex);
    Window& w = windows[session];
    if (w.second != now) w = Window(0, now);
    w.first += cost;
    return w.first <= options.max_messages_per_second;
  }

  // A request the exchange never sees: rejected with reason Other.
  void refuse(const OrderRequest& request, const std::string& text) {
    entry.reject(request, FIX::OrdRejReason_OTHER, text);
  }

  void send(const BalanceReport& r) override {
    FIX::Message message;
    message.getHeader().setField(FIX::FIELD::MsgType, kMsgTypeAccountBalance);
    message.setField(kBalanceReqID, r.request_id);
    message.setField(FIX::FIELD::Currency, "USD");
    message.setField(kCashAvailable, decimal(r.available));
    message.setField(kCashReserved, decimal(r.reserved));
    message.setField(kCashInEscrow, decimal(r.escrow));
    message.setField(kCollateral, decimal(r.collateral));
    message.setField(kReceivable, decimal(r.receivable));
    to(r.session, message);
  }

  void send(const DeliveryKeyReport& r) override {
    FIX::Message message;
    message.getHeader().setField(FIX::FIELD::MsgType, kMsgTypeDeliveryKeyReport);
    message.setField(kDeliveryKeyReqID, r.request_id);
    message.setField(kDeliveryKeyStatus, r.rejected ? "1" : "0");
    if (!r.text.empty()) message.setField(FIX::FIELD::Text, r.text);
    message.setField(kNoDeliveryKeys, "0");  // required even when there are none
    for (const std::string& key : r.keys) {
      FIX::Group group(kNoDeliveryKeys, kSshPublicKey);
      group.setField(kSshPublicKey, key);
      message.addGroup(group);
    }
    to(r.session, message);
  }

  void send_deliveries(const DeliveryReport& r) override {
    // A notice is news only to a session listening now: one logged off
    // asks with a DeliveryRequest when it is back, rather than being
    // resent notices that may be stale by then.
    const bool notice = r.request_id.empty();
    if (notice && !is_logged_on(r.session)) return;
    FIX::Message message;
    message.getHeader().setField(FIX::FIELD::MsgType, kMsgTypeDeliveryReport);
    if (!notice) message.setField(kDeliveryReqID, r.request_id);
    message.setField(FIX::FIELD::UnsolicitedIndicator,
                     text(notice ? FIX::UnsolicitedIndicator_YES : FIX::UnsolicitedIndicator_NO));
    message.setField(FIX::FIELD::TotNumReports, text(r.total_reports));
    if (r.last_report)
      message.setField(FIX::FIELD::LastRptRequested, text(FIX::LastRptRequested_YES));
    if (!r.text.empty()) message.setField(FIX::FIELD::Text, r.text);
    message.setField(kNoDeliveries, "0");  // required even when there are none
    for (const DeliveryInfo& d : r.deliveries) {
      FIX::Group group(kNoDeliveries, kDeliveryTradeID);
      group.setField(kDeliveryTradeID, std::to_string(d.trade));
      group.setField(FIX::FIELD::Symbol, d.symbol);
      group.setField(FIX::FIELD::Side, text(d.side));
      group.setField(FIX::FIELD::LastQty, std::to_string(d.quantity));
      group.setField(kDeliveryStage, text(d.stage));
      if (!d.host.empty()) group.setField(kDeliveryHost, d.host);
      if (d.port != 0) group.setField(kDeliveryPort, text(d.port));
      if (!d.user.empty()) group.setField(kDeliveryUser, d.user);
      if (!d.host_key_fingerprint.empty())
        group.setField(kHostKeyFingerprint, d.host_key_fingerprint);
      if (!d.detail.empty()) group.setField(kDeliveryDetail, d.detail);
      if (d.stage == kDeliveryStageRevoked)
        group.setField(kProcessesEnded, std::to_string(d.processes_ended));
      message.addGroup(group);
    }
    to(r.session, message);
  }

  // One TradeCaptureReport per fill, or, with none, an acknowledgement
  // that says so.
  void send(const FillsReport& r) override {
    if (r.fills.empty()) {
      FIX::Message ack;
      ack.getHeader().setField(FIX::FIELD::MsgType, FIX::MsgType_TradeCaptureReportRequestAck);
      ack.setField(FIX::FIELD::TradeRequestID, r.request_id);
      ack.setField(FIX::FIELD::TradeRequestType, std::to_string(FIX::TradeRequestType_ALL_TRADES));
      ack.setField(FIX::FIELD::TradeRequestResult,
                   std::to_string(FIX::TradeRequestResult_SUCCESSFUL));
      ack.setField(FIX::FIELD::TradeRequestStatus,
                   std::to_string(FIX::TradeRequestStatus_COMPLETED));
      ack.setField(FIX::FIELD::TotNumTradeReports, "0");
      ack.setField(FIX::FIELD::Text, "no fills on " + r.trade_date);
      return to(r.session, ack);
    }
    for (std::size_t i = 0; i < r.fills.size(); ++i) {
      const FillInfo& f = r.fills[i];
      FIX::Message message;
      message.getHeader().setField(FIX::FIELD::MsgType, FIX::MsgType_TradeCaptureReport);
      message.setField(FIX::FIELD::TradeReportID, f.trade_report_id);
      message.setField(FIX::FIELD::TradeRequestID, r.request_id);
      message.setField(FIX::FIELD::TotNumTradeReports, std::to_string(r.fills.size()));
      if (i + 1 == r.fills.size()) message.setField(FIX::FIELD::LastRptRequested, "Y");
      message.setField(FIX::FIELD::PreviouslyReported, "Y");  // each was an ExecutionReport
      message.setField(FIX::FIELD::ExecID, f.exec_id);
      message.setField(FIX::FIELD::Symbol, f.symbol);
      message.setField(FIX::FIELD::LastQty, std::to_string(f.quantity));
      message.setField(FIX::FIELD::LastPx, decimal(f.price));
      message.setField(FIX::FIELD::TradeDate, r.trade_date);
      message.setField(FIX::FIELD::TransactTime, utc_seconds(f.time_ns / 1'000'000'000));
      FIX::Group side(FIX::FIELD::NoSides, FIX::FIELD::Side);
      side.setField(FIX::FIELD::Side, text(f.side));
      side.setField(FIX::FIELD::OrderID, f.order_id);
      message.addGroup(side);
      to(r.session, message);
    }
  }

  void send(const SecurityListReport& list) override {
    FIX::Message message;
    message.getHeader().setField(FIX::FIELD::MsgType, FIX::MsgType_SecurityList);
    message.setField(FIX::FIELD::SecurityReqID, list.request_id);
    message.setField(FIX::FIELD::SecurityResponseID, list.request_id);
    message.setField(
        FIX::FIELD::SecurityRequestResult,
        text(list.instruments.empty()
                 ? FIX::SecurityRequestResult_NO_INSTRUMENTS_FOUND_THAT_MATCH_SELECTION_CRITERIA
                 : FIX::SecurityRequestResult_VALID_REQUEST));
    message.setField(FIX::FIELD::TotNoRelatedSym, std::to_string(list.instruments.size()));
    for (const InstrumentInfo& i : list.instruments) {
      FIX::Group group(FIX::FIELD::NoRelatedSym, FIX::FIELD::Symbol);
      group.setField(FIX::FIELD::Symbol, i.symbol);
      group.setField(FIX::FIELD::Currency, "USD");
      group.setField(FIX::FIELD::RoundLot, std::to_string(i.lot));
      group.setField(FIX::FIELD::MinTradeVol, std::to_string(i.min_quantity));
      group.setField(FIX::FIELD::MinPriceIncrement, decimal(i.tick));
      group.setField(kGpuClass, i.gpu_class);
      group.setField(kRegion, i.region);
      group.setField(kDeliveryStart, utc_seconds(i.delivery_start));
      group.setField(kDeliveryEnd, utc_seconds(i.delivery_end));
      group.setField(kGateClosure, utc_seconds(i.gate_closure));
      group.setField(kInstrumentState, i.state);
      group.setField(kMaxOrderQty, std::to_string(i.max_quantity));
      message.addGroup(group);
    }
    to(list.session, message);
  }

  void send(const MarketDataReport& r) override {
    FIX::Message message;
    message.setField(FIX::FIELD::MDReqID, r.request_id);
    if (r.kind == MarketDataReport::reject) {
      message.getHeader().setField(FIX::FIELD::MsgType, FIX::MsgType_MarketDataRequestReject);
      message.setField(FIX::FIELD::MDReqRejReason, text(r.reject_reason));
      message.setField(FIX::FIELD::Text, r.text);
      return to(r.session, message);
    }
    const bool full = r.kind == MarketDataReport::snapshot;
    message.getHeader().setField(FIX::FIELD::MsgType,
                                 full ? FIX::MsgType_MarketDataSnapshotFullRefresh
                                      : FIX::MsgType_MarketDataIncrementalRefresh);
    if (full) message.setField(FIX::FIELD::Symbol, r.symbol);
    message.setField(FIX::FIELD::NoMDEntries, "0");  // required even when the book is empty
    for (const BookEntry& e : r.entries) {
      FIX::Group group(FIX::FIELD::NoMDEntries,
                       full ? FIX::FIELD::MDEntryType : FIX::FIELD::MDUpdateAction);
      if (!full) group.setField(FIX::FIELD::MDUpdateAction, text(e.action));
      group.setField(FIX::FIELD::MDEntryType, text(e.type));
      if (!full) group.setField(FIX::FIELD::Symbol, r.symbol);
      group.setField(FIX::FIELD::MDEntryPx, decimal(e.price));
      group.setField(FIX::FIELD::MDEntrySize, std::to_string(e.quantity));
      if (e.block_hours > 0) group.setField(kBlockHours, std::to_string(e.block_hours));
      message.addGroup(group);
    }
    to(r.session, message);
  }

  // A session that is not logged on gets it on resend after its next logon.
  // Held back until end_of_batch(), or until the polling thread's batch ends.
  void to(const std::string& session, FIX::Message& message) {
    BatchingAcceptor::begin_batch();
    // A report may come before the seat's first Logon: its session is made
    // now. Out of descriptors it cannot be, and the report is not kept: the
    // client learns the order's state from an OrderStatusRequest.
    if (acceptor->seat_session(session) == nullptr) {
      std::fprintf(stderr, "gpuxd: FIX: a message to %s is not kept: it has no session\n",
                   session.c_str());
      return;
    }
    FIX::Session::sendToTarget(message,
                               FIX::SessionID(kBeginString, options.target_comp_id, session));
  }

  void send(const Report& r) override {
    FIX::Message message;
    message.setField(FIX::FIELD::OrderID, r.order_id);
    if (!r.cl_ord_id.empty()) message.setField(FIX::FIELD::ClOrdID, r.cl_ord_id);
    if (r.kind == Report::mass_cancel_report) {
      message.getHeader().setField(FIX::FIELD::MsgType, FIX::MsgType_OrderMassCancelReport);
      message.setField(FIX::FIELD::MassCancelRequestType, text(r.mass_type));
      message.setField(FIX::FIELD::MassCancelResponse, text(r.mass_response));
      message.setField(FIX::FIELD::TotalAffectedOrders, std::to_string(r.affected));
      if (r.mass_response == FIX::MassCancelResponse_CANCEL_REQUEST_REJECTED)
        message.setField(FIX::FIELD::MassCancelRejectReason,
                         text(FIX::MassCancelRejectReason_OTHER));
      if (!r.text.empty()) message.setField(FIX::FIELD::Text, r.text);
      return to(r.session, message);
    }
    message.getHeader().setField(FIX::FIELD::MsgType, r.kind == Report::execution
                                                          ? FIX::MsgType_ExecutionReport
                                                          : FIX::MsgType_OrderCancelReject);
    if (!r.orig_cl_ord_id.empty()) message.setField(FIX::FIELD::OrigClOrdID, r.orig_cl_ord_id);
    message.setField(FIX::FIELD::OrdStatus, text(r.ord_status));
    if (!r.text.empty()) message.setField(FIX::FIELD::Text, r.text);
    if (r.kind == Report::cancel_reject) {
      message.setField(FIX::FIELD::CxlRejResponseTo, text(r.response_to));
      message.setField(FIX::FIELD::CxlRejReason, std::to_string(r.cxl_rej_reason));
    } else {
      message.setField(FIX::FIELD::ExecID, r.exec_id);
      message.setField(FIX::FIELD::ExecType, text(r.exec_type));
      // Required, and never empty: a status request for an unknown order
      // may name no Symbol ("[N/A]" is FIX's word for none).
      message.setField(FIX::FIELD::Symbol, r.symbol.empty() ? "[N/A]" : r.symbol);
      message.setField(FIX::FIELD::Side, text(r.side));
      message.setField(FIX::FIELD::OrderQty, std::to_string(r.order_qty));
      if (r.price != 0) message.setField(FIX::FIELD::Price, decimal(r.price));
      if (r.last_qty != 0) {
        message.setField(FIX::FIELD::LastQty, std::to_string(r.last_qty));
        message.setField(FIX::FIELD::LastPx, decimal(r.last_px));
      }
      message.setField(FIX::FIELD::LeavesQty, std::to_string(r.leaves_qty));
      message.setField(FIX::FIELD::CumQty, std::to_string(r.cum_qty));
      message.setField(FIX::FIELD::AvgPx, decimal(r.avg_px));
      if (r.ord_rej_reason != Report::no_reason)
        message.setField(FIX::FIELD::OrdRejReason, std::to_string(r.ord_rej_reason));
      if (!r.mass_status_id.empty()) {
        message.setField(FIX::FIELD::MassStatusReqID, r.mass_status_id);
        message.setField(FIX::FIELD::TotNumReports, std::to_string(r.total_reports));
        if (r.last_report) message.setField(FIX::FIELD::LastRptRequested, "Y");
      }
    }
    to(r.session, message);
  }

  void end_of_batch() override { BatchingAcceptor::end_batch(); }

  void seat_changed(const std::string& session, bool log_out, const std::string& reason) override {
    // logout() disables the QuickFIX session: its Logout is sent by the
    // polling thread's session timer, and the client's answer, or the
    // Logout's timeout, closes the connection. A disabled QuickFIX session
    // drops Logons unread: it takes them again once that connection is
    // closed, or when the seat changes again without a logout.
    // Not while still logged on: a Logout pending (a disable or a new
    // password a moment ago) must not be called off by a later change.
    acceptor->on_polling_thread([this, session, log_out, reason] {
      FIX::Session* s = acceptor->seat_session(session);
      if (s == nullptr) return;
      if (log_out && s->isLoggedOn()) s->logout(reason);
      if (!log_out && !s->isEnabled() && !s->isLoggedOn()) s->logon();
    });
  }

  AcceptorOptions options;
  OrderEntry& entry;
  typedef std::pair<int, long> Window;  // messages counted, second they belong to
  std::mutex rate_mutex;
  std::map<std::string, Window> windows;
  std::mutex logged_on_mutex;
  std::set<std::string> logged_on;  // clients whose sessions are logged on
  DurableMessageStoreFactory store_factory;
  std::unique_ptr<FIX::SessionSettings> settings;
  std::unique_ptr<BufferedLogFactory> log;     // every session's messages and events
  std::unique_ptr<BatchingAcceptor> acceptor;  // set once, before any report is sent
};

Acceptor::Acceptor(const AcceptorOptions& options, OrderEntry& entry, SessionStore& store)
    : impl_(new Impl(options, entry, store)) {
  Impl& i = *impl_;
  FIX::Dictionary defaults;
  defaults.setString("ConnectionType", "acceptor");
  defaults.setString("StartTime", "00:00:00");
  defaults.setString("EndTime", "00:00:00");
  defaults.setString("UseDataDictionary", "Y");
  defaults.setString("DataDictionary", options.data_dictionary);
  defaults.setInt("HeartBtInt", 30);
  i.settings.reset(new FIX::SessionSettings());
  i.settings->set(defaults);
  // QuickFIX insists on one session in the settings; the seats' sessions are
  // made as they are needed (SeatSessions). This one, the exchange's CompID
  // on both sides, is reached by no connection unless it is a seat.
  i.settings->set(FIX::SessionID(kBeginString, options.target_comp_id, options.target_comp_id),
                  FIX::Dictionary());
  i.log.reset(new BufferedLogFactory(options.log_directory));
  // One thread polls every session's socket, not one thread per session:
  // messages that arrive together on several sessions cost one wake-up
  // (docs/perf-notes.md, FIX gateway, step 7), and each batch of reports
  // leaves in one write per connection (session 7). The price: callbacks for
  // all sessions run on that thread, so none may block for long. A Logon's
  // password (Argon2id, ~60 ms) is therefore checked on the acceptor's
  // vetting thread before the session sees the Logon (see vet_password).
  const auto vet_logon = [&i](const std::string& first_message, const std::string& peer) {
    const FIX::Message logon(first_message, false);  // the session validates it later
    if (field_or(logon.getHeader(), FIX::FIELD::MsgType, "") != FIX::MsgType_Logon) return;
    i.entry.vet_password(field_or(logon.getHeader(), FIX::FIELD::SenderCompID, ""),
                         field_or(logon, FIX::FIELD::Password, ""), peer);
  };
  SocketLimits limits;
  limits.max_unsent_bytes = options.max_unsent_bytes;
  limits.max_connections = options.max_connections;
  limits.max_connections_per_address = options.max_connections_per_address;
  limits.logon_timeout = std::chrono::milliseconds(options.logon_timeout_ms);
  limits.max_bytes_before_logon = options.max_bytes_before_logon;
  limits.max_message_bytes = options.max_message_bytes;
  // Every session's dictionary: gpux's, completed with the rest of FIX 4.4
  // (fix44_dictionary.h), so that what gpux lacks is answered as FIX says.
  SeatSessions seats;
  seats.begin_string = kBeginString;
  seats.comp_id = options.target_comp_id;
  seats.is_seat = [&entry](const std::string& client) { return entry.has_seat(client); };
  const auto dictionary = completed_fix44_dictionary(options.data_dictionary);
  seats.dictionaries.addTransportDataDictionary(FIX::BeginString(kBeginString), dictionary);
  // Not Message::toApplVerID(fix44): an inline copy of it built here with the
  // sanitizers would replace QuickFIX's and trip over its field casts.
  seats.dictionaries.addApplicationDataDictionary(FIX::ApplVerID(FIX::ApplVerID_FIX44), dictionary);
  i.acceptor.reset(new BatchingAcceptor(i, i.store_factory, *i.settings, *i.log, options.address,
                                        options.port, limits, std::move(seats), vet_logon,
                                        [&store] { return store.make_durable(); }));
  entry.set_sink(i);
}

Acceptor::~Acceptor() {
  stop();
}

void Acceptor::expect_after(const std::string& client, std::int64_t generation,
                            int last_journaled) {
  impl_->store_factory.expect_after(client, generation, last_journaled);
}

void Acceptor::start() {
  impl_->acceptor->start();
}

std::size_t Acceptor::sessions_logged_on() const {
  return impl_->logged_on_count();
}

void Acceptor::stop() {
  if (!impl_->acceptor || impl_->acceptor->isStopped()) return;
  impl_->acceptor->log_out_seats(std::chrono::seconds(10));  // as QuickFIX's stop() waits
  impl_->acceptor->stop();
}

}  // namespace fix
}  // namespace gpux

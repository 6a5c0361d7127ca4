// The plain boundary between the FIX acceptor (QuickFIX translation units,
// compiled as C++14) and the exchange (C++20): strings, integers and chars
// only, so that both sides can include it. Enumerated fields hold FIX's own
// values, named by QuickFIX's FixValues.h (plain constants, fine in both).
#pragma once

#include <quickfix/FixValues.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gpux::fix {

// gpux's own messages: a participant's cash (docs/fix-spec.md).
const char* const kMsgTypeAccountBalanceRequest = "U1";
const char* const kMsgTypeAccountBalance = "U2";
const int kBalanceReqID = 20020;   // STRING, echoed
const int kCashAvailable = 20021;  // AMT, USD: free to spend
const int kCashReserved = 20022;   // AMT: held for open buy orders
const int kCashInEscrow = 20023;   // AMT: paid for traded GPU-hours awaiting settlement
const int kCollateral = 20024;     // AMT: a provider's pledge
const int kReceivable = 20025;     // AMT: a provider's sold GPU-hours awaiting settlement

// gpux's own tags on NewOrderMultileg(AB), in the dictionary's user range.
// DeliveryKeyRequest(U3) -> DeliveryKeyReport(U4): a participant's SSH
// public keys, which its deliveries let in (docs/fix-spec.md).
const char* const kMsgTypeDeliveryKeyRequest = "U3";
const char* const kMsgTypeDeliveryKeyReport = "U4";
const int kDeliveryKeyReqID = 20030;   // STRING, echoed
const int kDeliveryKeyAction = 20031;  // CHAR: 0 list, 1 add, 2 remove
const int kSshPublicKey = 20032;       // STRING: an OpenSSH public key line
const int kDeliveryKeyStatus = 20033;  // CHAR: 0 done, 1 rejected (Text says why)
const int kNoDeliveryKeys = 20034;     // NUMINGROUP of SshPublicKey: the profile now
const char kDeliveryKeyList = '0';
const char kDeliveryKeyAdd = '1';
const char kDeliveryKeyRemove = '2';
// DeliveryRequest(U5) -> DeliveryReport(U6): the participant's obligations
// awaiting settlement and where each is delivered; the buyer's sessions are
// also sent a U6 of one entry, unsolicited, as each delivery is reported.
const char* const kMsgTypeDeliveryRequest = "U5";
const char* const kMsgTypeDeliveryReport = "U6";
const int kDeliveryReqID = 20035;       // STRING, echoed; absent on a notice
const int kNoDeliveries = 20036;        // NUMINGROUP, delimited by DeliveryTradeID
const int kDeliveryTradeID = 20037;     // INT: the exchange's trade id
const int kDeliveryStage = 20038;       // CHAR: kDeliveryStage* below
const int kDeliveryHost = 20039;        // STRING: opened: where to connect (SSH)
const int kDeliveryPort = 20040;        // INT
const int kDeliveryUser = 20041;        // STRING
const int kHostKeyFingerprint = 20042;  // STRING: "SHA256:...", to pin the host key
const int kDeliveryDetail = 20043;      // STRING: failed: why; revoked: what ended
const int kProcessesEnded = 20044;      // INT: revoked: the buyer's processes ended
// DeliveryStage(20038), matching::DeliveryStage's values.
const char kDeliveryStagePending = '0';  // nothing reported yet
const char kDeliveryStageOpened = '1';
const char kDeliveryStageFailed = '2';
const char kDeliveryStageRevoked = '3';
const int kBlockHours = 20010;      // INT: consecutive delivery hours
const int kSingleProvider = 20011;  // BOOLEAN: Y (default) one provider, N any
// The longest block (matching::kMaxBlockHours, checked where both are seen).
const int kMaxBlockHours = 168;

// A client's order instruction, already checked for form by the acceptor.
struct OrderRequest {
  enum Kind {
    new_order,
    cancel,
    replace,
    status,
    mass_cancel,
    new_block,
    mass_status,
    delivery_key  // cl_ord_id: the DeliveryKeyReqID
  };
  Kind kind = new_order;
  std::string session;                 // the client's SenderCompID
  std::string cl_ord_id;               // ClOrdID(11); a mass status request's MassStatusReqID(584)
  std::string orig_cl_ord_id;          // OrigClOrdID(41): cancel, replace
  std::string symbol;                  // Symbol(55); empty for a mass request on all orders
  char side = FIX::Side_BUY;           // Side(54): Side_BUY or Side_SELL
  char ord_type = FIX::OrdType_LIMIT;  // OrdType(40): OrdType_MARKET or OrdType_LIMIT
  // TimeInForce(59): GOOD_TILL_CANCEL (or DAY), IMMEDIATE_OR_CANCEL, FILL_OR_KILL
  char time_in_force = FIX::TimeInForce_GOOD_TILL_CANCEL;
  bool post_only = false;     // ExecInst(18) contains ExecInst_PARTICIPATE_DONT_INITIATE
  std::int64_t price = 0;     // micro-USD per unit; market orders: protection, 0 = band edge
  std::int64_t quantity = 0;  // whole units; for a replace the new total OrderQty
  // A block (NewOrderMultileg): `quantity` units in each of BlockHours(20010)
  // consecutive hours from `symbol`'s, all or none, at most `price` per
  // unit-hour on average; from one provider unless SingleProvider(20011)=N.
  int block_hours = 0;
  bool single_provider = true;
  // Where the message stands in its session's numbering: MsgSeqNum(34) and
  // the session's generation (see SessionState), journaled with the order.
  int msg_seq_num = 0;
  std::int64_t generation = 0;

  // A new order or a block: it opens an order under its ClOrdID.
  bool opens_order() const { return kind == new_order || kind == new_block; }
};

// An ExecutionReport(8), OrderCancelReject(9) or OrderMassCancelReport(r)
// for one session.
struct Report {
  enum Kind { execution, cancel_reject, mass_cancel_report };
  // gpux's own: OrdRejReason(103) and CxlRejReason(102) are left out.
  static const int no_reason = -1;
  Kind kind = execution;
  std::string session;
  std::string order_id;  // OrderID(37), "NONE" when the exchange never accepted it
  std::string cl_ord_id;
  std::string orig_cl_ord_id;
  std::string exec_id;
  char exec_type = FIX::ExecType_NEW;    // ExecType(150)
  char ord_status = FIX::OrdStatus_NEW;  // OrdStatus(39)
  std::string symbol;
  char side = FIX::Side_BUY;
  std::int64_t order_qty = 0;
  std::int64_t price = 0;
  std::int64_t last_qty = 0;
  std::int64_t last_px = 0;
  std::int64_t leaves_qty = 0;
  std::int64_t cum_qty = 0;
  std::int64_t avg_px = 0;         // micro-USD, rounded down
  int ord_rej_reason = no_reason;  // OrdRejReason(103) when rejected
  int cxl_rej_reason = no_reason;  // CxlRejReason(102) for 9
  // CxlRejResponseTo(434) for 9: to a cancel or a cancel/replace request.
  char response_to = FIX::CxlRejResponseTo_ORDER_CANCEL_REQUEST;
  // MassCancelRequestType(530) for r: CANCEL_ORDERS_FOR_A_SECURITY or CANCEL_ALL_ORDERS.
  char mass_type = FIX::MassCancelRequestType_CANCEL_ALL_ORDERS;
  // MassCancelResponse(531): CANCEL_REQUEST_REJECTED, else as requested.
  char mass_response = FIX::MassCancelResponse_CANCEL_REQUEST_REJECTED;
  int affected = 0;  // TotalAffectedOrders(533)
  // An answer to an OrderMassStatusRequest(AF): its MassStatusReqID(584),
  // TotNumReports(911) and LastRptRequested(912)=Y on the last report.
  std::string mass_status_id;
  int total_reports = 0;
  bool last_report = false;
  std::string text;  // Text(58): the exchange's reason in words
};

// One instrument as SecurityList(y) describes it.
struct InstrumentInfo {
  std::string symbol;
  std::string gpu_class;
  std::string region;
  std::int64_t delivery_start = 0;  // Unix seconds, UTC
  std::int64_t delivery_end = 0;
  std::int64_t gate_closure = 0;
  std::int64_t tick = 0;  // micro-USD
  std::int64_t lot = 0;
  std::int64_t min_quantity = 0;
  std::int64_t max_quantity = 0;
  std::string state;  // listed, open, gate_closed, delivering, settled
};

struct SecurityListReport {
  std::string session;
  std::string request_id;  // SecurityReqID(320)
  std::vector<InstrumentInfo> instruments;
};

// MarketDataRequest(V): a snapshot, or a snapshot followed by incremental
// refreshes until unsubscribed or logged out.
struct MarketDataRequest {
  std::string session;
  std::string request_id;  // MDReqID(262)
  // SubscriptionRequestType(263): SNAPSHOT, SNAPSHOT_PLUS_UPDATES (subscribe),
  // or DISABLE_PREVIOUS_SNAPSHOT_PLUS_UPDATE_REQUEST (unsubscribe).
  char subscription = FIX::SubscriptionRequestType_SNAPSHOT;
  int depth = 0;  // MarketDepth(264): 0 full book
  std::vector<std::string> symbols;
};

// AccountBalance(U2): a participant's cash by account, micro-USD, as the
// journal has it after the last command the gateway has seen.
struct BalanceReport {
  std::string session;
  std::string request_id;  // BalanceReqID(20020)
  std::int64_t available = 0;
  std::int64_t reserved = 0;
  std::int64_t escrow = 0;
  std::int64_t collateral = 0;
  std::int64_t receivable = 0;
};

// DeliveryKeyReport(U4): the participant's delivery keys after the request,
// or why it was rejected (the keys then as they were).
struct DeliveryKeyReport {
  std::string session;
  std::string request_id;  // DeliveryKeyReqID(20030)
  bool rejected = false;
  std::string text;
  std::vector<std::string> keys;
};

// One obligation's delivery, an entry of DeliveryReport(U6).
struct DeliveryInfo {
  std::int64_t trade = 0;  // DeliveryTradeID(20037)
  std::string symbol;
  // Side(54): BUY, the participant bought it; SELL, the participant delivers it.
  char side = FIX::Side_BUY;
  std::int64_t quantity = 0;  // units, LastQty(32)
  char stage = kDeliveryStagePending;
  std::string host;
  int port = 0;
  std::string user;
  std::string host_key_fingerprint;
  std::string detail;
  std::int64_t processes_ended = 0;
};

// DeliveryReport(U6): an answer to DeliveryRequest(U5), one of
// `total_reports` (the last one `last_report`), or, with no request_id, an
// unsolicited notice of one delivery, which `text` tells in words. A notice
// is sent only to a session logged on at the time.
struct DeliveryReport {
  std::string session;
  std::string request_id;   // DeliveryReqID(20035); empty: a notice
  int total_reports = 1;    // TotNumReports(911)
  bool last_report = true;  // LastRptRequested(912)
  std::string text;
  std::vector<DeliveryInfo> deliveries;
};

// One of a participant's fills, as TradeCaptureReport(AE) gives it.
struct FillInfo {
  std::string trade_report_id;  // TradeReportID(571): "T" and the exchange's trade id
  std::string exec_id;          // ExecID(17) of the fill's ExecutionReport: T<id>-m or -t
  std::string symbol;
  char side = FIX::Side_BUY;  // the participant's side
  std::string order_id;       // the participant's order
  std::int64_t quantity = 0;
  std::int64_t price = 0;    // micro-USD
  std::int64_t time_ns = 0;  // when it was sequenced, Unix nanoseconds
};

// The answer to TradeCaptureReportRequest(AD): a participant's fills of
// one UTC day, oldest first.
struct FillsReport {
  std::string session;
  std::string request_id;  // TradeRequestID(568)
  std::string trade_date;  // TradeDate(75), YYYYMMDD
  std::vector<FillInfo> fills;
};

// A price level or a trade: one MDEntry.
// gpux's own MDEntryType(269) values, in snapshots only: block orders,
// which are not tradable against hourly orders (docs/fix-spec.md).
const char kMDEntryTypeBlockBid = 'b';    // a resting buy block
const char kMDEntryTypeBlockOffer = 's';  // a resting sell block
// What the hourly books would charge for (or pay for) a span: the cheapest
// units in each hour's offers (or the best bids), per unit-hour.
const char kMDEntryTypeIndicativeBlockBuy = 'i';
const char kMDEntryTypeIndicativeBlockSell = 'j';

struct BookEntry {
  char type = FIX::MDEntryType_BID;  // MDEntryType(269): BID, OFFER, TRADE, or a block's above
  // MDUpdateAction(279), incremental only: NEW, CHANGE or DELETE.
  char action = FIX::MDUpdateAction_NEW;
  std::int64_t price = 0;
  std::int64_t quantity = 0;  // 0 with action delete; a block's: units per hour
  int block_hours = 0;        // BlockHours(20010) of a block's entry; 0 for the others
};

struct MarketDataReport {
  enum Kind { snapshot, incremental, reject };
  Kind kind = snapshot;
  std::string session;
  std::string request_id;
  std::string symbol;
  std::vector<BookEntry> entries;
  char reject_reason = FIX::MDReqRejReason_UNKNOWN_SYMBOL;  // MDReqRejReason(281) for a reject
  std::string text;
};

// Where the exchange's answers go: the acceptor, which sends them. It may
// hold them back to write them together until end_of_batch().
class ReportSink {
 public:
  virtual ~ReportSink() = default;
  virtual void send(const Report& report) = 0;
  virtual void send(const SecurityListReport& report) = 0;
  virtual void send(const MarketDataReport& report) = 0;
  virtual void send(const BalanceReport& report) = 0;
  virtual void send(const FillsReport& report) = 0;
  virtual void send(const DeliveryKeyReport& report) = 0;
  // Not an overload of send(), and by default dropped: sinks that only
  // collect orders' reports (tests' fakes) need not know of deliveries.
  virtual void send_deliveries(const DeliveryReport&) {}
  // The sender has nothing more for now: what send() held back goes out.
  virtual void end_of_batch() = 0;
  // The seat was disabled or given a new password (log_out): its session
  // is logged out with `reason`, if logged on. Otherwise its session takes
  // Logons again, which authenticate judges as usual.
  virtual void seat_changed(const std::string& session, bool log_out,
                            const std::string& reason) = 0;
};

// What the acceptor needs from the exchange.
class OrderEntry {
 public:
  virtual ~OrderEntry() = default;
  // Whether `session` (a SenderCompID) is a seat, enabled or not: the
  // acceptor makes a session for a seat when it first needs one (a Logon,
  // a report), so seats created at run time log on at once.
  virtual bool has_seat(const std::string& session) = 0;
  // Whether a Logon from `peer` (its source address) may proceed: the
  // SenderCompID is bound to a participant, the password (when one is set
  // for it) matches, and that address has not failed too often for it.
  // Empty when it may; otherwise the reason, which goes back in the Logout.
  virtual std::string authenticate(const std::string& session, const std::string& password,
                                   const std::string& peer) = 0;
  // The slow part of authenticate (the password hash), done ahead of it on
  // a thread that may wait, so that authenticate answers at once.
  virtual void vet_password(const std::string& session, const std::string& password,
                            const std::string& peer) = 0;
  // Reports for the request arrive through the sink once durable (or at
  // once for requests refused before reaching the engine).
  virtual void submit(const OrderRequest& request) = 0;
  virtual void set_sink(ReportSink& sink) = 0;
  virtual void list_instruments(const std::string& session, const std::string& request_id) = 0;
  virtual void request_market_data(const MarketDataRequest& request) = 0;
  // The session's participant's cash (AccountBalanceRequest, U1).
  virtual void report_balance(const std::string& session, const std::string& request_id) = 0;
  // The session's participant's fills on `trade_date` (YYYYMMDD, UTC).
  virtual void report_fills(const std::string& session, const std::string& request_id,
                            const std::string& trade_date) = 0;
  // DeliveryKeyRequest (U3): list, add or remove one of the session's
  // participant's delivery keys; the report comes once the change is
  // journaled (or at once, for a list or a key that is no key).
  virtual void delivery_keys(const std::string& session, const std::string& request_id, char action,
                             const std::string& key) = 0;
  // DeliveryRequest (U5): the session's participant's obligations awaiting
  // settlement, those it bought and those it delivers, with how each is
  // delivered as last reported.
  virtual void report_deliveries(const std::string& session, const std::string& request_id) = 0;
  // The session's connection ended (logout or lost): its market data
  // subscriptions end, and its orders are cancelled when so configured.
  virtual void disconnected(const std::string& session) = 0;
  // Answers a request refused before it reaches the exchange (malformed,
  // throttled) with the report its kind calls for; `reason` as OrdRejReason.
  virtual void reject(const OrderRequest& request, int reason, const std::string& text) = 0;
};

}  // namespace gpux::fix

// The plain boundary between the FIX acceptor (QuickFIX translation units,
// compiled as C++14) and the exchange (C++20): strings, integers and chars
// only, so that both sides can include it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace gpux::fix {

// A client's order instruction, already checked for form by the acceptor.
struct OrderRequest {
  enum Kind { new_order, cancel, replace, status, mass_cancel };
  Kind kind = new_order;
  std::string session;         // the client's SenderCompID
  std::string cl_ord_id;       // ClOrdID(11)
  std::string orig_cl_ord_id;  // OrigClOrdID(41): cancel, replace
  std::string symbol;          // Symbol(55); empty for a mass cancel of all orders
  char side = '1';             // Side(54): 1 buy, 2 sell
  char ord_type = '2';         // OrdType(40): 1 market, 2 limit
  char time_in_force = '1';    // TimeInForce(59): 1 GTC, 3 IOC, 4 FOK
  bool post_only = false;      // ExecInst(18) contains 6
  std::int64_t price = 0;      // micro-USD per unit; market orders: protection, 0 = band edge
  std::int64_t quantity = 0;   // whole units; for a replace the new total OrderQty
};

// An ExecutionReport(8), OrderCancelReject(9) or OrderMassCancelReport(r)
// for one session.
struct Report {
  enum Kind { execution, cancel_reject, mass_cancel_report };
  Kind kind = execution;
  std::string session;
  std::string order_id;  // OrderID(37), "NONE" when the exchange never accepted it
  std::string cl_ord_id;
  std::string orig_cl_ord_id;
  std::string exec_id;
  char exec_type = '0';   // ExecType(150)
  char ord_status = '0';  // OrdStatus(39)
  std::string symbol;
  char side = '1';
  std::int64_t order_qty = 0;
  std::int64_t price = 0;
  std::int64_t last_qty = 0;
  std::int64_t last_px = 0;
  std::int64_t leaves_qty = 0;
  std::int64_t cum_qty = 0;
  std::int64_t avg_px = 0;   // micro-USD, rounded down
  int ord_rej_reason = -1;   // OrdRejReason(103) when rejected
  int cxl_rej_reason = -1;   // CxlRejReason(102) for 9
  char response_to = '1';    // CxlRejResponseTo(434) for 9: 1 cancel, 2 replace
  char mass_type = '7';      // MassCancelRequestType(530) for r: 1 symbol, 7 all
  char mass_response = '0';  // MassCancelResponse(531): 0 rejected, else as requested
  int affected = 0;          // TotalAffectedOrders(533)
  std::string text;          // Text(58): the exchange's reason in words
};

// What the acceptor needs from the exchange.
class OrderEntry {
 public:
  virtual ~OrderEntry() = default;
  // Whether a Logon may proceed: the SenderCompID is bound to a participant
  // and the password (when one is set for it) matches. Empty when it may;
  // otherwise the reason, which goes back in the Logout.
  virtual std::string authenticate(const std::string& session, const std::string& password) = 0;
  // Reports for the request arrive through the sink once durable (or at
  // once for requests refused before reaching the engine).
  virtual void submit(const OrderRequest& request) = 0;
  virtual void set_sink(std::function<void(const Report&)> sink) = 0;
  // Answers a request refused before it reaches the exchange (malformed,
  // throttled) with the report its kind calls for; `reason` as OrdRejReason.
  virtual void reject(const OrderRequest& request, int reason, const std::string& text) = 0;
};

}  // namespace gpux::fix

#include "order_message.h"

#include <algorithm>
#include <cstdlib>

#include "field_text.h"
#include "gpux/fix/decimal_text.h"

namespace gpux {
namespace fix {
namespace {

// "ClOrdID(11) is longer than 64 characters" for the first identifier of
// an order request that is too long; empty when none is.
std::string oversized_identifier(const FIX::Message& message) {
  const struct {
    int tag;
    const char* name;
  } identifiers[] = {{FIX::FIELD::ClOrdID, "ClOrdID"},
                     {FIX::FIELD::MassStatusReqID, "MassStatusReqID"},
                     {FIX::FIELD::OrigClOrdID, "OrigClOrdID"},
                     {FIX::FIELD::Symbol, "Symbol"}};
  for (const auto& identifier : identifiers)
    if (message.isSetField(identifier.tag) &&
        message.getField(identifier.tag).size() > kMaxIdentifier)
      return std::string(identifier.name) + "(" + std::to_string(identifier.tag) +
             ") is longer than " + std::to_string(kMaxIdentifier) + " characters";
  return {};
}

OrderRequest::Kind kind_of(const std::string& type) {
  if (type == FIX::MsgType_OrderCancelRequest) return OrderRequest::cancel;
  if (type == FIX::MsgType_OrderCancelReplaceRequest) return OrderRequest::replace;
  if (type == FIX::MsgType_OrderMassCancelRequest) return OrderRequest::mass_cancel;
  if (type == FIX::MsgType_OrderStatusRequest) return OrderRequest::status;
  if (type == FIX::MsgType_OrderMassStatusRequest) return OrderRequest::mass_status;
  if (type == FIX::MsgType_NewOrderMultileg) return OrderRequest::new_block;
  return OrderRequest::new_order;
}

// A whole number of hours from 1 to kMaxBlockHours, or 0.
int block_hours(const std::string& value) {
  if (value.empty() || value.size() > 3 ||
      value.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  const int hours = std::atoi(value.c_str());
  return hours <= kMaxBlockHours ? hours : 0;
}

// The terms of a new order, a block or a replace; the first problem found.
std::string read_terms(const FIX::Message& message, OrderRequest& request) {
  const bool block = request.kind == OrderRequest::new_block;
  std::string problem;
  request.ord_type = message.getField(FIX::FIELD::OrdType)[0];
  // A block is immediate-or-cancel unless it asks to rest.
  request.time_in_force = field_or(
      message, FIX::FIELD::TimeInForce,
      text(block ? FIX::TimeInForce_IMMEDIATE_OR_CANCEL : FIX::TimeInForce_GOOD_TILL_CANCEL))[0];
  if (block) {
    request.block_hours = block_hours(message.getField(kBlockHours));
    request.single_provider = field_or(message, kSingleProvider, "Y") == "Y";
    if (request.block_hours == 0)
      problem = "BlockHours(20010) must be a whole number of hours from 1 to " +
                std::to_string(kMaxBlockHours);
    if (request.time_in_force != FIX::TimeInForce_IMMEDIATE_OR_CANCEL &&
        request.time_in_force != FIX::TimeInForce_DAY &&
        request.time_in_force != FIX::TimeInForce_GOOD_TILL_CANCEL)
      problem =
          "TimeInForce(59) must be 3 (IOC: fill at once or not at all) or 0 or 1 (rest until "
          "the gate closes on an hour of the span)";
    if (request.ord_type != FIX::OrdType_LIMIT)
      problem = "OrdType(40) must be 2 (limit): a block's Price(44) is its limit per unit-hour";
  }
  // Post only: the order may add liquidity, never take it.
  request.post_only =
      field_or(message, FIX::FIELD::ExecInst, "").find(FIX::ExecInst_PARTICIPATE_DONT_INITIATE) !=
      std::string::npos;
  if (request.side != FIX::Side_BUY && request.side != FIX::Side_SELL)
    problem = "Side(54) must be 1 (buy) or 2 (sell)";
  if (request.ord_type != FIX::OrdType_MARKET && request.ord_type != FIX::OrdType_LIMIT)
    problem = "OrdType(40) must be 1 (market) or 2 (limit)";
  if (request.kind == OrderRequest::replace && request.ord_type != FIX::OrdType_LIMIT)
    problem = "only limit orders can be replaced";
  // DAY and GTC alike rest until the instrument's gate closes.
  if (request.time_in_force != FIX::TimeInForce_DAY &&
      request.time_in_force != FIX::TimeInForce_GOOD_TILL_CANCEL &&
      request.time_in_force != FIX::TimeInForce_IMMEDIATE_OR_CANCEL &&
      request.time_in_force != FIX::TimeInForce_FILL_OR_KILL)
    problem = "TimeInForce(59) must be 0 or 1 (rest until gate closure), 3 (IOC) or 4 (FOK)";
  const DecimalText quantity =
      read_quantity(message.getField(FIX::FIELD::OrderQty), request.quantity);
  if (quantity != DecimalText::ok) problem = "OrderQty(38) " + explain(quantity);
  if (request.ord_type == FIX::OrdType_LIMIT && !message.isSetField(FIX::FIELD::Price))
    problem = "Price(44) is required for a limit order";
  if (message.isSetField(FIX::FIELD::Price)) {
    const DecimalText price = read_micro(message.getField(FIX::FIELD::Price), request.price);
    if (price != DecimalText::ok) problem = "Price(44) " + explain(price) + " (USD)";
  }
  return problem;
}

}  // namespace

bool is_order_message(const std::string& type) {
  return type == FIX::MsgType_NewOrderSingle || type == FIX::MsgType_NewOrderMultileg ||
         type == FIX::MsgType_OrderCancelRequest ||
         type == FIX::MsgType_OrderCancelReplaceRequest ||
         type == FIX::MsgType_OrderStatusRequest || type == FIX::MsgType_OrderMassCancelRequest ||
         type == FIX::MsgType_OrderMassStatusRequest;
}

OrderMessage read_order_message(const FIX::Message& message, const std::string& session) {
  OrderMessage read;
  OrderRequest& request = read.request;
  request.session = session;
  request.kind = kind_of(message.getHeader().getField(FIX::FIELD::MsgType));
  // Where it stands in the session's numbering, journaled with the order.
  request.msg_seq_num = std::atoi(message.getHeader().getField(FIX::FIELD::MsgSeqNum).c_str());
  request.cl_ord_id =
      message.getField(request.kind == OrderRequest::mass_status ? FIX::FIELD::MassStatusReqID
                                                                 : FIX::FIELD::ClOrdID);
  read.problem = oversized_identifier(message);
  if (!read.problem.empty()) {
    read.oversized = true;
    request.cl_ord_id.resize(std::min(request.cl_ord_id.size(), kMaxIdentifier));
    return read;  // echoing only the first 64 characters
  }
  const bool opens = request.opens_order();
  // Orders are found by (Orig)ClOrdID: cancels, replaces and status
  // requests need not repeat Symbol and Side.
  request.symbol =
      opens ? message.getField(FIX::FIELD::Symbol) : field_or(message, FIX::FIELD::Symbol, "");
  request.side = (opens ? message.getField(FIX::FIELD::Side)
                        : field_or(message, FIX::FIELD::Side, text(FIX::Side_BUY)))[0];
  switch (request.kind) {
    case OrderRequest::mass_cancel: {
      const std::string scope = message.getField(FIX::FIELD::MassCancelRequestType);
      if (scope == text(FIX::MassCancelRequestType_CANCEL_ORDERS_FOR_A_SECURITY)) {
        request.symbol = message.getField(FIX::FIELD::Symbol);
      } else if (scope == text(FIX::MassCancelRequestType_CANCEL_ALL_ORDERS)) {
        request.symbol.clear();
      } else {
        read.problem = "MassCancelRequestType(530) must be 1 (by symbol) or 7 (all orders)";
      }
      return read;
    }
    case OrderRequest::mass_status: {
      const std::string scope = message.getField(FIX::FIELD::MassStatusReqType);
      if (scope == std::to_string(FIX::MassStatusReqType_STATUS_FOR_ORDERS_FOR_A_SECURITY)) {
        request.symbol = message.getField(FIX::FIELD::Symbol);
      } else if (scope == std::to_string(FIX::MassStatusReqType_STATUS_FOR_ALL_ORDERS)) {
        request.symbol.clear();
      } else {
        read.problem = "MassStatusReqType(585) must be 1 (by symbol) or 7 (all orders)";
      }
      return read;
    }
    case OrderRequest::cancel:
      request.orig_cl_ord_id = message.getField(FIX::FIELD::OrigClOrdID);
      return read;
    case OrderRequest::status:
    case OrderRequest::delivery_key:  // not an order message: U3 is read by the acceptor
      return read;
    case OrderRequest::replace:
      request.orig_cl_ord_id = message.getField(FIX::FIELD::OrigClOrdID);
      break;
    case OrderRequest::new_order:
    case OrderRequest::new_block:
      break;
  }
  read.problem = read_terms(message, request);
  // A block sweeps one book per hour; one with no valid hours is refused
  // before the engine sees it.
  if (request.kind == OrderRequest::new_block) read.cost = std::max(1, request.block_hours);
  return read;
}

}  // namespace fix
}  // namespace gpux

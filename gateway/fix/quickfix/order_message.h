// Reading a client's order message into an OrderRequest: the part of FIX
// order entry below QuickFIX's parser and above the exchange, with no
// session, clock or I/O, so that it can be fuzzed on its own (tests/fuzz).
// C++14, like every unit that includes QuickFIX.
#pragma once

#include <quickfix/Message.h>

#include <cstddef>
#include <string>

#include "order_entry.h"

namespace gpux {
namespace fix {

// Identifiers the exchange journals, stores and echoes have a documented
// maximum (docs/fix-spec.md): a client cannot make it keep megabytes.
const std::size_t kMaxIdentifier = 64;

// The message types read_order_message reads.
bool is_order_message(const std::string& msg_type);

struct OrderMessage {
  // Its kind, ClOrdID and whatever of its terms could be read; with
  // `problem` empty, a request the exchange may be asked to execute: Side,
  // OrdType and TimeInForce are values gpux supports, OrderQty is whole and
  // positive, Price (if any) is in micro-USD, identifiers are at most
  // kMaxIdentifier characters and a block has 1..kMaxBlockHours hours.
  OrderRequest request;
  // Why the exchange refuses it without journaling it (an ExecutionReport
  // or OrderCancelReject with this text); empty when it does not.
  std::string problem;
  // An identifier too long to be echoed whole (ClOrdID is cut to
  // kMaxIdentifier): refused before the session's rate counts it.
  bool oversized = false;
  // What it counts against the session's message rate: a block sweeps one
  // book per hour.
  int cost = 1;
};

// `message` has passed QuickFIX's validation against the gpux dictionary and
// is_order_message(its type); `session` is the client's SenderCompID. Throws
// FIX::FieldNotFound for what the session answers
// with a Reject.
OrderMessage read_order_message(const FIX::Message& message, const std::string& session);

}  // namespace fix
}  // namespace gpux

// C++14: it includes QuickFIX.
#include "fix_order_fuzz.h"

#include <quickfix/DataDictionary.h>
#include <quickfix/Message.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "fix44_dictionary.h"
#include "fuzz_bytes.h"
#include "message_framer.h"
#include "order_message.h"
#include "raw_fix.h"

namespace gpux {
namespace test {
namespace {

using fix::OrderRequest;

// A message type's fields: required ones with a valid value, then optional
// ones. Bytes decide for each whether it keeps that value, takes an edge
// value or is left out, and add fields of their own.
struct Field {
  int tag;
  const char* valid;
};
struct Shape {
  const char* type;
  std::vector<Field> required;
  std::vector<Field> optional;
};

const Field kClOrdID{11, "C1"};
const Field kOrigClOrdID{41, "C0"};
const Field kSymbol{55, "H100-SXM.us-east.21000101T00"};
const Field kSide{54, "1"};
const Field kTransactTime{60, "20261206-12:00:00"};
const Field kOrderQty{38, "5"};
const Field kOrdType{40, "2"};
const Field kPrice{44, "2.5"};
const Field kTimeInForce{59, "1"};

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = {
      {"D",
       {kClOrdID, kSymbol, kSide, kTransactTime, kOrderQty, kOrdType},
       {kPrice, kTimeInForce, {18, "6"}, {1, "A1"}}},
      {"AB",
       {kClOrdID, kSymbol, kSide, kTransactTime, kOrderQty, kOrdType, kPrice, {20010, "3"}},
       {{59, "3"}, {20011, "N"}}},
      {"F", {kOrigClOrdID, kClOrdID, kTransactTime}, {kSymbol, kSide, kOrderQty}},
      {"G", {kOrigClOrdID, kClOrdID, kTransactTime, kOrderQty, kOrdType}, {kSymbol, kSide, kPrice}},
      {"H", {kClOrdID}, {kSymbol, kSide}},
      {"q", {kClOrdID, {530, "7"}, kTransactTime}, {kSymbol}},
      {"AF", {{584, "M1"}, {585, "7"}}, {kSymbol}},
      {"V", {{262, "R1"}, {263, "1"}, {264, "0"}}, {}},  // not an order: must not be read
  };
  return all;
}

// Tags order entry reads, and one from the user range it does not.
const int kTags[] = {11, 41, 55, 54, 40, 59, 38, 44, 18, 530, 584, 585, 20010, 20011, 58, 37, 5000};

// Values on the edges of order entry's rules.
const char* const kValues[] = {
    "",
    "0",
    "1",
    "2",
    "3",
    "4",
    "6",
    "7",
    "Y",
    "N",
    "Z",
    "-1",
    "1.5",
    "2.000001",
    "0.0000001",
    "168",
    "169",
    "1000000000000",
    "1000000000001",
    "9300000000000",
    "1e18",
    "99999999999999999999999",
    "H100-SXM.us-east.21000101T00",
    "0123456789012345678901234567890123456789012345678901234567890123",
    "01234567890123456789012345678901234567890123456789012345678901234",
    "6 7",
    "20261206-12:00:00",
};

std::string value_from(FuzzBytes& bytes) {
  const std::uint8_t choice = bytes.next();
  const std::size_t known = sizeof kValues / sizeof kValues[0];
  if (choice < 200) return kValues[choice % known];
  std::string value(bytes.next() % 24, 'x');
  for (char& c : value) {
    c = static_cast<char>(bytes.next());
    if (c == '\x01') c = '?';  // a SOH would end the field
  }
  return value;
}

int tag_from(FuzzBytes& bytes) {
  const std::uint8_t choice = bytes.next();
  const std::size_t known = sizeof kTags / sizeof kTags[0];
  if (choice < 220) return kTags[choice % known];
  return 1 + (bytes.next() << 8 | bytes.next()) % 21000;
}

// The sessions' dictionary: gpux's, completed with the rest of FIX 4.4.
const FIX::DataDictionary& dictionary() {
  static const auto completed = fix::completed_fix44_dictionary(GPUX_FIX_DICTIONARY);
  return *completed;
}

OrderRequest::Kind kind_of(const std::string& type) {
  if (type == "F") return OrderRequest::cancel;
  if (type == "G") return OrderRequest::replace;
  if (type == "H") return OrderRequest::status;
  if (type == "q") return OrderRequest::mass_cancel;
  if (type == "AB") return OrderRequest::new_block;
  if (type == "AF") return OrderRequest::mass_status;
  return OrderRequest::new_order;
}

// What OrderMessage promises of `read`, read from `message` of `type`.
std::string broken_promise(const fix::OrderMessage& read, const FIX::Message& message,
                           const std::string& type) {
  const OrderRequest& r = read.request;
  if (r.kind != kind_of(type)) return "the wrong kind";
  if (r.cl_ord_id.size() > fix::kMaxIdentifier) return "a ClOrdID longer than the maximum";
  if (read.cost < 1 || read.cost > fix::kMaxBlockHours) return "a rate cost out of range";
  if (read.oversized) return read.problem.empty() ? "an oversized identifier let through" : "";
  if (!read.problem.empty()) return "";
  if (r.cl_ord_id !=
      message.getField(type == "AF" ? FIX::FIELD::MassStatusReqID : FIX::FIELD::ClOrdID))
    return "a different ClOrdID";
  if (r.symbol.size() > fix::kMaxIdentifier || r.orig_cl_ord_id.size() > fix::kMaxIdentifier)
    return "an identifier longer than the maximum";
  if (!r.opens_order() && r.kind != OrderRequest::replace) return "";
  if (r.side != FIX::Side_BUY && r.side != FIX::Side_SELL) return "a side gpux has not";
  if (r.ord_type != FIX::OrdType_MARKET && r.ord_type != FIX::OrdType_LIMIT)
    return "an order type gpux has not";
  if (r.time_in_force != FIX::TimeInForce_DAY &&
      r.time_in_force != FIX::TimeInForce_GOOD_TILL_CANCEL &&
      r.time_in_force != FIX::TimeInForce_IMMEDIATE_OR_CANCEL &&
      r.time_in_force != FIX::TimeInForce_FILL_OR_KILL)
    return "a time in force gpux has not";
  if (r.quantity < 0 || r.quantity > 1000000000000LL) return "a quantity out of range";
  if (r.price < 0 || r.price > 1000000000000LL * 1000000) return "a price out of range";
  if (r.ord_type == FIX::OrdType_LIMIT && !message.isSetField(FIX::FIELD::Price))
    return "a limit order without a price";
  if (r.kind == OrderRequest::replace && r.ord_type != FIX::OrdType_LIMIT)
    return "a replace that is not a limit order";
  if (r.kind == OrderRequest::new_block &&
      (r.block_hours < 1 || r.block_hours > fix::kMaxBlockHours ||
       r.time_in_force == FIX::TimeInForce_FILL_OR_KILL || r.ord_type != FIX::OrdType_LIMIT ||
       read.cost != r.block_hours))
    return "a block outside its rules";
  return "";
}

bool same(const fix::OrderMessage& a, const fix::OrderMessage& b) {
  const OrderRequest& x = a.request;
  const OrderRequest& y = b.request;
  return a.problem == b.problem && a.oversized == b.oversized && a.cost == b.cost &&
         x.kind == y.kind && x.cl_ord_id == y.cl_ord_id && x.orig_cl_ord_id == y.orig_cl_ord_id &&
         x.symbol == y.symbol && x.side == y.side && x.ord_type == y.ord_type &&
         x.time_in_force == y.time_in_force && x.post_only == y.post_only && x.price == y.price &&
         x.quantity == y.quantity && x.block_hours == y.block_hours &&
         x.single_provider == y.single_provider && x.msg_seq_num == y.msg_seq_num;
}

// What the framer cuts out of `raw`, its bytes arriving in pieces the
// fuzzer's bytes size; empty, and `problem` set, unless exactly one message.
std::string framed_in_pieces(const std::string& raw, FuzzBytes& bytes, std::string& problem) {
  fix::MessageFramer framer(64 << 10);
  std::string framed;
  for (std::size_t at = 0; at < raw.size();) {
    const std::size_t piece = std::min<std::size_t>(1 + bytes.next() % 64, raw.size() - at);
    framer.append(raw.data() + at, piece);
    at += piece;
    std::string message;
    const auto result = framer.next(message);
    if (result == fix::MessageFramer::Result::message && framed.empty())
      framed = message;
    else if (result != fix::MessageFramer::Result::need_more)
      problem = "the framer refused ";
  }
  if (framer.buffered() != 0) problem = "the framer kept bytes after ";
  return framed;
}

FixOrderFuzzReach reach;

}  // namespace

FixOrderFuzzReach fix_order_fuzz_reach() {
  return reach;
}

std::string run_fix_order_fuzz_case(const std::uint8_t* data, std::size_t size) {
  ++reach.cases;
  FuzzBytes bytes(data, size);
  const Shape& shape = shapes()[bytes.next() % shapes().size()];
  const std::string type = shape.type;
  std::string fields;
  const auto add = [&](const Field& field) {
    const std::uint8_t choice = bytes.next();
    if (choice < 160) {
      fields += std::to_string(field.tag) + "=" + field.valid + "\x01";
    } else if (choice < 240) {
      fields += std::to_string(field.tag) + "=" + value_from(bytes) + "\x01";
    }  // else left out
  };
  for (const Field& field : shape.required)
    add(field);
  for (const Field& field : shape.optional)
    if (bytes.next() % 2 == 0) add(field);
  for (int extra = bytes.next() % 4 - 1; extra > 0; --extra)  // mostly none
    fields += std::to_string(tag_from(bytes)) + "=" + value_from(bytes) + "\x01";
  const std::string raw =
      local::fix_frame(type, "TRADER", "GPUX", 2, "20261206-12:00:00.000", fields);
  // The connection's framer cuts out the same message however its bytes arrive.
  std::string framing_problem;
  if (framed_in_pieces(raw, bytes, framing_problem) != raw || !framing_problem.empty())
    return (framing_problem.empty() ? "the framer cut another message from " : framing_problem) +
           raw;

  FIX::Message message;
  try {
    message = FIX::Message(raw, dictionary(), true);
    dictionary().validate(message);
  } catch (const FIX::Exception&) {
    return "";  // the session answers with a Reject, or drops it as garbled
  }
  if (!fix::is_order_message(type)) return "";
  try {
    const fix::OrderMessage read = fix::read_order_message(message, "TRADER");
    ++reach.read;
    if (read.problem.empty()) ++reach.accepted;
    const std::string problem = broken_promise(read, message, type);
    if (!problem.empty()) return problem + " in " + raw;
    if (!same(read, fix::read_order_message(message, "TRADER")))
      return "a second read differs for " + raw;
  } catch (const FIX::FieldNotFound&) {
  } catch (const FIX::IncorrectTagValue&) {
  } catch (const std::exception& e) {
    return std::string("an exception the session does not answer: ") + e.what() + " in " + raw;
  }
  return "";
}

}  // namespace test
}  // namespace gpux

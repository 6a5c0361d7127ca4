// gpux trade: a FIX 4.4 initiator for people and scripts. Logs on, sends one
// request, prints the exchange's answers (readable, or one JSON object per
// line with --json), logs out. Exit status: 0 done, 1 rejected, 2 usage,
// 3 no connection, logon refused or session ended unanswered, 4 no answer in
// time. C++14: QuickFIX.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gpux/fix/decimal_text.h"
#include "gpux/fix/dictionary_path.h"
#include "order_entry.h"  // the block tags and their bounds
#include "support/json_text.h"

namespace fix = gpux::fix;

namespace {

const char* const kUsage =
    "usage: gpux trade [connection options] COMMAND ...\n"
    "\n"
    "Commands:\n"
    "  place buy|sell SYMBOL QUANTITY PRICE [--ioc|--fok|--post-only] [--id CLORDID]\n"
    "  place buy|sell SYMBOL QUANTITY market [--id CLORDID]\n"
    "  place buy|sell SYMBOL QUANTITY PRICE --hours K [--any-provider] [--rest]\n"
    "        [--id CLORDID]           a block: QUANTITY units in each of K consecutive\n"
    "                                 hours from SYMBOL's, all or none; PRICE per\n"
    "                                 unit-hour binds the total; one provider for\n"
    "                                 every hour unless --any-provider. At once or\n"
    "                                 refused; with --rest what cannot fill at once\n"
    "                                 works (cancel CLORDID) until it fills or the\n"
    "                                 gate closes on an hour of the span\n"
    "  cancel CLORDID [--id NEWID]    cancel a working order\n"
    "  replace CLORDID QUANTITY PRICE [--id NEWID]\n"
    "                                 new total quantity and price; the order is\n"
    "                                 NEWID from then on (default: a generated id,\n"
    "                                 printed)\n"
    "  status CLORDID                 the order's state now\n"
    "  buy|sell --class C --region R --from YYYY-MM-DDTHH --hours K --units N --limit PRICE\n"
    "         [--any-provider] [--rest] [--id ID]\n"
    "                                 N units in each of the K delivery hours from\n"
    "                                 --from (UTC) as one block: all hours or none,\n"
    "                                 PRICE per unit-hour binding the total (as\n"
    "                                 place --hours). Exit 1 if an hour is not\n"
    "                                 listed or the block was refused\n"
    "  buy|sell ... --hourly [--ioc] [--id PREFIX]\n"
    "                                 instead an hourly order of N units for each\n"
    "                                 hour, each at most (buy) or at least (sell)\n"
    "                                 PRICE; a line per hour (filled, resting, or\n"
    "                                 why not) and a total. With --ioc what does not\n"
    "                                 fill at once is cancelled. Exit 1 if an hour\n"
    "                                 is not listed or its order was refused\n"
    "  orders [SYMBOL]                this seat's open orders (in SYMBOL), one line each\n"
    "  fills [--day YYYY-MM-DD]       the participant's fills of a UTC day (default\n"
    "                                 today), oldest first\n"
    "  delivery-key list|add KEY|remove KEY\n"
    "                                 the participant's SSH public keys, which its\n"
    "                                 deliveries let in; KEY is a key line or a .pub\n"
    "                                 file. Prints the keys after the change\n"
    "  deliveries [--wait-open TRADE|any]\n"
    "                                 the participant's trades awaiting settlement\n"
    "                                 (bought, or to deliver), a line each: units and\n"
    "                                 the delivery's stage; once opened, the ssh\n"
    "                                 command and the host key to pin; if it failed,\n"
    "                                 why; once revoked, the processes ended. With\n"
    "                                 --wait-open: waits until TRADE's delivery (T17\n"
    "                                 or 17; any: any delivery) is open, prints it\n"
    "                                 and exits 0; exit 1 if it does not open within\n"
    "                                 --timeout (here 60 s unless given)\n"
    "  cash                           the participant's cash: available, reserved for\n"
    "                                 open buys, in escrow for bought hours; a\n"
    "                                 provider's collateral and receivable\n"
    "  cancel-all [SYMBOL]            cancel this seat's participant's open orders\n"
    "                                 (in SYMBOL); says how many\n"
    "  book SYMBOL [--depth N]        bids and offers (default: full book), then the\n"
    "                                 blocks resting from SYMBOL's hour and, per span,\n"
    "                                 what the hourly books would give for it (per\n"
    "                                 unit-hour; not tradable)\n"
    "  watch SYMBOL [--count N]       the book, then every change (Ctrl-C to stop)\n"
    "  instruments                    everything listed, with its terms and state\n"
    "\n"
    "Connection options (defaults in brackets; GPUX_FIX_* environment variables too):\n"
    "  --host HOST        [127.0.0.1]        GPUX_FIX_HOST\n"
    "  --port PORT        [9878]             GPUX_FIX_PORT\n"
    "  --sender COMPID    (required)         GPUX_FIX_SENDER\n"
    "  --target COMPID    [GPUX]             GPUX_FIX_TARGET\n"
    "  --password-env VAR the password is in environment variable VAR\n"
    "  --dictionary PATH  [{dictionary}]\n"
    "                     (installed: PREFIX/share/gpux)  GPUX_FIX_DICTIONARY\n"
    "  --timeout SECONDS  [10]               for the logon and each answer\n"
    "  --json             one JSON object per answer, for scripts\n"
    "  --state-dir DIR    [$XDG_STATE_HOME or ~/.local/state, then gpux/trade]\n"
    "                                        GPUX_TRADE_STATE_DIR\n"
    "  --reset            start the session over from sequence number 1\n"
    "\n"
    "Prices are USD with up to 6 decimals, quantities whole units. The session's\n"
    "sequence numbers are kept in the state directory between runs, so what the\n"
    "exchange sent while the CLI was not connected (fills of resting orders) is\n"
    "resent at the next logon and printed first, marked earlier=yes. The first\n"
    "run for a seat (or --reset) starts from 1 (ResetSeqNumFlag), and what the\n"
    "exchange kept from before is dropped. Give the CLI a SenderCompID of its own\n"
    "rather than one a trading system keeps open.\n"
    "Exit status: 0 done, 1 rejected, 2 usage, 3 connection or logon failed (or the\n"
    "session ended before the answer came), 4 no answer in time.\n";

// kUsage with the dictionary this run would use.
std::string usage() {
  std::string text = kUsage;
  const std::string placeholder = "{dictionary}";
  text.replace(text.find(placeholder), placeholder.size(), fix::fix_dictionary_path());
  return text;
}

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// Named fields of a message, in the order given, for both output forms.
using Fields = std::vector<std::pair<std::string, std::string>>;

class Printer {
 public:
  explicit Printer(bool json) : json_(json) {}
  void print(const std::string& what, const Fields& fields) const {
    if (json_) {
      std::printf("{\"type\":\"%s\"", gpux::json::escape(what).c_str());
      for (const auto& f : fields)
        std::printf(",\"%s\":\"%s\"", f.first.c_str(), gpux::json::escape(f.second).c_str());
      std::printf("}\n");
    } else {
      std::printf("%-14s", what.c_str());
      for (const auto& f : fields)
        if (!f.second.empty()) std::printf(" %s=%s", f.first.c_str(), f.second.c_str());
      std::printf("\n");
    }
    std::fflush(stdout);
  }
  // A line of its own under the last print(), for people only: what to type.
  void detail(const std::string& line) const {
    if (json_) return;
    std::printf("  %s\n", line.c_str());
    std::fflush(stdout);
  }
  bool json() const { return json_; }

 private:
  bool json_;
};

std::string get(const FIX::FieldMap& m, int tag) {
  return m.isSetField(tag) ? m.getField(tag) : std::string();
}

const char* ord_status_name(const std::string& s) {
  static const std::map<std::string, const char*> names = {
      {"0", "new"},      {"1", "partially-filled"}, {"2", "filled"}, {"4", "canceled"},
      {"5", "replaced"}, {"8", "rejected"},         {"C", "expired"}};
  const auto found = names.find(s);
  return found == names.end() ? "" : found->second;
}

const char* exec_type_name(const std::string& t) {
  static const std::map<std::string, const char*> names = {
      {"0", "new"},     {"4", "canceled"}, {"5", "replaced"}, {"8", "rejected"},
      {"C", "expired"}, {"D", "restated"}, {"F", "trade"},    {"I", "status"}};
  const auto found = names.find(t);
  return found == names.end() ? "report" : found->second;
}

// The session: collects application messages and logon outcome.
class Client : public FIX::Application {
 public:
  explicit Client(std::string password) : password_(std::move(password)) {}

  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID&) override { set_state(1); }
  void onLogout(const FIX::SessionID&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == 0) state_ = 2;
    logged_out_ = true;
    changed_.notify_all();
  }
  void toAdmin(FIX::Message& message, const FIX::SessionID&) override {
    if (get(message.getHeader(), FIX::FIELD::MsgType) != "A") return;
    first_of_run_ = std::atol(get(message.getHeader(), FIX::FIELD::MsgSeqNum).c_str());
    if (!password_.empty()) message.setField(FIX::FIELD::Password, password_);
    // A session with nothing stored starts over; one with a store carries
    // on, and the exchange resends what it sent meanwhile.
    if (get(message.getHeader(), FIX::FIELD::MsgSeqNum) == "1")
      message.setField(FIX::FIELD::ResetSeqNumFlag, "Y");
  }
  // A resend the exchange asks for repeats this run's request (it may have
  // crossed the exchange's ResendRequest), never an order of an earlier run:
  // QuickFIX sends a gap fill in its place.
  void toApp(FIX::Message& message, const FIX::SessionID&) throw(FIX::DoNotSend) override {
    if (get(message.getHeader(), FIX::FIELD::PossDupFlag) == "Y" &&
        std::atol(get(message.getHeader(), FIX::FIELD::MsgSeqNum).c_str()) < first_of_run_)
      throw FIX::DoNotSend();
  }
  void fromAdmin(const FIX::Message& message,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {
    const std::string type = get(message.getHeader(), FIX::FIELD::MsgType);
    std::lock_guard<std::mutex> lock(mutex_);
    if (type == "5") logout_text_ = get(message, FIX::FIELD::Text);
    if (type == "3") {
      received_.push_back(message);
      changed_.notify_all();
    }
  }
  void fromApp(const FIX::Message& message,
               const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                            FIX::IncorrectTagValue,
                                            FIX::UnsupportedMessageType) override {
    std::lock_guard<std::mutex> lock(mutex_);
    received_.push_back(message);
    changed_.notify_all();
  }

  // 1 logged on, 2 refused, 0 nothing within the timeout.
  int wait_logon(int seconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(seconds), [&] { return state_ != 0; });
    return state_;
  }
  // After our Logout: true once the exchange answered it.
  bool wait_logout(int milliseconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(milliseconds),
                             [&] { return logged_out_; });
  }
  std::string logout_text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return logout_text_;
  }
  // The session ended (the exchange logged out or the connection closed).
  bool disconnected() {
    std::lock_guard<std::mutex> lock(mutex_);
    return logged_out_;
  }
  // The next message, or false after `milliseconds` without one or once
  // the session has ended (see disconnected()).
  bool next(FIX::Message& out, int milliseconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!changed_.wait_for(lock, std::chrono::milliseconds(milliseconds),
                           [&] { return !received_.empty() || logged_out_; }) ||
        received_.empty())
      return false;
    out = received_.front();
    received_.pop_front();
    return true;
  }

 private:
  void set_state(int s) {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = s;
    changed_.notify_all();
  }
  std::string password_;
  // This run's Logon's MsgSeqNum: what comes before was sent by earlier runs.
  std::atomic<long> first_of_run_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  int state_ = 0;
  bool logged_out_ = false;
  std::string logout_text_;
  std::deque<FIX::Message> received_;
};

std::atomic<bool> interrupted(false);

struct Request {
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> flags;
};

std::string new_id(const char* prefix) {
  return std::string(prefix) + std::to_string(static_cast<long long>(
                                   std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count()));
}

// The answer to a status request about an order the exchange does not know.
bool unknown_order(const FIX::Message& m) {
  return get(m, FIX::FIELD::ExecType) == "I" && get(m, FIX::FIELD::OrdStatus) == "8";
}

// `earlier`: a message the exchange sent while the CLI was not connected,
// resent at this logon.
void print_report(const Printer& out, const FIX::Message& m, bool earlier = false) {
  const std::string type = get(m.getHeader(), FIX::FIELD::MsgType);
  if (type == "8" && unknown_order(m)) {
    out.print("unknown",
              {{"cl_ord_id", get(m, FIX::FIELD::ClOrdID)}, {"reason", get(m, FIX::FIELD::Text)}});
  } else if (type == "8") {
    out.print(exec_type_name(get(m, FIX::FIELD::ExecType)),
              {{"earlier", earlier ? "yes" : ""},
               {"symbol", get(m, FIX::FIELD::Symbol)},
               {"side", get(m, FIX::FIELD::Side) == "1" ? "buy" : "sell"},
               {"cl_ord_id", get(m, FIX::FIELD::ClOrdID)},
               {"order_id", get(m, FIX::FIELD::OrderID)},
               {"price", get(m, FIX::FIELD::Price)},
               {"quantity", get(m, FIX::FIELD::OrderQty)},
               {"last_qty", get(m, FIX::FIELD::LastQty)},
               {"last_px", get(m, FIX::FIELD::LastPx)},
               {"filled", get(m, FIX::FIELD::CumQty)},
               {"leaves", get(m, FIX::FIELD::LeavesQty)},
               {"avg_px", get(m, FIX::FIELD::AvgPx)},
               {"state", ord_status_name(get(m, FIX::FIELD::OrdStatus))},
               {"reason", get(m, FIX::FIELD::Text)}});
  } else if (type == "9") {
    out.print("cancel-reject", {{"cl_ord_id", get(m, FIX::FIELD::ClOrdID)},
                                {"orig_cl_ord_id", get(m, FIX::FIELD::OrigClOrdID)},
                                {"reason", get(m, FIX::FIELD::Text)}});
  } else if (type == "3" || type == "j" || type == "Y") {
    // A session-level reject names the field only by RefTagID(371).
    out.print("rejected", {{"reason", get(m, FIX::FIELD::Text)}, {"tag", get(m, 371)}});
  }
}

bool is_refusal(const FIX::Message& m) {
  const std::string type = get(m.getHeader(), FIX::FIELD::MsgType);
  return type == "3" || type == "j" || type == "Y" || type == "9" ||
         (type == "8" && (get(m, FIX::FIELD::ExecType) == "8" || unknown_order(m)));
}

void print_book(const Printer& out, const FIX::Message& m) {
  const bool incremental = get(m.getHeader(), FIX::FIELD::MsgType) == "X";
  const int n = m.groupCount(FIX::FIELD::NoMDEntries);
  if (n == 0 && !incremental)
    out.print("book", {{"symbol", get(m, FIX::FIELD::Symbol)}, {"state", "empty"}});
  for (int i = 1; i <= n; ++i) {
    FIX::Group g(FIX::FIELD::NoMDEntries,
                 incremental ? FIX::FIELD::MDUpdateAction : FIX::FIELD::MDEntryType);
    m.getGroup(i, g);
    const char type = get(g, FIX::FIELD::MDEntryType)[0];
    const std::string action = get(g, FIX::FIELD::MDUpdateAction);
    const std::string symbol =
        incremental ? get(g, FIX::FIELD::Symbol) : get(m, FIX::FIELD::Symbol);
    // Blocks: resting ones and what the hourly books would give for their
    // spans. Neither can be traded against an hourly order.
    const char* const block = type == fix::kMDEntryTypeBlockBid             ? "block-bid"
                              : type == fix::kMDEntryTypeBlockOffer         ? "block-offer"
                              : type == fix::kMDEntryTypeIndicativeBlockBuy ? "block-indicative-buy"
                              : type == fix::kMDEntryTypeIndicativeBlockSell
                                  ? "block-indicative-sell"
                                  : nullptr;
    if (block != nullptr) {
      out.print(block, {{"symbol", symbol},
                        {"hours", get(g, fix::kBlockHours)},
                        {"units", get(g, FIX::FIELD::MDEntrySize)},
                        {"price", get(g, FIX::FIELD::MDEntryPx)},
                        {"tradable", "no"}});
      continue;
    }
    out.print(type == FIX::MDEntryType_BID     ? "bid"
              : type == FIX::MDEntryType_OFFER ? "offer"
                                               : "trade",
              {{"symbol", symbol},
               {"price", get(g, FIX::FIELD::MDEntryPx)},
               {"quantity", get(g, FIX::FIELD::MDEntrySize)},
               {"update", !incremental    ? ""
                          : action == "0" ? "new"
                          : action == "1" ? "change"
                                          : "delete"}});
  }
}

bool whole_number(const std::string& s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Checked here with the exchange's own reading of decimals, so that a typo
// is named before any session starts (the exchange would refuse it too,
// with only a tag number).
// The delivery start `offset` hours after `from` (YYYY-MM-DDTHH, UTC) as
// SecurityList writes it (YYYYMMDD-HH:MM:SS); empty when `from` is not that.
std::string delivery_hour(const std::string& from, int offset) {
  std::tm t{};
  if (from.size() != 13 || from[4] != '-' || from[7] != '-' || from[10] != 'T') return {};
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12})
    if (from[i] < '0' || from[i] > '9') return {};
  t.tm_year = std::atoi(from.substr(0, 4).c_str()) - 1900;
  t.tm_mon = std::atoi(from.substr(5, 2).c_str()) - 1;
  t.tm_mday = std::atoi(from.substr(8, 2).c_str());
  t.tm_hour = std::atoi(from.substr(11, 2).c_str());
  if (t.tm_mon > 11 || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23) return {};
  const std::time_t start = ::timegm(&t) + offset * 3600;
  std::tm hour{};
  ::gmtime_r(&start, &hour);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H:%M:%S", &hour);
  return text;
}

void check_order_terms(const std::string& quantity, const std::string& price, bool market_allowed) {
  std::int64_t units = 0, micro = 0;
  if (!fix::parse_quantity(quantity, units) || units < 1)
    throw Usage("QUANTITY must be a whole number of units, at least 1, not '" + quantity + "'");
  if (!fix::parse_micro(price, micro) && !(market_allowed && price == "market"))
    throw Usage(std::string("PRICE must be USD with at most 6 decimals") +
                (market_allowed ? " or 'market'" : "") + ", not '" + price + "'");
}

// Each option applies to some commands only: one given elsewhere is a mistake.
void check_flags(const Request& r) {
  static const std::map<std::string, std::set<std::string>> applies = {
      {"id", {"place", "cancel", "replace", "buy", "sell"}},
      {"depth", {"book"}},
      {"count", {"watch"}},
      {"ioc", {"place", "buy", "sell"}},
      {"fok", {"place"}},
      {"post-only", {"place"}},
      {"hours", {"place", "buy", "sell"}},
      {"any-provider", {"place", "buy", "sell"}},
      {"rest", {"place", "buy", "sell"}},
      {"hourly", {"buy", "sell"}},
      {"class", {"buy", "sell"}},
      {"region", {"buy", "sell"}},
      {"from", {"buy", "sell"}},
      {"units", {"buy", "sell"}},
      {"limit", {"buy", "sell"}},
      {"day", {"fills"}},
      {"wait-open", {"deliveries"}}};
  for (const auto& flag : r.flags) {
    const auto& commands = applies.at(flag.first);
    if (!commands.count(r.command))
      throw Usage("--" + flag.first + " does not apply to " + r.command);
  }
  if (r.flags.count("ioc") + r.flags.count("fok") + r.flags.count("post-only") > 1)
    throw Usage("give at most one of --ioc, --fok and --post-only");
  if (r.command == "buy" || r.command == "sell") {
    if (r.flags.count("hourly") && (r.flags.count("rest") || r.flags.count("any-provider")))
      throw Usage("--rest and --any-provider are a block's: not with --hourly");
    if (!r.flags.count("hourly") && r.flags.count("ioc"))
      throw Usage("--ioc goes with --hourly: a block is immediate-or-cancel unless --rest");
  }
  if (r.flags.count("hours")) {
    const std::string& hours = r.flags.at("hours");
    if (!whole_number(hours) || std::atoll(hours.c_str()) < 1 ||
        std::atoll(hours.c_str()) > fix::kMaxBlockHours)
      throw Usage("--hours must be a whole number of hours from 1 to " +
                  std::to_string(fix::kMaxBlockHours) + ", not '" + hours + "'");
    if (r.command == "place" &&
        r.flags.count("ioc") + r.flags.count("fok") + r.flags.count("post-only"))
      throw Usage(
          "a block (--hours) is all or none, at once or (--rest) later: no --ioc, --fok or "
          "--post-only");
  } else if (r.flags.count("any-provider") || r.flags.count("rest")) {
    throw Usage(std::string(r.flags.count("rest") ? "--rest" : "--any-provider") +
                " goes with --hours");
  }
  if (r.flags.count("depth") && !whole_number(r.flags.at("depth")))
    throw Usage("--depth must be a whole number of levels (0: all), not '" + r.flags.at("depth") +
                "'");
  if (r.flags.count("count") &&
      (!whole_number(r.flags.at("count")) || std::atoll(r.flags.at("count").c_str()) < 1))
    throw Usage("--count must be a whole number of updates, at least 1, not '" +
                r.flags.at("count") + "'");
}

// KEY as given: an OpenSSH public key line, or the path of a file whose
// first line is one (~/.ssh/id_ed25519.pub).
std::string key_line(const std::string& key) {
  if (key.rfind("ssh-", 0) == 0 || key.rfind("ecdsa-", 0) == 0 || key.rfind("sk-", 0) == 0)
    return key;
  std::ifstream file(key);
  std::string line;
  if (!file || !std::getline(file, line))
    throw Usage("KEY must be an OpenSSH public key line or a readable file with one, not '" + key +
                "'");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The trade id `text` names (17 or T17, as fills show it: TradeReportID
// T17, ExecID T17-m), as DeliveryTradeID(20037) carries it; empty if none.
std::string wanted_trade(const std::string& text) {
  const std::string digits = !text.empty() && text[0] == 'T' ? text.substr(1) : text;
  return whole_number(digits) ? digits : std::string();
}

FIX::Message build(const Request& r, std::string& id) {
  FIX::Message m;
  const auto need = [&](std::size_t n) {
    if (r.args.size() != n)
      throw Usage(r.command + " takes " + std::to_string(n) +
                  (n == 1 ? " argument" : " arguments") + " (see gpux trade --help)");
  };
  check_flags(r);
  id = r.flags.count("id") ? r.flags.at("id") : new_id("cli-");
  if (r.command == "place") {
    need(4);
    if (r.args[0] != "buy" && r.args[0] != "sell") throw Usage("side must be buy or sell");
    const bool block = r.flags.count("hours") != 0;
    check_order_terms(r.args[2], r.args[3], !block);
    m.getHeader().setField(FIX::FIELD::MsgType, block ? "AB" : "D");
    if (block) {
      m.setField(fix::kBlockHours, r.flags.at("hours"));
      if (r.flags.count("any-provider")) m.setField(fix::kSingleProvider, "N");
      // Good till cancel: it rests until the gate closes on an hour of its span.
      if (r.flags.count("rest")) m.setField(FIX::FIELD::TimeInForce, "1");
    }
    m.setField(FIX::FIELD::ClOrdID, id);
    m.setField(FIX::FIELD::Symbol, r.args[1]);
    m.setField(FIX::FIELD::Side, r.args[0] == "buy" ? "1" : "2");
    m.setField(FIX::TransactTime());
    m.setField(FIX::FIELD::OrderQty, r.args[2]);
    if (r.args[3] == "market") {
      m.setField(FIX::FIELD::OrdType, "1");
    } else {
      m.setField(FIX::FIELD::OrdType, "2");
      m.setField(FIX::FIELD::Price, r.args[3]);
    }
    if (r.flags.count("ioc")) m.setField(FIX::FIELD::TimeInForce, "3");
    if (r.flags.count("fok")) m.setField(FIX::FIELD::TimeInForce, "4");
    if (r.flags.count("post-only")) m.setField(FIX::FIELD::ExecInst, "6");
  } else if (r.command == "cancel" || r.command == "replace") {
    need(r.command == "cancel" ? 1 : 3);
    m.getHeader().setField(FIX::FIELD::MsgType, r.command == "cancel" ? "F" : "G");
    m.setField(FIX::FIELD::OrigClOrdID, r.args[0]);
    m.setField(FIX::FIELD::ClOrdID, id);
    m.setField(FIX::TransactTime());
    if (r.command == "replace") {
      check_order_terms(r.args[1], r.args[2], false);
      m.setField(FIX::FIELD::OrderQty, r.args[1]);
      m.setField(FIX::FIELD::OrdType, "2");
      m.setField(FIX::FIELD::Price, r.args[2]);
    }
  } else if (r.command == "status") {
    need(1);
    id = r.args[0];
    m.getHeader().setField(FIX::FIELD::MsgType, "H");
    m.setField(FIX::FIELD::ClOrdID, id);
  } else if (r.command == "buy" || r.command == "sell") {
    if (!r.args.empty()) throw Usage(r.command + " takes options only (see gpux trade --help)");
    for (const char* option : {"class", "region", "from", "hours", "units", "limit"})
      if (!r.flags.count(option)) throw Usage(r.command + " needs --" + option);
    check_order_terms(r.flags.at("units"), r.flags.at("limit"), false);
    if (delivery_hour(r.flags.at("from"), 0).empty())
      throw Usage("--from must be a UTC hour as YYYY-MM-DDTHH, not '" + r.flags.at("from") + "'");
    // First the instruments, to find each hour's symbol.
    m.getHeader().setField(FIX::FIELD::MsgType, "x");
    m.setField(FIX::FIELD::SecurityReqID, id);
    m.setField(FIX::FIELD::SecurityListRequestType, "4");
  } else if (r.command == "orders" || r.command == "cancel-all") {
    if (r.args.size() > 1)
      throw Usage(r.command + " takes at most one SYMBOL (see gpux trade --help)");
    const bool all = r.args.empty();
    if (r.command == "orders") {
      m.getHeader().setField(FIX::FIELD::MsgType, FIX::MsgType_OrderMassStatusRequest);
      m.setField(FIX::FIELD::MassStatusReqID, id);
      m.setField(FIX::FIELD::MassStatusReqType,
                 std::to_string(all ? FIX::MassStatusReqType_STATUS_FOR_ALL_ORDERS
                                    : FIX::MassStatusReqType_STATUS_FOR_ORDERS_FOR_A_SECURITY));
    } else {
      m.getHeader().setField(FIX::FIELD::MsgType, FIX::MsgType_OrderMassCancelRequest);
      m.setField(FIX::FIELD::ClOrdID, id);
      m.setField(FIX::FIELD::MassCancelRequestType,
                 std::string(1, all ? FIX::MassCancelRequestType_CANCEL_ALL_ORDERS
                                    : FIX::MassCancelRequestType_CANCEL_ORDERS_FOR_A_SECURITY));
      m.setField(FIX::TransactTime());
    }
    if (!all) m.setField(FIX::FIELD::Symbol, r.args[0]);
  } else if (r.command == "book" || r.command == "watch") {
    need(1);
    m.getHeader().setField(FIX::FIELD::MsgType, "V");
    m.setField(FIX::FIELD::MDReqID, id);
    m.setField(FIX::FIELD::SubscriptionRequestType, r.command == "book" ? "0" : "1");
    m.setField(FIX::FIELD::MarketDepth,
               r.command == "book" && r.flags.count("depth") ? r.flags.at("depth") : "0");
    FIX::Group instrument(FIX::FIELD::NoRelatedSym, FIX::FIELD::Symbol);
    instrument.setField(FIX::FIELD::Symbol, r.args[0]);
    m.addGroup(instrument);
  } else if (r.command == "fills") {
    need(0);
    m.getHeader().setField(FIX::FIELD::MsgType, FIX::MsgType_TradeCaptureReportRequest);
    m.setField(FIX::FIELD::TradeRequestID, id);
    m.setField(FIX::FIELD::TradeRequestType, std::to_string(FIX::TradeRequestType_ALL_TRADES));
    if (r.flags.count("day")) {
      const std::string hour = delivery_hour(r.flags.at("day") + "T00", 0);
      if (hour.empty())
        throw Usage("--day must be a UTC date as YYYY-MM-DD, not '" + r.flags.at("day") + "'");
      m.setField(FIX::FIELD::TradeDate, hour.substr(0, 8));
    }
  } else if (r.command == "delivery-key") {
    if (r.args.empty() || (r.args[0] != "list" && r.args[0] != "add" && r.args[0] != "remove"))
      throw Usage("delivery-key takes list, add KEY or remove KEY");
    need(r.args[0] == "list" ? 1 : 2);
    m.getHeader().setField(FIX::FIELD::MsgType, fix::kMsgTypeDeliveryKeyRequest);
    m.setField(fix::kDeliveryKeyReqID, id);
    m.setField(fix::kDeliveryKeyAction,
               std::string(1, r.args[0] == "list"  ? fix::kDeliveryKeyList
                              : r.args[0] == "add" ? fix::kDeliveryKeyAdd
                                                   : fix::kDeliveryKeyRemove));
    if (r.args.size() == 2) m.setField(fix::kSshPublicKey, key_line(r.args[1]));
  } else if (r.command == "deliveries") {
    need(0);
    if (r.flags.count("wait-open") && r.flags.at("wait-open") != "any" &&
        wanted_trade(r.flags.at("wait-open")).empty())
      throw Usage("--wait-open takes a trade id (17 or T17) or any, not '" +
                  r.flags.at("wait-open") + "'");
    m.getHeader().setField(FIX::FIELD::MsgType, fix::kMsgTypeDeliveryRequest);
    m.setField(fix::kDeliveryReqID, id);
  } else if (r.command == "cash") {
    need(0);
    m.getHeader().setField(FIX::FIELD::MsgType, fix::kMsgTypeAccountBalanceRequest);
    m.setField(fix::kBalanceReqID, id);
  } else if (r.command == "instruments") {
    need(0);
    m.getHeader().setField(FIX::FIELD::MsgType, "x");
    m.setField(FIX::FIELD::SecurityReqID, id);
    m.setField(FIX::FIELD::SecurityListRequestType, "4");
  } else {
    throw Usage("unknown command '" + r.command + "' (see gpux trade --help)");
  }
  return m;
}

// No answer came: the session ended (3, said with the exchange's reason)
// or the timeout passed (4).
int unanswered(Client& client, int timeout) {
  if (client.disconnected()) {
    // An answer will not come on this session: say so now, not after the timeout.
    const std::string text = client.logout_text();
    std::fprintf(stderr, "gpux trade: the exchange ended the session before answering%s%s\n",
                 text.empty() ? "" : ": ", text.c_str());
    return 3;
  }
  std::fprintf(stderr, "gpux trade: no answer within %d s\n", timeout);
  return 4;
}

// Prints answers until the request is settled; the exit status.
int converse(const Request& r, Client& client, const Printer& out, int timeout) {
  FIX::Message m;
  int updates = 0;
  bool placed = false;  // a placed order is acknowledged: print what follows at once, then stop
  const int count = r.flags.count("count") ? std::atoi(r.flags.at("count").c_str()) : -1;
  for (;;) {
    if (interrupted) return 0;
    if (!client.next(m, placed ? 200 : r.command == "watch" ? 1000 : timeout * 1000)) {
      if (placed) return 0;  // its immediate fills, if any, came with the acknowledgement
      if (r.command == "watch" && !client.disconnected()) continue;
      return unanswered(client, timeout);
    }
    const std::string type = get(m.getHeader(), FIX::FIELD::MsgType);
    if (get(m.getHeader(), FIX::FIELD::PossDupFlag) == "Y") {
      // Sent while the CLI was away: reported, and not the answer awaited.
      if (type == "8") print_report(out, m, true);
      continue;
    }
    if (r.command == "orders" && type == "8" && unknown_order(m) &&
        get(m, FIX::FIELD::OrdRejReason) == std::to_string(FIX::OrdRejReason_UNKNOWN_ORDER)) {
      out.print("orders", {{"state", "none open"}, {"reason", get(m, FIX::FIELD::Text)}});
      return 0;  // an answer, not a refusal
    }
    if (type == FIX::MsgType_OrderMassCancelReport) {
      const bool refused = get(m, FIX::FIELD::MassCancelResponse) ==
                           std::string(1, FIX::MassCancelResponse_CANCEL_REQUEST_REJECTED);
      out.print(refused ? "rejected" : "cancel-all",
                {{"cancelled", get(m, FIX::FIELD::TotalAffectedOrders)},
                 {"reason", get(m, FIX::FIELD::Text)}});
      return refused ? 1 : 0;
    }
    if (is_refusal(m)) {
      print_report(out, m);
      return 1;
    }
    if (type == "y") {
      const int n = m.groupCount(FIX::FIELD::NoRelatedSym);
      for (int i = 1; i <= n; ++i) {
        FIX::Group g(FIX::FIELD::NoRelatedSym, FIX::FIELD::Symbol);
        m.getGroup(i, g);
        out.print("instrument", {{"symbol", get(g, FIX::FIELD::Symbol)},
                                 {"class", get(g, 20001)},
                                 {"region", get(g, 20002)},
                                 {"delivery", get(g, 20003) + ".." + get(g, 20004)},
                                 {"gate_closure", get(g, 20005)},
                                 {"state", get(g, 20006)},
                                 {"tick", get(g, FIX::FIELD::MinPriceIncrement)},
                                 {"lot", get(g, FIX::FIELD::RoundLot)},
                                 {"max_qty", get(g, 20007)}});
      }
      if (n == 0) out.print("instrument", {{"state", "none listed"}});
      return 0;
    }
    if (type == FIX::MsgType_TradeCaptureReportRequestAck) {
      out.print("fills", {{"state", "none"}, {"reason", get(m, FIX::FIELD::Text)}});
      return 0;
    }
    if (type == FIX::MsgType_TradeCaptureReport) {
      FIX::Group side(FIX::FIELD::NoSides, FIX::FIELD::Side);
      if (m.groupCount(FIX::FIELD::NoSides) > 0) m.getGroup(1, side);
      out.print("fill", {{"symbol", get(m, FIX::FIELD::Symbol)},
                         {"side", get(side, FIX::FIELD::Side) == "1" ? "buy" : "sell"},
                         {"order_id", get(side, FIX::FIELD::OrderID)},
                         {"quantity", get(m, FIX::FIELD::LastQty)},
                         {"price", get(m, FIX::FIELD::LastPx)},
                         {"time", get(m, FIX::FIELD::TransactTime)},
                         {"exec_id", get(m, FIX::FIELD::ExecID)}});
      if (get(m, FIX::FIELD::LastRptRequested) == "Y") return 0;
      continue;
    }
    if (type == fix::kMsgTypeDeliveryKeyReport) {
      const bool rejected = get(m, fix::kDeliveryKeyStatus) == "1";
      if (rejected) out.print("rejected", {{"reason", get(m, FIX::FIELD::Text)}});
      const int keys = m.groupCount(fix::kNoDeliveryKeys);
      for (int i = 1; i <= keys; ++i) {
        FIX::Group g(fix::kNoDeliveryKeys, fix::kSshPublicKey);
        m.getGroup(static_cast<unsigned>(i), g);
        out.print("delivery-key", {{"key", get(g, fix::kSshPublicKey)}});
      }
      if (keys == 0) out.print("delivery-key", {{"state", "none"}});
      return rejected ? 1 : 0;
    }
    if (type == fix::kMsgTypeAccountBalance) {
      out.print("cash", {{"available", get(m, fix::kCashAvailable)},
                         {"reserved", get(m, fix::kCashReserved)},
                         {"in_escrow", get(m, fix::kCashInEscrow)},
                         {"collateral", get(m, fix::kCollateral)},
                         {"receivable", get(m, fix::kReceivable)},
                         {"currency", get(m, FIX::FIELD::Currency)}});
      return 0;
    }
    if (type == "W" || type == "X") {
      print_book(out, m);
      if (r.command == "book") return 0;
      if (type == "X" && count > 0 && ++updates >= count) return 0;
      continue;
    }
    if (type != "8") continue;
    print_report(out, m);
    // A report about some order, live, while waiting for something else.
    if (r.command == "cash" || r.command == "fills" || r.command == "book" ||
        r.command == "watch" || r.command == "instruments")
      continue;
    if (r.command == "orders") {
      if (get(m, FIX::FIELD::LastRptRequested) == "Y") return 0;
      continue;
    }
    if (r.command == "cancel-all") continue;  // its orders' reports, then the mass report
    const std::string status = get(m, FIX::FIELD::OrdStatus);
    if (r.command != "place" || status == "2" || status == "4" || status == "C") return 0;
    placed = true;
  }
}

const char* delivery_stage_name(const std::string& stage) {
  static const std::map<std::string, const char*> names = {
      {std::string(1, fix::kDeliveryStagePending), "pending"},
      {std::string(1, fix::kDeliveryStageOpened), "opened"},
      {std::string(1, fix::kDeliveryStageFailed), "failed"},
      {std::string(1, fix::kDeliveryStageRevoked), "revoked"}};
  const auto found = names.find(stage);
  return found == names.end() ? "unknown" : found->second;
}

// One entry of a DeliveryReport: a line, and for an opened delivery what
// to type to reach it and the host key to expect (--json: all as fields).
void print_delivery(const Printer& out, const FIX::Group& g) {
  const std::string stage = get(g, fix::kDeliveryStage);
  const bool opened = stage == std::string(1, fix::kDeliveryStageOpened);
  const std::string host = get(g, fix::kDeliveryHost);
  const std::string port = get(g, fix::kDeliveryPort);
  const std::string ssh =
      opened ? "ssh -p " + port + " " + get(g, fix::kDeliveryUser) + "@" + host : std::string();
  const std::string key = get(g, fix::kHostKeyFingerprint);
  const bool json = out.json();
  out.print(
      "delivery",
      {{"trade", get(g, fix::kDeliveryTradeID)},
       {"symbol", get(g, FIX::FIELD::Symbol)},
       {"role", get(g, FIX::FIELD::Side) == std::string(1, FIX::Side_BUY) ? "buyer" : "provider"},
       {"units", get(g, FIX::FIELD::LastQty)},
       {"stage", delivery_stage_name(stage)},
       {"host", json ? host : ""},
       {"port", json ? port : ""},
       {"user", json ? get(g, fix::kDeliveryUser) : ""},
       {"ssh", json ? ssh : ""},
       {"host_key", json ? key : ""},
       {"processes_ended", get(g, fix::kProcessesEnded)},
       {"reason", get(g, fix::kDeliveryDetail)}});
  if (!opened) return;
  out.detail(ssh);
  out.detail("host key " + key + "  (pin it: ssh-keyscan -p " + port + " " + host +
             " | ssh-keygen -lf - must show it; then add that ssh-keyscan line to known_hosts)");
}

// deliveries: the DeliveryReports answering the request `id` (one or more),
// printed; or with --wait-open, the first opened delivery of the trade it
// names (or any), from the answer or from the notices that follow it,
// within `wait` seconds. The exit status.
int deliveries(const Request& r, const std::string& id, Client& client, const Printer& out,
               int timeout, int wait) {
  const bool waiting = r.flags.count("wait-open") != 0;
  const std::string trade = waiting ? wanted_trade(r.flags.at("wait-open")) : std::string();
  const std::string what = trade.empty() ? "any delivery" : "the delivery of trade " + trade;
  const std::string opened(1, fix::kDeliveryStageOpened);
  // The opened entry waited for in `m`, if it has one.
  const auto open_entry = [&](const FIX::Message& m, FIX::Group& g) {
    const int n = m.groupCount(fix::kNoDeliveries);
    for (int i = 1; i <= n; ++i) {
      m.getGroup(static_cast<unsigned>(i), g);
      if ((trade.empty() || get(g, fix::kDeliveryTradeID) == trade) &&
          get(g, fix::kDeliveryStage) == opened)
        return true;
    }
    return false;
  };
  FIX::Message m;
  FIX::Group g(fix::kNoDeliveries, fix::kDeliveryTradeID);
  // The answer first. Notices before it are in it already: it was made after them.
  for (;;) {
    if (!client.next(m, timeout * 1000)) return unanswered(client, timeout);
    const std::string type = get(m.getHeader(), FIX::FIELD::MsgType);
    if (get(m.getHeader(), FIX::FIELD::PossDupFlag) == "Y") {
      if (type == "8") print_report(out, m, true);  // sent while the CLI was away
      continue;
    }
    if (is_refusal(m)) {
      print_report(out, m);
      return 1;
    }
    if (type != fix::kMsgTypeDeliveryReport || get(m, fix::kDeliveryReqID) != id) continue;
    if (waiting && open_entry(m, g)) {
      print_delivery(out, g);
      return 0;
    }
    const int n = m.groupCount(fix::kNoDeliveries);
    for (int i = 1; i <= n && !waiting; ++i) {
      m.getGroup(static_cast<unsigned>(i), g);
      print_delivery(out, g);
    }
    const std::string text = get(m, FIX::FIELD::Text);  // none, or which part of how many
    if (n == 0 && !waiting) {
      out.print("delivery", {{"state", "none"}, {"reason", text}});
    } else if (!waiting && !text.empty()) {
      std::fprintf(stderr, "gpux trade: %s\n", text.c_str());
    }
    if (get(m, FIX::FIELD::LastRptRequested) == "Y") break;
  }
  if (!waiting) return 0;
  // Then the notices, as the provider's agent reports.
  std::fprintf(stderr, "gpux trade: waiting up to %d s for %s to open\n", wait, what.c_str());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait);
  for (;;) {
    const long left = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            deadline - std::chrono::steady_clock::now())
                                            .count());
    if (left <= 0 || interrupted) {
      std::fprintf(stderr, "gpux trade: %s did not open within %d s\n", what.c_str(), wait);
      return 1;
    }
    if (!client.next(m, static_cast<int>(left))) {
      if (!client.disconnected()) continue;  // the deadline, checked above
      return unanswered(client, wait);
    }
    // Notices only, live: one resent from before this run may be stale.
    if (get(m.getHeader(), FIX::FIELD::MsgType) != fix::kMsgTypeDeliveryReport ||
        get(m, FIX::FIELD::UnsolicitedIndicator) != "Y" ||
        get(m.getHeader(), FIX::FIELD::PossDupFlag) == "Y" || m.groupCount(fix::kNoDeliveries) == 0)
      continue;
    if (open_entry(m, g)) {
      print_delivery(out, g);
      return 0;
    }
    // Not open: said, and the wait goes on unless it never can now.
    std::fprintf(stderr, "gpux trade: %s\n", get(m, FIX::FIELD::Text).c_str());
    m.getGroup(1, g);
    if (!trade.empty() && get(g, fix::kDeliveryTradeID) == trade &&
        get(g, fix::kDeliveryStage) == std::string(1, fix::kDeliveryStageRevoked)) {
      std::fprintf(stderr, "gpux trade: %s was revoked: it will not open\n", what.c_str());
      return 1;
    }
  }
}

// buy/sell by need as one block (the default): every hour of the window
// listed, one NewOrderMultileg from the first, all or none; its answers
// as `place` prints them. Else a line per missing hour, and exit 1.
int trade_block(const Request& r, const std::string& id,
                const std::map<std::string, std::string>& by_start, Client& client,
                const FIX::SessionID& session, const Printer& out, int timeout) {
  const int hours = std::atoi(r.flags.at("hours").c_str());
  bool listed = true;
  for (int h = 0; h < hours; ++h) {
    const std::string start = delivery_hour(r.flags.at("from"), h);
    if (by_start.count(start)) continue;
    out.print("hour", {{"start", start}, {"state", "not listed"}});
    listed = false;
  }
  if (!listed) {
    out.print("block", {{"state", "not sent"}, {"reason", "an hour of the window is not listed"}});
    return 1;
  }
  Request place = r;
  place.command = "place";
  place.args = {r.command, by_start.at(delivery_hour(r.flags.at("from"), 0)), r.flags.at("units"),
                r.flags.at("limit")};
  for (const char* option : {"class", "region", "from", "units", "limit"})
    place.flags.erase(option);
  place.flags["id"] = id;
  std::string placed_id;
  FIX::Message block = build(place, placed_id);
  FIX::Session::sendToTarget(block, session);
  return converse(place, client, out, timeout);
}

// buy/sell by need, --hourly: from the SecurityList (the answer to the
// request already sent), an order per delivery hour of the window; then a
// line per hour and a total. The exit status.
int trade_window(const Request& r, const std::string& id, Client& client,
                 const FIX::SessionID& session, const Printer& out, int timeout) {
  FIX::Message m;
  for (;;) {
    if (!client.next(m, timeout * 1000)) {
      std::fprintf(stderr, "gpux trade: no instrument list within %d s\n", timeout);
      return client.disconnected() ? 3 : 4;
    }
    const std::string type = get(m.getHeader(), FIX::FIELD::MsgType);
    const bool earlier = get(m.getHeader(), FIX::FIELD::PossDupFlag) == "Y";
    if (type == "8") print_report(out, m, earlier);  // resent from while away, or live
    if (type == "y" && !earlier) break;
  }
  std::map<std::string, std::string> by_start;  // the class and region's symbols by hour
  for (std::size_t i = 1; i <= m.groupCount(FIX::FIELD::NoRelatedSym); ++i) {
    FIX::Group g(FIX::FIELD::NoRelatedSym, FIX::FIELD::Symbol);
    m.getGroup(static_cast<unsigned>(i), g);
    if (get(g, 20001) == r.flags.at("class") && get(g, 20002) == r.flags.at("region"))
      by_start[get(g, 20003)] = get(g, FIX::FIELD::Symbol);
  }
  struct Hour {
    std::string start, symbol, cl_ord_id, state = "not listed", reason;
    std::int64_t filled = 0, notional = 0, leaves = 0;
    bool answered = false;
  };
  const int hours = std::atoi(r.flags.at("hours").c_str());
  if (!r.flags.count("hourly")) return trade_block(r, id, by_start, client, session, out, timeout);
  std::vector<Hour> window(static_cast<std::size_t>(hours));
  std::map<std::string, Hour*> by_id;
  for (int h = 0; h < hours; ++h) {
    Hour& hour = window[static_cast<std::size_t>(h)];
    hour.start = delivery_hour(r.flags.at("from"), h);
    const auto found = by_start.find(hour.start);
    if (found == by_start.end()) continue;
    hour.symbol = found->second;
    hour.state = "no answer";
    hour.cl_ord_id = id + "-" + std::to_string(h + 1);
    by_id[hour.cl_ord_id] = &hour;
    FIX::Message order;
    order.getHeader().setField(FIX::FIELD::MsgType, "D");
    order.setField(FIX::FIELD::ClOrdID, hour.cl_ord_id);
    order.setField(FIX::FIELD::Symbol, hour.symbol);
    order.setField(FIX::FIELD::Side, r.command == "buy" ? "1" : "2");
    order.setField(FIX::TransactTime());
    order.setField(FIX::FIELD::OrderQty, r.flags.at("units"));
    order.setField(FIX::FIELD::OrdType, "2");
    order.setField(FIX::FIELD::Price, r.flags.at("limit"));
    if (r.flags.count("ioc")) order.setField(FIX::FIELD::TimeInForce, "3");
    FIX::Session::sendToTarget(order, session);
  }
  // Answers until every order is settled (acknowledged, with the fills that
  // came with it), or the timeout.
  std::size_t waiting = by_id.size();
  int unanswered = 0;  // the exit status when some order got no answer
  for (;;) {
    if (!client.next(m, waiting == 0 ? 200 : timeout * 1000)) {
      if (waiting == 0) break;  // immediate fills came with the acknowledgements
      // Still, what did trade is shown.
      std::fprintf(stderr, "gpux trade: %zu orders unanswered within %d s\n", waiting, timeout);
      unanswered = client.disconnected() ? 3 : 4;
      break;
    }
    if (get(m.getHeader(), FIX::FIELD::MsgType) != "8") continue;
    if (get(m.getHeader(), FIX::FIELD::PossDupFlag) == "Y") {
      print_report(out, m, true);
      continue;
    }
    const auto found = by_id.find(get(m, FIX::FIELD::ClOrdID));
    if (found == by_id.end()) continue;
    Hour& hour = *found->second;
    const std::string exec_type = get(m, FIX::FIELD::ExecType);
    std::int64_t qty = 0, px = 0;
    if (exec_type == "F" && fix::parse_quantity(get(m, FIX::FIELD::LastQty), qty) &&
        fix::parse_micro(get(m, FIX::FIELD::LastPx), px)) {
      hour.filled += qty;
      hour.notional += qty * px;
    }
    fix::parse_quantity(get(m, FIX::FIELD::LeavesQty), hour.leaves);
    hour.state = ord_status_name(get(m, FIX::FIELD::OrdStatus));
    if (exec_type == "8") hour.reason = get(m, FIX::FIELD::Text);
    if (!hour.answered) {
      hour.answered = true;
      --waiting;
    }
  }
  std::int64_t units = 0;
  fix::parse_quantity(r.flags.at("units"), units);
  std::int64_t filled = 0, notional = 0, resting = 0;
  bool complete = true;
  for (const Hour& hour : window) {
    filled += hour.filled;
    notional += hour.notional;
    resting += hour.leaves;
    if (hour.symbol.empty() || hour.state == "rejected" || !hour.answered) complete = false;
    out.print("hour",
              {{"delivery", hour.start},
               {"symbol", hour.symbol},
               {"filled", std::to_string(hour.filled) + "/" + std::to_string(units)},
               {"avg_px", hour.filled == 0 ? "" : fix::decimal(hour.notional / hour.filled)},
               {"resting", hour.leaves == 0 ? "" : std::to_string(hour.leaves)},
               {"state", hour.state},
               {"reason", hour.reason}});
  }
  out.print("total", {{"filled", std::to_string(filled) + "/" + std::to_string(units * hours)},
                      {"avg_px", filled == 0 ? "" : fix::decimal(notional / filled)},
                      {"resting", std::to_string(resting)},
                      {"hours", std::to_string(hours)}});
  if (unanswered != 0) return unanswered;
  return complete ? 0 : 1;
}

// Whether anything accepts a TCP connection on host:port within `seconds`:
// empty if so, else why not, naming the host and port. Asked before QuickFIX,
// which would only retry quietly until the timeout.
std::string unreachable(const std::string& host, const std::string& port, int seconds) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int error = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found))
    return "cannot resolve host '" + host + "': " + ::gai_strerror(error);
  std::string why = "nothing listens on " + host + ":" + port +
                    " (is gpuxd running with fix_port = " + port + "?)";
  bool reached = false;
  for (const addrinfo* a = found; a != nullptr && !reached; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      reached = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int error = 0;
      socklen_t length = sizeof error;
      if (::poll(&p, 1, seconds * 1000) != 1) {
        why = "no connection to " + host + ":" + port + " within " + std::to_string(seconds) + " s";
      } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0) {
        reached = true;
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return reached ? std::string() : why;
}

// $XDG_STATE_HOME/gpux/trade, else ~/.local/state/gpux/trade, else ./.gpux-trade.
std::string default_state_dir() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"))
    if (*xdg != '\0') return std::string(xdg) + "/gpux/trade";
  if (const char* home = std::getenv("HOME"))
    if (*home != '\0') return std::string(home) + "/.local/state/gpux/trade";
  return ".gpux-trade";
}

// mkdir -p, owner-only (the store holds the session's messages); empty, or why not.
std::string make_directories(const std::string& path) {
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string part = path.substr(0, slash);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return std::strerror(errno);
    if (slash == std::string::npos) return {};
  }
}

}  // namespace

int gpux_trade(int argc, char** argv) {
  std::string host = env_or("GPUX_FIX_HOST", "127.0.0.1");
  std::string port = env_or("GPUX_FIX_PORT", "9878");
  std::string sender = env_or("GPUX_FIX_SENDER", "");
  std::string target = env_or("GPUX_FIX_TARGET", "GPUX");
  std::string dictionary = fix::fix_dictionary_path();
  std::string password;
  std::string state_dir = env_or("GPUX_TRADE_STATE_DIR", default_state_dir());
  bool reset = false;
  int timeout = 10;
  bool timeout_given = false;  // deliveries --wait-open waits 60 s unless given
  bool json = false;
  Request request;
  try {
    for (int i = 0; i < argc; ++i) {
      const std::string arg = argv[i];
      const auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw Usage(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--help" || arg == "-h") {
        std::printf("%s", usage().c_str());
        return 0;
      } else if (arg == "--host") {
        host = value();
      } else if (arg == "--port") {
        port = value();
      } else if (arg == "--sender") {
        sender = value();
      } else if (arg == "--target") {
        target = value();
      } else if (arg == "--dictionary") {
        dictionary = value();
      } else if (arg == "--password-env") {
        const std::string variable = value();
        // Unset is a mistake; set but empty logs on without a password.
        const char* secret = std::getenv(variable.c_str());
        if (secret == nullptr)
          throw Usage("--password-env: environment variable " + variable + " is not set");
        password = secret;
      } else if (arg == "--timeout") {
        timeout = std::atoi(value().c_str());
        timeout_given = true;
      } else if (arg == "--json") {
        json = true;
      } else if (arg == "--state-dir") {
        state_dir = value();
      } else if (arg == "--reset") {
        reset = true;
      } else if (arg == "--id" || arg == "--depth" || arg == "--count" || arg == "--hours" ||
                 arg == "--class" || arg == "--region" || arg == "--from" || arg == "--units" ||
                 arg == "--limit" || arg == "--day" || arg == "--wait-open") {
        request.flags[arg.substr(2)] = value();
      } else if (arg == "--ioc" || arg == "--fok" || arg == "--post-only" ||
                 arg == "--any-provider" || arg == "--rest" || arg == "--hourly") {
        request.flags[arg.substr(2)] = "";
      } else if (arg.size() > 1 && arg[0] == '-' && arg[1] == '-') {
        throw Usage("unknown option " + arg);
      } else if (request.command.empty()) {
        request.command = arg;
      } else {
        request.args.push_back(arg);
      }
    }
    if (request.command.empty()) throw Usage("no command given");
    if (sender.empty()) throw Usage("--sender (or GPUX_FIX_SENDER) is required");
    if (timeout < 1) throw Usage("--timeout must be at least 1 second");
    if (!whole_number(port) || std::atol(port.c_str()) < 1 || std::atol(port.c_str()) > 65535)
      throw Usage("--port (or GPUX_FIX_PORT) must be a TCP port, 1 to 65535, not '" + port + "'");
  } catch (const Usage& e) {
    std::fprintf(stderr, "gpux trade: %s\n\n%s", e.what(), usage().c_str());
    return 2;
  }

  std::string id;
  FIX::Message message;
  try {
    message = build(request, id);
  } catch (const Usage& e) {
    std::fprintf(stderr, "gpux trade: %s\n", e.what());
    return 2;
  }

  if (!std::ifstream(dictionary)) {
    std::fprintf(stderr,
                 "gpux trade: cannot read the FIX dictionary %s (--dictionary or "
                 "GPUX_FIX_DICTIONARY)\n",
                 dictionary.c_str());
    return 2;
  }
  const std::string no_route = unreachable(host, port, timeout);
  if (!no_route.empty()) {
    std::fprintf(stderr, "gpux trade: %s\n", no_route.c_str());
    return 3;
  }
  Client client(password);
  FIX::SessionSettings settings;
  FIX::Dictionary defaults;
  defaults.setString("ConnectionType", "initiator");
  defaults.setString("SocketConnectHost", host);
  defaults.setString("SocketConnectPort", port);
  defaults.setInt("HeartBtInt", 30);
  defaults.setString("StartTime", "00:00:00");
  defaults.setString("EndTime", "00:00:00");
  defaults.setString("UseDataDictionary", "Y");
  defaults.setString("DataDictionary", dictionary);
  defaults.setString("ResetOnLogon", "N");
  defaults.setInt("ReconnectInterval", 1);
  const FIX::SessionID session("FIX.4.4", sender, target);
  // One store per exchange (host and port) and seat.
  const std::string store_path = state_dir + "/" + host + "-" + port;
  const std::string made = make_directories(store_path);
  if (!made.empty()) {
    std::fprintf(stderr, "gpux trade: cannot keep the session's state in %s: %s (--state-dir)\n",
                 store_path.c_str(), made.c_str());
    return 2;
  }
  // One run at a time per seat: a second would share the store's sequence
  // numbers (and, refused by the exchange, still write them).
  const std::string store_name = store_path + "/FIX.4.4-" + sender + "-" + target;
  const int lock = ::open((store_name + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || ::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    std::fprintf(stderr,
                 "gpux trade: another gpux trade runs as %s on %s:%s (its state is in %s); "
                 "wait for it to end\n",
                 sender.c_str(), host.c_str(), port.c_str(), store_path.c_str());
    return 3;
  }
  if (reset)
    for (const char* part : {".body", ".header", ".seqnums", ".session"})
      ::unlink((store_name + part).c_str());
  FIX::FileStoreFactory store(store_path);
  std::unique_ptr<FIX::SocketInitiator> initiator;
  try {
    settings.set(defaults);
    settings.set(session, FIX::Dictionary());
    initiator.reset(new FIX::SocketInitiator(client, store, settings));
    initiator->start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpux trade: cannot start the FIX session: %s\n", e.what());
    return 3;
  }
  const int logon = client.wait_logon(timeout);
  if (logon != 1) {
    std::string why = client.logout_text();
    if (logon == 0) {
      why = "no answer to the Logon within " + std::to_string(timeout) + " s";
    } else if (why.empty()) {
      why = "the exchange closed the connection without answering the Logon: is " + sender +
            " a seat there (fix_client)?";
    } else if (password.empty() && why.find("Password(554)") != std::string::npos) {
      why += " (give it with --password-env VAR)";
    } else if (why.find("MsgSeqNum too low") != std::string::npos) {
      why += " (this seat's numbering went on elsewhere: start over with --reset)";
    }
    std::fprintf(stderr, "gpux trade: no FIX session with %s:%s as %s: %s\n", host.c_str(),
                 port.c_str(), sender.c_str(), why.c_str());
    initiator->stop(true);
    return 3;
  }
  ::signal(SIGINT, [](int) { interrupted = true; });
  FIX::Session::sendToTarget(message, session);
  const int status =
      request.command == "buy" || request.command == "sell"
          ? trade_window(request, id, client, session, Printer(json), timeout)
      : request.command == "deliveries"
          ? deliveries(request, id, client, Printer(json), timeout, timeout_given ? timeout : 60)
          : converse(request, client, Printer(json), timeout);
  // Send the Logout now and stop once it is answered: stop() and
  // Session::logout() act on the session's one-second timer, which would
  // dominate every short command.
  FIX::Message logout;
  logout.getHeader().setField(FIX::MsgType("5"));
  try {
    FIX::Session::sendToTarget(logout, session);
    client.wait_logout(2000);
  } catch (const FIX::SessionNotFound&) {
  }
  initiator->stop(true);
  return status;
}

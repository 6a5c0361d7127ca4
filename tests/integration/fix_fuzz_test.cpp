// Seeded malformed FIX thrown at a real gpuxd over a raw socket: bad
// checksums, missing, duplicate and unknown tags, wrong types, huge values,
// negative and zero quantities, unknown symbols, unknown message types.
// Between any two of them a valid order goes in and must be acknowledged
// (the session stays up and in order), every malformed message that is not
// garbled must have drawn a reject before that acknowledgement, and at the
// end the journal must hold exactly the valid orders: nothing invalid was
// persisted, nothing valid lost. C++14, like all QuickFIX units.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include "fix_fixture.h"
#include "journal_view.h"
#include "process_usage.h"

using namespace fixtest;

namespace {

struct Field {
  std::string tag;
  std::string value;
};

std::string body_of(const std::vector<Field>& fields) {
  std::string body;
  for (const Field& f : fields)
    body += f.tag + "=" + f.value + "\x01";
  return body;
}

std::vector<Field> order_fields(const std::string& id) {
  return {{"11", id},  {"55", kSymbol}, {"54", "1"}, {"60", RawFix::now()},
          {"38", "1"}, {"40", "2"},     {"44", "2"}};
}

// A malformed message: its type, body, and whether the exchange discards it
// unread (a garbled frame does not use up its sequence number).
struct Mutation {
  std::string name;
  std::string type;
  std::string body;
  bool garbled = false;
};

Mutation mutate(std::mt19937_64& random, const std::string& id) {
  std::vector<Field> f = order_fields(id);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
  const auto set = [&](const std::string& tag, const std::string& value) {
    for (Field& field : f)
      if (field.tag == tag) field.value = value;
  };
  static const char* const kHuge[] = {"99999999999999999999999999", "1e400", "18446744073709551616",
                                      "9223372036854775808"};
  static const char* const kNotNumbers[] = {"abc", "1.2.3", "", "0x10", "--1", " 5"};
  switch (pick(13)) {
    case 0: {
      const std::size_t drop = pick(f.size());
      const std::string tag = f[drop].tag;
      f.erase(f.begin() + static_cast<std::ptrdiff_t>(drop));
      return {"missing tag " + tag, "D", body_of(f)};
    }
    case 1: {
      const Field twice = f[pick(f.size())];
      f.push_back(twice);
      return {"duplicate tag " + twice.tag, "D", body_of(f)};
    }
    case 2:
      set("38", kNotNumbers[pick(6)]);
      return {"quantity not a number", "D", body_of(f)};
    case 3:
      set("44", kNotNumbers[pick(6)]);
      return {"price not a number", "D", body_of(f)};
    case 4:
      set(pick(2) ? "38" : "44", kHuge[pick(4)]);
      return {"huge value", "D", body_of(f)};
    case 5:
      set("38", pick(2) ? "0" : "-" + std::to_string(1 + pick(1000)));
      return {"zero or negative quantity", "D", body_of(f)};
    case 6:
      set("44", "-" + std::to_string(1 + pick(5)));
      return {"negative price", "D", body_of(f)};
    case 7:
      set("55", pick(2) ? "NO-SUCH-PRODUCT" : std::string(300, 'X'));
      return {"unknown symbol", "D", body_of(f)};
    case 8:
      set(pick(2) ? "54" : "40", pick(2) ? "Z" : "9");
      return {"invalid enum value", "D", body_of(f)};
    case 9:
      f.push_back({std::to_string(9000 + pick(900)), "x"});
      return {"unknown tag", "D", body_of(f)};
    case 10:
      return {"unsupported message type", pick(2) ? "R" : "ZZ", body_of(f)};
    case 11:
      set("60", pick(2) ? "yesterday" : "20261301-25:61:61");
      return {"bad timestamp", "D", body_of(f)};
    default:
      return {"bad checksum", "D", body_of(f), true};
  }
}

std::string corrupt_checksum(std::string frame) {
  const auto at = frame.rfind("10=");
  frame[at + 3] = frame[at + 3] == '9' ? '0' : static_cast<char>(frame[at + 3] + 1);
  return frame;
}

bool is_reject(const std::string& message) {
  const std::string type = RawFix::type_of(message);
  return type == "3" || type == "j" || type == "9" ||
         (type == "8" && RawFix::value(message, "150") == "8");
}

}  // namespace

TEST_CASE("FIX fuzz: malformed messages never crash gpuxd, always draw a reject, never persist") {
  Exchange exchange("fix_client = CAROL participant=1 password=none\n");
  RawFix carol(exchange.port, "CAROL");
  carol.logon();
  std::mt19937_64 random(20261130);
  std::vector<std::string> valid;
  std::map<std::string, int> tried;
  const int kRounds = 400;
  for (int round = 0; round < kRounds; ++round) {
    const Mutation m = mutate(random, "bad-" + std::to_string(round));
    CAPTURE(round);
    CAPTURE(m.name);
    ++tried[m.name];
    const std::string frame = carol.frame(m.type, m.body);
    if (m.garbled) {
      carol.send(corrupt_checksum(frame));
      carol.reuse_sequence_number();  // a garbled message is dropped unread
    } else {
      carol.send(frame);
    }
    // A valid order behind it: acknowledged, after the malformed one's reject.
    const std::string id = "ok-" + std::to_string(round);
    carol.send(carol.frame("D", body_of(order_fields(id))));
    valid.push_back(id);
    bool rejected = false;
    for (;;) {
      const std::string reply = carol.read();
      REQUIRE_MESSAGE(!reply.empty(), "no answer: the session or gpuxd is gone");
      REQUIRE(RawFix::type_of(reply) != "5");  // no Logout: the session stays up
      if (RawFix::value(reply, "11") == id) {
        CHECK(RawFix::value(reply, "150") == "0");
        break;
      }
      rejected = rejected || is_reject(reply);
    }
    CHECK(rejected != m.garbled);
  }
  CHECK(tried.size() >= 13);  // every kind of mutation was tried

  REQUIRE(exchange.daemon->stop() == 0);  // a clean exit: it never crashed
  std::vector<std::string> journaled;
  for (const auto& order : gpux::test::journaled_orders(exchange.dir.path + "/data")) {
    CHECK(order.quantity == 1);
    CHECK(order.price == 2000000);
    journaled.push_back(order.cl_ord_id);
  }
  CHECK(journaled == valid);
}

TEST_CASE("FIX: enumerated values are FIX 4.4's; a value it lacks draws a session Reject") {
  Exchange exchange("fix_client = CAROL participant=1 password=none\n");
  RawFix carol(exchange.port, "CAROL");
  carol.logon();
  const auto order_with = [&](const std::string& tag, const std::string& value) {
    std::vector<Field> fields = order_fields("e" + tag + value);
    for (Field& field : fields)
      if (field.tag == tag) field.value = value;
    if (tag == "59") fields.push_back({tag, value});
    carol.send(carol.frame("D", body_of(fields)));
    return carol.read();
  };
  // Not a FIX 4.4 value: the session rejects it, naming the tag (373=5).
  for (const auto& wrong :
       {std::make_pair("54", "Z"), std::make_pair("40", "Z"), std::make_pair("59", "9")}) {
    CAPTURE(wrong.first);
    const std::string reply = order_with(wrong.first, wrong.second);
    CHECK(RawFix::type_of(reply) == "3");
    CHECK(RawFix::value(reply, "373") == "5");
    CHECK(RawFix::value(reply, "371") == wrong.first);
  }
  // A FIX 4.4 value gpux does not trade: the order is rejected with the rule.
  const struct {
    const char* tag;
    const char* value;
    const char* rule;
  } unsupported[] = {{"54", "5", "Side(54) must be 1 (buy) or 2 (sell)"},
                     {"40", "3", "OrdType(40) must be 1 (market) or 2 (limit)"},
                     {"59", "6", "TimeInForce(59) must be 0 or 1"}};
  for (const auto& value : unsupported) {
    CAPTURE(value.tag);
    const std::string reply = order_with(value.tag, value.value);
    CHECK(RawFix::type_of(reply) == "8");
    CHECK(RawFix::value(reply, "150") == "8");
    CHECK(RawFix::value(reply, "58").find(value.rule) == 0);
  }
}

TEST_CASE("FIX: what FIX 4.4 defines and gpux lacks is answered as FIX says") {
  Exchange exchange("fix_client = CAROL participant=1 password=none\n");
  RawFix carol(exchange.port, "CAROL");
  carol.logon();
  // A FIX 4.4 message type gpux does not support, well formed: 380=3.
  carol.send(carol.frame("R", std::string("131=Q1\x01") + "146=1\x01" + "55=" + kSymbol + "\x01"));
  std::string reply = carol.read();
  CHECK(RawFix::type_of(reply) == "j");
  CHECK(RawFix::value(reply, "380") == "3");
  CHECK(RawFix::value(reply, "372") == "R");
  // A type FIX does not define: 373=11.
  carol.send(carol.frame("ZZ", "11=z1\x01"));
  reply = carol.read();
  CHECK(RawFix::type_of(reply) == "3");
  CHECK(RawFix::value(reply, "373") == "11");
  // An order with one tag more; the session's answer to it.
  const auto order_with_tag = [&](const std::string& id, const std::string& tag) {
    std::vector<Field> fields = order_fields(id);
    fields.push_back({tag, "1"});
    carol.send(carol.frame("D", body_of(fields)));
    return carol.read();
  };
  // A FIX 4.4 tag the message does not take (HandlInst on an order here): 373=2.
  reply = order_with_tag("t1", "21");
  CHECK(RawFix::type_of(reply) == "3");
  CHECK(RawFix::value(reply, "373") == "2");
  CHECK(RawFix::value(reply, "371") == "21");
  // A tag FIX 4.4 does not define: 373=0.
  reply = order_with_tag("t2", "3000");
  CHECK(RawFix::type_of(reply) == "3");
  CHECK(RawFix::value(reply, "373") == "0");
  CHECK(RawFix::value(reply, "371") == "3000");
  // The session is still in order: a valid order is acknowledged.
  carol.send(carol.frame("D", body_of(order_fields("t3"))));
  reply = carol.read();
  CHECK(RawFix::value(reply, "11") == "t3");
  CHECK(RawFix::value(reply, "150") == "0");
}

TEST_CASE("FIX: an invalid Logon closes its connection and leaves the seat to its owner") {
  Exchange exchange("fix_client = CAROL participant=1 password=none\n");
  for (const char* body : {"98=0\x01",
                           "98=0\x01"
                           "108=abc\x01"}) {
    CAPTURE(body);
    RawFix intruder(exchange.port, "CAROL");
    intruder.send(intruder.frame("A", body));  // no usable HeartBtInt(108)
    // Whatever it is told first, its connection ends.
    std::string message;
    do {
      message = intruder.read();
      CHECK(RawFix::type_of(message) != "A");  // never logged on
    } while (!message.empty());
  }
  RawFix owner(exchange.port, "CAROL");
  owner.logon();  // the seat is free
}

namespace {

// Whether `seat` logs on over a new connection within about 5 s: gpuxd frees
// what closed connections held when its poll next sees them go.
bool logs_on_soon(int port, const std::string& seat) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    RawFix connection(port, seat);
    connection.try_send(connection.frame("A",
                                         "98=0\x01"
                                         "108=30\x01"));
    if (RawFix::type_of(connection.read()) == "A") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace

TEST_CASE("FIX: connections beyond fix_max_connections are closed as they arrive") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CAROL participant=3 "
      "password=none\n"
      "fix_max_connections = 4\n");
  REQUIRE(exchange.client.wait_logons(2));  // ALICE and BOB: two connections
  // Two strangers that never log on take the other two.
  RawFix idle_1(exchange.port, "X");
  RawFix idle_2(exchange.port, "Y");
  {
    RawFix over(exchange.port, "CAROL");  // the fifth: closed before it is read
    over.try_send(over.frame("A",
                             "98=0\x01"
                             "108=30\x01"));
    CHECK(over.read().empty());
  }
  idle_1.close();
  idle_2.close();
  // Once gpuxd has seen them go, CAROL's seat is reachable again.
  CHECK(logs_on_soon(exchange.port, "CAROL"));
}

TEST_CASE("FIX: one source address cannot take every connection") {
  Exchange exchange(
      "fix_client = ALICE participant=1 password=none\nfix_client = CAROL participant=3 "
      "password=none\n"
      "fix_max_connections_per_address = 2\n");
  REQUIRE(exchange.client.wait_logons(2));  // ALICE and BOB, from 127.0.0.1
  // Two idle strangers from 127.0.0.2 take that address's share...
  RawFix idle_1(exchange.port, "X", "127.0.0.2");
  RawFix idle_2(exchange.port, "Y", "127.0.0.2");
  {
    RawFix third(exchange.port, "CAROL", "127.0.0.2");  // ...a third is closed unread
    third.try_send(third.frame("A",
                               "98=0\x01"
                               "108=30\x01"));
    CHECK(third.read().empty());
  }
  // ...while another address still gets in.
  RawFix carol(exchange.port, "CAROL", "127.0.0.3");
  carol.logon();
}

// gpuxd with CAROL logged on, DAVE a seat that never has been, and the
// means to leave gpuxd few descriptors (the soft limit: raising it again
// needs no privilege).
struct ShortOfDescriptors {
  ShortOfDescriptors() {
    carol.logon();
    // Once before the limit: the sanitizers' first check of a call's
    // dynamic type opens a pipe, which no descriptor would be left for.
    REQUIRE(status_request() == "8");
    REQUIRE(::prlimit(pid, RLIMIT_NOFILE, nullptr, &before) == 0);
  }
  // Whether CAROL's OrderStatusRequest is answered (an ExecutionReport).
  std::string status_request() {
    carol.send(carol.frame("H", std::string("11=none\x01") + "55=" + kSymbol + "\x01"));
    return RawFix::type_of(carol.read());
  }
  // gpuxd may open `spare` more descriptors, no more.
  void leave(long spare) {
    const rlimit tight{static_cast<rlim_t>(gpux::local::lowest_free_descriptor(pid) + spare),
                       before.rlim_max};
    REQUIRE(::prlimit(pid, RLIMIT_NOFILE, &tight, nullptr) == 0);
  }
  void restore() { REQUIRE(::prlimit(pid, RLIMIT_NOFILE, &before, nullptr) == 0); }

  Exchange exchange{
      "fix_client = CAROL participant=3 password=none\nfix_client = DAVE participant=3 "
      "password=none\n"};
  RawFix carol{exchange.port, "CAROL"};
  const pid_t pid = exchange.daemon->pid();
  rlimit before{};
};

TEST_CASE("FIX: out of file descriptors, gpuxd refuses newcomers and serves its sessions") {
  ShortOfDescriptors gpuxd;
  // Room for a few more descriptors, then a flood.
  gpuxd.leave(4);
  std::vector<std::unique_ptr<RawFix>> flood;
  for (int i = 0; i < 20; ++i)
    flood.emplace_back(new RawFix(gpuxd.exchange.port, "X"));
  // Pending connections it cannot accept must not make it spin: over two
  // seconds it stays far from a core's worth of CPU (200 ticks).
  const long ticks_before = gpux::local::cpu_ticks(gpuxd.pid);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the measurement's window
  const long used = gpux::local::cpu_ticks(gpuxd.pid) - ticks_before;
  CAPTURE(used);
  CHECK(used < 50);
  // The session it has is served meanwhile.
  CHECK(gpuxd.status_request() == "8");
  // Descriptors back: a newcomer logs on.
  gpuxd.restore();
  flood.clear();
  CHECK(logs_on_soon(gpuxd.exchange.port, "DAVE"));
  std::ifstream events(gpuxd.exchange.dir.path + "/data/fix-log/GLOBAL.event.current.log");
  const std::string logged((std::istreambuf_iterator<char>(events)),
                           std::istreambuf_iterator<char>());
  CHECK(logged.find("out of file descriptors") != std::string::npos);
}

TEST_CASE("FIX: a seat whose session cannot be made for want of descriptors is refused, no more") {
  ShortOfDescriptors gpuxd;
  // One descriptor to spare: DAVE's connection takes it, and its session
  // (made at its first Logon) can open no log file.
  gpuxd.leave(1);
  bool refused = false;
  {
    RawFix dave(gpuxd.exchange.port, "DAVE");
    dave.try_send(dave.frame("A",
                             "98=0\x01"
                             "108=30\x01"));
    refused = RawFix::type_of(dave.read()) != "A";
  }
  gpuxd.restore();
  // gpuxd lives on: CAROL is served...
  CHECK(gpuxd.status_request() == "8");
  if (!refused) {
    // RocksDB's background work closed a file meanwhile, and the session
    // could be made: the case was not met this time.
    MESSAGE("a descriptor came free in between: DAVE logged on at once");
    return;
  }
  // ...it said why it refused, and DAVE's next Logon makes its session.
  std::ifstream log(gpuxd.exchange.dir.path + "/gpuxd.log");
  const std::string said((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(said.find("cannot make the session of seat DAVE now") != std::string::npos);
  CHECK(logs_on_soon(gpuxd.exchange.port, "DAVE"));
}

TEST_CASE("FIX: a connection that does not log on in time, or sends too much first, is closed") {
  Exchange exchange(
      "fix_client = CAROL participant=3 password=none\nfix_logon_timeout_ms = 500\n"
      "fix_max_bytes_before_logon = 4096\n");  // the default is 64 KiB
  const auto started = std::chrono::steady_clock::now();
  SUBCASE("silent") {
    RawFix silent(exchange.port, "X");
    CHECK(silent.read().empty());  // closed, well before read()'s own 30 s
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  }
  SUBCASE("8 KiB and no Logon") {
    RawFix flood(exchange.port, "X");
    flood.try_send(std::string(8 << 10, 'x'));
    CHECK(flood.read().empty());
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
    // For its bytes, not for the time it took.
    CHECK(wait_for_line(exchange.dir.path + "/data/fix-log/GLOBAL.event.current.log",
                        "more than 4096 bytes before a Logon (fix_max_bytes_before_logon)"));
  }
  RawFix carol(exchange.port, "CAROL");  // the seats are not affected
  carol.logon();
}

TEST_CASE("FIX: a message longer than fix_max_message_bytes closes its connection at once") {
  Exchange exchange(
      "fix_client = CAROL participant=3 password=none\nfix_client = DAVE participant=3 "
      "password=none\n"
      "fix_max_message_bytes = 2048\n");
  RawFix carol(exchange.port, "CAROL");
  carol.logon();
  // Only the header: the BodyLength alone says it is too long.
  carol.send(
      std::string("8=FIX.4.4\x01"
                  "9=99999999\x01"));
  CHECK(carol.read().empty());  // closed
  CHECK(wait_for_line(exchange.dir.path + "/data/fix-log/FIX.4.4-GPUX-CAROL.event.current.log",
                      "a message longer than 2048 bytes (fix_max_message_bytes)"));
  RawFix dave(exchange.port, "DAVE");  // and gpuxd serves on
  dave.logon();
}

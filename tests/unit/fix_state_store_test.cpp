// The FIX gateway's state store on a real RocksDB: the outgoing number found
// from the last stored message, and which reports a session was sent, found
// from the messages stored since the checkpoint.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gpux/fix/state_store.h"
#include "temp_dir.h"

using gpux::fix::FixStateStore;
using gpux::test::TempDir;

namespace {

// A raw ExecutionReport with the fields the store reads.
std::string report(const std::string& exec_id) {
  return "8=FIX.4.4\x01"
         "35=8\x01"
         "17=" +
         exec_id +
         "\x01"
         "10=000\x01";
}

std::string heartbeat() {
  return "8=FIX.4.4\x01"
         "35=0\x01"
         "10=000\x01";
}

std::string identity(const std::string& exec_id) {
  return FixStateStore::report_identity('8', exec_id);
}

}  // namespace

TEST_CASE("FIX state store: the next outgoing number is past the last stored message") {
  TempDir dir;
  {
    FixStateStore store(dir.path());
    CHECK(store.load("A").next_sender == 1);
    gpux::fix::SessionState state;
    state.next_target = 7;
    state.creation_time = 1;
    state.generation = 3;
    store.save("A", state);
    for (int sequence = 1; sequence <= 5; ++sequence)
      store.store_sent("A", sequence, heartbeat(), 7);
    store.store_sent("B", 1, heartbeat(), 1);
    store.store_sent("B", 2, heartbeat(), 9);  // answered client messages up to 8
  }
  FixStateStore store(dir.path());
  const auto a = store.load("A");
  CHECK(a.next_sender == 6);  // from the messages: the state said 1
  CHECK(a.next_target == 7);
  CHECK(a.generation == 3);
  const auto b = store.load("B");
  CHECK(b.next_sender == 3);
  CHECK(b.next_target == 9);                 // recorded by its last message; no state written
  CHECK(store.load("AB").next_sender == 1);  // a name that extends another's
  const auto kept = store.sent("A", 2, 3);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0] == heartbeat());  // as sent, without the record
}

TEST_CASE("FIX state store: reports are known as sent from the checkpoint on, across a reset") {
  TempDir dir;
  {
    FixStateStore store(dir.path());
    store.load("A");
    store.store_sent("A", 1, report("before"), 1);
    store.write_checkpoint("c1");
    store.store_sent("A", 2, report("after-1"), 1);
    store.store_sent("A", 3, heartbeat(), 1);
    store.store_sent("A", 4, report("after-2"), 1);
  }
  {
    // A restart from checkpoint c1: only reports for later commands are
    // replayed, and those sent are found.
    FixStateStore store(dir.path());
    CHECK(store.checkpoint() == std::optional<std::string>("c1"));
    CHECK(store.was_sent("A", identity("after-1")));
    CHECK(store.was_sent("A", identity("after-2")));
    CHECK_FALSE(store.was_sent("A", identity("never")));
    CHECK_FALSE(store.was_sent("B", identity("after-1")));
    // A new numbering drops the messages, not what they prove was sent.
    store.load("A");
    gpux::fix::SessionState fresh;
    fresh.generation = 1;
    store.reset("A", fresh);
    CHECK(store.load("A").next_sender == 1);
    CHECK(store.sent("A", 1, 4).empty());
  }
  {
    FixStateStore store(dir.path());
    CHECK(store.was_sent("A", identity("after-1")));
    CHECK(store.was_sent("A", identity("after-2")));
    store.load("A");
    store.store_sent("A", 1, report("new"), 1);
    store.write_checkpoint("c2");  // covers everything so far
  }
  FixStateStore store(dir.path());
  CHECK(store.checkpoint() == std::optional<std::string>("c2"));
  CHECK_FALSE(store.was_sent("A", identity("after-1")));
  CHECK_FALSE(store.was_sent("A", identity("new")));
}

TEST_CASE("FIX state store: ended orders are kept per instrument, replaced, and forgotten") {
  TempDir dir;
  {
    FixStateStore store(dir.path() / "fix-state");
    using Ended = FixStateStore::EndedOrder;
    store.remember_ended(std::vector<Ended>{{"first", "H100.A", "ALICE", "a1"}});
    store.remember_ended(
        std::vector<Ended>{{"again", "H100.A", "ALICE", "a1"},  // the same order: replaced
                           {"bob", "H100.A", "BOB", "b1"},
                           {"other instrument", "H100.AB", "ALICE", "a2"},
                           {"a prefix of no other", "H100.A", "ALICE", "a1x"}});
    CHECK(store.ended().size() == 4);
  }
  FixStateStore store(dir.path() / "fix-state");  // across a reopen
  auto records = store.ended();
  std::sort(records.begin(), records.end());
  CHECK(records ==
        std::vector<std::string>{"a prefix of no other", "again", "bob", "other instrument"});
  store.forget_ended("H100.A");  // its gate closed; H100.AB's are not touched
  CHECK(store.ended() == std::vector<std::string>{"other instrument"});
}

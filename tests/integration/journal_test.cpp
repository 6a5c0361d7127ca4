// The RocksDB journal and recovery, on a real RocksDB in a temp directory.
#include "gpux/storage/journal.h"

#include <doctest/doctest.h>

#include <random>

#include "command_generator.h"
#include "gpux/storage/recovery.h"
#include "raw_journal.h"
#include "temp_dir.h"

using namespace gpux::test;
using namespace gpux::storage;

namespace {

// Appends in random batch sizes, as group commit does.
void append_in_batches(Journal& journal, std::span<const Command> commands,
                       std::mt19937_64& random) {
  while (!commands.empty()) {
    const std::size_t n = std::min<std::size_t>(commands.size(), 1 + random() % 200);
    journal.append(commands.first(n));
    commands = commands.subspan(n);
  }
}

}  // namespace

TEST_CASE("journal round trip: what is appended is replayed, across reopening") {
  TempDir dir;
  const auto commands = generate_stream(11, 3'000);
  std::mt19937_64 random(11);
  {
    auto journal = Journal::open(dir.path());
    CHECK(journal->last_sequence() == 0);
    append_in_batches(*journal, std::span(commands).first(1'000), random);
  }
  auto journal = Journal::open(dir.path());
  CHECK(journal->last_sequence() == 1'000);
  append_in_batches(*journal, std::span(commands).subspan(1'000), random);
  std::vector<Command> replayed;
  journal->replay(0, 0, [&](const Command& c, std::string_view) { replayed.push_back(c); });
  REQUIRE(replayed.size() == commands.size());
  NullListener sink;
  auto engine = make_engine({}, sink);
  for (const Command& c : replayed)
    engine->apply(c);
  CHECK(engine->state_hash() == uninterrupted_hash(commands));
  for (std::size_t i = 0; i < commands.size(); ++i)
    REQUIRE(replayed[i].stamp == commands[i].stamp);

  CHECK_THROWS_AS(journal->append(std::span(commands).first(1)), std::logic_error);
}

TEST_CASE("recovery from snapshots at random points equals the uninterrupted run") {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    CAPTURE(seed);
    TempDir dir;
    const auto commands = generate_stream(seed, 2'500);
    std::mt19937_64 random(seed);
    NullListener sink;
    {
      auto journal = Journal::open(dir.path());
      auto engine = make_engine({}, sink);
      std::size_t done = 0;
      while (done < commands.size()) {
        const std::size_t n = std::min<std::size_t>(commands.size() - done, 1 + random() % 300);
        const auto batch = std::span(commands).subspan(done, n);
        for (const Command& c : batch)
          engine->apply(c);
        journal->append(batch);
        done += n;
        if (random() % 3 == 0) take_snapshot(*journal, *engine);
      }
    }
    auto journal = Journal::open(dir.path());
    const Recovered recovered = recover(*journal, {}, sink);
    CHECK(recovered.last_sequence == commands.size());
    CHECK(recovered.skipped_snapshots.empty());
    CHECK(recovered.snapshot_sequence + recovered.replayed == commands.size());
    CHECK(recovered.engine->state_hash() == uninterrupted_hash(commands));
    CHECK(recovered.engine->check_invariants().empty());
  }
}

TEST_CASE("a damaged journal record stops recovery at its sequence number") {
  TempDir dir;
  const auto commands = generate_stream(5, 600);
  {
    auto journal = Journal::open(dir.path());
    std::mt19937_64 random(5);
    append_in_batches(*journal, commands, random);
  }
  constexpr SequenceNumber kDamaged = 321;
  std::string what;
  {
    RawJournal raw(dir.path());
    SUBCASE("a flipped byte") {
      std::string value = raw.get(kDamaged);
      value[value.size() / 2] ^= 0x20;
      raw.put(kDamaged, value);
      what = "";
    }
    SUBCASE("a lost record") {
      raw.erase(kDamaged);
      what = "missing";
    }
    SUBCASE("a record written under the wrong key") {
      raw.put(kDamaged, raw.get(kDamaged + 1));
      what = "chain";
    }
  }
  auto journal = Journal::open(dir.path());
  std::vector<Command> applied;
  try {
    journal->replay(0, 0, [&](const Command& c, std::string_view) { applied.push_back(c); });
    FAIL("replay accepted a damaged journal");
  } catch (const JournalCorrupt& e) {
    CHECK(e.sequence == kDamaged);
    CHECK(std::string(e.what()).find("sequence 321") != std::string::npos);
    CHECK(std::string(e.what()).find(what) != std::string::npos);
  }
  // Nothing before the damage is lost.
  REQUIRE(applied.size() == kDamaged - 1);
  for (std::size_t i = 0; i < applied.size(); ++i)
    REQUIRE(applied[i].stamp == commands[i].stamp);
  NullListener sink;
  CHECK_THROWS_AS(recover(*journal, {}, sink), JournalCorrupt);
}

TEST_CASE("a snapshot that no longer matches is skipped, with the reason") {
  TempDir dir;
  const auto commands = generate_stream(8, 500);
  NullListener sink;
  {
    auto journal = Journal::open(dir.path());
    auto engine = make_engine({}, sink);
    for (const Command& c : commands)
      engine->apply(c);
    journal->append(commands);
    StoredSnapshot wrong{journal->last_sequence(), engine->state_hash() + 1, journal->last_chain(),
                         engine->snapshot()};
    journal->write_snapshot(wrong);
  }
  auto journal = Journal::open(dir.path());
  const Recovered recovered = recover(*journal, {}, sink);
  REQUIRE(recovered.skipped_snapshots.size() == 1);
  CHECK(recovered.skipped_snapshots[0].find("state hash differs") != std::string::npos);
  CHECK(recovered.replayed == commands.size());
  CHECK(recovered.engine->state_hash() == uninterrupted_hash(commands));
}

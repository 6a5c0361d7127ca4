// The durable command journal and snapshot store, in one RocksDB database with
// column families (key layouts in storage/src/journal.cpp):
// - journal: each command record, keyed by big-endian sequence number;
// - order_events: each order's events, by order and sequence;
// - orders: order ids by participant and by instrument and time;
// - trades: each trade by id, and trade ids by participant and by instrument
//   and time;
// - ledger: every posting, and each trade's delivery events (obligation,
//   challenges, settlement);
// - meta: snapshots.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gpux/matching/commands.h"
#include "gpux/matching/engine.h"
#include "gpux/matching/events.h"

namespace gpux::storage {

using matching::SequenceNumber;

// The journal is not what was written: a record fails its checksum chain, does
// not parse, sits under the wrong key, or is missing. Names the first bad
// sequence number; everything before it was intact.
struct JournalCorrupt : std::runtime_error {
  JournalCorrupt(SequenceNumber sequence, const std::string& what);
  SequenceNumber sequence;
};

// RocksDB refused an operation (disk full, permissions, lock held...).
struct StorageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct JournalOptions {
  bool sync = true;  // fsync every append; false only for tests of throughput ceilings
};

// An order as the stores know it: its acceptance and everything since.
struct OrderRecord {
  enum class Status : std::uint8_t { working, filled, canceled, expired };
  matching::OrderAccepted accepted;
  matching::Price price = 0;  // current limit price (replaces move it)
  matching::Quantity remaining = 0;
  matching::Quantity filled = 0;
  Status status = Status::working;
  matching::Stamp updated;  // the last event's stamp
};

struct StoredSnapshot {
  SequenceNumber sequence = 0;      // state after applying this command
  std::uint64_t state_hash = 0;     // Engine::state_hash() at that point
  std::uint64_t journal_chain = 0;  // the journal's chain value at `sequence`
  matching::EngineSnapshot state;
};

class Journal {
 public:
  // Opens or creates the database in `directory`. Throws StorageError.
  static std::unique_ptr<Journal> open(const std::filesystem::path& directory,
                                       JournalOptions options = {});
  // Opens the journal in `directory` for reading while its owner (gpuxd)
  // may be writing it: a RocksDB secondary instance, which takes no lock and
  // sees every write durable when it opened, each batch whole. It keeps its
  // own files in a temporary folder, removed when it is destroyed. append()
  // on it throws StorageError. Throws StorageError when there is no journal.
  static std::unique_ptr<Journal> open_following(const std::filesystem::path& directory);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Writes the commands, which must continue last_sequence() without gaps,
  // and indexes their `events` into the order and trade stores, all in one
  // write batch; returns once it is durable (fsync'd when options.sync).
  // `origins`, when given, holds one opaque origin per command (see
  // JournalRecord.origin in proto/journal.proto). Returns the bytes written
  // (the batch's, indexes included).
  std::size_t append(std::span<const matching::Command> commands,
                     std::span<const matching::Event> events = {},
                     std::span<const std::string> origins = {});

  SequenceNumber last_sequence() const { return last_sequence_; }
  std::uint64_t last_chain() const { return last_chain_; }

  // Calls `apply` for every record after `after` in order, with the record's
  // origin, verifying the chain from `chain_at_after` (0 when after is 0).
  // Throws JournalCorrupt at the first record that fails; records before it
  // have been applied.
  using Apply = std::function<void(const matching::Command&, std::string_view origin)>;
  void replay(SequenceNumber after, std::uint64_t chain_at_after, const Apply& apply) const;

  // Order and trade stores, newest first, at most `limit` results. Time
  // ranges are [from, to) in the sequencer's nanoseconds.
  std::optional<OrderRecord> find_order(matching::OrderId order) const;
  std::vector<OrderRecord> orders_of(matching::ParticipantId participant, std::size_t limit) const;
  std::vector<OrderRecord> orders_in(matching::InstrumentId instrument, matching::Nanoseconds from,
                                     matching::Nanoseconds to, std::size_t limit) const;
  std::optional<matching::Trade> find_trade(matching::TradeId trade) const;
  std::vector<matching::Trade> trades_of(matching::ParticipantId participant,
                                         std::size_t limit) const;
  // A participant's trades sequenced in [from, to), newest first. Trade ids
  // grow with time, so the walk back from its newest trade stops at the
  // first before `from`: it costs the trades since `from`, not all of them.
  std::vector<matching::Trade> trades_of(matching::ParticipantId participant,
                                         matching::Nanoseconds from, matching::Nanoseconds to,
                                         std::size_t limit) const;
  std::vector<matching::Trade> trades_in(matching::InstrumentId instrument,
                                         matching::Nanoseconds from, matching::Nanoseconds to,
                                         std::size_t limit) const;

  // The ledger store, oldest first: every posting in sequence order, and
  // every delivery event (obligation, challenge, settlement) by trade.
  void for_each_posting(const std::function<void(const matching::LedgerPosting&)>& visit) const;
  void for_each_delivery_event(const std::function<void(const matching::Event&)>& visit) const;

  void write_snapshot(const StoredSnapshot& snapshot);
  // Newest first. A snapshot that does not parse is skipped.
  std::vector<StoredSnapshot> snapshots() const;

  // Deletes journal records up to and including `sequence` (which a snapshot
  // must cover), except the last record, which marks where the journal ends.
  // Never called unless the operator asks for it.
  void discard_through(SequenceNumber sequence);

 private:
  struct Db;
  Journal(std::unique_ptr<Db> db, JournalOptions options);
  // Reads where the opened journal ends.
  static std::unique_ptr<Journal> finish_open(std::unique_ptr<Db> db, JournalOptions options);

  std::unique_ptr<Db> db_;
  JournalOptions options_;
  SequenceNumber last_sequence_ = 0;
  std::uint64_t last_chain_ = 0;
};

// The journal's checksum chain: folds the previous chain value, the sequence
// number and the record's bytes.
std::uint64_t chain_next(std::uint64_t previous, SequenceNumber sequence, std::string_view bytes);

}  // namespace gpux::storage

#include "gpux/storage/journal.h"

#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "gpux/matching/order_updates.h"
#include "gpux/storage/codec.h"
#include "gpux/storage/info_log.h"
#include "journal.pb.h"

namespace gpux::storage {
namespace {

constexpr const char* kColumnFamilies[] = {"default", "journal", "orders",      "trades",
                                           "ledger",  "meta",    "order_events"};
enum Family { kDefault, kJournal, kOrders, kTrades, kLedger, kMeta, kOrderEvents };
// Store keys share prefixes: order_events 'o' + order id (9 bytes); orders
// and trades a kind letter + participant or instrument (5 bytes). Memtables
// hashed on those prefixes keep each insert's skip-list search small, which
// is most of what indexing costs (see docs/perf-notes.md).
constexpr std::size_t kOrderPrefix = 9;
constexpr std::size_t kIndexPrefix = 5;
constexpr std::string_view kSnapshotPrefix = "snapshot/";

std::string big_endian(std::uint64_t v) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8)
    key[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
  return key;
}

std::uint64_t from_big_endian(std::string_view key) {
  std::uint64_t v = 0;
  for (unsigned char c : key)
    v = v << 8 | c;
  return v;
}

// Store keys: a one-letter kind, then big-endian fields, so that keys of one
// order, participant or instrument are adjacent and sorted by id or time.
class Key {
 public:
  explicit Key(char kind) : bytes_(1, kind) {}
  Key& u32(std::uint32_t v) {
    for (int i = 3; i >= 0; --i)
      bytes_ += static_cast<char>(v >> (8 * i));
    return *this;
  }
  Key& u64(std::uint64_t v) {
    bytes_ += big_endian(v);
    return *this;
  }
  const std::string& str() const { return bytes_; }

 private:
  std::string bytes_;
};

// The obligation a delivery event belongs to; 0 for every other event.
matching::TradeId delivery_trade(const matching::Event& event) {
  return std::visit(
      [](const auto& e) -> matching::TradeId {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, matching::ObligationCreated> ||
                      std::is_same_v<E, matching::ChallengeScheduled> ||
                      std::is_same_v<E, matching::ChallengeRecorded> ||
                      std::is_same_v<E, matching::ObligationSettled>) {
          return e.trade;
        } else {
          return 0;
        }
      },
      event);
}

struct StoreFamilies {
  rocksdb::ColumnFamilyHandle* order_events;
  rocksdb::ColumnFamilyHandle* orders;
  rocksdb::ColumnFamilyHandle* trades;
  rocksdb::ColumnFamilyHandle* ledger;
};

// Order events: 'o' order seq position -> event.
// Orders: 'p' participant order; 'i' instrument time order.
// Trades: 't' trade -> event; 'p' participant trade; 'i' instrument time trade.
// Ledger: 'l' seq position -> posting; 'd' trade seq position -> delivery event.
void index_event(rocksdb::WriteBatch& batch, const StoreFamilies& cf, const matching::Event& event,
                 std::uint32_t position) {
  std::string bytes;  // the event serialized once, however many keys store it
  const auto serialized = [&]() -> const std::string& {
    if (bytes.empty()) bytes = encode(event).SerializeAsString();
    return bytes;
  };
  const auto order_event = [&](matching::OrderId order, const matching::Stamp& stamp) {
    batch.Put(cf.order_events, Key('o').u64(order).u64(stamp.sequence).u32(position).str(),
              serialized());
  };
  // 'i' instrument time id: an instrument's orders or trades in time order.
  const auto instrument_time = [&](rocksdb::ColumnFamilyHandle* family,
                                   matching::InstrumentId instrument, const matching::Stamp& stamp,
                                   std::uint64_t id) {
    batch.Put(family,
              Key('i').u32(instrument).u64(static_cast<std::uint64_t>(stamp.time)).u64(id).str(),
              "");
  };
  const auto& [order_events, orders, trades, ledger] = cf;
  if (const auto* posting = std::get_if<matching::LedgerPosting>(&event)) {
    batch.Put(ledger, Key('l').u64(posting->stamp.sequence).u32(position).str(), serialized());
  } else if (const matching::TradeId trade = delivery_trade(event)) {
    const auto sequence = std::visit([](const auto& any) { return any.stamp.sequence; }, event);
    batch.Put(ledger, Key('d').u64(trade).u64(sequence).u32(position).str(), serialized());
  } else if (const auto* accepted = std::get_if<matching::OrderAccepted>(&event)) {
    order_event(accepted->order, accepted->stamp);
    batch.Put(orders, Key('p').u32(accepted->participant).u64(accepted->order).str(), "");
    instrument_time(orders, accepted->instrument, accepted->stamp, accepted->order);
  } else if (const auto* fill = std::get_if<matching::Trade>(&event)) {
    order_event(fill->maker_order, fill->stamp);
    order_event(fill->taker_order, fill->stamp);
    batch.Put(trades, Key('t').u64(fill->trade).str(), serialized());
    batch.Put(trades, Key('p').u32(fill->maker).u64(fill->trade).str(), "");
    if (fill->taker != fill->maker)
      batch.Put(trades, Key('p').u32(fill->taker).u64(fill->trade).str(), "");
    instrument_time(trades, fill->instrument, fill->stamp, fill->trade);
  } else if (const auto* canceled = std::get_if<matching::OrderCanceled>(&event)) {
    order_event(canceled->order, canceled->stamp);
  } else if (const auto* replaced = std::get_if<matching::OrderReplaced>(&event)) {
    order_event(replaced->order, replaced->stamp);
  } else if (const auto* expired = std::get_if<matching::OrderExpired>(&event)) {
    order_event(expired->order, expired->stamp);
  }
}

// The last 8 bytes of an index key: the order or trade id.
std::uint64_t trailing_id(const rocksdb::Slice& key) {
  return from_big_endian(std::string_view(key.data() + key.size() - 8, 8));
}

void check(const rocksdb::Status& status, const char* what) {
  if (!status.ok()) throw StorageError(std::string(what) + ": " + status.ToString());
}

}  // namespace

JournalCorrupt::JournalCorrupt(SequenceNumber s, const std::string& what)
    : std::runtime_error("journal corrupt at sequence " + std::to_string(s) + ": " + what),
      sequence(s) {}

std::uint64_t chain_next(std::uint64_t previous, SequenceNumber sequence, std::string_view bytes) {
  // FNV-1a over (previous, sequence, bytes): detects corruption and misplaced
  // records; it is not a defence against a deliberate forger.
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto mix = [&](unsigned char c) { h = (h ^ c) * 0x100000001b3ull; };
  for (int i = 0; i < 8; ++i)
    mix(static_cast<unsigned char>(previous >> (8 * i)));
  for (int i = 0; i < 8; ++i)
    mix(static_cast<unsigned char>(sequence >> (8 * i)));
  for (char c : bytes)
    mix(static_cast<unsigned char>(c));
  return h;
}

namespace {

// The command, then the origin when there is one (so records without one
// chain as they always did).
std::uint64_t record_chain(std::uint64_t previous, SequenceNumber sequence,
                           const proto::JournalRecord& record) {
  const std::uint64_t chain = chain_next(previous, sequence, record.command());
  return record.origin().empty() ? chain : chain_next(chain, sequence, record.origin());
}

}  // namespace

struct Journal::Db {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  std::filesystem::path scratch;  // a follower's own folder, removed with it
  ~Db() {
    for (auto* family : families)
      db->DestroyColumnFamilyHandle(family);
    db.reset();
    std::error_code ignored;
    if (!scratch.empty()) std::filesystem::remove_all(scratch, ignored);
  }
  rocksdb::ColumnFamilyHandle* operator[](Family f) const { return families[f]; }
};

namespace {

rocksdb::DBOptions journal_db_options() {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.info_log = stderr_info_log("journal");  // not a LOG file on the journal's disk
  // One writer (the journal thread); the hashed memtable below needs this off.
  db_options.allow_concurrent_memtable_write = false;
  return db_options;
}

std::vector<rocksdb::ColumnFamilyDescriptor> journal_families() {
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kColumnFamilies)
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions{});
  const auto hash_by_prefix = [&](Family family, std::size_t prefix, std::size_t buckets) {
    rocksdb::ColumnFamilyOptions& family_options = descriptors[family].options;
    family_options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(prefix));
    family_options.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(buckets));
  };
  hash_by_prefix(kOrderEvents, kOrderPrefix, 1u << 20);
  // Index keys only grow within their prefix (ids and times increase), so
  // each insert can start where the last one with that prefix ended.
  for (Family family : {kOrders, kTrades})
    descriptors[family].options.memtable_insert_with_hint_prefix_extractor.reset(
        rocksdb::NewFixedPrefixTransform(kIndexPrefix));
  return descriptors;
}

}  // namespace

std::unique_ptr<Journal> Journal::open(const std::filesystem::path& directory,
                                       JournalOptions options) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) throw StorageError("cannot create " + directory.string() + ": " + error.message());
  auto db = std::make_unique<Db>();
  rocksdb::DB* raw = nullptr;
  check(rocksdb::DB::Open(journal_db_options(), directory.string(), journal_families(),
                          &db->families, &raw),
        "opening the journal");
  db->db.reset(raw);
  return finish_open(std::move(db), options);
}

std::unique_ptr<Journal> Journal::open_following(const std::filesystem::path& directory) {
  auto db = std::make_unique<Db>();
  std::string scratch = (std::filesystem::temp_directory_path() / "gpux-follower.XXXXXX").string();
  if (::mkdtemp(scratch.data()) == nullptr)
    throw StorageError("cannot create a folder for following " + directory.string() + ": " +
                       std::strerror(errno));
  db->scratch = scratch;
  rocksdb::DBOptions db_options = journal_db_options();
  db_options.create_if_missing = false;
  db_options.max_open_files = -1;  // a secondary keeps every file it reads open
  rocksdb::DB* raw = nullptr;
  check(rocksdb::DB::OpenAsSecondary(db_options, directory.string(), scratch, journal_families(),
                                     &db->families, &raw),
        "following the journal");
  db->db.reset(raw);
  return finish_open(std::move(db), JournalOptions{});
}

std::unique_ptr<Journal> Journal::finish_open(std::unique_ptr<Db> db, JournalOptions options) {
  std::unique_ptr<Journal> journal(new Journal(std::move(db), options));
  std::unique_ptr<rocksdb::Iterator> last(
      journal->db_->db->NewIterator({}, (*journal->db_)[kJournal]));
  last->SeekToLast();
  if (last->Valid()) {
    journal->last_sequence_ = from_big_endian(last->key().ToStringView());
    proto::JournalRecord record;
    // An unreadable tail is reported by replay, which recovery runs first.
    if (record.ParseFromArray(last->value().data(), static_cast<int>(last->value().size())))
      journal->last_chain_ = record.chain();
  }
  check(last->status(), "reading the journal's tail");
  return journal;
}

Journal::Journal(std::unique_ptr<Db> db, JournalOptions options)
    : db_(std::move(db)), options_(options) {}

Journal::~Journal() = default;

std::size_t Journal::append(std::span<const matching::Command> commands,
                            std::span<const matching::Event> events,
                            std::span<const std::string> origins) {
  if (!origins.empty() && origins.size() != commands.size())
    throw std::logic_error("journal append: one origin per command, or none");
  rocksdb::WriteBatch batch;
  const StoreFamilies families{(*db_)[kOrderEvents], (*db_)[kOrders], (*db_)[kTrades],
                               (*db_)[kLedger]};
  std::uint32_t position = 0;
  for (const matching::Event& event : events)
    index_event(batch, families, event, position++);
  SequenceNumber sequence = last_sequence_;
  std::uint64_t chain = last_chain_;
  proto::JournalRecord record;
  std::string value;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const matching::Command& command = commands[i];
    if (command.stamp.sequence != sequence + 1)
      throw std::logic_error(
          "journal append out of sequence: " + std::to_string(command.stamp.sequence) + " after " +
          std::to_string(sequence));
    sequence = command.stamp.sequence;
    encode(command).SerializeToString(record.mutable_command());
    record.set_origin(origins.empty() ? std::string() : origins[i]);
    chain = record_chain(chain, sequence, record);
    record.set_chain(chain);
    record.SerializeToString(&value);
    check(batch.Put((*db_)[kJournal], big_endian(sequence), value), "batching a journal record");
  }
  rocksdb::WriteOptions write;
  write.sync = options_.sync;
  check(db_->db->Write(write, &batch), "writing the journal");
  last_sequence_ = sequence;
  last_chain_ = chain;
  return batch.GetDataSize();
}

void Journal::replay(SequenceNumber after, std::uint64_t chain_at_after, const Apply& apply) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, (*db_)[kJournal]));
  SequenceNumber expected = after + 1;
  std::uint64_t chain = chain_at_after;
  proto::JournalRecord record;
  proto::Command command;
  for (it->Seek(big_endian(expected)); it->Valid(); it->Next(), ++expected) {
    const SequenceNumber key = from_big_endian(it->key().ToStringView());
    if (it->key().size() != 8 || key != expected)
      throw JournalCorrupt(expected, "record missing (next key is " + std::to_string(key) + ")");
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
      throw JournalCorrupt(key, "record does not parse");
    chain = record_chain(chain, key, record);
    if (chain != record.chain()) throw JournalCorrupt(key, "checksum chain broken");
    if (!command.ParseFromString(record.command()) || command.sequence() != key)
      throw JournalCorrupt(key, "command does not match its key");
    matching::Command decoded;
    try {
      decoded = decode(command);
    } catch (const DecodeError& e) {
      throw JournalCorrupt(key, e.what());
    }
    apply(decoded, record.origin());
  }
  check(it->status(), "reading the journal");
}

namespace {

OrderRecord::Status status_of(matching::OrderEnd end) {
  switch (end) {
    case matching::OrderEnd::filled:
      return OrderRecord::Status::filled;
    case matching::OrderEnd::canceled:
      return OrderRecord::Status::canceled;
    case matching::OrderEnd::expired:
      return OrderRecord::Status::expired;
    case matching::OrderEnd::none:
      break;
  }
  return OrderRecord::Status::working;
}

}  // namespace

std::optional<OrderRecord> Journal::find_order(matching::OrderId order) const {
  const std::string prefix = Key('o').u64(order).str();
  rocksdb::ReadOptions read;
  read.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(read, (*db_)[kOrderEvents]));
  std::optional<OrderRecord> record;
  proto::Event p;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (!p.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
      throw StorageError("order store: unreadable event of order " + std::to_string(order));
    const matching::Event event = decode(p);
    if (const auto* e = std::get_if<matching::OrderAccepted>(&event)) {
      record = OrderRecord{.accepted = *e,
                           .price = e->price,
                           .remaining = e->quantity,
                           .filled = 0,
                           .status = OrderRecord::Status::working,
                           .updated = e->stamp};
      continue;
    }
    if (!record) break;  // events without an acceptance: not an order we know
    matching::for_each_order_update(event, [&](const matching::OrderUpdate& update) {
      if (update.order != order) return;  // the other side of a trade
      record->filled += update.traded;
      record->remaining = update.remaining;
      if (update.price) record->price = *update.price;
      if (update.end != matching::OrderEnd::none) record->status = status_of(update.end);
      record->updated = update.stamp;
    });
  }
  check(it->status(), "reading the order store");
  return record;
}

namespace {

// Ids from index keys under `prefix`, newest (highest key) first, optionally
// bounded above by `upper` (exclusive).
std::vector<std::uint64_t> ids_under(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family,
                                     const std::string& prefix, const std::string& lower,
                                     const std::string& upper, std::size_t limit) {
  std::vector<std::uint64_t> ids;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator({}, family));
  for (it->SeekForPrev(upper); it->Valid() && ids.size() < limit; it->Prev()) {
    if (!it->key().starts_with(prefix) || it->key().compare(lower) < 0) break;
    if (it->key().compare(upper) >= 0) continue;
    ids.push_back(trailing_id(it->key()));
  }
  check(it->status(), "reading a store index");
  return ids;
}

std::string past(std::string prefix) {
  return prefix + std::string(24, '\xff');
}

}  // namespace

std::vector<OrderRecord> Journal::orders_of(matching::ParticipantId participant,
                                            std::size_t limit) const {
  const std::string prefix = Key('p').u32(participant).str();
  std::vector<OrderRecord> found;
  for (std::uint64_t id : ids_under(*db_->db, (*db_)[kOrders], prefix, prefix, past(prefix), limit))
    if (auto record = find_order(id)) found.push_back(std::move(*record));
  return found;
}

std::vector<OrderRecord> Journal::orders_in(matching::InstrumentId instrument,
                                            matching::Nanoseconds from, matching::Nanoseconds to,
                                            std::size_t limit) const {
  const std::string prefix = Key('i').u32(instrument).str();
  std::vector<OrderRecord> found;
  for (std::uint64_t id :
       ids_under(*db_->db, (*db_)[kOrders], prefix,
                 Key('i').u32(instrument).u64(static_cast<std::uint64_t>(from)).str(),
                 Key('i').u32(instrument).u64(static_cast<std::uint64_t>(to)).str(), limit))
    if (auto record = find_order(id)) found.push_back(std::move(*record));
  return found;
}

std::optional<matching::Trade> Journal::find_trade(matching::TradeId trade) const {
  std::string value;
  const auto status = db_->db->Get({}, (*db_)[kTrades], Key('t').u64(trade).str(), &value);
  if (status.IsNotFound()) return std::nullopt;
  check(status, "reading the trade store");
  proto::Event p;
  if (!p.ParseFromString(value))
    throw StorageError("trade store: unreadable trade " + std::to_string(trade));
  return std::get<matching::Trade>(decode(p));
}

namespace {
void for_each_event_with_prefix(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family,
                                std::string_view prefix,
                                const std::function<void(const matching::Event&)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator({}, family));
  proto::Event p;
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
       it->Valid() && it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()));
       it->Next()) {
    if (!p.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
      throw StorageError("unreadable ledger entry");
    visit(decode(p));
  }
  check(it->status(), "reading the ledger");
}
}  // namespace

void Journal::for_each_posting(
    const std::function<void(const matching::LedgerPosting&)>& visit) const {
  for_each_event_with_prefix(*db_->db, (*db_)[kLedger], "l", [&](const matching::Event& e) {
    visit(std::get<matching::LedgerPosting>(e));
  });
}

void Journal::for_each_delivery_event(
    const std::function<void(const matching::Event&)>& visit) const {
  for_each_event_with_prefix(*db_->db, (*db_)[kLedger], "d", visit);
}

std::vector<matching::Trade> Journal::trades_of(matching::ParticipantId participant,
                                                std::size_t limit) const {
  const std::string prefix = Key('p').u32(participant).str();
  std::vector<matching::Trade> found;
  for (std::uint64_t id : ids_under(*db_->db, (*db_)[kTrades], prefix, prefix, past(prefix), limit))
    if (auto trade = find_trade(id)) found.push_back(*trade);
  return found;
}

std::vector<matching::Trade> Journal::trades_of(matching::ParticipantId participant,
                                                matching::Nanoseconds from,
                                                matching::Nanoseconds to, std::size_t limit) const {
  const std::string prefix = Key('p').u32(participant).str();
  std::vector<matching::Trade> found;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, (*db_)[kTrades]));
  for (it->SeekForPrev(past(prefix)); it->Valid() && found.size() < limit; it->Prev()) {
    if (!it->key().starts_with(prefix)) break;
    const auto trade = find_trade(trailing_id(it->key()));
    if (!trade || trade->stamp.time >= to) continue;
    if (trade->stamp.time < from) break;
    found.push_back(*trade);
  }
  check(it->status(), "reading a store index");
  return found;
}

std::vector<matching::Trade> Journal::trades_in(matching::InstrumentId instrument,
                                                matching::Nanoseconds from,
                                                matching::Nanoseconds to, std::size_t limit) const {
  const std::string prefix = Key('i').u32(instrument).str();
  std::vector<matching::Trade> found;
  for (std::uint64_t id :
       ids_under(*db_->db, (*db_)[kTrades], prefix,
                 Key('i').u32(instrument).u64(static_cast<std::uint64_t>(from)).str(),
                 Key('i').u32(instrument).u64(static_cast<std::uint64_t>(to)).str(), limit))
    if (auto trade = find_trade(id)) found.push_back(*trade);
  return found;
}

void Journal::write_snapshot(const StoredSnapshot& snapshot) {
  proto::Snapshot p = encode(snapshot.state);
  p.set_sequence(snapshot.sequence);
  p.set_state_hash(snapshot.state_hash);
  p.set_journal_chain(snapshot.journal_chain);
  rocksdb::WriteOptions write;
  write.sync = options_.sync;
  check(db_->db->Put(write, (*db_)[kMeta],
                     std::string(kSnapshotPrefix) + big_endian(snapshot.sequence),
                     p.SerializeAsString()),
        "writing a snapshot");
}

std::vector<StoredSnapshot> Journal::snapshots() const {
  std::vector<StoredSnapshot> found;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, (*db_)[kMeta]));
  it->SeekForPrev(std::string(kSnapshotPrefix) + big_endian(UINT64_MAX));
  for (; it->Valid() && it->key().starts_with(kSnapshotPrefix); it->Prev()) {
    proto::Snapshot p;
    if (!p.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) continue;
    try {
      found.push_back({p.sequence(), p.state_hash(), p.journal_chain(), decode(p)});
    } catch (const DecodeError&) {
      continue;
    }
  }
  check(it->status(), "reading snapshots");
  return found;
}

void Journal::discard_through(SequenceNumber sequence) {
  // The last record stays, so that a reopened journal knows where it ends.
  const SequenceNumber end = std::min(sequence + 1, last_sequence_);
  if (end == 0) return;
  check(db_->db->DeleteRange({}, (*db_)[kJournal], big_endian(0), big_endian(end)),
        "discarding old journal records");
}

}  // namespace gpux::storage

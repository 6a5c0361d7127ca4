#include "gpux/fix/state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstring>

#include "fix_gateway.pb.h"
#include "gpux/storage/info_log.h"
#include "gpux/storage/journal.h"

namespace gpux::fix {

namespace {

// Keys: "s" session -> state; "m" session \0 be32(seq) -> message \0
// be32(next incoming number when it was sent);
// "x" session \0 identity -> "" (reports sent since the checkpoint, kept when
// a reset drops the messages that showed them); "checkpoint"; "marks";
// "e" symbol \0 session \0 ClOrdID -> an ended order (see remember_ended).
// Built by appending (GCC 12's -Wrestrict misfires on `"m" + s + '\0'` at -O3).
std::string prefixed(char kind, const std::string& session, bool separator) {
  std::string key;
  key.reserve(session.size() + 16);
  key.push_back(kind);
  key.append(session);
  if (separator) key.push_back('\0');
  return key;
}

std::string state_key(const std::string& session) {
  return prefixed('s', session, false);
}

// Big-endian, so that keys sort by number.
void append_be32(std::string& bytes, int value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<char>((static_cast<std::uint32_t>(value) >> shift) & 0xff));
}

std::string message_key(const std::string& session, int sequence) {
  std::string key = prefixed('m', session, true);
  append_be32(key, sequence);
  return key;
}

constexpr int kLastSequence = -1;  // the largest be32 key

std::string sent_key(const std::string& session, std::string_view identity) {
  std::string key = prefixed('x', session, true);
  key.append(identity);
  return key;
}

std::string encode(const fix::SessionState& s) {
  std::string bytes(32, '\0');
  const std::int64_t fields[4] = {s.next_sender, s.next_target, s.creation_time, s.generation};
  std::memcpy(bytes.data(), fields, sizeof fields);
  return bytes;
}

// The value of `tag` in a raw FIX message, or empty.
std::string_view field(std::string_view message, std::string_view tag) {
  std::string needle(1, '\x01');
  needle.append(tag);
  needle.push_back('=');
  const auto at = message.find(needle);
  if (at == std::string_view::npos) return {};
  const auto from = at + needle.size();
  return message.substr(from, message.find('\x01', from) - from);
}

// The report a raw message is (see report_identity), or nothing for others.
std::optional<std::string> report_in(std::string_view message) {
  const std::string_view type = field(message, "35");
  if (type == "8") return FixStateStore::report_identity('8', field(message, "17"));
  if (type == "9" || type == "r")
    return FixStateStore::report_identity(type[0], field(message, "11"));
  return std::nullopt;
}

int be32_at_end(std::string_view bytes) {
  std::uint32_t value = 0;
  for (std::size_t i = bytes.size() - 4; i < bytes.size(); ++i)
    value = value << 8 | static_cast<unsigned char>(bytes[i]);
  return static_cast<int>(value);
}

std::string stored_value(const std::string& message, int next_target) {
  std::string value;
  value.reserve(message.size() + 5);
  value.append(message);
  value.push_back('\0');  // never in a FIX message, which ends with SOH
  append_be32(value, next_target);
  return value;
}

// Values stored before the incoming number was recorded are the bare message.
bool has_record(std::string_view value) {
  return value.size() >= 5 && value[value.size() - 5] == '\0';
}

std::string_view message_in(std::string_view value) {
  return has_record(value) ? value.substr(0, value.size() - 5) : value;
}

std::string encode_marks(const std::map<std::string, int>& marks) {
  proto::FixSessionMarks message;
  for (const auto& [session, sequence] : marks)
    (*message.mutable_last_stored())[session] = static_cast<std::uint32_t>(sequence);
  return message.SerializeAsString();
}

std::map<std::string, int> decode_marks(const std::string& bytes) {
  proto::FixSessionMarks message;
  std::map<std::string, int> marks;
  if (!message.ParseFromString(bytes)) return marks;  // every session scanned from its start
  for (const auto& [session, sequence] : message.last_stored())
    marks[session] = static_cast<int>(sequence);
  return marks;
}

}  // namespace

FixStateStore::FixStateStore(const std::filesystem::path& directory, Options options)
    : options_(std::move(options)) {
  std::filesystem::create_directories(directory);
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.info_log = storage::stderr_info_log("fix-state");  // not a LOG file on its disk
  // Nine threads (each session's and the report sender) write here, one
  // small batch per FIX message. RocksDB's default has a writer that finds
  // another one ahead spin and yield for up to 100 us: on a small machine
  // that takes the CPU the writer ahead needs. Wait on the condition instead.
  db_options.enable_write_thread_adaptive_yield = false;
  rocksdb::DB* raw = nullptr;
  check(rocksdb::DB::Open(db_options, directory.string(), &raw), "opening");
  db_.reset(raw);
  std::string marks;
  const auto status = db_->Get({}, "marks", &marks);
  if (!status.IsNotFound()) check(status, "reading the checkpoint's marks");
  at_checkpoint_ = recovery_marks_ = decode_marks(marks);
}

FixStateStore::FixStateStore(const std::filesystem::path& directory)
    : FixStateStore(directory, Options{}) {}

FixStateStore::~FixStateStore() = default;

void FixStateStore::check(const rocksdb::Status& status, const char* doing) const {
  if (status.ok()) return;
  const std::string cause = std::string(doing) + ": " + status.ToString();
  // Told once, and not when the store cannot open (gpuxd then does not start).
  if (options_.on_failure && db_ && !failed_.exchange(true)) options_.on_failure(cause);
  throw storage::StorageError("FIX state store: " + cause);
}

void FixStateStore::put(const std::string& key, const std::string& value) {
  check(db_->Put({}, key, value), "writing");
  ++writes_;
}

void FixStateStore::write(rocksdb::WriteBatch& batch, const char* doing) {
  check(db_->Write({}, &batch), doing);
  ++writes_;
}

bool FixStateStore::make_durable() {
  // Once a write or sync failed, never again: a retried fsync can succeed
  // after the kernel dropped the pages that failed.
  if (failed_) return false;
  if (!options_.sync) return true;
  const std::uint64_t written = writes_.load();
  std::lock_guard lock(sync_mutex_);
  if (synced_writes_ >= written) return true;
  try {
    check(db_->SyncWAL(), "syncing");
  } catch (const storage::StorageError&) {
    return false;
  }
  synced_writes_ = written;
  return true;
}

fix::SessionState FixStateStore::load(const std::string& session) {
  std::string bytes;
  fix::SessionState state;
  const LastSent last = last_stored(session);
  {
    std::lock_guard lock(mutex_);
    stored_[session] = last.sequence;
  }
  const auto status = db_->Get({}, state_key(session), &bytes);
  if (status.IsNotFound()) {
    state.next_sender = last.sequence + 1;
    state.next_target = std::max(state.next_target, last.next_target);
    return state;
  }
  check(status, "reading session state");
  // 24 bytes: written before generations were kept (generation 0).
  if (bytes.size() != 24 && bytes.size() != 32)
    throw storage::StorageError("FIX state store: bad state for " + session);
  std::int64_t fields[4] = {};
  std::memcpy(fields, bytes.data(), bytes.size());
  state.next_sender = static_cast<int>(fields[0]);
  state.next_target = static_cast<int>(fields[1]);
  state.creation_time = fields[2];
  state.generation = fields[3];
  state.next_sender = std::max(state.next_sender, last.sequence + 1);
  state.next_target = std::max(state.next_target, last.next_target);
  return state;
}

FixStateStore::LastSent FixStateStore::last_stored(const std::string& session) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  const std::string prefix = prefixed('m', session, true);
  it->SeekForPrev(message_key(session, kLastSequence));
  check(it->status(), "finding the last sent message");
  if (!it->Valid() || !it->key().starts_with(prefix)) return {};
  const std::string_view value = it->value().ToStringView();
  return {be32_at_end(it->key().ToStringView()), has_record(value) ? be32_at_end(value) : 0};
}

void FixStateStore::store_sent(const std::string& session, int sequence, const std::string& message,
                               int next_target) {
  put(message_key(session, sequence), stored_value(message, next_target));
  std::lock_guard lock(mutex_);
  int& last = stored_[session];
  last = std::max(last, sequence);
}

std::vector<std::string> FixStateStore::sent(const std::string& session, int begin, int end) {
  std::vector<std::string> messages;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  const std::string last = message_key(session, end);
  for (it->Seek(message_key(session, begin)); it->Valid() && it->key().compare(last) <= 0;
       it->Next())
    messages.emplace_back(message_in(it->value().ToStringView()));
  check(it->status(), "reading sent messages");
  return messages;
}

void FixStateStore::save(const std::string& session, const fix::SessionState& state) {
  put(state_key(session), encode(state));
}

void FixStateStore::reset(const std::string& session, const fix::SessionState& fresh) {
  int mark = 0;
  {
    std::lock_guard lock(mutex_);
    if (const auto found = at_checkpoint_.find(session); found != at_checkpoint_.end())
      mark = found->second;
  }
  rocksdb::WriteBatch batch;
  // The reports since the checkpoint outlive their messages: a replay from
  // that checkpoint must still find them sent.
  for (const std::string& identity : reports_after(session, mark))
    batch.Put(sent_key(session, identity), "");
  batch.DeleteRange(db_->DefaultColumnFamily(), message_key(session, 0),
                    message_key(session, kLastSequence));
  batch.Put(state_key(session), encode(fresh));
  write(batch, "resetting a session");
  std::lock_guard lock(mutex_);
  stored_[session] = 0;
  at_checkpoint_[session] = 0;
}

std::set<std::string> FixStateStore::reports_after(const std::string& session, int after) {
  std::set<std::string> reports;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  const std::string last = message_key(session, kLastSequence);
  for (it->Seek(message_key(session, after + 1)); it->Valid() && it->key().compare(last) <= 0;
       it->Next())
    if (auto report = report_in(message_in(it->value().ToStringView())))
      reports.insert(std::move(*report));
  check(it->status(), "reading sent messages");
  return reports;
}

bool FixStateStore::was_sent(const std::string& session, std::string_view identity) {
  {
    std::unique_lock lock(mutex_);
    auto found = sent_since_recovery_mark_.find(session);
    if (found == sent_since_recovery_mark_.end()) {
      const auto mark = recovery_marks_.find(session);
      const int after = mark == recovery_marks_.end() ? 0 : mark->second;
      lock.unlock();
      auto reports = reports_after(session, after);
      lock.lock();
      found = sent_since_recovery_mark_.emplace(session, std::move(reports)).first;
    }
    if (found->second.contains(std::string(identity))) return true;
  }
  std::string ignored;
  const auto status = db_->Get({}, sent_key(session, identity), &ignored);
  if (status.IsNotFound()) return false;
  check(status, "reading the sent index");
  return true;
}

std::string FixStateStore::report_identity(char msg_type, std::string_view id) {
  std::string identity(1, msg_type);
  identity.append(id);
  return identity;
}

void FixStateStore::write_checkpoint(const std::string& bytes) {
  rocksdb::WriteBatch batch;
  batch.Put("checkpoint", bytes);
  std::lock_guard lock(mutex_);
  batch.Put("marks", encode_marks(stored_));
  // What resets kept is covered by the marks from here on.
  batch.DeleteRange(db_->DefaultColumnFamily(), "x", "y");
  write(batch, "writing the checkpoint");
  at_checkpoint_ = stored_;
}

std::optional<std::string> FixStateStore::checkpoint() {
  std::string bytes;
  const auto status = db_->Get({}, "checkpoint", &bytes);
  if (status.IsNotFound()) return std::nullopt;
  check(status, "reading the checkpoint");
  return bytes;
}

namespace {

std::string ended_prefix(const std::string& symbol) {
  return prefixed('e', symbol, true);
}

}  // namespace

void FixStateStore::remember_ended(std::span<const EndedOrder> orders) {
  rocksdb::WriteBatch batch;
  for (const EndedOrder& o : orders) {
    std::string key = ended_prefix(o.symbol);
    key += o.session;
    key += '\0';
    key += o.cl_ord_id;
    batch.Put(key, o.bytes);
  }
  write(batch, "writing ended orders");
}

void FixStateStore::forget_ended(const std::string& symbol) {
  std::string end = ended_prefix(symbol);
  end.back() = '\1';  // just past every key under the symbol
  rocksdb::WriteBatch batch;
  batch.DeleteRange(db_->DefaultColumnFamily(), ended_prefix(symbol), end);
  write(batch, "forgetting ended orders");
}

std::vector<std::string> FixStateStore::ended() {
  std::vector<std::string> records;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  for (it->Seek("e"); it->Valid() && it->key().starts_with("e"); it->Next())
    records.push_back(it->value().ToString());
  check(it->status(), "reading ended orders");
  return records;
}

}  // namespace gpux::fix

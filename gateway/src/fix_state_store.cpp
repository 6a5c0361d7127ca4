#include "fix_state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstring>

#include "gpux/storage/journal.h"

namespace gpux::gateway {

namespace {

// Keys: "s" session -> state; "m" session \0 be32(seq) -> message;
// "x" session \0 identity -> ""; "checkpoint".
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

std::string message_key(const std::string& session, int sequence) {
  std::string key = prefixed('m', session, true);
  for (int shift = 24; shift >= 0; shift -= 8)
    key.push_back(static_cast<char>((static_cast<std::uint32_t>(sequence) >> shift) & 0xff));
  return key;
}

std::string sent_key(const std::string& session, std::string_view identity) {
  std::string key = prefixed('x', session, true);
  key.append(identity);
  return key;
}

void check(const rocksdb::Status& status, const char* doing) {
  if (!status.ok())
    throw storage::StorageError(std::string("FIX state store: ") + doing + ": " +
                                status.ToString());
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

}  // namespace

FixStateStore::FixStateStore(const std::filesystem::path& directory) {
  std::filesystem::create_directories(directory);
  rocksdb::Options options;
  options.create_if_missing = true;
  // Nine threads (each session's and the report sender) write here, one
  // small batch per FIX message. RocksDB's default has a writer that finds
  // another one ahead spin and yield for up to 100 us: on a small machine
  // that takes the CPU the writer ahead needs. Wait on the condition instead.
  options.enable_write_thread_adaptive_yield = false;
  rocksdb::DB* raw = nullptr;
  check(rocksdb::DB::Open(options, directory.string(), &raw), "opening");
  db_.reset(raw);
}

FixStateStore::~FixStateStore() = default;

void FixStateStore::put(const std::string& key, const std::string& value) {
  check(db_->Put({}, key, value), "writing");
}

fix::SessionState FixStateStore::load(const std::string& session) {
  std::string bytes;
  fix::SessionState state;
  const auto status = db_->Get({}, state_key(session), &bytes);
  if (status.IsNotFound()) return state;
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
  return state;
}

void FixStateStore::store_sent(const std::string& session, int sequence, const std::string& message,
                               const fix::SessionState& after) {
  rocksdb::WriteBatch batch;
  batch.Put(message_key(session, sequence), message);
  batch.Put(state_key(session), encode(after));
  const std::string_view type = field(message, "35");
  if (type == "8") batch.Put(sent_key(session, report_identity('8', field(message, "17"))), "");
  if (type == "9" || type == "r")
    batch.Put(sent_key(session, report_identity(type[0], field(message, "11"))), "");
  check(db_->Write({}, &batch), "storing a sent message");
}

std::vector<std::string> FixStateStore::sent(const std::string& session, int begin, int end) {
  std::vector<std::string> messages;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  const std::string last = message_key(session, end);
  for (it->Seek(message_key(session, begin)); it->Valid() && it->key().compare(last) <= 0;
       it->Next())
    messages.push_back(it->value().ToString());
  check(it->status(), "reading sent messages");
  return messages;
}

void FixStateStore::save(const std::string& session, const fix::SessionState& state) {
  put(state_key(session), encode(state));
}

void FixStateStore::reset(const std::string& session, const fix::SessionState& fresh) {
  rocksdb::WriteBatch batch;
  batch.DeleteRange(db_->DefaultColumnFamily(), message_key(session, 0),
                    message_key(session, -1));  // -1 is the largest be32 key
  batch.Put(state_key(session), encode(fresh));
  check(db_->Write({}, &batch), "resetting a session");
}

bool FixStateStore::was_sent(const std::string& session, std::string_view identity) {
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
  put("checkpoint", bytes);
}

std::optional<std::string> FixStateStore::checkpoint() {
  std::string bytes;
  const auto status = db_->Get({}, "checkpoint", &bytes);
  if (status.IsNotFound()) return std::nullopt;
  check(status, "reading the checkpoint");
  return bytes;
}

}  // namespace gpux::gateway

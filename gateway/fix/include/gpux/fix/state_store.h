// The FIX gateway's own RocksDB (data/fix-state): QuickFIX session state and
// sent messages for resend, and the gateway's checkpoint. A message is
// written before QuickFIX hands it to its connection, and the connection
// calls make_durable() before its bytes leave: one fsync for all the messages
// a batch of reports stored, so a power loss never makes a session number a
// message the same as one a client has seen. Orders and their sequence
// numbers are the journal's; after a crash the gateway rebuilds its reports
// from the journal and the clients' resend requests (docs/fix-spec.md,
// "Recovery").
//
// One key per sent message, nothing else, because that write is on every
// report's path: a session's next outgoing number is found from its last
// stored message (which also records the incoming number then), and which
// reports a session was sent is read back from the messages stored since the
// gateway's checkpoint (each checkpoint notes how far every session's
// messages went).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "session_store.h"

namespace rocksdb {
class DB;
class Status;
class WriteBatch;
}  // namespace rocksdb

namespace gpux::fix {

class FixStateStore final : public fix::SessionStore {
 public:
  struct Options {
    // Whether make_durable() fsyncs: gpuxd's `sync`, as for the journal.
    bool sync = true;
    // Called with the cause when the store first cannot be read, written or
    // synced, before the call throws: gpuxd stops, as when its journal fails.
    std::function<void(const std::string& cause)> on_failure;
  };

  // Throws storage::StorageError when the database cannot be opened.
  FixStateStore(const std::filesystem::path& directory, Options options);
  explicit FixStateStore(const std::filesystem::path& directory);  // default Options
  ~FixStateStore() override;

  fix::SessionState load(const std::string& session) override;
  void store_sent(const std::string& session, int sequence, const std::string& message,
                  int next_target) override;
  std::vector<std::string> sent(const std::string& session, int begin, int end) override;
  void save(const std::string& session, const fix::SessionState& state) override;
  void reset(const std::string& session, const fix::SessionState& fresh) override;
  // Fsyncs what was written before the call, unless nothing was since the
  // last time or Options::sync is off. False when it failed, or any call
  // failed before (on_failure has been told).
  bool make_durable() override;

  // Whether a report with this identity (see report_identity), for a command
  // after the checkpoint, was sent to the session: how a replay after a crash
  // avoids sending one twice.
  bool was_sent(const std::string& session, std::string_view identity);
  // ExecutionReports are known by ExecID, OrderCancelReject and
  // OrderMassCancelReport by the ClOrdID they answer.
  static std::string report_identity(char msg_type, std::string_view id);

  // Written once every report before it is stored (see FixOrderEntry).
  void write_checkpoint(const std::string& bytes);
  std::optional<std::string> checkpoint();

  // Orders that ended, by instrument, until its gate closes (what
  // FixOrderEntry's OrderIndex remembers): one record each, replaced when
  // written again; many in one write.
  struct EndedOrder {
    std::string bytes;  // the gateway's record of it
    std::string symbol, session, cl_ord_id;
  };
  void remember_ended(std::span<const EndedOrder> orders);
  void forget_ended(const std::string& symbol);
  std::vector<std::string> ended();

 private:
  using Marks = std::map<std::string, int>;  // session -> last sequence stored
  void put(const std::string& key, const std::string& value);
  void write(rocksdb::WriteBatch& batch, const char* doing);
  // Throws, and tells on_failure, unless `status` is ok.
  void check(const rocksdb::Status& status, const char* doing) const;
  struct LastSent {
    int sequence = 0;
    int next_target = 0;  // as that message recorded it; 0 if it did not
  };
  LastSent last_stored(const std::string& session);
  // The identities of the reports in the session's messages after `after`.
  std::set<std::string> reports_after(const std::string& session, int after);

  const Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::atomic<std::uint64_t> writes_{0};     // since the start
  mutable std::atomic<bool> failed_{false};  // on_failure was called
  std::mutex sync_mutex_;
  std::uint64_t synced_writes_ = 0;  // the writes the last fsync covered
  std::mutex mutex_;                 // what follows: written by every session's thread
  Marks stored_;                     // sessions loaded since the start
  Marks at_checkpoint_;
  // Since the checkpoint that recovery starts from, filled when first asked.
  Marks recovery_marks_;  // set once, at open
  std::map<std::string, std::set<std::string>> sent_since_recovery_mark_;
};

}  // namespace gpux::fix

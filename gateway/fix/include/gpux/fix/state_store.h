// The FIX gateway's own RocksDB (data/fix-state): QuickFIX session state and
// sent messages for resend, and the gateway's checkpoint. Writes are not
// fsync'd: they reach the operating system before QuickFIX puts the message
// on the wire, so they survive gpuxd being killed; after a machine crash the
// gateway rebuilds from the journal and the clients' resend requests
// (docs/fix-spec.md, "Recovery").
//
// One key per sent message, nothing else, because that write is on every
// report's path: a session's next outgoing number is found from its last
// stored message (which also records the incoming number then), and which
// reports a session was sent is read back from the messages stored since the
// gateway's checkpoint (each checkpoint notes how far every session's
// messages went).
#pragma once

#include <filesystem>
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
}

namespace gpux::fix {

class FixStateStore final : public fix::SessionStore {
 public:
  // Throws storage::StorageError when the database cannot be opened.
  explicit FixStateStore(const std::filesystem::path& directory);
  ~FixStateStore() override;

  fix::SessionState load(const std::string& session) override;
  void store_sent(const std::string& session, int sequence, const std::string& message,
                  int next_target) override;
  std::vector<std::string> sent(const std::string& session, int begin, int end) override;
  void save(const std::string& session, const fix::SessionState& state) override;
  void reset(const std::string& session, const fix::SessionState& fresh) override;

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
  struct LastSent {
    int sequence = 0;
    int next_target = 0;  // as that message recorded it; 0 if it did not
  };
  LastSent last_stored(const std::string& session);
  // The identities of the reports in the session's messages after `after`.
  std::set<std::string> reports_after(const std::string& session, int after);

  std::unique_ptr<rocksdb::DB> db_;
  std::mutex mutex_;  // what follows: written by every session's thread
  Marks stored_;      // sessions loaded since the start
  Marks at_checkpoint_;
  // Since the checkpoint that recovery starts from, filled when first asked.
  Marks recovery_marks_;  // set once, at open
  std::map<std::string, std::set<std::string>> sent_since_recovery_mark_;
};

}  // namespace gpux::fix

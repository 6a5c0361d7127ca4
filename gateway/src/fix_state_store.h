// The FIX gateway's own RocksDB (data/fix-state): QuickFIX session state for
// resend, an index of the reports each session was sent, and the gateway's
// checkpoint. Writes are not fsync'd: they reach the operating system before
// QuickFIX puts the message on the wire, so they survive gpuxd being killed;
// after a machine crash the gateway rebuilds from the journal and the
// clients' resend requests (docs/fix-spec.md, "Recovery").
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fix/session_store.h"

namespace rocksdb {
class DB;
}

namespace gpux::gateway {

class FixStateStore final : public fix::SessionStore {
 public:
  // Throws storage::StorageError when the database cannot be opened.
  explicit FixStateStore(const std::filesystem::path& directory);
  ~FixStateStore() override;

  fix::SessionState load(const std::string& session) override;
  void store_sent(const std::string& session, int sequence, const std::string& message,
                  const fix::SessionState& after) override;
  std::vector<std::string> sent(const std::string& session, int begin, int end) override;
  void save(const std::string& session, const fix::SessionState& state) override;
  void reset(const std::string& session, const fix::SessionState& fresh) override;

  // Whether a report with this identity (see report_identity) was ever sent
  // to the session: how a replay after a crash avoids sending one twice.
  bool was_sent(const std::string& session, std::string_view identity);
  // ExecutionReports are known by ExecID, OrderCancelReject and
  // OrderMassCancelReport by the ClOrdID they answer.
  static std::string report_identity(char msg_type, std::string_view id);

  void write_checkpoint(const std::string& bytes);
  std::optional<std::string> checkpoint();

 private:
  void put(const std::string& key, const std::string& value);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace gpux::gateway

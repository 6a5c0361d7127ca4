// QuickFIX's MessageStore over a SessionStore, so that sessions resume with
// the right sequence numbers and can resend after gpuxd is killed.
#pragma once

#include <quickfix/MessageStore.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "session_store.h"

namespace gpux {
namespace fix {

class DurableMessageStore;

class DurableMessageStoreFactory : public FIX::MessageStoreFactory {
 public:
  explicit DurableMessageStoreFactory(SessionStore& store) : store_(store) {}
  ~DurableMessageStoreFactory() override;
  FIX::MessageStore* create(const FIX::SessionID& id) override;
  void destroy(FIX::MessageStore* store) override;

  // The numbering generation of the client's session (0 if it has none).
  std::int64_t generation(const std::string& client);
  // After a restart, before connections: if the client's session still
  // numbers as `generation`, its messages up to `last` are journaled and must
  // not be asked for again (a resend would submit them twice).
  void expect_after(const std::string& client, std::int64_t generation, int last);

 private:
  SessionStore& store_;
  // A std::mutex, not QuickFIX's: FIX::Mutex reads its owner unlocked to
  // allow recursion, a data race (ThreadSanitizer) between the threads that
  // make sessions and the one that sets their expectations.
  std::mutex mutex_;
  std::map<std::string, DurableMessageStore*> live_;  // by client CompID
  // expect_after's, by client, for sessions made later.
  std::map<std::string, std::pair<std::int64_t, int>> expected_;
};

}  // namespace fix
}  // namespace gpux

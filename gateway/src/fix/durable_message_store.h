// QuickFIX's MessageStore over a SessionStore, so that sessions resume with
// the right sequence numbers and can resend after gpuxd is killed.
#pragma once

#include <quickfix/MessageStore.h>

#include "session_store.h"

namespace gpux {
namespace fix {

class DurableMessageStoreFactory : public FIX::MessageStoreFactory {
 public:
  explicit DurableMessageStoreFactory(SessionStore& store) : store_(store) {}
  FIX::MessageStore* create(const FIX::SessionID& id) override;
  void destroy(FIX::MessageStore* store) override;

 private:
  SessionStore& store_;
};

}  // namespace fix
}  // namespace gpux

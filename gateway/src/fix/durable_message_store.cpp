#include "durable_message_store.h"

#include <ctime>

namespace gpux {
namespace fix {
namespace {

// The sequence numbers are cached; every change is written through before
// QuickFIX goes on, so the store never lags what was sent or accepted.
class DurableMessageStore : public FIX::MessageStore {
 public:
  DurableMessageStore(SessionStore& store, std::string session)
      : store_(store), session_(std::move(session)), state_(store_.load(session_)) {
    durable_next_sender_ = state_.next_sender;
    if (state_.creation_time == 0) reset();
  }

  // QuickFIX then counts the message with incrNextSenderMsgSeqNum(), which
  // finds the number already durable and writes nothing.
  bool set(int sequence, const std::string& message) throw(FIX::IOException) override {
    SessionState after = state_;
    after.next_sender = sequence + 1;
    guard([&] { store_.store_sent(session_, sequence, message, after); });
    durable_next_sender_ = after.next_sender;
    return true;
  }
  void get(int begin, int end, std::vector<std::string>& out) const
      throw(FIX::IOException) override {
    guard([&] { out = store_.sent(session_, begin, end); });
  }
  int getNextSenderMsgSeqNum() const throw(FIX::IOException) override { return state_.next_sender; }
  int getNextTargetMsgSeqNum() const throw(FIX::IOException) override { return state_.next_target; }
  void setNextSenderMsgSeqNum(int n) throw(FIX::IOException) override {
    state_.next_sender = n;
    save();
  }
  void setNextTargetMsgSeqNum(int n) throw(FIX::IOException) override {
    state_.next_target = n;
    save();
  }
  void incrNextSenderMsgSeqNum() throw(FIX::IOException) override {
    if (++state_.next_sender != durable_next_sender_) save();
  }
  void incrNextTargetMsgSeqNum() throw(FIX::IOException) override {
    ++state_.next_target;
    save();
  }
  FIX::UtcTimeStamp getCreationTime() const throw(FIX::IOException) override {
    return FIX::UtcTimeStamp(static_cast<time_t>(state_.creation_time));
  }
  void reset() throw(FIX::IOException) override {
    state_ = SessionState();
    state_.creation_time = static_cast<std::int64_t>(std::time(nullptr));
    guard([&] { store_.reset(session_, state_.creation_time); });
    durable_next_sender_ = state_.next_sender;
  }
  void refresh() throw(FIX::IOException) override {
    guard([&] { state_ = store_.load(session_); });
    durable_next_sender_ = state_.next_sender;
  }

 private:
  void save() {
    guard([&] { store_.save(session_, state_); });
    durable_next_sender_ = state_.next_sender;
  }
  // QuickFIX expects its own exception type for storage failures.
  template <typename F>
  void guard(F f) const {
    try {
      f();
    } catch (const std::exception& e) {
      throw FIX::IOException(e.what());
    }
  }

  SessionStore& store_;
  std::string session_;
  SessionState state_;
  int durable_next_sender_ = 1;  // what the store holds
};

}  // namespace

FIX::MessageStore* DurableMessageStoreFactory::create(const FIX::SessionID& id) {
  return new DurableMessageStore(store_, id.getTargetCompID().getValue());
}

void DurableMessageStoreFactory::destroy(FIX::MessageStore* store) {
  delete store;
}

}  // namespace fix
}  // namespace gpux

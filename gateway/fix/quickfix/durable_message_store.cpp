#include "durable_message_store.h"

#include <ctime>
#include <mutex>

namespace gpux {
namespace fix {

// The sequence numbers are cached. The outgoing number is kept by the sent
// message itself, stored before QuickFIX sends it, so it never lags what was
// sent. The incoming number gets no write of its own (that was a write on
// every order's path): each sent message records it, so it lags only what is
// not answered yet; QuickFIX's own changes (Logon, SequenceReset) and a
// clean stop write it; and the journal holds the number of each instruction
// it accepted, from which a restart expects the rest (expect_after). A
// number lost in a crash only makes gpuxd ask the client to resend what never
// reached the journal and was not answered: no instruction is lost or doubled.
//
// QuickFIX calls a store only under its SessionState's lock, but gpuxd's main
// thread (expect_after) and the poll thread (generation) reach it through the
// factory, around that lock, while the FIX sender may be sending reports that
// recovery queued: so the numbers have a lock of their own. It is the
// innermost lock and uncontended on the order path.
class DurableMessageStore : public FIX::MessageStore {
 public:
  DurableMessageStore(SessionStore& store, std::string session)
      : store_(store), session_(std::move(session)), state_(store_.load(session_)) {
    durable_ = state_;
    if (state_.creation_time == 0) reset();
  }
  // A clean stop keeps the incoming number.
  ~DurableMessageStore() override {
    try {
      std::lock_guard<std::mutex> lock(mutex_);
      if (state_.next_target != durable_.next_target) save();
    } catch (...) {
      // A destructor cannot report it; the client resends what is missing.
    }
  }

  // QuickFIX then counts the message with incrNextSenderMsgSeqNum(), which
  // finds the number already durable and writes nothing.
  bool set(int sequence, const std::string& message) throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    guard([&] { store_.store_sent(session_, sequence, message, state_.next_target); });
    durable_.next_sender = sequence + 1;
    durable_.next_target = state_.next_target;
    return true;
  }
  void get(int begin, int end, std::vector<std::string>& out) const
      throw(FIX::IOException) override {
    guard([&] { out = store_.sent(session_, begin, end); });
  }
  int getNextSenderMsgSeqNum() const throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return state_.next_sender;
  }
  int getNextTargetMsgSeqNum() const throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return state_.next_target;
  }
  void setNextSenderMsgSeqNum(int n) throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.next_sender = n;
    save();
  }
  void setNextTargetMsgSeqNum(int n) throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.next_target = n;
    save();
  }
  void incrNextSenderMsgSeqNum() throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (++state_.next_sender != durable_.next_sender) save();
  }
  void incrNextTargetMsgSeqNum() throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++state_.next_target;
  }
  FIX::UtcTimeStamp getCreationTime() const throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return FIX::UtcTimeStamp(static_cast<time_t>(state_.creation_time));
  }
  void reset() throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::int64_t generation = state_.generation + 1;
    state_ = SessionState();
    state_.creation_time = static_cast<std::int64_t>(std::time(nullptr));
    state_.generation = generation;
    guard([&] { store_.reset(session_, state_); });
    durable_ = state_;
  }
  void refresh() throw(FIX::IOException) override {
    std::lock_guard<std::mutex> lock(mutex_);
    guard([&] { state_ = store_.load(session_); });
    durable_ = state_;
  }

  // Changed only on the session's own thread (a reset), read on the poll thread.
  std::int64_t generation() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return state_.generation;
  }
  // From gpuxd's main thread, while the sender may already send through this store.
  void expect_after(std::int64_t generation, int last) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != state_.generation || state_.next_target > last) return;
    state_.next_target = last + 1;
    save();
  }

 private:
  void save() {  // mutex_ held
    guard([&] { store_.save(session_, state_); });
    durable_ = state_;
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
  mutable std::mutex mutex_;  // state_ and durable_
  SessionState state_;
  SessionState durable_;  // what the store holds
};

FIX::MessageStore* DurableMessageStoreFactory::create(const FIX::SessionID& id) {
  const std::string client = id.getTargetCompID().getValue();
  auto* store = new DurableMessageStore(store_, client);
  std::lock_guard<std::mutex> lock(mutex_);
  // One there already was left by a session that could not be made (its
  // log would not open), which never destroys its store: ours to delete.
  const auto orphan = live_.find(client);
  if (orphan != live_.end()) delete orphan->second;
  live_[client] = store;
  // Expected before the session was made (seats' sessions are made on
  // first need, after recovery).
  const auto expected = expected_.find(client);
  if (expected != expected_.end())
    store->expect_after(expected->second.first, expected->second.second);
  return store;
}

DurableMessageStoreFactory::~DurableMessageStoreFactory() {
  // Sessions destroy their stores first: what is left are orphans (above).
  for (const auto& entry : live_)
    delete entry.second;
}

void DurableMessageStoreFactory::destroy(FIX::MessageStore* store) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = live_.begin(); it != live_.end(); ++it)
      if (it->second == store) {
        live_.erase(it);
        break;
      }
  }
  delete store;
}

std::int64_t DurableMessageStoreFactory::generation(const std::string& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = live_.find(client);
  return found == live_.end() ? 0 : found->second->generation();
}

void DurableMessageStoreFactory::expect_after(const std::string& client, std::int64_t generation,
                                              int last) {
  std::lock_guard<std::mutex> lock(mutex_);
  expected_[client] = {generation, last};
  const auto found = live_.find(client);
  if (found != live_.end()) found->second->expect_after(generation, last);
}

}  // namespace fix
}  // namespace gpux

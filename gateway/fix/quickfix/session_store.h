// FIX session state that must survive a crash of gpuxd: sequence numbers and
// the messages sent (for resend). Plain C++ so that the QuickFIX side (C++14)
// can use an implementation that lives with RocksDB (C++20).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gpux::fix {

struct SessionState {
  int next_sender = 1;
  int next_target = 1;
  std::int64_t creation_time = 0;  // Unix seconds; 0 when the session is new
  // How many times the numbering restarted at 1: journaled with each order,
  // so that after a crash the journal's sequence numbers are only trusted
  // while the session still numbers the same way.
  std::int64_t generation = 0;
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  virtual SessionState load(const std::string& session) = 0;
  // Keeps message `sequence` for resend, with the number expected next from
  // the client when it was sent. It also counts it: load() finds the next
  // outgoing number past the last message kept (so a crash between storing
  // and counting cannot send two messages under one number), and expects at
  // least the incoming number that message recorded.
  virtual void store_sent(const std::string& session, int sequence, const std::string& message,
                          int next_target) = 0;
  // Messages [begin, end] that are still kept, in order.
  virtual std::vector<std::string> sent(const std::string& session, int begin, int end) = 0;
  virtual void save(const std::string& session, const SessionState& state) = 0;
  // A new FIX session day: numbers back to 1 (`fresh`), kept messages dropped.
  virtual void reset(const std::string& session, const SessionState& fresh) = 0;
  // Makes everything stored so far survive a power loss; called before the
  // bytes of stored messages leave. False when it failed: nothing may leave.
  virtual bool make_durable() = 0;
};

}  // namespace gpux::fix

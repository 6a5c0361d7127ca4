// The FIX 4.4 acceptor: QuickFIX sessions in, OrderEntry calls out. This
// header is plain C++ so that C++20 code can start and stop it. A seat's
// session (and its state from the SessionStore) is made when first needed,
// so reports can be queued for resend before start() accepts connections,
// and a seat created at run time logs on at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "order_entry.h"
#include "session_store.h"

namespace gpux::fix {

// Filled in from the gateway's FixConfig (gpux/fix/config.h), which holds
// the defaults; none are repeated here.
struct AcceptorOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 literal to bind
  int port = 0;
  std::string target_comp_id;       // the exchange's CompID
  std::string data_dictionary;      // path to gpux-FIX44.xml
  std::string log_directory;        // every session's messages and events
  int max_messages_per_second = 0;  // per session; more are rejected, not queued
  // Per connection: a client that leaves more unread is disconnected (its
  // messages stay in the session store for the resend after its next logon).
  std::size_t max_unsent_bytes = 0;
  std::size_t max_connections = 0;              // open at once, logged on or not
  std::size_t max_connections_per_address = 0;  // the same, from one source address
  int logon_timeout_ms = 0;                     // for a connection's Logon
  std::size_t max_bytes_before_logon = 0;       // and what it may send first
  std::size_t max_message_bytes = 0;            // one message from a client, at most
};

class Acceptor {
 public:
  Acceptor(const AcceptorOptions& options, OrderEntry& entry, SessionStore& store);
  ~Acceptor();
  // After a restart, before start(): the client's messages up to
  // `last_journaled` in numbering `generation` reached the journal, so
  // they are never asked for again (see DurableMessageStore).
  void expect_after(const std::string& client, std::int64_t generation, int last_journaled);
  void start();
  void stop();
  // Sessions logged on now (for /metrics); from any thread.
  std::size_t sessions_logged_on() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpux::fix

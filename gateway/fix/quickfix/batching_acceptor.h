// A QuickFIX acceptor whose sockets write in batches. QuickFIX's own
// SocketAcceptor sends every message with its own select() and send(); with
// TCP_NODELAY that is one TCP segment per report, and without it Nagle's
// algorithm holds a report for the client's delayed ACK (40 ms). Here the
// thread that sends a batch of reports says where the batch ends, and each
// connection's messages of the batch leave in one send(). Sessions, their
// stores, logs and rules are QuickFIX's, unchanged: only the socket layer is
// ours (QuickFIX allows that through FIX::Acceptor and FIX::Responder), on
// Boost.Asio as the provider API's is. One thread runs its io_context: it
// accepts, reads, and waits for room on full sockets; the sending threads
// write on the descriptors themselves, so a batch costs no hand-off.
//
// A client that stops reading is disconnected once `max_unsent_bytes` wait
// for it; its messages stay in its session store for the resend after it
// logs on again. A connection's first message goes to `vet_logon` on a
// thread of its own before its session sees it: for checks too slow for the
// one thread that serves every session (a password hash). No connection
// writes a byte before `make_durable` has returned true (the session stores'
// fsync, once per batch).
#pragma once

#include <quickfix/Acceptor.h>
#include <quickfix/DataDictionaryProvider.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace gpux {
namespace fix {

// What one listener allows its connections (gpuxd's fix_* settings).
struct SocketLimits {
  // Per connection: a client that leaves more unread is disconnected.
  std::size_t max_unsent_bytes = 0;
  // Open connections, logged on or not; more are accepted and closed at once.
  std::size_t max_connections = 0;
  // The same, from one source address: one peer cannot take every slot.
  std::size_t max_connections_per_address = 0;
  // A connection that has not logged on by then is closed.
  std::chrono::milliseconds logon_timeout{0};
  // What it may send before then: a stranger may not make the exchange
  // buffer much before saying who it is.
  std::size_t max_bytes_before_logon = 0;
  // One message, at most: a longer one closes the connection as soon as its
  // BodyLength says so, before its body is buffered.
  std::size_t max_message_bytes = 0;
};

// The seats: every session is made here, when it is first needed, for a
// SenderCompID that `is_seat` names, rather than from the settings. QuickFIX
// 1.15's acceptor has no sessions added while it runs; gpux's seats are the
// journal's and change at run time.
struct SeatSessions {
  std::string begin_string;  // FIX.4.4
  std::string comp_id;       // the exchange's: every session's SenderCompID
  std::function<bool(const std::string& client)> is_seat;
  FIX::DataDictionaryProvider dictionaries;  // every session's
};

class BatchingAcceptor : public FIX::Acceptor {
 public:
  // `settings` has the defaults every session gets, and one session that
  // QuickFIX insists on and no connection reaches unless it is a seat.
  BatchingAcceptor(
      FIX::Application& application, FIX::MessageStoreFactory& stores,
      const FIX::SessionSettings& settings, FIX::LogFactory& logs, const std::string& address,
      int port, const SocketLimits& limits, SeatSessions seats,
      std::function<void(const std::string& first_message, const std::string& peer_address)>
          vet_logon,
      std::function<bool()> make_durable);
  ~BatchingAcceptor();

  // The session of the seat `client`, made now if it has none yet; null when
  // `client` is no seat. From any thread.
  FIX::Session* seat_session(const std::string& client);

  // Logs every seat's session out and waits (up to `patience`) until none is
  // logged on; the FIX::Acceptor's stop() then ends the polling. From any
  // thread but the polling one, while it polls.
  void log_out_seats(std::chrono::milliseconds patience);

  // Runs `task` on the polling thread, soon: how other threads reach a
  // session (QuickFIX's session locks race between threads).
  void on_polling_thread(std::function<void()> task);

  // Messages sent by the calling thread from here until end_batch() wait in
  // their connections' buffers; end_batch() writes each connection's at once.
  // Messages sent outside a batch leave immediately.
  static void begin_batch();
  static void end_batch();

  // While a connection's Logon is processed (the Application's fromAdmin),
  // its peer's IPv4 address; empty anywhere else.
  static const std::string& logon_peer();

 private:
  void onConfigure(const FIX::SessionSettings&) throw(FIX::ConfigError) override {}
  void onInitialize(const FIX::SessionSettings&) throw(FIX::RuntimeError) override;
  void onStart() override;
  bool onPoll(double timeout) override;
  void onStop() override;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fix
}  // namespace gpux

#include "batching_acceptor.h"

#include <fcntl.h>
#include <pthread.h>
#include <quickfix/Session.h>
#include <quickfix/SessionFactory.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gpux/admission/admission.h"
#include "message_framer.h"

namespace gpux {
namespace fix {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

struct Connection;

// A batch writes early once this much waits for one connection, so that the
// unsent limit counts what the client has not read, not the batch's size.
const std::size_t kWriteAtBytes = 64 * 1024;

// The calling thread's batch: connections with bytes its sends left waiting.
thread_local bool t_batching = false;
// The peer of the connection whose Logon the poll thread is processing.
thread_local std::string t_logon_peer;
thread_local std::vector<std::shared_ptr<Connection>> t_waiting;

// What a connection needs from the thread that polls it: the io_context
// that thread runs (one thread: every handler runs on it, so the state below
// that handlers touch needs no lock).
struct Poller {
  Poller(std::size_t max_unsent, std::function<bool()> durable)
      : max_unsent_bytes(max_unsent), make_durable(std::move(durable)) {}
  // Makes the polling thread's wait return, from any thread.
  void wake() {
    asio::post(io, [] {});
  }

  asio::io_context io{1};
  // Without pending work (a paused listener, no connections) the wait would
  // return at once instead of after its timeout.
  asio::executor_work_guard<asio::io_context::executor_type> keep_waiting =
      asio::make_work_guard(io);
  const std::size_t max_unsent_bytes;
  const std::function<bool()> make_durable;
  // Connections whose session (or a full buffer) asked to close them.
  std::mutex requests_mutex;
  std::vector<std::shared_ptr<Connection>> close_requests;
};

std::string system_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

struct Connection : FIX::Responder, std::enable_shared_from_this<Connection> {
  Connection(tcp::socket s, Poller& o, std::string peer, std::size_t max_message_bytes)
      : socket(std::move(s)),
        fd(socket.native_handle()),
        owner(o),
        address(std::move(peer)),
        framer(max_message_bytes) {}

  // Called by sessions, from any thread, with the session's lock held.
  bool send(const std::string& message) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (closed || close_requested) return false;
    unsent += message;
    undurable = true;
    // Early within a batch, before the unsent limit can be reached by a
    // client that reads fine (the limit may be as low as 4 KiB).
    if (!t_batching || unsent.size() >= std::min(kWriteAtBytes, owner.max_unsent_bytes / 2)) {
      write_locked();
      if (close_requested) return false;
    } else if (!waiting) {
      waiting = true;
      t_waiting.push_back(shared_from_this());
    }
    if (unsent.size() > owner.max_unsent_bytes) {
      // The session store keeps the message; the client asks for it again
      // after its next logon. Never grow without bound for one slow reader.
      overflowed = true;
      unsent.clear();
      request_close_locked();
      return false;
    }
    return true;
  }

  void disconnect() override {
    std::lock_guard<std::mutex> lock(mutex);
    request_close_locked();
  }

  void request_close_locked() {
    if (close_requested) return;
    close_requested = true;
    {
      std::lock_guard<std::mutex> requests(owner.requests_mutex);
      owner.close_requests.push_back(shared_from_this());
    }
    owner.wake();
  }

  // Writes what the socket takes; the rest waits until it is writable. The
  // sending thread writes itself, on the descriptor: the polling thread only
  // learns of a connection whose socket was full.
  void write_locked() {
    waiting = false;
    // Nothing leaves before the session store holds it durably: a power loss
    // must not undo a message the client has seen. When that fails gpuxd is
    // stopping; the client is disconnected rather than left waiting.
    if (undurable) {
      if (!owner.make_durable()) {
        unsent.clear();
        request_close_locked();
        return;
      }
      undurable = false;
    }
    std::size_t written = 0;
    while (!closed && written < unsent.size()) {
      const ssize_t n =
          ::send(fd, unsent.data() + written, unsent.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        written += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        // EAGAIN: the socket is full. Anything else: the poller sees the
        // error on the socket and closes the connection.
        break;
      }
    }
    unsent.erase(0, written);
    if (!unsent.empty() && !closed && !write_watched) {
      write_watched = true;
      asio::post(owner.io, [self = shared_from_this()] { self->await_writable(); });
    }
  }

  // On the polling thread: Asio's socket objects are not shared between
  // threads, so only this thread starts operations on `socket`.
  void await_writable() {
    if (closed) return;  // written on this thread only
    socket.async_wait(tcp::socket::wait_write, [self = shared_from_this()](const error_code& e) {
      if (e) return;  // closed meanwhile
      std::lock_guard<std::mutex> lock(self->mutex);
      self->write_watched = false;
      self->write_locked();
    });
  }

  tcp::socket socket;  // operations on the polling thread; closed under `mutex`
  const int fd;        // for the sending threads' send(), while not `closed`
  Poller& owner;
  const std::string address;  // the peer's, for logon checks by source
  // The polling thread's own.
  MessageFramer framer;
  FIX::Session* session = nullptr;
  const std::chrono::steady_clock::time_point accepted_at = std::chrono::steady_clock::now();
  std::size_t received_before_logon = 0;  // bytes, until a session is identified
  std::string first_message;              // read, and with the vetting thread until vetted
  bool vetting = false;
  bool awaiting_read = false;  // a wait for input is pending
  // Shared with the threads that send.
  std::mutex mutex;
  std::string unsent;
  // Bytes were added to `unsent` since the store was last made durable
  // (QuickFIX stores a message before it hands it to the connection).
  bool undurable = false;
  bool waiting = false;        // in some thread's t_waiting
  bool write_watched = false;  // a wait until writable is pending or posted
  bool close_requested = false;
  bool overflowed = false;
  bool closed = false;
};

}  // namespace

struct BatchingAcceptor::Impl : Poller {
  Impl(BatchingAcceptor& a, FIX::LogFactory& logs, std::string bind_to, int p,
       const SocketLimits& limits, SeatSessions s,
       std::function<void(const std::string&, const std::string&)> vet,
       std::function<bool()> durable)
      : Poller(limits.max_unsent_bytes, std::move(durable)),
        acceptor(a),
        seats(std::move(s)),
        session_factory(a.getApplication(), a.getMessageStoreFactory(), &logs),
        listen_address(std::move(bind_to)),
        port(p),
        admitted({.max_connections = limits.max_connections,
                  .max_per_address = limits.max_connections_per_address,
                  .max_connections_setting = "fix_max_connections",
                  .max_per_address_setting = "fix_max_connections_per_address"}),
        refusals([this](const std::string& line) { acceptor.getLog()->onEvent(line); }),
        logon_timeout(limits.logon_timeout),
        max_bytes_before_logon(limits.max_bytes_before_logon),
        max_message_bytes(limits.max_message_bytes),
        vet_logon(std::move(vet)) {}
  ~Impl();

  void poll_once(int timeout_ms);
  void accept_next();
  void accepted(tcp::socket socket);
  void out_of_descriptors();
  void await_readable(const std::shared_ptr<Connection>& connection);
  void read(const std::shared_ptr<Connection>& connection);
  void process(const std::shared_ptr<Connection>& connection);
  void run_vetting();
  void stop_vetting();
  void admit_vetted();
  // What became of a connection's first message.
  enum class Identified { admitted, refused, deferred };
  Identified identify(const std::shared_ptr<Connection>& connection, const std::string& message);
  // Identifies a vetted connection and, admitted, goes on reading it.
  void admit(const std::shared_ptr<Connection>& connection);
  // Tells a client whose seat is logged on from another connection so, in
  // a Logout's Text, before its connection is closed.
  void refuse_seat_in_use(const std::shared_ptr<Connection>& connection, FIX::Session& session);
  void close(const std::shared_ptr<Connection>& connection, const std::string& why);
  void close_requested();
  void tick_sessions();
  bool is_open(const std::shared_ptr<Connection>& connection) const {
    const auto found = connections.find(connection->fd);
    return found != connections.end() && found->second == connection;
  }
  // A copy: what is done to each may close it.
  std::vector<std::shared_ptr<Connection>> all_connections() const;

  // Logs the refusal of a connection it cannot serve (accepted and closed
  // at once).
  void refuse(const char* address, const std::string& why);
  // Closes a connection that has not logged on, with an event-log line.
  void refuse_unidentified(const std::shared_ptr<Connection>& connection, const std::string& why);

  BatchingAcceptor& acceptor;
  const SeatSessions seats;
  // The seats' sessions, made on first need from any thread (a Logon on the
  // polling thread, a report on the sender's): under their own lock.
  std::mutex sessions_mutex;
  FIX::SessionFactory session_factory;
  std::map<std::string, FIX::Session*> seat_sessions;  // by client; owned
  // From log_out_seats on: sessions logged out stay so, and no Logon is let in.
  std::atomic<bool> stopping{false};
  std::atomic<bool> polling{false};  // onStart reached: posted work runs
  const std::string listen_address;  // an IPv4 or IPv6 literal
  const int port;
  admission::ConnectionCount admitted;
  admission::RefusalLog refusals;
  const std::chrono::milliseconds logon_timeout;
  const std::size_t max_bytes_before_logon;
  const std::size_t max_message_bytes;
  const std::function<void(const std::string&, const std::string&)> vet_logon;
  // Logons for a seat whose previous connection has logged out but is not
  // closed yet: identified again when it is (see identify).
  std::map<FIX::SessionID, std::vector<std::shared_ptr<Connection>>> awaiting_seat;
  tcp::acceptor listener{io};
  // Accepting again a while after the process ran out of descriptors.
  asio::steady_timer accept_retry{io};
  admission::SpareDescriptor spare;
  // Without a spare (another thread took the descriptor it freed), nothing
  // is accepted until one can be opened again.
  bool listener_paused = false;
  // The polling thread's own: connections by socket.
  std::map<int, std::shared_ptr<Connection>> connections;
  std::chrono::steady_clock::time_point last_tick;
  // First messages waiting for vet_logon, and those it is done with.
  std::thread vetter;
  std::mutex vet_mutex;
  std::condition_variable vet_wanted;
  bool vet_stopping = false;
  std::deque<std::shared_ptr<Connection>> to_vet;
  std::vector<std::shared_ptr<Connection>> vetted;
};

BatchingAcceptor::Impl::~Impl() {
  stop_vetting();
  assert(connections.empty());  // onStart closes them all when it ends
  for (const auto& entry : seat_sessions)
    session_factory.destroy(entry.second);
}

void BatchingAcceptor::Impl::accept_next() {
  listener.async_accept([this](const error_code& e, tcp::socket socket) {
    if (e == asio::error::operation_aborted) return;  // stopping
    if (e.category() == boost::system::system_category() &&
        admission::out_of_descriptors(e.value()))
      return out_of_descriptors();
    if (!e) accepted(std::move(socket));
    accept_next();  // anything else: a connection that went away meanwhile
  });
}

// Out of descriptors, a pending connection would keep the listener ready:
// the spare descriptor makes room to accept it and close it at once.
void BatchingAcceptor::Impl::out_of_descriptors() {
  if (!spare.held()) {
    listener_paused = true;  // until poll_once opens a spare again
    return;
  }
  switch (spare.refuse_pending(listener.native_handle())) {
    case admission::SpareDescriptor::Outcome::refused_one:
      refuse(nullptr, "the process is out of file descriptors");
      return accept_next();  // another may wait
    case admission::SpareDescriptor::Outcome::nothing_waiting:
      // Not accept_next(): out of descriptors, accept fails before it looks
      // for a connection, so Asio's first try would fail at once, and again.
      return listener.async_wait(tcp::acceptor::wait_read, [this](const error_code& e) {
        if (!e) accept_next();
      });
    case admission::SpareDescriptor::Outcome::no_room:
      accept_retry.expires_after(std::chrono::milliseconds(100));
      return accept_retry.async_wait([this](const error_code& e) {
        if (!e) accept_next();
      });
  }
}

void BatchingAcceptor::Impl::accepted(tcp::socket socket) {
  error_code e;
  const tcp::endpoint peer = socket.remote_endpoint(e);
  if (e) return;  // gone meanwhile
  const std::string address = peer.address().to_string();
  const auto verdict = admitted.admit(address);
  if (verdict != admission::ConnectionCount::Verdict::admitted)
    return refuse(address.c_str(), admitted.why(verdict, address));
  socket.set_option(tcp::no_delay(true), e);  // batches coalesce; a report must not wait for an ACK
  const auto connection =
      std::make_shared<Connection>(std::move(socket), *this, address, max_message_bytes);
  connections[connection->fd] = connection;
  acceptor.getLog()->onEvent("Accepted connection from " + address + " on port " +
                             std::to_string(port));
  await_readable(connection);
}

void BatchingAcceptor::Impl::await_readable(const std::shared_ptr<Connection>& connection) {
  if (connection->awaiting_read || connection->vetting) return;
  connection->awaiting_read = true;
  connection->socket.async_wait(tcp::socket::wait_read, [this, connection](const error_code& e) {
    connection->awaiting_read = false;
    // Closed: its wait ended with an error, or it was ready and queued
    // behind the handler that closed it (its descriptor may be reused).
    if (e || !is_open(connection)) return;
    read(connection);
    if (is_open(connection)) await_readable(connection);
  });
}

void BatchingAcceptor::Impl::refuse_unidentified(const std::shared_ptr<Connection>& connection,
                                                 const std::string& why) {
  refusals.refused("Closed a connection on port " + std::to_string(port) + ": " + why);
  close(connection, "");
}

void BatchingAcceptor::Impl::refuse(const char* address, const std::string& why) {
  refusals.refused("Refused connection" +
                   (address != nullptr ? " from " + std::string(address) : "") + " on port " +
                   std::to_string(port) + ": " + why);
}

// The first message of a connection names its session, which must be one of
// ours, not connected already, and begin with a Logon (as QuickFIX's own
// acceptor requires). A seat's owner that logs out and at once logs on again
// (one gpux trade run after another) can be quicker than the close of its
// previous connection: that Logon waits for the close, rather than being
// refused as a second session.
BatchingAcceptor::Impl::Identified BatchingAcceptor::Impl::identify(
    const std::shared_ptr<Connection>& connection, const std::string& message) {
  FIX::Message header;
  std::string begin_string, sender, target, type;
  if (header.setStringHeader(message)) {
    begin_string = header.getHeader().getField(FIX::FIELD::BeginString);
    if (header.getHeader().isSetField(FIX::FIELD::SenderCompID))
      sender = header.getHeader().getField(FIX::FIELD::SenderCompID);
    if (header.getHeader().isSetField(FIX::FIELD::TargetCompID))
      target = header.getHeader().getField(FIX::FIELD::TargetCompID);
    if (header.getHeader().isSetField(FIX::FIELD::MsgType))
      type = header.getHeader().getField(FIX::FIELD::MsgType);
  }
  FIX::Session* session = !stopping && begin_string == seats.begin_string && target == seats.comp_id
                              ? acceptor.seat_session(sender)
                              : nullptr;
  if (session == nullptr) {
    acceptor.getLog()->onEvent("Session not found for incoming message: " + message);
    acceptor.getLog()->onIncoming(message);
    return Identified::refused;
  }
  // The seat's connection may have ended already, its Logout or its close
  // still unread (a client that logs out and at once logs on again): read
  // what it sent first, so that a seat is judged in use only if it is.
  if (FIX::Session::isSessionRegistered(session->getSessionID()))
    for (const auto& held : all_connections())
      if (held->session == session && held != connection) read(held);
  if (FIX::Session::isSessionRegistered(session->getSessionID())) {
    if (!session->isLoggedOn()) {
      awaiting_seat[session->getSessionID()].push_back(connection);
      return Identified::deferred;
    }
    refuse_seat_in_use(connection, *session);
    return Identified::refused;
  }
  if (type != FIX::MsgType_Logon) return Identified::refused;  // as QuickFIX's own acceptor
  session->setResponder(connection.get());
  connection->session = session;
  // For the Logon's checks, by source address; cleared however next() ends.
  struct LogonPeer {
    explicit LogonPeer(const std::string& address) { t_logon_peer = address; }
    ~LogonPeer() { t_logon_peer.clear(); }
  } peer(connection->address);
  try {
    session->next(message, FIX::UtcTimeStamp());
  } catch (FIX::InvalidMessage&) {
    return Identified::refused;
  }
  // A Logon the session did not accept (no HeartBtInt(108), a wrong
  // password, ...) must not leave the seat bound to this connection: the
  // caller closes it, which frees the session for its owner's next Logon.
  if (!session->isLoggedOn()) return Identified::refused;
  FIX::Session::registerSession(session->getSessionID());
  return Identified::admitted;
}

void BatchingAcceptor::Impl::refuse_seat_in_use(const std::shared_ptr<Connection>& connection,
                                                FIX::Session& session) {
  const FIX::SessionID& id = session.getSessionID();
  const std::string why = "seat " + id.getTargetCompID().getValue() +
                          " is logged on from another connection; one session per seat";
  refusals.refused("Refused a Logon from " + connection->address + ": " + why);
  // Outside the session, whose numbering belongs to the connection logged
  // on; numbered as that session would number its next message, which is
  // what a client resuming the seat's numbering expects (a lower number
  // would make its QuickFIX drop the Logout unread).
  FIX::Message logout;
  logout.getHeader().setField(FIX::BeginString(id.getBeginString()));
  logout.getHeader().setField(FIX::MsgType(FIX::MsgType_Logout));
  logout.getHeader().setField(FIX::SenderCompID(id.getSenderCompID()));
  logout.getHeader().setField(FIX::TargetCompID(id.getTargetCompID()));
  logout.getHeader().setField(FIX::MsgSeqNum(session.getExpectedSenderNum()));
  logout.getHeader().setField(FIX::SendingTime(FIX::UtcTimeStamp(), 3));
  logout.setField(FIX::Text(why));
  connection->send(logout.toString());
}

void BatchingAcceptor::Impl::admit(const std::shared_ptr<Connection>& connection) {
  switch (identify(connection, connection->first_message)) {
    case Identified::refused:
      close(connection, "");
      return;
    case Identified::deferred:
      return;  // until its seat's previous connection closes
    case Identified::admitted:
      process(connection);
      if (is_open(connection)) await_readable(connection);
      return;
  }
}

void BatchingAcceptor::Impl::read(const std::shared_ptr<Connection>& connection) {
  char buffer[64 * 1024];
  const ssize_t n = ::recv(connection->fd, buffer, sizeof buffer, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    close(connection, n == 0 ? "Connection closed by the client" : system_error("Socket error"));
    return;
  }
  if (connection->session == nullptr &&
      (connection->received_before_logon += static_cast<std::size_t>(n)) > max_bytes_before_logon) {
    // A Logon is well under a kilobyte: a stranger may not make the exchange
    // buffer more before saying who it is.
    refuse_unidentified(connection, "more than " + std::to_string(max_bytes_before_logon) +
                                        " bytes before a Logon (fix_max_bytes_before_logon)");
    return;
  }
  connection->framer.append(buffer, static_cast<std::size_t>(n));
  process(connection);
}

// Hands the connection's whole messages to its session, the first one by
// way of the vetting thread.
void BatchingAcceptor::Impl::process(const std::shared_ptr<Connection>& connection) {
  while (!connection->vetting) {
    {
      std::lock_guard<std::mutex> lock(connection->mutex);
      if (connection->close_requested) return;
    }
    std::string message;
    switch (connection->framer.next(message)) {
      case MessageFramer::Result::message:
        break;
      case MessageFramer::Result::need_more:
        return;
      case MessageFramer::Result::garbled:
        // The framer has dropped the garbled bytes; what follows may be whole.
        if (connection->session != nullptr)
          connection->session->getLog()->onEvent("Dropped bytes that do not frame a FIX message");
        continue;
      case MessageFramer::Result::too_long: {
        const std::string why = "a message longer than " + std::to_string(max_message_bytes) +
                                " bytes (fix_max_message_bytes)";
        if (connection->session == nullptr) return refuse_unidentified(connection, why);
        return close(connection, "Disconnecting: " + why);
      }
    }
    if (connection->session == nullptr) {
      // Nothing more is read from it until the first message is vetted.
      connection->first_message = message;
      connection->vetting = true;  // and no wait for input until admitted
      {
        std::lock_guard<std::mutex> lock(vet_mutex);
        to_vet.push_back(connection);
      }
      vet_wanted.notify_one();
      return;
    }
    try {
      connection->session->next(message, FIX::UtcTimeStamp());
    } catch (FIX::InvalidMessage&) {
      if (!connection->session->isLoggedOn()) {
        close(connection, "");
        return;
      }
    }
  }
}

void BatchingAcceptor::Impl::run_vetting() {
  for (;;) {
    std::shared_ptr<Connection> connection;
    {
      std::unique_lock<std::mutex> lock(vet_mutex);
      vet_wanted.wait(lock, [&] { return vet_stopping || !to_vet.empty(); });
      if (vet_stopping) return;
      connection = to_vet.front();
      to_vet.pop_front();
    }
    try {
      vet_logon(connection->first_message, connection->address);
    } catch (...) {
      // Vetting only prepares: the session's own checks still run.
    }
    {
      std::lock_guard<std::mutex> lock(vet_mutex);
      vetted.push_back(connection);
    }
    wake();
  }
}

void BatchingAcceptor::Impl::stop_vetting() {
  {
    std::lock_guard<std::mutex> lock(vet_mutex);
    vet_stopping = true;
  }
  vet_wanted.notify_one();
  if (vetter.joinable()) vetter.join();
}

void BatchingAcceptor::Impl::admit_vetted() {
  std::vector<std::shared_ptr<Connection>> ready;
  {
    std::lock_guard<std::mutex> lock(vet_mutex);
    ready.swap(vetted);
  }
  for (const auto& connection : ready) {
    if (!is_open(connection)) continue;  // gone meanwhile
    connection->vetting = false;
    admit(connection);
  }
}

void BatchingAcceptor::Impl::close(const std::shared_ptr<Connection>& connection,
                                   const std::string& why) {
  // By identity, not descriptor: once closed, its number may be a newer
  // connection's, which a late second close must not take down.
  if (!is_open(connection)) return;  // closed already
  connections.erase(connection->fd);
  admitted.release(connection->address);
  FIX::Session* session = connection->session;
  connection->session = nullptr;
  bool overflowed = false;
  std::size_t unsent = 0;
  {
    std::lock_guard<std::mutex> lock(connection->mutex);
    overflowed = connection->overflowed;
    connection->write_locked();  // a Logout and its reason, say
    unsent = connection->unsent.size();
    connection->close_requested = true;
  }
  // Logged before the socket closes: a client that sees the close can read why.
  if (session != nullptr) {
    if (overflowed)
      session->getLog()->onEvent("Disconnecting: the client left more than " +
                                 std::to_string(max_unsent_bytes) +
                                 " bytes unread (its messages are kept for resend)");
    else if (!why.empty())
      session->getLog()->onEvent(why);
    if (unsent != 0)
      session->getLog()->onEvent(std::to_string(unsent) + " bytes unsent at disconnect");
  }
  {
    std::lock_guard<std::mutex> lock(connection->mutex);
    connection->closed = true;
    error_code ignored;
    connection->socket.close(ignored);  // its pending waits end with operation_aborted
  }
  if (session == nullptr) return;
  session->disconnect();
  // Logged out because its seat was disabled (end_session): its next Logon
  // is the seat guard's to refuse, with the reason, or to let in once the
  // seat is enabled again. A disabled QuickFIX session would drop it unread.
  if (!stopping && !session->isEnabled()) session->logon();
  FIX::Session::unregisterSession(session->getSessionID());
  // The seat is free: the Logons that waited for it, in their order.
  const auto waiting = awaiting_seat.find(session->getSessionID());
  if (waiting == awaiting_seat.end()) return;
  const std::vector<std::shared_ptr<Connection>> logons = std::move(waiting->second);
  awaiting_seat.erase(waiting);
  for (const auto& logon : logons)
    if (is_open(logon)) admit(logon);
}

void BatchingAcceptor::Impl::close_requested() {
  std::vector<std::shared_ptr<Connection>> requests;
  {
    std::lock_guard<std::mutex> lock(requests_mutex);
    requests.swap(close_requests);
  }
  for (const auto& connection : requests)
    close(connection, "");
}

// Heartbeats, test requests and logon timeouts: QuickFIX's session timer,
// about once a second as its own acceptor runs it.
void BatchingAcceptor::Impl::tick_sessions() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_tick < std::chrono::seconds(1)) return;
  last_tick = now;
  for (const auto& connection : all_connections()) {
    if (connection->session != nullptr) {
      connection->session->next(FIX::UtcTimeStamp());
    } else if (!connection->vetting && now - connection->accepted_at > logon_timeout) {
      refuse_unidentified(connection,
                          "no Logon within " + std::to_string(logon_timeout.count()) + " ms");
    }
  }
}

std::vector<std::shared_ptr<Connection>> BatchingAcceptor::Impl::all_connections() const {
  std::vector<std::shared_ptr<Connection>> all;
  for (const auto& entry : connections)
    all.push_back(entry.second);
  return all;
}

void BatchingAcceptor::Impl::poll_once(int timeout_ms) {
  if (listener_paused && spare.held()) {
    listener_paused = false;
    accept_next();
  }
  BatchingAcceptor::begin_batch();  // replies to all that arrived leave together
  // The first ready handler, waiting up to the timeout, then what else is
  // ready now, as one epoll_wait would return it (at most 64 events).
  std::size_t ran =
      timeout_ms > 0 ? io.run_one_for(std::chrono::milliseconds(timeout_ms)) : io.poll_one();
  for (int more = 1; ran > 0 && more < 64; ++more)
    ran = io.poll_one();
  admit_vetted();
  tick_sessions();
  BatchingAcceptor::end_batch();
  close_requested();
}

BatchingAcceptor::BatchingAcceptor(
    FIX::Application& application, FIX::MessageStoreFactory& stores,
    const FIX::SessionSettings& settings, FIX::LogFactory& logs, const std::string& address,
    int port, const SocketLimits& limits, SeatSessions seats,
    std::function<void(const std::string&, const std::string&)> vet_logon,
    std::function<bool()> make_durable)
    : FIX::Acceptor(application, stores, settings, logs),
      impl_(new Impl(*this, logs, address, port, limits, std::move(seats), std::move(vet_logon),
                     std::move(make_durable))) {}

namespace {

// Says why a seat's session could not be made, to stderr and the FIX log.
void say_session_not_made(FIX::Log& log, const std::string& client, const std::exception& e) {
  std::fprintf(stderr, "gpuxd: FIX: cannot make the session of seat %s now: %s\n", client.c_str(),
               e.what());
  log.onEvent("cannot make the session of seat " + client + " now: " + e.what());
}

}  // namespace

FIX::Session* BatchingAcceptor::seat_session(const std::string& client) {
  Impl& i = *impl_;
  std::lock_guard<std::mutex> lock(i.sessions_mutex);
  const auto made = i.seat_sessions.find(client);
  if (made != i.seat_sessions.end()) return made->second;
  if (!i.seats.is_seat(client)) return nullptr;
  const FIX::SessionID id(i.seats.begin_string, i.seats.comp_id, client);
  // The one QuickFIX made from the settings, should it be a seat.
  if (has(id)) return FIX::Session::lookupSession(id);
  FIX::Dictionary settings = m_settings.get();  // the defaults
  settings.setString("BeginString", i.seats.begin_string);
  settings.setString("SenderCompID", i.seats.comp_id);
  settings.setString("TargetCompID", client);
  FIX::Session* session = nullptr;
  try {
    session = i.session_factory.create(id, settings);
  } catch (const std::exception& e) {
    // Its log or store cannot be opened: out of file descriptors, say. The
    // Logon that needed it is refused (a report, not kept); the next need
    // tries again. Never fatal: the sessions that exist go on.
    say_session_not_made(*getLog(), client, e);
    return nullptr;
  }
  session->setDataDictionaryProvider(i.seats.dictionaries);
  i.seat_sessions[client] = session;
  return session;
}

void BatchingAcceptor::log_out_seats(std::chrono::milliseconds patience) {
  impl_->stopping = true;
  if (!impl_->polling) return;  // never started (its port could not be had): none logged on
  const auto until = std::chrono::steady_clock::now() + patience;
  // On the polling thread, as every call into a session of ours: QuickFIX's
  // sessions lock with FIX::Mutex, whose owner check is itself a data race
  // between threads. True while any is logged on; false too when the
  // polling thread does not answer in time (not polling at all, say).
  const auto logged_on = [this, until](bool log_out) {
    auto answer = std::make_shared<std::promise<bool>>();
    std::future<bool> result = answer->get_future();
    asio::post(impl_->io, [this, log_out, answer] {
      bool any = false;
      std::lock_guard<std::mutex> lock(impl_->sessions_mutex);
      for (const auto& entry : impl_->seat_sessions) {
        if (log_out && entry.second->isLoggedOn()) entry.second->logout();
        any = any || entry.second->isLoggedOn();
      }
      answer->set_value(any);
    });
    return result.wait_until(until) == std::future_status::ready && result.get();
  };
  // The polling thread sends the Logouts (its session timer) and closes the
  // connections once their clients answer.
  bool any = logged_on(true);
  while (any && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    any = logged_on(false);
  }
}

void BatchingAcceptor::on_polling_thread(std::function<void()> task) {
  asio::post(impl_->io, std::move(task));
}

BatchingAcceptor::~BatchingAcceptor() {
  stop();
}

void BatchingAcceptor::begin_batch() {
  t_batching = true;
}

void BatchingAcceptor::end_batch() {
  t_batching = false;
  std::vector<std::shared_ptr<Connection>> waiting;
  waiting.swap(t_waiting);
  for (const auto& connection : waiting) {
    std::lock_guard<std::mutex> lock(connection->mutex);
    if (connection->waiting) connection->write_locked();
  }
}

void BatchingAcceptor::onInitialize(const FIX::SessionSettings&) throw(FIX::RuntimeError) {
  Impl& i = *impl_;
  const auto fail = [&](const std::string& what) {
    throw FIX::RuntimeError("Unable to create, bind, or listen to " + i.listen_address + " port " +
                            std::to_string(i.port) + " (" + what + ")");
  };
  if (!i.spare.held()) fail(system_error("open /dev/null"));
  error_code e;
  const asio::ip::address ip = asio::ip::make_address(i.listen_address, e);
  if (e) fail("not an IP address: " + e.message());
  const tcp::endpoint endpoint(ip, static_cast<unsigned short>(i.port));
  if (i.listener.open(endpoint.protocol(), e) ||
      i.listener.set_option(tcp::acceptor::reuse_address(true), e))
    fail("socket: " + e.message());
  if (i.listener.bind(endpoint, e)) fail("bind: " + e.message());
  if (i.listener.listen(asio::socket_base::max_listen_connections, e))
    fail("listen: " + e.message());
  // For out_of_descriptors()'s own accept. Not through non_blocking(true):
  // Asio would then end async_accept with would_block instead of waiting.
  ::fcntl(i.listener.native_handle(), F_SETFL,
          ::fcntl(i.listener.native_handle(), F_GETFL) | O_NONBLOCK);
  i.accept_next();
  i.last_tick = std::chrono::steady_clock::now();
  i.vetter = std::thread([&i] {
    pthread_setname_np(pthread_self(), "gpux-fix-vet");  // for top -H and perf
    i.run_vetting();
  });
}

void BatchingAcceptor::onStart() {
  impl_->polling = true;
  while (!isStopped())
    impl_->poll_once(1000);
  // stop() has logged every session out; what is still queued goes now.
  impl_->poll_once(0);
  for (const auto& connection : impl_->all_connections())
    impl_->close(connection, "");
  impl_->stop_vetting();
}

bool BatchingAcceptor::onPoll(double timeout) {
  if (isStopped()) return false;
  impl_->poll_once(static_cast<int>(timeout * 1000));
  return true;
}

void BatchingAcceptor::onStop() {
  impl_->wake();
}

const std::string& BatchingAcceptor::logon_peer() {
  return t_logon_peer;
}

}  // namespace fix
}  // namespace gpux

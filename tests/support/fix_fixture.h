// A real gpuxd with its FIX acceptor, QuickFIX initiator sessions for its
// clients, and a raw FIX connection for bytes QuickFIX would never send.
// C++14, like every QuickFIX unit.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/FileStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "child_log.h"
#include "local_daemon.h"
#include "raw_fix.h"
#include "stdio_commands.h"

namespace fixtest {

const char* const kSymbol = "H100-SXM.us-east.21000101T00";

using gpux::local::free_port;

class ScratchDir {
 public:
  ScratchDir() {
    char pattern[] = "/tmp/gpux-fix-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~ScratchDir() {
    if (!std::getenv("GPUX_KEEP_FIX_DIR")) std::system(("rm -rf '" + path + "'").c_str());
  }
  std::string path;
};

// gpuxd with its stderr appended to `log`, checked for a ThreadSanitizer
// report once it is stopped. With `command_stream`, it also serves its
// framed command stream on pipes (--stdio), for execute().
class Daemon {
 public:
  Daemon(const std::string& config, const std::string& log, bool command_stream = false)
      : log_(log), log_start_(gpux::test::log_size(log)) {
    if (!command_stream) {
      pid_ = gpux::local::spawn_daemon(GPUXD_PATH, config, log);
      REQUIRE(pid_ > 0);
      return;
    }
    ::signal(SIGPIPE, SIG_IGN);  // a daemon gone must fail the test, not kill it
    int in[2], out[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    std::vector<std::string> args = {GPUXD_PATH, "--config", config, "--stdio"};
    std::vector<char*> argv;
    for (std::string& a : args)
      argv.push_back(&a[0]);
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int error = posix_spawn(&pid_, GPUXD_PATH, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    to_daemon_ = in[1];
    from_daemon_ = out[0];
    REQUIRE(error == 0);
  }
  ~Daemon() {
    if (pid_ > 0) stop();
  }
  void kill_hard() { stop(SIGKILL); }
  pid_t pid() const { return pid_; }
  // Stops it with SIGTERM; its exit status.
  int stop(int signal = SIGTERM) {
    if (pid_ <= 0) return 0;  // kill(-1) would signal every process we may
    const int status = gpux::local::stop_daemon(pid_, signal);
    pid_ = -1;
    for (int* fd : {&to_daemon_, &from_daemon_})
      if (*fd >= 0) ::close(*fd);
    to_daemon_ = from_daemon_ = -1;
    gpux::test::check_no_sanitizer_report(log_, log_start_);
    return status;
  }

  // Submits `command` (gpux::test::stdio_*'s bytes) on the command stream
  // and waits up to 30 s for its acknowledgement, which gpuxd writes once
  // the command is durable and its events observed (the FIX gateway has
  // queued what they tell its sessions). The kinds of its events.
  std::vector<gpux::test::StdioEvent> execute(const std::string& command) {
    REQUIRE_MESSAGE(to_daemon_ >= 0, "gpuxd was not started with its command stream");
    const gpux::test::StdioAcknowledgement ack =
        gpux::test::stdio_execute(to_daemon_, from_daemon_, command);
    if (!ack.error.empty()) FAIL(ack.error);
    return ack.events;
  }

 private:
  std::string log_;
  long log_start_;
  pid_t pid_ = -1;
  int to_daemon_ = -1;  // the command stream, with command_stream only
  int from_daemon_ = -1;
};

// Collects what the exchange sends each client session.
class Client : public FIX::Application {
 public:
  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    logged_on_.push_back(id.getSenderCompID().getValue());
    changed_.notify_all();
  }
  void onLogout(const FIX::SessionID&) override {}
  void toAdmin(FIX::Message& message, const FIX::SessionID& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto password = passwords_.find(id.getSenderCompID().getValue());
    if (message.getHeader().getField(FIX::FIELD::MsgType) == "A" && password != passwords_.end())
      message.setField(FIX::FIELD::Password, password->second);
  }
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message& message,
                 const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                 FIX::IncorrectTagValue,
                                                 FIX::RejectLogon) override {
    const std::string type = message.getHeader().getField(FIX::FIELD::MsgType);
    std::lock_guard<std::mutex> lock(mutex_);
    if (type == "3") {  // session-level Reject: handed out like application messages
      received_.push_back({id.getSenderCompID().getValue(), message});
      changed_.notify_all();
    }
    if (type != "5") return;
    logout_texts_.push_back(id.getSenderCompID().getValue() + ": " +
                            (message.isSetField(FIX::FIELD::Text)
                                 ? message.getField(FIX::FIELD::Text)
                                 : std::string()));
    changed_.notify_all();
  }

  void set_password(const std::string& session, const std::string& password) {
    std::lock_guard<std::mutex> lock(mutex_);
    passwords_[session] = password;
  }

  // The first Logout text the exchange sent, waiting up to 30 s.
  std::string logout_text() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(30), [&] { return !logout_texts_.empty(); });
    return logout_texts_.empty() ? std::string() : logout_texts_.front();
  }
  void fromApp(const FIX::Message& message,
               const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                               FIX::IncorrectTagValue,
                                               FIX::UnsupportedMessageType) override {
    std::lock_guard<std::mutex> lock(mutex_);
    received_.push_back({id.getSenderCompID().getValue(), message});
    history_.push_back({id.getSenderCompID().getValue(), message});
    changed_.notify_all();
  }

  // Every application message `session` was ever given, in order.
  std::vector<FIX::Message> history(const std::string& session) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<FIX::Message> out;
    for (const auto& m : history_)
      if (m.first == session) out.push_back(m.second);
    return out;
  }

  // The next message for `session` that `wanted` accepts, dropping the ones
  // before it, waiting up to 60 s.
  FIX::Message next_matching(const std::string& session,
                             const std::function<bool(const FIX::Message&)>& wanted) {
    for (;;) {
      FIX::Message m = next(session);
      if (wanted(m)) return m;
    }
  }

  bool wait_logons(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30),
                             [&] { return logged_on_.size() >= n; });
  }

  // The next message for `session`, waiting up to 30 s.
  FIX::Message next(const std::string& session) {
    std::unique_lock<std::mutex> lock(mutex_);
    std::deque<std::pair<std::string, FIX::Message>>::iterator found;
    const bool ok = changed_.wait_for(lock, std::chrono::seconds(30), [&] {
      for (found = received_.begin(); found != received_.end(); ++found)
        if (found->first == session) return true;
      return false;
    });
    REQUIRE_MESSAGE(ok, "no message for " << session);
    FIX::Message message = found->second;
    received_.erase(found);
    return message;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> logged_on_;
  std::vector<std::string> logout_texts_;
  std::map<std::string, std::string> passwords_;
  std::deque<std::pair<std::string, FIX::Message>> received_;
  std::vector<std::pair<std::string, FIX::Message>> history_;
};

inline FIX::Message new_order(const std::string& id, const char* symbol, char side,
                              const char* price, const char* quantity) {
  FIX::Message m;
  m.getHeader().setField(FIX::FIELD::MsgType, "D");
  m.setField(FIX::FIELD::ClOrdID, id);
  m.setField(FIX::FIELD::Symbol, symbol);
  m.setField(FIX::FIELD::Side, std::string(1, side));
  m.setField(FIX::TransactTime());
  m.setField(FIX::FIELD::OrderQty, quantity);
  m.setField(FIX::FIELD::OrdType, "2");
  m.setField(FIX::FIELD::Price, price);
  return m;
}

inline FIX::Message cancel(const std::string& id, const std::string& original, char side) {
  FIX::Message m;
  m.getHeader().setField(FIX::FIELD::MsgType, "F");
  m.setField(FIX::FIELD::OrigClOrdID, original);
  m.setField(FIX::FIELD::ClOrdID, id);
  m.setField(FIX::FIELD::Symbol, kSymbol);
  m.setField(FIX::FIELD::Side, std::string(1, side));
  m.setField(FIX::TransactTime());
  return m;
}

// OrderStatusRequest by ClOrdID alone, as gpux trade sends it.
inline FIX::Message status_request(const std::string& id) {
  FIX::Message m;
  m.getHeader().setField(FIX::FIELD::MsgType, "H");
  m.setField(FIX::FIELD::ClOrdID, id);
  return m;
}

inline FIX::Message replace(const std::string& id, const std::string& original, const char* price,
                            const char* quantity) {
  FIX::Message m;
  m.getHeader().setField(FIX::FIELD::MsgType, "G");
  m.setField(FIX::FIELD::OrigClOrdID, original);
  m.setField(FIX::FIELD::ClOrdID, id);
  m.setField(FIX::FIELD::Symbol, kSymbol);
  m.setField(FIX::FIELD::Side, "1");
  m.setField(FIX::TransactTime());
  m.setField(FIX::FIELD::OrderQty, quantity);
  m.setField(FIX::FIELD::OrdType, "2");
  m.setField(FIX::FIELD::Price, price);
  return m;
}

inline std::string field(const FIX::FieldMap& m, int tag) {
  return m.isSetField(tag) ? m.getField(tag) : std::string("<absent>");
}

inline std::string file_text(const std::string& path) {
  std::ifstream in(path.c_str());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Until `path` holds `text` (a log line another process writes), up to 30 s.
inline bool wait_for_line(const std::string& path, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (file_text(path).find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ::poll(nullptr, 0, 10);
  }
  return true;
}

// gpuxd with two FIX clients (ALICE, BOB) and one instrument, and a QuickFIX
// initiator logged on as both. With `command_stream`, daemon->execute()
// submits engine commands.
struct Exchange {
  explicit Exchange(const std::string& extra_config,
                    const std::map<std::string, std::string>& passwords = {},
                    bool with_command_stream = false)
      : port(free_port()), command_stream(with_command_stream) {
    for (const auto& p : passwords)
      client.set_password(p.first, p.second);
    const std::string config = dir.path + "/gpux.conf";
    std::ofstream(config.c_str())
        << "data_dir = " << dir.path << "/data\n"
        << "fix_port = " << port << "\n"
        << "fix_client = BOB participant=2 password=none\n"
        << "participant = 1 cash=1000000000000\nparticipant = 2 cash=1000000000000\n"
        << "participant = 3 cash=1000000000000\n"
        << "instrument = 1 symbol=" << kSymbol
        << " class=H100-SXM region=us-east start=4102444800 tick=100 max=1000"
           " reference=2000000 band=500000\n"
        << "capacity = 2 instrument=1 units=100\n"
        << "capacity = 3 instrument=1 units=100\n"
        << extra_config;
    start_daemon();
    FIX::Dictionary defaults;
    defaults.setString("ConnectionType", "initiator");
    defaults.setString("SocketConnectHost", "127.0.0.1");
    defaults.setInt("SocketConnectPort", port);
    defaults.setInt("ReconnectInterval", 1);
    defaults.setInt("HeartBtInt", 30);
    defaults.setString("StartTime", "00:00:00");
    defaults.setString("EndTime", "00:00:00");
    defaults.setString("FileStorePath", dir.path + "/client");
    defaults.setString("UseDataDictionary", "Y");
    defaults.setString("DataDictionary", GPUX_FIX_DICTIONARY);
    defaults.setString("ResetOnLogon", "N");  // keep sequence numbers: resend must work
    settings.set(defaults);
    for (const char* who : {"ALICE", "BOB"})
      settings.set(FIX::SessionID("FIX.4.4", who, "GPUX"), FIX::Dictionary());
    store.reset(new FIX::FileStoreFactory(settings));
    wait_for_port();
    log.reset(new FIX::FileLogFactory(dir.path + "/client-log"));
    initiator.reset(new FIX::SocketInitiator(client, *store, settings, *log));
    initiator->start();
  }
  ~Exchange() { initiator->stop(); }

  // Until gpuxd listens: a client's Logon to a port that refuses it still
  // uses up a sequence number, and the gap-fill that follows would race
  // the first test messages.
  void wait_for_port() const {
    if (gpux::local::wait_for_listener(port)) return;
    std::ifstream in((dir.path + "/gpuxd.log").c_str());
    const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    FAIL("gpuxd did not listen on port " << port << "; its log:\n" << said);
  }

  void start_daemon() {
    daemon.reset(new Daemon(dir.path + "/gpux.conf", dir.path + "/gpuxd.log", command_stream));
  }

  ScratchDir dir;
  int port;
  bool command_stream;  // gpuxd serves its command stream: daemon->execute()
  std::unique_ptr<Daemon> daemon;
  Client client;
  FIX::SessionSettings settings;
  std::unique_ptr<FIX::FileStoreFactory> store;
  std::unique_ptr<FIX::FileLogFactory> log;  // what the clients saw, for failures
  std::unique_ptr<FIX::SocketInitiator> initiator;
  const FIX::SessionID alice{"FIX.4.4", "ALICE", "GPUX"};
  const FIX::SessionID bob{"FIX.4.4", "BOB", "GPUX"};
};

// A FIX connection that writes whatever bytes it is given: for what a
// well-behaved engine never sends (bad checksums, duplicate tags) and for
// dropping a connection without a Logout.
class RawFix {
 public:
  // `source`: the local address to connect from (default: the kernel's).
  RawFix(int port, const std::string& sender, const char* source = nullptr)
      : fd_(gpux::local::connect_to(port, source)), sender_(sender) {
    REQUIRE(fd_ >= 0);
  }
  ~RawFix() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // A well-framed message: header with the next MsgSeqNum, `body` as given
  // ("tag=value\x01..."), correct BodyLength and CheckSum.
  std::string frame(const std::string& type, const std::string& body) {
    return gpux::local::fix_frame(type, sender_, "GPUX", next_seq_++, now(), body);
  }
  void send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  // Stops the kernel growing the socket's receive buffer (up to 32 MiB here)
  // for a client that does not read.
  void limit_receive_buffer(int bytes) {
    REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0);
  }
  // False where the exchange closed the connection part-way.
  bool try_send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // The exchange dropped the last message unread (garbled): the sequence
  // number it carried is still the one expected next.
  void reuse_sequence_number() { --next_seq_; }
  void logon() {
    send(frame("A",
               "98=0\x01"
               "108=30\x01"));
    REQUIRE(type_of(read()) == "A");
  }
  // The next whole message, or "" when the connection closed or nothing came
  // within 30 s.
  std::string read() {
    for (;;) {
      const std::string message = gpux::local::take_fix_message(buffer_);
      if (!message.empty()) {
        if (type_of(message) != "0") return message;  // heartbeats are noise here
        continue;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 30000) != 1) return {};
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return {};
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  static std::string value(const std::string& message, const std::string& tag) {
    return gpux::local::fix_value(message, tag);
  }
  static std::string type_of(const std::string& message) { return value(message, "35"); }
  // SendingTime(52) must be near the acceptor's clock.
  static std::string now() { return FIX::UtcTimeStampConvertor::convert(FIX::UtcTimeStamp(), 3); }

 private:
  int fd_ = -1;
  std::string sender_;
  int next_seq_ = 1;
  std::string buffer_;
};

}  // namespace fixtest

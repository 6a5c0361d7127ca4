// A real gpuxd process with its FIX acceptor, and real QuickFIX initiator
// sessions over loopback. Compiled as C++14, like every QuickFIX unit.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

extern char** environ;

namespace {

const char* const kSymbol = "H100-SXM.us-east.20261123T15";

// A port nobody listens on right now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

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

class Daemon {
 public:
  Daemon(const std::string& config, const std::string& log) {
    std::vector<std::string> args = {GPUXD_PATH, "--config", config};
    std::vector<char*> argv;
    for (std::string& a : args)
      argv.push_back(&a[0]);
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    REQUIRE(posix_spawn(&pid_, GPUXD_PATH, &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Daemon() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }

 private:
  pid_t pid_ = -1;
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
    if (message.getHeader().getField(FIX::FIELD::MsgType) != "5") return;
    std::lock_guard<std::mutex> lock(mutex_);
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
    changed_.notify_all();
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
};

FIX::Message new_order(const std::string& id, const char* symbol, char side, const char* price,
                       const char* quantity) {
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

FIX::Message cancel(const std::string& id, const std::string& original, char side) {
  FIX::Message m;
  m.getHeader().setField(FIX::FIELD::MsgType, "F");
  m.setField(FIX::FIELD::OrigClOrdID, original);
  m.setField(FIX::FIELD::ClOrdID, id);
  m.setField(FIX::FIELD::Symbol, kSymbol);
  m.setField(FIX::FIELD::Side, std::string(1, side));
  m.setField(FIX::TransactTime());
  return m;
}

FIX::Message replace(const std::string& id, const std::string& original, const char* price,
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

std::string field(const FIX::Message& m, int tag) {
  return m.isSetField(tag) ? m.getField(tag) : std::string("<absent>");
}

// gpuxd with two FIX clients (ALICE, BOB) and one instrument, and a QuickFIX
// initiator logged on as both.
struct Exchange {
  explicit Exchange(const std::string& extra_config,
                    const std::map<std::string, std::string>& passwords = {})
      : port(free_port()) {
    for (const auto& p : passwords)
      client.set_password(p.first, p.second);
    const std::string config = dir.path + "/gpux.conf";
    std::ofstream(config.c_str())
        << "data_dir = " << dir.path << "/data\n"
        << "fix_port = " << port << "\n"
        << "fix_client = BOB participant=2\n"
        << "participant = 1 cash=1000000000000\nparticipant = 2 cash=1000000000000\n"
        << "instrument = 1 symbol=" << kSymbol
        << " class=H100-SXM region=us-east start=1795446000 tick=100 max=1000"
           " reference=2000000 band=500000\n"
        << "capacity = 2 instrument=1 units=100\n"
        << extra_config;
    daemon.reset(new Daemon(config, dir.path + "/gpuxd.log"));
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
    initiator.reset(new FIX::SocketInitiator(client, *store, settings));
    initiator->start();
  }
  ~Exchange() { initiator->stop(); }

  ScratchDir dir;
  int port;
  std::unique_ptr<Daemon> daemon;
  Client client;
  FIX::SessionSettings settings;
  std::unique_ptr<FIX::FileStoreFactory> store;
  std::unique_ptr<FIX::SocketInitiator> initiator;
  const FIX::SessionID alice{"FIX.4.4", "ALICE", "GPUX"};
  const FIX::SessionID bob{"FIX.4.4", "BOB", "GPUX"};
};

}  // namespace

TEST_CASE("FIX order entry: acknowledge, trade, cancel, and the specific rejects") {
  Exchange exchange("fix_client = ALICE participant=1\n");
  Client& client = exchange.client;
  const FIX::SessionID& alice = exchange.alice;
  const FIX::SessionID& bob = exchange.bob;
  REQUIRE(client.wait_logons(2));

  SUBCASE("new, partial fill, cancel") {
    FIX::Message buy = new_order("a1", kSymbol, '1', "2.0001", "5");
    FIX::Session::sendToTarget(buy, alice);
    FIX::Message ack = client.next("ALICE");
    CHECK(field(ack, FIX::FIELD::ExecType) == "0");
    CHECK(field(ack, FIX::FIELD::ClOrdID) == "a1");
    CHECK(field(ack, FIX::FIELD::LeavesQty) == "5");
    const std::string order_id = field(ack, FIX::FIELD::OrderID);

    FIX::Message sell = new_order("b1", kSymbol, '2', "2", "3");
    FIX::Session::sendToTarget(sell, bob);
    CHECK(field(client.next("BOB"), FIX::FIELD::ExecType) == "0");
    const FIX::Message bob_fill = client.next("BOB");
    CHECK(field(bob_fill, FIX::FIELD::ExecType) == "F");
    CHECK(field(bob_fill, FIX::FIELD::OrdStatus) == "2");
    CHECK(field(bob_fill, FIX::FIELD::LastPx) == "2.000100");  // the maker's price
    const FIX::Message alice_fill = client.next("ALICE");
    CHECK(field(alice_fill, FIX::FIELD::ExecType) == "F");
    CHECK(field(alice_fill, FIX::FIELD::OrdStatus) == "1");
    CHECK(field(alice_fill, FIX::FIELD::LeavesQty) == "2");
    CHECK(field(alice_fill, FIX::FIELD::CumQty) == "3");
    CHECK(field(alice_fill, FIX::FIELD::ExecID) != field(bob_fill, FIX::FIELD::ExecID));

    FIX::Message out = cancel("a2", "a1", '1');
    FIX::Session::sendToTarget(out, alice);
    const FIX::Message canceled = client.next("ALICE");
    CHECK(field(canceled, FIX::FIELD::ExecType) == "4");
    CHECK(field(canceled, FIX::FIELD::ClOrdID) == "a2");
    CHECK(field(canceled, FIX::FIELD::OrigClOrdID) == "a1");
    CHECK(field(canceled, FIX::FIELD::OrderID) == order_id);
    CHECK(field(canceled, FIX::FIELD::LeavesQty) == "0");
  }
  SUBCASE("replace, status, mass cancel") {
    FIX::Message buy = new_order("r1", kSymbol, '1', "1.9", "5");
    FIX::Session::sendToTarget(buy, alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "0");
    FIX::Message change = replace("r2", "r1", "1.95", "8");
    FIX::Session::sendToTarget(change, alice);
    FIX::Message replaced = client.next("ALICE");
    CHECK(field(replaced, FIX::FIELD::ExecType) == "5");
    CHECK(field(replaced, FIX::FIELD::ClOrdID) == "r2");
    CHECK(field(replaced, FIX::FIELD::OrigClOrdID) == "r1");
    CHECK(field(replaced, FIX::FIELD::Price) == "1.950000");
    CHECK(field(replaced, FIX::FIELD::LeavesQty) == "8");

    FIX::Message status;
    status.getHeader().setField(FIX::FIELD::MsgType, "H");
    status.setField(FIX::FIELD::ClOrdID, "r2");
    status.setField(FIX::FIELD::Symbol, kSymbol);
    status.setField(FIX::FIELD::Side, "1");
    FIX::Session::sendToTarget(status, alice);
    FIX::Message state = client.next("ALICE");
    CHECK(field(state, FIX::FIELD::ExecType) == "I");
    CHECK(field(state, FIX::FIELD::OrdStatus) == "0");
    CHECK(field(state, FIX::FIELD::LeavesQty) == "8");

    FIX::Message stale = replace("r3", "r1", "1.9", "5");  // r1 is now r2
    FIX::Session::sendToTarget(stale, alice);
    FIX::Message refused = client.next("ALICE");
    CHECK(refused.getHeader().getField(FIX::FIELD::MsgType) == "9");
    CHECK(field(refused, FIX::FIELD::CxlRejResponseTo) == "2");

    FIX::Message another = new_order("r4", kSymbol, '1', "1.8", "1");
    FIX::Session::sendToTarget(another, alice);
    CHECK(field(client.next("ALICE"), FIX::FIELD::ExecType) == "0");
    FIX::Message mass;
    mass.getHeader().setField(FIX::FIELD::MsgType, "q");
    mass.setField(FIX::FIELD::ClOrdID, "m1");
    mass.setField(FIX::FIELD::MassCancelRequestType, "7");
    mass.setField(FIX::TransactTime());
    FIX::Session::sendToTarget(mass, alice);
    int canceled = 0;
    FIX::Message report;
    for (int i = 0; i < 3; ++i) {
      FIX::Message m = client.next("ALICE");
      if (m.getHeader().getField(FIX::FIELD::MsgType) == "r") {
        report = m;
      } else {
        canceled += field(m, FIX::FIELD::ExecType) == "4";
      }
    }
    CHECK(canceled == 2);
    CHECK(field(report, FIX::FIELD::ClOrdID) == "m1");
    CHECK(field(report, FIX::FIELD::MassCancelResponse) == "7");
    CHECK(field(report, FIX::FIELD::TotalAffectedOrders) == "2");
  }
  SUBCASE("rejects name their reason") {
    FIX::Message unknown_symbol = new_order("x1", "NOPE", '1', "2", "1");
    FIX::Session::sendToTarget(unknown_symbol, alice);
    FIX::Message r = client.next("ALICE");
    CHECK(field(r, FIX::FIELD::ExecType) == "8");
    CHECK(field(r, FIX::FIELD::OrdRejReason) == "1");

    FIX::Message fractional = new_order("x2", kSymbol, '1', "2", "1.5");
    FIX::Session::sendToTarget(fractional, alice);
    r = client.next("ALICE");
    CHECK(field(r, FIX::FIELD::ExecType) == "8");
    CHECK(field(r, FIX::FIELD::Text).find("OrderQty(38)") != std::string::npos);

    FIX::Message off_band = new_order("x3", kSymbol, '1', "9", "1");
    FIX::Session::sendToTarget(off_band, alice);
    r = client.next("ALICE");
    CHECK(field(r, FIX::FIELD::ExecType) == "8");
    CHECK(field(r, FIX::FIELD::Text) == "price_outside_band");

    FIX::Message too_poor = new_order("x4", kSymbol, '2', "2", "1");  // ALICE has no capacity
    FIX::Session::sendToTarget(too_poor, alice);
    r = client.next("ALICE");
    CHECK(field(r, FIX::FIELD::OrdRejReason) == "3");
    CHECK(field(r, FIX::FIELD::Text) == "insufficient_capacity");

    FIX::Message nobody = cancel("x5", "never-sent", '1');
    FIX::Session::sendToTarget(nobody, alice);
    r = client.next("ALICE");
    CHECK(r.getHeader().getField(FIX::FIELD::MsgType) == "9");
    CHECK(field(r, FIX::FIELD::ClOrdID) == "x5");

    // Another participant's order is not found by its ClOrdID: sessions only see their own.
    FIX::Message resting = new_order("b9", kSymbol, '2', "2.4", "1");
    FIX::Session::sendToTarget(resting, bob);
    CHECK(field(client.next("BOB"), FIX::FIELD::ExecType) == "0");
    FIX::Message foreign = cancel("x6", "b9", '2');
    FIX::Session::sendToTarget(foreign, alice);
    CHECK(client.next("ALICE").getHeader().getField(FIX::FIELD::MsgType) == "9");
  }
}

TEST_CASE("FIX throttle") {
  Exchange exchange("fix_client = ALICE participant=1\nfix_max_messages_per_second = 5\n");
  Client& client = exchange.client;
  REQUIRE(client.wait_logons(2));

  {  // over the rate, orders are rejected with the reason, and the session stays up
    for (int i = 0; i < 12; ++i) {
      FIX::Message m = new_order("t" + std::to_string(i), kSymbol, '2', "2.4", "1");
      FIX::Session::sendToTarget(m, exchange.bob);
    }
    int throttled = 0;
    for (int i = 0; i < 12; ++i) {
      const FIX::Message m = client.next("BOB");
      throttled += field(m, FIX::FIELD::Text).find("throttle") != std::string::npos;
    }
    CHECK(throttled >= 2);
    CHECK(throttled <= 7);
  }
}

namespace {

std::string hash_of(const std::string& password) {
  const std::string command = "echo '" + password + "' | " + GPUXD_PATH + " --hash-password";
  FILE* pipe = ::popen(command.c_str(), "r");
  char buffer[256] = {0};
  REQUIRE(std::fgets(buffer, sizeof buffer, pipe) != nullptr);
  ::pclose(pipe);
  std::string hash(buffer);
  while (!hash.empty() && (hash.back() == '\n' || hash.back() == '\r'))
    hash.pop_back();
  return hash;
}

}  // namespace

TEST_CASE("FIX logon accepts the right password") {
  Exchange exchange("fix_client = ALICE participant=1 password_hash=" + hash_of("s3cret") + "\n",
                    {{"ALICE", "s3cret"}});
  REQUIRE(exchange.client.wait_logons(2));  // BOB has no password set: any Logon is his
}

TEST_CASE("FIX logon refuses a wrong password with the reason") {
  Exchange exchange("fix_client = ALICE participant=1 password_hash=" + hash_of("s3cret") + "\n",
                    {{"ALICE", "not-it"}});
  CHECK(exchange.client.logout_text().find("wrong password for ALICE") != std::string::npos);
}

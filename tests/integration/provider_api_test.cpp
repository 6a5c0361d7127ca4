// The provider API of a real gpuxd over loopback: registration, qualification
// proofs (honest and cheating), capacity registration, the refusals (unknown
// token, wrong role, more GPUs than qualified), and hostile input (oversized
// frames, garbage, unknown message types, too many connections), each
// answered with an Error and a closed connection while gpuxd lives on. The
// providers and seats, journaled, survive a SIGKILL; seats change at run time.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "child_log.h"
#include "gpux/provider/concurrent_proofs.h"
#include "gpux/provider/wire.h"
#include "gpux/verify/prover.h"
#include "gpux/verify/sha256.h"
#include "local_daemon.h"
#include "process_usage.h"
#include "raw_fix.h"
#include "run_command.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
namespace wire = gpux::provider;
namespace pb = gpux::proto::provider;
using wire::Frame;

namespace {

constexpr const char* kOperator = "operator-token-for-tests";
constexpr std::chrono::milliseconds kTimeout{60'000};

class Exchange {
 public:
  explicit Exchange(const std::string& extra_config = {})
      : port(gpux::local::free_port()), fix_port(gpux::local::free_port()) {
    std::ofstream(dir.path() / "gpuxd.conf")
        << "data_dir = " << (dir.path() / "data").string() << "\n"
        << "provider_port = " << port << "\n"
        << "fix_port = " << fix_port << "\n"
        << "provider_operator_token = " << kOperator << "\n"
        << "provider_max_connections = 3\n"
        << "provider_max_frame_bytes = 1048576\n"
        << "verification_profile = cpu-sim\n"
        << "qualification_challenge_ms = 300\n"
        << "participant = 1 cash=1000000000\n"
        << "fix_client = SEAT-1000 participant=1000\n"
        // Delivery in 2100: listed and open for the whole test.
        << "instrument = 1 symbol=H100-SXM.us-east.21000101T00 class=H100-SXM region=us-east "
           "start=4102444800 tick=1000 max=100 reference=2000000 band=1000000\n"
        << "instrument = 2 symbol=H100-SXM.eu-west.21000101T00 class=H100-SXM region=eu-west "
           "start=4102444800 tick=1000 max=100 reference=2000000 band=1000000\n"
        << extra_config;
    start();
  }
  ~Exchange() {
    if (pid > 0) kill();
  }

  void start() {
    log_start = gpux::test::log_size((dir.path() / "gpuxd.log").string());
    pid = gpux::local::spawn_daemon(GPUXD_PATH, (dir.path() / "gpuxd.conf").string(),
                                    (dir.path() / "gpuxd.log").string());
    REQUIRE(pid > 0);
    REQUIRE_MESSAGE(gpux::local::wait_for_listener(port), log());
  }
  // SIGKILL; what it logged must hold no ThreadSanitizer report.
  void kill() {
    gpux::local::stop_daemon(pid, SIGKILL);
    pid = -1;
    gpux::test::check_no_sanitizer_report((dir.path() / "gpuxd.log").string(), log_start);
  }
  bool alive() const { return ::kill(pid, 0) == 0; }
  std::string log() const {
    std::ifstream in(dir.path() / "gpuxd.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // `gpux trade instruments` on the provider's FIX seat; its exit status.
  int fix_logon(const std::string& sender, const std::string& password) const {
    return gpux::test::run_command("GPUX_TEST_PASSWORD=" + password + " " GPUX_PATH +
                                   " trade --port " + std::to_string(fix_port) + " --sender " +
                                   sender + " --password-env GPUX_TEST_PASSWORD --dictionary " +
                                   GPUX_FIX_DICTIONARY + " --timeout 20 instruments")
        .status;
  }

  gpux::test::TempDir dir;
  int port;
  int fix_port;
  pid_t pid = -1;
  long log_start = 0;  // where this run's part of gpuxd.log begins
};

struct Client {
  explicit Client(int port, const std::string& tls_ca = {})
      : transport(wire::Transport::connect("127.0.0.1:" + std::to_string(port), tls_ca, kTimeout)) {
  }
  Frame call(const Frame& request) {
    wire::write_frame(*transport, request);
    return read();
  }
  Frame read() { return wire::read_frame(*transport, wire::kDefaultMaxFrameBytes, kTimeout); }
  void write_raw(const std::string& bytes) { transport->write_all(bytes, kTimeout); }
  Frame hello(const std::string& token) {
    Frame f;
    f.mutable_hello()->set_token(token);
    return call(f);
  }
  // The connection was closed: the next read finds its end.
  bool closed() {
    try {
      read();
      return false;
    } catch (const wire::ConnectionClosed&) {
      return true;
    } catch (const wire::WireError&) {
      return true;
    }
  }
  std::unique_ptr<wire::Transport> transport;
};

Frame register_on(Client& admin, const std::string& name, const std::string& region) {
  Frame request;
  request.mutable_register_provider()->set_name(name);
  request.mutable_register_provider()->set_region(region);
  request.mutable_register_provider()->set_cash(10'000'000'000);
  request.mutable_register_provider()->set_collateral(1'000'000'000);
  return admin.call(request);
}

Frame try_register(int port, const std::string& name, const std::string& region = "us-east") {
  // The fixture allows 3 connections, and the ones just closed by earlier
  // refusals may still count for a moment on a loaded machine: ask again.
  for (int attempt = 0; attempt < 100; ++attempt) {
    Client admin(port);
    const Frame welcome = admin.hello(kOperator);
    if (welcome.has_error() &&
        welcome.error().reason().find("too many connections") != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    REQUIRE(welcome.welcome().operator_());
    return register_on(admin, name, region);
  }
  FAIL("the operator never got a connection");
  return {};
}

pb::ProviderRegistered register_provider(int port, const std::string& name = "prov") {
  const Frame reply = try_register(port, name);
  REQUIRE_MESSAGE(reply.has_provider_registered(), wire::frame_type(reply));
  return reply.provider_registered();
}

// Qualifies `count` GPUs at once with `devices` simulated devices answering
// (all of them by default), each with `cheats`.
pb::QualificationResult qualify(Client& c, std::uint32_t count = 1,
                                const gpux::verify::Cheats& cheats = {}, std::uint32_t devices = 0,
                                const std::string& gpu_class = "H100-SXM") {
  Frame request;
  request.mutable_qualify()->set_gpu_class(gpu_class);
  request.mutable_qualify()->set_count(count);
  wire::write_frame(*c.transport, request);
  wire::DeviceProvers provers(
      devices == 0 ? count : devices, [&](const pb::ChallengeStart& start, std::uint32_t) {
        return gpux::verify::make_cpu_prover(wire::challenge_of(start), cheats);
      });
  const Frame result =
      wire::answer_proof_batches(*c.transport, provers, wire::kDefaultMaxFrameBytes, kTimeout);
  REQUIRE_MESSAGE(result.has_qualification_result(), wire::frame_type(result));
  return result.qualification_result();
}

}  // namespace

TEST_CASE(
    "provider API: register, qualify, offer qualified capacity; the registry survives SIGKILL") {
  Exchange exchange;
  const pb::ProviderRegistered registered = register_provider(exchange.port);
  CHECK(registered.participant() == 1000);
  CHECK(registered.token().size() == 64);
  CHECK(registered.fix_sender_comp_id() == "SEAT-1000");
  // Its FIX seat now needs the password issued with it.
  REQUIRE(registered.fix_password().size() == 32);
  CHECK(exchange.fix_logon("SEAT-1000", registered.fix_password()) == 0);
  CHECK(exchange.fix_logon("SEAT-1000", "not-the-password") == 3);

  {
    Client provider(exchange.port);
    CHECK(provider.hello(registered.token()).welcome().participant() == 1000);
    const pb::QualificationResult two = qualify(provider, 2);
    CHECK(two.passed());
    CHECK(two.qualified() == 2);
    REQUIRE(two.gpus_size() == 2);
    CHECK(two.gpus(1).passed());
    // A GPU that skips work fails its qualification and does not count.
    gpux::verify::Cheats cheats;
    cheats.skip_tiles_per_mille = 500;
    const pb::QualificationResult cheat = qualify(provider, 1, cheats);
    CHECK(!cheat.passed());
    CHECK(cheat.detail().find("tile_mismatch") != std::string::npos);
    CHECK(cheat.qualified() == 0);
    // Only GPUs proven together count: a later qualification replaces the
    // count, so that one device proven twice is not two.
    CHECK(qualify(provider, 2).qualified() == 2);

    Frame too_many;
    too_many.mutable_register_gpus()->set_gpu_class("H100-SXM");
    too_many.mutable_register_gpus()->set_region("us-east");
    too_many.mutable_register_gpus()->set_count(3);
    const Frame refused = provider.call(too_many);
    REQUIRE(refused.has_error());
    CHECK(refused.error().reason().find("2 qualified") != std::string::npos);
  }
  {
    // A fresh connection has qualified nothing yet: registering needs proofs on it.
    Client provider(exchange.port);
    provider.hello(registered.token());
    CHECK(qualify(provider).passed());
    Frame gpus;
    gpus.mutable_register_gpus()->set_gpu_class("H100-SXM");
    gpus.mutable_register_gpus()->set_region("us-east");
    gpus.mutable_register_gpus()->set_count(1);
    const Frame reply = provider.call(gpus);
    REQUIRE_MESSAGE(reply.has_gpus_registered(), wire::frame_type(reply));
    CHECK(reply.gpus_registered().instruments() == 1);  // us-east only, not eu-west
  }
  CHECK(exchange.log().find("registered provider prov") != std::string::npos);

  exchange.kill();
  exchange.start();
  Client again(exchange.port);
  CHECK(again.hello(registered.token()).welcome().participant() == 1000);
  CHECK(exchange.fix_logon("SEAT-1000", registered.fix_password()) == 0);
  CHECK(exchange.fix_logon("SEAT-1000", "") == 3);
  // The next provider gets the next id: the registry kept its counter.
  CHECK(register_provider(exchange.port, "prov-2").participant() == 1001);
}

TEST_CASE("provider API: only GPUs proven at once qualify; a provider running 2 claims 4") {
  Exchange exchange(
      "instrument = 3 symbol=A100.us-east.21000101T00 class=A100 region=us-east "
      "start=4102444800 tick=1000 max=100 reference=1500000 band=1000000\n");
  const pb::ProviderRegistered registered = register_provider(exchange.port);
  Client provider(exchange.port);
  provider.hello(registered.token());
  // Four challenges at one instant, two simulated devices: each device
  // proves one, and the other two have no device in the window.
  const pb::QualificationResult oversold = qualify(provider, 4, {}, 2);
  CHECK(!oversold.passed());
  CHECK(oversold.qualified() == 2);
  REQUIRE(oversold.gpus_size() == 4);
  CHECK(oversold.gpus(0).passed());
  CHECK(oversold.gpus(1).passed());
  for (int gpu : {2, 3}) {
    CHECK(!oversold.gpus(gpu).passed());
    CHECK(oversold.gpus(gpu).detail().find("incomplete: the provider did not answer: no device") !=
          std::string::npos);
  }
  // It may offer what it proved, not what it claimed.
  Frame claimed;
  claimed.mutable_register_gpus()->set_gpu_class("H100-SXM");
  claimed.mutable_register_gpus()->set_region("us-east");
  claimed.mutable_register_gpus()->set_count(4);
  const Frame refused = provider.call(claimed);
  REQUIRE(refused.has_error());
  CHECK(refused.error().reason().find("but 2 qualified") != std::string::npos);
  claimed.mutable_register_gpus()->set_count(2);
  CHECK(provider.call(claimed).has_gpus_registered());
  // The same proven GPUs offered a second time, in another region or as
  // another class (a faster GPU passes a slower class's proof), would be
  // sold twice.
  claimed.mutable_register_gpus()->set_region("eu-west");
  const Frame elsewhere = provider.call(claimed);
  REQUIRE(elsewhere.has_error());
  CHECK(elsewhere.error().reason().find("offers its H100-SXM GPUs in us-east already") !=
        std::string::npos);
  CHECK(qualify(provider, 2, {}, 0, "A100").qualified() == 2);
  Frame other_class;
  other_class.mutable_register_gpus()->set_gpu_class("A100");
  other_class.mutable_register_gpus()->set_region("us-east");
  other_class.mutable_register_gpus()->set_count(2);
  const Frame refused_class = provider.call(other_class);
  REQUIRE(refused_class.has_error());
  CHECK(refused_class.error().reason().find("offers H100-SXM GPUs already") != std::string::npos);
}

TEST_CASE("provider API: refusals and hostile input get an Error and a closed connection") {
  Exchange exchange;
  const pb::ProviderRegistered registered = register_provider(exchange.port);

  SUBCASE("unknown token") {
    Client c(exchange.port);
    const Frame reply = c.hello("not-a-token");
    REQUIRE(reply.has_error());
    CHECK(reply.error().reason() == "unknown token");
    CHECK(c.closed());
  }
  SUBCASE("a provider may not make operator calls") {
    Client c(exchange.port);
    c.hello(registered.token());
    Frame request;
    request.mutable_register_provider()->set_name("x");
    const Frame reply = c.call(request);
    REQUIRE(reply.has_error());
    CHECK(reply.error().reason() == "register_provider is not a provider call");
    CHECK(c.closed());
  }
  SUBCASE("a name already registered, or not a plain word, is refused") {
    Frame reply = try_register(exchange.port, "prov");
    REQUIRE(reply.has_error());
    CHECK(reply.error().reason() ==
          "register_provider: a provider named 'prov' is registered already (participant 1000)");
    for (const std::string& name : {std::string(), std::string("a/b"), std::string("x y"),
                                    std::string("-dash"), std::string(65, 'n')}) {
      INFO(name);
      reply = try_register(exchange.port, name);
      REQUIRE(reply.has_error());
      CHECK(reply.error().reason().find("name '" + name + "' must be 1 to 64 letters") !=
            std::string::npos);
    }
    reply = try_register(exchange.port, "prov-3", "us east");
    REQUIRE(reply.has_error());
    CHECK(reply.error().reason().find("region 'us east' must be") != std::string::npos);
    // None of them became a participant: the next one gets the next id.
    CHECK(register_provider(exchange.port, "prov-3").participant() == 1001);
  }
  SUBCASE("the first message must be a hello") {
    Client c(exchange.port);
    Frame request;
    request.mutable_agent_ready();
    const Frame reply = c.call(request);
    REQUIRE(reply.has_error());
    CHECK_MESSAGE(reply.error().reason().find("must be hello") != std::string::npos,
                  reply.error().reason());
  }
  SUBCASE("an oversized frame, before and after hello") {
    Client stranger(exchange.port);
    // Before hello, a frame may hold a hello and no more: nothing larger is read.
    stranger.write_raw(std::string("\0\0\x10\x01", 4));  // 4097 bytes
    Frame reply = stranger.read();
    REQUIRE(reply.has_error());
    CHECK(reply.error().reason().find("the limit is 4096") != std::string::npos);
    CHECK(stranger.closed());

    Client provider(exchange.port);
    REQUIRE(provider.hello(registered.token()).has_welcome());
    provider.write_raw(std::string("\x10\0\0\0", 4));  // 256 MiB
    reply = provider.read();
    REQUIRE(reply.has_error());
    CHECK(reply.error().reason().find("the limit is 1048576") != std::string::npos);
    CHECK(provider.closed());
  }
  SUBCASE("garbage and unknown message types") {
    for (const std::string& body : {std::string("\xff\xff\xff\xff\xff\xff", 6),
                                    std::string("\xf8\x06\x01", 3) /* field 111, unknown */}) {
      Client c(exchange.port);
      c.write_raw(std::string("\0\0\0", 3) + static_cast<char>(body.size()) + body);
      const Frame reply = c.read();
      REQUIRE(reply.has_error());
      CHECK((reply.error().reason().find("not a ProviderFrame") != std::string::npos ||
             reply.error().reason().find("unknown or missing message type") != std::string::npos));
      CHECK(c.closed());
    }
  }
  SUBCASE("more connections than allowed") {
    // Connections that just ended may still count for a moment: the limit
    // must refuse by the fourth open one at the latest, and not before the
    // second.
    std::vector<std::unique_ptr<Client>> open;
    std::string refusal;
    while (refusal.empty() && open.size() < 4) {
      open.push_back(std::make_unique<Client>(exchange.port));
      const Frame reply = open.back()->hello(kOperator);
      if (reply.has_error()) refusal = reply.error().reason();
    }
    CHECK(refusal == "too many connections (limit 3)");
    CHECK(open.size() >= 2);
  }
  // Whatever came before, gpuxd still serves (once closed connections are
  // let go).
  CHECK(exchange.alive());
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    Client after(exchange.port);
    served = after.hello(kOperator).has_welcome();
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(served);
}

namespace {

// A self-signed certificate for 127.0.0.1 (its own CA), made with openssl.
void make_certificate(const fs::path& dir, const std::string& name) {
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gpux-test"
      " -addext subjectAltName=IP:127.0.0.1 -keyout " +
      (dir / (name + ".key")).string() + " -out " + (dir / (name + ".pem")).string() +
      " > /dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
}

}  // namespace

TEST_CASE(
    "provider API over TLS: proofs run encrypted; plain clients and unknown CAs are refused") {
  gpux::test::TempDir certificates;
  make_certificate(certificates.path(), "exchange");
  make_certificate(certificates.path(), "impostor");
  const std::string ca = (certificates.path() / "exchange.pem").string();
  Exchange exchange("provider_tls_certificate = " + ca + "\nprovider_tls_key = " +
                    (certificates.path() / "exchange.key").string() + "\n");

  Client admin(exchange.port, ca);
  REQUIRE(admin.hello(kOperator).welcome().operator_());
  Frame request;
  request.mutable_register_provider()->set_name("tls-prov");
  request.mutable_register_provider()->set_region("us-east");
  const Frame registered = admin.call(request);
  REQUIRE(registered.has_provider_registered());
  Client provider(exchange.port, ca);
  provider.hello(registered.provider_registered().token());
  CHECK(qualify(provider).passed());  // a whole proof over TLS

  // A client speaking plain TCP to the TLS port gets no frame, only a close.
  Client plain(exchange.port);
  Frame hello;
  hello.mutable_hello()->set_token(kOperator);
  wire::write_frame(*plain.transport, hello);
  CHECK_THROWS_AS(plain.read(), wire::WireError);

  // A certificate the client's CA did not sign: the client refuses to talk.
  try {
    Client fooled(exchange.port, (certificates.path() / "impostor.pem").string());
    FAIL("connected to an exchange whose certificate the CA did not sign");
  } catch (const wire::WireError& e) {
    CHECK(std::string(e.what()).find("certificate verify failed") != std::string::npos);
  }
  CHECK(exchange.alive());
  CHECK(exchange.log().find("(TLS)") != std::string::npos);
}

TEST_CASE("gpux provider onboard --node-gpus: GPUs offered as whole nodes of the node class") {
  Exchange exchange(
      "instrument = 3 symbol=H100-SXM-8x.us-east.21000101T00 class=H100-SXM-8x region=us-east "
      "start=4102444800 tick=1000 max=100 reference=16000000 band=8000000 gpus_per_unit=8\n");
  gpux::test::TempDir out;
  const auto onboard = [&](const std::string& name, const std::string& gpus) {
    return gpux::test::run_command(
        "GPUX_OPERATOR_TOKEN=" + std::string(kOperator) + " " GPUX_PATH +
        " provider onboard --exchange 127.0.0.1:" + std::to_string(exchange.port) + " --name " +
        name + " --region us-east --simulate " + gpus + " --out " + (out.path() / name).string());
  };
  auto refused = onboard("odd", "H100-SXM,12 --node-gpus 8");
  CHECK(refused.status == 2);
  CHECK(refused.output.find("--node-gpus 8: 12 GPUs do not make whole nodes") != std::string::npos);

  // 16 GPUs, two nodes: each GPU proves itself; only the node product (not
  // the per-GPU ones of the same region) gets them, two units.
  const auto nodes = onboard("nodes", "H100-SXM,16 --node-gpus 8");
  INFO(nodes.output);
  REQUIRE(nodes.status == 0);
  CHECK(nodes.output.find("16 of 16 H100-SXM-8x GPUs qualified and offered in us-east (1 listed "
                          "products)") != std::string::npos);
  CHECK(exchange.log().find("qualification of 16 H100-SXM-8x") != std::string::npos);

  const auto qualify_again = [&](const std::string& gpus) {
    return gpux::test::run_command(std::string(GPUX_PATH) + " provider qualify --config " +
                                   (out.path() / "nodes" / "agent.conf").string() + " --simulate " +
                                   gpus);
  };
  // The same provider's GPUs offered one by one as well would be sold twice.
  const auto singles = qualify_again("H100-SXM,8");
  CHECK(singles.status == 1);
  CHECK_MESSAGE(singles.output.find("offers its H100-SXM GPUs in us-east as H100-SXM-8x "
                                    "already") != std::string::npos,
                singles.output);
  // A class the exchange lists no products for here: refused before any
  // proof, with the classes it has.
  const auto other = qualify_again("H200,1");
  CHECK(other.status == 1);
  CHECK_MESSAGE(other.output.find("the exchange lists no H200 products in us-east (classes there: "
                                  "H100-SXM, H100-SXM-8x)") != std::string::npos,
                other.output);
}

TEST_CASE(
    "gpux provider onboard: unknown class or region refused; a stopped onboarding resumes "
    "or is withdrawn") {
  // The exchange challenges with the H100's own profile, which a simulated
  // GPU cannot prove: onboarding stops after registering.
  Exchange exchange("verification_profile = h100-sxm\n");
  gpux::test::TempDir out;
  const auto onboard = [&](const std::string& name, const std::string& region,
                           const std::string& gpus) {
    return gpux::test::run_command(
        "GPUX_OPERATOR_TOKEN=" + std::string(kOperator) + " " GPUX_PATH +
        " provider onboard --exchange 127.0.0.1:" + std::to_string(exchange.port) + " --name " +
        name + " --region " + region + " --simulate " + gpus + " --out " +
        (out.path() / name).string());
  };
  const auto mars = onboard("martian", "mars-north", "H100-SXM,1");
  CHECK(mars.status == 1);
  CHECK_MESSAGE(mars.output.find("the exchange lists no products in region 'mars-north' "
                                 "(regions: eu-west, us-east)") != std::string::npos,
                mars.output);
  const auto gtx = onboard("gamer", "us-east", "GTX-9999,1");
  CHECK(gtx.status == 1);
  CHECK_MESSAGE(gtx.output.find("the exchange lists no GTX-9999 products in us-east (classes "
                                "there: H100-SXM)") != std::string::npos,
                gtx.output);
  CHECK_FALSE(std::filesystem::exists(out.path() / "martian"));
  CHECK(exchange.log().find("registered provider") == std::string::npos);

  const auto stopped = onboard("patient", "us-east", "H100-SXM,1");
  CHECK(stopped.status == 1);
  CHECK_MESSAGE(stopped.output.find("no GPU qualified: nothing is offered (run the same command "
                                    "again to retry)") != std::string::npos,
                stopped.output);
  CHECK(stopped.output.find("the exchange challenges with the h100-sxm profile") !=
        std::string::npos);
  const auto agent_conf = out.path() / "patient" / "agent.conf";
  REQUIRE(std::filesystem::exists(agent_conf));
  const auto text_of = [](const std::filesystem::path& file) {
    std::ifstream in(file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(text_of(agent_conf).find("\ngpus = 0\n") != std::string::npos);

  // Another stops the same way and withdraws: its token is revoked.
  REQUIRE(onboard("quitter", "us-east", "H100-SXM,1").status == 1);
  const auto withdrawn =
      gpux::test::run_command(std::string(GPUX_PATH) + " provider deregister --config " +
                              (out.path() / "quitter" / "agent.conf").string());
  CHECK_MESSAGE(withdrawn.status == 0, withdrawn.output);
  CHECK(withdrawn.output.find("token revoked") != std::string::npos);
  CHECK(std::filesystem::exists(out.path() / "quitter" / "agent.conf.deregistered"));
  CHECK_FALSE(std::filesystem::exists(out.path() / "quitter" / "agent.conf"));

  // The operator fixes the exchange (simulated GPUs need cpu-sim) and
  // restarts it; the same command resumes with the registration kept.
  exchange.kill();
  {
    std::string config = text_of(exchange.dir.path() / "gpuxd.conf");
    config.erase(config.find("verification_profile = h100-sxm\n"));
    std::ofstream(exchange.dir.path() / "gpuxd.conf") << config;
  }
  exchange.start();
  const auto resumed = onboard("patient", "us-east", "H100-SXM,1");
  CHECK_MESSAGE(resumed.status == 0, resumed.output);
  CHECK(resumed.output.find("resuming patient (participant ") != std::string::npos);
  CHECK(resumed.output.find("1 of 1 H100-SXM GPUs qualified and offered in us-east") !=
        std::string::npos);
  CHECK(text_of(agent_conf).find("\ngpus = 1\n") != std::string::npos);
  // Done once: a second run is refused, the token kept.
  const auto again = onboard("patient", "us-east", "H100-SXM,1");
  CHECK(again.status == 1);
  CHECK(again.output.find("is onboarded already with 1 GPUs") != std::string::npos);
}

TEST_CASE("provider API: a peer that trickles a frame is dropped at the frame's deadline") {
  Exchange exchange("provider_timeout_ms = 600\n");
  Client c(exchange.port);
  // A hello's header, then a byte every 200 ms: each read comes well within
  // the timeout, but the frame does not complete within it. (A per-read
  // timeout let such a peer hold its connection, and a slot, for ever.)
  const auto started = std::chrono::steady_clock::now();
  c.write_raw(std::string("\0\0\0\x40", 4));
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the attacker's pace
    c.write_raw("x");
  }
  const Frame reply = c.read();
  REQUIRE(reply.has_error());
  CHECK(reply.error().reason() == "a frame not completed within 600 ms");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(2500));
  CHECK(c.closed());
  CHECK(exchange.alive());
}

TEST_CASE("provider API: five unknown tokens in a minute, and the address is refused unchecked") {
  // Room for the guessers' connections while the exchange is still closing
  // the earlier ones (the fixture's limit is 3).
  Exchange exchange("provider_max_connections = 16\n");
  const pb::ProviderRegistered registered = register_provider(exchange.port);
  for (int i = 0; i < 5; ++i) {
    Client guesser(exchange.port);
    const Frame reply = guesser.hello("guess-" + std::to_string(i));
    REQUIRE(reply.has_error());
    CHECK(reply.error().reason() == "unknown token");
  }
  // Even the right token, from that address, for the rest of the minute.
  Client c(exchange.port);
  const Frame reply = c.hello(registered.token());
  REQUIRE(reply.has_error());
  CHECK(reply.error().reason() == "too many unknown tokens from 127.0.0.1; try again in a minute");
  CHECK(c.closed());
  CHECK(exchange.alive());
}

namespace {

// All a raw connection receives until gpuxd closes it (up to 30 s).
std::string read_until_closed(int fd) {
  std::string received;
  pollfd readable{fd, POLLIN, 0};
  char buffer[4096];
  while (::poll(&readable, 1, 30'000) > 0) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  return received;
}

// The operator is welcomed, once connections that just ended are let go.
bool operator_welcomed_soon(int port) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    Client admin(port);
    if (admin.hello(kOperator).has_welcome()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("provider API: one source address cannot take every connection") {
  Exchange exchange("provider_max_connections = 8\nprovider_max_connections_per_address = 2\n");
  std::vector<int> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(gpux::local::connect_to(exchange.port, "127.0.0.2"));
    REQUIRE(held.back() >= 0);
  }
  const int third = gpux::local::connect_to(exchange.port, "127.0.0.2");
  REQUIRE(third >= 0);
  const std::string refusal = read_until_closed(third);
  ::close(third);
  CHECK(refusal.find("too many connections from 127.0.0.2 (limit 2)") != std::string::npos);
  // Another address is still served.
  Client admin(exchange.port);
  CHECK(admin.hello(kOperator).has_welcome());
  for (int fd : held)
    ::close(fd);
  CHECK(exchange.log().find("connections from that address already "
                            "(provider_max_connections_per_address)") != std::string::npos);
}

namespace {

// The inodes of the sockets in /proc/net/tcp on local `port`, but for a
// listener's.
std::set<std::string> connection_inodes(int port) {
  std::set<std::string> inodes;
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    const auto colon = local.find(':');
    if (colon != std::string::npos && std::stoi(local.substr(colon + 1), nullptr, 16) == port &&
        state != "0A" /* LISTEN */)
      inodes.insert(inode);
  }
  return inodes;
}

// Whether `pid` holds a connection accepted on `port`.
bool holds_connection_on(pid_t pid, int port) {
  const auto inodes = connection_inodes(port);
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : fs::directory_iterator(fds)) {
    std::error_code ignored;
    const std::string target = fs::read_symlink(entry.path(), ignored).string();
    if (target.rfind("socket:[", 0) == 0 && inodes.count(target.substr(8, target.size() - 9)) != 0)
      return true;
  }
  return false;
}

// The lowest descriptor number `pid` has free. With RLIMIT_NOFILE at it,
// nothing can be opened while every descriptor below stays open.

}  // namespace

TEST_CASE("provider API: out of file descriptors, it refuses newcomers without spinning") {
  Exchange exchange;
  // Ready, not only listening: the provider API listens before the
  // bootstrap is journaled, and the sanitizers' first checks of the
  // bootstrap's objects need descriptors of their own (a limit set before
  // would abort gpuxd there).
  for (int waited_ms = 0;
       waited_ms < 20'000 && exchange.log().find("gpuxd: ready") == std::string::npos;
       waited_ms += 10)
    ::poll(nullptr, 0, 10);
  REQUIRE_MESSAGE(exchange.log().find("gpuxd: ready") != std::string::npos, exchange.log());
  // The fixture's readiness probe served and closed: no descriptor below
  // the limit is let go of while the test runs.
  for (int waited_ms = 0; waited_ms < 10'000 && holds_connection_on(exchange.pid, exchange.port);
       waited_ms += 10)
    ::poll(nullptr, 0, 10);
  REQUIRE_FALSE(holds_connection_on(exchange.pid, exchange.port));
  // No descriptor left to open (the soft limit: raising it again needs no
  // privilege), then a flood. Not even one for a moment: the sanitizers'
  // checks of a new connection's objects need a descriptor of their own.
  rlimit before{};
  REQUIRE(::prlimit(exchange.pid, RLIMIT_NOFILE, nullptr, &before) == 0);
  const rlimit tight{static_cast<rlim_t>(gpux::local::lowest_free_descriptor(exchange.pid)),
                     before.rlim_max};
  REQUIRE(::prlimit(exchange.pid, RLIMIT_NOFILE, &tight, nullptr) == 0);
  std::vector<int> flood;
  for (int i = 0; i < 20; ++i) {
    flood.push_back(gpux::local::connect_to(exchange.port));
    REQUIRE(flood.back() >= 0);
  }
  // Pending connections it cannot accept must not make it spin: over two
  // seconds it stays far from a core's worth of CPU (200 ticks).
  const long ticks_before = gpux::local::cpu_ticks(exchange.pid);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the measurement's window
  const long used = gpux::local::cpu_ticks(exchange.pid) - ticks_before;
  CAPTURE(used);
  CHECK(used < 50);
  // Descriptors back: the operator is served again.
  REQUIRE(::prlimit(exchange.pid, RLIMIT_NOFILE, &before, nullptr) == 0);
  for (int fd : flood)
    ::close(fd);
  CHECK(operator_welcomed_soon(exchange.port));
  CHECK(exchange.alive());
  CHECK(exchange.log().find("the process is out of file descriptors") != std::string::npos);
}

TEST_CASE(
    "gpux admin: the market's terms changed at run time (journaled); providers, seats, "
    "instruments listed") {
  Exchange exchange("fix_client = BUYER participant=1 password=none\n");
  const auto admin = [&](const std::string& options) {
    return gpux::test::run_command(
        "GPUX_OPERATOR_TOKEN=" + std::string(kOperator) + " " GPUX_PATH +
        " admin terms --exchange 127.0.0.1:" + std::to_string(exchange.port) + options);
  };
  const auto shown = admin("");
  CHECK_MESSAGE(shown.status == 0, shown.output);
  CHECK(shown.output.find("terms in effect: buyer_fee_ppm=0 challenges_per_obligation=4 "
                          "penalty_ppm=500000 challenge_seed=1735423352") != std::string::npos);

  // Delivery terms change now, for what follows; the reply names the command.
  const auto changed = admin(" --challenges 2 --penalty-ppm 100000");
  CHECK_MESSAGE(changed.status == 0, changed.output);
  CHECK(changed.output.find("terms set at sequence ") != std::string::npos);
  CHECK(changed.output.find("challenges_per_obligation=2 penalty_ppm=100000") != std::string::npos);
  CHECK(exchange.log().find("the operator set the market terms at") != std::string::npos);

  const auto invalid = admin(" --buyer-fee-ppm 2000000");
  CHECK(invalid.status == 1);
  CHECK_MESSAGE(invalid.output.find("refused: market terms refused: invalid_market_terms") !=
                    std::string::npos,
                invalid.output);
  CHECK(admin(" --buyer-fee-ppm 99999999999").status == 2);

  // With a buyer's money held, the fee hold stays.
  const auto placed = gpux::test::run_command(
      std::string(GPUX_PATH) + " trade --port " + std::to_string(exchange.fix_port) +
      " --sender BUYER --dictionary " + GPUX_FIX_DICTIONARY +
      " --timeout 20 place buy H100-SXM.us-east.21000101T00 1 2.0");
  REQUIRE_MESSAGE(placed.status == 0, placed.output);
  const auto locked = admin(" --buyer-fee-ppm 1000");
  CHECK(locked.status == 1);
  CHECK_MESSAGE(locked.output.find("market_terms_locked: buyers' money is held under the current "
                                   "fee hold") != std::string::npos,
                locked.output);

  // The journal holds them: after a SIGKILL and restart, the same terms.
  exchange.kill();
  exchange.start();
  const auto after = admin(" --json");
  CHECK_MESSAGE(after.output.find("\"buyer_fee_ppm\":0,\"challenges_per_obligation\":2,"
                                  "\"penalty_ppm\":100000,") != std::string::npos,
                after.output);
  CHECK(gpux::test::run_command(std::string(GPUX_PATH) + " admin terms --exchange 127.0.0.1:" +
                                std::to_string(exchange.port))
            .status == 2);  // no operator token

  // The providers, as registered: one onboarded here.
  gpux::test::TempDir out;
  const auto onboarded = gpux::test::run_command(
      "GPUX_OPERATOR_TOKEN=" + std::string(kOperator) + " " GPUX_PATH +
      " provider onboard --exchange 127.0.0.1:" + std::to_string(exchange.port) +
      " --name listed --region us-east --simulate H100-SXM,2 --out " +
      (out.path() / "listed").string());
  REQUIRE_MESSAGE(onboarded.status == 0, onboarded.output);
  const auto listed = gpux::test::run_command(
      "GPUX_OPERATOR_TOKEN=" + std::string(kOperator) + " " GPUX_PATH +
      " admin providers --json --exchange 127.0.0.1:" + std::to_string(exchange.port));
  CHECK_MESSAGE(listed.status == 0, listed.output);
  CHECK_MESSAGE(listed.output.find("\"name\":\"listed\",\"region\":\"us-east\",\"gpus\":\"2 "
                                   "H100-SXM\",\"fix_seat\":\"SEAT-1000\",\"fix_password_set\":"
                                   "true}") != std::string::npos,
                listed.output);
  CHECK(listed.output.find("token") == std::string::npos);

  // The seats: the buyer's open one, the provider's with the password
  // onboarding issued. And the instruments with their state.
  const auto admin_list = [&](const std::string& what) {
    return gpux::test::run_command("GPUX_OPERATOR_TOKEN=" + std::string(kOperator) + " " GPUX_PATH +
                                   " admin " + what +
                                   " --json --exchange 127.0.0.1:" + std::to_string(exchange.port));
  };
  const auto seats = admin_list("seats");
  CHECK_MESSAGE(seats.status == 0, seats.output);
  CHECK(seats.output.find("{\"seat\":\"BUYER\",\"participant\":1,\"password\":\"not needed\","
                          "\"cancel_on_disconnect\":false,\"enabled\":true,\"provider\":\"\"}") !=
        std::string::npos);
  CHECK_MESSAGE(seats.output.find("{\"seat\":\"SEAT-1000\",\"participant\":1000,\"password\":"
                                  "\"set\",\"cancel_on_disconnect\":false,\"enabled\":true,"
                                  "\"provider\":\"listed\"}") != std::string::npos,
                seats.output);
  const auto instruments = admin_list("instruments");
  CHECK_MESSAGE(instruments.status == 0, instruments.output);
  CHECK(instruments.output.find("{\"id\":1,\"symbol\":\"H100-SXM.us-east.21000101T00\","
                                "\"class\":\"H100-SXM\",\"region\":\"us-east\",\"state\":"
                                "\"open\",\"halted\":false,\"delivery_start\":4102444800,") !=
        std::string::npos);

  // Halted by symbol: FIX orders are refused with the reason until resumed
  // (by id), across a restart in between.
  const auto place = [&] {
    return gpux::test::run_command(std::string(GPUX_PATH) + " trade --port " +
                                   std::to_string(exchange.fix_port) + " --sender BUYER" +
                                   " --dictionary " + GPUX_FIX_DICTIONARY +
                                   " --timeout 20 place buy H100-SXM.us-east.21000101T00 1 1.9");
  };
  const auto halted = admin_list("halt H100-SXM.us-east.21000101T00");
  CHECK_MESSAGE(halted.output.find("\"state\":\"open\",\"halted\":true") != std::string::npos,
                halted.output);
  const auto refused = place();
  CHECK(refused.status == 1);
  CHECK_MESSAGE(refused.output.find("instrument_halted: trading in H100-SXM.us-east.21000101T00 "
                                    "is halted by the operator") != std::string::npos,
                refused.output);
  exchange.kill();
  exchange.start();
  CHECK(admin_list("instruments").output.find("\"halted\":true") != std::string::npos);
  const auto twice = admin_list("halt 1");
  CHECK(twice.status == 1);
  CHECK(twice.output.find("halt refused: invalid_state_transition") != std::string::npos);
  CHECK(admin_list("resume 1").output.find("\"halted\":false") != std::string::npos);
  const auto accepted = place();
  CHECK_MESSAGE(accepted.status == 0, accepted.output);
  CHECK(admin_list("halt 99").output.find("no instrument '99' (id or symbol)") !=
        std::string::npos);
}

namespace {

// A raw FIX session on `seat`, logged on with `password`: what a trading
// client holding its seat sees while the operator changes it.
class RawSession {
 public:
  RawSession(int port, const std::string& seat, const std::string& password)
      : fd_(gpux::local::connect_to(port)), seat_(seat) {
    REQUIRE(fd_ >= 0);
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char sent[32];
    std::strftime(sent, sizeof sent, "%Y%m%d-%H:%M:%S", &tm);
    const std::string logon = gpux::local::fix_frame(
        "A", seat_, "GPUX", 1, sent,
        "98=0\x01" + std::string("108=30\x01") + "141=Y\x01" + "554=" + password + "\x01");
    REQUIRE(::send(fd_, logon.data(), logon.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(logon.size()));
  }
  ~RawSession() { ::close(fd_); }
  // The next message, "" once the connection ended (or after 20 s).
  std::string next() {
    for (;;) {
      if (std::string m = gpux::local::take_fix_message(buffer_); !m.empty()) return m;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20'000) != 1) return {};
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return {};
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  std::string seat_;
  std::string buffer_;
};

}  // namespace

TEST_CASE(
    "gpux admin: a seat created at run time logs on at once; disabled, it is logged out "
    "and refused; rotated, only the new password works; all of it survives SIGKILL") {
  Exchange exchange;
  const auto admin = [&](const std::string& what) {
    return gpux::test::run_command("GPUX_OPERATOR_TOKEN=" + std::string(kOperator) + " " GPUX_PATH +
                                   " admin " + what +
                                   " --json --exchange 127.0.0.1:" + std::to_string(exchange.port));
  };
  const auto new_password = [](const std::string& output) {
    const std::string key = "\"new_password\":\"";
    const auto at = output.find(key);
    return at == std::string::npos ? std::string() : output.substr(at + key.size(), 32);
  };
  const auto logon_output = [&](const std::string& password) {
    return gpux::test::run_command("GPUX_TEST_PASSWORD=" + password + " " GPUX_PATH +
                                   " trade --port " + std::to_string(exchange.fix_port) +
                                   " --sender TRADER --password-env GPUX_TEST_PASSWORD "
                                   "--dictionary " GPUX_FIX_DICTIONARY " --timeout 20 instruments");
  };

  const auto created = admin("seat-create TRADER --participant 1");
  REQUIRE_MESSAGE(created.status == 0, created.output);
  const std::string first = new_password(created.output);
  REQUIRE(first.size() == 32);
  CHECK(exchange.fix_logon("TRADER", first) == 0);  // at once: no restart
  CHECK(exchange.fix_logon("TRADER", "wrong") == 3);
  CHECK(admin("seat-create TRADER --participant 1").status == 1);  // exists already
  const auto taken = admin("seat-create SEAT-1000 --participant 1");
  CHECK(taken.status == 1);
  const auto nobody = admin("seat-create FUTURE --participant 4242");
  CHECK(nobody.status == 1);
  CHECK_MESSAGE(nobody.output.find("no participant 4242 at the exchange") != std::string::npos,
                nobody.output);
  CHECK(admin("seat-create 'bad name' --participant 1").output.find("invalid_seat") !=
        std::string::npos);

  {
    // Logged on, then disabled: the session is logged out with the reason.
    // (A seat of its own: this raw client resets the numbering that gpux
    // trade keeps for TRADER.)
    const auto live = admin("seat-create LIVE --participant 1");
    REQUIRE_MESSAGE(live.status == 0, live.output);
    RawSession session(exchange.fix_port, "LIVE", new_password(live.output));
    const std::string welcome = session.next();
    REQUIRE_MESSAGE(gpux::local::fix_value(welcome, "35") == "A", welcome);
    const auto disabled = admin("seat-disable LIVE");
    REQUIRE_MESSAGE(disabled.status == 0, disabled.output);
    CHECK(disabled.output.find("\"enabled\":false") != std::string::npos);
    std::string logout;
    for (std::string m = session.next(); !m.empty(); m = session.next())
      if (gpux::local::fix_value(m, "35") == "5") logout = m;
    CHECK_MESSAGE(gpux::local::fix_value(logout, "58") == "seat disabled by the operator", logout);
  }
  {
    // A new password ends a session logged on with the old one.
    const auto rotating = admin("seat-create ROTATE --participant 1");
    REQUIRE_MESSAGE(rotating.status == 0, rotating.output);
    RawSession session(exchange.fix_port, "ROTATE", new_password(rotating.output));
    const std::string welcome = session.next();
    REQUIRE_MESSAGE(gpux::local::fix_value(welcome, "35") == "A", welcome);
    REQUIRE(admin("seat-password ROTATE").status == 0);
    std::string logout;
    for (std::string m = session.next(); !m.empty(); m = session.next())
      if (gpux::local::fix_value(m, "35") == "5") logout = m;
    CHECK_MESSAGE(gpux::local::fix_value(logout, "58") ==
                      "password changed by the operator: log on with the new one",
                  logout);
  }
  REQUIRE(admin("seat-disable TRADER").status == 0);
  const auto refused = logon_output(first);
  CHECK(refused.status == 3);
  CHECK_MESSAGE(refused.output.find("seat TRADER is disabled by the operator") != std::string::npos,
                refused.output);

  // A new password, enabled again: only the new one logs on.
  const auto rotated = admin("seat-password TRADER");
  REQUIRE_MESSAGE(rotated.status == 0, rotated.output);
  const std::string second = new_password(rotated.output);
  REQUIRE(second.size() == 32);
  REQUIRE(admin("seat-enable TRADER --cancel-on-disconnect yes").status == 0);
  const auto enabled = logon_output(second);
  CHECK_MESSAGE(enabled.status == 0, enabled.output);
  CHECK(exchange.fix_logon("TRADER", first) == 3);

  // The journal holds it all: after SIGKILL the seat is as it was.
  exchange.kill();
  exchange.start();
  CHECK(exchange.fix_logon("TRADER", second) == 0);
  CHECK(exchange.fix_logon("TRADER", first) == 3);
  const auto listed = admin("seats");
  CHECK_MESSAGE(
      listed.output.find("{\"seat\":\"TRADER\",\"participant\":1,\"password\":\"set\","
                         "\"cancel_on_disconnect\":true,\"enabled\":true") != std::string::npos,
      listed.output);
  REQUIRE(admin("seat-disable TRADER").status == 0);
  exchange.kill();
  exchange.start();
  CHECK(logon_output(second).output.find("disabled by the operator") != std::string::npos);
}

TEST_CASE(
    "gpux admin: product terms scheduled from a sequence, refused when invalid, kept across "
    "SIGKILL") {
  Exchange exchange;
  const auto admin = [&](const std::string& what) {
    return gpux::test::run_command("GPUX_OPERATOR_TOKEN=" + std::string(kOperator) + " " GPUX_PATH +
                                   " admin product-terms " + what +
                                   " --json --exchange 127.0.0.1:" + std::to_string(exchange.port));
  };
  const auto none_yet = admin("H100-SXM us-east --taker-fee-ppm 0");
  CHECK(none_yet.status == 1);
  CHECK_MESSAGE(none_yet.output.find("has no terms yet") != std::string::npos, none_yet.output);
  // This exchange holds no buyer's fee: a fee is refused, naming the rule.
  const auto fee = admin(
      "H100-SXM us-east --taker-fee-ppm 10 --reference-price 2000000 "
      "--band-width 1000000");
  CHECK(fee.status == 1);
  CHECK_MESSAGE(fee.output.find("invalid_product_terms") != std::string::npos, fee.output);
  const auto no_profile = admin(
      "H100-SXM us-east --reference-price 2000000 --band-width 900000 "
      "--verification-profile no-such-gpu");
  CHECK(no_profile.status == 1);
  CHECK_MESSAGE(
      no_profile.output.find("no verification profile 'no-such-gpu'") != std::string::npos,
      no_profile.output);
  const auto scheduled = admin(
      "H100-SXM us-east --reference-price 2000000 --band-width 900000 "
      "--verification-profile cpu-sim --from-sequence 1000000");
  REQUIRE_MESSAGE(scheduled.status == 0, scheduled.output);
  const std::string pending =
      "\"class\":\"H100-SXM\",\"region\":\"us-east\",\"maker_fee_ppm\":0,\"taker_fee_ppm\":0,"
      "\"reference_price\":2000000,\"band_width\":900000,\"verification_profile\":\"cpu-sim\","
      "\"effective_from\":1000000,\"in_effect\":false";
  CHECK_MESSAGE(scheduled.output.find(pending) != std::string::npos, scheduled.output);
  exchange.kill();
  exchange.start();
  const auto listed = admin("");
  CHECK_MESSAGE(listed.output.find(pending) != std::string::npos, listed.output);
}

TEST_CASE("a providers.registry from before providers were journaled is imported once") {
  Exchange exchange("participant = 1000 cash=1000000\n");
  // Its bootstrap (participant 1000) is in the journal once FIX listens.
  REQUIRE(gpux::local::wait_for_listener(exchange.fix_port));
  exchange.kill();
  // The old file: provider 1000 with its token's hash, 2 proven GPUs, and
  // the hash of the password onboarding issued its seat.
  const auto hashed = gpux::test::run_command("echo pw-of-seat | " GPUXD_PATH " --hash-password");
  REQUIRE(hashed.status == 0);
  const std::string hash = hashed.output.substr(0, hashed.output.find('\n'));
  pb::LegacyRegistry registry;
  auto* p = registry.add_providers();
  p->set_participant(1000);
  p->set_name("old");
  p->set_region("us-east");
  gpux::verify::Sha256 sha;
  const std::string token = "an-old-token";
  sha.update(token.data(), token.size());
  const gpux::verify::Digest digest = sha.finish();
  p->set_token_hash(std::string(reinterpret_cast<const char*>(digest.b), sizeof digest.b));
  auto* gpus = p->add_capacity();
  gpus->set_gpu_class("H100-SXM");
  gpus->set_region("us-east");
  gpus->set_count(2);
  p->set_fix_sender_comp_id("SEAT-1000");
  p->set_fix_password_hash(hash);
  // And one whose participant the journal never had: left out, and said.
  auto* stray = registry.add_providers();
  stray->set_participant(4242);
  stray->set_name("stray");
  stray->set_region("us-east");
  stray->set_fix_sender_comp_id("STRAY");
  stray->set_fix_password_hash(hash);
  const auto file = exchange.dir.path() / "data" / "providers.registry";
  {
    std::ofstream out(file, std::ios::binary);
    REQUIRE(registry.SerializeToOstream(&out));
  }
  exchange.start();
  // Answered only once the import is done: gpuxd accepts after it.
  Client again(exchange.port);
  CHECK(again.hello(token).welcome().participant() == 1000);
  CHECK_MESSAGE(exchange.log().find("imported 1 providers") != std::string::npos, exchange.log());
  CHECK_FALSE(std::filesystem::exists(file));
  CHECK(std::filesystem::exists(file.string() + ".imported"));
  CHECK(exchange.log().find("provider stray (participant 4242) not imported: participant 4242 "
                            "is not in the journal") != std::string::npos);
  CHECK(exchange.fix_logon("STRAY", "pw-of-seat") == 3);
  CHECK(exchange.fix_logon("SEAT-1000", "pw-of-seat") == 0);
  // In the journal now: a restart needs the file no more.
  exchange.kill();
  exchange.start();
  Client later(exchange.port);
  CHECK(later.hello(token).welcome().participant() == 1000);
  CHECK(exchange.fix_logon("SEAT-1000", "pw-of-seat") == 0);
}

// gpux provider: what a GPU provider runs. `onboard` detects (or simulates)
// GPUs, has the operator register the provider, proves each GPU with a
// qualification challenge, registers the qualified capacity and writes the
// agent's configuration; `qualify` proves and registers more GPUs later;
// `deregister` withdraws; `agent` answers delivery challenges for as long as
// it runs.
#include <dlfcn.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gpux/delivery/delivery_host.h"
#include "gpux/fix/decimal_text.h"
#include "gpux/provider/concurrent_proofs.h"
#include "gpux/provider/node_class.h"
#include "gpux/provider/wire.h"
#include "gpux/verify/challenge.h"
#include "gpux/verify/verifier.h"
#include "provider_session.h"
#if GPUX_HAVE_CUDA_PROVER
#include "gpux/verify/cuda_prover.h"
#endif

namespace {

using namespace gpux;
using provider::Frame;
using provider::WireError;
namespace wire = provider;
namespace pb = proto::provider;

constexpr auto kTimeout = cli::ProviderSession::kTimeout;

const char* const kUsage =
    "usage: gpux provider COMMAND [OPTIONS]\n"
    "\n"
    "  onboard     register with the exchange, qualify each GPU with a proof, offer\n"
    "              the qualified capacity, and write the agent's configuration\n"
    "  qualify     prove and register GPUs again (more GPUs, or after a change)\n"
    "  deregister  withdraw all capacity and revoke the provider's token\n"
    "  agent       stay connected, open buyers' access and answer delivery challenges\n"
    "\n"
    "onboard --exchange HOST:PORT --name NAME --region REGION [--simulate CLASS,COUNT]\n"
    "        [--cash USD] [--collateral USD] [--out DIR] [--cheat-skip-per-mille N]\n"
    "        [--tls-ca FILE] [--node-gpus N] [--cheat-devices K] [--cheat-no-access]\n"
    "        [--delivery-address IP]\n"
    "    The operator's token is read from $GPUX_OPERATOR_TOKEN. Without --simulate\n"
    "    the CUDA driver is asked for GPUs. Writes DIR/agent.conf (the agent's\n"
    "    configuration, with the provider's token: keep it private) and DIR/fix.env\n"
    "    (the FIX seat for `gpux trade`, when the exchange has one for the provider).\n"
    "    All GPUs are proven at once, one challenge each: only GPUs proven\n"
    "    together are offered. --cheat-skip-per-mille makes the agent skip that\n"
    "    share of its work, --cheat-devices K run only K of the simulated GPUs it\n"
    "    claims (it oversells), --cheat-no-access report deliveries' endpoints but\n"
    "    open none: dishonest providers, for demos. --delivery-address: where\n"
    "    buyers reach this machine's deliveries (default 127.0.0.1). Default DIR:\n"
    "    provider-NAME. --tls-ca: the\n"
    "    exchange speaks TLS; verify its certificate with this CA (PEM); kept in\n"
    "    agent.conf for the other commands. --node-gpus N: offer the GPUs as\n"
    "    N-GPU nodes (the node class, e.g. H100-SXM-8x), not one by one.\n"
    "qualify --config DIR/agent.conf [--simulate CLASS,COUNT] [--node-gpus N]\n"
    "deregister --config DIR/agent.conf\n"
    "agent --config DIR/agent.conf\n"
    "    Reconnects with back-off when the connection drops; logs every challenge.\n"
    "    When a buyer's hour starts it opens access: one sshd per delivery, run\n"
    "    as this user on --delivery-address, letting in the buyer's keys with\n"
    "    CUDA_VISIBLE_DEVICES set to its GPUs, until the hour ends (state in\n"
    "    DIR/deliveries; needs openssh-server, no root).\n"
    "\n"
    "Exit status: 0 done, 1 refused or failed (the message says why), 2 usage,\n"
    "3 cannot reach the exchange.\n";

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};
using cli::Refused;
using cli::Unreachable;

struct Gpus {
  std::string gpu_class;
  std::vector<std::string> names;  // one per GPU
  bool simulated = false;
};

struct AgentConfig {
  std::string exchange;
  std::uint32_t participant = 0;
  std::string token;
  std::string name;
  std::string region;
  std::string gpu_class;
  std::uint32_t gpus = 0;
  bool simulated = false;
  std::uint32_t cheat_skip_per_mille = 0;
  std::uint32_t cheat_devices = 0;  // simulated devices run, when fewer than claimed; 0: all
  std::string tls_ca;  // the CA file to verify the exchange's certificate; empty: plain TCP
  // Where buyers reach their deliveries' sshd: this machine's address as
  // buyers see it (loopback for a demo on one machine).
  std::string delivery_address = "127.0.0.1";
  bool cheat_no_access = false;  // reports endpoints and opens none: a dishonest provider
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool all_digits(const std::string& text) {
  return text.find_first_not_of("0123456789") == std::string::npos;
}

// A whole number in [minimum, maximum], or nothing.
std::optional<std::uint32_t> whole_number(const std::string& text, std::uint32_t minimum,
                                          std::uint32_t maximum) {
  if (text.empty() || text.size() > 9 || !all_digits(text)) return std::nullopt;
  const auto n = static_cast<std::uint32_t>(std::stoul(text));
  if (n < minimum || n > maximum) return std::nullopt;
  return n;
}

// "12.5" USD -> micro-USD, read as the exchange reads prices.
std::int64_t parse_usd(const std::string& option, const std::string& text) {
  std::int64_t micro = 0;
  if (!gpux::fix::parse_micro(text, micro))
    throw Usage(option + " takes an amount in USD with up to 6 decimals, not '" + text + "'");
  return micro;
}

Gpus parse_simulate(const std::string& text) {
  const auto comma = text.find(',');
  Gpus gpus;
  gpus.simulated = true;
  gpus.gpu_class = text.substr(0, comma);
  const auto count =
      whole_number(comma == std::string::npos ? "" : text.substr(comma + 1), 1, 9999);
  if (gpus.gpu_class.empty() || !count)
    throw Usage("--simulate takes CLASS,COUNT (e.g. H100-SXM,4), not '" + text + "'");
  for (std::uint32_t i = 0; i < *count; ++i)
    gpus.names.push_back("simulated " + gpus.gpu_class + " #" + std::to_string(i + 1));
  return gpus;
}

// --node-gpus N: the GPUs are offered as N-GPU nodes (products of the node
// class, e.g. H100-SXM-8x), each GPU still proven on its own.
std::uint32_t parse_node_gpus(const std::string& text) {
  const auto n = whole_number(text, 2, 64);
  if (!n) throw Usage("--node-gpus takes a node's GPU count, 2 to 64, not '" + text + "'");
  return *n;
}

void offer_as_nodes(Gpus& gpus, std::uint32_t per_node) {
  if (gpus.names.size() % per_node != 0)
    throw Usage("--node-gpus " + std::to_string(per_node) + ": " +
                std::to_string(gpus.names.size()) + " GPUs do not make whole nodes");
  gpus.gpu_class = provider::node_class(gpus.gpu_class, per_node);
}

// The CUDA driver API, loaded at run time: this build needs no CUDA to ask.
std::vector<std::string> cuda_devices() {
  void* cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (cuda == nullptr) return {};
  using Init = int (*)(unsigned);
  using Count = int (*)(int*);
  using Get = int (*)(int*, int);
  using Name = int (*)(char*, int, int);
  auto init = reinterpret_cast<Init>(dlsym(cuda, "cuInit"));
  auto count = reinterpret_cast<Count>(dlsym(cuda, "cuDeviceGetCount"));
  auto get = reinterpret_cast<Get>(dlsym(cuda, "cuDeviceGet"));
  auto name = reinterpret_cast<Name>(dlsym(cuda, "cuDeviceGetName"));
  std::vector<std::string> names;
  int n = 0;
  if (init && count && get && name && init(0) == 0 && count(&n) == 0) {
    for (int i = 0; i < n; ++i) {
      int device = 0;
      char text[256] = {};
      if (get(&device, i) == 0 && name(text, sizeof text, device) == 0) names.push_back(text);
    }
  }
  dlclose(cuda);
  return names;
}

// A profile's name upper-cased is the exchange's class (h100-sxm: H100-SXM).
std::string exchange_class(const verify::ClassProfile& profile) {
  std::string name(profile.name);
  for (char& ch : name)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return name;
}

// The exchange's class for a device name as the CUDA driver reports it
// ("NVIDIA H100 80GB HBM3" -> H100-SXM); empty when the exchange lists none.
std::string class_of_device(const std::string& name) {
  const verify::ClassProfile* profile = verify::class_of_device(name);
  return profile ? exchange_class(*profile) : std::string{};
}

// The classes a real GPU can be listed as, for messages.
std::string listed_classes() {
  std::string list;
  for (const auto& profile : verify::class_profiles())
    if (profile.name != "cpu-sim") list += (list.empty() ? "" : ", ") + exchange_class(profile);
  return list;
}

Gpus detect_gpus() {
  const auto devices = cuda_devices();
  if (devices.empty())
    throw Refused(
        "no CUDA GPU found (the CUDA driver, libcuda.so.1, is not installed or sees no device); "
        "to try the exchange without one, use --simulate CLASS,COUNT");
  std::string list;
  for (const auto& d : devices)
    list += (list.empty() ? "" : ", ") + d;
#if !GPUX_HAVE_CUDA_PROVER
  throw Refused("found " + std::to_string(devices.size()) + " CUDA GPU(s) (" + list +
                "), but this build of gpux proves on the CPU only: build it where nvcc is "
                "found (verify/ then builds the CUDA prover), or use --simulate CLASS,COUNT");
#endif
  Gpus gpus;
  gpus.gpu_class = class_of_device(devices.front());
  for (const auto& d : devices)
    if (class_of_device(d) != gpus.gpu_class || gpus.gpu_class.empty())
      throw Refused("cannot tell one GPU class for " + list +
                    ": the exchange lists products by class (" + listed_classes() + ")");
  gpus.names = devices;
  return gpus;
}

// The prover for a challenge: one CPU core for simulated GPUs, the CUDA
// prover on `device` for real ones.
std::unique_ptr<verify::Prover> make_prover(const verify::Challenge& challenge, bool simulated,
                                            int device, const verify::Cheats& cheats = {}) {
  // A real class's memory phase fills ~90% of a GPU's memory: on the CPU it
  // cannot even be allocated.
  if (simulated && challenge.gpu_class != "cpu-sim")
    throw Refused("the exchange challenges with the " + challenge.gpu_class +
                  " profile, which a simulated GPU cannot prove (its memory phase needs " +
                  std::to_string(challenge.memory_items * 16 >> 20) +
                  " MiB); simulated providers need an exchange run with verification_profile = "
                  "cpu-sim");
  if (simulated) return verify::make_cpu_prover(challenge, cheats);
#if GPUX_HAVE_CUDA_PROVER
  return verify::make_cuda_prover(challenge, device);
#else
  (void)device;
  throw Refused("this build of gpux proves on the CPU only; the agent cannot answer for real GPUs");
#endif
}

// The provider's devices: one prover each, all proving at once; a dishonest
// simulated provider runs fewer than it claims, and in delivery (it
// qualified honestly) may skip work.
std::unique_ptr<wire::DeviceProvers> devices_of(const AgentConfig& c, std::uint32_t claimed,
                                                bool delivery) {
  const std::uint32_t run =
      c.cheat_devices != 0 && c.simulated ? std::min(c.cheat_devices, claimed) : claimed;
  return std::make_unique<wire::DeviceProvers>(run, [c, delivery](const pb::ChallengeStart& start,
                                                                  std::uint32_t device) {
    verify::Cheats cheats;
    if (delivery) cheats.skip_tiles_per_mille = c.cheat_skip_per_mille;
    cheats.seed = start.trade() * 131 + start.index() + device + 1;
    return make_prover(wire::challenge_of(start), c.simulated, static_cast<int>(device), cheats);
  });
}

// A provider's session: the shared one, and qualifying a GPU over it (the
// exchange challenges, the prover answers).
class Session : public cli::ProviderSession {
 public:
  Session(const std::string& exchange, const std::string& token, const std::string& tls_ca)
      : ProviderSession(exchange, token, tls_ca, "gpux provider") {}

  // Asks the exchange to prove `count` GPUs at once; `devices` answer.
  pb::QualificationResult qualify(const std::string& gpu_class, const std::string& gpu_name,
                                  std::uint32_t count, wire::DeviceProvers& devices) {
    Frame request;
    request.mutable_qualify()->set_gpu_class(gpu_class);
    request.mutable_qualify()->set_gpu_name(gpu_name);
    request.mutable_qualify()->set_count(count);
    wire::write_frame(transport(), request);
    const Frame result =
        wire::answer_proof_batches(transport(), devices, wire::kDefaultMaxFrameBytes, kTimeout);
    return expect(result, Frame::kQualificationResult).qualification_result();
  }
};

void write_agent_config(const std::filesystem::path& file, const AgentConfig& c) {
  std::filesystem::create_directories(file.parent_path());
  const std::filesystem::path partial = file.string() + ".partial";
  {
    std::ofstream out(partial);
    out << "# gpux provider agent --config " << file.string() << "\n"
        << "# Holds the provider's token: keep this file private.\n"
        << "exchange = " << c.exchange << "\n"
        << "participant = " << c.participant << "\n"
        << "token = " << c.token << "\n"
        << "name = " << c.name << "\n"
        << "region = " << c.region << "\n"
        << "gpu_class = " << c.gpu_class << "\n"
        << "gpus = " << c.gpus << "\n"
        << "simulated = " << (c.simulated ? "true" : "false") << "\n"
        << "cheat_skip_per_mille = " << c.cheat_skip_per_mille << "\n"
        << "cheat_devices = " << c.cheat_devices << "\n"
        << "delivery_address = " << c.delivery_address << "\n"
        << "cheat_no_access = " << (c.cheat_no_access ? "true" : "false") << "\n";
    if (!c.tls_ca.empty()) out << "tls_ca = " << c.tls_ca << "\n";
    if (!out) throw Refused("cannot write " + partial.string());
  }
  std::filesystem::permissions(
      partial, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::filesystem::rename(partial, file);
}

AgentConfig read_agent_config(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw Usage("cannot read --config " + file);
  AgentConfig c;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    line = line.substr(0, line.find('#'));
    const auto eq = line.find('=');
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t") + 1);
      return s;
    };
    if (eq == std::string::npos)
      throw Usage(file + ":" + std::to_string(number) + ": expected key = value");
    const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    const auto number_of = [&](const std::string& v) {
      const auto n = whole_number(v, 0, 999'999'999);
      if (!n)
        throw Usage(file + ":" + std::to_string(number) + ": " + key + " must be a whole number");
      return *n;
    };
    if (key == "exchange")
      c.exchange = value;
    else if (key == "participant")
      c.participant = number_of(value);
    else if (key == "token")
      c.token = value;
    else if (key == "name")
      c.name = value;
    else if (key == "region")
      c.region = value;
    else if (key == "gpu_class")
      c.gpu_class = value;
    else if (key == "gpus")
      c.gpus = number_of(value);
    else if (key == "simulated")
      c.simulated = value == "true";
    else if (key == "cheat_skip_per_mille")
      c.cheat_skip_per_mille = std::min(1000u, number_of(value));
    else if (key == "cheat_devices")
      c.cheat_devices = number_of(value);
    else if (key == "tls_ca")
      c.tls_ca = value;
    else if (key == "delivery_address")
      c.delivery_address = value;
    else if (key == "cheat_no_access")
      c.cheat_no_access = value == "true";
    else
      throw Usage(file + ":" + std::to_string(number) + ": unknown key '" + key + "'");
  }
  if (c.exchange.empty() || c.token.empty())
    throw Usage(file + ": needs exchange and token (written by gpux provider onboard)");
  return c;
}

// Proves every GPU at once, then registers those that passed; prints
// progress and a summary table. Returns how many qualified.
std::uint32_t qualify_and_register(Session& session, const AgentConfig& c, const Gpus& gpus) {
  const auto count = static_cast<std::uint32_t>(gpus.names.size());
  std::printf("  qualifying %u GPUs at once (one challenge each, one time window) ... ", count);
  std::fflush(stdout);
  const auto started = std::chrono::steady_clock::now();
  auto devices = devices_of(c, count, /*delivery=*/false);
  const pb::QualificationResult result =
      session.qualify(gpus.gpu_class, gpus.names.front(), count, *devices);
  const std::uint32_t qualified = result.qualified();
  std::printf("%u passed in %.2f s\n", qualified, seconds_since(started));
  std::uint32_t instruments = 0;
  if (qualified > 0) {
    Frame request;
    request.mutable_register_gpus()->set_gpu_class(gpus.gpu_class);
    request.mutable_register_gpus()->set_region(c.region);
    request.mutable_register_gpus()->set_count(qualified);
    instruments = session.call(request, Frame::kGpusRegistered).gpus_registered().instruments();
  }
  std::printf("\n  %-32s %-10s  %s\n", "GPU", "result", "why not");
  for (int i = 0; i < result.gpus_size() && i < static_cast<int>(count); ++i)
    std::printf("  %-32s %-10s  %s\n", gpus.names[static_cast<std::size_t>(i)].c_str(),
                result.gpus(i).passed() ? "qualified" : "refused", result.gpus(i).detail().c_str());
  std::printf("\n  %u of %u %s GPUs qualified and offered in %s (%u listed products)\n", qualified,
              count, gpus.gpu_class.c_str(), c.region.c_str(), instruments);
  return qualified;
}

// The registered provider `c` proves and offers its GPUs; `config` is
// rewritten with the count. A failure says how to resume or withdraw.
int qualify_onboarded(AgentConfig c, const Gpus& gpus, const std::filesystem::path& config) {
  try {
    Session session(c.exchange, c.token, c.tls_ca);
    c.gpus = qualify_and_register(session, c, gpus);
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "gpux provider onboard: stopped after registering participant %u: %s\n"
                 "  The registration and its token are kept in %s: run the same command again "
                 "to resume, or withdraw with `gpux provider deregister --config %s`.\n",
                 c.participant, e.what(), config.c_str(), config.c_str());
    return 1;
  }
  write_agent_config(config, c);
  std::printf("  wrote %s\n", config.c_str());
  if (c.gpus == 0) {
    std::printf("no GPU qualified: nothing is offered (run the same command again to retry)\n");
    return 1;
  }
  std::printf("next: gpux provider agent --config %s\n", config.c_str());
  return 0;
}

int onboard(std::vector<std::string> args) {
  AgentConfig c;
  std::optional<Gpus> gpus;
  std::int64_t cash = 0, collateral = 0;
  std::string out;
  std::uint32_t node_gpus = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw Usage(args[i] + " needs a value");
      return args[++i];
    };
    if (args[i] == "--exchange")
      c.exchange = value();
    else if (args[i] == "--name")
      c.name = value();
    else if (args[i] == "--region")
      c.region = value();
    else if (args[i] == "--simulate")
      gpus = parse_simulate(value());
    else if (args[i] == "--cash")
      cash = parse_usd("--cash", value());
    else if (args[i] == "--collateral")
      collateral = parse_usd("--collateral", value());
    else if (args[i] == "--out")
      out = value();
    else if (args[i] == "--node-gpus")
      node_gpus = parse_node_gpus(value());
    else if (args[i] == "--tls-ca")
      c.tls_ca = std::filesystem::absolute(value()).string();
    else if (args[i] == "--cheat-skip-per-mille") {
      const std::string v = value();
      const auto per_mille = whole_number(v, 0, 1000);
      if (!per_mille) throw Usage("--cheat-skip-per-mille takes 0..1000, not '" + v + "'");
      c.cheat_skip_per_mille = *per_mille;
    } else if (args[i] == "--cheat-devices") {
      const std::string v = value();
      const auto devices = whole_number(v, 1, 9999);
      if (!devices) throw Usage("--cheat-devices takes 1..9999, not '" + v + "'");
      c.cheat_devices = *devices;
    } else if (args[i] == "--cheat-no-access") {
      c.cheat_no_access = true;
    } else if (args[i] == "--delivery-address") {
      c.delivery_address = value();
    } else {
      throw Usage("unknown argument '" + args[i] + "'");
    }
  }
  for (const auto& [option, v] :
       {std::pair{"--exchange", &c.exchange}, {"--name", &c.name}, {"--region", &c.region}})
    if (v->empty()) throw Usage(std::string(option) + " is required");
  const char* operator_token = std::getenv("GPUX_OPERATOR_TOKEN");
  if (operator_token == nullptr || *operator_token == '\0')
    throw Usage("set GPUX_OPERATOR_TOKEN to the exchange operator's token");
  if (out.empty()) out = "provider-" + c.name;
  const std::filesystem::path config = std::filesystem::path(out) / "agent.conf";
  if (!gpus) gpus = detect_gpus();
  if (node_gpus != 0) offer_as_nodes(*gpus, node_gpus);
  // An onboarding that stopped after registering left its token here, and
  // resumes from it; a finished one is not done twice (its token would be
  // overwritten by another registration's).
  if (std::filesystem::exists(config)) {
    AgentConfig earlier = read_agent_config(config.string());
    if (earlier.gpus > 0 || earlier.name != c.name || earlier.exchange != c.exchange)
      throw Refused(config.string() + " exists: provider '" + earlier.name + "' on " +
                    earlier.exchange + " is onboarded already with " +
                    std::to_string(earlier.gpus) + " GPUs (use `gpux provider qualify --config " +
                    config.string() + "` for more), or give another --out");
    earlier.cheat_skip_per_mille = c.cheat_skip_per_mille;
    earlier.cheat_devices = c.cheat_devices;
    std::printf("gpux provider onboard: resuming %s (participant %u) from %s, %zu x %s%s\n",
                earlier.name.c_str(), earlier.participant, config.c_str(), gpus->names.size(),
                gpus->gpu_class.c_str(), gpus->simulated ? " (simulated)" : "");
    return qualify_onboarded(earlier, *gpus, config);
  }

  std::printf("gpux provider onboard: %s in %s, %zu x %s%s\n", c.name.c_str(), c.region.c_str(),
              gpus->names.size(), gpus->gpu_class.c_str(), gpus->simulated ? " (simulated)" : "");
  pb::ProviderRegistered registered;
  {
    Session admin(c.exchange, operator_token, c.tls_ca);
    Frame request;
    auto* r = request.mutable_register_provider();
    r->set_name(c.name);
    r->set_region(c.region);
    r->set_cash(cash);
    r->set_collateral(collateral);
    r->set_gpu_class(gpus->gpu_class);
    registered = admin.call(request, Frame::kProviderRegistered).provider_registered();
  }
  std::printf("  registered as participant %u\n", registered.participant());
  c.participant = registered.participant();
  c.token = registered.token();
  c.gpu_class = gpus->gpu_class;
  c.simulated = gpus->simulated;
  // Written before any GPU is proven: whatever happens next, the token is
  // kept, so that the onboarding can be resumed or withdrawn.
  write_agent_config(config, c);
  std::printf("  wrote %s (no GPU qualified yet)\n", config.c_str());
  if (!registered.fix_sender_comp_id().empty()) {
    const std::filesystem::path fix = std::filesystem::path(out) / "fix.env";
    {
      std::ofstream env(fix);
      env << "# source this, then: gpux trade"
          << (registered.fix_password().empty() ? "" : " --password-env GPUX_FIX_PASSWORD")
          << " ...\n"
          << "export GPUX_FIX_HOST=" << c.exchange.substr(0, c.exchange.rfind(':'))
          << "\nexport GPUX_FIX_PORT=" << registered.fix_port()
          << "\nexport GPUX_FIX_SENDER=" << registered.fix_sender_comp_id()
          << "\nexport GPUX_FIX_TARGET=" << registered.fix_target_comp_id() << "\n";
      if (!registered.fix_password().empty())
        env << "export GPUX_FIX_PASSWORD=" << registered.fix_password() << "\n";
    }
    std::filesystem::permissions(
        fix, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::printf("  wrote %s (FIX seat %s%s)\n", fix.c_str(),
                registered.fix_sender_comp_id().c_str(),
                registered.fix_password().empty() ? "" : " and its password; keep it private");
  } else {
    std::printf(
        "  no FIX seat yet: ask the operator to add `fix_client = SENDERCOMPID "
        "participant=%u` to gpuxd's configuration\n",
        c.participant);
  }
  return qualify_onboarded(c, *gpus, config);
}

int qualify(std::vector<std::string> args) {
  std::string file;
  std::optional<Gpus> gpus;
  std::uint32_t node_gpus = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i + 1 >= args.size()) throw Usage(args[i] + " needs a value");
    if (args[i] == "--config")
      file = args[++i];
    else if (args[i] == "--simulate")
      gpus = parse_simulate(args[++i]);
    else if (args[i] == "--node-gpus")
      node_gpus = parse_node_gpus(args[++i]);
    else
      throw Usage("unknown argument '" + args[i] + "'");
  }
  if (file.empty()) throw Usage("--config is required");
  AgentConfig c = read_agent_config(file);
  if (!gpus) gpus = detect_gpus();
  if (node_gpus != 0) offer_as_nodes(*gpus, node_gpus);
  Session session(c.exchange, c.token, c.tls_ca);
  std::printf("gpux provider qualify: participant %u, %zu x %s\n", c.participant,
              gpus->names.size(), gpus->gpu_class.c_str());
  c.gpus = qualify_and_register(session, c, *gpus);
  c.gpu_class = gpus->gpu_class;
  c.simulated = gpus->simulated;
  write_agent_config(file, c);
  return c.gpus > 0 ? 0 : 1;
}

int deregister(std::vector<std::string> args) {
  if (args.size() != 2 || args[0] != "--config") throw Usage("deregister takes --config FILE");
  const AgentConfig c = read_agent_config(args[1]);
  Session session(c.exchange, c.token, c.tls_ca);
  Frame request;
  request.mutable_deregister();
  const pb::Deregistered done = session.call(request, Frame::kDeregistered).deregistered();
  std::printf(
      "gpux provider deregister: participant %u withdrawn from %u products; token revoked\n",
      c.participant, done.instruments());
  for (const std::string& symbol : done.still_committed())
    std::printf("  %s: hours already offered or sold stay to be delivered\n", symbol.c_str());
  // Its token is dead: the folder is free for a new onboarding, the old
  // configuration kept for the record.
  const std::string withdrawn = args[1] + ".deregistered";
  std::error_code error;
  std::filesystem::rename(args[1], withdrawn, error);
  if (!error) std::printf("  moved %s to %s\n", args[1].c_str(), withdrawn.c_str());
  return 0;
}

// The agent's deliveries: which of its GPUs each holds, and their sshd.
class Deliveries {
 public:
  Deliveries(const AgentConfig& c, const std::filesystem::path& root)
      : config_(c),
        host_({.root = root,
               .listen_address = c.delivery_address,
               .sshd = "/usr/sbin/sshd",
               .supervisor = {}}) {}

  // Opens the grant's access; the answer to send (DeliveryOpened or Error).
  Frame open(const pb::DeliveryGrant& grant) {
    Frame answer;
    const bool held_before = held_.contains(grant.trade());
    try {
      const std::vector<std::uint32_t> gpus = allocate(grant);
      if (config_.cheat_no_access) {
        // Claims an endpoint nobody listens on: the exchange's access checks find out.
        auto* opened = answer.mutable_delivery_opened();
        opened->set_trade(grant.trade());
        opened->set_host(config_.delivery_address);
        opened->set_port(1);
        opened->set_user("nobody");
        opened->set_host_key_fingerprint("SHA256:no-such-host-key");
      } else {
        // A buyer logs in as the agent's user: as root, it would own the
        // machine. Simulated providers (tests, the demo) run where that is
        // the machine's own business.
        if (::geteuid() == 0 && !config_.simulated)
          throw std::runtime_error(
              "refusing to let a buyer in as root: run the agent as an unprivileged user of "
              "its own (docs/providers.md)");
        const delivery::Endpoint endpoint =
            host_.open({.trade = grant.trade(),
                        .keys = {grant.keys().begin(), grant.keys().end()},
                        .gpus = gpus,
                        .end = grant.end()});
        auto* opened = answer.mutable_delivery_opened();
        opened->set_trade(grant.trade());
        opened->set_host(endpoint.host);
        opened->set_port(endpoint.port);
        opened->set_user(endpoint.user);
        opened->set_host_key_fingerprint(endpoint.host_key_fingerprint);
      }
      std::printf("agent: delivery of trade %llu (%s, %u GPUs: %s) %s for %d key(s): port %u\n",
                  static_cast<unsigned long long>(grant.trade()), grant.symbol().c_str(),
                  grant.gpus(), delivery::visible_devices(gpus).c_str(),
                  config_.cheat_no_access ? "claimed open (DISHONEST: nothing listens)" : "opened",
                  grant.keys_size(), answer.delivery_opened().port());
    } catch (const std::exception& e) {
      if (!held_before) held_.erase(grant.trade());  // a delivery still open keeps its GPUs
      answer.mutable_error()->set_reason(e.what());
      std::printf("agent: delivery of trade %llu FAILED to open: %s\n",
                  static_cast<unsigned long long>(grant.trade()), e.what());
    }
    std::fflush(stdout);
    return answer;
  }

  // Ends the trade's access; the answer to send (DeliveryEnded or Error).
  Frame end(std::uint64_t trade) {
    Frame answer;
    held_.erase(trade);
    try {
      const delivery::Revocation revoked = host_.revoke(trade);
      answer.mutable_delivery_ended()->set_trade(trade);
      answer.mutable_delivery_ended()->set_processes_ended(revoked.processes_ended);
      std::printf("agent: delivery of trade %llu revoked; %u of the buyer's processes ended\n",
                  static_cast<unsigned long long>(trade), revoked.processes_ended);
    } catch (const std::exception& e) {
      answer.mutable_error()->set_reason(e.what());
      std::printf("agent: delivery of trade %llu: revoking FAILED: %s\n",
                  static_cast<unsigned long long>(trade), e.what());
    }
    std::fflush(stdout);
    return answer;
  }

 private:
  struct Held {
    std::int64_t start = 0, end = 0;
    std::vector<std::uint32_t> gpus;
  };

  // The lowest GPUs no other delivery of an overlapping hour holds (the
  // same ones again for a trade granted before, as after a reconnect).
  std::vector<std::uint32_t> allocate(const pb::DeliveryGrant& grant) {
    if (const auto held = held_.find(grant.trade()); held != held_.end()) return held->second.gpus;
    std::vector<bool> busy(config_.gpus, false);
    for (const auto& [trade, h] : held_)
      if (h.start < grant.end() && grant.start() < h.end)
        for (std::uint32_t g : h.gpus)
          busy[g] = true;
    Held held{.start = grant.start(), .end = grant.end(), .gpus = {}};
    for (std::uint32_t g = 0; g < config_.gpus && held.gpus.size() < grant.gpus(); ++g)
      if (!busy[g]) held.gpus.push_back(g);
    if (held.gpus.size() < grant.gpus())
      throw std::runtime_error("only " + std::to_string(held.gpus.size()) + " of the " +
                               std::to_string(grant.gpus()) +
                               " GPUs granted are free in this hour (the agent runs " +
                               std::to_string(config_.gpus) + ")");
    const std::vector<std::uint32_t> gpus = held.gpus;
    held_[grant.trade()] = std::move(held);
    return gpus;
  }

  const AgentConfig& config_;
  delivery::DeliveryHost host_;
  std::map<std::uint64_t, Held> held_;  // by trade
};

int agent(std::vector<std::string> args) {
  if (args.size() != 2 || args[0] != "--config") throw Usage("agent takes --config FILE");
  const AgentConfig c = read_agent_config(args[1]);
#if !GPUX_HAVE_CUDA_PROVER
  if (!c.simulated)
    throw Refused(args[1] + " is for real GPUs, and this build of gpux proves on the CPU only");
#endif
  std::printf("gpux provider agent: participant %u (%s), %u x %s, exchange %s%s%s\n", c.participant,
              c.name.c_str(), c.gpus, c.gpu_class.c_str(), c.exchange.c_str(),
              c.cheat_skip_per_mille ? " -- DISHONEST: skips work" : "",
              c.cheat_devices && c.cheat_devices < c.gpus ? " -- DISHONEST: runs fewer GPUs" : "");
  std::fflush(stdout);
  Deliveries deliveries(c, std::filesystem::path(args[1]).parent_path() / "deliveries");
  auto backoff = std::chrono::milliseconds(250);
  for (std::uint64_t answered = 0;;) {
    try {
      Session session(c.exchange, c.token, c.tls_ca);
      Frame ready;
      ready.mutable_agent_ready();
      wire::write_frame(session.transport(), ready);
      std::printf("agent: connected; waiting for challenges\n");
      std::fflush(stdout);
      backoff = std::chrono::milliseconds(250);
      // Idle, the exchange sends heartbeats; silence this long means it is gone.
      auto devices = devices_of(c, std::max(1u, c.gpus), /*delivery=*/true);
      for (;;) {
        const Frame result = wire::answer_proof_batches(session.transport(), *devices,
                                                        wire::kDefaultMaxFrameBytes, kTimeout);
        if (result.body_case() == Frame::kDeliveryGrant) {
          wire::write_frame(session.transport(), deliveries.open(result.delivery_grant()));
          continue;
        }
        if (result.body_case() == Frame::kDeliveryEnd) {
          wire::write_frame(session.transport(), deliveries.end(result.delivery_end().trade()));
          continue;
        }
        const pb::RoundResult round = session.expect(result, Frame::kRoundResult).round_result();
        int passed = 0;
        for (const pb::ChallengeResult& r : round.challenges()) {
          passed += r.passed();
          ++answered;
          if (!r.passed())
            std::printf("agent: challenge %u of trade %llu, GPU %u: FAILED: %s\n", r.index() + 1,
                        static_cast<unsigned long long>(r.trade()), r.gpu() + 1,
                        r.detail().c_str());
        }
        std::printf("agent: a round of %d challenges at once: %d passed (%llu answered)\n",
                    round.challenges_size(), passed, static_cast<unsigned long long>(answered));
        std::fflush(stdout);
      }
    } catch (const Refused& e) {
      std::fprintf(stderr, "agent: the exchange refused: %s\n", e.what());
      if (std::string(e.what()) == "unknown token") return 1;  // deregistered: retrying is useless
    } catch (const std::exception& e) {
      std::fprintf(stderr, "agent: %s; reconnecting in %lld ms\n", e.what(),
                   static_cast<long long>(backoff.count()));
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10'000));
  }
}

}  // namespace

int gpux_provider(int argc, char** argv) {
  if (argc < 1 || std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h") {
    std::printf("%s", kUsage);
    return argc < 1 ? 2 : 0;
  }
  const std::string command = argv[0];
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    }
  try {
    if (command == "onboard") return onboard(args);
    if (command == "qualify") return qualify(args);
    if (command == "deregister") return deregister(args);
    if (command == "agent") return agent(args);
    throw Usage("unknown command '" + command + "'");
  } catch (const Usage& e) {
    std::fprintf(stderr, "gpux provider: %s\n\n%s", e.what(), kUsage);
    return 2;
  } catch (const Refused& e) {
    std::fprintf(stderr, "gpux provider %s: %s\n", command.c_str(), e.what());
    return 1;
  } catch (const Unreachable& e) {
    std::fprintf(stderr, "gpux provider %s: %s\n", command.c_str(), e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpux provider %s: %s\n", command.c_str(), e.what());
    return 1;
  }
}

#include "gpux/gateway/config.h"

#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

#include "gpux/gateway/node_class.h"
#include "gpux/verify/challenge.h"

namespace gpux::gateway {
namespace {

using namespace gpux::matching;

std::string trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(" \t\r");
  return std::string(s.substr(begin, end - begin + 1));
}

class Line {
 public:
  Line(std::string origin, int number, std::string key)
      : where_(origin + ":" + std::to_string(number) + ": " + key), key_(std::move(key)) {}

  [[noreturn]] void fail(const std::string& what) const { throw ConfigError(where_ + ": " + what); }

  template <class T>
  T number(const std::string& text, const std::string& field) const {
    T value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size())
      fail(field + " must be a whole number, not '" + text + "'");
    return value;
  }

  bool boolean(const std::string& text) const {
    if (text == "true" || text == "yes" || text == "1") return true;
    if (text == "false" || text == "no" || text == "0") return false;
    fail("expected true or false, not '" + text + "'");
  }

  // "FIRST name=value name=value ..." -> the first word and the named fields.
  std::map<std::string, std::string> fields(const std::string& value, std::string& first) const {
    std::istringstream words(value);
    words >> first;
    if (first.empty() || first.find('=') != std::string::npos) fail("expected a name or id first");
    std::map<std::string, std::string> named;
    for (std::string word; words >> word;) {
      const auto eq = word.find('=');
      if (eq == std::string::npos || eq == 0) fail("expected name=value, not '" + word + "'");
      named[word.substr(0, eq)] = word.substr(eq + 1);
    }
    return named;
  }

  std::string take(std::map<std::string, std::string>& f, const std::string& name) const {
    const auto it = f.find(name);
    if (it == f.end()) fail("missing " + name + "=");
    std::string v = it->second;
    f.erase(it);
    return v;
  }

  template <class T>
  T take_number(std::map<std::string, std::string>& f, const std::string& name,
                std::optional<T> fallback = std::nullopt) const {
    if (!f.contains(name) && fallback) return *fallback;
    return number<T>(take(f, name), name);
  }

  // "ID name=value ..." -> the id and the named fields.
  std::map<std::string, std::string> fields(const std::string& value, std::uint32_t& id) const {
    std::string first;
    auto named = fields(value, first);
    id = number<std::uint32_t>(first, "the id");
    return named;
  }

  void no_more(const std::map<std::string, std::string>& f) const {
    if (!f.empty()) fail("unknown field '" + f.begin()->first + "'");
  }

 private:
  std::string where_;
  std::string key_;
};

// A node class trades whole nodes of its size, and only a node class does:
// capacity is registered per class, so per-GPU and node products of one GPU
// class must not share one.
void check_node_terms(const Line& line, const std::string& gpu_class, std::uint32_t gpus_per_unit) {
  const std::uint32_t node = gpus_per_node(gpu_class);
  if (node != gpus_per_unit)
    line.fail(node > 1 ? gpu_class + " names " + std::to_string(node) +
                             "-GPU nodes: gpus_per_unit must be " + std::to_string(node)
                       : "gpus_per_unit=" + std::to_string(gpus_per_unit) +
                             " needs a node class named after it (" +
                             node_class(gpu_class, gpus_per_unit) + ")");
}

// The trading terms shared by instrument and product lines.
InstrumentSpec take_terms(const Line& line, std::map<std::string, std::string>& f) {
  InstrumentSpec spec;
  spec.gpus_per_unit = line.take_number<std::uint32_t>(f, "gpus_per_unit", 1);
  spec.tick_size = line.take_number<Price>(f, "tick");
  spec.lot_size = line.take_number<Quantity>(f, "lot", 1);
  spec.min_quantity = line.take_number<Quantity>(f, "min", spec.lot_size);
  spec.max_quantity = line.take_number<Quantity>(f, "max");
  spec.reference_price = line.take_number<Price>(f, "reference");
  spec.band_width = line.take_number<Price>(f, "band");
  spec.maker_fee_ppm = line.take_number<std::uint32_t>(f, "maker_fee_ppm", 0);
  spec.taker_fee_ppm = line.take_number<std::uint32_t>(f, "taker_fee_ppm", 0);
  return spec;
}

void apply_line(DaemonConfig& config, const Line& line, const std::string& key,
                const std::string& value) {
  PipelineOptions& p = config.pipeline;
  if (key == "data_dir") {
    if (value.empty()) line.fail("must not be empty");
    p.data_directory = value;
  } else if (key == "snapshot_every") {
    p.snapshot_every = line.number<std::uint64_t>(value, key);
  } else if (key == "discard_journal_after_snapshot") {
    p.discard_journal_after_snapshot = line.boolean(value);
  } else if (key == "sync") {
    p.sync = line.boolean(value);
  } else if (key == "max_batch") {
    p.max_batch = line.number<std::size_t>(value, key);
    if (p.max_batch == 0) line.fail("must be at least 1");
  } else if (key == "queue_capacity") {
    p.queue_capacity = line.number<std::size_t>(value, key);
    if (p.queue_capacity == 0) line.fail("must be at least 1");
  } else if (key == "buyer_fee_ppm") {
    p.engine.buyer_fee_ppm = line.number<std::uint32_t>(value, key);
  } else if (key == "challenges_per_obligation") {
    p.engine.delivery.challenges_per_obligation = line.number<std::uint32_t>(value, key);
    if (p.engine.delivery.challenges_per_obligation < 1 ||
        p.engine.delivery.challenges_per_obligation > 1000)
      line.fail("must be between 1 and 1000");
  } else if (key == "penalty_ppm") {
    p.engine.delivery.penalty_ppm = line.number<std::uint32_t>(value, key);
    if (p.engine.delivery.penalty_ppm > 10'000'000) line.fail("must be at most 10000000");
  } else if (key == "challenge_seed") {
    p.engine.delivery.challenge_seed = line.number<std::uint64_t>(value, key);
  } else if (key == "settle_after_seconds") {
    config.calendar.settle_after = line.number<std::int64_t>(value, key);
    if (config.calendar.settle_after < 0) line.fail("must not be negative");
  } else if (key == "participant") {
    std::uint32_t id = 0;
    auto f = line.fields(value, id);
    const auto cash = line.take_number<Money>(f, "cash", Money{0});
    const auto collateral = line.take_number<Money>(f, "collateral", Money{0});
    line.no_more(f);
    config.bootstrap.push_back(AddParticipant{id});
    if (cash != 0) config.bootstrap.push_back(AdjustCash{id, cash});
    if (collateral != 0) config.bootstrap.push_back(PostCollateral{id, collateral});
  } else if (key == "instrument") {
    std::uint32_t id = 0;
    auto f = line.fields(value, id);
    InstrumentSpec spec = take_terms(line, f);
    spec.id = id;
    spec.symbol = line.take(f, "symbol");
    spec.gpu_class = line.take(f, "class");
    check_node_terms(line, spec.gpu_class, spec.gpus_per_unit);
    spec.region = line.take(f, "region");
    spec.delivery_start = line.take_number<std::int64_t>(f, "start");
    // Shorter windows than the hour are for demos and tests.
    spec.delivery_end = spec.delivery_start + line.take_number<std::int64_t>(f, "duration", 3600);
    if (spec.delivery_end <= spec.delivery_start) line.fail("duration must be positive");
    spec.gate_closure = spec.delivery_start - line.take_number<std::int64_t>(f, "gate_lead", 300);
    const bool open = !f.contains("open") || line.boolean(line.take(f, "open"));
    line.no_more(f);
    config.bootstrap.push_back(ListInstrument{spec});
    if (open) config.bootstrap.push_back(ChangeInstrumentState{id, InstrumentState::open});
  } else if (key == "product") {
    Product product;
    auto f = line.fields(value, product.gpu_class);
    product.terms = take_terms(line, f);
    check_node_terms(line, product.gpu_class, product.terms.gpus_per_unit);
    product.region = line.take(f, "region");
    product.gate_lead = line.take_number<std::int64_t>(f, "gate_lead", 300);
    line.no_more(f);
    config.calendar.products.push_back(std::move(product));
  } else if (key == "listing_horizon_hours") {
    config.calendar.horizon_hours = line.number<int>(value, key);
    if (config.calendar.horizon_hours < 0 || config.calendar.horizon_hours > 24 * 14)
      line.fail("must be between 0 and 336");
  } else if (key == "fix_port") {
    config.fix.port = line.number<int>(value, key);
    if (config.fix.port < 0 || config.fix.port > 65535)
      line.fail("must be a TCP port, or 0 for none");
  } else if (key == "fix_comp_id") {
    if (value.empty()) line.fail("must not be empty");
    config.fix.comp_id = value;
  } else if (key == "fix_client") {
    std::string sender;
    auto f = line.fields(value, sender);
    FixClient& client = config.fix.clients[sender];
    client.participant = line.take_number<ParticipantId>(f, "participant");
    if (f.contains("password_hash")) client.password_hash = line.take(f, "password_hash");
    if (f.contains("cancel_on_disconnect"))
      client.cancel_on_disconnect = line.boolean(line.take(f, "cancel_on_disconnect"));
    line.no_more(f);
  } else if (key == "fix_checkpoint_every") {
    config.fix.checkpoint_every = line.number<std::uint64_t>(value, key);
    if (config.fix.checkpoint_every < 1) line.fail("must be at least 1");
  } else if (key == "fix_max_messages_per_second") {
    config.fix.max_messages_per_second = line.number<int>(value, key);
    if (config.fix.max_messages_per_second < 1) line.fail("must be at least 1");
  } else if (key == "fix_max_unsent_bytes") {
    config.fix.max_unsent_bytes = line.number<std::uint64_t>(value, key);
    if (config.fix.max_unsent_bytes < 4096) line.fail("must be at least 4096");
  } else if (key == "simulate_provider") {
    std::uint32_t id = 0;
    auto f = line.fields(value, id);
    SimulatedProvider& provider = config.verification.simulated[id];
    provider.skip_per_mille = line.take_number<std::uint32_t>(f, "skip_per_mille", 0u);
    provider.memory_per_mille = line.take_number<std::uint32_t>(f, "memory_per_mille", 1000u);
    if (provider.skip_per_mille > 1000 || provider.memory_per_mille > 1000 ||
        provider.memory_per_mille == 0)
      line.fail("skip_per_mille must be 0..1000 and memory_per_mille 1..1000");
    line.no_more(f);
  } else if (key == "verification_challenge_ms") {
    config.verification.challenge_ms = line.number<std::int64_t>(value, key);
    if (config.verification.challenge_ms < 1 || config.verification.challenge_ms > 600'000)
      line.fail("must be between 1 and 600000");
  } else if (key == "provider_port") {
    config.provider.port = line.number<int>(value, key);
    if (config.provider.port < 0 || config.provider.port > 65535)
      line.fail("must be a TCP port, or 0 for none");
  } else if (key == "provider_operator_token") {
    if (value.size() < 16) line.fail("must be at least 16 characters");
    config.provider.operator_token = value;
  } else if (key == "provider_first_participant") {
    config.provider.first_participant = line.number<ParticipantId>(value, key);
    if (config.provider.first_participant == 0) line.fail("must be at least 1");
  } else if (key == "provider_max_connections") {
    config.provider.max_connections = line.number<std::size_t>(value, key);
    if (config.provider.max_connections == 0) line.fail("must be at least 1");
  } else if (key == "provider_max_frame_bytes") {
    config.provider.max_frame_bytes = line.number<std::size_t>(value, key);
    if (config.provider.max_frame_bytes < 1024) line.fail("must be at least 1024");
  } else if (key == "provider_timeout_ms") {
    config.provider.timeout_ms = line.number<std::int64_t>(value, key);
    if (config.provider.timeout_ms < 100) line.fail("must be at least 100");
  } else if (key == "provider_heartbeat_ms") {
    config.provider.heartbeat_ms = line.number<std::int64_t>(value, key);
    if (config.provider.heartbeat_ms < 100) line.fail("must be at least 100");
  } else if (key == "qualification_challenge_ms") {
    config.provider.qualification_ms = line.number<std::int64_t>(value, key);
    if (config.provider.qualification_ms < 1 || config.provider.qualification_ms > 3'600'000)
      line.fail("must be between 1 and 3600000");
  } else if (key == "provider_tls_certificate" || key == "provider_tls_key") {
    if (value.empty()) line.fail("must name a PEM file");
    (key == "provider_tls_key" ? config.provider.tls_key : config.provider.tls_certificate) = value;
  } else if (key == "verification_profile") {
    // An unknown name would fail every proof, and penalise every provider.
    if (verify::find_class(value) == nullptr)
      line.fail("no profile '" + value + "' (gpux-verify classes lists them)");
    config.provider.profile_override = value;
  } else if (key == "capacity") {
    std::uint32_t id = 0;
    auto f = line.fields(value, id);
    const auto instrument = line.take_number<InstrumentId>(f, "instrument");
    const auto units = line.take_number<Quantity>(f, "units");
    line.no_more(f);
    config.bootstrap.push_back(SetSellCapacity{id, instrument, units});
  } else {
    line.fail("unknown key (see gpuxd --help)");
  }
}

}  // namespace

DaemonConfig parse_config(const std::string& text, const std::string& origin) {
  DaemonConfig config;
  std::istringstream lines(text);
  int number = 0;
  for (std::string raw; std::getline(lines, raw);) {
    ++number;
    const std::string content = trim(raw.substr(0, raw.find('#')));
    if (content.empty()) continue;
    const auto eq = content.find('=');
    const std::string key = trim(content.substr(0, eq));
    const Line line(origin, number, key);
    if (eq == std::string::npos || key.empty()) line.fail("expected key = value");
    apply_line(config, line, key, trim(content.substr(eq + 1)));
  }
  return config;
}

DaemonConfig load_config(const std::filesystem::path& file) {
  // A directory opens as an empty stream: it would read as "all defaults".
  std::error_code error;
  if (std::filesystem::is_directory(file, error))
    throw ConfigError(file.string() + ": is a directory, not a configuration file");
  std::ifstream in(file);
  if (!in) throw ConfigError(file.string() + ": cannot read the configuration file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), file.string());
}

const char* config_reference() {
  return R"(Configuration file (key = value, # comments); every key is optional:
  data_dir = data               RocksDB journal, snapshots and stores
  snapshot_every = 1000000      commands between snapshots (0: only at shutdown)
  sync = true                   fsync every group commit (false loses the last
                                acknowledged commands on power loss; tests only)
  discard_journal_after_snapshot = false
                                delete journal records each snapshot covers (recovery
                                then depends on the newest snapshot alone)
  max_batch = 8192              commands per group commit at most
  queue_capacity = 65536        commands queued per pipeline stage before senders wait
  buyer_fee_ppm = 0             buyers' fee hold, parts per million of notional:
                                reserved with every buy, escrowed with every fill;
                                settlement charges the product's maker or taker fee
                                (at most this) and refunds the rest

Delivery and settlement (changing these changes how the journal replays):
  challenges_per_obligation = 4 verification challenges per trade in its hour;
                                verified units = traded x passed / challenges
  penalty_ppm = 500000          penalty on unverified notional, from collateral
  challenge_seed = 1735423352   seeds the challenge times
  settle_after_seconds = 60     settlement this long after the delivery hour

Bootstrap, applied once when the journal is empty (money in micro-USD):
  participant = ID [cash=AMOUNT] [collateral=AMOUNT]   collateral comes out of cash
  instrument = ID symbol=S class=GPU_CLASS region=R start=UNIX_SECONDS tick=T max=Q
               reference=PRICE band=WIDTH [lot=1] [min=LOT] [gpus_per_unit=1]
               [gate_lead=300] [open=true] [maker_fee_ppm=0] [taker_fee_ppm=0]
               [duration=3600]   seconds of delivery (shorter for demos and tests)
  capacity = PARTICIPANT instrument=ID units=N

FIX 4.4 order entry (docs: gateway/fix/gpux-FIX44.xml is the data dictionary):
  fix_port = 0                  TCP port of the acceptor (0: none)
  fix_comp_id = GPUX            the exchange's CompID (clients' TargetCompID)
  fix_max_messages_per_second = 1000
                                per session; more are rejected with a reason
  fix_max_unsent_bytes = 16777216
                                per connection: a client that leaves more unread
                                is disconnected (its messages are kept for resend)
  fix_client = SENDERCOMPID participant=ID [password_hash=HASH]
               [cancel_on_disconnect=false]
                                a client that may log on, and whose orders it is;
                                with a hash (gpuxd --hash-password) its Logon must
                                carry the matching Password(554); with
                                cancel_on_disconnect=true all its participant's
                                orders are cancelled when the session ends
  fix_checkpoint_every = 100000 commands between checkpoints of the gateway's
                                order state (a restart replays what follows)

Provider API (onboarding and agents: gpux provider --help):
  provider_port = 0             TCP port of the provider API (0: none)
  provider_operator_token = T   the operator's token for admin calls (16+ characters;
                                required with a port)
  provider_first_participant = 1000
                                registered providers get participant ids from here
  provider_max_connections = 64 more are refused with an Error frame
  provider_max_frame_bytes = 67108864
                                a larger frame closes its connection
  provider_tls_certificate = FILE
  provider_tls_key = FILE       with both (PEM), every connection is TLS (1.2 or
                                later); clients verify the certificate with
                                gpux provider --tls-ca
  provider_timeout_ms = 30000   a peer silent this long is dropped
  provider_heartbeat_ms = 5000  an idle agent is asked for a heartbeat this often
  qualification_challenge_ms = 3000
                                honest work of a qualification challenge
  verification_profile = NAME   prove every class with this verify/ profile (e.g.
                                cpu-sim, for simulated providers in demos and tests);
                                default: the GPU class's own profile

Verification by gpuxd itself, for providers without agents (docs/verification.md):
  simulate_provider = ID [skip_per_mille=0] [memory_per_mille=1000]
                                gpuxd answers this provider's delivery challenges
                                itself with the CPU prover (cpu-sim class); the
                                cheats make it a dishonest one. Challenges of
                                providers not simulated time out.
  verification_challenge_ms = 1000
                                honest work per challenge, at cpu-sim's nominal rate

Product calendar: every product is listed and opened for each delivery hour
from now to the horizon; gates close gate_lead seconds before the hour;
delivery starts on the hour. Symbols read CLASS.REGION.YYYYMMDDTHH (UTC).
  listing_horizon_hours = 0     hours ahead to list (0: no rolling listings)
  product = GPU_CLASS region=R tick=T max=Q reference=PRICE band=WIDTH
            [lot=1] [min=LOT] [gpus_per_unit=1] [gate_lead=300]
            [maker_fee_ppm=0] [taker_fee_ppm=0]
  A product of whole N-GPU nodes is a node class named after its GPU's:
  product = H100-SXM-8x ... gpus_per_unit=8 (instrument lines alike).
)";
}

}  // namespace gpux::gateway

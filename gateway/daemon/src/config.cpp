#include "gpux/daemon/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <type_traits>

#include "gpux/provider/node_class.h"
#include "gpux/verify/challenge.h"

namespace gpux::daemon {
namespace {

using namespace gpux::matching;
using fix::FixClient;
using provider::gpus_per_node;
using provider::node_class;
using provider::SimulatedProvider;
using sequencer::PipelineOptions;

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

// Bootstrap and record keys: one line, several named fields.
void add_participant(DaemonConfig& config, const Line& line, const std::string& value) {
  std::uint32_t id = 0;
  auto f = line.fields(value, id);
  const auto cash = line.take_number<Money>(f, "cash", Money{0});
  const auto collateral = line.take_number<Money>(f, "collateral", Money{0});
  line.no_more(f);
  config.bootstrap.push_back(AddParticipant{id});
  if (cash != 0) config.bootstrap.push_back(AdjustCash{id, cash});
  if (collateral != 0) config.bootstrap.push_back(PostCollateral{id, collateral});
}

void add_instrument(DaemonConfig& config, const Line& line, const std::string& value) {
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
}

void add_capacity(DaemonConfig& config, const Line& line, const std::string& value) {
  std::uint32_t id = 0;
  auto f = line.fields(value, id);
  const auto instrument = line.take_number<InstrumentId>(f, "instrument");
  const auto units = line.take_number<Quantity>(f, "units");
  line.no_more(f);
  config.bootstrap.push_back(SetSellCapacity{id, instrument, units});
}

void add_product(DaemonConfig& config, const Line& line, const std::string& value) {
  Product product;
  auto f = line.fields(value, product.gpu_class);
  product.terms = take_terms(line, f);
  check_node_terms(line, product.gpu_class, product.terms.gpus_per_unit);
  product.region = line.take(f, "region");
  product.gate_lead = line.take_number<std::int64_t>(f, "gate_lead", 300);
  line.no_more(f);
  config.calendar.products.push_back(std::move(product));
}

void add_fix_client(DaemonConfig& config, const Line& line, const std::string& value) {
  std::string sender;
  auto f = line.fields(value, sender);
  FixClient& client = config.fix.clients[sender];
  client.participant = line.take_number<ParticipantId>(f, "participant");
  if (f.contains("password_hash")) client.password_hash = line.take(f, "password_hash");
  if (f.contains("password")) {
    if (line.take(f, "password") != "none")
      line.fail(
          "password= takes only none (a seat without one, on purpose); give a password "
          "as password_hash= (gpuxd --hash-password)");
    if (!client.password_hash.empty()) line.fail("give password_hash= or password=none, not both");
    client.no_password = true;
  }
  if (f.contains("cancel_on_disconnect"))
    client.cancel_on_disconnect = line.boolean(line.take(f, "cancel_on_disconnect"));
  line.no_more(f);
}

void add_simulated_provider(DaemonConfig& config, const Line& line, const std::string& value) {
  std::uint32_t id = 0;
  auto f = line.fields(value, id);
  SimulatedProvider& provider = config.verification.simulated[id];
  provider.skip_per_mille = line.take_number<std::uint32_t>(f, "skip_per_mille", 0u);
  provider.memory_per_mille = line.take_number<std::uint32_t>(f, "memory_per_mille", 1000u);
  provider.devices = line.take_number<std::uint32_t>(f, "devices", 0u);
  if (provider.skip_per_mille > 1000 || provider.memory_per_mille > 1000 ||
      provider.memory_per_mille == 0)
    line.fail("skip_per_mille must be 0..1000 and memory_per_mille 1..1000");
  line.no_more(f);
}

// One configuration key: how its value is read and what --help says of it.
// The table below is the only place a key, its default (read off a
// default-constructed DaemonConfig) and its help are written.
struct Setting {
  std::string key;
  // The value as --help shows it; empty for a plain setting, whose default is shown.
  std::string syntax;
  std::string help;  // '\n' starts another line of help
  std::function<void(DaemonConfig&, const Line&, const std::string&)> apply;
  std::function<std::string(DaemonConfig&)> show;  // a plain setting's value
};

struct Section {
  std::string heading;  // printed above its keys; empty: none
  std::vector<Setting> settings;
  std::string footer = {};  // printed below its keys; empty: none
};

template <class T>
std::string range_rule(T min, T max) {
  if (max == std::numeric_limits<T>::max())
    return min == 0 && std::is_signed_v<T> ? "must not be negative"
                                           : "must be at least " + std::to_string(min);
  if (min == std::numeric_limits<T>::min() || (min == 0 && !std::is_signed_v<T>))
    return "must be at most " + std::to_string(max);
  return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

// A whole number in [min, max], stored where `field` says.
template <class T, class Field>
Setting whole(std::string key, Field field, std::string help, T min = std::numeric_limits<T>::min(),
              T max = std::numeric_limits<T>::max()) {
  return {.key = key,
          .syntax = {},
          .help = std::move(help),
          .apply =
              [=](DaemonConfig& c, const Line& line, const std::string& value) {
                const T n = line.number<T>(value, key);
                if (n < min || n > max) line.fail(range_rule(min, max));
                field(c) = n;
              },
          .show = [=](DaemonConfig& c) { return std::to_string(field(c)); }};
}

template <class Field>
Setting port(std::string key, Field field, std::string help) {
  Setting s = whole<int>(key, field, std::move(help));
  s.apply = [=](DaemonConfig& c, const Line& line, const std::string& value) {
    const int n = line.number<int>(value, key);
    if (n < 0 || n > 65535) line.fail("must be a TCP port, or 0 for none");
    field(c) = n;
  };
  return s;
}

template <class Field>
Setting flag(std::string key, Field field, std::string help) {
  return {.key = std::move(key),
          .syntax = {},
          .help = std::move(help),
          .apply = [=](DaemonConfig& c, const Line& line,
                       const std::string& value) { field(c) = line.boolean(value); },
          .show = [=](DaemonConfig& c) { return field(c) ? "true" : "false"; }};
}

// Text; `check` refuses a bad value (with Line::fail).
template <class Field, class Check>
Setting text(std::string key, std::string syntax, Field field, Check check, std::string help) {
  return {.key = std::move(key),
          .syntax = std::move(syntax),
          .help = std::move(help),
          .apply =
              [=](DaemonConfig& c, const Line& line, const std::string& value) {
                check(line, value);
                field(c) = value;
              },
          .show = [=](DaemonConfig& c) { return std::string(field(c)); }};
}

Setting record(std::string key, std::string syntax,
               void (*add)(DaemonConfig&, const Line&, const std::string&), std::string help) {
  return {.key = std::move(key),
          .syntax = std::move(syntax),
          .help = std::move(help),
          .apply = add,
          .show = nullptr};
}

void not_empty(const Line& line, const std::string& value) {
  if (value.empty()) line.fail("must not be empty");
}

// An IPv4 or IPv6 literal, as a listener binds it (no host names: what
// a name resolves to may change under a running exchange).
void ip_address(const Line& line, const std::string& value) {
  unsigned char bytes[sizeof(in6_addr)];
  if (::inet_pton(AF_INET, value.c_str(), bytes) != 1 &&
      ::inet_pton(AF_INET6, value.c_str(), bytes) != 1)
    line.fail("must be an IPv4 or IPv6 address (e.g. 127.0.0.1, 10.0.0.5, 0.0.0.0, ::1), not '" +
              value + "'");
}

// NATS server addresses, comma-separated.
void nats_urls(const Line& line, const std::string& value) {
  if (value.empty()) return;
  for (std::size_t at = 0; at <= value.size();) {
    const std::size_t comma = std::min(value.find(',', at), value.size());
    if (value.compare(at, 7, "nats://") != 0 || comma - at <= 7)
      line.fail("must be nats://HOST:PORT addresses, comma-separated, not '" + value + "'");
    at = comma + 1;
  }
}

// A JetStream stream's name: letters, digits, '-' and '_'.
void stream_name(const Line& line, const std::string& value) {
  if (value.empty() ||
      value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789-_") != std::string::npos)
    line.fail("must be letters, digits, '-' and '_', not '" + value + "'");
}

void pem_file(const Line& line, const std::string& value) {
  if (value.empty()) line.fail("must name a PEM file");
}

#define GPUX_FIELD(path)          \
  [](DaemonConfig & c) -> auto& { \
    return c.path;                \
  }

// How often the index fixes: the fixings must fall on the same instants
// every day.
Setting index_interval() {
  Setting s = whole<std::int64_t>("index_interval_s", GPUX_FIELD(market_data.feed.index.interval_s),
                                  "the index fixes every this many seconds of UTC,\n"
                                  "over the interval before (divides 86400;\ndocs/index.md)");
  s.apply = [](DaemonConfig& c, const Line& line, const std::string& value) {
    const auto n = line.number<std::int64_t>(value, "index_interval_s");
    if (n < 1 || n > 86'400 || 86'400 % n != 0)
      line.fail("must divide a day's 86400 seconds (60, 300, 3600...)");
    c.market_data.feed.index.interval_s = n;
  };
  return s;
}

const std::vector<Section>& sections() {
  static const std::vector<Section> table = [] {
    using std::int64_t;
    using std::size_t;
    using std::uint32_t;
    using std::uint64_t;
    std::vector<Section> t;
    t.push_back(
        {.heading = "Configuration file (key = value, # comments); every key is optional:",
         .settings = {text("data_dir", "", GPUX_FIELD(pipeline.data_directory), not_empty,
                           "RocksDB journal, snapshots and stores"),
                      whole<uint64_t>("snapshot_every", GPUX_FIELD(pipeline.snapshot_every),
                                      "commands between snapshots (0: only at shutdown)"),
                      flag("sync", GPUX_FIELD(pipeline.sync),
                           "fsync every group commit (false loses the last\n"
                           "acknowledged commands on power loss; tests only)"),
                      flag("discard_journal_after_snapshot",
                           GPUX_FIELD(pipeline.discard_journal_after_snapshot),
                           "delete journal records each snapshot covers (recovery\n"
                           "then depends on the newest snapshot alone)"),
                      whole<size_t>("max_batch", GPUX_FIELD(pipeline.max_batch),
                                    "commands per group commit at most", 1),
                      whole<size_t>("queue_capacity", GPUX_FIELD(pipeline.queue_capacity),
                                    "commands queued per pipeline stage before senders wait", 1),
                      whole<uint64_t>("min_free_mb", GPUX_FIELD(disk.min_free_mb),
                                      "MiB that must stay free on data_dir's filesystem:\n"
                                      "below it gpuxd will not start, and stops (exit 1)\n"
                                      "before RocksDB could meet a full disk"),
                      whole<uint64_t>("warn_free_mb", GPUX_FIELD(disk.warn_free_mb),
                                      "below this many free MiB gpuxd warns (checked every\n"
                                      "10 s)"),
                      whole<uint32_t>("buyer_fee_ppm", GPUX_FIELD(pipeline.engine.buyer_fee_ppm),
                                      "buyers' fee hold, parts per million of notional:\n"
                                      "reserved with every buy, escrowed with every fill;\n"
                                      "settlement charges the product's maker or taker fee\n"
                                      "(at most this) and refunds the rest; seeds a new\n"
                                      "exchange's journal, which holds it from then on",
                                      0u, 1'000'000u)}});
    t.push_back(
        {.heading = "Cluster: the log on NATS JetStream, a leader and standbys\n"
                    "(docs/operations.md, \"Cluster\"); without cluster_nats, one node:",
         .settings = {text("cluster_nats", "URL[,URL...]", GPUX_FIELD(cluster.log.servers),
                           nats_urls, "the NATS servers (nats://127.0.0.1:4222,...)"),
                      text("cluster_node", "NAME", GPUX_FIELD(cluster.log.node), not_empty,
                           "this node's name, unique in the cluster"),
                      text("cluster_stream", "NAME", GPUX_FIELD(cluster.log.stream), stream_name,
                           "the JetStream stream of the log (and NAME-lease,\n"
                           "the lease's bucket)"),
                      whole<int>("cluster_replicas", GPUX_FIELD(cluster.log.replicas),
                                 "replicas of the stream (of nats-servers)", 1, 5),
                      whole<int64_t>("cluster_lease_ms", GPUX_FIELD(cluster.lease_ms),
                                     "a leader that stops renewing is replaced after\n"
                                     "this long",
                                     200),
                      whole<int64_t>("cluster_timeout_ms", GPUX_FIELD(cluster.log.timeout_ms),
                                     "a request to NATS unanswered this long fails\n"
                                     "(the leader then stops)",
                                     50)}});
    t.push_back(
        {.heading = "Delivery and settlement (seed a new exchange's journal, which holds them\n"
                    "from then on; gpuxd says so when this file disagrees):",
         .settings = {
             whole<uint32_t>("challenges_per_obligation",
                             GPUX_FIELD(pipeline.engine.delivery.challenges_per_obligation),
                             "verification rounds in each delivery hour; each\n"
                             "challenges every unit delivered that hour at once;\n"
                             "verified units = the units proven, averaged over\n"
                             "the rounds",
                             1, 60),
             whole<uint32_t>("penalty_ppm", GPUX_FIELD(pipeline.engine.delivery.penalty_ppm),
                             "penalty on unverified notional, from collateral", 0, 10'000'000),
             whole<uint64_t>("challenge_seed", GPUX_FIELD(pipeline.engine.delivery.challenge_seed),
                             "seeds the challenge times"),
             whole<int64_t>("settle_after_seconds", GPUX_FIELD(calendar.settle_after),
                            "settlement this long after the delivery hour", 0)}});
    t.push_back(
        {.heading = "Bootstrap, applied once when the journal is empty (money in micro-USD):",
         .settings = {
             record("participant", "ID [cash=AMOUNT] [collateral=AMOUNT]", add_participant,
                    "collateral comes out of cash"),
             record("instrument",
                    "ID symbol=S class=GPU_CLASS region=R start=UNIX_SECONDS tick=T max=Q\n"
                    "reference=PRICE band=WIDTH [lot=1] [min=LOT] [gpus_per_unit=1]\n"
                    "[gate_lead=300] [open=true] [maker_fee_ppm=0] [taker_fee_ppm=0]\n"
                    "[duration=3600]",
                    add_instrument, "duration: seconds of delivery (shorter for demos and tests)"),
             record("capacity", "PARTICIPANT instrument=ID units=N", add_capacity, "")}});
    t.push_back(
        {.heading =
             "FIX 4.4 order entry (docs: gateway/fix/gpux-FIX44.xml is the data dictionary):",
         .settings = {
             port("fix_port", GPUX_FIELD(fix.port), "TCP port of the acceptor (0: none)"),
             text("fix_address", "IP", GPUX_FIELD(fix.address), ip_address,
                  "the acceptor's IPv4 or IPv6 address (default\n127.0.0.1, loopback only; 0.0.0.0 "
                  "or :: for every\ninterface)"),
             text("fix_comp_id", "", GPUX_FIELD(fix.comp_id), not_empty,
                  "the exchange's CompID (clients' TargetCompID)"),
             whole<int>("fix_max_messages_per_second", GPUX_FIELD(fix.max_messages_per_second),
                        "per session; more are rejected with a reason", 1),
             whole<uint64_t>("fix_max_unsent_bytes", GPUX_FIELD(fix.max_unsent_bytes),
                             "per connection: a client that leaves more unread\n"
                             "is disconnected (its messages are kept for resend)",
                             4096),
             whole<uint64_t>("fix_max_connections", GPUX_FIELD(fix.max_connections),
                             "connections open at once, logged on or not; more\n"
                             "are closed as they arrive (logged)",
                             1),
             whole<uint64_t>("fix_max_connections_per_address",
                             GPUX_FIELD(fix.max_connections_per_address),
                             "the same from one source address, so that one\n"
                             "peer cannot take every connection",
                             1),
             whole<int>("fix_logon_timeout_ms", GPUX_FIELD(fix.logon_timeout_ms),
                        "a connection that has not logged on by then is\n"
                        "closed (logged)",
                        100, 600'000),
             whole<uint64_t>("fix_max_bytes_before_logon", GPUX_FIELD(fix.max_bytes_before_logon),
                             "what a connection may send before its Logon; more\n"
                             "closes it (logged)",
                             1024),
             whole<uint64_t>("fix_max_message_bytes", GPUX_FIELD(fix.max_message_bytes),
                             "one message from a client, at most; a longer\n"
                             "BodyLength closes the connection (logged)",
                             1024),
             record("fix_client",
                    "SENDERCOMPID participant=ID [password_hash=HASH |\n"
                    "password=none] [cancel_on_disconnect=false]",
                    add_fix_client,
                    "a seat that may log on, and whose orders it is;\n"
                    "its Logon must carry the Password(554) of the hash\n"
                    "(gpuxd --hash-password); without one it cannot log\n"
                    "on until onboarding issues one to a provider's seat;\n"
                    "password=none: no password (warned at start); with\n"
                    "cancel_on_disconnect=true all its participant's\n"
                    "orders are cancelled when the session ends. Seeds a\n"
                    "journal without seats; then the journal's seats hold\n"
                    "(gpux admin seats, seat-create, ...)"),
             whole<uint64_t>("fix_checkpoint_every", GPUX_FIELD(fix.checkpoint_every),
                             "commands between checkpoints of the gateway's\n"
                             "order state (a restart replays what follows)",
                             1)}});
    t.push_back(
        {.heading = "Public market data, the GPU-hour index and metrics (docs/market-data.md):",
         .settings = {
             port("market_data_port", GPUX_FIELD(market_data.port),
                  "HTTP/WebSocket port of the public market data and\nthe market page (0: none)"),
             text("market_data_address", "IP", GPUX_FIELD(market_data.address), ip_address,
                  "its address (default 127.0.0.1; 0.0.0.0 or :: to\npublish beyond this host)"),
             whole<int>("market_data_requests_per_second",
                        GPUX_FIELD(market_data.requests_per_second),
                        "per source address; more are answered 429", 1),
             whole<size_t>("market_data_max_connections", GPUX_FIELD(market_data.max_connections),
                           "connections open at once, subscribers included", 1),
             whole<size_t>("market_data_max_connections_per_address",
                           GPUX_FIELD(market_data.max_connections_per_address),
                           "the same from one source address", 1),
             whole<size_t>("market_data_max_queued_bytes", GPUX_FIELD(market_data.max_queued_bytes),
                           "a WebSocket subscriber this far behind is\ndisconnected", 4096),
             whole<int>("market_data_update_ms", GPUX_FIELD(market_data.update_ms),
                        "WebSocket updates go out at most this often, each\n"
                        "with every change since the last",
                        10, 5000),
             whole<int>("market_data_nice", GPUX_FIELD(market_data.nice),
                        "the service thread's nice value: when the cores\nare short, "
                        "trading (nice 0) runs first",
                        0, 19),
             index_interval(),
             whole<int64_t>("index_min_volume", GPUX_FIELD(market_data.feed.index.min_volume),
                            "GPU-hours an interval must trade for a fixing from\ntrades alone", 1),
             port("metrics_port", GPUX_FIELD(market_data.metrics_port),
                  "HTTP port of /metrics, in the Prometheus text\nformat (0: none)"),
             text("metrics_address", "IP", GPUX_FIELD(market_data.metrics_address), ip_address,
                  "its address (default 127.0.0.1)")}});
    t.push_back(
        {.heading = "Provider API (onboarding and agents: gpux provider --help):",
         .settings = {
             port("provider_port", GPUX_FIELD(provider.port),
                  "TCP port of the provider API (0: none)"),
             text("provider_address", "IP", GPUX_FIELD(provider.address), ip_address,
                  "its IPv4 or IPv6 address (default 127.0.0.1; an\ninterface's for agents on "
                  "other machines)"),
             text(
                 "provider_operator_token", "T", GPUX_FIELD(provider.operator_token),
                 [](const Line& line, const std::string& value) {
                   if (value.size() < 16) line.fail("must be at least 16 characters");
                 },
                 "the operator's token for admin calls (16+ characters;\nrequired with a port)"),
             whole<ParticipantId>("provider_first_participant",
                                  GPUX_FIELD(provider.first_participant),
                                  "registered providers get participant ids from here", 1),
             whole<size_t>("provider_max_connections", GPUX_FIELD(provider.max_connections),
                           "more are refused with an Error frame", 1),
             whole<size_t>("provider_max_connections_per_address",
                           GPUX_FIELD(provider.max_connections_per_address),
                           "the same from one source address (refused\n"
                           "alike); on loopback every agent has one address,\n"
                           "so by default as many as provider_max_connections",
                           1),
             whole<size_t>("provider_max_frame_bytes", GPUX_FIELD(provider.max_frame_bytes),
                           "a larger frame closes its connection", 1024),
             whole<size_t>("provider_max_hello_bytes", GPUX_FIELD(provider.max_hello_bytes),
                           "the first frame (hello, before the token is\n"
                           "checked) may be at most this long",
                           256),
             text("provider_tls_certificate", "FILE", GPUX_FIELD(provider.tls_certificate),
                  pem_file, ""),
             text("provider_tls_key", "FILE", GPUX_FIELD(provider.tls_key), pem_file,
                  "with both (PEM), every connection is TLS (1.2 or\n"
                  "later); clients verify the certificate with\n"
                  "gpux provider --tls-ca"),
             whole<int64_t>("provider_timeout_ms", GPUX_FIELD(provider.timeout_ms),
                            "a peer silent this long is dropped", 100),
             whole<int64_t>("provider_heartbeat_ms", GPUX_FIELD(provider.heartbeat_ms),
                            "an idle agent is asked for a heartbeat this often", 100),
             whole<int64_t>("provider_round_grace_ms", GPUX_FIELD(provider.round_grace_ms),
                            "a delivery round not started this long after its\n"
                            "instant (no agent connected) is missed: its units fail",
                            1'000, 3'600'000),
             whole<int64_t>("qualification_challenge_ms", GPUX_FIELD(provider.qualification_ms),
                            "honest work of a qualification challenge", 1, 3'600'000),
             flag("delivery_access_checks", GPUX_FIELD(provider.access_checks),
                  "in every delivery round, connect to each obligation's\n"
                  "SSH endpoint and check its host key; a unit that\n"
                  "fails is unverified (docs/verification.md)"),
             whole<int64_t>("delivery_access_check_ms",
                            GPUX_FIELD(provider.access_check_timeout_ms),
                            "an access check not answered this long fails", 100, 60'000),
             whole<int64_t>("delivery_grant_retry_ms", GPUX_FIELD(provider.grant_retry_ms),
                            "a grant the agent failed to open is sent again\nthis long after", 100,
                            3'600'000),
             text(
                 "verification_profile", "NAME", GPUX_FIELD(provider.profile_override),
                 [](const Line& line, const std::string& value) {
                   // An unknown name would fail every proof, and penalise every provider.
                   if (verify::find_class(value) == nullptr)
                     line.fail("no profile '" + value + "' (gpux-verify classes lists them)");
                 },
                 "prove every class with this verify/ profile (e.g.\n"
                 "cpu-sim, for simulated providers in demos and tests);\n"
                 "default: the GPU class's own profile. Seeds the\n"
                 "products' terms of a new journal; then a product's\n"
                 "own (gpux admin product-terms) holds")}});
    t.push_back(
        {.heading = "Verification by gpuxd itself, for providers without agents "
                    "(docs/verification.md):",
         .settings = {
             record("simulate_provider",
                    "ID [skip_per_mille=0] [memory_per_mille=1000] [devices=0]",
                    add_simulated_provider,
                    "gpuxd answers this provider's delivery challenges\n"
                    "itself with the CPU prover (cpu-sim class), a round's\n"
                    "units at once, one thread each; the cheats make it a\n"
                    "dishonest one (devices=K: it runs only K GPUs, 0: one\n"
                    "per unit). Challenges of providers not simulated\n"
                    "time out."),
             whole<int64_t>("verification_challenge_ms", GPUX_FIELD(verification.challenge_ms),
                            "honest work per challenge, at cpu-sim's nominal rate", 1, 600'000)}});
    t.push_back(
        {.heading = "Product calendar: every product is listed and opened for each delivery hour\n"
                    "from now to the horizon; gates close gate_lead seconds before the hour;\n"
                    "delivery starts on the hour. Symbols read CLASS.REGION.YYYYMMDDTHH (UTC).",
         .settings = {whole<int>("listing_horizon_hours", GPUX_FIELD(calendar.horizon_hours),
                                 "hours ahead to list (0: no rolling listings)", 0, 24 * 14),
                      record("product",
                             "GPU_CLASS region=R tick=T max=Q reference=PRICE band=WIDTH\n"
                             "[lot=1] [min=LOT] [gpus_per_unit=1] [gate_lead=300]\n"
                             "[maker_fee_ppm=0] [taker_fee_ppm=0]",
                             add_product,
                             "its fees and band seed a journal without product\n"
                             "terms; then the journal's hold (gpux admin\n"
                             "product-terms changes them from a sequence on)")},
         .footer = "  A product of whole N-GPU nodes is a node class named after its GPU's:\n"
                   "  product = H100-SXM-8x ... gpus_per_unit=8 (instrument lines alike)."});
    return t;
  }();
  return table;
}

#undef GPUX_FIELD

const Setting* find_setting(const std::string& key) {
  for (const Section& section : sections())
    for (const Setting& setting : section.settings)
      if (setting.key == key) return &setting;
  return nullptr;
}

// "  key = value" with help from column 32, or below it when the key is long.
void describe(std::string& out, const Setting& setting, DaemonConfig& defaults) {
  constexpr std::size_t kHelpColumn = 32;
  const std::string lead = "  " + setting.key + " = ";
  std::string value = setting.syntax.empty() ? setting.show(defaults) : setting.syntax;
  if (value.empty()) value = "\"\"";
  std::string first = lead;
  for (char c : value)
    first += c == '\n' ? "\n" + std::string(lead.size(), ' ') : std::string(1, c);
  out += first;
  if (setting.help.empty()) {
    out += '\n';
    return;
  }
  const std::size_t last_line = first.size() - first.rfind('\n') - 1;
  const bool beside = first.find('\n') == std::string::npos && last_line < kHelpColumn;
  out += beside ? std::string(kHelpColumn - last_line, ' ') : "\n" + std::string(kHelpColumn, ' ');
  for (char c : setting.help)
    out += c == '\n' ? "\n" + std::string(kHelpColumn, ' ') : std::string(1, c);
  out += '\n';
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
    const Setting* setting = find_setting(key);
    if (setting == nullptr) line.fail("unknown key (see gpuxd --help)");
    setting->apply(config, line, trim(content.substr(eq + 1)));
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
  static const std::string reference = [] {
    DaemonConfig defaults;
    std::string out;
    for (const Section& section : sections()) {
      if (!out.empty()) out += '\n';
      out += section.heading + "\n";
      for (const Setting& setting : section.settings)
        describe(out, setting, defaults);
      if (!section.footer.empty()) out += section.footer + "\n";
    }
    return out;
  }();
  return reference.c_str();
}

std::string describe(const matching::SetMarketTerms& terms) {
  return "buyer_fee_ppm=" + std::to_string(terms.buyer_fee_ppm) +
         " challenges_per_obligation=" + std::to_string(terms.delivery.challenges_per_obligation) +
         " penalty_ppm=" + std::to_string(terms.delivery.penalty_ppm) +
         " challenge_seed=" + std::to_string(terms.delivery.challenge_seed);
}

}  // namespace gpux::daemon

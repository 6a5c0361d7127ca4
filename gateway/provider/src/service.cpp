#include "gpux/provider/service.h"

#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <tuple>

#include "gpux/provider/concurrent_proofs.h"
#include "gpux/provider/node_class.h"
#include "gpux/provider/pending_challenges.h"
#include "gpux/provider/ssh_access.h"
#include "gpux/settlement/assert.h"
#include "gpux/verify/verifier.h"

namespace gpux::provider {

namespace pb = proto::provider;
using matching::ParticipantId;
using provider::Frame;
using provider::WireError;

struct ProviderService::Connection {
  std::unique_ptr<provider::Transport> transport;
  std::string peer;     // address:port, for logs
  std::string address;  // the source address alone, for the unknown-token limit
  std::thread thread;
  bool finished = false;    // under mutex_: the thread is done and may be joined
  bool superseded = false;  // under mutex_: an agent connection another one took over
  std::size_t max_frame_bytes = 0;
  std::chrono::milliseconds timeout{0};

  // At most `limit` bytes (0: max_frame_bytes).
  Frame receive(std::size_t limit = 0) {
    return provider::read_frame(*transport, limit == 0 ? max_frame_bytes : limit, timeout);
  }
  void send(const Frame& frame) { provider::write_frame(*transport, frame); }
  // The next request that is not a heartbeat; each heartbeat before it is
  // answered with itself.
  Frame next_call() {
    for (;;) {
      Frame request = receive();
      if (request.body_case() != Frame::kHeartbeat) return request;
      send(request);
    }
  }
};

namespace {

std::string token_hash(const std::string& token) {
  verify::Sha256 h;
  h.update(token.data(), token.size());
  const verify::Digest d = h.finish();
  return std::string(reinterpret_cast<const char*>(d.b), sizeof d.b);
}

// "step_too_slow: step 3 ..." for a failed proof; "" for a passed one.
std::string failure_text(const verify::Verdict& verdict) {
  return verdict.passed() ? ""
                          : std::string(verify::to_string(verdict.failure)) + ": " + verdict.detail;
}

// What an agent says may reach reports and FIX messages: printable and bounded.
std::string printable(const std::string& text, std::size_t max_bytes) {
  std::string out;
  for (char ch : text.substr(0, max_bytes))
    out.push_back(ch >= 0x20 && ch < 0x7f ? ch : '?');
  return out;
}

// A failed or revoked delivery: no endpoint, a reason.
matching::DeliveryAccess without_endpoint(matching::DeliveryStage stage, std::string detail,
                                          std::uint32_t processes_ended = 0) {
  matching::DeliveryAccess access;
  access.stage = stage;
  access.detail = std::move(detail);
  access.processes_ended = processes_ended;
  return access;
}

Frame error_frame(const std::string& reason) {
  Frame f;
  f.mutable_error()->set_reason(reason);
  return f;
}

// The rejection among a command's events, if any.
const char* rejection(const std::vector<matching::Event>& events) {
  for (const auto& e : events)
    if (const auto* r = std::get_if<matching::CommandRejected>(&e)) return to_string(r->reason);
  return nullptr;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool sells_now(matching::InstrumentState state) {
  return state == matching::InstrumentState::listed || state == matching::InstrumentState::open;
}

}  // namespace

ProviderService::ProviderService(ProviderApiConfig config, const fix::FixConfig& fix,
                                 std::int64_t challenge_ms,
                                 const matching::EngineSnapshot& recovered,
                                 const matching::SetMarketTerms& terms)
    : config_(std::move(config)),
      fix_(fix),
      challenge_ms_(challenge_ms),
      acceptor_(io_),
      refusals_([](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }),
      admitted_({.max_connections = config_.max_connections,
                 .max_per_address = config_.max_connections_per_address,
                 .max_connections_setting = "provider_max_connections",
                 .max_per_address_setting = "provider_max_connections_per_address"}) {
  if (!config_.tls_certificate.empty())
    tls_ = std::make_unique<provider::TlsServer>(config_.tls_certificate, config_.tls_key);
  std::random_device entropy;
  secret_ = (std::uint64_t{entropy()} << 32) | entropy();
  for (const matching::ProviderRecord& p : recovered.providers)
    providers_[p.participant] = p;
  for (const matching::Seat& seat : recovered.seats)
    seats_[seat.sender_comp_id] = seat;
  for (const matching::ProductTerms& t : recovered.product_terms)
    product_terms_[{t.gpu_class, t.region}] = t;
  pending_product_terms_ = recovered.pending_product_terms;
  for (const matching::AccountSnapshot& a : recovered.accounts)
    participants_.insert(a.participant);
  for (const auto& instrument : recovered.instruments) {
    listings_[instrument.spec.id] = {
        .spec = instrument.spec, .state = instrument.state, .halted = instrument.halted};
    for (const matching::ObligationView& o : instrument.obligations)
      if (registered(o.provider) != nullptr)
        deliveries_[o.trade] = {.instrument = instrument.spec.id,
                                .buyer = o.buyer,
                                .provider = o.provider,
                                .units = static_cast<std::uint32_t>(o.quantity),
                                .access = o.delivery,
                                .last_check = std::nullopt};
  }
  for (const matching::DeliveryProfile& profile : recovered.delivery_profiles)
    delivery_keys_[profile.participant] = profile.keys;
  terms_ = terms;
  // Rounds whose instant passed while the exchange was down are due at once
  // (serve_agent counts their grace from started_at_: the provider is not
  // to blame for the exchange's absence), each still its own round.
  started_at_ = unix_now();
  for (const auto& c : pending_challenges(recovered))
    queue_challenge(c);

  using boost::asio::ip::tcp;
  const tcp::endpoint endpoint(boost::asio::ip::make_address(config_.address),
                               static_cast<unsigned short>(config_.port));
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  // A connection that goes away between poll() and accept() must not block
  // the accepting thread, which stop() could then not end.
  acceptor_.non_blocking(true);
  port_ = acceptor_.local_endpoint().port();
}

ProviderService::~ProviderService() {
  stop();
}

void ProviderService::start(sequencer::Pipeline& pipeline) {
  pipeline_ = &pipeline;
  accept_thread_ = std::thread([this] { accept_loop(); });
  capacity_thread_ = std::thread([this] { capacity_loop(); });
}

void ProviderService::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    // Unblocks every connection thread in its read.
    for (auto& c : connections_)
      if (!c->finished) c->transport->shut_down();
  }
  changed_.notify_all();
  if (accept_thread_.joinable()) accept_thread_.join();
  if (capacity_thread_.joinable()) capacity_thread_.join();
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  std::list<std::unique_ptr<Connection>> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& c : connections)
    if (c->thread.joinable()) c->thread.join();
}

std::size_t ProviderService::import_registry(sequencer::Pipeline& pipeline,
                                             const std::filesystem::path& file) {
  // Renamed before the first provider is journaled: an import cut short
  // resumes from the .importing file only, never from a file put back.
  const std::filesystem::path importing = file.string() + ".importing";
  std::error_code error;
  if (!std::filesystem::exists(importing, error)) {
    if (!std::filesystem::exists(file, error)) return 0;
    {
      std::lock_guard lock(mutex_);
      if (!providers_.empty()) {
        std::fprintf(stderr,
                     "gpuxd: provider API: %s not imported: the journal has providers already "
                     "(remove the file, or rename it to %s to import what it lacks)\n",
                     file.c_str(), importing.c_str());
        return 0;
      }
    }
    std::filesystem::rename(file, importing);
  }
  std::ifstream in(importing, std::ios::binary);
  pb::LegacyRegistry registry;
  if (!in || !registry.ParseFromIstream(&in))
    throw std::runtime_error("cannot read " + importing.string());
  std::lock_guard registering(registration_mutex_);
  std::size_t imported = 0;
  for (const auto& p : registry.providers()) {
    // What the journal would refuse, or what would hand a seat to someone
    // else, is left out and said; the rest goes in.
    std::string problem;
    {
      std::lock_guard lock(mutex_);
      if (providers_.contains(p.participant())) continue;  // imported before a stop
      if (!participants_.contains(p.participant()))
        problem = "participant " + std::to_string(p.participant()) + " is not in the journal";
      for (const auto& [participant, other] : providers_)
        if (other.name == p.name()) problem = "another provider is named " + p.name();
      if (const auto seat = seats_.find(p.fix_sender_comp_id());
          seat != seats_.end() && seat->second.participant != p.participant())
        problem = "seat " + p.fix_sender_comp_id() + " is participant " +
                  std::to_string(seat->second.participant) + "'s";
    }
    if (problem.empty() && !p.fix_sender_comp_id().empty() &&
        !matching::valid_access_name(p.fix_sender_comp_id()))
      problem = "seat name '" + p.fix_sender_comp_id() + "' is not valid";
    if (!problem.empty()) {
      std::fprintf(stderr, "gpuxd: provider API: provider %s (participant %u) not imported: %s\n",
                   p.name().c_str(), p.participant(), problem.c_str());
      continue;
    }
    // The seat first, the record last: the record marks the provider done.
    if (!p.fix_password_hash().empty() && !p.fix_sender_comp_id().empty()) {
      matching::Seat seat{.sender_comp_id = p.fix_sender_comp_id(),
                          .participant = p.participant(),
                          .password_hash = p.fix_password_hash(),
                          .no_password = false,
                          .cancel_on_disconnect = false,
                          .enabled = true};
      {
        std::lock_guard lock(mutex_);
        if (const auto held = seats_.find(seat.sender_comp_id); held != seats_.end()) {
          seat = held->second;
          seat.password_hash = p.fix_password_hash();
          seat.no_password = false;
        }
      }
      if (const char* r = rejection(pipeline.execute(matching::SetSeat{seat}).get()))
        throw std::runtime_error("seat " + seat.sender_comp_id + ": " + r);
    }
    auto record = std::make_shared<matching::ProviderRecord>(
        matching::ProviderRecord{.participant = p.participant(),
                                 .name = p.name(),
                                 .region = p.region(),
                                 .token_hash = p.token_hash(),
                                 .fix_sender_comp_id = p.fix_sender_comp_id(),
                                 .gpus = {}});
    for (const auto& c : p.capacity())
      record->gpus.push_back(
          {.gpu_class = c.gpu_class(), .region = c.region(), .count = c.count()});
    if (const char* r = rejection(
            pipeline
                .execute(matching::SetProvider{.participant = p.participant(), .record = record})
                .get()))
      throw std::runtime_error("provider " + p.name() + ": " + r);
    ++imported;
  }
  std::filesystem::rename(importing, file.string() + ".imported");
  return imported;
}

void ProviderService::observe(const matching::Command& command,
                              std::span<const matching::Event> events) {
  const auto* listing = std::get_if<matching::ListInstrument>(&command.body);
  bool wake = false;
  for (const auto& event : events) {
    if (const auto* added = std::get_if<matching::ParticipantAdded>(&event)) {
      std::lock_guard lock(mutex_);
      participants_.insert(added->participant);
    } else if (std::holds_alternative<matching::SeatSet>(event)) {
      const matching::Seat& seat = *std::get<matching::SetSeat>(command.body).seat;
      std::lock_guard lock(mutex_);
      seats_[seat.sender_comp_id] = seat;
    } else if (const auto* t = std::get_if<matching::ProductTermsSet>(&event)) {
      std::lock_guard lock(mutex_);
      const matching::ProductTerms& terms = *t->terms;
      if (t->in_effect) {
        product_terms_[{terms.gpu_class, terms.region}] = terms;
        std::erase(pending_product_terms_, terms);
      } else {
        pending_product_terms_.push_back(terms);
      }
    } else if (const auto* p = std::get_if<matching::ProviderSet>(&event)) {
      const auto& set = std::get<matching::SetProvider>(command.body);
      std::lock_guard lock(mutex_);
      if (set.record)
        providers_[p->participant] = *set.record;
      else
        providers_.erase(p->participant);
    }
    if (const auto* o = std::get_if<matching::ObligationCreated>(&event)) {
      std::lock_guard lock(mutex_);
      if (registered(o->provider) != nullptr)
        deliveries_[o->trade] = {.instrument = o->instrument,
                                 .buyer = o->buyer,
                                 .provider = o->provider,
                                 .units = static_cast<std::uint32_t>(o->quantity),
                                 .access = {},
                                 .last_check = std::nullopt};
    } else if (const auto* d = std::get_if<matching::DeliveryRecorded>(&event)) {
      std::lock_guard lock(mutex_);
      if (const auto found = deliveries_.find(d->trade); found != deliveries_.end())
        found->second.access = *d->access;
    } else if (const auto* settled = std::get_if<matching::ObligationSettled>(&event)) {
      std::lock_guard lock(mutex_);
      deliveries_.erase(settled->trade);
    } else if (const auto* k = std::get_if<matching::DeliveryKeyChanged>(&event)) {
      std::lock_guard lock(mutex_);
      // The buyer's deliveries are granted its keys again: agents wake only
      // for a buyer that has any (a flood of key changes by one without
      // them costs the agents nothing).
      wake = wake || std::any_of(deliveries_.begin(), deliveries_.end(), [&](const auto& entry) {
               return entry.second.buyer == k->participant;
             });
      std::vector<std::string>& keys = delivery_keys_[k->participant];
      if (k->added)
        keys.push_back(*k->key);
      else
        std::erase(keys, *k->key);
    }
    if (const auto* s = std::get_if<matching::InstrumentStateChanged>(&event)) {
      std::lock_guard lock(mutex_);
      listings_[s->instrument].state = s->state;
      listings_[s->instrument].halted = false;
      // Delivery starts: the agents have access to open.
      wake = s->state == matching::InstrumentState::delivering || wake;
    } else if (const auto* h = std::get_if<matching::InstrumentHalted>(&event)) {
      std::lock_guard lock(mutex_);
      listings_[h->instrument].halted = h->halted;
    } else if (std::get_if<matching::InstrumentListed>(&event) && listing != nullptr) {
      std::lock_guard lock(mutex_);
      listings_[listing->spec->id].spec = *listing->spec;
      new_listings_.push_back(listing->spec->id);
      wake = true;
    } else if (const auto* c = std::get_if<matching::ChallengeScheduled>(&event)) {
      std::lock_guard lock(mutex_);
      wake = queue_challenge(*c) || wake;
    } else if (const auto* t = std::get_if<matching::MarketTermsSet>(&event)) {
      std::lock_guard lock(mutex_);
      terms_ = {.buyer_fee_ppm = t->buyer_fee_ppm, .delivery = t->delivery};
    }
  }
  if (wake) changed_.notify_all();
}

bool ProviderService::queue_challenge(const matching::ChallengeScheduled& c) {
  if (registered(c.provider) == nullptr) return false;  // simulated by gpuxd, or nobody's
  const auto listing = listings_.find(c.instrument);
  const Challenge challenge{
      .at = c.at,
      .round = c.round,
      .trade = c.trade,
      .index = c.index,
      .gpu_class = listing == listings_.end() ? "" : listing->second.spec.gpu_class,
      .region = listing == listings_.end() ? "" : listing->second.spec.region,
      .gpus_per_unit = listing == listings_.end()
                           ? 1
                           : std::max<std::uint32_t>(1, listing->second.spec.gpus_per_unit)};
  // In time order, and within one instant by obligation and unit: a round
  // numbers its GPUs the same way every time.
  const auto order = [](const Challenge& a, const Challenge& b) {
    return std::tie(a.at, a.round, a.trade, a.index) < std::tie(b.at, b.round, b.trade, b.index);
  };
  auto& queue = due_[c.provider];
  queue.insert(std::upper_bound(queue.begin(), queue.end(), challenge, order), challenge);
  return true;
}

const matching::ProviderRecord* ProviderService::registered(ParticipantId participant) const {
  const auto found = providers_.find(participant);
  return found == providers_.end() ? nullptr : &found->second;
}

void ProviderService::accept_loop() {
  for (;;) {
    // A blocking accept() does not return when the acceptor closes; waiting
    // in poll() with a short timeout lets stop() end this loop.
    pollfd ready{acceptor_.native_handle(), POLLIN, 0};
    if (::poll(&ready, 1, 200) <= 0) {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      continue;
    }
    // Accepted before its transport exists: that takes descriptors of its
    // own (its io_context's), which must not be spent on a connection that
    // cannot be accepted.
    const int accepted = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (accepted < 0) {
      if (admission::out_of_descriptors(errno)) refuse_out_of_descriptors();
      continue;  // or gone meanwhile
    }
    auto connection = std::make_unique<Connection>();
    connection->max_frame_bytes = config_.max_frame_bytes;
    connection->timeout = std::chrono::milliseconds(config_.timeout_ms);
    try {
      connection->transport = provider::Transport::for_server(tls_.get());
      connection->transport->socket().assign(boost::asio::ip::tcp::v4(), accepted);
    } catch (const std::exception& e) {  // out of descriptors for its io_context
      ::close(accepted);
      refusals_.refused(std::string("gpuxd: provider API: refused a connection: ") + e.what());
      continue;
    }
    boost::system::error_code ignored;
    const auto remote = connection->transport->socket().remote_endpoint(ignored);
    connection->address = remote.address().to_string();
    connection->peer = connection->address + ":" + std::to_string(remote.port());
    connection->transport->socket().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    // Reap connections that ended.
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->finished) {
        (*it)->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    const auto verdict = admitted_.admit(connection->address);
    if (verdict != admission::ConnectionCount::Verdict::admitted) {
      const std::string why = admitted_.why(verdict, connection->address);
      const std::size_t limit = admitted_.limit(verdict);
      lock.unlock();  // no network under the lock: the publisher's observe() takes it
      refusals_.refused("gpuxd: provider API: refused " + connection->peer + ": " + why);
      refuse(*connection, "too many connections" +
                              (verdict == admission::ConnectionCount::Verdict::address_full
                                   ? " from " + connection->address
                                   : std::string()) +
                              " (limit " + std::to_string(limit) + ")");
      continue;
    }
    Connection& c = *connections_.emplace_back(std::move(connection));
    c.thread = std::thread([this, &c] {
      serve(c);
      // Closed under the lock, so that stop() never shuts down a closed
      // (and perhaps reused) descriptor.
      std::lock_guard closing(mutex_);
      boost::system::error_code close_error;  // a socket the peer closed: nothing to do
      c.transport->socket().close(close_error);
      c.finished = true;
      admitted_.release(c.address);
    });
  }
}

void ProviderService::refuse(Connection& connection, const std::string& reason) {
  try {
    connection.transport->handshake(std::chrono::milliseconds(2000));
    connection.send(error_frame(reason));
  } catch (const WireError&) {
  }
}

void ProviderService::refuse_out_of_descriptors() {
  using Outcome = admission::SpareDescriptor::Outcome;
  const Outcome outcome =
      spare_.held() ? spare_.refuse_pending(acceptor_.native_handle()) : Outcome::no_room;
  if (outcome == Outcome::refused_one)
    refusals_.refused(
        "gpuxd: provider API: refused a connection: the process is out of file descriptors");
  // nothing_waiting: poll() waits for the next. no_room: wait a while rather
  // than spin on a listener that stays readable.
  if (outcome == Outcome::no_room) ::poll(nullptr, 0, 100);
}

void ProviderService::serve(Connection& c) {
  try {
    c.transport->handshake(c.timeout);
    // Before the peer has said who it is, only a hello's worth of bytes.
    const Frame hello = c.receive(config_.max_hello_bytes);
    if (hello.body_case() != Frame::kHello)
      throw WireError("the first message must be hello, not " + provider::frame_type(hello));
    if (unknown_tokens_exceeded(c.address)) {
      std::fprintf(stderr, "gpuxd: provider API: %s: too many unknown tokens; refused unchecked\n",
                   c.peer.c_str());
      c.send(error_frame("too many unknown tokens from " + c.address + "; try again in a minute"));
      return;
    }
    if (!config_.operator_token.empty() && hello.hello().token() == config_.operator_token) {
      Frame welcome;
      welcome.mutable_welcome()->set_operator_(true);
      c.send(welcome);
      serve_operator(c);
      return;
    }
    const auto participant = authenticate(hello.hello().token());
    if (!participant) {
      count_unknown_token(c.address);
      std::fprintf(stderr, "gpuxd: provider API: %s presented an unknown token; closed\n",
                   c.peer.c_str());
      c.send(error_frame("unknown token"));
      return;
    }
    Frame welcome;
    welcome.mutable_welcome()->set_participant(*participant);
    c.send(welcome);
    serve_provider(c, *participant);
  } catch (const provider::ConnectionClosed&) {
    // The client is done; nothing to tell it.
  } catch (const WireError& e) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    std::fprintf(stderr, "gpuxd: provider API: %s: %s; closed\n", c.peer.c_str(), e.what());
    try {
      c.send(error_frame(e.what()));
    } catch (const WireError&) {
    }
  } catch (const sequencer::PipelineStopped& e) {
    // The journal failed and gpuxd is stopping: say so, rather than leave
    // the client waiting for an answer that will not come.
    try {
      c.send(error_frame(e.what()));
    } catch (const WireError&) {
    }
  }
}

namespace {

// Unknown tokens a source address may present in a minute (from its first)
// before its hellos are refused unchecked: tokens are 256-bit random, so
// this only slows a guesser, but it also bounds the work and the log lines
// one peer can cause.
constexpr int kUnknownTokensPerMinute = 5;

}  // namespace

bool ProviderService::unknown_tokens_exceeded(const std::string& address) {
  std::lock_guard lock(mutex_);
  const auto found = unknown_tokens_.find(address);
  return found != unknown_tokens_.end() && found->second.count >= kUnknownTokensPerMinute &&
         std::chrono::steady_clock::now() - found->second.since < std::chrono::minutes(1);
}

void ProviderService::count_unknown_token(const std::string& address) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  // Counts older than a minute no longer matter: dropped, so that guessers
  // from ever new addresses cannot grow this map without bound.
  if (!unknown_tokens_.contains(address))
    std::erase_if(unknown_tokens_, [&](const auto& entry) {
      return now - entry.second.since >= std::chrono::minutes(1);
    });
  UnknownTokens& tokens = unknown_tokens_[address];
  if (now - tokens.since >= std::chrono::minutes(1)) tokens = {.count = 0, .since = now};
  ++tokens.count;
}

void ProviderService::serve_operator(Connection& c) {
  for (;;) {
    const Frame request = c.next_call();
    switch (request.body_case()) {
      case Frame::kRegisterProvider:
        c.send(register_provider(request.register_provider()));
        break;
      case Frame::kMarketTermsRequest:
        c.send(market_terms(request.market_terms_request()));
        break;
      case Frame::kListProviders:
        c.send(list_providers());
        break;
      case Frame::kListSeats:
        c.send(list_seats());
        break;
      case Frame::kListInstruments:
        c.send(list_instruments());
        break;
      case Frame::kHaltRequest:
        c.send(halt(request.halt_request()));
        break;
      case Frame::kChangeSeat:
        c.send(change_seat(request.change_seat()));
        break;
      case Frame::kProductTermsRequest:
        c.send(product_terms(request.product_terms_request()));
        break;
      default:
        throw WireError(provider::frame_type(request) + " is not an operator call");
    }
  }
}

void ProviderService::serve_provider(Connection& c, ParticipantId participant) {
  std::map<std::string, std::uint32_t> qualified;  // on this connection, by class
  for (;;) {
    const Frame request = c.next_call();
    switch (request.body_case()) {
      case Frame::kQualify:
        c.send(qualify(c, participant, request.qualify(), qualified));
        break;
      case Frame::kRegisterGpus:
        provider::write_frame(*c.transport,
                              register_gpus(participant, request.register_gpus(), qualified));
        break;
      case Frame::kDeregister:
        c.send(deregister(participant));
        return;
      case Frame::kAgentReady:
        serve_agent(c, participant);
        return;
      default:
        throw WireError(provider::frame_type(request) + " is not a provider call");
    }
  }
}

std::optional<ParticipantId> ProviderService::authenticate(const std::string& token) {
  if (token.empty()) return std::nullopt;
  const std::string hash = token_hash(token);
  std::lock_guard lock(mutex_);
  for (const auto& [participant, p] : providers_)
    if (p.token_hash == hash) return participant;
  return std::nullopt;
}

const verify::ClassProfile* ProviderService::profile_for(const std::string& gpu_class,
                                                         const std::string& region) {
  // The journal's, for a product of these GPUs in this region that names
  // one (a node class's GPUs are its GPU class's: qualification and delivery
  // find the same); else the configuration's override (exchanges listing by
  // bootstrap lines only); else the class's own.
  {
    std::lock_guard lock(mutex_);
    for (const auto& [product, terms] : product_terms_)
      if (gpu_class_of(product.first) == gpu_class_of(gpu_class) && product.second == region &&
          !terms.verification_profile.empty())
        return verify::find_class(terms.verification_profile);
  }
  if (!config_.profile_override.empty()) return verify::find_class(config_.profile_override);
  return verify::find_class(gpu_class_of(gpu_class));
}

std::string ProviderService::unlisted(const std::string& gpu_class, const std::string& region) {
  std::set<std::pair<std::string, std::string>> markets(config_.products.begin(),
                                                        config_.products.end());
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, listing] : listings_)
      markets.emplace(listing.spec.gpu_class, listing.spec.region);
  }
  if (markets.empty()) return "";  // nothing listed yet: nothing to check against
  const auto join = [](const std::set<std::string>& words) {
    std::string list;
    for (const std::string& w : words)
      list += (list.empty() ? "" : ", ") + w;
    return list;
  };
  std::set<std::string> regions, classes_here;
  for (const auto& [c, r] : markets) {
    regions.insert(r);
    if (r == region) classes_here.insert(c);
  }
  if (classes_here.empty())
    return "the exchange lists no products in region '" + region + "' (regions: " + join(regions) +
           ")";
  if (!gpu_class.empty() && !classes_here.contains(gpu_class))
    return "the exchange lists no " + gpu_class + " products in " + region +
           " (classes there: " + join(classes_here) + ")";
  return "";
}

namespace {

void describe_seat(const matching::Seat& seat, const std::string& provider,
                   pb::SeatList::Seat& out) {
  out.set_sender_comp_id(seat.sender_comp_id);
  out.set_participant(seat.participant);
  out.set_cancel_on_disconnect(seat.cancel_on_disconnect);
  out.set_provider(provider);
  out.set_enabled(seat.enabled);
  out.set_password(!seat.password_hash.empty() ? pb::SeatList::Seat::SET
                   : seat.no_password          ? pb::SeatList::Seat::NOT_NEEDED
                                               : pb::SeatList::Seat::NONE_YET);
}

}  // namespace

Frame ProviderService::list_providers() {
  Frame reply;
  auto* list = reply.mutable_provider_list();
  std::lock_guard lock(mutex_);
  for (const auto& [participant, p] : providers_) {
    auto* out = list->add_providers();
    out->set_participant(participant);
    out->set_name(p.name);
    out->set_region(p.region);
    for (const matching::ProvenGpus& g : p.gpus) {
      auto* gpus = out->add_capacity();
      gpus->set_gpu_class(g.gpu_class);
      gpus->set_region(g.region);
      gpus->set_count(g.count);
    }
    out->set_fix_sender_comp_id(p.fix_sender_comp_id);
    const auto seat = seats_.find(p.fix_sender_comp_id);
    out->set_fix_password_set(seat != seats_.end() && !seat->second.password_hash.empty());
  }
  return reply;
}

std::string ProviderService::provider_of_seat(const std::string& sender) const {
  for (const auto& [participant, p] : providers_)
    if (p.fix_sender_comp_id == sender) return p.name;
  return {};
}

Frame ProviderService::list_seats() {
  Frame reply;
  auto* list = reply.mutable_seat_list();
  std::lock_guard lock(mutex_);
  for (const auto& [sender, seat] : seats_)
    describe_seat(seat, provider_of_seat(sender), *list->add_seats());
  return reply;
}

namespace {

// A seat password: 128 random bits need no key stretching, so the cheapest
// Argon2id keeps every logon fast. Empty hash: out of memory.
std::pair<std::string, std::string> new_seat_password() {
  const std::string password = verify::to_hex(verify::random_nonce()).substr(0, 32);
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.c_str(), password.size(), crypto_pwhash_OPSLIMIT_MIN,
                        crypto_pwhash_MEMLIMIT_MIN) != 0)
    return {password, ""};
  return {password, hash};
}

}  // namespace

Frame ProviderService::product_terms(const pb::ProductTermsRequest& request) {
  std::lock_guard changing(registration_mutex_);
  const bool change = request.has_maker_fee_ppm() || request.has_taker_fee_ppm() ||
                      request.has_reference_price() || request.has_band_width() ||
                      request.has_verification_profile();
  if (request.has_verification_profile() && !request.verification_profile().empty() &&
      verify::find_class(request.verification_profile()) == nullptr)
    return error_frame("no verification profile '" + request.verification_profile() +
                       "' (gpux-verify classes lists them)");
  const std::pair<std::string, std::string> product{request.gpu_class(), request.region()};
  Frame reply;
  auto* list = reply.mutable_product_terms_list();
  if (change) {
    matching::ProductTerms terms;
    {
      std::lock_guard lock(mutex_);
      const auto held = product_terms_.find(product);
      if (held != product_terms_.end()) {
        terms = held->second;
      } else if (!request.has_reference_price() || !request.has_band_width()) {
        return error_frame("product " + request.gpu_class() + "." + request.region() +
                           " has no terms yet: give its --reference-price and --band-width too");
      }
    }
    terms.gpu_class = request.gpu_class();
    terms.region = request.region();
    if (request.has_maker_fee_ppm()) terms.maker_fee_ppm = request.maker_fee_ppm();
    if (request.has_taker_fee_ppm()) terms.taker_fee_ppm = request.taker_fee_ppm();
    if (request.has_reference_price()) terms.reference_price = request.reference_price();
    if (request.has_band_width()) terms.band_width = request.band_width();
    if (request.has_verification_profile())
      terms.verification_profile = request.verification_profile();
    terms.effective_from = request.effective_from();
    {
      // The engine knows no tick but a listing's: terms off the product's
      // tick would have every later hour refused.
      std::lock_guard lock(mutex_);
      for (const auto& [id, listing] : listings_) {
        const matching::InstrumentSpec& spec = listing.spec;
        if (spec.gpu_class != terms.gpu_class || spec.region != terms.region) continue;
        if (terms.reference_price % spec.tick_size != 0 || terms.band_width % spec.tick_size != 0 ||
            terms.reference_price - terms.band_width < spec.tick_size)
          return error_frame(
              "product terms refused: the reference price and band width are "
              "whole ticks of " +
              std::to_string(spec.tick_size) + " micro-USD, and the band stays above one tick");
        break;
      }
    }
    const std::vector<matching::Event> events =
        pipeline_->execute(matching::SetProductTerms{terms}).get();
    if (const char* r = rejection(events))
      return error_frame(std::string("product terms refused: ") + r +
                         ": a class and region are plain names; each fee is at most the "
                         "buyers' fee hold (gpux admin terms); the band is narrower than the "
                         "reference price");
    list->set_sequence(std::visit([](const auto& e) { return e.stamp.sequence; }, events.at(0)));
    std::fprintf(stderr, "gpuxd: provider API: the operator set the terms of %s.%s from %llu\n",
                 terms.gpu_class.c_str(), terms.region.c_str(),
                 static_cast<unsigned long long>(std::max(terms.effective_from, list->sequence())));
  }
  std::lock_guard lock(mutex_);
  const auto add = [&](const matching::ProductTerms& t, bool in_effect) {
    if (change && std::pair{t.gpu_class, t.region} != product) return;
    auto* out = list->add_products();
    out->set_gpu_class(t.gpu_class);
    out->set_region(t.region);
    out->set_maker_fee_ppm(t.maker_fee_ppm);
    out->set_taker_fee_ppm(t.taker_fee_ppm);
    out->set_reference_price(t.reference_price);
    out->set_band_width(t.band_width);
    out->set_effective_from(t.effective_from);
    out->set_in_effect(in_effect);
    out->set_verification_profile(t.verification_profile);
  };
  for (const auto& [key, t] : product_terms_)
    add(t, true);
  for (const matching::ProductTerms& t : pending_product_terms_)
    add(t, false);
  return reply;
}

Frame ProviderService::change_seat(const pb::ChangeSeat& request) {
  // One operator change at a time: each starts from the seat the last left.
  std::lock_guard changing(registration_mutex_);
  const std::string& sender = request.sender_comp_id();
  std::optional<matching::Seat> held;
  {
    std::lock_guard lock(mutex_);
    if (const auto found = seats_.find(sender); found != seats_.end()) held = found->second;
  }
  if (sender == fix_.comp_id)
    return error_frame("'" + sender + "' is the exchange's own CompID, not a seat's");
  if (request.create() == held.has_value())
    return error_frame(held ? "seat " + sender + " exists already (participant " +
                                  std::to_string(held->participant) + ")"
                            : "no seat " + sender + " (gpux admin seats lists them)");
  if (request.create()) {
    // A seat for a participant yet to come would be its, whoever that is.
    std::lock_guard lock(mutex_);
    if (!participants_.contains(request.participant()))
      return error_frame("no participant " + std::to_string(request.participant()) +
                         " at the exchange: a seat is made for one that exists");
  }
  if (!request.create() && (request.no_password() || request.participant() != 0))
    return error_frame(
        "a seat's participant and whether it needs a password are set when it is "
        "created");
  matching::Seat seat = held.value_or(matching::Seat{.sender_comp_id = sender,
                                                     .participant = request.participant(),
                                                     .password_hash = {},
                                                     .no_password = request.no_password(),
                                                     .cancel_on_disconnect = false,
                                                     .enabled = true});
  if (request.has_enabled()) seat.enabled = request.enabled();
  if (request.has_cancel_on_disconnect())
    seat.cancel_on_disconnect = request.cancel_on_disconnect();
  Frame reply;
  auto* changed = reply.mutable_seat_changed();
  if (request.new_password() || (request.create() && !request.no_password())) {
    if (seat.no_password) return error_frame("seat " + sender + " has no password (password=none)");
    const auto [password, hash] = new_seat_password();
    if (hash.empty()) return error_frame("cannot hash the FIX password (out of memory)");
    seat.password_hash = hash;
    changed->set_password(password);
  }
  const std::vector<matching::Event> events = pipeline_->execute(matching::SetSeat{seat}).get();
  if (const char* r = rejection(events))
    return error_frame(std::string("seat refused: ") + r +
                       (std::string(r) == "invalid_seat"
                            ? ": a SenderCompID is 1 to 64 letters, digits, '-', '_' or '.', "
                              "starting with a letter or digit"
                            : ""));
  changed->set_sequence(std::visit([](const auto& e) { return e.stamp.sequence; }, events.at(0)));
  std::lock_guard lock(mutex_);
  describe_seat(seat, provider_of_seat(sender), *changed->mutable_seat());
  if (request.create() && seat.no_password)
    std::fprintf(stderr,
                 "gpuxd: WARNING: seat %s has no password: anyone who can reach the FIX port may "
                 "trade as participant %u\n",
                 sender.c_str(), seat.participant);
  std::fprintf(stderr, "gpuxd: provider API: the operator %s seat %s (participant %u)%s%s\n",
               request.create() ? "created" : "changed", sender.c_str(), seat.participant,
               seat.enabled ? "" : ", disabled",
               changed->password().empty() ? "" : ", new password");
  return reply;
}

Frame ProviderService::list_instruments(std::optional<matching::InstrumentId> only) {
  Frame reply;
  auto* list = reply.mutable_instrument_list();
  std::lock_guard lock(mutex_);
  for (const auto& [id, listing] : listings_) {
    if (only && id != *only) continue;
    auto* out = list->add_instruments();
    out->set_id(id);
    out->set_symbol(listing.spec.symbol);
    out->set_gpu_class(listing.spec.gpu_class);
    out->set_region(listing.spec.region);
    out->set_state(matching::to_string(listing.state));
    out->set_delivery_start(listing.spec.delivery_start);
    out->set_delivery_end(listing.spec.delivery_end);
    out->set_halted(listing.halted);
  }
  return reply;
}

Frame ProviderService::halt(const pb::HaltRequest& request) {
  std::optional<matching::InstrumentId> id;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [listed, listing] : listings_)
      if (listing.spec.symbol == request.instrument() ||
          std::to_string(listed) == request.instrument())
        id = listed;
  }
  if (!id) return error_frame("no instrument '" + request.instrument() + "' (id or symbol)");
  const char* verb = request.halted() ? "halt" : "resume";
  for (const matching::Event& event :
       pipeline_->execute(matching::HaltInstrument{.instrument = *id, .halted = request.halted()})
           .get())
    if (const auto* r = std::get_if<matching::CommandRejected>(&event))
      return error_frame(std::string(verb) + " refused: " + matching::to_string(r->reason) +
                         (request.halted() ? ": only an open instrument that trades can be halted"
                                           : ": only a halted instrument can be resumed"));
  {
    // The observer learns it too, perhaps later: the reply shows it now.
    std::lock_guard lock(mutex_);
    listings_[*id].halted = request.halted();
  }
  std::fprintf(stderr, "gpuxd: provider API: the operator %s trading in instrument %u\n",
               request.halted() ? "halted" : "resumed", *id);
  return list_instruments(*id);
}

Frame ProviderService::market_terms(const pb::MarketTermsRequest& request) {
  // One operator change at a time: each starts from the terms the last left.
  std::lock_guard changing(registration_mutex_);
  matching::SetMarketTerms terms;
  {
    std::lock_guard lock(mutex_);
    terms = terms_;
  }
  std::uint64_t sequence = 0;
  if (request.has_buyer_fee_ppm() || request.has_challenges_per_obligation() ||
      request.has_penalty_ppm() || request.has_challenge_seed()) {
    if (request.has_buyer_fee_ppm()) terms.buyer_fee_ppm = request.buyer_fee_ppm();
    if (request.has_challenges_per_obligation())
      terms.delivery.challenges_per_obligation = request.challenges_per_obligation();
    if (request.has_penalty_ppm()) terms.delivery.penalty_ppm = request.penalty_ppm();
    if (request.has_challenge_seed()) terms.delivery.challenge_seed = request.challenge_seed();
    for (const matching::Event& event : pipeline_->execute(terms).get()) {
      if (const auto* r = std::get_if<matching::CommandRejected>(&event)) {
        const bool locked = r->reason == matching::RejectReason::market_terms_locked;
        return error_frame(
            std::string("market terms refused: ") + matching::to_string(r->reason) +
            (locked ? ": buyers' money is held under the current fee hold; change the fee hold "
                      "when none is (delivery terms may change now)"
                    : ": the fee hold is at most 1,000,000 ppm and at least every listed "
                      "product's fee; challenges per obligation 1 to 1,000; penalty at most "
                      "10,000,000 ppm"));
      }
      if (const auto* set = std::get_if<matching::MarketTermsSet>(&event))
        sequence = set->stamp.sequence;
    }
    {
      // The observer learns it too, perhaps later: the next change must not
      // start from the terms before this one.
      std::lock_guard lock(mutex_);
      terms_ = terms;
    }
    std::fprintf(stderr, "gpuxd: provider API: the operator set the market terms at %llu\n",
                 static_cast<unsigned long long>(sequence));
  }
  Frame reply;
  auto* in_effect = reply.mutable_market_terms();
  in_effect->set_buyer_fee_ppm(terms.buyer_fee_ppm);
  in_effect->set_challenges_per_obligation(terms.delivery.challenges_per_obligation);
  in_effect->set_penalty_ppm(terms.delivery.penalty_ppm);
  in_effect->set_challenge_seed(terms.delivery.challenge_seed);
  in_effect->set_sequence(sequence);
  return reply;
}

Frame ProviderService::register_provider(const pb::RegisterProvider& request) {
  for (const auto& [field, value] :
       {std::pair{"name", &request.name()}, {"region", &request.region()}})
    if (!matching::valid_access_name(*value))
      return error_frame(std::string("register_provider: ") + field + " '" + *value +
                         "' must be 1 to 64 letters, digits, '-', '_' or '.', starting with a "
                         "letter or digit");
  if (const std::string why = unlisted(request.gpu_class(), request.region()); !why.empty())
    return error_frame("register_provider: " + why);
  // One registration at a time, so that two of one name cannot both pass.
  std::lock_guard registering(registration_mutex_);
  {
    std::lock_guard lock(mutex_);
    for (const auto& [participant, p] : providers_)
      if (p.name == request.name())
        return error_frame("register_provider: a provider named '" + request.name() +
                           "' is registered already (participant " + std::to_string(participant) +
                           ")");
  }
  if (request.cash() < 0 || request.collateral() < 0 || request.collateral() > request.cash())
    return error_frame(
        "cash and collateral must not be negative, and collateral comes out of cash");
  if (request.name() == fix_.comp_id)
    return error_frame("register_provider: '" + request.name() +
                       "' is the exchange's own CompID; choose another name");
  // The next id after every participant the engine has; one added meanwhile
  // by another client (bootstrap, the command stream) moves it on.
  ParticipantId participant = 0;
  for (int tries = 0;; ++tries) {
    {
      std::lock_guard lock(mutex_);
      participant = config_.first_participant;
      if (!participants_.empty()) participant = std::max(participant, *participants_.rbegin() + 1);
    }
    const char* r = rejection(pipeline_->execute(matching::AddParticipant{participant}).get());
    if (r == nullptr) break;
    if (tries == 10) return error_frame(std::string("no participant id: ") + r);
    std::lock_guard lock(mutex_);
    participants_.insert(participant);
  }
  if (request.cash() > 0) {
    if (const char* r =
            rejection(pipeline_->execute(matching::AdjustCash{participant, request.cash()}).get()))
      return error_frame(std::string("deposit refused: ") + r);
  }
  if (request.collateral() > 0) {
    if (const char* r = rejection(
            pipeline_->execute(matching::PostCollateral{participant, request.collateral()}).get()))
      return error_frame(std::string("collateral refused: ") + r);
  }
  const std::string token = verify::to_hex(verify::random_nonce());
  Frame reply;
  auto* registered = reply.mutable_provider_registered();
  registered->set_participant(participant);
  registered->set_token(token);
  // Its FIX seat: one the operator made for this participant, or a new one
  // named after the provider (with its id when another holds that name),
  // with a password issued now unless the seat has one.
  std::optional<matching::Seat> seat;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [sender, held] : seats_)
      if (held.participant == participant) seat = held;
    if (!seat)
      seat = matching::Seat{
          .sender_comp_id = seats_.contains(request.name())
                                ? request.name().substr(0, 52) + "-" + std::to_string(participant)
                                : request.name(),
          .participant = participant,
          .password_hash = {},
          .no_password = false,
          .cancel_on_disconnect = false,
          .enabled = true};
  }
  if (seat->password_hash.empty() && !seat->no_password) {
    const auto [password, hash] = new_seat_password();
    if (hash.empty()) return error_frame("cannot hash the FIX password (out of memory)");
    seat->password_hash = hash;
    registered->set_fix_password(password);
    if (const char* r = rejection(pipeline_->execute(matching::SetSeat{*seat}).get()))
      return error_frame(std::string("FIX seat refused: ") + r);
  }
  registered->set_fix_sender_comp_id(seat->sender_comp_id);
  registered->set_fix_target_comp_id(fix_.comp_id);
  registered->set_fix_port(static_cast<std::uint32_t>(fix_.port));
  const auto record = std::make_shared<const matching::ProviderRecord>(
      matching::ProviderRecord{.participant = participant,
                               .name = request.name(),
                               .region = request.region(),
                               .token_hash = token_hash(token),
                               .fix_sender_comp_id = seat->sender_comp_id,
                               .gpus = {}});
  if (const char* r = rejection(
          pipeline_->execute(matching::SetProvider{.participant = participant, .record = record})
              .get()))
    return error_frame(std::string("registration refused: ") + r);
  std::fprintf(stderr, "gpuxd: provider API: registered provider %s (%s) as participant %u\n",
               request.name().c_str(), request.region().c_str(), participant);
  return reply;
}

Frame ProviderService::qualify(Connection& c, ParticipantId participant, const pb::Qualify& request,
                               std::map<std::string, std::uint32_t>& qualified) {
  std::string region;
  {
    std::lock_guard lock(mutex_);
    if (const matching::ProviderRecord* p = registered(participant)) region = p->region;
  }
  const verify::ClassProfile* profile = profile_for(request.gpu_class(), region);
  if (profile == nullptr)
    return error_frame("no verification profile for GPU class '" + request.gpu_class() + "'");
  // Before any work is proven: a class the exchange does not trade here.
  if (const std::string why = unlisted(request.gpu_class(), region); !why.empty())
    return error_frame("qualify: " + why);
  const std::uint32_t count = std::max<std::uint32_t>(1, request.count());
  if (count > kMaxGpusPerRound)
    return error_frame("qualify: " + std::to_string(count) + " GPUs at once; at most " +
                       std::to_string(kMaxGpusPerRound) + " (qualify the rest in another run)");
  const std::vector<ProofTarget> targets(count, ProofTarget{.profile = profile});
  const std::vector<verify::Verdict> verdicts =
      prove_at_once(c, config_.qualification_ms * 1'000'000, targets,
                    secret_ ^ (std::uint64_t{participant} << 32));
  std::uint32_t passed = 0;
  Frame reply;
  auto* result = reply.mutable_qualification_result();
  for (const verify::Verdict& verdict : verdicts) {
    passed += verdict.passed();
    pb::ChallengeResult* gpu = result->add_gpus();
    gpu->set_passed(verdict.passed());
    gpu->set_failure(static_cast<std::uint32_t>(verdict.failure));
    gpu->set_detail(failure_text(verdict));
    if (!verdict.passed() && result->failure() == 0) {
      result->set_failure(gpu->failure());
      result->set_detail(gpu->detail());
    }
  }
  // Only GPUs proven together count: a provider qualifying twice with the
  // same device must not double it.
  qualified[request.gpu_class()] = passed;
  std::fprintf(stderr,
               "gpuxd: provider API: participant %u qualification of %u %s (%s): %u passed%s%s\n",
               participant, count, request.gpu_class().c_str(), request.gpu_name().c_str(), passed,
               passed == count ? "" : "; first failure: ", result->detail().c_str());
  result->set_passed(passed == count);
  result->set_qualified(passed);
  return reply;
}

Frame ProviderService::register_gpus(ParticipantId participant, const pb::RegisterGpus& request,
                                     const std::map<std::string, std::uint32_t>& qualified) {
  const auto it = qualified.find(request.gpu_class());
  const std::uint32_t proven = it == qualified.end() ? 0 : it->second;
  if (request.count() > proven)
    return error_frame("register_gpus: " + std::to_string(request.count()) + " " +
                       request.gpu_class() + " GPUs, but " + std::to_string(proven) +
                       " qualified on this connection");
  if (request.region().empty()) return error_frame("register_gpus needs a region");
  if (const std::string why = unlisted(request.gpu_class(), request.region()); !why.empty())
    return error_frame("register_gpus: " + why);
  std::lock_guard registering(registration_mutex_);  // the record as the last change left it
  matching::ProviderRecord record;
  {
    std::lock_guard lock(mutex_);
    const matching::ProviderRecord* provider = registered(participant);
    if (provider == nullptr) return error_frame("this provider is no longer registered");
    record = *provider;
  }
  // The same GPUs one by one and as nodes would be sold twice.
  const std::string gpu = gpu_class_of(request.gpu_class());
  for (const matching::ProvenGpus& c : record.gpus) {
    if (c.count == 0) continue;
    // A faster GPU passes a slower class's proof: the same GPUs proven as
    // two classes, at two times, would be sold twice.
    if (gpu_class_of(c.gpu_class) != gpu)
      return error_frame("register_gpus: this provider offers " + gpu_class_of(c.gpu_class) +
                         " GPUs already; the GPUs of one qualification are offered as one "
                         "class (a provider with several classes registers each as its own "
                         "provider)");
    if (c.gpu_class != request.gpu_class() && c.region == request.region())
      return error_frame("register_gpus: this provider offers its " + gpu + " GPUs in " + c.region +
                         " as " + c.gpu_class + " already; a provider offers " +
                         "them one way (one by one, or as nodes of one size)");
    // The same proven GPUs offered in two regions would be sold twice.
    if (c.region != request.region())
      return error_frame("register_gpus: this provider offers its " + gpu + " GPUs in " + c.region +
                         " already; GPUs proven once are offered in one region");
  }
  const auto found = std::find_if(record.gpus.begin(), record.gpus.end(), [&](const auto& c) {
    return c.gpu_class == request.gpu_class() && c.region == request.region();
  });
  matching::ProvenGpus& entry =
      found != record.gpus.end()
          ? *found
          : record.gpus.emplace_back(
                matching::ProvenGpus{.gpu_class = request.gpu_class(), .region = request.region()});
  entry.count = request.count();
  if (const char* r = rejection(
          pipeline_
              ->execute(matching::SetProvider{
                  .participant = participant,
                  .record = std::make_shared<const matching::ProviderRecord>(std::move(record))})
              .get()))
    return error_frame(std::string("register_gpus refused: ") + r);
  // This class's products here: the reply counts what this registration offers.
  std::vector<matching::InstrumentId> instruments;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, listing] : listings_)
      if (listing.spec.gpu_class == request.gpu_class() && listing.spec.region == request.region())
        instruments.push_back(id);
  }
  Frame reply;
  reply.mutable_gpus_registered()->set_count(request.count());
  reply.mutable_gpus_registered()->set_instruments(apply_capacity(participant, instruments));
  return reply;
}

std::uint32_t ProviderService::apply_capacity(
    ParticipantId participant, const std::vector<matching::InstrumentId>& instruments) {
  std::vector<matching::SetSellCapacity> commands;
  {
    std::lock_guard lock(mutex_);
    const matching::ProviderRecord* provider = registered(participant);
    for (const auto id : instruments) {
      const auto listing = listings_.find(id);
      if (provider == nullptr || listing == listings_.end() || !sells_now(listing->second.state))
        continue;
      const matching::InstrumentSpec& spec = listing->second.spec;
      for (const matching::ProvenGpus& c : provider->gpus)
        if (c.gpu_class == spec.gpu_class && c.region == spec.region)
          commands.push_back({participant, id,
                              static_cast<matching::Quantity>(
                                  c.count / std::max<std::uint32_t>(1, spec.gpus_per_unit))});
    }
  }
  std::uint32_t set = 0;
  for (const auto& command : commands) {
    if (const char* r = rejection(pipeline_->execute(command).get()))
      std::fprintf(stderr, "gpuxd: provider API: capacity of participant %u on instrument %u: %s\n",
                   participant, command.instrument, r);
    else
      ++set;
  }
  return set;
}

Frame ProviderService::deregister(ParticipantId participant) {
  // Not beside a register_gpus of the same provider, which would bring the
  // record back.
  std::lock_guard registering(registration_mutex_);
  std::vector<matching::InstrumentId> instruments;
  std::optional<matching::Seat> seat;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, listing] : listings_)
      if (sells_now(listing.state)) instruments.push_back(id);
    if (const matching::ProviderRecord* p = registered(participant))
      if (const auto found = seats_.find(p->fix_sender_comp_id); found != seats_.end())
        seat = found->second;
  }
  Frame reply;
  auto* done = reply.mutable_deregistered();
  for (const auto id : instruments) {
    const auto events = pipeline_->execute(matching::SetSellCapacity{participant, id, 0}).get();
    if (rejection(events)) {
      std::lock_guard lock(mutex_);
      done->add_still_committed(listings_[id].spec.symbol);
    } else {
      done->set_instruments(done->instruments() + 1);
    }
  }
  if (const char* r = rejection(
          pipeline_->execute(matching::SetProvider{.participant = participant, .record = nullptr})
              .get()))
    return error_frame(std::string("deregistration refused: ") + r);
  // Its FIX seat trades no more either; the operator may enable it again
  // (gpux admin seat-enable), say to let it cancel what still rests.
  if (seat && seat->enabled) {
    seat->enabled = false;
    if (const char* r = rejection(pipeline_->execute(matching::SetSeat{*seat}).get()))
      std::fprintf(stderr, "gpuxd: provider API: seat %s of participant %u not disabled: %s\n",
                   seat->sender_comp_id.c_str(), participant, r);
  }
  std::fprintf(stderr, "gpuxd: provider API: participant %u deregistered%s\n", participant,
               seat ? (", its seat " + seat->sender_comp_id + " disabled").c_str() : "");
  return reply;
}

std::vector<verify::Verdict> ProviderService::prove_at_once(Connection& c, std::int64_t work_ns,
                                                            std::span<const ProofTarget> targets,
                                                            std::uint64_t secret) {
  std::vector<verify::Challenge> asked;
  std::vector<ConcurrentChallenge> challenges(targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) {
    GPUX_ASSERT(targets[i].profile != nullptr);
    const verify::Nonce nonce = verify::random_nonce();
    asked.push_back(verify::make_challenge(*targets[i].profile, nonce, work_ns));
    pb::ChallengeStart& s = challenges[i].start;
    s.set_trade(targets[i].trade);
    s.set_index(targets[i].index);
    s.set_profile(std::string(targets[i].profile->name));
    s.set_nonce(std::string(reinterpret_cast<const char*>(nonce.bytes.data()), nonce.bytes.size()));
    s.set_work_ns(work_ns);
  }
  // Every challenge counts as issued now, together, before any is sent: the
  // network's time is the provider's, and one window holds them all.
  verify::SteadyClock clock;
  std::vector<std::unique_ptr<verify::Verifier>> verifiers;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    verifiers.push_back(std::make_unique<verify::Verifier>(
        asked[i], secret ^ (targets[i].trade << 8) ^ targets[i].index ^ (std::uint64_t{i} << 40),
        clock));
    challenges[i].verifier = verifiers.back().get();
  }
  return prove_concurrently(*c.transport, challenges, c.max_frame_bytes, c.timeout);
}

void ProviderService::serve_agent(Connection& c, ParticipantId participant) {
  {
    std::unique_lock lock(mutex_);
    // The provider's new agent takes over. The old connection is most
    // likely dead (its agent killed, or its network gone), and would
    // otherwise hold the provider's rounds and grants until a heartbeat
    // found out: a restarted agent would miss the rounds due meanwhile.
    if (const auto old = agents_.find(participant); old != agents_.end()) {
      std::fprintf(stderr,
                   "gpuxd: provider API: agent of participant %u at %s replaced by a new "
                   "connection from %s\n",
                   participant, old->second->peer.c_str(), c.peer.c_str());
      old->second->superseded = true;
      old->second->transport->shut_down();
      changed_.notify_all();
      if (!changed_.wait_for(lock, std::chrono::milliseconds(config_.timeout_ms),
                             [&] { return stopping_ || !agents_.contains(participant); }))
        throw WireError("an agent of participant " + std::to_string(participant) +
                        " is still connected");
    }
    if (stopping_) return;
    agents_[participant] = &c;
    agents_connected_ = agents_.size();
  }
  std::fprintf(stderr, "gpuxd: provider API: agent of participant %u connected from %s\n",
               participant, c.peer.c_str());
  struct Leave {
    ProviderService& s;
    ParticipantId p;
    ~Leave() {
      {
        std::lock_guard lock(s.mutex_);
        s.agents_.erase(p);
        s.agents_connected_ = s.agents_.size();
      }
      s.changed_.notify_all();  // a new agent may wait to take over
    }
  } leave{*this, participant};

  // A round due before this connection (and before the exchange started,
  // which is not the provider's doing) by more than the grace is missed.
  const std::int64_t connected_at = unix_now();
  auto next_heartbeat =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.heartbeat_ms);
  GrantedKeys granted;  // on this connection
  for (;;) {
    AgentWork work;
    {
      std::unique_lock lock(mutex_);
      work = next_agent_work(lock, c, participant, granted, next_heartbeat);
    }
    if (work.stop) return;
    if (work.grant) {
      Granted& sent = granted[work.grant->trade()];
      sent.keys = {work.grant->keys().begin(), work.grant->keys().end()};
      sent.retry_at.reset();
      if (!hand_over(c, participant, *work.grant))
        sent.retry_at =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.grant_retry_ms);
      continue;
    }
    if (work.end) {
      take_back(c, participant, *work.end);
      continue;
    }
    std::vector<Challenge>& round = work.round;
    if (round.empty()) {
      Frame ping;
      ping.mutable_heartbeat();
      c.send(ping);
      const Frame pong = c.receive();
      if (pong.body_case() != Frame::kHeartbeat)
        throw WireError("heartbeat answered with " + provider::frame_type(pong));
      next_heartbeat =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.heartbeat_ms);
      continue;
    }
    // An agent that comes (back) late finds the round missed: it may not
    // pick the moment of its own audit. Rounds queued behind others on a
    // connected agent are the exchange's delay, not the provider's.
    if (std::max(round.front().at, started_at_) + config_.round_grace_ms / 1000 < connected_at) {
      record_unanswered(participant, round, verify::Failure::missed,
                        "no agent connected within " + std::to_string(config_.round_grace_ms) +
                            " ms of the round's instant");
      continue;
    }
    Frame result;
    try {
      result = delivery_round(c, participant, round);
    } catch (const WireError& e) {
      bool stopping = false;
      {
        std::lock_guard lock(mutex_);
        stopping = stopping_;
        // The exchange closed it: the round is still due.
        if (stopping) {
          auto& queue = due_[participant];
          queue.insert(queue.begin(), round.begin(), round.end());
        }
      }
      // The agent left mid-round (or broke the protocol): the round fails.
      // Put back, a provider could abort every round going badly and try
      // again with fresh challenges.
      if (!stopping)
        record_unanswered(participant, round, verify::Failure::incomplete,
                          std::string("the agent's connection ended mid-round: ") + e.what());
      throw;
    }
    c.send(result);
  }
}

ProviderService::AgentWork ProviderService::next_agent_work(
    std::unique_lock<std::mutex>& lock, const Connection& c, ParticipantId participant,
    const GrantedKeys& granted, std::chrono::steady_clock::time_point heartbeat_at) {
  AgentWork work;
  for (;;) {
    if (stopping_ || c.superseded) {
      work.stop = true;
      return work;
    }
    const std::int64_t now = unix_now();
    // Access is opened first: it takes the agent a moment, and a round
    // queued behind is the exchange's delay. It is revoked after the rounds
    // due: those of the hour come before its end.
    std::optional<matching::TradeId> ended;
    std::int64_t next_end = std::numeric_limits<std::int64_t>::max();
    std::optional<std::chrono::steady_clock::time_point> next_retry;
    for (const auto& [trade, d] : deliveries_) {
      if (d.provider != participant || d.access.stage == matching::DeliveryStage::revoked) continue;
      const auto listing = listings_.find(d.instrument);
      if (listing == listings_.end() ||
          listing->second.state != matching::InstrumentState::delivering)
        continue;
      const matching::InstrumentSpec& spec = listing->second.spec;
      const auto sent = granted.find(trade);
      const bool handed = sent != granted.end() || d.access.stage != matching::DeliveryStage::none;
      static const std::vector<std::string> kNoKeys;
      const auto profile = delivery_keys_.find(d.buyer);
      const std::vector<std::string>& keys =
          profile == delivery_keys_.end() ? kNoKeys : profile->second;
      if (now >= spec.delivery_end) {
        if (handed && !ended) ended = trade;
      } else if (sent == granted.end() || sent->second.keys != keys ||
                 (sent->second.retry_at &&
                  std::chrono::steady_clock::now() >= *sent->second.retry_at)) {
        // Granted again when the buyer's keys change: one removed (lost,
        // or leaked) is refused from then on, not at the hour's end. And
        // again a while after the agent failed: a port taken, a slow disk,
        // need not cost the whole hour.
        pb::DeliveryGrant grant;
        grant.set_trade(trade);
        grant.set_symbol(spec.symbol);
        grant.set_units(d.units);
        grant.set_gpus(d.units * std::max<std::uint32_t>(1, spec.gpus_per_unit));
        for (const std::string& key : keys)
          grant.add_keys(key);
        grant.set_start(spec.delivery_start);
        grant.set_end(spec.delivery_end);
        work.grant = std::move(grant);
        return work;
      } else {
        next_end = std::min(next_end, spec.delivery_end);
        if (sent->second.retry_at)
          next_retry =
              std::min(next_retry.value_or(*sent->second.retry_at), *sent->second.retry_at);
      }
    }
    auto& queue = due_[participant];
    if (!queue.empty() && queue.front().at <= now) {
      // The whole instant, in one round: proved in two, the same devices
      // could answer both.
      const std::int64_t at = queue.front().at;
      const std::uint32_t number = queue.front().round;
      while (!queue.empty() && queue.front().at == at && queue.front().round == number) {
        work.round.push_back(queue.front());
        queue.pop_front();
      }
      return work;
    }
    if (ended) {
      work.end = ended;
      return work;
    }
    if (std::chrono::steady_clock::now() >= heartbeat_at) return work;
    auto wake = heartbeat_at;
    // At the second itself, not up to a second after it (`now` is whole
    // seconds): a round's access is checked before the hour's end.
    const auto in = [](std::int64_t at) {
      return std::chrono::steady_clock::now() +
             (std::chrono::system_clock::from_time_t(at) - std::chrono::system_clock::now());
    };
    if (!queue.empty()) wake = std::min(wake, in(queue.front().at));
    if (next_end != std::numeric_limits<std::int64_t>::max()) wake = std::min(wake, in(next_end));
    if (next_retry) wake = std::min(wake, *next_retry);
    changed_.wait_until(lock, wake);
  }
}

void ProviderService::record_delivery(ParticipantId participant, matching::TradeId trade,
                                      matching::DeliveryAccess access) {
  const matching::DeliveryStage stage = access.stage;
  const std::string detail = access.detail;
  const char* refused = rejection(
      pipeline_
          ->execute(matching::RecordDelivery{
              .trade = trade,
              .access = std::make_shared<const matching::DeliveryAccess>(std::move(access))})
          .get());
  std::fprintf(stderr, "gpuxd: delivery of trade %llu (provider %u) %s%s%s%s\n",
               static_cast<unsigned long long>(trade), participant, matching::to_string(stage),
               detail.empty() ? "" : ": ", detail.c_str(),
               refused ? (std::string("; refused: ") + refused).c_str() : "; journaled");
}

bool ProviderService::hand_over(Connection& c, ParticipantId participant,
                                const pb::DeliveryGrant& grant) {
  Frame request;
  *request.mutable_delivery_grant() = grant;
  c.send(request);
  const Frame answer = c.next_call();
  matching::DeliveryAccess access;
  if (answer.body_case() == Frame::kDeliveryOpened &&
      answer.delivery_opened().trade() == grant.trade()) {
    const pb::DeliveryOpened& opened = answer.delivery_opened();
    access = {.stage = matching::DeliveryStage::opened,
              .host = printable(opened.host(), matching::kMaxDeliveryHostBytes),
              .port = static_cast<std::uint16_t>(opened.port() <= 0xffff ? opened.port() : 0),
              .user = printable(opened.user(), matching::kMaxDeliveryUserBytes),
              .host_key_fingerprint =
                  printable(opened.host_key_fingerprint(), matching::kMaxDeliveryFingerprintBytes),
              .detail = "",
              .processes_ended = 0};
    // A report the engine would refuse is the agent's failure to open access.
    if (const char* problem = matching::delivery_access_problem(access))
      access = without_endpoint(matching::DeliveryStage::failed,
                                std::string("the agent's endpoint is invalid: ") + problem);
  } else if (answer.body_case() == Frame::kError) {
    access =
        without_endpoint(matching::DeliveryStage::failed,
                         printable(answer.error().reason(), matching::kMaxDeliveryDetailBytes));
  } else {
    throw WireError("a delivery grant answered with " + provider::frame_type(answer));
  }
  matching::DeliveryAccess current;
  {
    std::lock_guard lock(mutex_);
    if (const auto found = deliveries_.find(grant.trade()); found != deliveries_.end())
      current = found->second.access;
  }
  const bool opened = access.stage == matching::DeliveryStage::opened;
  // Granted again (a reconnect, the buyer's keys) at the same endpoint:
  // nothing new to journal, nor to tell the buyer.
  if (access == current) return opened;
  // Granted again and failed, however: access stays as it was, open and
  // checked as such.
  if (access.stage == matching::DeliveryStage::failed &&
      current.stage == matching::DeliveryStage::opened) {
    std::fprintf(stderr,
                 "gpuxd: delivery of trade %llu (provider %u) stays open; granting it again "
                 "failed: %s\n",
                 static_cast<unsigned long long>(grant.trade()), participant,
                 access.detail.c_str());
    return false;
  }
  record_delivery(participant, grant.trade(), std::move(access));
  return opened;
}

void ProviderService::take_back(Connection& c, ParticipantId participant, matching::TradeId trade) {
  Frame request;
  request.mutable_delivery_end()->set_trade(trade);
  c.send(request);
  const Frame answer = c.next_call();
  if (answer.body_case() == Frame::kError) {
    // Recorded all the same: the exchange no longer vouches for access, and
    // the agent's own supervisor ends it at the hour's end regardless.
    const std::string prefix = "the agent could not confirm: ";
    record_delivery(
        participant, trade,
        without_endpoint(matching::DeliveryStage::revoked,
                         prefix + printable(answer.error().reason(),
                                            matching::kMaxDeliveryDetailBytes - prefix.size())));
    return;
  }
  if (answer.body_case() != Frame::kDeliveryEnded || answer.delivery_ended().trade() != trade)
    throw WireError("a delivery end answered with " + provider::frame_type(answer));
  record_delivery(participant, trade,
                  without_endpoint(matching::DeliveryStage::revoked, "the hour ended",
                                   answer.delivery_ended().processes_ended()));
}

std::map<matching::TradeId, std::string> ProviderService::check_round_access(
    const std::vector<Challenge>& round) {
  std::map<matching::TradeId, std::string> problems;
  if (!config_.access_checks) return problems;
  for (const Challenge& challenge : round) {
    if (problems.contains(challenge.trade)) continue;
    matching::DeliveryAccess access;
    std::int64_t hour_end = 0;
    std::optional<std::string> last_check;
    {
      std::lock_guard lock(mutex_);
      const auto found = deliveries_.find(challenge.trade);
      if (found != deliveries_.end()) {
        access = found->second.access;
        if (const auto listing = listings_.find(found->second.instrument);
            listing != listings_.end())
          hour_end = listing->second.spec.delivery_end;
        last_check = found->second.last_check;
      }
    }
    const std::string refused =
        "no endpoint: the agent could not open access (" + access.detail + ")";
    // A round reached after its hour (queued behind others, or due while
    // the exchange was down) finds access rightly closed: the trade's last
    // check in the hour counts; with none, an agent that said it could not
    // open access fails, and otherwise the proof counts alone.
    if (unix_now() >= hour_end) {
      problems[challenge.trade] = last_check.value_or(
          access.stage == matching::DeliveryStage::failed ? refused : std::string());
      continue;
    }
    std::string& problem = problems[challenge.trade];
    if (access.stage == matching::DeliveryStage::opened) {
      const AccessCheck check =
          check_access(access.host, access.port, access.host_key_fingerprint,
                       std::chrono::milliseconds(config_.access_check_timeout_ms));
      problem = check.passed ? "" : check.detail;
    } else {
      problem = access.stage == matching::DeliveryStage::failed ? refused : "no endpoint reported";
    }
    // Every outcome in the hour is its last check, so that a round served
    // after the hour counts a delivery never opened as failed, not passed.
    std::lock_guard lock(mutex_);
    if (const auto found = deliveries_.find(challenge.trade); found != deliveries_.end())
      found->second.last_check = problem;
  }
  return problems;
}

void ProviderService::record_unanswered(ParticipantId participant,
                                        const std::vector<Challenge>& round,
                                        verify::Failure failure, const std::string& why) {
  for (const Challenge& challenge : round) {
    matching::RecordChallengeOutcome outcome;
    outcome.trade = challenge.trade;
    outcome.index = challenge.index;
    outcome.outcome = matching::ChallengeOutcome::failed;
    outcome.failure = static_cast<std::uint32_t>(failure);
    const char* refused = rejection(pipeline_->execute(outcome).get());
    std::fprintf(stderr, "gpuxd: challenge %u of trade %llu (provider %u) failed (%s: %s)%s%s\n",
                 challenge.index + 1, static_cast<unsigned long long>(challenge.trade), participant,
                 verify::to_string(failure), why.c_str(),
                 refused ? "; outcome refused: " : " and recorded", refused ? refused : "");
  }
}

// A delivery round: one challenge per GPU of every unit due at this instant,
// all at once; a unit is proven when all its GPUs are. Each unit's outcome
// becomes a command.
Frame ProviderService::delivery_round(Connection& c, ParticipantId participant,
                                      const std::vector<Challenge>& round) {
  // Every GPU of every unit at once, whatever its class: the same GPUs sold
  // as two classes in one hour would have to answer twice in one window.
  std::vector<ProofTarget> targets;
  std::vector<std::vector<verify::Verdict>> verdicts(round.size());
  for (std::size_t i = 0; i < round.size(); ++i) {
    const verify::ClassProfile* profile = profile_for(round[i].gpu_class, round[i].region);
    if (profile == nullptr) {
      verdicts[i].assign(round[i].gpus_per_unit,
                         {.failure = verify::Failure::malformed,
                          .detail = "no verification profile for class " + round[i].gpu_class});
      continue;
    }
    // Beyond what one round proves (the provider registered no more), the
    // units fail rather than be proved by the same devices afterwards.
    if (targets.size() + round[i].gpus_per_unit > kMaxGpusPerRound) {
      verdicts[i].assign(
          round[i].gpus_per_unit,
          {.failure = verify::Failure::incomplete,
           .detail = "more than " + std::to_string(kMaxGpusPerRound) + " GPUs in one round"});
      continue;
    }
    for (std::uint32_t gpu = 0; gpu < round[i].gpus_per_unit; ++gpu)
      targets.push_back({.profile = profile, .trade = round[i].trade, .index = round[i].index});
  }
  // Access is checked at the round's instant, before the proofs (which are
  // timed from their own issue): near the hour's end, after them could be
  // after the agent rightly closed access.
  const std::map<matching::TradeId, std::string> unreachable = check_round_access(round);
  const std::vector<verify::Verdict> found =
      prove_at_once(c, challenge_ms_ * 1'000'000, targets, secret_);
  std::size_t next = 0;
  for (std::size_t i = 0; i < round.size(); ++i)
    if (verdicts[i].empty())
      for (std::uint32_t gpu = 0; gpu < round[i].gpus_per_unit; ++gpu)
        verdicts[i].push_back(found[next++]);
  // A unit the buyer could not reach is not delivered, whatever its GPUs proved.
  for (std::size_t i = 0; i < round.size(); ++i)
    if (const auto found_problem = unreachable.find(round[i].trade);
        found_problem != unreachable.end() && !found_problem->second.empty())
      for (verify::Verdict& v : verdicts[i])
        if (v.passed())
          v = {.failure = verify::Failure::no_access, .detail = found_problem->second};

  Frame reply;
  auto* results = reply.mutable_round_result();
  for (std::size_t i = 0; i < round.size(); ++i) {
    const Challenge& challenge = round[i];
    const auto failed = std::find_if(verdicts[i].begin(), verdicts[i].end(),
                                     [](const verify::Verdict& v) { return !v.passed(); });
    matching::RecordChallengeOutcome outcome;
    outcome.trade = challenge.trade;
    outcome.index = challenge.index;
    outcome.outcome = failed == verdicts[i].end() ? matching::ChallengeOutcome::passed
                                                  : matching::ChallengeOutcome::failed;
    outcome.failure = failed == verdicts[i].end() ? 0 : static_cast<std::uint32_t>(failed->failure);
    const char* refused = rejection(pipeline_->execute(outcome).get());
    const std::string detail = failed == verdicts[i].end() ? "" : failure_text(*failed);
    const bool passed = outcome.outcome == matching::ChallengeOutcome::passed;
    std::fprintf(
        stderr, "gpuxd: challenge %u of trade %llu (provider %u) %s%s%s%s\n", challenge.index + 1,
        static_cast<unsigned long long>(challenge.trade), participant,
        passed ? "passed" : "failed (", detail.c_str(), passed ? "" : ")",
        refused ? (std::string("; outcome refused: ") + refused).c_str() : " and recorded");
    for (std::uint32_t gpu = 0; gpu < verdicts[i].size(); ++gpu) {
      const verify::Verdict& v = verdicts[i][gpu];
      pb::ChallengeResult* r = results->add_challenges();
      r->set_trade(challenge.trade);
      r->set_index(challenge.index);
      r->set_gpu(gpu);
      r->set_passed(v.passed() && refused == nullptr);
      r->set_failure(static_cast<std::uint32_t>(v.failure));
      r->set_detail(refused ? std::string("outcome refused: ") + refused : failure_text(v));
    }
  }
  return reply;
}

void ProviderService::capacity_loop() {
  for (;;) {
    std::vector<matching::InstrumentId> listed;
    std::vector<ParticipantId> providers;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !new_listings_.empty(); });
      if (stopping_) return;
      listed.assign(new_listings_.begin(), new_listings_.end());
      new_listings_.clear();
      for (const auto& [participant, p] : providers_)
        if (!p.gpus.empty()) providers.push_back(participant);
    }
    for (const ParticipantId p : providers)
      apply_capacity(p, listed);
  }
}

}  // namespace gpux::provider

// The provider API in gpuxd: a Boost.Asio TCP service where the operator
// registers providers (each gets a participant, cash, collateral and a
// token), providers qualify their GPUs with a proof and register qualified
// capacity, and provider agents answer delivery challenges. One thread per
// connection (at most max_connections), blocking frames with deadlines
// (provider_wire.h), over TLS when a certificate is configured; the verifier
// runs here, the prover at the provider.
//
// What changes the market or who may reach it goes through the pipeline as
// commands (participant, cash, collateral, sell capacity, challenge outcomes,
// provider records with token hashes and proven GPUs, FIX seats), so it is
// journaled and replays: the journal alone says who could do what.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <thread>

#include "gpux/admission/admission.h"
#include "gpux/fix/config.h"
#include "gpux/matching/events.h"
#include "gpux/provider/config.h"
#include "gpux/provider/wire.h"
#include "gpux/sequencer/pipeline.h"
#include "gpux/verify/verifier.h"

namespace gpux::provider {

class ProviderService {
 public:
  // Listens on config.port (throws when it cannot). `recovered` is the
  // engine's state at start (its providers and seats, its instruments, and
  // the challenges still to answer under `terms`, the market's terms then).
  ProviderService(ProviderApiConfig config, const fix::FixConfig& fix, std::int64_t challenge_ms,
                  const matching::EngineSnapshot& recovered, const matching::SetMarketTerms& terms);
  ~ProviderService();
  ProviderService(const ProviderService&) = delete;
  ProviderService& operator=(const ProviderService&) = delete;

  // Starts accepting; commands go to `pipeline`.
  void start(sequencer::Pipeline& pipeline);
  // From the pipeline's observer (publisher thread): listings, state changes
  // and challenges of registered providers.
  void observe(const matching::Command& command, std::span<const matching::Event> events);
  // Closes every connection and joins the threads; queued challenges are
  // left to time out.
  void stop();

  // A registry file from before providers were journaled
  // (DATA/providers.registry), into a journal without providers: renamed
  // providers.registry.importing, each provider's seat password hash and
  // record journaled, then renamed providers.registry.imported. An import
  // cut short resumes from the .importing file, skipping what the journal
  // has. A provider whose participant is missing, whose name is taken or
  // whose seat is another's is left out, and said. Before start(), after
  // the seats are seeded. Returns how many it imported; throws when the
  // file cannot be read or the journal refuses.
  std::size_t import_registry(sequencer::Pipeline& pipeline, const std::filesystem::path& file);

  int port() const { return port_; }
  // Provider agents connected now (for /metrics); from any thread.
  std::size_t agents_connected() const { return agents_connected_.load(); }

 private:
  // Whether `address` presented too many unknown tokens this minute.
  bool unknown_tokens_exceeded(const std::string& address);
  void count_unknown_token(const std::string& address);
  struct Connection;
  // Out of file descriptors: refuses one pending connection, or waits.
  void refuse_out_of_descriptors();
  // Tells a refused peer why (an Error frame), briefly: one thread accepts for all.
  void refuse(Connection& connection, const std::string& reason);
  // One unit's challenge in one round (see settlement::challenge_slot).
  struct Challenge {
    std::int64_t at = 0;  // Unix seconds
    std::uint32_t round = 0;
    matching::TradeId trade = 0;
    std::uint32_t index = 0;
    std::string gpu_class;
    std::string region;
    std::uint32_t gpus_per_unit = 1;  // each proven by its own challenge
  };
  // An obligation a registered provider delivers (issue 25), from gate
  // closure to settlement: the access its agent is granted at the hour's
  // start and revokes at its end.
  struct Delivery {
    matching::InstrumentId instrument = 0;
    matching::ParticipantId buyer = 0;
    matching::ParticipantId provider = 0;
    std::uint32_t units = 0;
    matching::DeliveryAccess access;  // as last recorded
    // The last access check in the hour: empty when it passed, else why not.
    std::optional<std::string> last_check;
  };
  // What an agent's connection does next.
  struct AgentWork {
    std::vector<Challenge> round;  // a round due (every challenge of one instant)
    std::optional<proto::provider::DeliveryGrant> grant;
    std::optional<matching::TradeId> end;  // access to revoke
    bool stop = false;                     // the service stops
  };
  struct Listing {
    matching::InstrumentSpec spec;
    matching::InstrumentState state = matching::InstrumentState::listed;
    bool halted = false;
  };

  void accept_loop();
  void serve(Connection& connection);
  void serve_operator(Connection& connection);
  void serve_provider(Connection& connection, matching::ParticipantId participant);
  void serve_agent(Connection& connection, matching::ParticipantId participant);
  // What each trade was last granted on an agent's connection: the keys,
  // and when the agent failed to open access, when to grant it again.
  struct Granted {
    std::vector<std::string> keys;
    std::optional<std::chrono::steady_clock::time_point> retry_at;  // none: opened
  };
  using GrantedKeys = std::map<matching::TradeId, Granted>;
  // Waits (mutex_ held through `lock`) for the agent's next work, or until
  // `heartbeat_at` when there is none (an empty AgentWork); `stop` when the
  // service stops or another connection of the agent took over. Grants go
  // to obligations of `participant` delivering now and not yet `granted` on
  // this connection with the buyer's keys as they are, or whose grant
  // failed grant_retry_ms ago; an end, to those granted whose hour is
  // over.
  AgentWork next_agent_work(std::unique_lock<std::mutex>& lock, const Connection& connection,
                            matching::ParticipantId participant, const GrantedKeys& granted,
                            std::chrono::steady_clock::time_point heartbeat_at);
  // Sends one grant or end to the agent and records (RecordDelivery) what
  // it answers: opened, failed with its reason, or revoked. hand_over()
  // returns whether the agent opened access.
  bool hand_over(Connection& connection, matching::ParticipantId participant,
                 const proto::provider::DeliveryGrant& grant);
  void take_back(Connection& connection, matching::ParticipantId participant,
                 matching::TradeId trade);
  void record_delivery(matching::ParticipantId participant, matching::TradeId trade,
                       matching::DeliveryAccess access);
  // The exchange's own access check of each trade of a round (ssh_access.h):
  // an empty string where the endpoint answered as the reported host key,
  // else why not. Only with config_.access_checks.
  std::map<matching::TradeId, std::string> check_round_access(const std::vector<Challenge>& round);
  void capacity_loop();

  provider::Frame register_provider(const proto::provider::RegisterProvider& request);
  // The registered providers, without tokens or password hashes.
  provider::Frame list_providers();
  // The FIX seats, with their password state.
  provider::Frame list_seats();
  // The products' terms, changed first when the request names a product and
  // a field (journaled as SetProductTerms).
  provider::Frame product_terms(const proto::provider::ProductTermsRequest& request);
  // Creates or changes a seat (journaled as SetSeat).
  provider::Frame change_seat(const proto::provider::ChangeSeat& request);
  // The name of the provider whose seat `sender` is (empty: none); mutex_ held.
  std::string provider_of_seat(const std::string& sender) const;
  // The instruments listed, by id, with their state; only `only` when given.
  provider::Frame list_instruments(std::optional<matching::InstrumentId> only = std::nullopt);
  // Halts or resumes trading in one instrument.
  provider::Frame halt(const proto::provider::HaltRequest& request);
  // The terms in effect, changed first where the request sets a field.
  provider::Frame market_terms(const proto::provider::MarketTermsRequest& request);
  provider::Frame qualify(Connection& connection, matching::ParticipantId participant,
                          const proto::provider::Qualify& request,
                          std::map<std::string, std::uint32_t>& qualified);
  provider::Frame register_gpus(matching::ParticipantId participant,
                                const proto::provider::RegisterGpus& request,
                                const std::map<std::string, std::uint32_t>& qualified);
  provider::Frame deregister(matching::ParticipantId participant);
  // One of the challenges proved at once: the profile it is proved with,
  // and what it is for (trade 0: qualification).
  struct ProofTarget {
    const verify::ClassProfile* profile = nullptr;
    matching::TradeId trade = 0;
    std::uint32_t index = 0;
  };
  // One challenge per target, all issued at one instant over the
  // connection (concurrent_proofs.h), whatever their classes: the provider's
  // devices answer, the verifiers here judge and time the answers.
  std::vector<verify::Verdict> prove_at_once(Connection& connection, std::int64_t work_ns,
                                             std::span<const ProofTarget> targets,
                                             std::uint64_t secret);
  // Records every unit of a round no agent answered as failed, with `why`.
  void record_unanswered(matching::ParticipantId participant, const std::vector<Challenge>& round,
                         verify::Failure failure, const std::string& why);
  // Proves one delivery round of `participant`'s agent, records each unit's
  // outcome, and returns the RoundResult to send.
  provider::Frame delivery_round(Connection& connection, matching::ParticipantId participant,
                                 const std::vector<Challenge>& round);
  // Sets `participant`'s sell capacity on every open or listed product of
  // its registered classes and regions; returns how many it set.
  std::uint32_t apply_capacity(matching::ParticipantId participant,
                               const std::vector<matching::InstrumentId>& instruments);
  std::optional<matching::ParticipantId> authenticate(const std::string& token);
  // With mutex_ held: the provider's record (null if none), and its
  // challenge queued in time order (false for providers not registered).
  const matching::ProviderRecord* registered(matching::ParticipantId participant) const;
  bool queue_challenge(const matching::ChallengeScheduled& challenge);
  // The profile a class is proved with; nullptr if there is none.
  // (takes mutex_)
  const verify::ClassProfile* profile_for(const std::string& gpu_class, const std::string& region);

  ProviderApiConfig config_;
  const fix::FixConfig& fix_;
  std::int64_t challenge_ms_;
  sequencer::Pipeline* pipeline_ = nullptr;
  std::uint64_t secret_;
  std::int64_t started_at_ = 0;  // Unix seconds: rounds due before it were due while it was down

  std::unique_ptr<provider::TlsServer> tls_;  // null: plain TCP
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  admission::SpareDescriptor spare_;  // the accepting thread's
  admission::RefusalLog refusals_;    // the accepting thread's
  int port_ = 0;
  std::thread accept_thread_;
  std::thread capacity_thread_;

  // Held through one operator or provider change (a registration, a seat, a
  // record, the terms), so that each starts from what the last one left.
  std::mutex registration_mutex_;
  // Why the exchange has no products for `gpu_class` (empty: any) in
  // `region`, with the ones it has; empty when it has.
  std::string unlisted(const std::string& gpu_class, const std::string& region);
  std::mutex mutex_;                // everything below
  matching::SetMarketTerms terms_;  // in effect, followed from MarketTermsSet
  std::condition_variable changed_;
  bool stopping_ = false;
  // Unknown tokens per source address, counted for a minute from the first.
  struct UnknownTokens {
    int count = 0;
    std::chrono::steady_clock::time_point since;
  };
  std::map<std::string, UnknownTokens> unknown_tokens_;
  // As the journal has them (the recovered state, then every SetProvider,
  // SetSeat and AddParticipant observed).
  std::map<matching::ParticipantId, matching::ProviderRecord> providers_;
  std::map<std::string, matching::Seat> seats_;  // by SenderCompID
  std::map<std::pair<std::string, std::string>, matching::ProductTerms> product_terms_;
  std::vector<matching::ProductTerms> pending_product_terms_;  // by effective_from
  std::set<matching::ParticipantId> participants_;             // every one the engine has
  std::map<matching::InstrumentId, Listing> listings_;
  std::map<matching::ParticipantId, std::deque<Challenge>> due_;  // by provider, in time order
  std::map<matching::TradeId, Delivery> deliveries_;
  // The buyers' delivery keys, as the journal has them (DeliveryKeyChanged).
  std::map<matching::ParticipantId, std::vector<std::string>> delivery_keys_;
  std::map<matching::ParticipantId, Connection*> agents_;
  std::atomic<std::size_t> agents_connected_{0};     // agents_.size(), read without mutex_
  std::deque<matching::InstrumentId> new_listings_;  // capacity to set
  std::list<std::unique_ptr<Connection>> connections_;
  admission::ConnectionCount admitted_;  // connections_ not finished, by address
};

}  // namespace gpux::provider

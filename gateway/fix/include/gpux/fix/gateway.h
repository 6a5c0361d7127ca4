// The exchange side of the FIX gateway: turns the acceptor's requests into
// engine commands (with a FixOrigin journaled beside each), and every durable
// event into ExecutionReports for the session that owns the order and market
// data for subscribers. Its state is a function of the journal: a checkpoint
// in FixStateStore plus the commands after it, which the pipeline replays
// through observe() at start; reports the sessions were already sent are not
// sent again.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "gpux/fix/config.h"
#include "gpux/fix/state_store.h"
#include "gpux/sequencer/pipeline.h"
#include "order_entry.h"

namespace gpux::proto {
class GatewayOrder;
}

namespace gpux::fix {

class FixOrderEntry final : public fix::OrderEntry {
 public:
  // `clients`: by SenderCompID, as configured.
  FixOrderEntry(const FixConfig& config, FixStateStore& store);
  // Stops the sender, dropping what it has not sent (call stop_sending()
  // first to send it): the sink may be gone by then.
  ~FixOrderEntry() override;
  FixOrderEntry(const FixOrderEntry&) = delete;
  FixOrderEntry& operator=(const FixOrderEntry&) = delete;

  // From now on, `session`'s Logon must carry the password of `hash`
  // (crypto_pwhash_str); for seats whose password is issued at onboarding.
  void set_password_hash(const std::string& session, const std::string& hash);

  // Sends everything queued so far, then stops sending (at a clean stop,
  // before the acceptor goes).
  void stop_sending();

  // Each session's last MsgSeqNum the journal holds, by generation: after
  // recovery, what its session must not ask the client for again.
  struct JournaledInput {
    std::int64_t generation = 0;
    int msg_seq_num = 0;
  };
  std::map<std::string, JournaledInput> journaled_inputs() const;

  // The sequence its checkpoint was taken at (0: none): the pipeline's
  // observe_after, so that everything since is observed again.
  matching::SequenceNumber checkpoint_sequence() const { return checkpoint_sequence_; }

  // After recovery: the instruments as recovered, and live from here on
  // (reports are no longer checked against what was sent before).
  void start(sequencer::Pipeline& pipeline, const matching::EngineSnapshot& recovered);
  // Writes a checkpoint of everything observed so far (at a clean stop).
  void checkpoint();

  std::string authenticate(const std::string& session, const std::string& password) override;
  void vet_password(const std::string& session, const std::string& password) override;
  void submit(const fix::OrderRequest& request) override;
  void set_sink(fix::ReportSink& sink) override;
  void list_instruments(const std::string& session, const std::string& request_id) override;
  void request_market_data(const fix::MarketDataRequest& request) override;
  void disconnected(const std::string& session) override;

  // Every durable command (PipelineOptions::observer), and during recovery
  // every replayed command after the checkpoint.
  void observe(const matching::Command& command, std::span<const matching::Event> events,
               std::string_view origin);

 private:
  // Any resting or incoming order, FIX or not: what market data is made of.
  struct Live {
    matching::InstrumentId instrument = 0;
    matching::Side side = matching::Side::buy;
    matching::Price price = 0;
    matching::Quantity remaining = 0;
  };
  // A FIX order, as its session knows it.
  struct Working {
    std::string session;
    std::string cl_ord_id;
    std::string symbol;
    char side = '1';
    std::int64_t order_qty = 0;
    std::int64_t price = 0;
    std::int64_t cum_qty = 0;
    std::int64_t cum_notional = 0;
  };
  // A FIX order that ended (see ended_).
  struct Ended {
    Working order;
    matching::OrderId id = 0;
    char ord_status = '2';  // 2 filled, 4 canceled, C expired, 5 replaced (an old ClOrdID)
  };
  // A FIX order in a stored record, both ways.
  static void set_working(proto::GatewayOrder& record, const Working& order);
  static Working working_of(const proto::GatewayOrder& record);
  static std::string record_of(const Ended& ended);
  static Ended ended_of(const proto::GatewayOrder& record);
  struct Instrument {
    matching::InstrumentSpec spec;
    matching::InstrumentState state = matching::InstrumentState::listed;
  };
  // Aggregated resting quantity by price, per side.
  struct Depth {
    std::map<matching::Price, matching::Quantity, std::greater<>> bids;
    std::map<matching::Price, matching::Quantity> offers;
  };
  using LevelKey = std::tuple<matching::InstrumentId, matching::Side, matching::Price>;

  void reject(const fix::OrderRequest& request, int reason, const std::string& text) override;
  // reject() with the lock held.
  void refuse(const fix::OrderRequest& request, int reason, const std::string& text);
  // The engine's reason, as the engine itself would refuse the order.
  void refuse(const fix::OrderRequest& request, matching::RejectReason reason);
  void submit_with_origin(matching::CommandBody body, const fix::OrderRequest& request,
                          std::int64_t order_qty);
  // Sends unless recovery finds the session already had it.
  void deliver(const fix::Report& report);
  // `ord_status` 0: derived from the report; an ended order's status given.
  void report(const Working& order, matching::OrderId id, const std::string& exec_id,
              char exec_type, std::int64_t leaves, std::int64_t last_qty = 0,
              std::int64_t last_px = 0, const std::string& orig_cl_ord_id = {},
              char ord_status = 0);
  void report_on_fix_order(const matching::Event& event, const std::string& exec,
                           const fix::OrderRequest* origin);
  // Market data: moves `quantity` at a level, remembering its value before
  // this command for the incremental refresh.
  void adjust_level(matching::InstrumentId instrument, matching::Side side, matching::Price price,
                    matching::Quantity delta);
  void track_live(const matching::Event& event);
  void publish_changes(std::span<const matching::Event> events);
  matching::Quantity level(const LevelKey& key) const;
  std::vector<fix::BookEntry> snapshot_entries(matching::InstrumentId instrument, int depth) const;
  std::string encode_checkpoint() const;
  void load_checkpoint(const std::string& bytes);

  // Everything for the sessions leaves through one sender thread, in the
  // order it was queued, and never from under mutex_: a QuickFIX thread
  // holding its session's lock may be waiting for mutex_ (a logout calls
  // disconnected()), so sending to that session under mutex_ deadlocks.
  // A checkpoint travels the same queue: written once every report before it
  // is in the sessions' stores, so a restart from it loses none.
  struct CheckpointBytes {
    std::string bytes;
  };
  struct ForgetEnded {
    std::string symbol;
  };
  using Outgoing = std::variant<fix::Report, fix::SecurityListReport, fix::MarketDataReport,
                                CheckpointBytes, Ended, ForgetEnded>;
  void send(Outgoing message);
  void run_sender();
  void stop_sender(bool drain);

  mutable std::mutex mutex_;
  FixConfig config_;
  FixStateStore& store_;
  fix::ReportSink* sink_ = nullptr;
  sequencer::Pipeline* pipeline_ = nullptr;
  bool recovering_ = true;
  matching::SequenceNumber checkpoint_sequence_ = 0;
  matching::SequenceNumber observed_ = 0;
  // Failed logons per session in the current minute: after five, refused
  // without checking, so passwords cannot be guessed at speed.
  std::map<std::string, std::pair<int, long>> failures_;
  // SHA-256 of the password each session last logged on with, and of the
  // last wrong one vetted (see authenticate and vet_password).
  using Digest = std::array<unsigned char, 32>;
  std::map<std::string, Digest> verified_;
  std::map<std::string, Digest> refused_;
  // What is known of a password without hashing it (mutex_ held); `hash` is
  // set to the session's stored hash.
  enum class Verdict { unknown_client, rate_limited, accepted, refused, unchecked };
  Verdict known_verdict(const std::string& session, const Digest& digest, std::string& hash) const;
  void count_failure(const std::string& session);  // mutex_ held
  std::map<matching::InstrumentId, Instrument> instruments_;
  std::map<std::string, matching::InstrumentId> symbols_;
  std::unordered_map<matching::OrderId, Live> live_;
  std::map<matching::InstrumentId, Depth> depth_;
  std::map<LevelKey, matching::Quantity> touched_;  // level -> quantity before this command
  std::unordered_map<matching::OrderId, Working> working_;
  std::map<std::pair<std::string, std::string>, matching::OrderId> by_cl_ord_id_;
  // Orders that ended (filled, canceled, expired) and ClOrdIDs a replace
  // took over, by (session, ClOrdID), until their instrument's gate closes:
  // a status request finds them, and a new order cannot take their ClOrdID,
  // so a client that resends after a lost answer does not trade twice. Kept
  // in the FIX state store one record at a time (never in the checkpoint,
  // whose cost must stay that of the live orders: docs/perf-notes.md).
  using OrderKey = std::pair<std::string, std::string>;  // session, ClOrdID
  std::map<OrderKey, Ended> ended_;
  std::map<std::string, std::vector<OrderKey>> ended_by_symbol_;  // what a gate closure forgets
  void remember_ended(const Working& order, matching::OrderId id, char ord_status);
  void forget_ended(const std::string& symbol);   // its gate closed
  std::map<std::string, JournaledInput> inputs_;  // by session
  // Subscribers by instrument: (session, MDReqID).
  std::map<matching::InstrumentId, std::vector<std::pair<std::string, std::string>>> subscribers_;

  std::mutex outbox_mutex_;  // the outbox only; never held while sending
  std::condition_variable outbox_changed_;
  std::deque<Outgoing> outbox_;
  bool sender_stopping_ = false;
  bool drain_before_stop_ = false;
  std::thread sender_;
};

}  // namespace gpux::fix

// The exchange side of the FIX gateway: turns the acceptor's requests into
// engine commands (with a FixOrigin journaled beside each), and every durable
// event into ExecutionReports for the session that owns the order and market
// data for subscribers. Its state is a function of the journal: a checkpoint
// in FixStateStore plus the commands after it, which the pipeline replays
// through observe() at start; reports the sessions were already sent are not
// sent again.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "gpux/fix/config.h"
#include "gpux/fix/state_store.h"
#include "gpux/sequencer/pipeline.h"
#include "gpux/settlement/ledger.h"
#include "order_entry.h"

namespace gpux::fix {

// Its private parts (gateway/fix/src/), held by pointer so that this
// public header needs none of their headers.
class SeatGuard;
class MarketData;
class OrderIndex;
class Deliveries;
struct Working;
struct Ended;
template <class Message>
class Outbox;

class FixOrderEntry final : public fix::OrderEntry {
 public:
  // Its seats are the journal's: recovered() and every SetSeat observed.
  FixOrderEntry(const FixConfig& config, FixStateStore& store);
  // Stops the sender, dropping what it has not sent (call stop_sending()
  // first to send it): the sink may be gone by then.
  ~FixOrderEntry() override;
  FixOrderEntry(const FixOrderEntry&) = delete;
  FixOrderEntry& operator=(const FixOrderEntry&) = delete;

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

  // Orders, cancels and replaces refused so far, by OrdRejReason (103) or,
  // for cancels and replaces, CxlRejReason (102) code: index 100 counts
  // every code above 99 (for /metrics; from any thread, no lock).
  static constexpr std::size_t kRejectCodes = 101;
  std::array<std::uint64_t, kRejectCodes> rejects_by_code() const;

  // The sequence its checkpoint was taken at (0: none): the pipeline's
  // observe_after, so that everything since is observed again.
  matching::SequenceNumber checkpoint_sequence() const { return checkpoint_sequence_; }

  // The engine's state once the journal is replayed, before any new command
  // (right after the pipeline is made): participants' cash and the seats
  // start from it, and every LedgerPosting and SetSeat observed from here on
  // changes them.
  void recovered(const matching::EngineSnapshot& state);

  // Asked before each new order, replace and block: a reason to refuse it
  // now (a cluster leader that cannot replicate), or nullopt. Cancels and
  // status requests are taken: they wait, and are answered once the
  // exchange can journal again. Set before start().
  void refuse_new_risk_when(std::function<std::optional<std::string>()> reason);

  // After recovery: the instruments as recovered, and live from here on
  // (reports are no longer checked against what was sent before).
  void start(sequencer::Pipeline& pipeline, const matching::EngineSnapshot& recovered);
  // Writes a checkpoint of everything observed so far (at a clean stop).
  void checkpoint();

  std::string authenticate(const std::string& session, const std::string& password,
                           const std::string& peer) override;
  void vet_password(const std::string& session, const std::string& password,
                    const std::string& peer) override;
  void submit(const fix::OrderRequest& request) override;
  void set_sink(fix::ReportSink& sink) override;
  void list_instruments(const std::string& session, const std::string& request_id) override;
  void request_market_data(const fix::MarketDataRequest& request) override;
  void report_balance(const std::string& session, const std::string& request_id) override;
  void delivery_keys(const std::string& session, const std::string& request_id, char action,
                     const std::string& key) override;
  void report_fills(const std::string& session, const std::string& request_id,
                    const std::string& trade_date) override;
  void report_deliveries(const std::string& session, const std::string& request_id) override;
  void disconnected(const std::string& session) override;
  bool has_seat(const std::string& session) override;

  // Every durable command (PipelineOptions::observer), and during recovery
  // every replayed command after the checkpoint.
  void observe(const matching::Command& command, std::span<const matching::Event> events,
               std::string_view origin);

 private:
  struct Instrument {
    matching::InstrumentSpec spec;
    matching::InstrumentState state = matching::InstrumentState::listed;
    bool halted = false;  // by the operator (HaltInstrument)
  };

  void reject(const fix::OrderRequest& request, int reason, const std::string& text) override;
  std::optional<matching::ParticipantId> participant_of(const std::string& session) const;
  std::string symbol_of(matching::InstrumentId instrument) const;  // with the lock held
  // reject() with the lock held. `exec`: the journaled command's exec_id
  // for a rejection the engine made (empty: refused before the journal).
  void refuse(const fix::OrderRequest& request, int reason, const std::string& text,
              const std::string& exec = {});
  // The engine's reason, as the engine itself would refuse the order.
  void refuse(const fix::OrderRequest& request, matching::RejectReason reason,
              const std::string& exec = {});
  void submit_with_origin(matching::CommandBody body, const fix::OrderRequest& request,
                          std::int64_t order_qty);
  // Sends unless recovery finds the session already had it.
  void deliver(const fix::Report& report);
  // `ord_status` 0: derived from the report; an ended order's status given.
  void report(const Working& order, matching::OrderId id, const std::string& exec_id,
              char exec_type, std::int64_t leaves, std::int64_t last_qty = 0,
              std::int64_t last_px = 0, const std::string& orig_cl_ord_id = {},
              char ord_status = 0);
  // The ExecutionReport report() delivers.
  fix::Report execution_report(const Working& order, matching::OrderId id,
                               const std::string& exec_id, char exec_type, std::int64_t leaves,
                               std::int64_t last_qty = 0, std::int64_t last_px = 0,
                               const std::string& orig_cl_ord_id = {}, char ord_status = 0) const;
  void report_on_fix_order(const matching::Event& event, const std::string& exec,
                           const fix::OrderRequest* origin);
  // The order ended: orders_ lets it go, and the store keeps it (see send).
  void finish(matching::OrderId id, char ord_status);
  // The instruments of up to `hours` consecutive hours from `first` (that
  // one first), as far as they are listed.
  std::vector<matching::InstrumentId> hours_from(matching::InstrumentId first, int hours) const;
  // A block the command placed works as a FIX order from its first event
  // (BlockOrderFilled or BlockOrderRested): ExecutionReport new.
  void open_block(matching::OrderId block, matching::ParticipantId owner, matching::Quantity total,
                  matching::Price limit, const std::string& exec, const fix::OrderRequest* origin);
  void forget_ended(const std::string& symbol);  // its gate closed
  // Incremental refreshes of what the command's events changed.
  void publish_changes(std::span<const matching::Event> events);
  std::string encode_checkpoint() const;
  void load_checkpoint(const std::string& bytes);

  // Everything for the sessions leaves through one sender thread (outbox_),
  // in the order it was queued, and never from under mutex_: a QuickFIX
  // thread holding its session's lock may be waiting for mutex_ (a logout
  // calls disconnected()), so sending to that session under mutex_
  // deadlocks. A checkpoint travels the same queue: written once every
  // report before it is in the sessions' stores, so a restart from it loses
  // none. So do ended orders, in order with the checkpoints: every order
  // that ended before a checkpoint is stored when that checkpoint is; those
  // after it are found again by the replay from it.
  struct CheckpointBytes {
    std::string bytes;
  };
  struct ForgetEnded {
    std::string symbol;
  };
  struct SeatChanged {  // log_out: its session logged out with `reason`; else let in
    std::string session;
    bool log_out = false;
    std::string reason;
  };
  using Outgoing =
      std::variant<fix::Report, fix::SecurityListReport, fix::MarketDataReport, fix::BalanceReport,
                   fix::DeliveryKeyReport, fix::FillsReport, fix::DeliveryReport, CheckpointBytes,
                   Ended, ForgetEnded, SeatChanged>;
  void send(Outgoing message);
  void send_batch(std::deque<Outgoing>& batch);  // on the sender thread

  mutable std::mutex mutex_;
  FixConfig config_;  // its clients only seed a new exchange: seats_ has the journal's
  FixStateStore& store_;
  fix::ReportSink* sink_ = nullptr;
  sequencer::Pipeline* pipeline_ = nullptr;
  bool recovering_ = true;
  matching::SequenceNumber checkpoint_sequence_ = 0;
  matching::SequenceNumber observed_ = 0;
  // ExecIDs of rejections made before the journal: "R<random>-<n>", the
  // random part new each run so that no run repeats another's.
  std::string refusal_prefix_;
  std::function<std::optional<std::string>()> new_risk_refusal_;
  std::uint64_t refusals_ = 0;
  std::array<std::atomic<std::uint64_t>, kRejectCodes> rejects_{};
  std::unique_ptr<SeatGuard> seats_;  // its own lock: logons never wait for mutex_
  std::map<matching::InstrumentId, Instrument> instruments_;
  std::map<std::string, matching::InstrumentId> symbols_;
  // Participants' cash by ledger account: the recovered engine's, then every
  // LedgerPosting observed since (balances_known_ from recovered() on).
  settlement::Ledger balances_;
  bool balances_known_ = false;
  std::unique_ptr<MarketData> market_;
  // Delivery profiles (SSH public key lines) by participant: the recovered
  // engine's, then every DeliveryKeyChanged observed since.
  std::map<matching::ParticipantId, std::vector<std::string>> delivery_keys_;
  // Obligations awaiting settlement and their deliveries: the recovered
  // engine's, then every obligation and delivery event observed since.
  std::unique_ptr<Deliveries> deliveries_;
  // Ended orders are kept in the FIX state store one record at a time, never
  // in the checkpoint, whose cost must stay that of the live orders
  // (docs/perf-notes.md).
  std::unique_ptr<OrderIndex> orders_;
  std::map<std::string, JournaledInput> inputs_;  // by session
  // The owner of the block the command being observed placed, if it places
  // one: the block that a FIX NewOrderMultileg opens.
  std::optional<matching::ParticipantId> block_owner_;
  // Subscribers by instrument: (session, MDReqID).
  std::map<matching::InstrumentId, std::vector<std::pair<std::string, std::string>>> subscribers_;
  // Last: its thread, which reads the members above, stops before they go.
  std::unique_ptr<Outbox<Outgoing>> outbox_;
};

}  // namespace gpux::fix

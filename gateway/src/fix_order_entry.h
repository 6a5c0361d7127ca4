// The exchange side of the FIX gateway: turns the acceptor's requests into
// engine commands and every durable event that concerns a FIX order into
// ExecutionReports for the session that owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "fix/order_entry.h"
#include "gpux/gateway/config.h"
#include "gpux/gateway/pipeline.h"

namespace gpux::gateway {

class FixOrderEntry final : public fix::OrderEntry {
 public:
  // `clients`: by SenderCompID, as configured.
  explicit FixOrderEntry(std::map<std::string, FixClient> clients);

  // Must be set before submit() is first called.
  void attach(Pipeline& pipeline) { pipeline_ = &pipeline; }

  // Instruments that existed before this start (from recovery).
  void add_symbol(const std::string& symbol, matching::InstrumentId id);

  std::string authenticate(const std::string& session, const std::string& password) override;
  void submit(const fix::OrderRequest& request) override;
  void set_sink(std::function<void(const fix::Report&)> sink) override;

  // Every durable command (PipelineOptions::observer), including replay-free
  // listings: keeps symbols current and reports on FIX orders.
  void observe(const matching::Command& command, std::span<const matching::Event> events);

 private:
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
  // A cancel or replace on its way through the engine.
  struct PendingChange {
    std::string session;
    std::string cl_ord_id;
    std::string orig_cl_ord_id;
    bool replace = false;
    std::int64_t order_qty = 0;  // replace: the new total OrderQty
  };
  struct PendingMassCancel {
    std::string session;
    std::string cl_ord_id;
    char type = '7';
  };

  void reject(const fix::OrderRequest& request, int reason, const std::string& text) override;
  // reject() with the lock held.
  void refuse(const fix::OrderRequest& request, int reason, const std::string& text);
  // Forgets an order that can no longer change (a pending cancel for it is
  // answered by the engine's rejection).
  void finish(matching::OrderId id);
  // The oldest cancel or replace waiting for `id`, if any; the queue is
  // dropped once empty.
  std::optional<PendingChange> take_change(matching::OrderId id);
  void report(const Working& order, matching::OrderId id, const std::string& exec_id,
              char exec_type, std::int64_t leaves, std::int64_t last_qty = 0,
              std::int64_t last_px = 0, const std::string& orig_cl_ord_id = {});

  std::mutex mutex_;
  std::map<std::string, FixClient> clients_;
  // Failed logons per session in the current minute: after five, refused
  // without checking, so passwords cannot be guessed at speed.
  std::map<std::string, std::pair<int, long>> failures_;
  std::map<std::string, matching::InstrumentId> symbols_;
  std::uint64_t next_token_ = 1;
  std::unordered_map<std::uint64_t, fix::OrderRequest> pending_orders_;  // by client_order_id
  std::unordered_map<matching::OrderId, Working> working_;
  std::map<std::pair<std::string, std::string>, matching::OrderId> by_cl_ord_id_;
  std::unordered_map<matching::OrderId, std::deque<PendingChange>> pending_changes_;
  std::unordered_map<matching::ParticipantId, std::deque<PendingMassCancel>> pending_mass_;
  std::function<void(const fix::Report&)> sink_;
  Pipeline* pipeline_ = nullptr;
};

}  // namespace gpux::gateway

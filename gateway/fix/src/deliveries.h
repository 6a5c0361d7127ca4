// The obligations awaiting settlement as the FIX gateway shows them to their
// buyers and providers (DeliveryRequest U5 -> DeliveryReport U6): each with
// its units and how its provider's agent last reported the delivery. From
// the recovered engine's snapshot, then every ObligationCreated (gate
// closure: nothing reported yet), DeliveryRecorded and ObligationSettled
// observed after it. Not thread-safe: the order entry's lock guards it.
// Header-only: bookkeeping and the pure shaping of the answers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "gpux/matching/engine.h"
#include "gpux/matching/events.h"
#include "order_entry.h"

namespace gpux::fix {

class Deliveries {
 public:
  struct Obligation {
    matching::InstrumentId instrument = 0;
    matching::ParticipantId buyer = 0;
    matching::ParticipantId provider = 0;
    matching::Quantity quantity = 0;
    matching::DeliveryAccess access;  // stage none until the agent reports
  };
  using Entry = std::pair<matching::TradeId, const Obligation*>;

  // Every unsettled obligation in `state`. Until then nothing is tracked:
  // the events replayed ahead of recovery are in `state` already.
  void recovered(const matching::EngineSnapshot& state) {
    obligations_.clear();
    by_participant_.clear();
    for (const matching::InstrumentSnapshot& instrument : state.instruments) {
      if (instrument.state == matching::InstrumentState::settled) continue;
      for (const matching::ObligationView& o : instrument.obligations)
        add(o.trade, {.instrument = instrument.spec.id,
                      .buyer = o.buyer,
                      .provider = o.provider,
                      .quantity = o.quantity,
                      .access = o.delivery});
    }
    known_ = true;
  }

  // Follows `event`. For a DeliveryRecorded (once recovered), the
  // obligation as now reported, for the buyer's notice; otherwise null.
  const Obligation* track(const matching::Event& event) {
    if (!known_) return nullptr;
    if (const auto* created = std::get_if<matching::ObligationCreated>(&event)) {
      add(created->trade, {.instrument = created->instrument,
                           .buyer = created->buyer,
                           .provider = created->provider,
                           .quantity = created->quantity,
                           .access = {}});
    } else if (const auto* settled = std::get_if<matching::ObligationSettled>(&event)) {
      remove(settled->trade);
    } else if (const auto* recorded = std::get_if<matching::DeliveryRecorded>(&event)) {
      if (!recorded->access) return nullptr;
      // Known since its gate closed; else (it cannot be) from the event.
      Obligation& o = add(recorded->trade, {.instrument = recorded->instrument,
                                            .buyer = recorded->buyer,
                                            .provider = recorded->provider,
                                            .quantity = 0,
                                            .access = {}});
      o.access = *recorded->access;
      return &o;
    }
    return nullptr;
  }

  // `participant`'s obligations, bought or delivered, in trade order.
  std::vector<Entry> of(matching::ParticipantId participant) const {
    std::vector<Entry> entries;
    const auto found = by_participant_.find(participant);
    if (found == by_participant_.end()) return entries;
    for (const matching::TradeId trade : found->second)
      entries.emplace_back(trade, &obligations_.at(trade));
    return entries;
  }

 private:
  Obligation& add(matching::TradeId trade, const Obligation& obligation) {
    const auto [at, added] = obligations_.try_emplace(trade, obligation);
    by_participant_[obligation.buyer].insert(trade);
    by_participant_[obligation.provider].insert(trade);
    return at->second;
  }
  void remove(matching::TradeId trade) {
    const auto found = obligations_.find(trade);
    if (found == obligations_.end()) return;
    for (const matching::ParticipantId party : {found->second.buyer, found->second.provider}) {
      const auto mine = by_participant_.find(party);
      if (mine == by_participant_.end()) continue;
      mine->second.erase(trade);
      if (mine->second.empty()) by_participant_.erase(mine);
    }
    obligations_.erase(found);
  }

  bool known_ = false;
  std::map<matching::TradeId, Obligation> obligations_;
  // Each participant's trades, as buyer or provider: an answer costs its own.
  std::map<matching::ParticipantId, std::set<matching::TradeId>> by_participant_;
};

// The DeliveryReport entry of `trade` as `viewer`, its buyer or provider, sees it.
inline DeliveryInfo delivery_info(matching::TradeId trade, const Deliveries::Obligation& o,
                                  matching::ParticipantId viewer, std::string symbol) {
  using matching::DeliveryStage;
  const matching::DeliveryAccess& a = o.access;
  DeliveryInfo d;
  d.trade = static_cast<std::int64_t>(trade);
  d.symbol = std::move(symbol);
  d.side = viewer == o.buyer ? FIX::Side_BUY : FIX::Side_SELL;
  d.quantity = o.quantity;
  d.stage = a.stage == DeliveryStage::opened    ? kDeliveryStageOpened
            : a.stage == DeliveryStage::failed  ? kDeliveryStageFailed
            : a.stage == DeliveryStage::revoked ? kDeliveryStageRevoked
                                                : kDeliveryStagePending;
  d.host = a.host;
  d.port = a.port;
  d.user = a.user;
  d.host_key_fingerprint = a.host_key_fingerprint;
  d.detail = a.detail;
  d.processes_ended = a.processes_ended;
  return d;
}

// A notice's Text: what happened to the delivery, and for an opened one
// the command to reach it and the host key to expect.
inline std::string delivery_notice(const DeliveryInfo& d) {
  const std::string of = "delivery of trade " + std::to_string(d.trade);
  switch (d.stage) {
    case kDeliveryStageOpened:
      return of + " opened: ssh -p " + std::to_string(d.port) + " " + d.user + "@" + d.host +
             ", host key " + d.host_key_fingerprint;
    case kDeliveryStageFailed:
      return of + " failed: " + d.detail;
    case kDeliveryStageRevoked:
      return of + " revoked: " + std::to_string(d.processes_ended) + " processes ended" +
             (d.detail.empty() ? "" : " (" + d.detail + ")");
    default:
      return of + ": nothing reported yet";
  }
}

// At most what the acceptor writes for `d`: "tag=value<SOH>" for each of
// its 11 fields, tags of 5 digits, numbers of at most 20.
inline std::size_t encoded_bytes(const DeliveryInfo& d) {
  return 11 * (5 + 2) + 4 * 20 + 2 + d.symbol.size() + d.host.size() + d.user.size() +
         d.host_key_fingerprint.size() + d.detail.size();
}

// Room kept in each DeliveryReport for its header, the fields outside the
// group (a 64-byte DeliveryReqID, Text) and the trailer.
constexpr std::size_t kDeliveryReportOverhead = 512;

// The answer to a DeliveryRequest: `entries` (the first of `total`) in as
// many DeliveryReports as it takes to keep each within `max_message_bytes`,
// the limit the exchange puts on its clients' messages (at least one entry
// each, whatever its size). Text says which part each is and, when `total`
// is more, how many were left out.
inline std::vector<DeliveryReport> delivery_pages(const std::string& session,
                                                  const std::string& request_id,
                                                  std::vector<DeliveryInfo> entries,
                                                  std::size_t total,
                                                  std::size_t max_message_bytes) {
  const std::size_t room =
      std::max(max_message_bytes, 2 * kDeliveryReportOverhead) - kDeliveryReportOverhead;
  std::vector<std::size_t> starts{0};  // each report's first entry
  std::size_t used = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::size_t bytes = encoded_bytes(entries[i]);
    if (i > starts.back() && used + bytes > room) {
      starts.push_back(i);
      used = 0;
    }
    used += bytes;
  }
  std::vector<DeliveryReport> pages;
  for (std::size_t p = 0; p < starts.size(); ++p) {
    const std::size_t from = starts[p];
    const std::size_t to = p + 1 < starts.size() ? starts[p + 1] : entries.size();
    DeliveryReport page{.session = session,
                        .request_id = request_id,
                        .total_reports = static_cast<int>(starts.size()),
                        .last_report = p + 1 == starts.size(),
                        .text = {},
                        .deliveries = {std::make_move_iterator(entries.begin() + from),
                                       std::make_move_iterator(entries.begin() + to)}};
    if (total == 0) {
      page.text = "no deliveries: none of your trades awaits settlement";
    } else if (starts.size() > 1 || total > entries.size()) {
      page.text = "deliveries " + std::to_string(from + 1) + "-" + std::to_string(to) + " of " +
                  std::to_string(total);
      if (total > entries.size())
        page.text += " (at most " + std::to_string(entries.size()) +
                     " in one answer: ask again as these settle)";
    }
    pages.push_back(std::move(page));
  }
  return pages;
}

}  // namespace gpux::fix

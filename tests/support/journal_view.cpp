#include "journal_view.h"

#include <algorithm>

#include "fix_gateway.pb.h"
#include "gpux/fix/state_store.h"
#include "gpux/storage/journal.h"

namespace gpux::test {

std::vector<JournaledOrder> journaled_orders(const std::string& data_directory) {
  const auto journal = storage::Journal::open(data_directory);
  std::vector<JournaledOrder> orders;
  journal->replay(0, 0, [&](const matching::Command& command, std::string_view origin) {
    const auto* order = std::get_if<matching::NewOrder>(&command.body);
    if (order == nullptr) return;
    JournaledOrder o{order->participant, {}, {}, order->quantity, order->price};
    proto::FixOrigin fix;
    if (!origin.empty() && fix.ParseFromArray(origin.data(), static_cast<int>(origin.size()))) {
      o.session = fix.session();
      o.cl_ord_id = fix.cl_ord_id();
    }
    orders.push_back(o);
  });
  return orders;
}

std::vector<std::string> fill_exec_ids(const std::string& data_directory,
                                       std::uint32_t participant) {
  const auto journal = storage::Journal::open(data_directory);
  std::vector<std::string> ids;
  // Appended piecewise: GCC 12 at -O3 reports a false -Wrestrict for "T" + s + "-m".
  const auto exec_id = [](matching::TradeId trade, const char* role) {
    std::string id = "T";
    id += std::to_string(trade);
    id += role;
    return id;
  };
  for (const matching::Trade& t : journal->trades_of(participant, 1u << 30)) {
    if (t.maker == participant) ids.push_back(exec_id(t.trade, "-m"));
    if (t.taker == participant) ids.push_back(exec_id(t.trade, "-t"));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void rewind_incoming_number(const std::string& data_directory, const std::string& session,
                            int next_target) {
  fix::FixStateStore store(std::filesystem::path(data_directory) / "fix-state");
  fix::SessionState state = store.load(session);
  state.next_target = next_target;
  store.save(session, state);
  for (int sequence = 1; sequence < state.next_sender; ++sequence)
    for (const std::string& message : store.sent(session, sequence, sequence))
      store.store_sent(session, sequence, message, next_target);
}

}  // namespace gpux::test

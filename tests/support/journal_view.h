// What a stopped gpuxd's data directory holds, in plain types, for the C++14
// FIX tests (which cannot include the RocksDB side).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gpux::test {

struct JournaledOrder {
  std::uint32_t participant = 0;
  std::string session;    // the FIX origin's SenderCompID; empty if not from FIX
  std::string cl_ord_id;  // the FIX origin's ClOrdID
  std::int64_t quantity = 0;
  std::int64_t price = 0;
};

// Every NewOrder in the journal, in sequence order.
std::vector<JournaledOrder> journaled_orders(const std::string& data_directory);

// The ExecIDs of the fills a participant's FIX sessions must have been sent:
// "T<trade>-m" / "T<trade>-t" for each stored trade it was maker / taker of,
// sorted.
std::vector<std::string> fill_exec_ids(const std::string& data_directory,
                                       std::uint32_t participant);

// Sets a stopped gpuxd's stored next incoming MsgSeqNum of `session`, in its
// state and in every message it was sent, as a crash leaves it when that
// many of the client's messages were answered and the rest were journaled.
void rewind_incoming_number(const std::string& data_directory, const std::string& session,
                            int next_target);

}  // namespace gpux::test

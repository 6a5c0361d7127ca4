// The FIX gateway's settings, as gpuxd's configuration file sets them
// (fix_port, fix_comp_id, fix_client, ...; see gpuxd --help). Plain values:
// the daemon parses them, the gateway and the provider API read them.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "gpux/matching/types.h"

namespace gpux::fix {

struct FixClient {
  matching::ParticipantId participant = 0;
  // `gpuxd --hash-password`. Empty: the seat cannot log on until a hash is
  // set (onboarding issues one to a provider's seat), unless no_password.
  std::string password_hash;
  bool no_password = false;           // password=none: anyone who reaches the port may use it
  bool cancel_on_disconnect = false;  // the participant's orders, when the session ends
};

struct FixConfig {
  int port = 0;  // 0: no FIX acceptor
  // The acceptor's IPv4 or IPv6 address: loopback unless the operator
  // names an interface's address (or 0.0.0.0 / :: for all of them).
  std::string address = "127.0.0.1";
  std::string comp_id = "GPUX";  // the exchange's CompID
  int max_messages_per_second = 1000;
  // Per connection: more left unread by the client, and it is disconnected.
  std::uint64_t max_unsent_bytes = 16u << 20;
  // Connections open at once, logged on or not: more are closed on accept.
  std::uint64_t max_connections = 256;
  // The same from one source address, so that one peer cannot take them all.
  std::uint64_t max_connections_per_address = 32;
  // A connection that has not logged on by then is closed.
  int logon_timeout_ms = 10'000;
  // What a connection may send before its Logon: a Logon is well under 1 KiB.
  std::uint64_t max_bytes_before_logon = 64u << 10;
  // One message from a client: orders are well under 1 KiB.
  std::uint64_t max_message_bytes = 64u << 10;
  std::uint64_t checkpoint_every = 100'000;  // durable commands between gateway checkpoints
  std::map<std::string, FixClient> clients;  // by SenderCompID
};

}  // namespace gpux::fix

#include "gpux/replication/log.h"

#include <nats/nats.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <string_view>
#include <utility>

#include "gpux/storage/codec.h"
#include "gpux/storage/journal.h"
#include "replication.pb.h"

namespace gpux::replication {

namespace {

// The one key of the lease's bucket.
constexpr const char* kLeaderKey = "leader";

std::string describe(natsStatus s, const std::string& what) {
  const char* last = nats_GetLastError(nullptr);
  return what + ": " + natsStatus_GetText(s) +
         (last != nullptr && *last ? std::string(" (") + last + ")" : "");
}

[[noreturn]] void fail(natsStatus s, const std::string& what) {
  throw Unavailable(describe(s, what));
}

void check(natsStatus s, const std::string& what) {
  if (s != NATS_OK) fail(s, what);
}

// Owns a nats.c object and destroys it with its own function.
template <class T, void (*Destroy)(T*)>
struct Owned {
  T* p = nullptr;
  Owned() = default;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() {
    if (p != nullptr) Destroy(p);
  }
  T** out() { return &p; }
  T* operator->() const { return p; }
  T* get() const { return p; }
};

// The entry's bytes, and the chain after its last command.
std::pair<std::string, std::uint64_t> encode(const Entry& entry) {
  proto::LogEntry out;
  out.set_leader(entry.leader);
  std::uint64_t chain = entry.chain_before;
  for (std::size_t i = 0; i < entry.commands.size(); ++i) {
    const matching::Command& command = entry.commands[i];
    if (i == 0) out.set_first_sequence(command.stamp.sequence);
    proto::JournalRecord& record = *out.add_records();
    storage::encode(command).SerializeToString(record.mutable_command());
    if (i < entry.origins.size()) record.set_origin(entry.origins[i]);
    // As the journal chains it (storage/src/journal.cpp).
    chain = storage::chain_next(chain, command.stamp.sequence, record.command());
    if (!record.origin().empty())
      chain = storage::chain_next(chain, command.stamp.sequence, record.origin());
    record.set_chain(chain);
  }
  if (entry.state_hash) {
    out.set_has_state_hash(true);
    out.set_state_hash(*entry.state_hash);
  }
  return {out.SerializeAsString(), chain};
}

Entry decode(std::uint64_t stream_sequence, const char* data, int length) {
  proto::LogEntry in;
  if (!in.ParseFromArray(data, length))
    throw BadEntry("stream entry " + std::to_string(stream_sequence) + " does not parse");
  Entry entry{.stream_sequence = stream_sequence,
              .commands = {},
              .origins = {},
              .chain_before = 0,
              .chain_after = 0,
              .chains = {},
              .leader = in.leader(),
              .state_hash = {}};
  if (in.has_state_hash()) entry.state_hash = in.state_hash();
  std::uint64_t chain = 0;
  for (int i = 0; i < in.records_size(); ++i) {
    const proto::JournalRecord& record = in.records(i);
    proto::Command command;
    if (!command.ParseFromString(record.command()))
      throw BadEntry("stream entry " + std::to_string(stream_sequence) + ": record " +
                     std::to_string(i) + " does not parse");
    try {
      entry.commands.push_back(storage::decode(command));
    } catch (const storage::DecodeError& e) {
      throw BadEntry("stream entry " + std::to_string(stream_sequence) + ": " + e.what());
    }
    if (entry.commands.back().stamp.sequence != in.first_sequence() + static_cast<std::uint64_t>(i))
      throw BadEntry("stream entry " + std::to_string(stream_sequence) +
                     ": commands not consecutive");
    entry.origins.push_back(record.origin());
    entry.chains.push_back(record.chain());
    chain = record.chain();
  }
  entry.chain_after = chain;
  return entry;
}

}  // namespace

struct Log::Impl {
  LogOptions options;
  std::string subject;
  Owned<natsConnection, natsConnection_Destroy> connection;
  Owned<jsCtx, jsCtx_Destroy> js;
};

struct Log::Follower::Impl {
  Owned<natsSubscription, natsSubscription_Destroy> subscription;
};

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Log::~Log() = default;

std::unique_ptr<Log> Log::open(LogOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->subject = impl->options.stream + ".log";
  const auto timeout_ms = impl->options.timeout_ms;
  Owned<natsOptions, natsOptions_Destroy> nats_options;
  check(natsOptions_Create(nats_options.out()), "NATS options");
  std::vector<std::string> urls;
  for (std::size_t at = 0; at <= impl->options.servers.size();) {
    const std::size_t comma =
        std::min(impl->options.servers.find(',', at), impl->options.servers.size());
    if (comma > at) urls.push_back(impl->options.servers.substr(at, comma - at));
    at = comma + 1;
  }
  std::vector<const char*> url_pointers;
  for (const std::string& url : urls)
    url_pointers.push_back(url.c_str());
  check(natsOptions_SetServers(nats_options.get(), url_pointers.data(),
                               static_cast<int>(url_pointers.size())),
        "NATS servers '" + impl->options.servers + "'");
  check(natsOptions_SetTimeout(nats_options.get(), timeout_ms), "NATS timeout");
  check(natsOptions_SetName(nats_options.get(), ("gpuxd " + impl->options.node).c_str()),
        "NATS name");
  // Forever: a cluster that lost its quorum comes back, and this node with it.
  check(natsOptions_SetMaxReconnect(nats_options.get(), -1), "NATS reconnects");
  check(natsOptions_SetReconnectWait(nats_options.get(), 100), "NATS reconnect wait");
  check(natsConnection_Connect(impl->connection.out(), nats_options.get()),
        "connecting to NATS at " + impl->options.servers);
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = timeout_ms;
  check(natsConnection_JetStream(impl->js.out(), impl->connection.get(), &js_options),
        "JetStream context");

  jsErrCode error = static_cast<jsErrCode>(0);
  Owned<jsStreamInfo, jsStreamInfo_Destroy> info;
  natsStatus s =
      js_GetStreamInfo(info.out(), impl->js.get(), impl->options.stream.c_str(), nullptr, &error);
  if (s == NATS_NOT_FOUND || error == JSStreamNotFoundErr) {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    const char* subjects[] = {impl->subject.c_str()};
    config.Name = impl->options.stream.c_str();
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Replicas = impl->options.replicas;
    Owned<jsStreamInfo, jsStreamInfo_Destroy> created;
    // Two nodes creating it at once both succeed: the configuration is the same.
    check(js_AddStream(created.out(), impl->js.get(), &config, nullptr, &error),
          "creating stream " + impl->options.stream);
  } else {
    check(s, "reading stream " + impl->options.stream);
  }
  return std::unique_ptr<Log>(new Log(std::move(impl)));
}

const LogOptions& Log::options() const {
  return impl_->options;
}

std::uint64_t Log::last_stream_sequence() {
  jsErrCode error = static_cast<jsErrCode>(0);
  Owned<jsStreamInfo, jsStreamInfo_Destroy> info;
  check(
      js_GetStreamInfo(info.out(), impl_->js.get(), impl_->options.stream.c_str(), nullptr, &error),
      "reading stream " + impl_->options.stream);
  return info->State.LastSeq;
}

Log::Appended Log::append(const Entry& entry, std::uint64_t expected_last) {
  const auto [bytes, chain_after] = encode(entry);
  const std::string id = impl_->options.node + ":" + std::to_string(expected_last);
  jsPubOptions publish;
  jsPubOptions_Init(&publish);
  publish.MsgId = id.c_str();
  // nats.c sends no expectation for 0: an empty stream is expected by its subject.
  if (expected_last == 0)
    publish.ExpectNoMessage = true;
  else
    publish.ExpectLastSeq = expected_last;
  jsErrCode error = static_cast<jsErrCode>(0);
  Owned<jsPubAck, jsPubAck_Destroy> ack;
  const natsStatus s = js_Publish(ack.out(), impl_->js.get(), impl_->subject.c_str(), bytes.data(),
                                  static_cast<int>(bytes.size()), &publish, &error);
  if (s != NATS_OK) {
    if (error == JSStreamWrongLastSequenceErr || error == JSStreamWrongLastMsgIDErr)
      throw Fenced("another leader appended to stream " + impl_->options.stream + " after entry " +
                   std::to_string(expected_last) + ": node " + impl_->options.node +
                   " was deposed (" + describe(s, "JetStream") + ")");
    fail(s, "append after stream sequence " + std::to_string(expected_last));
  }
  // A duplicate is this node's own earlier try of the same append, which
  // landed: JetStream answers with where it is.
  assert(ack->Sequence > expected_last);
  return {.stream_sequence = ack->Sequence, .chain_after = chain_after};
}

std::optional<Entry> Log::read(std::uint64_t stream_sequence) {
  jsErrCode error = static_cast<jsErrCode>(0);
  Owned<natsMsg, natsMsg_Destroy> message;
  const natsStatus s = js_GetMsg(message.out(), impl_->js.get(), impl_->options.stream.c_str(),
                                 stream_sequence, nullptr, &error);
  if (s == NATS_NOT_FOUND || error == JSNoMessageFoundErr) return std::nullopt;
  check(s, "reading stream entry " + std::to_string(stream_sequence));
  return decode(stream_sequence, natsMsg_GetData(message.get()),
                natsMsg_GetDataLength(message.get()));
}

std::uint64_t Log::resume_after(matching::SequenceNumber sequence) {
  // Entries hold consecutive commands; marks hold none and take their
  // place from the entries around them.
  const std::uint64_t last = last_stream_sequence();
  std::uint64_t low = 1;
  std::uint64_t high = last + 1;  // the answer is in [low, high]
  while (low < high) {
    std::uint64_t middle = low + (high - low) / 2;
    // The first entry at or after `middle` with commands decides.
    std::optional<Entry> entry;
    std::uint64_t at = middle;
    for (; at < high; ++at) {
      entry = read(at);
      if (entry && !entry->commands.empty()) break;
    }
    // From `middle` to `at` only marks, then either nothing (at == high,
    // whose answer is known: later) or the entry that decides for them all.
    if (at == high || entry->commands.back().stamp.sequence > sequence)
      high = middle;
    else
      low = at + 1;
  }
  return low;
}

Log::Follower::Follower(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Log::Follower::~Follower() = default;

std::unique_ptr<Log::Follower> Log::follow(std::uint64_t from) {
  auto impl = std::make_unique<Follower::Impl>();
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Ordered = true;
  options.Config.DeliverPolicy = js_DeliverByStartSequence;
  options.Config.OptStartSeq = from;
  options.Stream = impl_->options.stream.c_str();
  jsErrCode error = static_cast<jsErrCode>(0);
  check(js_SubscribeSync(impl->subscription.out(), impl_->js.get(), impl_->subject.c_str(), nullptr,
                         &options, &error),
        "following stream " + impl_->options.stream + " from " + std::to_string(from));
  return std::unique_ptr<Follower>(new Follower(std::move(impl)));
}

std::optional<Entry> Log::Follower::next(std::chrono::milliseconds wait) {
  Owned<natsMsg, natsMsg_Destroy> message;
  const natsStatus s =
      natsSubscription_NextMsg(message.out(), impl_->subscription.get(), wait.count());
  if (s == NATS_TIMEOUT) return std::nullopt;
  check(s, "following the stream");
  Owned<jsMsgMetaData, jsMsgMetaData_Destroy> meta;
  check(natsMsg_GetMetaData(meta.out(), message.get()), "a followed entry's metadata");
  return decode(meta->Sequence.Stream, natsMsg_GetData(message.get()),
                natsMsg_GetDataLength(message.get()));
}

struct Lease::Impl {
  Impl(Log& l, std::string n) : log(l), node(std::move(n)) {}
  Log& log;
  std::string node;
  Owned<kvStore, kvStore_Destroy> kv;
  std::uint64_t revision = 0;  // of this node's last write, while it holds the lease
};

Lease::Lease(Log& log, std::chrono::milliseconds ttl)
    : impl_(std::make_unique<Impl>(log, log.options().node)) {
  const std::string bucket = log.options().stream + "-lease";
  kvConfig config;
  kvConfig_Init(&config);
  config.Bucket = bucket.c_str();
  config.History = 1;
  config.TTL = std::chrono::nanoseconds(ttl).count();  // nats.c takes nanoseconds
  config.Replicas = log.options().replicas;
  config.StorageType = js_FileStorage;
  natsStatus s = js_CreateKeyValue(impl_->kv.out(), log.impl_->js.get(), &config);
  if (s != NATS_OK) {
    // Made already, perhaps with another ttl: bind to it as it is.
    const std::string creating = describe(s, "creating the lease bucket " + bucket);
    s = js_KeyValue(impl_->kv.out(), log.impl_->js.get(), bucket.c_str());
    if (s != NATS_OK) fail(s, creating + "; binding to it");
  }
}

Lease::~Lease() = default;

// After a write to the lease failed: what the bucket holds now, read back,
// since a failed compare-and-set and a server that could not answer look
// alike. Throws Unavailable when it cannot be read either.
std::optional<std::pair<std::string, std::uint64_t>> Lease::current(const std::string& doing) {
  Owned<kvEntry, kvEntry_Destroy> entry;
  const natsStatus s = kvStore_Get(entry.out(), impl_->kv.get(), kLeaderKey);
  if (s == NATS_NOT_FOUND) return std::nullopt;
  check(s, doing);
  return std::make_pair(std::string(kvEntry_ValueString(entry.get())),
                        kvEntry_Revision(entry.get()));
}

bool Lease::acquire() {
  std::uint64_t revision = 0;
  if (kvStore_CreateString(&revision, impl_->kv.get(), kLeaderKey, impl_->node.c_str()) ==
      NATS_OK) {
    impl_->revision = revision;
    return true;
  }
  const auto now = current("taking the lease");
  if (!now) throw Unavailable("taking the lease: it is free, but could not be written");
  // This node's own create, landed though its answer was lost.
  if (now->first == impl_->node) {
    impl_->revision = now->second;
    return true;
  }
  return false;
}

bool Lease::renew() {
  // Lapsed at an earlier try, which could not take it again.
  if (impl_->revision == 0) return acquire();
  std::uint64_t revision = 0;
  if (kvStore_UpdateString(&revision, impl_->kv.get(), kLeaderKey, impl_->node.c_str(),
                           impl_->revision) == NATS_OK) {
    impl_->revision = revision;
    return true;
  }
  const auto now = current("renewing the lease");
  if (now && now->second == impl_->revision)
    throw Unavailable("renewing the lease: the update was not accepted");
  if (now && now->first == impl_->node) {
    impl_->revision = now->second;  // this node's update, landed though its answer was lost
    return true;
  }
  impl_->revision = 0;
  // Lapsed while the servers could not answer (JetStream moving a stream's
  // leader after losing a server takes longer than a lease): still this
  // node's if nobody took it meanwhile. A standby that did has fenced this
  // leader's log already.
  return !now && acquire();
}

void Lease::release() {
  if (impl_->revision == 0) return;
  impl_->revision = 0;
  // Unconditional (nats.c 3.4 has no compare-and-delete): should the lease
  // have passed to another node meanwhile, its next renewal takes it again.
  check(kvStore_Delete(impl_->kv.get(), kLeaderKey), "giving up the lease");
}

std::string Lease::holder() {
  Owned<kvEntry, kvEntry_Destroy> entry;
  const natsStatus s = kvStore_Get(entry.out(), impl_->kv.get(), kLeaderKey);
  if (s == NATS_NOT_FOUND) {
    return {};
  }
  check(s, "reading the lease");
  return kvEntry_ValueString(entry.get());
}

}  // namespace gpux::replication

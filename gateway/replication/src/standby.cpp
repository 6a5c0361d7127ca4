#include "gpux/replication/standby.h"

#include <cassert>
#include <string>
#include <vector>

#include "gpux/storage/codec.h"
#include "gpux/storage/journal.h"
#include "gpux/storage/recovery.h"

namespace gpux::replication {

using matching::Command;
using matching::Event;
using matching::SequenceNumber;

namespace {

std::string hex(std::uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

struct Standby::Impl : matching::EventListener {
  StandbyOptions options;
  std::unique_ptr<storage::Journal> journal;
  std::unique_ptr<matching::Engine> engine;
  SequenceNumber last_sequence = 0;
  SequenceNumber last_snapshot = 0;
  std::vector<Event>* into = nullptr;  // while applying an entry

  void on_event(const Event& event) override {
    if (into != nullptr) into->push_back(event);
  }

  void snapshot() {
    storage::take_snapshot(*journal, *engine);
    last_snapshot = last_sequence;
  }
};

Standby::Standby(StandbyOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& i = *impl_;
  i.options = std::move(options);
  i.journal = storage::Journal::open(i.options.data_directory, {.sync = i.options.sync});
  storage::Recovered recovered = storage::recover(*i.journal, i.options.engine, i);
  i.engine = std::move(recovered.engine);
  i.last_sequence = recovered.last_sequence;
  i.last_snapshot = recovered.snapshot_sequence;
}

Standby::~Standby() {
  try {
    close();
  } catch (...) {
    // The snapshot is an optimisation: recovery replays the journal without it.
  }
}

SequenceNumber Standby::last_sequence() const {
  return impl_->last_sequence;
}

std::uint64_t Standby::state_hash() const {
  return impl_->engine->state_hash();
}

void Standby::apply(const Entry& entry) {
  Impl& i = *impl_;
  assert(i.journal != nullptr);
  std::size_t first = 0;  // the first command not held yet
  for (; first < entry.commands.size() && entry.commands[first].stamp.sequence <= i.last_sequence;
       ++first)
    // This journal's last command must be the log's, chain and all: then
    // so is everything before it.
    if (entry.commands[first].stamp.sequence == i.last_sequence && first < entry.chains.size() &&
        entry.chains[first] != i.journal->last_chain())
      throw Diverged("at command " + std::to_string(i.last_sequence) + " the journal in " +
                     i.options.data_directory.string() + " has chain " +
                     hex(i.journal->last_chain()) + ", the log (stream entry " +
                     std::to_string(entry.stream_sequence) + ") " + hex(entry.chains[first]) +
                     ": this data_dir is not this cluster's");
  if (first == entry.commands.size()) return;
  const std::span<const Command> commands(entry.commands.begin() + static_cast<long>(first),
                                          entry.commands.end());
  const std::span<const std::string> origins(entry.origins.begin() + static_cast<long>(first),
                                             entry.origins.end());
  if (commands.front().stamp.sequence != i.last_sequence + 1)
    throw Diverged("stream entry " + std::to_string(entry.stream_sequence) + " starts at command " +
                   std::to_string(commands.front().stamp.sequence) + " but this standby holds " +
                   std::to_string(i.last_sequence) + ": the stream lost commands");
  // The records as this journal will chain them, before anything is written.
  std::uint64_t chain = i.journal->last_chain();
  for (std::size_t k = 0; k < commands.size(); ++k) {
    const SequenceNumber sequence = commands[k].stamp.sequence;
    chain = storage::chain_next(chain, sequence, storage::encode(commands[k]).SerializeAsString());
    if (!origins[k].empty()) chain = storage::chain_next(chain, sequence, origins[k]);
  }
  if (chain != entry.chain_after)
    throw Diverged("at command " + std::to_string(commands.back().stamp.sequence) +
                   " (stream entry " + std::to_string(entry.stream_sequence) +
                   ") the leader's journal chain is " + hex(entry.chain_after) + ", this one's " +
                   hex(chain));
  std::vector<Event> events;
  std::vector<std::size_t> ends;  // each command's events end here
  i.into = &events;
  for (const Command& command : commands) {
    i.engine->apply(command);
    ends.push_back(events.size());
  }
  i.into = nullptr;
  i.journal->append(commands, events, origins);
  i.last_sequence = commands.back().stamp.sequence;
  if (entry.state_hash && *entry.state_hash != i.engine->state_hash())
    throw Diverged("after command " + std::to_string(i.last_sequence) + " (stream entry " +
                   std::to_string(entry.stream_sequence) + ") the leader's state hash is " +
                   hex(*entry.state_hash) + ", this standby's " + hex(i.engine->state_hash()));
  if (i.options.observer) {
    std::size_t begin = 0;
    for (std::size_t k = 0; k < commands.size(); ++k) {
      i.options.observer(commands[k], std::span(events).subspan(begin, ends[k] - begin));
      begin = ends[k];
    }
  }
  if (i.options.snapshot_every != 0 &&
      i.last_sequence - i.last_snapshot >= i.options.snapshot_every)
    i.snapshot();
}

void Standby::close() {
  Impl& i = *impl_;
  if (!i.journal) return;
  if (i.last_sequence != i.last_snapshot) i.snapshot();
  i.journal.reset();
}

}  // namespace gpux::replication

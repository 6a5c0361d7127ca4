// Seats and providers as engine state: one rule per refusal, and what a
// snapshot keeps.
#include <doctest/doctest.h>

#include "market.h"

namespace gpux::test {
namespace {

std::optional<RejectReason> refusal(const std::vector<Event>& events) {
  const auto r = only<CommandRejected>(events);
  return r.empty() ? std::optional<RejectReason>{} : r.front().reason;
}

Seat seat(std::string sender, ParticipantId participant) {
  return {.sender_comp_id = std::move(sender),
          .participant = participant,
          .password_hash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
          .no_password = false,
          .cancel_on_disconnect = false,
          .enabled = true};
}

SetProvider provider(ParticipantId participant, std::string name) {
  return {.participant = participant,
          .record = std::make_shared<const ProviderRecord>(ProviderRecord{
              .participant = participant,
              .name = std::move(name),
              .region = "us-east",
              .token_hash = std::string(32, '\x07'),
              .fix_sender_comp_id = "",
              .gpus = {{.gpu_class = "H100-SXM", .region = "us-east", .count = 8}}})};
}

}  // namespace

TEST_CASE("a seat belongs to one participant; its password, flags and state change as a whole") {
  Market m;
  const std::uint64_t empty = m.engine().state_hash();
  REQUIRE(only<SeatSet>(m.apply(SetSeat{seat("BUYER1", 1)})).size() == 1);
  CHECK(m.engine().state_hash() != empty);

  Seat rotated = seat("BUYER1", 1);
  rotated.password_hash = "$argon2id$other";
  rotated.enabled = false;
  const std::uint64_t before = m.engine().state_hash();
  REQUIRE(only<SeatSet>(m.apply(SetSeat{rotated})).size() == 1);
  CHECK(m.engine().state_hash() != before);
  CHECK(m.engine().snapshot().seats == std::vector<Seat>{rotated});

  CHECK(refusal(m.apply(SetSeat{seat("BUYER1", 2)})) == RejectReason::seat_taken);
  CHECK(refusal(m.apply(SetSeat{seat("", 2)})) == RejectReason::invalid_seat);
  CHECK(refusal(m.apply(SetSeat{seat("has space", 2)})) == RejectReason::invalid_seat);
  CHECK(refusal(m.apply(SetSeat{seat(std::string(65, 'a'), 2)})) == RejectReason::invalid_seat);
  Seat both = seat("OPEN", 2);
  both.no_password = true;
  CHECK(refusal(m.apply(SetSeat{both})) == RejectReason::invalid_seat);
  both.password_hash.clear();
  CHECK(only<SeatSet>(m.apply(SetSeat{both})).size() == 1);
  Seat overlong = seat("LONG", 2);
  overlong.password_hash = std::string(257, 'h');
  CHECK(refusal(m.apply(SetSeat{overlong})) == RejectReason::invalid_seat);
  CHECK(m.engine().snapshot().seats.size() == 2);
}

TEST_CASE("a provider is registered for a known participant, under a name of its own") {
  Market m;
  CHECK(refusal(m.apply(provider(5, "acme"))) == RejectReason::unknown_participant);
  m.apply(AddParticipant{5});
  m.apply(AddParticipant{6});
  REQUIRE(only<ProviderSet>(m.apply(provider(5, "acme"))).at(0).registered);
  CHECK(refusal(m.apply(provider(6, "acme"))) == RejectReason::provider_name_taken);
  CHECK(only<ProviderSet>(m.apply(provider(5, "acme"))).size() == 1);  // its own name again
  CHECK(refusal(m.apply(provider(6, "bad/name"))) == RejectReason::invalid_provider);
  SetProvider foreign = provider(6, "beta");
  foreign.participant = 5;  // a record of participant 6 under participant 5
  CHECK(refusal(m.apply(foreign)) == RejectReason::invalid_provider);
  CHECK(refusal(m.apply(SetProvider{.participant = 6, .record = nullptr})) ==
        RejectReason::unknown_provider);

  // A snapshot keeps them, and the restored engine hashes alike.
  m.apply(SetSeat{seat("acme", 5)});
  NullListener quiet;
  const EngineSnapshot snapshot = m.engine().snapshot();
  REQUIRE(snapshot.providers.size() == 1);
  CHECK(snapshot.providers.front().gpus.front().count == 8);
  CHECK(restore_engine({}, quiet, snapshot)->state_hash() == m.engine().state_hash());

  const auto gone = only<ProviderSet>(m.apply(SetProvider{.participant = 5, .record = nullptr}));
  REQUIRE(gone.size() == 1);
  CHECK_FALSE(gone.front().registered);
  CHECK(m.engine().snapshot().providers.empty());
  CHECK(only<ProviderSet>(m.apply(provider(6, "acme"))).size() == 1);  // the name is free again
}

}  // namespace gpux::test

// Seats and providers as engine state: one rule per refusal, and what a
// snapshot keeps.
#include <doctest/doctest.h>

#include "gpux/matching/delivery_keys.h"
#include "market.h"
#include "ssh_keys.h"

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

TEST_CASE("delivery keys: OpenSSH public key lines, each rule with its own result") {
  using P = DeliveryKeyProblem;
  for (const char* key : kEd25519Keys)
    CHECK(check_delivery_key(key) == P::none);
  CHECK(check_delivery_key(kRsaKey) == P::none);
  CHECK(check_delivery_key(kWeakRsaKey) == P::key_too_weak);
  const std::string k1 = kEd25519Keys[0];
  CHECK(check_delivery_key(k1.substr(0, k1.find(" k1@test"))) == P::none);  // no comment
  CHECK(check_delivery_key(std::string(5'000, 'a')) == P::too_long);
  CHECK(check_delivery_key("") == P::not_one_line);
  CHECK(check_delivery_key(k1 + "\x7f") == P::not_one_line);  // the agent would refuse it
  CHECK(check_delivery_key(k1 + " caf\xc3\xa9") == P::not_one_line);
  CHECK(check_delivery_key(k1 + "\n" + kEd25519Keys[1]) == P::not_one_line);
  CHECK(check_delivery_key("ssh-dss AAAAB3NzaC1kc3M=") == P::unknown_type);
  CHECK(check_delivery_key("ssh-ed25519") == P::bad_base64);
  CHECK(check_delivery_key("ssh-ed25519 AAAA!AAA") == P::bad_base64);
  CHECK(check_delivery_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFqo=AR8") == P::bad_base64);
  // An RSA body under an ed25519 name.
  const std::string rsa = kRsaKey;
  CHECK(check_delivery_key("ssh-ed25519 " + rsa.substr(8)) == P::type_mismatch);
  CHECK(delivery_key_identity(k1) == k1.substr(0, k1.find(" k1@test")));
  CHECK(delivery_key_identity("ssh-ed25519\t AAAA  comment") == "ssh-ed25519 AAAA");
}

TEST_CASE("delivery keys: a profile of up to 16 keys, journaled, in snapshots") {
  Market m;
  m.apply(AddParticipant{1});
  const auto add = [&](ParticipantId who, const std::string& key) {
    return m.apply(AddDeliveryKey{.participant = who, .key = std::make_shared<std::string>(key)});
  };
  const std::uint64_t empty_hash = m.engine().state_hash();
  CHECK(refusal(add(2, kEd25519Keys[0])) == RejectReason::unknown_participant);
  CHECK(refusal(add(1, kWeakRsaKey)) == RejectReason::invalid_delivery_key);
  CHECK(m.engine().state_hash() == empty_hash);  // refusals leave no trace
  const auto added = only<DeliveryKeyChanged>(add(1, kEd25519Keys[0]));
  REQUIRE(added.size() == 1);
  CHECK(added.front().added);
  CHECK(*added.front().key == kEd25519Keys[0]);
  // The same key under another comment is the same key.
  const std::string k1 = kEd25519Keys[0];
  CHECK(refusal(add(1, k1.substr(0, k1.find(" k1@test")) + " laptop")) ==
        RejectReason::delivery_key_exists);
  CHECK(m.engine().state_hash() != empty_hash);
  CHECK(m.engine().snapshot().delivery_profiles ==
        std::vector<DeliveryProfile>{{.participant = 1, .keys = {kEd25519Keys[0]}}});
  // Removed by the key, whatever its comment; the last one empties the profile.
  CHECK(refusal(m.apply(RemoveDeliveryKey{
            .participant = 1, .key = std::make_shared<std::string>(kEd25519Keys[1])})) ==
        RejectReason::unknown_delivery_key);
  const auto removed = only<DeliveryKeyChanged>(m.apply(RemoveDeliveryKey{
      .participant = 1, .key = std::make_shared<std::string>(k1.substr(0, k1.find(" k1@")))}));
  REQUIRE(removed.size() == 1);
  CHECK(!removed.front().added);
  CHECK(*removed.front().key == kEd25519Keys[0]);
  CHECK(m.engine().snapshot().delivery_profiles.empty());
  CHECK(m.engine().state_hash() == empty_hash);
}

namespace {

// An ed25519 key line whose 32 key bytes are all `fill`: well-formed, as
// the exchange checks keys (it checks no curve point).
std::string ed25519_line(unsigned char fill) {
  std::string blob;
  const auto put = [&](const std::string& field) {
    for (int shift = 24; shift >= 0; shift -= 8)
      blob.push_back(static_cast<char>(field.size() >> shift & 0xFF));
    blob += field;
  };
  put("ssh-ed25519");
  put(std::string(32, static_cast<char>(fill)));
  const char* const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  for (std::size_t i = 0; i < blob.size(); i += 3) {
    std::uint32_t bits = 0;
    for (std::size_t j = 0; j < 3; ++j)
      bits = bits << 8 | (i + j < blob.size() ? static_cast<unsigned char>(blob[i + j]) : 0u);
    const std::size_t chars = std::min<std::size_t>(4, (blob.size() - i) * 4 / 3 + 1);
    for (std::size_t j = 0; j < 4; ++j)
      text.push_back(j < chars ? alphabet[bits >> (18 - 6 * j) & 0x3F] : '=');
  }
  return "ssh-ed25519 " + text + " key-" + std::to_string(fill);
}

}  // namespace

TEST_CASE("delivery keys: at most 16 in a profile") {
  Market m;
  m.apply(AddParticipant{1});
  for (unsigned char fill = 0; fill < 16; ++fill) {
    REQUIRE(check_delivery_key(ed25519_line(fill)) == DeliveryKeyProblem::none);
    CHECK(only<DeliveryKeyChanged>(
              m.apply(AddDeliveryKey{.participant = 1,
                                     .key = std::make_shared<std::string>(ed25519_line(fill))}))
              .size() == 1);
  }
  const auto full = only<CommandRejected>(m.apply(
      AddDeliveryKey{.participant = 1, .key = std::make_shared<std::string>(ed25519_line(16))}));
  REQUIRE(full.size() == 1);
  CHECK(full.front().reason == RejectReason::too_many_delivery_keys);
  CHECK(m.engine().snapshot().delivery_profiles.front().keys.size() == 16);
}

}  // namespace gpux::test

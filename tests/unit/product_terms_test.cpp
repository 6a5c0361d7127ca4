// A product's terms, journaled and scheduled: every hour listed from their
// sequence on carries them, the hours listed before keep theirs, and a
// restored engine takes scheduled terms into effect at the same sequence.
#include <doctest/doctest.h>

#include "market.h"

namespace gpux::test {
namespace {

std::optional<RejectReason> refusal(const std::vector<Event>& events) {
  const auto r = only<CommandRejected>(events);
  return r.empty() ? std::optional<RejectReason>{} : r.front().reason;
}

EngineConfig with_fee_hold() {
  EngineConfig config;
  config.buyer_fee_ppm = 5'000;
  return config;
}

// standard_spec's product (H100-SXM in us-east) with these fees.
ProductTerms terms(std::uint32_t maker, std::uint32_t taker, SequenceNumber from = 0) {
  return {.gpu_class = "H100-SXM",
          .region = "us-east",
          .maker_fee_ppm = maker,
          .taker_fee_ppm = taker,
          .reference_price = 2'000'000,
          .band_width = 500'000,
          .verification_profile = {},
          .effective_from = from};
}

InstrumentSpec hour(InstrumentId id, std::uint32_t maker, std::uint32_t taker) {
  InstrumentSpec spec = hours_later(standard_spec(id), id);
  spec.maker_fee_ppm = maker;
  spec.taker_fee_ppm = taker;
  return spec;
}

}  // namespace

TEST_CASE("product terms: listings carry the terms in effect; a change applies from its sequence") {
  Market m{BookKind::price_ladder, with_fee_hold()};
  const auto set = only<ProductTermsSet>(m.apply(SetProductTerms{terms(1'000, 3'000)}));
  REQUIRE(set.size() == 1);
  CHECK(set.front().in_effect);
  CHECK(refusal(m.apply(ListInstrument{hour(1, 0, 0)})) ==
        RejectReason::spec_differs_from_product_terms);
  InstrumentSpec other_band = hour(1, 1'000, 3'000);
  other_band.band_width = 400'000;
  CHECK(refusal(m.apply(ListInstrument{other_band})) ==
        RejectReason::spec_differs_from_product_terms);
  CHECK(only<InstrumentListed>(m.apply(ListInstrument{hour(1, 1'000, 3'000)})).size() == 1);

  // A taker fee of 4,000 ppm from sequence 10 (this command is sequence 5).
  const auto scheduled = only<ProductTermsSet>(m.apply(SetProductTerms{terms(1'000, 4'000, 10)}));
  REQUIRE(scheduled.size() == 1);
  CHECK_FALSE(scheduled.front().in_effect);
  NullListener quiet;
  const EngineSnapshot pending = m.engine().snapshot();
  REQUIRE(pending.pending_product_terms.size() == 1);
  CHECK(refusal(m.apply(ListInstrument{hour(2, 1'000, 4'000)})) ==  // 6: not yet
        RejectReason::spec_differs_from_product_terms);
  CHECK(only<InstrumentListed>(m.apply(ListInstrument{hour(2, 1'000, 3'000)})).size() == 1);  // 7
  m.apply(AddParticipant{1});                                                                 // 8
  m.apply(AddParticipant{2});                                                                 // 9
  // Sequence 10: in effect before the command, which must carry them.
  const auto listed = m.apply(ListInstrument{hour(3, 1'000, 3'000)});
  REQUIRE(only<ProductTermsSet>(listed).size() == 1);
  CHECK(only<ProductTermsSet>(listed).front().in_effect);
  CHECK(refusal(listed) == RejectReason::spec_differs_from_product_terms);
  CHECK(only<InstrumentListed>(m.apply(ListInstrument{hour(3, 1'000, 4'000)})).size() == 1);
  // The hours listed before keep their fees.
  CHECK(m.engine().snapshot().instruments.at(1).spec.taker_fee_ppm == 3'000);

  // A snapshot taken while the change was scheduled replays to the same state.
  auto restored = restore_engine(with_fee_hold(), quiet, pending);
  const std::vector<CommandBody> after = {ListInstrument{hour(2, 1'000, 4'000)},
                                          ListInstrument{hour(2, 1'000, 3'000)},
                                          AddParticipant{1},
                                          AddParticipant{2},
                                          ListInstrument{hour(3, 1'000, 3'000)},
                                          ListInstrument{hour(3, 1'000, 4'000)}};
  SequenceNumber sequence = 5;
  for (const CommandBody& body : after) {
    ++sequence;
    restored->apply(Command{{sequence, static_cast<Nanoseconds>(sequence) * 1000}, body});
  }
  CHECK(restored->state_hash() == m.engine().state_hash());
}

TEST_CASE("product terms: refused when invalid; the fee hold cannot drop below a product's fee") {
  Market m{BookKind::price_ladder, with_fee_hold()};
  CHECK(refusal(m.apply(SetProductTerms{terms(1'000, 6'000)})) ==
        RejectReason::invalid_product_terms);  // above the 5,000 ppm hold
  ProductTerms wide = terms(0, 0);
  wide.band_width = wide.reference_price;
  CHECK(refusal(m.apply(SetProductTerms{wide})) == RejectReason::invalid_product_terms);
  ProductTerms unnamed = terms(0, 0);
  unnamed.region = "no region";
  CHECK(refusal(m.apply(SetProductTerms{unnamed})) == RejectReason::invalid_product_terms);
  REQUIRE(only<ProductTermsSet>(m.apply(SetProductTerms{terms(1'000, 4'000, 100)})).size() == 1);
  CHECK(refusal(m.apply(SetMarketTerms{.buyer_fee_ppm = 3'000, .delivery = {}})) ==
        RejectReason::invalid_market_terms);  // the scheduled 4,000 ppm would exceed it
  CHECK(m.engine().check_invariants().empty());
}

}  // namespace gpux::test

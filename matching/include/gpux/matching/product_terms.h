// A product's trading terms (GPU class x region): fees, price band and the
// verification profile its GPUs are proved with, as the journal sets them,
// in effect from a chosen sequence. Every hour of the
// product listed from then on must carry them, so a fee change applies to
// the listings after its sequence and replays identically; the hours listed
// before keep the terms they were listed with (what their traders agreed).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "gpux/matching/types.h"

namespace gpux::matching {

struct ProductTerms {
  std::string gpu_class;
  std::string region;
  std::uint32_t maker_fee_ppm = 0;  // at most the buyers' fee hold
  std::uint32_t taker_fee_ppm = 0;
  Price reference_price = 0;  // the price band's centre, and its half-width
  Price band_width = 0;
  // The class profile (verify/) its qualifications and deliveries are proved
  // with; empty: the GPU class's own. The engine checks only its form; the
  // provider API refuses a name it has no profile for.
  std::string verification_profile;
  // In effect from this sequence on; one already passed (or 0): at once.
  SequenceNumber effective_from = 0;
  bool operator==(const ProductTerms&) const = default;
};

// Whether `spec` carries `terms` (its fees and price band).
inline bool carries(const InstrumentSpec& spec, const ProductTerms& terms) {
  return spec.maker_fee_ppm == terms.maker_fee_ppm && spec.taker_fee_ppm == terms.taker_fee_ppm &&
         spec.reference_price == terms.reference_price && spec.band_width == terms.band_width;
}

}  // namespace gpux::matching

#include "gpux/matching/engine.h"

#include "engine_core.h"
#include "price_ladder_book.h"
#include "reference_book.h"

namespace gpux::matching {

std::unique_ptr<Engine> make_engine(const EngineConfig& config, EventListener& listener,
                                    BookKind book) {
  switch (book) {
    case BookKind::price_ladder:
      return std::make_unique<EngineCore<PriceLadderBook>>(config, listener);
    case BookKind::reference:
      return std::make_unique<EngineCore<ReferenceBook>>(config, listener);
  }
  return nullptr;
}

}  // namespace gpux::matching

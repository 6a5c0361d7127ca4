#include "gpux/matching/engine.h"

#include <stdexcept>
#include <type_traits>

#include "engine_core.h"
#include "price_ladder_book.h"
#include "reference_book.h"

namespace gpux::matching {

namespace {

// Calls f with std::type_identity<Book> for the chosen book.
template <class F>
std::unique_ptr<Engine> with_book(BookKind book, F&& f) {
  switch (book) {
    case BookKind::price_ladder:
      return f(std::type_identity<PriceLadderBook>{});
    case BookKind::reference:
      return f(std::type_identity<ReferenceBook>{});
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<Engine> make_engine(const EngineConfig& config, EventListener& listener,
                                    BookKind book) {
  return with_book(book, [&]<class Book>(std::type_identity<Book>) -> std::unique_ptr<Engine> {
    return std::make_unique<EngineCore<Book>>(config, listener);
  });
}

std::unique_ptr<Engine> restore_engine(const EngineConfig& config, EventListener& listener,
                                       const EngineSnapshot& snapshot, BookKind book) {
  return with_book(book, [&]<class Book>(std::type_identity<Book>) -> std::unique_ptr<Engine> {
    auto engine = std::make_unique<EngineCore<Book>>(config, listener);
    if (const auto problems = engine->restore(snapshot); !problems.empty())
      throw std::invalid_argument("inconsistent engine snapshot: " + problems.front());
    return engine;
  });
}

}  // namespace gpux::matching

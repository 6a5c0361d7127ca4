// A fuzz input read front to back, for the harnesses that build structured
// input from it (a FIX message, a provider's answers). Plain C++14: the FIX
// harness includes QuickFIX.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gpux {
namespace test {

class FuzzBytes {
 public:
  FuzzBytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  // The next byte; 0 once they have run out.
  std::uint8_t next() { return at_ < size_ ? data_[at_++] : 0; }
  // The next `n` bytes as text (zeros past the end).
  std::string take(std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(static_cast<char>(next()));
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace test
}  // namespace gpux

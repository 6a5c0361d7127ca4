// HDR-style latency histogram: exact below 128 ns, then 64 sub-buckets per
// power of two (under 1.6% relative error), fixed memory, O(1) record.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace gpux::bench {

class LatencyHistogram {
 public:
  void record(std::uint64_t nanoseconds) {
    ++counts_[index(nanoseconds)];
    ++total_;
    if (nanoseconds > max_) max_ = nanoseconds;
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }

  // The smallest recorded bucket's upper bound that covers `fraction` of samples.
  std::uint64_t percentile(double fraction) const {
    if (total_ == 0) return 0;
    const auto wanted = static_cast<std::uint64_t>(fraction * static_cast<double>(total_) + 0.5);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= wanted && counts_[i] > 0) return upper_bound(i) < max_ ? upper_bound(i) : max_;
    }
    return max_;
  }

 private:
  static constexpr int kSubBits = 6;  // 64 sub-buckets per power of two
  static constexpr std::size_t kBuckets = 128 + 64 * (64 - kSubBits - 1);

  static std::size_t index(std::uint64_t v) {
    if (v < 128) return static_cast<std::size_t>(v);
    const int shift = 63 - std::countl_zero(v) - kSubBits;  // >= 1
    return 128 + static_cast<std::size_t>(shift - 1) * 64 +
           static_cast<std::size_t>((v >> shift) - 64);
  }

  static std::uint64_t upper_bound(std::size_t i) {
    if (i < 128) return i;
    const std::size_t shift = (i - 128) / 64 + 1;
    const std::uint64_t top = (i - 128) % 64 + 64;
    return ((top + 1) << shift) - 1;
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace gpux::bench

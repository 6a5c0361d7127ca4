// A bounded multi-producer queue whose consumer takes everything waiting at
// once: producers block when it is full (back-pressure, never unbounded
// growth), and batching the consumer side is what makes group commit work.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace gpux::sequencer {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}

  // Blocks while full. Returns false (dropping nothing it accepted) once closed.
  bool push(T item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || closed_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    // Only a consumer that found the queue empty can be waiting.
    if (items_.size() == 1) not_empty_.notify_one();
    return true;
  }

  // Pushes a whole batch, blocking while the queue is full; it may overshoot
  // the capacity by one batch. Returns false once closed.
  bool push_all(std::vector<T>& batch) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || closed_; });
    if (closed_) return false;
    for (T& item : batch)
      items_.push_back(std::move(item));
    batch.clear();
    not_empty_.notify_one();
    return true;
  }

  // Moves up to `max` items into `out` (appending), waiting for at least one.
  // Returns false when the queue is closed and empty.
  bool pop_all(std::vector<T>& out, std::size_t max) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return false;
    const bool was_full = items_.size() >= capacity_;
    const std::size_t n = std::min(max, items_.size());
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    // Only producers that found the queue full can be waiting.
    if (was_full) not_full_.notify_all();
    return true;
  }

  // Wakes everyone; the consumer still drains what was accepted.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace gpux::sequencer

// A queue with its own thread: what any thread pushes is handed, in batches
// and in the order pushed, to one handler on that thread. FixOrderEntry
// sends everything for the sessions through one, so that nothing is sent
// from under its lock (see gateway.cpp) and a checkpoint is written only
// after the reports queued before it.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace gpux::fix {

template <class Message>
class Outbox {
 public:
  using Batch = std::deque<Message>;

  // Starts the thread. `handler` is called on it alone, one batch at a time,
  // each batch non-empty and holding everything pushed since the last one, in
  // push order; it is never called with the queue's lock held.
  explicit Outbox(std::function<void(Batch&)> handler)
      : handler_(std::move(handler)), thread_([this] { run(); }) {}
  // stop(false): what is not yet handed over is dropped.
  ~Outbox() { stop(false); }
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Queues `message` behind everything pushed before it, from any thread.
  // Never blocks on the handler.
  void push(Message message) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(message));
    }
    changed_.notify_one();
  }

  // Returns once the thread has ended. With `drain`, it first hands over
  // everything pushed before this call (and whatever is pushed while it
  // drains); without, it ends after the batch in hand, dropping the rest,
  // unless an earlier or concurrent stop asked to drain. Messages pushed
  // after it returns are never handed over. Any thread but the handler's.
  void stop(bool drain) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      drain_ = drain_ || drain;
    }
    changed_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    Batch batch;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_ && (!drain_ || queue_.empty())) return;
        batch.swap(queue_);
      }
      handler_(batch);
      batch.clear();
    }
  }

  std::function<void(Batch&)> handler_;
  std::mutex mutex_;  // the queue and the flags only; never held while handling
  std::condition_variable changed_;
  Batch queue_;
  bool stopping_ = false;
  bool drain_ = false;
  std::thread thread_;  // last: started once everything it reads is built
};

}  // namespace gpux::fix

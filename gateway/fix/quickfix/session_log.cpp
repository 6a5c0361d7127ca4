#include "session_log.h"

#include <fcntl.h>
#include <quickfix/Exceptions.h>
#include <quickfix/SessionID.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "utc_time.h"

namespace gpux {
namespace fix {
namespace {

constexpr std::size_t kWriteNowBytes = 256 * 1024;
constexpr auto kWriteEvery = std::chrono::milliseconds(100);

// "YYYYMMDD-HH:MM:SS.nnnnnnnnn : ", as FileLog stamps its lines (UTC).
void stamp(std::string& out) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  thread_local time_t cached_second = -1;
  thread_local std::string cached;
  if (now.tv_sec != cached_second) {
    cached = utc_seconds(now.tv_sec);
    cached_second = now.tv_sec;
  }
  char nanos[16];
  std::snprintf(nanos, sizeof nanos, ".%09ld : ", static_cast<long>(now.tv_nsec));
  out.append(cached);
  out.append(nanos);
}

// Passwords never reach a log file: the values of Password(554) and
// NewPassword(925) are written as "***". Null when `text` holds neither.
std::unique_ptr<std::string> without_passwords(const std::string& text) {
  std::unique_ptr<std::string> redacted;
  for (const char* tag : {"\001"
                          "554=",
                          "\001"
                          "925="}) {
    const std::string& current = redacted ? *redacted : text;
    std::size_t at = current.find(tag);
    if (at == std::string::npos) continue;
    if (!redacted) redacted.reset(new std::string(text));
    for (; at != std::string::npos; at = redacted->find(tag, at + 1)) {
      const std::size_t value = at + 5;
      const std::size_t end = std::min(redacted->find('\001', value), redacted->size());
      redacted->replace(value, end - value, "***");
    }
  }
  return redacted;
}

// One log file: lines are appended to a buffer under a short lock and
// written by whoever flushes, in order.
class LogFile {
 public:
  explicit LogFile(std::string path) : path_(std::move(path)) { open(); }
  ~LogFile() {
    flush();
    ::close(fd_);
  }

  // The bytes waiting after this line.
  std::size_t append(const std::string& text) {
    std::lock_guard<std::mutex> lock(buffer_mutex_);
    stamp(pending_);
    pending_.append(text);
    pending_.push_back('\n');
    return pending_.size();
  }

  void flush() {
    std::lock_guard<std::mutex> lock(file_mutex_);
    write_pending();
  }

  // Empties the file; what waits to be written goes too.
  void truncate() {
    std::lock_guard<std::mutex> lock(file_mutex_);
    {
      std::lock_guard<std::mutex> buffer(buffer_mutex_);
      pending_.clear();
    }
    if (::ftruncate(fd_, 0) != 0) complain("truncating");
  }

  // Renames the file to `backup` and starts an empty one.
  void move_to(const std::string& backup) {
    std::lock_guard<std::mutex> lock(file_mutex_);
    write_pending();
    ::close(fd_);
    if (::rename(path_.c_str(), backup.c_str()) != 0) complain("renaming");
    open();
  }

 private:
  void open() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw FIX::ConfigError("cannot open " + path_ + ": " + std::strerror(errno));
  }

  // With file_mutex_ held: takes the buffer, then writes it without holding
  // the buffer's lock, so appenders never wait for the disk.
  void write_pending() {
    std::string out;
    {
      std::lock_guard<std::mutex> lock(buffer_mutex_);
      out.swap(pending_);
    }
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t n = ::write(fd_, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return complain("writing");
      done += static_cast<std::size_t>(n);
    }
  }

  // A log that cannot be written must not stop trading: say so on stderr.
  void complain(const char* doing) {
    std::fprintf(stderr, "gpuxd: FIX log %s: %s %s\n", path_.c_str(), doing, std::strerror(errno));
  }

  std::string path_;
  int fd_ = -1;
  std::mutex file_mutex_;    // the descriptor; held while writing
  std::mutex buffer_mutex_;  // pending_ only
  std::string pending_;
};

// Writes the message files every kWriteEvery, or sooner when one fills up.
class LogWriter {
 public:
  LogWriter() : thread_([this] { run(); }) {}
  ~LogWriter() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  void add(LogFile& file) {
    std::lock_guard<std::mutex> lock(mutex_);
    files_.insert(&file);
  }
  // Once this returns the writer no longer touches `file`.
  void remove(LogFile& file) {
    std::lock_guard<std::mutex> lock(mutex_);
    files_.erase(&file);
  }
  void write_soon() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      full_ = true;
    }
    wake_.notify_one();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, kWriteEvery, [&] { return stopping_ || full_; });
      full_ = false;
      // Under the lock, so that remove() waits for a write in progress.
      for (LogFile* file : files_)
        file->flush();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool full_ = false;
  std::set<LogFile*> files_;
  std::thread thread_;  // last: starts once the rest exists
};

class SessionLog : public FIX::Log {
 public:
  SessionLog(LogWriter& writer, const std::string& prefix)
      : writer_(writer),
        prefix_(prefix + "."),
        messages_(prefix_ + "messages.current.log"),
        events_(prefix_ + "event.current.log") {
    writer_.add(messages_);
  }
  ~SessionLog() override { writer_.remove(messages_); }  // then the files write the rest

  void clear() override {
    messages_.truncate();
    events_.truncate();
  }
  void backup() override {
    for (int i = 1;; ++i) {
      const std::string messages = prefix_ + "messages.backup." + std::to_string(i) + ".log";
      const std::string events = prefix_ + "event.backup." + std::to_string(i) + ".log";
      struct stat ignored;
      if (::stat(messages.c_str(), &ignored) == 0 || ::stat(events.c_str(), &ignored) == 0)
        continue;
      messages_.move_to(messages);
      events_.move_to(events);
      return;
    }
  }
  // Only clients send passwords: what the exchange sends is written as is.
  void onIncoming(const std::string& message) override {
    const std::unique_ptr<std::string> redacted = without_passwords(message);
    message_line(redacted ? *redacted : message);
  }
  void onOutgoing(const std::string& message) override { message_line(message); }
  void onEvent(const std::string& event) override {
    const std::unique_ptr<std::string> redacted = without_passwords(event);
    events_.append(redacted ? *redacted : event);
    events_.flush();
  }

 private:
  void message_line(const std::string& message) {
    if (messages_.append(message) >= kWriteNowBytes) writer_.write_soon();
  }

  LogWriter& writer_;
  const std::string prefix_;
  LogFile messages_;
  LogFile events_;
};

std::string session_prefix(const FIX::SessionID& s) {
  std::string prefix = s.getBeginString().getString() + "-" + s.getSenderCompID().getString() +
                       "-" + s.getTargetCompID().getString();
  if (!s.getSessionQualifier().empty()) prefix += "-" + s.getSessionQualifier();
  return prefix;
}

}  // namespace

struct BufferedLogFactory::Impl {
  explicit Impl(std::string d) : directory(std::move(d)) {
    if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST)
      throw FIX::ConfigError("cannot create " + directory + ": " + std::strerror(errno));
  }

  const std::string directory;
  LogWriter writer;
  std::mutex mutex;  // the global log
  FIX::Log* global = nullptr;
  int global_users = 0;
};

BufferedLogFactory::BufferedLogFactory(const std::string& directory) : impl_(new Impl(directory)) {}

BufferedLogFactory::~BufferedLogFactory() = default;

FIX::Log* BufferedLogFactory::create() {
  // One log for the acceptor, however often it is asked for (as FileLog).
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->global != nullptr) {
      ++impl_->global_users;
      return impl_->global;
    }
  }
  FIX::Log* global = new SessionLog(impl_->writer, impl_->directory + "/GLOBAL");
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->global = global;
  impl_->global_users = 1;
  return global;
}

FIX::Log* BufferedLogFactory::create(const FIX::SessionID& session) {
  return new SessionLog(impl_->writer, impl_->directory + "/" + session_prefix(session));
}

void BufferedLogFactory::destroy(FIX::Log* log) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (log == impl_->global) {
      if (--impl_->global_users > 0) return;
      impl_->global = nullptr;
    }
  }
  delete log;
}

}  // namespace fix
}  // namespace gpux

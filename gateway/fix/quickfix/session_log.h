// QuickFIX's session logs in the files and format of its FileLog (under the
// log directory, `FIX.4.4-GPUX-<client>.messages.current.log` and
// `.event.current.log`, `GLOBAL.*` for the acceptor), but message lines are
// written in batches by one thread, every 100 ms or once 256 KiB wait.
// FileLog wrote and flushed every message in and out: 5% of the machine at
// 20k orders/s. Events (logons, logouts, rejects, errors) are written at
// once. Killed, gpuxd loses at most the last 100 ms of message lines; the
// journal and the session store, not this log, are the record. Passwords
// in Logons are written as "***".
#pragma once

#include <quickfix/Log.h>

#include <memory>
#include <string>

namespace gpux {
namespace fix {

class BufferedLogFactory : public FIX::LogFactory {
 public:
  // Creates `directory` if needed. Throws FIX::ConfigError when a log file
  // cannot be opened.
  explicit BufferedLogFactory(const std::string& directory);
  // Writes everything still waiting.
  ~BufferedLogFactory() override;
  BufferedLogFactory(const BufferedLogFactory&) = delete;
  BufferedLogFactory& operator=(const BufferedLogFactory&) = delete;

  FIX::Log* create() override;
  FIX::Log* create(const FIX::SessionID& session) override;
  void destroy(FIX::Log* log) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fix
}  // namespace gpux

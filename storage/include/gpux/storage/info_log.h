// RocksDB's own diagnostics ("info log") for every database gpux opens. By
// default RocksDB writes them to a LOG file beside the data, so on a full
// disk its report of the failure fails too (Debian's build then aborts on an
// assertion inside the library). gpux sends warnings and errors to the
// process's standard error instead, prefixed with the database's name: they
// cost no disk of the journal's, and reach the operator's log.
#pragma once

#include <memory>
#include <string>

namespace rocksdb {
class Logger;
}

namespace gpux::storage {

// A logger for DBOptions::info_log: WARN and above, one line each on stderr
// as "gpuxd: rocksdb NAME: message".
std::shared_ptr<rocksdb::Logger> stderr_info_log(std::string name);

}  // namespace gpux::storage

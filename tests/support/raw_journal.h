// The journal's RocksDB opened directly, as a disk fault or an intruder would
// see it: for tests that damage records behind the journal's back.
#pragma once

#include <rocksdb/db.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpux/matching/types.h"

namespace gpux::test {

class RawJournal {
 public:
  explicit RawJournal(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    ok(rocksdb::DB::ListColumnFamilies({}, dir.string(), &names));
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& name : names) {
      if (name == "journal") journal_ = families.size();
      names_.push_back(name);
      families.emplace_back(name, rocksdb::ColumnFamilyOptions{});
    }
    rocksdb::DB* raw = nullptr;
    ok(rocksdb::DB::Open({}, dir.string(), families, &handles_, &raw));
    db_.reset(raw);
  }
  ~RawJournal() {
    for (auto* h : handles_)
      db_->DestroyColumnFamilyHandle(h);
  }

  static std::string key(matching::SequenceNumber s) {
    std::string k(8, '\0');
    for (int i = 7; i >= 0; --i, s >>= 8)
      k[static_cast<std::size_t>(i)] = static_cast<char>(s & 0xFF);
    return k;
  }
  std::string get(matching::SequenceNumber s) {
    std::string value;
    ok(db_->Get({}, handles_[journal_], key(s), &value));
    return value;
  }
  void put(matching::SequenceNumber s, const std::string& value) {
    ok(db_->Put({}, handles_[journal_], key(s), value));
  }
  void erase(matching::SequenceNumber s) { ok(db_->Delete({}, handles_[journal_], key(s))); }

  // Deletes the first key starting with `prefix` in column family `family`;
  // false if there is none.
  bool erase_first(const std::string& family, const std::string& prefix) {
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == family) handle = handles_[i];
    if (handle == nullptr) throw std::runtime_error("no column family " + family);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, handle));
    it->Seek(prefix);
    if (!it->Valid() || !it->key().starts_with(prefix)) return false;
    ok(db_->Delete({}, handle, it->key()));
    return true;
  }

 private:
  static void ok(const rocksdb::Status& status) {
    if (!status.ok()) throw std::runtime_error(status.ToString());
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<std::string> names_;
  std::size_t journal_ = 0;
};

}  // namespace gpux::test

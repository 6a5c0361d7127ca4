// Command-line walking shared by the benchmark programs: flags, options with
// a value, --help, and a clear exit 2 naming what was wrong.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace gpux::bench {

class Arguments {
 public:
  using Usage = void (*)(const char* program);

  Arguments(int argc, char** argv, Usage usage) : argc_(argc), argv_(argv), usage_(usage) {}

  // Moves to the next argument; false at the end. Handles --help itself.
  bool next() {
    if (++at_ >= argc_) return false;
    current_ = argv_[at_];
    if (current_ == "--help" || current_ == "-h") {
      usage_(argv_[0]);
      std::exit(0);
    }
    return true;
  }

  bool is(const char* name) const { return current_ == name; }
  // The argument at hand, for positional ones.
  const std::string& current() const { return current_; }

  const char* value() {
    if (at_ + 1 >= argc_) fail(current_ + " needs a value");
    return argv_[++at_];
  }

  std::size_t count(std::size_t minimum) {
    const char* text = value();
    char* end = nullptr;
    const unsigned long long n = std::strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0' || n < minimum)
      fail(current_ + " takes a whole number of at least " + std::to_string(minimum) + ", not '" +
           text + "'");
    return static_cast<std::size_t>(n);
  }

  [[noreturn]] void unknown() { fail("unknown argument '" + current_ + "'"); }

 private:
  [[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "%s\n", what.c_str());
    usage_(argv_[0]);
    std::exit(2);
  }

  int argc_;
  char** argv_;
  Usage usage_;
  int at_ = 0;
  std::string current_;
};

}  // namespace gpux::bench

// Operator subcommands of gpux, built as C++20 (they use the stores and the
// engine) and called from gpux's C++14 entry point through this plain header.
#pragma once

// argv[0] is the first argument after the subcommand's name.
int gpux_audit(int argc, char** argv);
int gpux_report(int argc, char** argv);
int gpux_provider(int argc, char** argv);

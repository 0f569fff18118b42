#pragma once

// Runs the CLI in-process for the cli tests: `cairn ARGS…` parsed by the real command tree,
// stdout and stderr captured.

#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace cairn::cli::harness {

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline Run run(std::vector<std::string> args) {
  CLI::App app{"test", "cairn"};
  app.require_subcommand(1);
  Run r;
  int code = 0;
  register_client_commands(app, code);
  std::vector<const char*> argv{"cairn"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::stringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    r.exit_code = code;
  } catch (const CLI::ParseError& e) {
    r.exit_code = app.exit(e);
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace cairn::cli::harness

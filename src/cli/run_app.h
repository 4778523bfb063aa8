// The end of every command-line main(): parse (which runs the chosen command's callback, storing
// its Status in `result`), answer --help/--version, report usage errors and the command's error,
// and return the exit code. Shared by `edl` and `edl-api`.
#pragma once

#include <functional>
#include <iostream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/exit_codes.h"
#include "cli/render.h"
#include "core/status.h"

namespace edl::cli {

inline int ParseAndRun(CLI::App& app, int argc, char** argv, const Status& result, std::string_view program,
                       const std::function<OutputFormat()>& format) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << program << ": " << e.what() << "\nRun '" << program << " --help' (or '" << program
              << " COMMAND --help') for usage.\n";
    return kExitUsage;
  }
  if (!result.ok()) {
    PrintError(std::cerr, program, result, format());
    return ExitCodeFor(result.code());
  }
  return kExitOk;
}

}  // namespace edl::cli

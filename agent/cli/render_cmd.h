// `ipo-netctl render nginx [--spec F] [--out F] [--target rocky8|debian12]`: renders the
// nginx configuration of the ipo.com site from its spec (agent/render). The output goes to
// stdout or, with --out, replaces F atomically (temp file in the same directory, fsync,
// rename); on any error nothing is written, the message goes to stderr and the command
// fails with CLI::RuntimeError(1) (which CLI::App::exit reports as exit code 1, silently).
//
// Thread safety: registration and parsing run on the main thread only.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "common/status.h"

namespace ipo::cli {

inline constexpr const char* kDefaultNginxSpec = "/etc/ipo/nginx/ipo.com.json";

// Adds the `render` subcommand (with `render nginx`) to `app`.
void RegisterRenderCommand(CLI::App& app);

// The work behind `render nginx`, callable from tests. Empty `out` means stdout.
Status RunRenderNginx(const std::string& spec_path, const std::string& out_path,
                      const std::string& target);

// Writes `data` to `path` through a temp file in the same directory: fsync, then rename.
// On failure the temp file is removed and `path` is untouched.
Status WriteFileAtomically(const std::string& path, const std::string& data);

}  // namespace ipo::cli

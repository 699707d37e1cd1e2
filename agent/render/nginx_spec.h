// NginxSpec: the single source of truth for the ipo.com nginx site (rules/nginx/ipo.com.json)
// and its parser. The parser is strict (common/json_reader.h): every key is known, every value
// is checked, and a bad spec yields a Status naming the source, the line and the key path at
// fault ("ipo.com.json:7: key \"tls.certificate\" must be a string, got number"), or the line
// and column of a JSON syntax error. The text is bounded before it is parsed (JsonLimits'
// defaults: 1 MiB, 64 levels of nesting, strings of 4096 bytes). Values that end up inside
// nginx directives are checked so that they cannot break out of them (no quotes, ';', braces
// or whitespace).
//
// Thread safety: pure functions over values; safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ipo::render {

// The targets the renderer knows; php-fpm socket paths may differ per target.
inline constexpr std::string_view kTargetNames[] = {"debian12", "rocky8"};

struct NginxSpec {
  int version = 1;
  std::string domain;  // e.g. "ipo.com"

  struct Listen {
    int http_port = 80;
    int https_port = 443;
    bool ipv6 = true;
  } listen;

  struct Stapling {
    std::string trusted_certificate;     // CA chain used to verify OCSP responses
    std::vector<std::string> resolvers;  // DNS servers nginx asks for the OCSP responder
  };
  struct Tls {
    std::string certificate;  // full chain, PEM
    std::string certificate_key;
    int64_t hsts_max_age = 63072000;
    std::optional<Stapling> ocsp_stapling;  // only where a CA chain exists
  } tls;

  struct Bot {
    std::vector<std::string> user_agent_keywords;  // matched case-insensitively
    std::string server;                            // server_bot, e.g. "bot.ipo.com"
    int port = 80;
    std::string scheme = "http";  // "http" or "https"
  } bot;

  struct Api {
    std::string root;  // /api/{name} runs <root>/api/{name}.php
    // php-fpm socket per target name; key "*" applies to every target.
    std::map<std::string, std::string> php_fpm_socket;
    double rate_per_second = 1.5;
    int burst = 0;
    int zone_megabytes = 10;
  } api;

  struct Static {
    std::string root;  // /static/x is <root>/static/x
    int64_t max_age = 86400;
    int64_t immutable_max_age = 31536000;  // for fingerprinted names (app.3f2a9c1d.js)
  } static_files;

  // Cached open files / stat() results for the whole site: `valid_seconds` is how long a
  // changed or removed file may still be seen as it was.
  struct OpenFileCache {
    int max = 10000;
    int inactive_seconds = 60;
    int valid_seconds = 60;
  } open_file_cache;

  struct Site {
    std::string root;                      // every other request
    std::vector<std::string> index_files;  // tried in order, relative to root
    std::string fallback;                  // last resort URI, e.g. "/api/request"
  } site;

  struct Logs {
    std::string access_log;
    std::string error_log;
  } logs;
};

// Parses and validates the JSON text of a spec. `source` names it in messages (a path).
Result<NginxSpec> ParseNginxSpec(std::string_view json_text, const std::string& source);

}  // namespace ipo::render

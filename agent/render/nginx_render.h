// RenderNginx: turns an NginxSpec into the nginx configuration of the ipo.com site, for one
// target platform. The output is an http{}-context file (Debian 12:
// /etc/nginx/sites-enabled/ipo.com.conf, Rocky 8: /etc/nginx/conf.d/ipo.com.conf) and is
// deterministic: the same spec and target always give the same bytes (golden tests and the
// committed rules/nginx/ipo.com.<target>.conf rely on it).
//
// Version-specific syntax follows the target's nginx version: `listen ... ssl http2` before
// 1.25.1 and `http2 on;` from it; `ssl_reject_handshake` (>= 1.19.4) for the catch-all TLS
// server, or the site certificate where it is missing.
//
// Thread safety: pure functions over values; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "render/nginx_spec.h"

namespace ipo::render {

struct NginxTarget {
  std::string name;         // "debian12", "rocky8"
  std::string description;  // for the header comment
  int major = 1, minor = 22, patch = 1;
  std::string install_path;  // where the rendered file goes on that platform

  bool AtLeast(int ma, int mi, int pa) const {
    if (major != ma) return major > ma;
    if (minor != mi) return minor > mi;
    return patch >= pa;
  }
};

// The known targets; an unknown name is an InvalidArgument naming the valid ones.
Result<NginxTarget> NginxTargetByName(std::string_view name);

// REQUIRES: `spec` came from ParseNginxSpec. Fails only when the spec has no php-fpm socket
// for `target`.
Result<std::string> RenderNginx(const NginxSpec& spec, const NginxTarget& target);

}  // namespace ipo::render

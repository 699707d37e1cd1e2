// libFuzzer target for the nginx spec reader: any bytes given to ParseNginxSpec must yield a
// spec or an error naming the source, never a crash, a leak or a stall; a spec that parses
// must render for every known target (RenderNginx's REQUIRES). Seeds:
// tests/fuzz/corpus/nginx_spec_fuzz/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "render/nginx_render.h"
#include "render/nginx_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ipo::Result<ipo::render::NginxSpec> spec = ipo::render::ParseNginxSpec(text, "fuzz/ipo.com.json");
  if (!spec.ok()) {
    if (spec.status().ToString().find("fuzz/ipo.com.json") == std::string_view::npos) std::abort();
    return 0;
  }
  for (std::string_view name : ipo::render::kTargetNames) {
    ipo::Result<ipo::render::NginxTarget> target = ipo::render::NginxTargetByName(name);
    if (!target.ok()) std::abort();
    // Only a missing php-fpm socket for this target may fail the rendering.
    const auto& sockets = spec->api.php_fpm_socket;
    const bool has_socket = sockets.count(std::string(name)) != 0 || sockets.count("*") != 0;
    ipo::Result<std::string> conf = ipo::render::RenderNginx(*spec, *target);
    if (conf.ok() != has_socket || (conf.ok() && conf->empty())) std::abort();
  }
  return 0;
}

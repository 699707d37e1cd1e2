#include "docker/disk_ports.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <tuple>

#include "common/json_limits.h"
#include "docker/object_codec.h"

namespace ipo::docker {
namespace {

constexpr JsonLimits kHostConfigLimits{/*max_bytes=*/1 << 20, /*max_depth=*/32, /*max_string=*/65536};

}  // namespace

DiskPorts ReadDiskPortBindings(const std::string& docker_root) {
  namespace fs = std::filesystem;
  DiskPorts out;
  std::error_code ec;
  fs::path dir = fs::path(docker_root) / "containers";
  if (!fs::is_directory(dir, ec)) return out;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    fs::path f = it->path() / "hostconfig.json";
    if (fs::is_regular_file(f, ec)) files.push_back(f);
  }
  if (ec) out.problems.push_back(dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    std::string text;
    if (!ReadBounded(f.string(), kHostConfigLimits, text)) {
      out.problems.push_back(f.string() + ": cannot be read");
      continue;
    }
    Status bounded = CheckJsonLimits(text, f.string(), kHostConfigLimits);
    if (!bounded.ok()) {
      out.problems.push_back(bounded.message());
      continue;
    }
    auto bindings = DecodeHostConfigPortBindings(text);
    if (!bindings.ok()) {
      out.problems.push_back(f.string() + ": " + bindings.status().message());
      continue;
    }
    ++out.containers;
    for (const PortBinding& b : *bindings)
      if (b.host_port != 0) out.bindings.push_back(b);
  }
  std::sort(out.bindings.begin(), out.bindings.end(), [](const PortBinding& a, const PortBinding& b) {
    return std::tie(a.proto, a.host_port, a.host_ip, a.container_port) <
           std::tie(b.proto, b.host_port, b.host_ip, b.container_port);
  });
  return out;
}

std::string DockerDataRoot(const std::string& daemon_json) {
  std::string text;
  if (ReadBounded(daemon_json, kHostConfigLimits, text) &&
      CheckJsonLimits(text, daemon_json, kHostConfigLimits).ok()) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("data-root") && j["data-root"].is_string() &&
        !j["data-root"].get<std::string>().empty())
      return j["data-root"].get<std::string>();
  }
  return "/var/lib/docker";
}

}  // namespace ipo::docker

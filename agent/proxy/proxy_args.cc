#include "proxy/proxy_args.h"

#include <charconv>
#include <map>

namespace ipo::proxy {
namespace {

Result<uint16_t> ParsePort(const std::string& flag, const std::string& v) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || value > 65535) {
    return Status::InvalidArgument("-" + flag + ": \"" + v + "\" is not a port number (0-65535)");
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<ProxyArgs> ParseProxyArgs(const std::vector<std::string>& args) {
  ProxyArgs out;
  std::map<std::string, std::string> values;
  static const char* const kFlags[] = {"proto", "host-ip", "host-port", "container-ip", "container-port"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') return Status::InvalidArgument("unexpected argument \"" + a + "\"");
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    if (name == "h" || name == "help") {
      out.help = true;
      return out;
    }
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    bool known = false;
    for (const char* f : kFlags) known = known || name == f;
    if (!known) return Status::InvalidArgument("unknown flag -" + name);
    if (!has_value) {
      if (i + 1 >= args.size()) return Status::InvalidArgument("-" + name + " needs a value");
      value = args[++i];
    }
    values[name] = value;
  }
  for (const char* f : kFlags) {
    if (!values.count(f)) return Status::InvalidArgument(std::string("-") + f + " is required");
  }
  out.proto = values["proto"];
  if (out.proto != "tcp" && out.proto != "udp" && out.proto != "sctp") {
    return Status::InvalidArgument("-proto: \"" + out.proto + "\" is not tcp, udp or sctp");
  }
  out.host_ip = values["host-ip"];
  out.container_ip = values["container-ip"];
  auto hp = ParsePort("host-port", values["host-port"]);
  if (!hp.ok()) return hp.status();
  auto cp = ParsePort("container-port", values["container-port"]);
  if (!cp.ok()) return cp.status();
  out.host_port = *hp;
  out.container_port = *cp;
  return out;
}

}  // namespace ipo::proxy

#include "docker/object_codec.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include "docker/json_fields.h"

namespace ipo::docker {

using internal::Json;

namespace {

constexpr char kBridgeNameOption[] = "com.docker.network.bridge.name";
constexpr char kIccOption[] = "com.docker.network.bridge.enable_icc";

// "80/tcp" -> {80, "tcp"}; a missing protocol means tcp.
std::pair<uint16_t, std::string> ParsePortKey(const std::string& key, const std::string& path) {
  const size_t slash = key.find('/');
  const std::string number = key.substr(0, slash);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), port);
  if (ec != std::errc() || end != number.data() + number.size() || port > 65535) {
    throw internal::DecodeError("field " + path + ": '" + key + "' is not <port>/<proto>");
  }
  std::string proto = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
  return {static_cast<uint16_t>(port), proto};
}

uint16_t ParseHostPort(const std::string& text, const std::string& path) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port > 65535) {
    throw internal::DecodeError("field " + path + ": '" + text + "' is not a port number");
  }
  return static_cast<uint16_t>(port);
}

// {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "81/tcp": null} -> sorted bindings.
std::vector<PortBinding> PortBindingsFromJson(const Json& ports, const std::string& where) {
  std::vector<PortBinding> out;
  for (const auto& [key, bindings] : ports.items()) {
    const std::string path = where + "[\"" + key + "\"]";
    auto [container_port, proto] = ParsePortKey(key, path);
    if (bindings.is_null()) continue;  // exposed, not published
    internal::ExpectArray(bindings, path);
    for (size_t i = 0; i < bindings.size(); ++i) {
      const std::string item = path + "[" + std::to_string(i) + "]";
      internal::ExpectObject(bindings[i], item);
      PortBinding pb;
      pb.proto = proto;
      pb.container_port = container_port;
      pb.host_ip = internal::String(bindings[i], item, "HostIp");
      std::string host_port = internal::String(bindings[i], item, "HostPort");
      pb.host_port = host_port.empty() ? 0 : ParseHostPort(host_port, item + ".HostPort");
      out.push_back(std::move(pb));
    }
  }
  std::sort(out.begin(), out.end(), [](const PortBinding& a, const PortBinding& b) {
    return std::tie(a.container_port, a.proto, a.host_ip, a.host_port) <
           std::tie(b.container_port, b.proto, b.host_ip, b.host_port);
  });
  return out;
}

ContainerInfo ContainerFromJson(const Json& doc) {
  internal::ExpectObject(doc, "");
  ContainerInfo c;
  c.id = internal::String(doc, "", "Id");
  if (c.id.empty()) throw internal::DecodeError("field Id is missing");
  c.name = internal::String(doc, "", "Name");
  if (!c.name.empty() && c.name.front() == '/') c.name.erase(0, 1);
  const Json& state = internal::Object(doc, "", "State");
  c.state = internal::String(state, "State", "Status");
  c.running = internal::Bool(state, "State", "Running");
  c.pid = c.running ? static_cast<int>(internal::Int(state, "State", "Pid")) : 0;

  const Json& settings = internal::Object(doc, "", "NetworkSettings");
  const Json& networks = internal::Object(settings, "NetworkSettings", "Networks");
  for (const auto& [name, net] : networks.items()) {
    const std::string path = "NetworkSettings.Networks[\"" + name + "\"]";
    internal::ExpectObject(net, path);
    Endpoint ep;
    ep.network = name;
    ep.network_id = internal::String(net, path, "NetworkID");
    ep.ipv4 = internal::String(net, path, "IPAddress");
    ep.ipv6 = internal::String(net, path, "GlobalIPv6Address");
    c.endpoints.push_back(std::move(ep));
  }

  c.ports = PortBindingsFromJson(internal::Object(settings, "NetworkSettings", "Ports"), "NetworkSettings.Ports");
  const Json& host_config = internal::Object(doc, "", "HostConfig");
  c.configured_ports =
      PortBindingsFromJson(internal::Object(host_config, "HostConfig", "PortBindings"), "HostConfig.PortBindings");
  return c;
}

NetworkInfo NetworkFromJson(const Json& doc, const std::string& where) {
  internal::ExpectObject(doc, where);
  NetworkInfo n;
  n.id = internal::String(doc, where, "Id");
  if (n.id.empty()) throw internal::DecodeError("field " + internal::FieldPath(where, "Id") +
                                                " is missing");
  n.name = internal::String(doc, where, "Name");
  n.driver = internal::String(doc, where, "Driver");
  n.ipv6 = internal::Bool(doc, where, "EnableIPv6");
  std::map<std::string, std::string> options;
  const std::string options_path = internal::FieldPath(where, "Options");
  const Json& opts = internal::Object(doc, where, "Options");
  for (const auto& [key, value] : opts.items()) {
    options[key] = internal::String(opts, options_path, key.c_str());
  }
  n.bridge_name = BridgeName(n.name, n.driver, n.id, options);
  const std::string ipam_path = internal::FieldPath(where, "IPAM");
  const Json& ipam = internal::Object(doc, where, "IPAM");
  const std::string config_path = internal::FieldPath(ipam_path, "Config");
  const Json& config = internal::Array(ipam, ipam_path, "Config");
  for (size_t i = 0; i < config.size(); ++i) {
    const std::string item = config_path + "[" + std::to_string(i) + "]";
    internal::ExpectObject(config[i], item);
    std::string subnet = internal::String(config[i], item, "Subnet");
    if (!subnet.empty()) n.subnets.push_back(std::move(subnet));
  }
  return n;
}

}  // namespace

Result<ContainerInfo> DecodeContainer(std::string_view json) {
  return internal::Decode<ContainerInfo>("Docker container JSON", [&] {
    return ContainerFromJson(internal::ParseJson(json));
  });
}

Result<std::vector<PortBinding>> DecodeHostConfigPortBindings(std::string_view json) {
  return internal::Decode<std::vector<PortBinding>>("Docker hostconfig.json", [&] {
    const Json doc = internal::ParseJson(json);
    internal::ExpectObject(doc, "");
    return PortBindingsFromJson(internal::Object(doc, "", "PortBindings"), "PortBindings");
  });
}

Result<std::vector<std::string>> DecodeContainerIds(std::string_view json) {
  return internal::Decode<std::vector<std::string>>("Docker container list JSON", [&] {
    const Json doc = internal::ParseJson(json);
    internal::ExpectArray(doc, "");
    std::vector<std::string> ids;
    for (size_t i = 0; i < doc.size(); ++i) {
      const std::string item = "[" + std::to_string(i) + "]";
      internal::ExpectObject(doc[i], item);
      std::string id = internal::String(doc[i], item, "Id");
      if (id.empty()) throw internal::DecodeError("field " + item + ".Id is missing");
      ids.push_back(std::move(id));
    }
    return ids;
  });
}

Result<NetworkInfo> DecodeNetwork(std::string_view json) {
  return internal::Decode<NetworkInfo>("Docker network JSON", [&] {
    return NetworkFromJson(internal::ParseJson(json), "");
  });
}

Result<std::vector<NetworkInfo>> DecodeNetworks(std::string_view json) {
  return internal::Decode<std::vector<NetworkInfo>>("Docker network list JSON", [&] {
    const Json doc = internal::ParseJson(json);
    internal::ExpectArray(doc, "");
    std::vector<NetworkInfo> networks;
    for (size_t i = 0; i < doc.size(); ++i) {
      networks.push_back(NetworkFromJson(doc[i], "[" + std::to_string(i) + "]"));
    }
    return networks;
  });
}

std::string BridgeName(const std::string& name, const std::string& driver, const std::string& id,
                       const std::map<std::string, std::string>& options) {
  if (driver != "bridge") return "";
  auto it = options.find(kBridgeNameOption);
  if (it != options.end() && !it->second.empty()) return it->second;
  if (name == "bridge") return "docker0";
  return "br-" + id.substr(0, 12);
}

Result<std::string> DecodeApiVersion(std::string_view json) {
  return internal::Decode<std::string>("Docker /version JSON", [&] {
    const Json doc = internal::ParseJson(json);
    internal::ExpectObject(doc, "");
    std::string version = internal::String(doc, "", "ApiVersion");
    if (version.empty()) throw internal::DecodeError("field ApiVersion is missing");
    return version;
  });
}

std::string DecodeErrorMessage(std::string_view body) {
  const Json doc = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    auto it = doc.find("message");
    if (it != doc.end() && it->is_string()) return it->get<std::string>();
  }
  constexpr size_t kMaxBytes = 200;
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "(empty body)";
  const size_t last = body.find_last_not_of(" \t\r\n");
  std::string text(body.substr(first, last - first + 1));
  if (text.size() > kMaxBytes) text = text.substr(0, kMaxBytes) + "...";
  return text;
}

Result<std::string> EncodeNetworkCreate(const NetworkSpec& spec) {
  constexpr size_t kMaxIfName = 15;
  if (spec.name.empty()) return Status::InvalidArgument("network spec: name is empty");
  if (spec.bridge_name.size() > kMaxIfName) {
    return Status::InvalidArgument("network spec " + spec.name + ": bridge_name '" +
                                   spec.bridge_name + "' is longer than 15 bytes");
  }
  Json config = Json::array();
  if (!spec.subnet_v4.empty()) config.push_back({{"Subnet", spec.subnet_v4}});
  if (!spec.subnet_v6.empty()) config.push_back({{"Subnet", spec.subnet_v6}});
  Json options = Json::object();
  if (!spec.bridge_name.empty()) options[kBridgeNameOption] = spec.bridge_name;
  options[kIccOption] = spec.icc ? "true" : "false";
  Json labels = Json::object();
  for (const auto& [key, value] : spec.labels) labels[key] = value;
  const Json body = {
      {"Name", spec.name},
      {"CheckDuplicate", true},
      {"Driver", "bridge"},
      {"EnableIPv6", !spec.subnet_v6.empty()},
      {"IPAM", {{"Driver", "default"}, {"Config", config}}},
      {"Options", options},
      {"Labels", labels},
  };
  return body.dump();
}

int CompareApiVersions(std::string_view a, std::string_view b) {
  auto parse = [](std::string_view v) {
    int major = 0;
    int minor = 0;
    const size_t dot = v.find('.');
    std::from_chars(v.data(), v.data() + (dot == std::string_view::npos ? v.size() : dot), major);
    if (dot != std::string_view::npos) std::from_chars(v.data() + dot + 1, v.data() + v.size(), minor);
    return std::pair{major, minor};
  };
  const auto pa = parse(a);
  const auto pb = parse(b);
  if (pa == pb) return 0;
  return pa < pb ? -1 : 1;
}

}  // namespace ipo::docker

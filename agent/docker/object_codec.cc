#include "docker/object_codec.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <tuple>

#include <nlohmann/json.hpp>

#include "docker/docker_json.h"

namespace ipo::docker {

using Json = nlohmann::json;

namespace {

constexpr char kBridgeNameOption[] = "com.docker.network.bridge.name";
constexpr char kIccOption[] = "com.docker.network.bridge.enable_icc";

// "80/tcp" -> {80, "tcp"}; a missing protocol means tcp. `at` is the key's value.
std::pair<uint16_t, std::string> ParsePortKey(const std::string& key, const JsonValue& at) {
  const size_t slash = key.find('/');
  const std::string number = key.substr(0, slash);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), port);
  if (ec != std::errc() || end != number.data() + number.size() || port > 65535) {
    at.Fail("'" + key + "' is not <port>/<proto>");
  }
  std::string proto = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
  return {static_cast<uint16_t>(port), proto};
}

// The string `v` as a port number; 0 when absent or "".
uint16_t HostPort(const std::optional<JsonValue>& v) {
  const std::string text = v ? v->String() : "";
  if (text.empty()) return 0;
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port > 65535) {
    v->Fail("'" + text + "' is not a port number");
  }
  return static_cast<uint16_t>(port);
}

// {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "81/tcp": null} -> sorted bindings.
std::vector<PortBinding> PortBindingsFromJson(const std::optional<JsonValue>& ports) {
  std::vector<PortBinding> out;
  if (!ports) return out;
  ports->ForEachMember([&](const std::string& key, const JsonValue& bindings) {
    auto [container_port, proto] = ParsePortKey(key, bindings);
    if (bindings.is_null()) return;  // exposed, not published
    for (size_t i = 0; i < bindings.size(); ++i) {
      const JsonValue item = bindings.At(i);
      PortBinding pb;
      pb.proto = proto;
      pb.container_port = container_port;
      pb.host_ip = item.StringOr("HostIp", "");
      pb.host_port = HostPort(item.Find("HostPort"));
      out.push_back(std::move(pb));
    }
  });
  std::sort(out.begin(), out.end(), [](const PortBinding& a, const PortBinding& b) {
    return std::tie(a.container_port, a.proto, a.host_ip, a.host_port) <
           std::tie(b.container_port, b.proto, b.host_ip, b.host_port);
  });
  return out;
}

ContainerInfo ContainerFromJson(const JsonValue& doc) {
  ContainerInfo c;
  c.id = doc.Get("Id").NonEmptyString();
  c.name = doc.StringOr("Name", "");
  if (!c.name.empty() && c.name.front() == '/') c.name.erase(0, 1);
  if (std::optional<JsonValue> state = doc.Find("State")) {
    c.state = state->StringOr("Status", "");
    c.running = state->BoolOr("Running", false);
    c.pid = c.running ? static_cast<int>(state->IntOr("Pid", 0)) : 0;
  }
  if (std::optional<JsonValue> settings = doc.Find("NetworkSettings")) {
    if (std::optional<JsonValue> networks = settings->Find("Networks")) {
      networks->ForEachMember([&](const std::string& name, const JsonValue& net) {
        net.ExpectObject();
        c.endpoints.push_back(Endpoint{name, net.StringOr("NetworkID", ""), net.StringOr("IPAddress", ""),
                                       net.StringOr("GlobalIPv6Address", "")});
      });
    }
    c.ports = PortBindingsFromJson(settings->Find("Ports"));
  }
  if (std::optional<JsonValue> host_config = doc.Find("HostConfig")) {
    c.configured_ports = PortBindingsFromJson(host_config->Find("PortBindings"));
    c.network_mode = host_config->StringOr("NetworkMode", "");
  }
  return c;
}

NetworkInfo NetworkFromJson(const JsonValue& doc) {
  NetworkInfo n;
  n.id = doc.Get("Id").NonEmptyString();
  n.name = doc.StringOr("Name", "");
  n.driver = doc.StringOr("Driver", "");
  n.ipv6 = doc.BoolOr("EnableIPv6", false);
  std::map<std::string, std::string> options;
  if (std::optional<JsonValue> opts = doc.Find("Options")) {
    opts->ForEachMember([&](const std::string& key, const JsonValue& value) {
      options[key] = value.is_null() ? "" : value.String();
    });
  }
  n.bridge_name = BridgeName(n.name, n.driver, n.id, options);
  std::optional<JsonValue> ipam = doc.Find("IPAM");
  std::optional<JsonValue> config = ipam ? ipam->Find("Config") : std::nullopt;
  for (size_t i = 0; config && i < config->size(); ++i) {
    std::string subnet = config->At(i).StringOr("Subnet", "");
    if (!subnet.empty()) n.subnets.push_back(std::move(subnet));
  }
  return n;
}

}  // namespace

Result<ContainerInfo> DecodeContainer(std::string_view json) {
  return internal::Decode<ContainerInfo>("Docker container JSON", json, ContainerFromJson);
}

Result<std::vector<PortBinding>> DecodeHostConfigPortBindings(std::string_view json) {
  return internal::Decode<std::vector<PortBinding>>("Docker hostconfig.json", json, [](const JsonValue& doc) {
    return PortBindingsFromJson(doc.Find("PortBindings"));
  });
}

Result<std::vector<std::string>> DecodeContainerIds(std::string_view json) {
  return internal::Decode<std::vector<std::string>>("Docker container list JSON", json, [](const JsonValue& doc) {
    std::vector<std::string> ids;
    for (size_t i = 0; i < doc.size(); ++i) ids.push_back(doc.At(i).Get("Id").NonEmptyString());
    return ids;
  });
}

Result<NetworkInfo> DecodeNetwork(std::string_view json) {
  return internal::Decode<NetworkInfo>("Docker network JSON", json, NetworkFromJson);
}

Result<std::vector<NetworkInfo>> DecodeNetworks(std::string_view json) {
  return internal::Decode<std::vector<NetworkInfo>>("Docker network list JSON", json, [](const JsonValue& doc) {
    std::vector<NetworkInfo> networks;
    for (size_t i = 0; i < doc.size(); ++i) networks.push_back(NetworkFromJson(doc.At(i)));
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
  return internal::Decode<std::string>("Docker /version JSON", json,
                                       [](const JsonValue& doc) { return doc.Get("ApiVersion").NonEmptyString(); });
}

std::string DecodeErrorMessage(std::string_view body) {
  auto message = internal::Decode<std::string>("Docker error body", body,
                                               [](const JsonValue& doc) { return doc.Get("message").String(); });
  if (message.ok()) return *message;
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

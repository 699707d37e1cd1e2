#include "model/observed_json.h"

#include "common/json_field.h"

namespace ipo::model {
namespace {

using nlohmann::json;

// Calls `read(element, its path)` for each element of `array` (which stands at `path`).
template <typename F>
void ForEachIn(const json& array, const std::string& path, F&& read) {
  ExpectJsonArray(array, path);
  for (size_t i = 0; i < array.size(); ++i) read(array[i], JsonIndex(path, i));
}

Observed Decode(const json& j, std::string_view path) {
  ExpectJsonObject(j, path);
  Observed o;
  const json* containers = FindMember(j, "containers");
  const json* ports = FindMember(j, "proxy_ports");
  if (containers == nullptr) throw JsonFieldError(JsonPath(path, "containers") + ": missing");
  if (ports == nullptr) throw JsonFieldError(JsonPath(path, "proxy_ports") + ": missing");
  ForEachIn(*containers, JsonPath(path, "containers"), [&](const json& c, const std::string& at) {
    o.containers.push_back({Field<std::string>(c, at, "name"), Field<std::string>(c, at, "id"),
                            Field<bool>(c, at, "running"), Field<std::string>(c, at, "ipv4"),
                            Field<std::string>(c, at, "ipv6")});
  });
  ForEachIn(*ports, JsonPath(path, "proxy_ports"), [&](const json& p, const std::string& at) {
    o.proxy_ports.push_back({Field<uint8_t>(p, at, "proto"), Field<uint16_t>(p, at, "port")});
  });
  if (const json* published = FindMember(j, "docker_published")) {
    ForEachIn(*published, JsonPath(path, "docker_published"), [&](const json& d, const std::string& at) {
      o.docker_published.push_back({Field<uint8_t>(d, at, "proto"), Field<uint16_t>(d, at, "host_port"),
                                    Field<bool>(d, at, "v6"), Field<std::string>(d, at, "host_ip"),
                                    Field<std::string>(d, at, "target"), Field<uint16_t>(d, at, "port"),
                                    Field<std::string>(d, at, "container")});
    });
  }
  o.bridges = FieldOr<std::vector<std::string>>(j, path, "bridges", {});
  o.default_bridge_v4 = FieldOr<std::string>(j, path, "default_bridge_v4", "");
  return o;
}

}  // namespace

json ObservedToJson(const Observed& o) {
  json containers = json::array();
  for (const auto& c : o.containers)
    containers.push_back({{"name", c.name}, {"id", c.id}, {"running", c.running}, {"ipv4", c.ipv4}, {"ipv6", c.ipv6}});
  json ports = json::array();
  for (const auto& p : o.proxy_ports) ports.push_back({{"proto", p.proto}, {"port", p.port}});
  json published = json::array();
  for (const auto& d : o.docker_published) {
    published.push_back({{"container", d.container}, {"proto", d.proto}, {"host_ip", d.host_ip},
                         {"host_port", d.host_port}, {"v6", d.v6}, {"target", d.target}, {"port", d.port}});
  }
  return {{"containers", containers},
          {"proxy_ports", ports},
          {"docker_published", published},
          {"bridges", o.bridges},
          {"default_bridge_v4", o.default_bridge_v4}};
}

Result<Observed> ObservedFromJson(const json& j, std::string_view path) {
  try {
    return Decode(j, path);
  } catch (const JsonFieldError& e) {
    return Status::InvalidArgument(e.what());
  }
}

}  // namespace ipo::model

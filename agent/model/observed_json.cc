#include "model/observed_json.h"

#include <cstdint>
#include <optional>

namespace ipo::model {
namespace {

using nlohmann::json;

// Calls `read(item)` for each item of the array `array`.
template <typename F>
void ForEachIn(const JsonValue& array, F&& read) {
  for (size_t i = 0; i < array.size(); ++i) read(array.At(i));
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

Observed ReadObserved(const JsonValue& v) {
  v.ExpectObject();
  Observed o;
  ForEachIn(v.Get("containers"), [&](const JsonValue& c) {
    o.containers.push_back({c.Get("name").String(), c.Get("id").String(), c.Get("running").Bool(),
                            c.Get("ipv4").String(), c.Get("ipv6").String()});
  });
  ForEachIn(v.Get("proxy_ports"), [&](const JsonValue& p) {
    o.proxy_ports.push_back({static_cast<uint8_t>(p.Get("proto").Uint(UINT8_MAX)),
                             static_cast<uint16_t>(p.Get("port").Uint(UINT16_MAX))});
  });
  if (std::optional<JsonValue> published = v.Find("docker_published")) {
    ForEachIn(*published, [&](const JsonValue& d) {
      o.docker_published.push_back({static_cast<uint8_t>(d.Get("proto").Uint(UINT8_MAX)),
                                    static_cast<uint16_t>(d.Get("host_port").Uint(UINT16_MAX)),
                                    d.Get("v6").Bool(), d.Get("host_ip").String(), d.Get("target").String(),
                                    static_cast<uint16_t>(d.Get("port").Uint(UINT16_MAX)),
                                    d.Get("container").String()});
    });
  }
  if (std::optional<JsonValue> bridges = v.Find("bridges")) o.bridges = bridges->Strings();
  o.default_bridge_v4 = v.StringOr("default_bridge_v4", "");
  return o;
}

}  // namespace ipo::model

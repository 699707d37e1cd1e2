// ObservedJson: the one JSON form of model::Observed. The state file (docs/state-format.md)
// holds its members at the top level, beside "generation" and the others; the status document
// (docs/status.md) holds them in "observed":
//   {"containers": [{"name": "docker_a", "id": "…", "running": true, "ipv4": "…", "ipv6": "…"}],
//    "proxy_ports": [{"proto": 6, "port": 9999}],
//    "docker_published": [{"container": "docker_b", "proto": 6, "host_ip": "", "host_port": 9999,
//                          "v6": false, "target": "172.30.1.3", "port": 3316}],
//    "bridges": ["br-1a2b3c4d5e6f"], "default_bridge_v4": "172.17.0.0/16"}
// ObservedToJson writes all five members. ObservedFromJson reads them from an object that may
// hold others; "containers" and "proxy_ports" are required, and every member of their
// elements; "docker_published", "bridges" and "default_bridge_v4" may be absent (state files
// written before the agent published -p bindings itself, or before issue 12). Errors name
// the member's path (common/json_field.h): "containers[1].ipv4: missing".
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.h"
#include "model/observed.h"

namespace ipo::model {

nlohmann::json ObservedToJson(const Observed& o);
// `path` is where the object stands in its document ("" at the top level, "observed"); errors
// are InvalidArgument "<path>.<member>: <problem>".
Result<Observed> ObservedFromJson(const nlohmann::json& j, std::string_view path);

}  // namespace ipo::model

// ObservedJson: the one JSON form of model::Observed. The state file (docs/state-format.md)
// holds its members at the top level, beside "generation" and the others; the status document
// (docs/status.md) holds them in "observed":
//   {"containers": [{"name": "docker_a", "id": "…", "running": true, "ipv4": "…", "ipv6": "…"}],
//    "proxy_ports": [{"proto": 6, "port": 9999}],
//    "docker_published": [{"container": "docker_b", "proto": 6, "host_ip": "", "host_port": 9999,
//                          "v6": false, "target": "172.30.1.3", "port": 3316}],
//    "bridges": ["br-1a2b3c4d5e6f"], "default_bridge_v4": "172.17.0.0/16"}
// ObservedToJson writes all five members. ReadObserved reads them from an object that may
// hold others (ignored); "containers" and "proxy_ports" are required, and every member of
// their elements; "docker_published", "bridges" and "default_bridge_v4" may be absent (state
// files written before the agent published -p bindings itself, or before issue 12).
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "common/json_reader.h"
#include "model/observed.h"

namespace ipo::model {

nlohmann::json ObservedToJson(const Observed& o);

// Reads the object `v` inside the ReadJson call that made it (common/json_reader.h): a
// missing member or one of the wrong type ends that read with an error naming the path,
// e.g. "s.json:4: observed.containers[1]: missing required key \"ipv4\"". Read with
// null_is_absent, a null member counts as absent, as the decoders always treated it.
Observed ReadObserved(const JsonValue& v);

}  // namespace ipo::model

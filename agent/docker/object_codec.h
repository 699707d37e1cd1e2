// JSON of the Docker Engine API objects the agent reads and writes, without I/O:
// decoders for GET /containers/{id}/json, /containers/json, /networks, /networks/{id},
// /version and error bodies; the encoder of POST /networks/create; API version arithmetic.
// Errors (InvalidArgument) read "<what>: <problem>", e.g.
// "Docker container JSON: body:1: State.Pid: must be an integer, got string" (docker_json.h).
//
// Thread safety: stateless functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "docker/docker_api.h"

namespace ipo::docker {

// The newest API version this client speaks.
inline constexpr std::string_view kMaxApiVersion = "1.41";

// GET /containers/{id}/json. The name loses its leading '/'. Endpoints come from
// NetworkSettings.Networks in network-name order (a created, never started container shows
// its network with empty id and addresses). Ports come from NetworkSettings.Ports, one
// PortBinding per host binding ("0.0.0.0" and "::" entries are separate), sorted; exposed
// but unpublished ports (null) are left out. network_mode is HostConfig.NetworkMode ("" when
// absent).
Result<ContainerInfo> DecodeContainer(std::string_view json);

// <docker root>/containers/<id>/hostconfig.json, the file dockerd keeps per container (the
// HostConfig of the API, on disk): its PortBindings, like ContainerInfo::configured_ports.
Result<std::vector<PortBinding>> DecodeHostConfigPortBindings(std::string_view json);

// GET /containers/json: the containers' full ids, in Docker's order.
Result<std::vector<std::string>> DecodeContainerIds(std::string_view json);

// GET /networks/{id} (one object) and GET /networks (an array of them).
// bridge_name: Options["com.docker.network.bridge.name"], else "docker0" for the network
// named "bridge", else "br-" + the id's first 12 characters; "" unless the driver is "bridge".
Result<NetworkInfo> DecodeNetwork(std::string_view json);
Result<std::vector<NetworkInfo>> DecodeNetworks(std::string_view json);

// The bridge device Docker uses for a network (rule above).
std::string BridgeName(const std::string& name, const std::string& driver, const std::string& id,
                       const std::map<std::string, std::string>& options);

// GET /version: its ApiVersion ("1.41"); an error when missing.
Result<std::string> DecodeApiVersion(std::string_view json);

// The "message" of a Docker error body ({"message":"No such container: x"}); the body
// itself, trimmed and cut to 200 bytes, when it is not such JSON.
std::string DecodeErrorMessage(std::string_view body);

// The body of POST /networks/create for `spec`: driver bridge, CheckDuplicate, IPAM config
// with the v4 and (if set) v6 subnet, EnableIPv6 when subnet_v6 is set, Options
// com.docker.network.bridge.name (if set) and com.docker.network.bridge.enable_icc, Labels.
// InvalidArgument when the name is empty or bridge_name is longer than 15 bytes (IFNAMSIZ).
Result<std::string> EncodeNetworkCreate(const NetworkSpec& spec);

// Compares API versions "major.minor" numerically: <0, 0, >0. Unparsable parts count as 0.
int CompareApiVersions(std::string_view a, std::string_view b);

}  // namespace ipo::docker

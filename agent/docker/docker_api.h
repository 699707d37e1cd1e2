// DockerApi: the slice of the Docker Engine API the agent uses. DockerClient
// (docker_client.h) speaks it over the engine's unix socket with libcurl;
// FakeDockerApi (agent/testing/fake_docker_api.h) is an in-memory one for tests.
//
// Thread safety: an implementation may be used from one thread for requests and from
// another for StreamEvents at the same time; each method is otherwise not reentrant.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace ipo::docker {

// A container's attachment to one network.
struct Endpoint {
  std::string network;     // network name, e.g. "bridge", "ipo-shared"
  std::string network_id;
  std::string ipv4;        // "" when none
  std::string ipv6;        // "" when none
  bool operator==(const Endpoint&) const = default;
};

// A published port (docker run -p): docker-proxy listens on host_ip:host_port.
struct PortBinding {
  std::string proto = "tcp";  // "tcp" | "udp" | "sctp"
  uint16_t container_port = 0;
  std::string host_ip;        // "" or "0.0.0.0" or "::" for all
  uint16_t host_port = 0;
  bool operator==(const PortBinding&) const = default;
};

struct ContainerInfo {
  std::string id;       // full 64-hex id
  std::string name;     // without the leading '/'
  bool running = false;
  std::string state;    // "running", "exited", ...
  int pid = 0;          // 0 unless running
  std::vector<Endpoint> endpoints;
  std::vector<PortBinding> ports;  // NetworkSettings.Ports: what docker-proxy listens on now (running only)
  // HostConfig.PortBindings: what `docker run -p` asked for, known from `create` on and kept
  // while the container exists, stopped or not (host_port 0: a random port, known only once
  // running).
  std::vector<PortBinding> configured_ports;
  // HostConfig.NetworkMode: "default", "bridge", "host", "none", a network's name, or
  // "container:<id>" (it shares that container's network stack and has none of its own).
  std::string network_mode = "";
  bool operator==(const ContainerInfo&) const = default;
};

struct NetworkInfo {
  std::string id;
  std::string name;
  std::string driver;       // "bridge"
  std::string bridge_name;  // Options["com.docker.network.bridge.name"], or "br-<id12>" / "docker0"
  std::vector<std::string> subnets;  // CIDRs, v4 and v6
  bool ipv6 = false;
  bool operator==(const NetworkInfo&) const = default;
};

// What the agent asks Docker to create.
struct NetworkSpec {
  std::string name;
  std::string bridge_name;           // set as com.docker.network.bridge.name
  std::string subnet_v4;             // CIDR
  std::string subnet_v6;             // CIDR or "" for IPv4 only
  bool icc = true;                   // com.docker.network.bridge.enable_icc
  std::map<std::string, std::string> labels;  // the agent labels what it creates
};

// One decoded message of GET /events.
struct Event {
  std::string type;    // "container", "network", ...
  std::string action;  // "start", "die", "connect", "destroy", ...
  std::string id;      // Actor.ID
  std::map<std::string, std::string> attributes;  // Actor.Attributes (name, container, ...)
  int64_t time_nano = 0;  // timeNano
};

class DockerApi {
 public:
  virtual ~DockerApi() = default;

  // GET /_ping then /version; picks min(server ApiVersion, the newest the client knows)
  // and uses it as the /vX.YY prefix from then on. Returns the version, e.g. "1.41".
  virtual Result<std::string> Negotiate() = 0;
  // Every container (running or not), inspected.
  virtual Result<std::vector<ContainerInfo>> ListContainers() = 0;
  virtual Result<ContainerInfo> InspectContainer(const std::string& id_or_name) = 0;
  virtual Result<std::vector<NetworkInfo>> ListNetworks() = 0;
  virtual Status CreateNetwork(const NetworkSpec& spec) = 0;
  virtual Status ConnectNetwork(const std::string& network, const std::string& container) = 0;
  virtual Status DisconnectNetwork(const std::string& network, const std::string& container) = 0;

  // Follows GET /events (type=container and type=network) from `since_nano` (0: from now),
  // calling on_event for each event in order. Returns when the stream ends or fails (the
  // Status says which) or soon after should_stop() returns true (then OK).
  virtual Status StreamEvents(int64_t since_nano, const std::function<void(const Event&)>& on_event,
                              const std::function<bool()>& should_stop) = 0;
};

}  // namespace ipo::docker

// FakeDockerApi: an in-memory Docker for tests of the daemon's logic. Networks hand out
// addresses in order (.2, .3, ...) like Docker's IPAM; connect/disconnect change endpoints.
// Events are not streamed (tests drive the Reconciler directly); requests are counted.
//
// Thread safety: not thread-safe.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "docker/docker_api.h"

namespace ipo::testing {

// A container event as Docker sends it for a container the fake holds (ids are "id-NAME").
inline docker::Event ContainerEvent(const std::string& action, const std::string& name) {
  return {"container", action, "id-" + name, {{"name", name}}, 1};
}

class FakeDockerApi final : public docker::DockerApi {
 public:
  FakeDockerApi() {
    networks.push_back({"net-bridge", "bridge", "bridge", "docker0", {"172.17.0.0/16"}, false});
  }

  // Adds a container on the default bridge, as a plain `docker run` would.
  void Run(const std::string& name, std::vector<docker::PortBinding> ports = {}) {
    docker::ContainerInfo c;
    c.id = "id-" + name;
    c.name = name;
    c.running = true;
    c.state = "running";
    c.ports = std::move(ports);
    containers.push_back(c);
    Attach("bridge", containers.back());
  }
  // By name or id, as Docker's API takes either.
  docker::ContainerInfo* Find(const std::string& name) {
    for (auto& c : containers)
      if (c.name == name || c.id == name) return &c;
    return nullptr;
  }
  void Remove(const std::string& name) {
    std::erase_if(containers, [&](const auto& c) { return c.name == name; });
  }

  Result<std::string> Negotiate() override { return std::string("1.41"); }
  Result<std::vector<docker::ContainerInfo>> ListContainers() override {
    ++list_calls;
    if (down) return Status::Unavailable("docker is down");
    return containers;
  }
  Result<docker::ContainerInfo> InspectContainer(const std::string& name) override {
    ++inspect_calls;
    if (down || inspect_fails) return Status::Unavailable("docker is down");
    if (auto* c = Find(name)) return *c;
    return Status::NotFound("no such container: " + name);
  }
  Result<std::vector<docker::NetworkInfo>> ListNetworks() override {
    if (down) return Status::Unavailable("docker is down");
    return networks;
  }
  Status CreateNetwork(const docker::NetworkSpec& spec) override {
    log.push_back("create " + spec.name);
    std::vector<std::string> subnets{spec.subnet_v4};
    if (!spec.subnet_v6.empty()) subnets.push_back(spec.subnet_v6);
    networks.push_back({"net-" + spec.name, spec.name, "bridge", spec.bridge_name, subnets, !spec.subnet_v6.empty()});
    return Status::Ok();
  }
  Status ConnectNetwork(const std::string& network, const std::string& container) override {
    log.push_back("connect " + container + " " + network);
    auto* c = Find(container);
    if (!c) return Status::NotFound("no such container: " + container);
    if (refuse_connect.count(container))  // e.g. --network container:X, as dockerd answers it
      return Status::InvalidArgument("container sharing network namespace with another container or host cannot be "
                                     "connected to any other network");
    Attach(network, *c);
    return Status::Ok();
  }
  Status DisconnectNetwork(const std::string& network, const std::string& container) override {
    log.push_back("disconnect " + container + " " + network);
    auto* c = Find(container);
    if (!c) return Status::NotFound("no such container: " + container);
    std::erase_if(c->endpoints, [&](const auto& e) { return e.network == network; });
    return Status::Ok();
  }
  Status StreamEvents(int64_t, const std::function<void(const docker::Event&)>&,
                      const std::function<bool()>&) override {
    return Status::Unavailable("the fake does not stream");
  }

  std::vector<docker::ContainerInfo> containers;
  std::vector<docker::NetworkInfo> networks;
  std::vector<std::string> log;
  bool down = false;
  bool inspect_fails = false;  // InspectContainer fails (not NotFound), the lists answer
  int list_calls = 0;          // ListContainers
  int inspect_calls = 0;       // InspectContainer
  std::set<std::string> refuse_connect;  // containers whose ConnectNetwork Docker refuses

 private:
  void Attach(const std::string& network, docker::ContainerInfo& c) {
    auto it = std::find_if(networks.begin(), networks.end(), [&](const auto& n) { return n.name == network; });
    if (it == networks.end()) return;
    int& next = next_host_[network];
    if (next == 0) next = 2;
    std::string v4 = it->subnets[0].substr(0, it->subnets[0].rfind('.') + 1) + std::to_string(next);
    std::string v6;
    if (it->subnets.size() > 1) v6 = it->subnets[1].substr(0, it->subnets[1].find("::") + 2) + std::to_string(next);
    ++next;
    c.endpoints.push_back({network, it->id, v4, v6});
  }
  std::map<std::string, int> next_host_;
};

}  // namespace ipo::testing

#include "daemon/host_sockets.h"

#include <spdlog/spdlog.h>

#include <set>

#include "model/observed.h"

namespace ipo::daemon {

void HostSockets::Read() {
  if (!source_) return;
  auto sockets = source_();
  if (!sockets.ok()) {
    spdlog::warn("reading the host's listening sockets: {}; keeping the last list", sockets.status().message());
    return;
  }
  last_ = std::move(*sockets);
}

bool HostSockets::Changed(const std::vector<docker::ContainerInfo>& containers) const {
  if (!source_) return false;
  auto now = source_();
  if (!now.ok()) return false;
  std::set<model::ProxyPort> bound;
  for (const docker::ContainerInfo& c : containers)
    for (const auto* list : {&c.ports, &c.configured_ports})
      for (const docker::PortBinding& b : *list) bound.insert(model::ProxyPortFor(b.proto, b.host_port));
  auto relevant = [&](const std::vector<hostsock::HostSocket>& sockets) {
    std::vector<hostsock::HostSocket> out;
    for (const hostsock::HostSocket& s : sockets)
      if (bound.count(model::ProxyPort{s.proto, s.port})) out.push_back(s);
    return out;
  };
  return relevant(*now) != relevant(last_);
}

}  // namespace ipo::daemon

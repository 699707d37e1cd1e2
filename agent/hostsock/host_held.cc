#include "hostsock/host_held.h"

namespace ipo::hostsock {

HeldPorts HostHeld(const std::vector<HostSocket>& sockets, const std::function<bool(const HostSocket&)>& explained) {
  HeldPorts held;
  for (const HostSocket& s : sockets) {
    if (s.owner == kDockerProxyComm || (explained && explained(s))) continue;
    held.emplace(model::ProxyPort{s.proto, s.port}, s.owner);
  }
  return held;
}

std::string HeldPort::ToString() const {
  return std::string(model::ProtoName(port.proto)) + "/" + std::to_string(port.port) + " (" + Holder() + ")";
}

std::vector<HeldPort> DropHostHeld(std::vector<model::ProxyPort>& ports, const std::vector<HostSocket>& sockets) {
  const HeldPorts held = HostHeld(sockets);
  std::vector<HeldPort> dropped;
  std::erase_if(ports, [&](const model::ProxyPort& p) {
    auto it = held.find(p);
    if (it == held.end()) return false;
    dropped.push_back({p, it->second});
    return true;
  });
  return dropped;
}

}  // namespace ipo::hostsock

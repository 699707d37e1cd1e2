#include "daemon/released_ports.h"

#include <algorithm>

namespace ipo::daemon {

void ReleasedPorts::Keep(std::vector<model::ProxyPort>& ports, const std::vector<model::ProxyPort>& before,
                         const std::vector<hostsock::HostSocket>& host, Clock::time_point now) {
  for (const model::ProxyPort& p : before)
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) released_.emplace(p, now);
  for (const hostsock::HostSocket& s : host) released_.erase(model::ProxyPort{s.proto, s.port});
  for (const model::ProxyPort& p : ports) released_.erase(p);
  for (auto it = released_.begin(); it != released_.end();) {
    if (now - it->second >= kGrace) {
      it = released_.erase(it);
    } else {
      ports.push_back(it->first);
      ++it;
    }
  }
  std::sort(ports.begin(), ports.end());
}

}  // namespace ipo::daemon

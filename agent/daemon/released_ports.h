// ReleasedPorts: keeps a docker-proxy port guarded for a grace period (kGrace) after its last
// container is gone, so a container removed and recreated with the same -p (docker-compose
// up, a redeploy) never finds its port unguarded while the agent catches up. A released port
// a host process now holds is the host's: it is never kept.
//
// Thread safety: not thread-safe (the reconcile thread).
#pragma once

#include <chrono>
#include <map>
#include <vector>

#include "hostsock/sock_diag.h"
#include "model/observed.h"

namespace ipo::daemon {

class ReleasedPorts {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kGrace{120};

  // `ports`: the docker-proxy ports observed now, to which the ports released less than
  // kGrace before `now` are added (sorted). `before`: the ports guarded until now (a port in
  // it but not in `ports` is released at `now`). `host`: the host's listening sockets.
  void Keep(std::vector<model::ProxyPort>& ports, const std::vector<model::ProxyPort>& before,
            const std::vector<hostsock::HostSocket>& host, Clock::time_point now);

 private:
  std::map<model::ProxyPort, Clock::time_point> released_;  // port -> when it was released
};

}  // namespace ipo::daemon

// HostSockets: the reconciler's view of the host's own listening sockets (hostsock/
// sock_diag.h): where they are read from (hostsock::ListHostSockets in the daemon, a fake in
// tests), the list last read, and whether the sockets on the host ports containers bind
// changed since (a host service started or stopped there: placement must decide again, and
// no event comes from Docker for it). No source: no host socket is known.
//
// Thread safety: not thread-safe (the reconcile thread).
#pragma once

#include <functional>
#include <vector>

#include "common/status.h"
#include "docker/docker_api.h"
#include "hostsock/sock_diag.h"

namespace ipo::daemon {

class HostSockets {
 public:
  using Source = std::function<Result<std::vector<hostsock::HostSocket>>()>;

  void SetSource(Source source) { source_ = std::move(source); }
  bool has_source() const { return static_cast<bool>(source_); }
  // Reads the sockets again; a failed read keeps the last list (and logs).
  void Read();
  // True when the sockets on a port some container binds (-p, running or only configured)
  // differ from the last Read's. A failed read is no change. The last list stays.
  bool Changed(const std::vector<docker::ContainerInfo>& containers) const;
  // The list last read (empty before the first Read or without a source).
  std::vector<hostsock::HostSocket>& last() { return last_; }
  const std::vector<hostsock::HostSocket>& last() const { return last_; }

 private:
  Source source_;
  std::vector<hostsock::HostSocket> last_;
};

}  // namespace ipo::daemon

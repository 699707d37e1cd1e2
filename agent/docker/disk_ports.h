// DiskPortBindings: the host ports Docker's containers publish (`docker run -p`), read from
// Docker's own files, without Docker. At boot the restore runs before dockerd, and dockerd
// then brings back every --restart container at once, docker-proxy binding their -p ports
// before ipo-netd has asked Docker anything. Those containers are exactly the ones in
// <docker root>/containers/*/hostconfig.json, so the boot ruleset guards their ports from
// the first packet (model::Observed::proxy_ports), whatever the policy or the saved state.
//
// A missing docker root (Docker not installed yet, a fresh host) is no error: no container
// exists. A file that cannot be read or decoded is skipped and named in `problems` (dockerd
// cannot load that container either). Random host ports (`-p 80`, host port 0) are chosen by
// dockerd at start and cannot be known here; they are left out (docs/boot.md).
// Every file is bounded (common/json_limits.h) before it is parsed.
//
// Thread safety: stateless function (reads the file system).
#pragma once

#include <string>
#include <vector>

#include "docker/docker_api.h"

namespace ipo::docker {

struct DiskPorts {
  std::vector<PortBinding> bindings;  // of every container found, host_port != 0, sorted
  size_t containers = 0;              // hostconfig.json files read
  std::vector<std::string> problems;  // "<file>: <why>" for each file skipped
};

DiskPorts ReadDiskPortBindings(const std::string& docker_root);

// The data root dockerd uses: "data-root" from `daemon_json` (e.g. /etc/docker/daemon.json)
// when the file has it, else /var/lib/docker.
std::string DockerDataRoot(const std::string& daemon_json);

}  // namespace ipo::docker

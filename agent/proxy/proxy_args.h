// ProxyArgs: the command line dockerd gives its userland proxy (libnetwork portmapper,
// Docker 20.10: `-proto tcp|udp|sctp -host-ip IP -host-port N -container-ip IP
// -container-port M`, Go flag syntax: `-name value`, `-name=value`, one or two dashes), parsed
// by a pure function so ipo-netd-proxy's whole interface with dockerd is tested without it.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace ipo::proxy {

struct ProxyArgs {
  std::string proto;         // "tcp" | "udp" | "sctp"
  std::string host_ip;       // as given, e.g. "0.0.0.0", "::", "192.168.1.100"
  uint16_t host_port = 0;
  std::string container_ip;  // accepted and reported, never used: nothing is forwarded
  uint16_t container_port = 0;
  bool help = false;         // -h / --help: print kUsage, exit 0
};

inline constexpr const char* kUsage =
    "Usage: ipo-netd-proxy -proto tcp|udp|sctp -host-ip IP -host-port N -container-ip IP -container-port M\n"
    "\n"
    "Docker's userland proxy (daemon.json \"userland-proxy-path\") for hosts where ipo-netd publishes\n"
    "container ports itself. It RESERVES the host address and port of a `docker run -p` binding so\n"
    "that no host process can take it, and forwards nothing: a TCP port is bound but never\n"
    "listens (connections get a reset), a UDP port is bound and never read. Reports ready (\"0\\n\")\n"
    "or the failure (\"1\\n<reason>\", exit 1) on file descriptor 3 as dockerd expects, then waits\n"
    "for SIGINT or SIGTERM. ipo-netd DNATs the binding for the LAN allowlist (docs/ruleset.md).\n";

// Parses argv[1..] (program name excluded). Every one of the five flags is required; an
// unknown flag, a missing value or a bad number is an error naming the flag.
Result<ProxyArgs> ParseProxyArgs(const std::vector<std::string>& args);

}  // namespace ipo::proxy

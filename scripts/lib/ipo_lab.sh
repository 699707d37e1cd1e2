# shellcheck shell=bash
# The ipo-host lab: four network namespaces (the server `ipo-host` and its clients `ipo-wan`,
# `ipo-lan-ok`, `ipo-lan-deny`), a private dockerd with docker_a/b/c inside ipo-host, a host
# service on port 22, and the agent (ipo-netd); the matrix that proves the policy is in
# ipo_lab_matrix.sh, sourced from here.
# Everything it makes lives in those namespaces, /run/ipo-lab and /var/lib/ipo-lab; nothing is
# added to the root namespace (no links, no rules), and ipo_lab_down removes all of it.
# This file holds the lab's settings (IPO_LAB_*) and sources the rest, one concern a file:
# ipo_lab_plumbing.sh (namespaces, links, processes), ipo_lab_docker.sh (dockerd, containers),
# ipo_lab_agent.sh, ipo_lab_bus.sh, ipo_lab_converge.sh, ipo_lab_lifecycle.sh (up, down),
# ipo_lab_power.sh (power faults), ipo_lab_matrix.sh and ipo_lab_prober.sh.
# Defines only ipo_lab_* functions and IPO_LAB_* variables; sourceable by tests.
# Not thread safe: callers serialise with ipo_lab_lock (scripts/lab does; CTest uses LOCK lab).
# REQUIRES: ipo_common.sh and ipo_dockerd.sh sourced; root; iproute2, nsenter, curl, jq, nft,
#   busybox, /usr/sbin/dockerd, /usr/bin/docker.

# The settings below are read by the ipo_lab_*.sh files sourced at the end and by callers,
# so a check of this file alone sees them unused.
# shellcheck disable=SC2034
IPO_LAB_LIB=${BASH_SOURCE[0]}
IPO_LAB_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IPO_LAB_RUN=/run/ipo-lab
IPO_LAB_VAR=/var/lib/ipo-lab
IPO_LAB_DOCKER_DIR=$IPO_LAB_RUN/docker
IPO_LAB_DOCKER_DATA=$IPO_LAB_VAR/docker
IPO_LAB_DOCKER_SOCK=$IPO_LAB_RUN/docker.sock
IPO_LAB_NETD_RUN=$IPO_LAB_RUN/netd
IPO_LAB_NETD_STATE=$IPO_LAB_VAR/netd
IPO_LAB_NETD_LOG=$IPO_LAB_VAR/netd.log
IPO_LAB_NETD_PID=$IPO_LAB_RUN/netd.pid
IPO_LAB_HOSTSVC_DIR=$IPO_LAB_RUN/hostsvc
IPO_LAB_HOSTSVC_PID=$IPO_LAB_RUN/hostsvc.pid
IPO_LAB_POLICY=${IPO_LAB_POLICY:-$IPO_LAB_SRC/rules/policy.json}
# The lab's own system bus (these machines have none): the agent takes org.ipo.NetD1 there
# and ipo-netctl talks to it over the bus, as on a production host.
IPO_LAB_DBUS_DIR=$IPO_LAB_RUN/dbus
IPO_LAB_NAMESPACES=(ipo-host ipo-wan ipo-lan-ok ipo-lan-deny)
# Short probe timeouts (seconds): a dropped packet costs at most this much.
IPO_LAB_CONNECT_TIMEOUT=${IPO_LAB_CONNECT_TIMEOUT:-1}
IPO_LAB_PROBE_TIMEOUT=${IPO_LAB_PROBE_TIMEOUT:-2}

# Addresses: the server's WAN and LAN sides and the three clients.
IPO_LAB_HOST_WAN4=203.0.113.1
IPO_LAB_HOST_WAN6=2001:db8:1::1
IPO_LAB_WAN4=203.0.113.10
IPO_LAB_WAN6=2001:db8:1::10
IPO_LAB_HOST_LAN4=192.168.1.100
IPO_LAB_HOST_LAN6=fd00:192:168:1::100
IPO_LAB_LANOK4=192.168.1.10
IPO_LAB_LANOK6=fd00:192:168:1::10
IPO_LAB_LANDENY4=192.168.1.50
IPO_LAB_LANDENY6=fd00:192:168:1::50

# The three containers of the lab: name -> port its httpd listens on (body: its name).
declare -A IPO_LAB_PORTS=([docker_a]=8080 [docker_b]=3316 [docker_c]=80)

# The connectivity matrix (ipo_lab_probe, ipo_lab_matrix, ...) lives beside this file.
# shellcheck source=scripts/lib/ipo_lab_matrix.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_matrix.sh"
# The prober (ipo_lab_prober_*: forbidden/allowed paths hammered in the background).
# shellcheck source=scripts/lib/ipo_lab_prober.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_prober.sh"
# shellcheck source=scripts/lib/ipo_dbus.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_dbus.sh"
# The lab by concern, one file each (ipo_lab_<concern>.sh):
# shellcheck source=scripts/lib/ipo_lab_plumbing.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_plumbing.sh"
# shellcheck source=scripts/lib/ipo_lab_docker.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_docker.sh"
# shellcheck source=scripts/lib/ipo_lab_agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_agent.sh"
# shellcheck source=scripts/lib/ipo_lab_bus.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_bus.sh"
# shellcheck source=scripts/lib/ipo_lab_converge.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_converge.sh"
# shellcheck source=scripts/lib/ipo_lab_lifecycle.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_lifecycle.sh"
# shellcheck source=scripts/lib/ipo_lab_power.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_power.sh"

# shellcheck shell=bash
# Network namespaces for the tests: the test's namespace is $NS (set by the suite).

# in_ns CMD...: run CMD in the network namespace $NS.
in_ns() { nsenter --net="/run/netns/${NS:?}" -- "$@"; }

# netns_fresh NAME: (re)create the network namespace NAME with its loopback up.
netns_fresh() {
  ip netns del "$1" 2>/dev/null || true
  ip netns add "$1"
  nsenter --net="/run/netns/$1" -- ip link set lo up
}

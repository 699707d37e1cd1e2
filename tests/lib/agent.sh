# shellcheck shell=bash
# ipo-netd alone in the test's network namespace $NS, without Docker: its state and run
# directories and its log ($WORK/netd.log) live in the test's scratch directory $WORK.
# REQUIRES: IPO_SRC, IPO_BUILD, NS, WORK; tests/lib/assert.sh and tests/lib/netns.sh sourced.
# Sets NETD and CTL (the built binaries) and AGENT_PID (the running agent, "" when stopped).

# shellcheck source=tests/lib/proc.sh
source "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

NETD="${IPO_BUILD:?}/agent/daemon/ipo-netd"
# shellcheck disable=SC2034 # used by the suites
CTL="$IPO_BUILD/agent/cli/ipo-netctl"
AGENT_PID=""

# agent_write_state: a state file as the agent leaves it (generation 41: docker_a and docker_c
# running on their networks); restoring it makes generation 42.
agent_write_state() {
  mkdir -p "$WORK/state"
  cp "${IPO_SRC:?}/tests/testdata/state-generation-41.json" "$WORK/state/state.json"
}

# agent_spawn POLICY [NETD-ARGS...]: start ipo-netd in $NS on POLICY against a Docker socket
# nobody serves, appending to $WORK/netd.log; sets AGENT_PID. The caller waits for what it needs.
agent_spawn() {
  local policy=$1
  shift
  nsenter --net="/run/netns/${NS:?}" -- "$NETD" --policy "$policy" --docker-host "unix://$WORK/no-docker.sock" \
    --state-dir "$WORK/state" --run-dir "$WORK/run" "$@" >>"$WORK/netd.log" 2>&1 &
  # shellcheck disable=SC2034 # stopped by name: stop_and_reap AGENT_PID
  AGENT_PID=$!
}

# agent_stop: stop the agent if it runs (SIGTERM) and reap it.
agent_stop() { stop_and_reap AGENT_PID; }

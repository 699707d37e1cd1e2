# shellcheck shell=bash
# The ipo-host lab (scripts/lib/ipo_lab.sh, which sources this file): convergence: whether the agent's view agrees with Docker's, and waiting until it does.

# ipo_lab_docker_view: JSON array of `docker inspect` for the policy's containers that exist.
ipo_lab_docker_view() {
  local names
  mapfile -t names < <(jq -r '.containers[].name' "$IPO_LAB_POLICY")
  ipo_lab_docker inspect "${names[@]}" 2>/dev/null || true
}

# ipo_lab_converged: 0 if the agent reports health ok, no drift, and for every policy container
#   agrees with Docker: a running container is on exactly its policy network (Docker's view)
#   and the agent shows it running there with Docker's current IPv4; a stopped or absent one
#   is not shown running. Prints nothing.
ipo_lab_converged() {
  local status docker
  status=$(ipo_lab_netctl status --json 2>/dev/null) || return 1
  docker=$(ipo_lab_docker_view)
  [[ -n $docker ]] || docker='[]'
  jq -e --slurpfile policy "$IPO_LAB_POLICY" --argjson docker "$docker" '
    ($docker | map({key: (.Name | ltrimstr("/")), value: .}) | from_entries) as $d
    | .health == "ok" and .drift == false and
      ([ $policy[0].containers[] as $c
         | ([ (.containers // [])[] | select(.name == $c.name) ] | first) as $s
         | $d[$c.name] as $dc
         | if ($dc != null and $dc.State.Running) then
             $s != null and $s.running == true
             and ((($s.networks // []) | index($c.network)) != null)
             and (($dc.NetworkSettings.Networks | keys) == [$c.network])
             and $s.ipv4 == $dc.NetworkSettings.Networks[$c.network].IPAddress
           else ($s == null or $s.running != true) end
       ] | all)' <<<"$status" >/dev/null
}

# ipo_lab_wait_converged [SECONDS]: wait (default 60 s) for ipo_lab_converged; on timeout print
#   the agent's status and log tail and return 1.
ipo_lab_wait_converged() {
  local timeout=${1:-60}
  if ! ipo_wait_for "$timeout" ipo_lab_converged; then
    ipo_warn "agent did not converge within ${timeout}s; status and log tail follow"
    ipo_lab_netctl status --json >&2 || true
    tail -n 40 "$IPO_LAB_NETD_LOG" >&2 2>/dev/null || true
    return 1
  fi
}

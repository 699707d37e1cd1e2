#!/usr/bin/env bash
# Test: `ipo-netctl explain` predicts every row of the lab's connectivity matrix, IPv4 and
# IPv6 (scripts/lib/ipo_lab_matrix.sh: clients on the WAN and the LAN, allowed and denied, and
# container to container), from the agent's compiled model alone: a container it says the
# packet reaches is the one whose answer the probe gets, the host's own service is the lab
# host's (sshd on 22), and "closed" is a drop or a host port nothing listens on. Then the
# matrix itself runs, so the probes confirm the same rows in the same lab. Each row's verdict
# and its deciding rule are printed. Also: bad input (an unknown name, a port out of range,
# an IPv6 address without brackets) exits 2 with a message naming it.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

# client_addr NAMESPACE FAMILY: the address of a client namespace (4 or 6).
client_addr() {
  case $1 in
    ipo-wan) [[ $2 == 6 ]] && echo "$IPO_LAB_WAN6" || echo "$IPO_LAB_WAN4" ;;
    ipo-lan-ok) [[ $2 == 6 ]] && echo "$IPO_LAB_LANOK6" || echo "$IPO_LAB_LANOK4" ;;
    ipo-lan-deny) [[ $2 == 6 ]] && echo "$IPO_LAB_LANDENY6" || echo "$IPO_LAB_LANDENY4" ;;
    *) echo "$1" ;;  # a container: by name
  esac
}

# predict ROW: what explain says the row's probe gets: a container's name, ipo-host, closed.
#   Prints "PREDICTED<TAB>verdict<TAB>reason".
predict() {
  local from label host port expected fam src dst out
  IFS='|' read -r from label host port expected <<<"$1"
  fam=4
  [[ $host == *:* ]] && fam=6
  src=$(client_addr "$from" "$fam")
  if [[ $fam == 6 ]]; then dst="[$host]:$port"; else dst="$host:$port"; fi
  local args=(explain "$src" "$dst" --json)
  [[ $fam == 6 ]] && args+=(-6)
  out=$(ipo_lab_netctl "${args[@]}" 2>&1) || { printf 'error\t%s\t\n' "${out//$'\n'/ }"; return 0; }
  jq -r '[(if .outcome == "container" then .container elif .outcome == "host-service" then "ipo-host" else "closed" end),
          .verdict, .reason] | @tsv' <<<"$out"
}

main() {
  lab_test_begin
  local rows row agree=0 total=0 predicted verdict reason from label host port expected
  mapfile -t rows < <(ipo_lab_matrix_rows)
  ((${#rows[@]} >= 40)) || lab_test_fail "only ${#rows[@]} matrix rows"
  printf '%-13s %-12s %-22s %-10s %-10s %s\n' FROM ROW DESTINATION EXPECTED EXPLAIN "VERDICT (deciding rule)"
  for row in "${rows[@]}"; do
    IFS='|' read -r from label host port expected <<<"$row"
    IFS=$'\t' read -r predicted verdict reason <<<"$(predict "$row")"
    total=$((total + 1))
    [[ $predicted == "$expected" ]] && agree=$((agree + 1))
    printf '%-13s %-12s %-22s %-10s %-10s %s%s\n' "$from" "$label" "$host:$port" "$expected" "$predicted" \
      "$verdict" "${reason:+ ($reason)}"
  done
  lab_test_check "explain predicts every matrix row ($agree of $total)" test "$agree" = "$total"
  lab_test_matrix "the probes observe what explain predicted"

  local out
  out=$(ipo_lab_netctl explain nosuch docker_a:8080 2>&1) && lab_test_fail "explain of an unknown name succeeded"
  lab_test_check "an unknown name is named in the error" grep -q '"nosuch" is neither an address nor a container' <<<"$out"
  ipo_lab_netctl explain docker_a docker_b:70000 >/dev/null 2>&1 && lab_test_fail "port 70000 accepted"
  out=$(ipo_lab_netctl explain docker_a fd00::1:80 2>&1) && lab_test_fail "an IPv6 address without brackets accepted"
  lab_test_check "an IPv6 address without brackets is refused with the form to use" grep -q 'in brackets' <<<"$out"
  local code=0
  ipo_lab_netctl explain nosuch docker_a:8080 >/dev/null 2>&1 || code=$?
  lab_test_check "bad input exits 2" test "$code" = 2
  echo "--- explain docker_c docker_a:8080 (text)"
  ipo_lab_netctl explain docker_c docker_a:8080
}

main "$@"

#!/usr/bin/env bash
# Test: `ipo-netctl explain` predicts every row of the lab's connectivity matrix, IPv4 and
# IPv6 (scripts/lib/ipo_lab_matrix.sh: clients on the WAN and the LAN, allowed and denied, and
# container to container), from the agent's compiled model alone: a container it says the
# packet reaches is the one whose answer the probe gets, the host's own service is the lab
# host's (sshd on 22), and "closed" is a drop or a host port nothing listens on. Then the
# matrix itself runs, so the probes confirm the same rows in the same lab. Each row's verdict
# and its deciding rule are printed. Then `explain --trace` for every row, with the row's
# probe sent while it waits: the kernel's trace of the first packet must reach the model's
# verdict by the model's rule, every row. Also: bad input (an unknown name, a port out of
# range, an IPv6 address without brackets) exits 2 with a message naming it, and --trace
# leaves no table behind.
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

# explain_args ROW: the `ipo-netctl explain` arguments of a matrix row, one per line.
explain_args() {
  local from label host port expected fam
  IFS='|' read -r from label host port expected <<<"$1"
  fam=4
  [[ $host == *:* ]] && fam=6
  client_addr "$from" "$fam"
  if [[ $fam == 6 ]]; then echo "[$host]:$port"; else echo "$host:$port"; fi
  [[ $fam == 6 ]] && echo -6
  return 0
}

# trace_row ROW: `explain --trace --json` of ROW while the row's probe is sent; prints
#   "AGREES<TAB>kernel verdict<TAB>kernel reason" ("error" and the message when it failed).
trace_row() {
  local from label host port expected out="$IPO_LAB_RUN/trace.json" err="$IPO_LAB_RUN/trace.err" pid args
  IFS='|' read -r from label host port expected <<<"$1"
  mapfile -t args < <(explain_args "$1")
  ipo_lab_netctl explain "${args[@]}" --json --trace --trace-seconds 10 >"$out" 2>"$err" &
  pid=$!
  if ! ipo_wait_for 5 ipo_lab_host nft list table inet ipo_netctl_trace >/dev/null 2>&1; then
    wait "$pid" || true
    printf 'error\tno marking table\t%s\n' "$(tr '\n' ' ' <"$err")"
    return 0
  fi
  ipo_lab_probe "$from" "$host" "$port" >/dev/null
  if ! wait "$pid"; then
    printf 'error\t%s\t\n' "$(tr '\n' ' ' <"$err")"
    return 0
  fi
  jq -r '[(.trace.agrees | tostring), .trace.verdict, .trace.reason] | @tsv' "$out"
}

# predict ROW: what explain says the row's probe gets: a container's name, ipo-host, closed.
#   Prints "PREDICTED<TAB>verdict<TAB>reason".
predict() {
  local out args
  mapfile -t args < <(explain_args "$1")
  out=$(ipo_lab_netctl explain "${args[@]}" --json 2>&1) || { printf 'error\t%s\t\n' "${out//$'\n'/ }"; return 0; }
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

  local agrees kverdict kreason same=0 t0=$SECONDS
  echo "=== explain --trace, every row (the kernel's trace of the row's probe)"
  for row in "${rows[@]}"; do
    IFS='|' read -r from label host port expected <<<"$row"
    IFS=$'\t' read -r agrees kverdict kreason <<<"$(trace_row "$row")"
    [[ $agrees == true ]] && same=$((same + 1))
    printf '%-13s %-12s %-22s %-6s %s%s\n' "$from" "$label" "$host:$port" "$agrees" "$kverdict" "${kreason:+ ($kreason)}"
  done
  ipo_info "--trace of ${#rows[@]} rows took $((SECONDS - t0)) s"
  lab_test_check "the kernel's trace agrees with the model on every row ($same of ${#rows[@]})" \
    test "$same" = "${#rows[@]}"
  lab_test_check "--trace left no marking table" \
    bash -c '! nsenter --net=/run/netns/ipo-host nft list tables | grep -q ipo_netctl_trace'

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

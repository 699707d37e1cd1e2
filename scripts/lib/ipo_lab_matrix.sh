# shellcheck shell=bash
# The lab's connectivity matrix: real HTTP probes from the client namespaces and from inside
# the containers, each row compared with what rules/policy.json demands, plus a placement
# check of each container's Docker networks. Sourced by ipo_lab.sh (uses its IPO_LAB_*
# addresses and ipo_lab_docker); defines only ipo_lab_* functions.
# Not thread safe: one matrix at a time per lab (probes of one run go out in parallel).
# REQUIRES: the lab up (scripts/lab up); root; curl, jq, /usr/bin/docker.

# ipo_lab_container_addrs: one line "NAME IPV4 IPV6" per running container, each its address
#   on its first non-default network (the default bridge if it has no other), "-" when it has
#   none; nothing when Docker does not answer. One Engine API call (the docker CLI costs ~60 ms
#   of CPU per call, and the prober's resolvers look every 2 s).
ipo_lab_container_addrs() {
  curl -sf --max-time 5 --unix-socket "$IPO_LAB_DOCKER_SOCK" http://docker/containers/json 2>/dev/null | jq -r '
    .[] | (.Names[0] | ltrimstr("/")) as $name
    | (.NetworkSettings.Networks // {} | to_entries
       | (map(select(.key != "bridge")) + map(select(.key == "bridge"))) | map(.value)) as $nets
    | [$name,
       ([$nets[].IPAddress | select(. != null and . != "")] | first // "-"),
       ([$nets[].GlobalIPv6Address | select(. != null and . != "")] | first // "-")]
    | join(" ")' 2>/dev/null || true
}

# ipo_lab_probe FROM HOST PORT: HTTP GET http://HOST:PORT/ from FROM (a client namespace
#   ipo-wan/ipo-lan-ok/ipo-lan-deny/ipo-host, or a container name) with short timeouts. Prints
#   the body's first line, or "closed" if nothing answered. (Busybox 1.35's `wget -T`
#   segfaults, so containers bound wget with busybox `timeout`.)
ipo_lab_probe() {
  local from=$1 host=$2 port=$3 url body=
  if [[ $host == none || -z $host ]]; then
    echo no-address
    return 0
  fi
  if [[ $host == *:* ]]; then url="http://[$host]:$port/"; else url="http://$host:$port/"; fi
  case $from in
    ipo-*)
      body=$(ip netns exec "$from" curl -s --noproxy '*' --connect-timeout "$IPO_LAB_CONNECT_TIMEOUT" \
        -m "$IPO_LAB_PROBE_TIMEOUT" "$url" 2>/dev/null) || body=
      ;;
    *)
      body=$(DOCKER_CONFIG="$IPO_LAB_DOCKER_DIR/cli" timeout 15 /usr/bin/docker -H "unix://$IPO_LAB_DOCKER_SOCK" \
        exec "$from" busybox timeout "$IPO_LAB_PROBE_TIMEOUT" busybox wget -q -O - "$url" 2>/dev/null) || body=
      ;;
  esac
  body=${body%%$'\n'*}
  printf '%s\n' "${body:-closed}"
}

# ipo_lab_matrix_rows [EXTRA_ROW...]: the matrix's probe rows, one per line, as
#   "FROM|LABEL|HOST|PORT|EXPECTED" (EXPECTED: a container's name, ipo-host, or closed).
#   EXTRA_ROW: the same format, appended. Container addresses are looked up now; a missing
#   address yields HOST "none" (the probe then fails).
ipo_lab_matrix_rows() {
  local a4='' b4='' c4='' a6='' b6='' c6='' name v4 v6
  while read -r name v4 v6; do
    [[ $v4 == - ]] && v4=''
    [[ $v6 == - ]] && v6=''
    case $name in
      docker_a) a4=$v4 a6=$v6 ;;
      docker_b) b4=$v4 b6=$v6 ;;
      docker_c) c4=$v4 c6=$v6 ;;
    esac
  done < <(ipo_lab_container_addrs)
  local fam hw hl b a c
  for fam in 4 6; do
    if [[ $fam == 4 ]]; then
      hw=$IPO_LAB_HOST_WAN4 hl=$IPO_LAB_HOST_LAN4 a=${a4:-none} b=${b4:-none} c=${c4:-none}
    else
      hw=$IPO_LAB_HOST_WAN6 hl=$IPO_LAB_HOST_LAN6 a=${a6:-none} b=${b6:-none} c=${c6:-none}
    fi
    cat <<EOF
ipo-wan|v$fam host-wan|$hw|8080|docker_a
ipo-wan|v$fam host-wan|$hw|80|docker_c
ipo-wan|v$fam host-wan|$hw|3316|closed
ipo-wan|v$fam B-direct|$b|3316|closed
ipo-wan|v$fam A-direct|$a|8080|closed
ipo-wan|v$fam C-direct|$c|80|closed
ipo-wan|v$fam host-wan|$hw|22|ipo-host
ipo-lan-ok|v$fam host-lan|$hl|8080|docker_a
ipo-lan-ok|v$fam host-lan|$hl|80|docker_c
ipo-lan-ok|v$fam host-lan|$hl|3316|docker_b
ipo-lan-ok|v$fam host-lan|$hl|22|ipo-host
ipo-lan-deny|v$fam host-lan|$hl|8080|closed
ipo-lan-deny|v$fam host-lan|$hl|80|closed
ipo-lan-deny|v$fam host-lan|$hl|3316|closed
ipo-lan-deny|v$fam host-lan|$hl|22|ipo-host
ipo-lan-deny|v$fam A-direct|$a|8080|closed
ipo-lan-deny|v$fam B-direct|$b|3316|closed
docker_a|v$fam B|$b|3316|docker_b
docker_b|v$fam A|$a|8080|docker_a
docker_c|v$fam A|$a|8080|closed
docker_c|v$fam B|$b|3316|closed
docker_a|v$fam C|$c|80|closed
docker_b|v$fam C|$c|80|closed
EOF
  done
  local extra
  for extra in "$@"; do printf '%s\n' "$extra"; done
}

# ipo_lab_placement: print one row per policy container comparing Docker's networks with
#   the policy's; return 1 if any differs.
ipo_lab_placement() {
  local name net got fails=0
  while IFS=$'\t' read -r name net; do
    got=$(ipo_lab_docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$name" 2>/dev/null) || got=absent
    got=${got% }
    if [[ $got == "$net" ]]; then
      printf '%-9s %-46s %-10s %-10s %s\n' "$name" "(its docker networks)" "$net" "$got" OK
    else
      printf '%-9s %-46s %-10s %-10s %s\n' "$name" "(its docker networks)" "$net" "${got:-none}" FAIL
      fails=$((fails + 1))
    fi
  done < <(jq -r '.containers[] | [.name, .network] | @tsv' "$IPO_LAB_POLICY")
  ((fails == 0))
}

# ipo_lab_probe_rows DIR ROW...: probe every ROW (FROM|LABEL|HOST|PORT|EXPECTED) in parallel;
#   the answer to the i-th ROW (counting from 0) goes to DIR/i. Waits for these probes only:
#   the caller may have other children (e.g. a dockerd it restarted).
ipo_lab_probe_rows() {
  local dir=$1 rows=("${@:2}") i from label host port expected pids=()
  for i in "${!rows[@]}"; do
    IFS='|' read -r from label host port expected <<<"${rows[$i]}"
    ipo_lab_probe "$from" "$host" "$port" >"$dir/$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || true; done
}

# ipo_lab_matrix [EXTRA_ROW...]: probe every row of ipo_lab_matrix_rows (in parallel) and print
#   a table: FROM, TO, EXPECTED, GOT, OK/FAIL; then the placement rows. Returns the number of
#   failed rows (capped at 255), 0 when everything holds.
ipo_lab_matrix() {
  local tmp rows=() i from label host port expected got fails=0
  tmp=$(mktemp -d)
  mapfile -t rows < <(ipo_lab_matrix_rows "$@")
  ipo_lab_probe_rows "$tmp" "${rows[@]}"
  # A row expected open that got no answer at all is probed once more, alone (a busy CI
  # machine can delay a parallel probe); wrong answers and closed rows are never retried.
  for i in "${!rows[@]}"; do
    IFS='|' read -r from label host port expected <<<"${rows[$i]}"
    if [[ $expected != closed && $(<"$tmp/$i") == closed ]]; then
      ipo_lab_probe "$from" "$host" "$port" >"$tmp/$i"
    fi
  done
  printf '%-9s %-46s %-10s %-10s %s\n' FROM TO EXPECTED GOT RESULT
  for i in "${!rows[@]}"; do
    IFS='|' read -r from label host port expected <<<"${rows[$i]}"
    got=$(<"$tmp/$i")
    [[ $host == *:* ]] && host="[$host]"
    if [[ $got == "$expected" ]]; then
      printf '%-9s %-46s %-10s %-10s %s\n' "${from#ipo-}" "$label $host:$port" "$expected" "$got" OK
    else
      printf '%-9s %-46s %-10s %-10s %s\n' "${from#ipo-}" "$label $host:$port" "$expected" "$got" FAIL
      fails=$((fails + 1))
    fi
  done
  rm -rf "$tmp"
  ipo_lab_placement || fails=$((fails + 1))
  printf 'matrix: %d rows, %d failed\n' "$((${#rows[@]} + 3))" "$fails"
  ((fails <= 255)) || fails=255
  return "$fails"
}

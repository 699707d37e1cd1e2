#!/usr/bin/env bash
# Usage: tests/fuzz/make_seeds.sh
#
# Rewrites the seed corpus tests/fuzz/corpus/<target>/ from the repository's own inputs
# (rules/policy.json, agent/docker/testdata, rules/nginx/ipo.com.json), small hand-made
# variants, and edge cases: deep nesting, very long strings and numbers, non-JSON and
# binary bytes; and binary sock_diag dumps. Each edge case is sized to fit the target's
# -max_len in fuzz.sh, so that libFuzzer does not cut it. Inputs named regress-* (crashes
# that were fixed, and hand-made seeds nothing here generates, such as a Docker
# hostconfig.json) are kept as they are.
set -Eeuo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
corpus=$src/tests/fuzz/corpus
testdata=$src/agent/docker/testdata

# rep TEXT N: TEXT repeated N times, no newline.
rep() {
  local text=$1 n=$2
  head -c "$((${#text} * n))" < <(yes -- "$text" | tr -d '\n')
}

# fresh TARGET: empties the target's corpus folder, except the regress-* inputs.
fresh() {
  local dir=$corpus/$1
  mkdir -p "$dir"
  find "$dir" -type f ! -name 'regress-*' -delete
}

# edge_cases TARGET SIZE: the inputs every JSON reader must refuse or survive, SIZE bytes
# at most.
edge_cases() {
  local dir=$corpus/$1 size=$2 half
  half=$((size / 2 - 8))
  printf '' >"$dir/edge-empty"
  printf 'version = 1\n[lan]\nsubnets = 192.168.1.0/24\n' >"$dir/edge-not-json.toml"
  printf '\xef\xbb\xbf{"version": 1}' >"$dir/edge-bom.json"
  printf '{"version": 1, "x": "\xff\xfe\xc0\x80"}' >"$dir/edge-bad-utf8.json"
  printf '{"version": 1, "x": "a\\u0000b\\ud800"}' >"$dir/edge-escapes.json"
  printf '{"version": 1}\x00{"version": 2}' >"$dir/edge-nul.json"
  printf '{"version": 1, "version": 2}' >"$dir/edge-duplicate-key.json"
  printf '{"version": 1e400, "port": -0, "n": 18446744073709551616}' >"$dir/edge-numbers.json"
  head -c 512 "$src/README.md" >"$dir/edge-text.md"
  printf '\x00\x01\x02\x7f\x80\xff{[\n\r\n' >"$dir/edge-binary"
  { rep '[' "$half"; rep ']' "$half"; } >"$dir/edge-deep-array.json"
  { rep '[' "$half"; } >"$dir/edge-deep-unclosed.json"
  { rep '{"a":' $((size / 6 - 2)); printf '1'; rep '}' $((size / 6 - 2)); } >"$dir/edge-deep-object.json"
  { printf '{"version": 1, "name": "'; rep 'a' $((size - 64)); printf '"}'; } >"$dir/edge-long-string.json"
  { printf '{"version": '; rep '9' $((size - 64)); printf '}'; } >"$dir/edge-long-number.json"
  { printf '['; rep '1,' $((size / 2 - 8)); printf '1]'; } >"$dir/edge-long-array.json"
}

seed_policy() {
  local dir=$corpus/policy_fuzz policy=$src/rules/policy.json
  fresh policy_fuzz
  cp "$policy" "$dir/policy.json"
  jq -c . "$policy" >"$dir/policy-compact.json"
  jq '.networks |= map(del(.subnet_v6)) | .lan.subnets |= map(select(test(":") | not))
      | .lan.allow = ["192.168.1.7", "192.168.1.64/28"]' "$policy" >"$dir/policy-v4-only.json"
  jq '.containers[0].publish = [{"port": 53, "host_port": 5353, "proto": "udp", "from": "lan"},
                                {"port": 65535, "proto": "tcp"}]' "$policy" >"$dir/policy-udp.json"
  jq '.containers = [] | .lan.allow = []' "$policy" >"$dir/policy-no-containers.json"
  jq '.networks[1].subnet_v4 = "172.30.1.128/25"' "$policy" >"$dir/policy-overlap.json"
  jq '.containers[2].network = "nowhere"' "$policy" >"$dir/policy-unknown-network.json"
  jq '.lan.allow[0] = "10.0.0.1-10.0.0.5"' "$policy" >"$dir/policy-allow-outside.json"
  head -c 400 "$policy" >"$dir/policy-truncated.json"
  edge_cases policy_fuzz 300000
  # The issue's inputs: a 100,000-character network name and 150,000 nested brackets.
  local long
  long=$(rep 'n' 100000)
  jq --arg n "$long" '.networks[0].name = $n | .containers[0].network = $n' "$policy" \
    >"$dir/edge-long-network-name.json"
  jq --arg n "$long" '.containers[1].name = $n' "$policy" >"$dir/edge-long-container-name.json"
  { rep '[' 150000; rep ']' 150000; } >"$dir/edge-deep-array.json"
}

seed_events() {
  local dir=$corpus/event_decoder_fuzz events=$testdata/events_raw.ndjson type
  fresh event_decoder_fuzz
  cp "$events" "$dir/events_raw.ndjson"
  # One message of each Type/Action, alone.
  while IFS= read -r type; do
    jq -c --arg t "$type" 'select((.Type + "/" + .Action) == $t)' "$events" | head -n 1 \
      >"$dir/event-${type//[^a-z0-9]/-}.json"
  done < <(jq -r '.Type + "/" + .Action' "$events" | sort -u)
  sed 's/$/\r/' "$events" | head -n 5 >"$dir/events-crlf.ndjson"
  { printf '\n\n'; head -n 3 "$events"; printf '\n\r\n'; head -c 100 "$events"; } >"$dir/events-blank-partial.ndjson"
  printf '{"Type":"container","Action":"start","Actor":{"ID":"x"},"time":1795564763}\n' \
    >"$dir/event-time-only.json"
  printf '{"Type":"network","Action":"connect","Actor":{"ID":"n","Attributes":{"container":"c","name":"ipo-shared","type":"bridge"}},"timeNano":-1,"time":2}\n' \
    >"$dir/event-negative-nano.json"
  printf '{"Type":"container","Action":"health_status: healthy","Actor":{"Attributes":{"a":1}},"time":1}\n' \
    >"$dir/event-bad-attribute.json"
  edge_cases event_decoder_fuzz 65536
}

seed_objects() {
  local dir=$corpus/object_codec_fuzz
  fresh object_codec_fuzz
  cp "$testdata"/container_*.json "$testdata/containers_list.json" "$testdata/networks.json" \
    "$testdata/version.json" "$dir/"
  jq '.[0]' "$testdata/networks.json" >"$dir/network-one.json"
  jq '.[0].Driver = "macvlan"' "$testdata/networks.json" >"$dir/networks-macvlan.json"
  jq '.NetworkSettings.Ports = {"80": null, "53/udp": [{"HostIp": "::", "HostPort": ""}], "x/tcp": []}' \
    "$testdata/container_web.json" >"$dir/container-odd-ports.json"
  printf '{"message":"No such container: x"}' >"$dir/error-message.json"
  printf '  \r\n\t' >"$dir/error-blank"
  printf '{"ApiVersion":"1.a41","Version":"20.10"}' >"$dir/version-odd.json"
  edge_cases object_codec_fuzz 65536
}

seed_nginx() {
  local dir=$corpus/nginx_spec_fuzz spec=$src/rules/nginx/ipo.com.json
  fresh nginx_spec_fuzz
  cp "$spec" "$dir/ipo.com.json"
  jq '.api.php_fpm_socket = "/run/php/php-fpm.sock"' "$spec" >"$dir/spec-one-socket.json"
  jq '.api.php_fpm_socket = {"rocky8": "/run/php-fpm/www.sock"}' "$spec" >"$dir/spec-rocky-only.json"
  jq '.tls.ocsp_stapling = {"trusted_certificate": "/etc/ssl/chain.pem", "resolvers": ["1.1.1.1", "[::1]:53"]}
      | .open_file_cache = {"max": 1, "inactive_seconds": 86400, "valid_seconds": 1}
      | .api.rate_per_second = 0.5 | .bot.scheme = "https"' "$spec" >"$dir/spec-all-keys.json"
  jq '.site.index_files = ["../etc/passwd"]' "$spec" >"$dir/spec-bad-index.json"
  jq '.domain = "ipo.com;"' "$spec" >"$dir/spec-bad-domain.json"
  head -c 300 "$spec" >"$dir/spec-truncated.json"
  edge_cases nginx_spec_fuzz 65536
}

# seed_sock_diag: binary sock_diag dumps (first byte: 0 tcp, 1 udp, then the recv() bytes):
# one IPv4 and one IPv6 listener then NLMSG_DONE, a truncated message, an NLMSG_ERROR.
seed_sock_diag() {
  local dir=$corpus/sock_diag_fuzz
  fresh sock_diag_fuzz
  python3 - "$dir" <<'PY'
import socket, struct, sys
d = sys.argv[1]
def diag(family, state, addr, port, inode):
    # struct inet_diag_msg: family, state, timer, retrans; sockid (sport, dport big endian,
    # src[16], dst[16], if, cookie[2]); expires, rqueue, wqueue, uid, inode
    src = socket.inet_pton(family, addr).ljust(16, b"\0")
    sockid = struct.pack("!HH", port, 0) + src + bytes(16) + struct.pack("=III", 0, 0, 0)
    body = struct.pack("=BBBB", family, state, 0, 0) + sockid + struct.pack("=IIIII", 0, 0, 0, 0, inode)
    return struct.pack("=IHHII", 16 + len(body), 20, 2, 1, 0) + body
done = struct.pack("=IHHII", 20, 3, 2, 1, 0) + struct.pack("=i", 0)
err = struct.pack("=IHHII", 36, 2, 0, 1, 0) + struct.pack("=i", -1) + bytes(16)
seeds = {
    "tcp-listeners": b"\0" + diag(socket.AF_INET, 10, "0.0.0.0", 22, 7) + diag(socket.AF_INET6, 10, "::", 22, 8) + done,
    "udp-bound": b"\1" + diag(socket.AF_INET, 7, "192.168.1.100", 5353, 9) + done,
    "truncated": b"\0" + diag(socket.AF_INET, 10, "0.0.0.0", 22, 7)[:30],
    "error": b"\0" + err,
}
for name, data in seeds.items():
    open(f"{d}/{name}", "wb").write(data)
PY
}

main() {
  if [[ ${1:-} == --help || ${1:-} == -h ]]; then
    sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    return 0
  fi
  command -v jq >/dev/null || { echo "make_seeds.sh: jq is required" >&2; return 1; }
  seed_policy
  seed_events
  seed_objects
  seed_nginx
  seed_sock_diag
  du -sh "$corpus"/*
}

main "$@"

#!/usr/bin/env bash
# scripts/install-agent into a scratch root: files land, an existing policy is kept,
# Docker's daemon.json keeps its other keys and names ipo-netd-proxy as the userland proxy, a
# broken daemon.json is refused; the migration
# options are parsed (--migrate-only refuses --root, a bad --docker-host is refused).
set -Eeuo pipefail
root=$(mktemp -d /tmp/ipo-install-test.XXXXXX)
trap 'rm -rf "$root"' EXIT
inst=("${IPO_SRC:?}/scripts/install-agent" --build "${IPO_BUILD:?}" --root "$root")

mkdir -p "$root/etc/docker"
echo '{"log-driver": "journald", "iptables": true}' >"$root/etc/docker/daemon.json"
"${inst[@]}" 2>/dev/null
for f in usr/sbin/ipo-netd usr/bin/ipo-netctl usr/libexec/ipo-netd/ipo-netd-proxy etc/systemd/system/ipo-netd.service \
  etc/ipo-netd/policy.json; do
  [[ -f $root/$f ]] || { echo "FAIL: missing $f"; exit 1; }
done
[[ $(jq -r '."log-driver"' "$root/etc/docker/daemon.json") == journald ]] || { echo "FAIL: lost a key"; exit 1; }
[[ $(jq -r '.iptables' "$root/etc/docker/daemon.json") == false ]] || { echo "FAIL: iptables not off"; exit 1; }
[[ $(jq -r '."userland-proxy-path"' "$root/etc/docker/daemon.json") == /usr/libexec/ipo-netd/ipo-netd-proxy ]] ||
  { echo "FAIL: userland-proxy-path is not ipo-netd-proxy"; exit 1; }

echo '{"version": 1}' >"$root/etc/ipo-netd/policy.json.mine"
cp "$root/etc/ipo-netd/policy.json" "$root/etc/ipo-netd/policy.json.mine"
echo ' ' >>"$root/etc/ipo-netd/policy.json"
"${inst[@]}" 2>/dev/null
cmp -s "$root/etc/ipo-netd/policy.json" "$root/etc/ipo-netd/policy.json.mine" && { echo "FAIL: policy overwritten"; exit 1; }

echo '{broken' >"$root/etc/docker/daemon.json"
if "${inst[@]}" 2>"$root/err"; then echo "FAIL: broken daemon.json accepted"; exit 1; fi
grep -q 'daemon.json is not valid JSON' "$root/err" || { echo "FAIL: unclear error: $(cat "$root/err")"; exit 1; }
[[ -f "$IPO_SRC/systemd/ipo-netd-restore.service" && ! -f $root/etc/systemd/system/ipo-netd-restore.service ]] &&
  { echo "FAIL: ipo-netd-restore.service not installed"; exit 1; }
[[ -f "$IPO_SRC/systemd/org.ipo.NetD1.conf" && ! -f $root/etc/dbus-1/system.d/org.ipo.NetD1.conf ]] &&
  { echo "FAIL: org.ipo.NetD1.conf not installed"; exit 1; }

if "${IPO_SRC}/scripts/install-agent" --migrate-only --root "$root" 2>"$root/err"; then echo "FAIL: --migrate-only with --root accepted"; exit 1; fi
grep -q 'live system' "$root/err" || { echo "FAIL: unclear error: $(cat "$root/err")"; exit 1; }
if "${IPO_SRC}/scripts/install-agent" --migrate-only --docker-host tcp://x 2>"$root/err"; then echo "FAIL: tcp docker host accepted"; exit 1; fi
grep -q 'unix://PATH' "$root/err" || { echo "FAIL: unclear error: $(cat "$root/err")"; exit 1; }
"${IPO_SRC}/scripts/install-agent" --help | grep -q -- '--migrate-only' || { echo "FAIL: --help lacks --migrate-only"; exit 1; }
"${IPO_SRC}/scripts/install-agent" --help | grep -q -- '--proxy-path' || { echo "FAIL: --help lacks --proxy-path"; exit 1; }
echo "PASS: install-agent"

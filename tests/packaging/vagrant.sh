#!/usr/bin/env bash
# Usage: vagrant.sh
# vagrant/Vagrantfile passes `vagrant validate --ignore-provider` (no hypervisor or box is
# needed; Vagrant's home and the machine's dotfile directory are scratch directories, so
# nothing is written into the repository or ~/.vagrant.d), names the Rocky Linux 8 box and
# the four provision steps; broken copies are refused (so the check can fail);
# vagrant/provision.sh is shellcheck clean and rejects unknown steps without running dnf.
set -Eeuo pipefail
# shellcheck source=tests/packaging/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export VAGRANT_HOME="$PKG_WORK/vagrant-home" VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_NO_COLOR=1

# validate DIR: vagrant validate in DIR (its Vagrantfile), output in $PKG_WORK/validate.log.
validate() {
  (cd "$1" && VAGRANT_DOTFILE_PATH="$PKG_WORK/dotfile" timeout 120 vagrant validate --ignore-provider) >"$PKG_WORK/validate.log" 2>&1
}

main() {
  command -v vagrant >/dev/null || fail "vagrant not found (scripts/bootstrap packaging)"
  local vf=$IPO_SRC/vagrant/Vagrantfile step
  validate "$IPO_SRC/vagrant" || { cat "$PKG_WORK/validate.log" >&2; fail "vagrant validate failed"; }
  grep -q 'validated successfully' "$PKG_WORK/validate.log" || { cat "$PKG_WORK/validate.log" >&2; fail "no success message"; }
  [[ ! -e $IPO_SRC/vagrant/.vagrant ]] || fail "validate wrote vagrant/.vagrant into the repository"
  echo "ok: vagrant validate ($(vagrant --version))"

  grep -qE '^\s*config\.vm\.box = "rockylinux/8"' "$vf" || fail "box is not rockylinux/8"
  for step in deps build package lab; do
    grep -q "$step" <(sed -n '/%w\[/p' "$vf") || fail "provision step $step missing"
  done

  # Broken copies must be refused, each for its own reason.
  mkdir -p "$PKG_WORK/no-script" "$PKG_WORK/bad-host"
  cp "$vf" "$PKG_WORK/no-script/Vagrantfile"
  if validate "$PKG_WORK/no-script" || ! grep -q 'path. for shell provisioner does not exist' "$PKG_WORK/validate.log"; then
    cat "$PKG_WORK/validate.log" >&2
    fail "vagrant validate did not refuse a Vagrantfile whose provision.sh is missing"
  fi
  cp "$IPO_SRC/vagrant/provision.sh" "$PKG_WORK/bad-host/"
  sed 's/config.vm.hostname = "ipo-host-rocky8"/config.vm.hostname = "ipo_host"/' "$vf" >"$PKG_WORK/bad-host/Vagrantfile"
  cmp -s "$vf" "$PKG_WORK/bad-host/Vagrantfile" && fail "could not break the Vagrantfile copy (hostname line changed?)"
  if validate "$PKG_WORK/bad-host" || ! grep -q 'hostname set for the VM' "$PKG_WORK/validate.log"; then
    cat "$PKG_WORK/validate.log" >&2
    fail "vagrant validate did not refuse an invalid hostname"
  fi
  echo "ok: broken copies are refused (missing provision.sh, invalid hostname)"

  shellcheck -x -P "$IPO_SRC" "$IPO_SRC/vagrant/provision.sh" || fail "vagrant/provision.sh is not shellcheck clean"
  bash "$IPO_SRC/vagrant/provision.sh" --help | grep -q '^Usage: vagrant/provision.sh' || fail "provision.sh --help"
  if bash "$IPO_SRC/vagrant/provision.sh" no-such-step 2>"$PKG_WORK/prov.err"; then
    fail "provision.sh accepted an unknown step"
  fi
  grep -q "unknown step 'no-such-step'" "$PKG_WORK/prov.err" || fail "provision.sh: unclear error: $(cat "$PKG_WORK/prov.err")"
  echo "PASS: Vagrantfile and provision.sh"
}

main "$@"

# shellcheck shell=bash
# Group "core": the agent's build and its lab (dockerd, nftables, namespaces).
# clang-14 with libclang-rt-14-dev (libFuzzer, ASan, UBSan runtimes) builds the "fuzz"
# preset (tests/fuzz/fuzz.sh): Debian 12's clang whose libFuzzer runtime is packaged.
# help2man writes the man pages at build time (cmake/IpoManPages.cmake); man-db and
# bash-completion are what tests/packaging/man_completion.sh checks them with.
# firewalld (1.3; Rocky 8 servers run 0.9 by default) runs only inside the lab's host namespace
# on a private bus (tests/lab/firewalld.sh); a copy we just installed is disabled at once, so
# it never starts at this machine's boot in the root namespace.
ipo_bootstrap_core() {
  ipo_apt_install build-essential cmake ninja-build pkg-config git curl ca-certificates \
    libnftnl-dev libmnl-dev libcurl4-openssl-dev nlohmann-json3-dev libspdlog-dev \
    libsystemd-dev catch2 libcli11-dev clang-14 libclang-rt-14-dev \
    nftables iptables iproute2 util-linux procps psmisc docker.io busybox-static \
    shellcheck clang-tidy jq python3 python3-venv dbus-daemon systemd help2man man-db bash-completion
  ipo_apt_install firewalld
  if [[ " ${IPO_APT_FRESH[*]} " == *" firewalld "* ]]; then
    systemctl disable --now firewalld.service >/dev/null 2>&1 || true
  fi
}

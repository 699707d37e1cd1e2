# shellcheck shell=bash
# Group "core": the agent's build and its lab (dockerd, nftables, namespaces).
ipo_bootstrap_core() {
  ipo_apt_install build-essential cmake ninja-build pkg-config git curl ca-certificates \
    libnftnl-dev libmnl-dev libcurl4-openssl-dev nlohmann-json3-dev libspdlog-dev \
    libsystemd-dev catch2 libcli11-dev \
    nftables iptables iproute2 util-linux procps psmisc docker.io busybox-static \
    shellcheck clang-tidy jq python3 python3-venv dbus-daemon systemd
}

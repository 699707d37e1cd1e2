#!/usr/bin/env bash
# Provisions the Rocky Linux 8 Vagrant machine: build dependencies of the agent (the Rocky
# names of what scripts/bootstrap.d/10-core.sh installs on Debian), docker-ce, then a build.
set -Eeuo pipefail

main() {
  dnf -y install epel-release dnf-plugins-core
  dnf config-manager --set-enabled powertools
  dnf config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo
  dnf -y install gcc-toolset-12 cmake ninja-build pkgconf-pkg-config git jq curl \
    libnftnl-devel libmnl-devel libcurl-devel json-devel spdlog-devel systemd-devel \
    catch-devel cli11-devel nftables iproute util-linux busybox docker-ce
  # shellcheck disable=SC1091
  source /opt/rh/gcc-toolset-12/enable
  cd /vagrant
  cmake --preset default
  cmake --build --preset default
}

main "$@"

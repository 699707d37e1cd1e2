# CPack: the ipo-netd .deb (Debian 12) and .rpm (Rocky Linux 8, the production target),
# both holding exactly the "ipo-netd" install component of cmake/IpoInstall.cmake with
# prefix /usr. From a configured and built tree:
#
#   cpack --config BUILD/CPackConfig.cmake -G DEB -B OUTDIR   -> ipo-netd_<ver>-1_<arch>.deb
#   cpack --config BUILD/CPackConfig.cmake -G RPM -B OUTDIR   -> ipo-netd-<ver>-1[.el8].<arch>.rpm
#
# Version: project(). /etc/ipo-netd/policy.json is a conffile (.deb) and
# %config(noreplace) (.rpm). Maintainer scripts are in packaging/deb and packaging/rpm:
# the first install enables ipo-netd-restore.service and ipo-netd.service, starts nothing
# and does not touch Docker (that migration is scripts/install-agent's).
# Dependencies: .deb = dpkg-shlibdeps of the binaries + nftables; .rpm = the Rocky 8 package
# names below (spdlog and fmt from EPEL). rpm's automatic soname requirements are added only
# when the build host is itself RHEL-like: an .rpm built on Debian is a check of the package
# format and contents, not a binary for Rocky 8 (glibc 2.28 there); the production .rpm is
# built on Rocky 8 (vagrant/, docs/packaging.md).
set(CPACK_PACKAGE_NAME ipo-netd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "ipo.com")
set(CPACK_PACKAGE_CONTACT "ipo.com operations <ops@ipo.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ipo-netd: Docker container isolation and host firewall on nftables")
set(CPACK_PACKAGE_DESCRIPTION
    "ipo-netd follows Docker events, places containers on the networks its policy names and\n\
keeps the nftables ruleset (netlink, libnftnl + libmnl, atomic batches) that isolates the\n\
containers and protects the host; ipo-netctl restores the saved ruleset at boot and shows\n\
the status.")
set(CPACK_GENERATOR "DEB;RPM")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};${PROJECT_NAME};${IPO_INSTALL_COMPONENT};/")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CHECKSUM SHA256)
set(_ipo_pkg ${PROJECT_SOURCE_DIR}/packaging)

# .deb
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "nftables")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "docker.io | docker-ce")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_ipo_pkg}/deb/conffiles ${_ipo_pkg}/deb/postinst ${_ipo_pkg}/deb/prerm ${_ipo_pkg}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# .rpm
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_RELEASE_DIST ON)
set(CPACK_RPM_PACKAGE_LICENSE "Proprietary")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
# Not relocatable: the units and the policy name fixed paths (CPack's default would add
# "Prefix: /usr").
set(CPACK_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_REQUIRES "libnftnl, libmnl, libcurl, systemd-libs, nftables, spdlog, fmt")
set(CPACK_RPM_PACKAGE_REQUIRES_POST "systemd")
set(CPACK_RPM_PACKAGE_REQUIRES_PREUN "systemd")
set(CPACK_RPM_PACKAGE_REQUIRES_POSTUN "systemd")
cmake_host_system_information(RESULT _ipo_os_like QUERY DISTRIB_ID_LIKE)
cmake_host_system_information(RESULT _ipo_os_id QUERY DISTRIB_ID)
if(NOT "${_ipo_os_id} ${_ipo_os_like}" MATCHES "rhel|fedora|centos|suse")
  set(CPACK_RPM_PACKAGE_AUTOREQ no)
endif()
# No /usr/lib/.build-id links: the file list is the same as the .deb's (and two builds of
# the same binary in different packages would conflict on them).
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")
set(CPACK_RPM_USER_FILELIST "%config(noreplace) /etc/ipo-netd/policy.json")
# Directories owned by systemd, dbus or the filesystem package, not by ipo-netd.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/sbin /usr/lib/systemd /usr/lib/systemd/system /usr/share/dbus-1 /usr/share/dbus-1/system.d)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${_ipo_pkg}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${_ipo_pkg}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${_ipo_pkg}/rpm/postun.sh)

include(CPack)

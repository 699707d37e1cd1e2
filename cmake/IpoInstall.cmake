# Install layout of the ipo-netd package (component "ipo-netd"), DESTDIR-friendly:
#
#   cmake --install BUILD --component ipo-netd --prefix /usr    (add DESTDIR=... to stage)
#
#   <prefix>/sbin/ipo-netd                          the daemon
#   <prefix>/bin/ipo-netctl                         the control CLI (status, check, restore, ...)
#   <prefix>/libexec/ipo-netd/ipo-netd-proxy        Docker's userland proxy: reserves -p ports
#                                                   (daemon.json "userland-proxy-path" names it)
#   /etc/ipo-netd/policy.json                       the policy (rules/policy.json); conffile
#   <prefix>/lib/systemd/system/ipo-netd.service    units from systemd/
#   <prefix>/lib/systemd/system/ipo-netd-restore.service
#   <prefix>/lib/systemd/system/docker.service.d/ipo-netd-restore.conf  Docker requires the restore
#   <prefix>/share/dbus-1/system.d/org.ipo.NetD1.conf   D-Bus policy of the bus name
#   <prefix>/share/ipo-netd/docker-daemon.json      Docker settings merged by scripts/install-agent
#   <prefix>/share/doc/ipo-netd/*.md                the agent's documentation (incl. boot.md)
#   <prefix>/share/man/man8/ipo-netd.8.gz           man pages from --help (cmake/IpoManPages.cmake)
#   <prefix>/share/man/man1/ipo-netctl.1.gz
#   <prefix>/share/bash-completion/completions/ipo-netctl   agent/cli/ipo-netctl.bash-completion
#
# The policy goes to IPO_INSTALL_SYSCONFDIR (default the absolute /etc, also with prefix
# /usr). /var/lib/ipo-netd and /run/ipo-netd are not installed: the units create them
# (StateDirectory=, RuntimeDirectory=). The packages (cmake/IpoPackaging.cmake) contain
# exactly this component. The agent's own install() rules in agent/ are in the default
# component and are not part of the packages.
include(GNUInstallDirs)

set(IPO_INSTALL_SYSCONFDIR "/etc" CACHE PATH "Where ipo-netd/policy.json is installed (absolute)")
# Units always live in lib/ (not lib64 or lib/<multiarch> as GNUInstallDirs picks for libraries).
set(IPO_INSTALL_UNITDIR "lib/systemd/system" CACHE PATH "systemd system unit directory (relative to the prefix)")
set(IPO_INSTALL_DBUSDIR "${CMAKE_INSTALL_DATADIR}/dbus-1/system.d" CACHE PATH
    "D-Bus system bus policy directory (relative to the prefix)")

set(IPO_INSTALL_COMPONENT ipo-netd)

install(TARGETS ipo-netd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT ${IPO_INSTALL_COMPONENT})
install(TARGETS ipo-netctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ${IPO_INSTALL_COMPONENT})
# Fixed "libexec" (not GNUInstallDirs' choice): docker-daemon.json names the absolute path
# /usr/libexec/ipo-netd/ipo-netd-proxy, the same on Debian and Rocky 8.
install(TARGETS ipo-netd-proxy RUNTIME DESTINATION libexec/ipo-netd COMPONENT ${IPO_INSTALL_COMPONENT})

install(FILES ${PROJECT_SOURCE_DIR}/rules/policy.json
        DESTINATION ${IPO_INSTALL_SYSCONFDIR}/ipo-netd
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT ${IPO_INSTALL_COMPONENT})

# ipo-netd-restore.service and org.ipo.NetD1.conf are written alongside this file by other
# work; OPTIONAL keeps the install working until they land (tests/packaging asserts both).
install(FILES ${PROJECT_SOURCE_DIR}/systemd/ipo-netd.service
              ${PROJECT_SOURCE_DIR}/systemd/ipo-netd-restore.service
        DESTINATION ${IPO_INSTALL_UNITDIR} OPTIONAL COMPONENT ${IPO_INSTALL_COMPONENT})
# The drop-in that makes docker.service require the boot restore (Docker never starts without it).
install(FILES ${PROJECT_SOURCE_DIR}/systemd/docker.service.d/ipo-netd-restore.conf
        DESTINATION ${IPO_INSTALL_UNITDIR}/docker.service.d COMPONENT ${IPO_INSTALL_COMPONENT})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/org.ipo.NetD1.conf
        DESTINATION ${IPO_INSTALL_DBUSDIR} OPTIONAL COMPONENT ${IPO_INSTALL_COMPONENT})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/docker-daemon.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/ipo-netd COMPONENT ${IPO_INSTALL_COMPONENT})

set(IPO_INSTALL_DOCS ANSWERS.md packaging.md policy.md ruleset.md state-format.md status.md nft-backend.md)
list(TRANSFORM IPO_INSTALL_DOCS PREPEND ${PROJECT_SOURCE_DIR}/docs/)
install(FILES ${IPO_INSTALL_DOCS}
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/ipo-netd COMPONENT ${IPO_INSTALL_COMPONENT})
# boot.md (named by the units' Documentation=) is being written alongside; see above.
install(FILES ${PROJECT_SOURCE_DIR}/docs/boot.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/ipo-netd OPTIONAL COMPONENT ${IPO_INSTALL_COMPONENT})

if(TARGET man)
  install(FILES ${IPO_MAN_DIR}/ipo-netd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT ${IPO_INSTALL_COMPONENT})
  install(FILES ${IPO_MAN_DIR}/ipo-netctl.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${IPO_INSTALL_COMPONENT})
endif()
install(FILES ${PROJECT_SOURCE_DIR}/agent/cli/ipo-netctl.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ipo-netctl
        COMPONENT ${IPO_INSTALL_COMPONENT})

# Man pages, generated at build time by help2man from the same --help the programs print, so
# they cannot disagree with it (target "man", part of "all"):
#
#   build/man/ipo-netd.8.gz           `ipo-netd --help` + docs/man/ipo-netd.h2m
#   build/man/ipo-netctl.1.gz         `ipo-netctl --help`, every subcommand's --help
#                                     (cmake/help2man_subcommands.sh) + docs/man/ipo-netctl.h2m
#   build/man/ipo-mongo-archive.1.gz  `scripts/ipo-mongo-archive --help` + its .h2m
#
# The version is the project's (help2man --version-string), one source of truth. The first
# two are installed by the packages (cmake/IpoInstall.cmake); ipo-mongo-archive is not
# packaged, its page is for `man -l`. help2man comes from scripts/bootstrap (group core).
find_program(IPO_HELP2MAN help2man)
if(NOT IPO_HELP2MAN)
  message(FATAL_ERROR "help2man not found: run scripts/bootstrap (it installs help2man)")
endif()
find_program(IPO_GZIP gzip REQUIRED)

set(IPO_MAN_DIR ${PROJECT_BINARY_DIR}/man)

# ipo_man_page(NAME n SECTION s PROGRAM p [DEPENDS d...] [SUBCOMMANDS])
function(ipo_man_page)
  cmake_parse_arguments(M "SUBCOMMANDS" "NAME;SECTION;PROGRAM" "DEPENDS" ${ARGN})
  set(h2m ${PROJECT_SOURCE_DIR}/docs/man/${M_NAME}.h2m)
  set(page ${IPO_MAN_DIR}/${M_NAME}.${M_SECTION})
  set(includes --include ${h2m})
  set(pre "")
  if(M_SUBCOMMANDS)
    set(sub ${IPO_MAN_DIR}/${M_NAME}.subcommands.h2m)
    set(pre COMMAND bash ${PROJECT_SOURCE_DIR}/cmake/help2man_subcommands.sh ${M_PROGRAM} > ${sub})
    list(APPEND includes --include ${sub})
  endif()
  add_custom_command(
    OUTPUT ${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${IPO_MAN_DIR}
    ${pre}
    COMMAND ${IPO_HELP2MAN} --no-info --no-discard-stderr --section ${M_SECTION}
            --version-string ${PROJECT_VERSION} --source "ipo-host ${PROJECT_VERSION}" ${includes} --output ${page} ${M_PROGRAM}
    # -n: no name or time stamp in the .gz, so the package is reproducible.
    COMMAND ${IPO_GZIP} -9nf ${page}
    DEPENDS ${M_DEPENDS} ${h2m} ${PROJECT_SOURCE_DIR}/cmake/help2man_subcommands.sh
    COMMENT "Generating man page ${M_NAME}(${M_SECTION})"
    VERBATIM)
  set_property(GLOBAL APPEND PROPERTY IPO_MAN_PAGES ${page}.gz)
endfunction()

ipo_man_page(NAME ipo-netd SECTION 8 PROGRAM $<TARGET_FILE:ipo-netd> DEPENDS ipo-netd)
ipo_man_page(NAME ipo-netctl SECTION 1 PROGRAM $<TARGET_FILE:ipo-netctl> DEPENDS ipo-netctl SUBCOMMANDS)
ipo_man_page(NAME ipo-mongo-archive SECTION 1 PROGRAM ${PROJECT_SOURCE_DIR}/scripts/ipo-mongo-archive
             DEPENDS ${PROJECT_SOURCE_DIR}/scripts/ipo-mongo-archive)
get_property(pages GLOBAL PROPERTY IPO_MAN_PAGES)
add_custom_target(man ALL DEPENDS ${pages})

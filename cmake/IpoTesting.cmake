# Helpers that register every kind of test with CTest, so one `ctest` counts them all.
#
# ipo_add_unit_test(NAME n SOURCES a.cc... [LIBS l...] [ROOT_NETNS])
#   A Catch2 executable. Label "unit". With ROOT_NETNS it needs root and runs inside a
#   fresh network namespace (`unshare --net`), so it never sees the host's ruleset.
# ipo_add_shell_test(NAME n SCRIPT path [ARGS a...] [LABELS l...] [TIMEOUT s] [LOCK r])
#   A Bash test script; exit 0 passes, 77 skips. LOCK serialises tests that share a lab.

add_library(ipo_catch_main OBJECT ${PROJECT_SOURCE_DIR}/tests/catch_main.cc)
target_link_libraries(ipo_catch_main PUBLIC Catch2::Catch2)

function(ipo_add_unit_test)
  cmake_parse_arguments(T "ROOT_NETNS" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ipo_catch_main Catch2::Catch2 ${T_LIBS})
  if(T_ROOT_NETNS)
    add_test(NAME ${T_NAME} COMMAND unshare --net -- $<TARGET_FILE:${T_NAME}>)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "unit;root")
  else()
    add_test(NAME ${T_NAME} COMMAND ${T_NAME})
    set_tests_properties(${T_NAME} PROPERTIES LABELS "unit")
  endif()
endfunction()

function(ipo_add_shell_test)
  cmake_parse_arguments(T "" "NAME;SCRIPT;TIMEOUT;LOCK" "ARGS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  add_test(NAME ${T_NAME} COMMAND bash ${T_SCRIPT} ${T_ARGS})
  set_tests_properties(${T_NAME} PROPERTIES
    LABELS "shell;${T_LABELS}" TIMEOUT ${T_TIMEOUT} SKIP_RETURN_CODE 77
    ENVIRONMENT "IPO_SRC=${PROJECT_SOURCE_DIR};IPO_BUILD=${PROJECT_BINARY_DIR}")
  if(T_LOCK)
    set_tests_properties(${T_NAME} PROPERTIES RESOURCE_LOCK ${T_LOCK})
  endif()
endfunction()

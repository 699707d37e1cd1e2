# Helpers that register every kind of test with CTest, so one `ctest` counts them all.
#
# ipo_add_unit_test(NAME n SOURCES a.cc... [LIBS l...] [ROOT_NETNS])
#   A Catch2 executable. Label "unit". With ROOT_NETNS it needs root and runs inside a
#   fresh network namespace (`unshare --net`), so it never sees the host's ruleset.
# ipo_add_shell_test(NAME n SCRIPT path [CASES] [CPU] [ARGS a...] [LABELS l...] [TIMEOUT s] [LOCK r]
#                    [PROPERTIES p v...])
#   A Bash test script; exit 0 passes, 77 skips. LOCK serialises tests that share a lab.
#   Two lanes (scripts/test runs `ctest -j2`): every shell test holds the lock "host" (labs,
#   namespaces, dockerd, ports: one at a time, as before), except the CPU-only ones (label
#   "lint": shellcheck, clang-tidy, the ASan build; or CPU: the fuzz preset's build) which
#   hold "cpu" instead and run under `nice -n 19`, so the compilers fill the CPU the labs
#   leave idle without taking it from them. Unit tests hold no lock.
#   PROPERTIES: more test properties (e.g. FIXTURES_REQUIRED f), set on every test it makes.
#   CASES: a multi-case script (tests/lib/cases.sh); at configure time `SCRIPT --list` prints
#   its cases and each becomes the test n_<case> (ARGS <case> a...). Editing the script
#   re-runs the configure step, so a new case_* function is a new test with no CMake change.
# ipo_add_fuzz_target(NAME n SOURCES a.cc... [LIBS l...])
#   A libFuzzer target (it defines LLVMFuzzerTestOneInput). In the "fuzz" preset
#   (IPO_FUZZ, clang) it is linked with libFuzzer and built by the target "fuzz_targets";
#   tests/fuzz/fuzz.sh runs it. In every other build it is linked with a replay main
#   (agent/testing/fuzz_replay_main.cc) and CTest runs it once over each input of its seed
#   corpus tests/fuzz/corpus/<n>/ (test "<n>_corpus", labels "unit;fuzz"), so gcc, clang-tidy
#   and the ASan preset see the same code and every committed crash input stays fixed.

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
  cmake_parse_arguments(T "CASES;CPU" "NAME;SCRIPT;TIMEOUT;LOCK" "ARGS;LABELS;PROPERTIES" ${ARGN})
  if(T_CPU)
    list(APPEND T_LABELS cpu)
  endif()
  if(T_CASES)
    execute_process(
      COMMAND ${CMAKE_COMMAND} -E env IPO_SRC=${PROJECT_SOURCE_DIR} IPO_BUILD=${PROJECT_BINARY_DIR}
              bash ${T_SCRIPT} --list
      RESULT_VARIABLE rc OUTPUT_VARIABLE cases ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0 OR cases STREQUAL "")
      message(FATAL_ERROR "${T_SCRIPT} --list failed (${rc}): ${err}")
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${T_SCRIPT})
    string(REPLACE "\n" ";" cases "${cases}")
    foreach(case IN LISTS cases)
      _ipo_add_shell_test_one(${T_NAME}_${case} "${T_SCRIPT}" "${case};${T_ARGS}" "${T_LABELS}" "${T_TIMEOUT}"
                              "${T_LOCK}" "${T_PROPERTIES}")
    endforeach()
  else()
    _ipo_add_shell_test_one(${T_NAME} "${T_SCRIPT}" "${T_ARGS}" "${T_LABELS}" "${T_TIMEOUT}" "${T_LOCK}"
                            "${T_PROPERTIES}")
  endif()
endfunction()

function(_ipo_add_shell_test_one name script args labels timeout lock properties)
  if(NOT timeout)
    set(timeout 600)
  endif()
  if("lint" IN_LIST labels OR "cpu" IN_LIST labels)
    add_test(NAME ${name} COMMAND nice -n 19 bash ${script} ${args})
    set(locks cpu ${lock})
  else()
    add_test(NAME ${name} COMMAND bash ${script} ${args})
    set(locks host ${lock})
  endif()
  set_tests_properties(${name} PROPERTIES
    LABELS "shell;${labels}" TIMEOUT ${timeout} SKIP_RETURN_CODE 77
    ENVIRONMENT "IPO_SRC=${PROJECT_SOURCE_DIR};IPO_BUILD=${PROJECT_BINARY_DIR}"
    RESOURCE_LOCK "${locks}")
  if(properties)
    set_tests_properties(${name} PROPERTIES ${properties})
  endif()
endfunction()

if(IPO_FUZZ)
  add_custom_target(fuzz_targets)
else()
  add_library(ipo_fuzz_replay_main OBJECT ${PROJECT_SOURCE_DIR}/agent/testing/fuzz_replay_main.cc)
endif()

function(ipo_add_fuzz_target)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS})
  if(IPO_FUZZ)
    target_link_options(${T_NAME} PRIVATE -fsanitize=fuzzer)
    add_dependencies(fuzz_targets ${T_NAME})
  else()
    target_link_libraries(${T_NAME} PRIVATE ipo_fuzz_replay_main)
    # An input may take 1 s (the fuzz run's -timeout); the unoptimised ASan build gets more.
    set(max_seconds 1)
    if(IPO_SANITIZE)
      set(max_seconds 10)
    endif()
    add_test(NAME ${T_NAME}_corpus
             COMMAND ${T_NAME} --max-seconds=${max_seconds}
                     ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${T_NAME})
    set_tests_properties(${T_NAME}_corpus PROPERTIES LABELS "unit;fuzz")
  endif()
endfunction()

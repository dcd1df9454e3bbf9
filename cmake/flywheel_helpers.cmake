# flywheel_cc_library(NAME n SRCS ... DEPS ...)      -> static library flywheel_<n>
# flywheel_cc_test(NAME n SRCS ... DEPS ... [LABELS ...]) -> gtest executable, discovered by ctest
# flywheel_cc_benchmark(NAME n SRCS ... DEPS ...)    -> Google Benchmark executable
function(flywheel_cc_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(flywheel_${A_NAME} STATIC ${A_SRCS})
  target_include_directories(flywheel_${A_NAME} PUBLIC
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(flywheel_${A_NAME} PRIVATE ${FLYWHEEL_WARNING_FLAGS})
  target_link_libraries(flywheel_${A_NAME} PUBLIC ${A_DEPS})
endfunction()

function(flywheel_cc_test)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_compile_options(${A_NAME} PRIVATE ${FLYWHEEL_WARNING_FLAGS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} flywheel_testing GTest::gmock GTest::gtest_main)
  if(FLYWHEEL_SANITIZE STREQUAL "fuzzer")
    # The clang-fuzz preset compiles the tests for -Wthread-safety only (they run under the asan
    # and tsan presets): no instrumentation and -O0 keep that compile as cheap as it was in the
    # former clang-tsa preset; they still link the sanitizer runtimes of the libraries.
    target_compile_options(${A_NAME} PRIVATE -fno-sanitize=all -O0)
  endif()
  if(NOT A_LABELS)
    set(A_LABELS unit)
  endif()
  gtest_discover_tests(${A_NAME}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES LABELS "${A_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()

function(flywheel_cc_benchmark)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_compile_options(${A_NAME} PRIVATE ${FLYWHEEL_WARNING_FLAGS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} benchmark::benchmark)
endfunction()

# flywheel_group_targets(NAME DIR): a target NAME that builds every executable and library defined
# in DIR and its subdirectories (CI's release step builds the e2e tests and the benchmarks this way,
# without the unit tests it does not run there).
function(flywheel_collect_targets dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    flywheel_collect_targets(${sub} sub_targets)
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

function(flywheel_group_targets name dir)
  flywheel_collect_targets(${dir} targets)
  add_custom_target(${name})
  if(targets)
    add_dependencies(${name} ${targets})
  endif()
endfunction()

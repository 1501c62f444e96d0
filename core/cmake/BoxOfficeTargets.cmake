# The few ways a BoxOffice target is declared. Every component uses these, so
# warnings, sanitizers, visibility and install rules are decided in one place.

set(BOXOFFICE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wnon-virtual-dtor -Woverloaded-virtual -Wformat=2)
if(BOXOFFICE_WERROR)
  list(APPEND BOXOFFICE_WARNINGS -Werror)
  # GCC 12 at -O3 reports -Wrestrict inside libstdc++'s std::string code (GCC bug 105329),
  # which breaks Release builds of the tests; it stays a warning there.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    list(APPEND BOXOFFICE_WARNINGS -Wno-error=restrict)
  endif()
endif()

# The environment of every test (boxoffice_test, and tests added by hand, e.g. the demo).
set(BOXOFFICE_TEST_ENVIRONMENT "")
if(BOXOFFICE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # GCC 12's LeakSanitizer misreads glibc 2.36's dynamic TLS (google/sanitizers#1322): a
  # process whose idle thread (e.g. a GStreamer pool thread that wrote to SQLite) holds TLS
  # of a dlopen'ed library crashes in the leak check at exit ("Tracer caught signal 11").
  # Not tracking dynamic TLS is that issue's workaround; the daemons a test starts inherit it.
  set(BOXOFFICE_TEST_ENVIRONMENT "ASAN_OPTIONS=intercept_tls_get_addr=0")
endif()

# libFuzzer is guided by the coverage of the code it runs; -fsanitize=fuzzer on the
# fuzz target alone instruments only its own file, not the libraries it drives.
if(BOXOFFICE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "BOXOFFICE_FUZZ needs Clang (CC=clang CXX=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
elseif(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND BOXOFFICE_BUILD_TESTS)
  message(STATUS "Fuzz targets see only their own coverage; -DBOXOFFICE_FUZZ=ON instruments the libraries too")
endif()

function(boxoffice_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${BOXOFFICE_WARNINGS}>)
endfunction()

# boxoffice_core_module(<name> SOURCES ... [DEPENDS ...] [PRIVATE_DEPENDS ...])
# A shared library boxoffice_<name> with public headers in include/boxoffice/<name>/,
# usable as BoxOffice::<name>.
function(boxoffice_core_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  set(target boxoffice_${name})
  add_library(${target} SHARED ${ARG_SOURCES})
  add_library(BoxOffice::${name} ALIAS ${target})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC ${ARG_DEPENDS} PRIVATE ${ARG_PRIVATE_DEPENDS})
  set_target_properties(${target} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  boxoffice_warnings(${target})
  install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime)
endfunction()

# boxoffice_plugin(<name> SOURCES ... [DEPENDS ...] [SERVER] [OUTPUT_DIR dir])
# A loadable plugin module (libboxoffice-<name>.so) for the STB (default) or the server.
function(boxoffice_plugin name)
  cmake_parse_arguments(ARG "SERVER" "OUTPUT_DIR" "SOURCES;DEPENDS" ${ARGN})
  set(target boxoffice_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE BoxOffice::host ${ARG_DEPENDS})
  set_target_properties(${target} PROPERTIES PREFIX "lib" OUTPUT_NAME "boxoffice-${name}"
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  boxoffice_warnings(${target})
  if(ARG_OUTPUT_DIR)
    set(out ${ARG_OUTPUT_DIR})
  elseif(ARG_SERVER)
    set(out ${BOXOFFICE_SERVER_PLUGIN_OUTPUT_DIR})
  else()
    set(out ${BOXOFFICE_PLUGIN_OUTPUT_DIR})
  endif()
  set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${out})
  if(NOT ARG_OUTPUT_DIR)
    if(ARG_SERVER)
      install(TARGETS ${target} LIBRARY DESTINATION ${BOXOFFICE_INSTALL_SERVER_PLUGINDIR} COMPONENT server)
    else()
      install(TARGETS ${target} LIBRARY DESTINATION ${BOXOFFICE_INSTALL_PLUGINDIR} COMPONENT runtime)
    endif()
  endif()
endfunction()

# boxoffice_test(<name> SOURCES ... [DEPENDS ...] [LABELS ...] [TIMEOUT s] [FIXTURES ...])
# A GoogleTest executable registered with ctest, test by test. FIXTURES names
# ctest fixtures every test requires (e.g. `postgres`, see tests/support/postgres).
function(boxoffice_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPENDS;LABELS;FIXTURES" ${ARGN})
  if(NOT BOXOFFICE_BUILD_TESTS)
    return()
  endif()
  # gtest_discover_tests splits list-valued properties and silently drops the
  # rest, so each of these takes exactly one value.
  foreach(single LABELS FIXTURES)
    list(LENGTH ARG_${single} count)
    if(count GREATER 1)
      message(FATAL_ERROR "boxoffice_test(${name}): ${single} takes one value, got '${ARG_${single}}'")
    endif()
  endforeach()
  add_executable(${name} ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/support/environment/TestEnvironment.cpp)
  target_compile_definitions(${name} PRIVATE
    BOXOFFICE_TEST_BUILD_DIR="${CMAKE_BINARY_DIR}" BOXOFFICE_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_link_libraries(${name} PRIVATE ${ARG_DEPENDS} GTest::gtest GTest::gmock GTest::gtest_main)
  boxoffice_warnings(${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set(fixtures)
  if(ARG_FIXTURES)
    set(fixtures FIXTURES_REQUIRED "${ARG_FIXTURES}")
  endif()
  set(environment)
  if(BOXOFFICE_TEST_ENVIRONMENT)
    set(environment ENVIRONMENT "${BOXOFFICE_TEST_ENVIRONMENT}")
  endif()
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}" ${fixtures} ${environment})
endfunction()

# boxoffice_benchmark(<name> SOURCES ... [DEPENDS ...])
function(boxoffice_benchmark name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  if(NOT BOXOFFICE_BUILD_BENCHMARKS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPENDS} benchmark::benchmark)
  boxoffice_warnings(${name})
endfunction()

# Adds every direct subdirectory that has a CMakeLists.txt, so a new component
# or plugin folder is picked up without editing its parent. Target references
# are resolved at generate time, so the order does not matter.
function(boxoffice_add_all_subdirectories)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(dir ${children})
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${dir} AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt)
      add_subdirectory(${dir})
    endif()
  endforeach()
endfunction()

# boxoffice_fuzz(<name> SOURCES ... DRIVER_SOURCES ... DEPENDS ... DRIVER_DEPENDS ...
#                FUZZER_ARGS ... DRIVER_ARGS ...)
# A fuzz target: a libFuzzer binary under Clang, otherwise SOURCES plus a
# deterministic mutation driver (DRIVER_SOURCES). ctest runs it briefly as
# <name>_short with FUZZER_ARGS or DRIVER_ARGS.
function(boxoffice_fuzz name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DRIVER_SOURCES;DEPENDS;DRIVER_DEPENDS;FUZZER_ARGS;DRIVER_ARGS" ${ARGN})
  if(NOT BOXOFFICE_BUILD_TESTS)
    return()
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_executable(${name} ${ARG_SOURCES})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    set(args ${ARG_FUZZER_ARGS})
  else()
    add_executable(${name} ${ARG_SOURCES} ${ARG_DRIVER_SOURCES})
    target_link_libraries(${name} PRIVATE ${ARG_DRIVER_DEPENDS})
    set(args ${ARG_DRIVER_ARGS})
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_DEPENDS})
  boxoffice_warnings(${name})
  add_test(NAME ${name}_short COMMAND ${name} ${args})
  set_tests_properties(${name}_short PROPERTIES LABELS fuzz TIMEOUT 120)
endfunction()

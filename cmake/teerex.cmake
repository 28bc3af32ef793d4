# Helpers shared by every CMakeLists.txt of the project.

# Tests that need something absent (node modules, ../shared, a tool) exit 77.
set(TR_SKIP_CODE 77)
# Where tests find ../shared (real AWS documents, CRS, ...).
if(DEFINED ENV{TEEREX_SHARED})
  set(TR_SHARED_DIR $ENV{TEEREX_SHARED})
else()
  get_filename_component(TR_SHARED_DIR ${PROJECT_SOURCE_DIR}/../shared ABSOLUTE)
endif()

# Environment every test gets: where the build, the sources and ../shared are.
set(TR_TEST_ENV
  TR_BUILD_DIR=${PROJECT_BINARY_DIR}
  TR_SOURCE_DIR=${PROJECT_SOURCE_DIR}
  TEEREX_SHARED=${TR_SHARED_DIR}
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)

# With TR_VALGRIND every C test binary runs under valgrind, and script tests
# see TR_VALGRIND=1 plus TR_VALGRIND_CMD to wrap the servers they start.
set(TR_VALGRIND_CMD valgrind --quiet --error-exitcode=99 --leak-check=full
  --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
  --track-origins=no --trace-children=no)
set(TR_TEST_WRAP "")
if(TR_VALGRIND)
  set(TR_TEST_WRAP ${TR_VALGRIND_CMD})
  string(REPLACE ";" " " tr_vg_str "${TR_VALGRIND_CMD}")
  list(APPEND TR_TEST_ENV TR_VALGRIND=1 "TR_VALGRIND_CMD=${tr_vg_str}")
endif()

# tr_add_unit_test(name SOURCES a.c b.c [LABELS x y] [LIBS teerex_<mod> ...])
# LIBS defaults to teerex_all; name your module so a broken neighbour does not
# stop your build.
function(tr_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LABELS;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit ${PROJECT_SOURCE_DIR}/lib)
  if(T_LIBS)
    target_link_libraries(${name} PRIVATE ${T_LIBS})
  else()
    target_link_libraries(${name} PRIVATE teerex_all)
  endif()
  add_test(NAME ${name} COMMAND ${TR_TEST_WRAP} $<TARGET_FILE:${name}>)
  set_tests_properties(${name} PROPERTIES LABELS "unit;valgrind;${T_LABELS}"
    ENVIRONMENT "${TR_TEST_ENV}" SKIP_RETURN_CODE ${TR_SKIP_CODE} TIMEOUT 300)
endfunction()

# tr_add_script_test(name COMMAND ... [LABELS ...] [TIMEOUT s])
function(tr_add_script_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  add_test(NAME ${name} COMMAND ${T_COMMAND})
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}"
    ENVIRONMENT "${TR_TEST_ENV}" SKIP_RETURN_CODE ${TR_SKIP_CODE} TIMEOUT ${T_TIMEOUT})
endfunction()

# tr_add_static_tool(name SOURCES ... INCLUDES ...): a fully static program for
# the EC2 parent (Amazon Linux has an older glibc than the Debian build
# image): lib/core's sources compiled in, libcrypto.a and libjansson.a linked
# (pkg-config's imported targets point at .so files). -DTR_STATIC_PROXY=ON.
function(tr_add_static_tool name)
  cmake_parse_arguments(T "" "" "SOURCES;INCLUDES" ${ARGN})
  get_target_property(core_srcs teerex_core SOURCES)
  get_target_property(core_dir teerex_core SOURCE_DIR)
  list(TRANSFORM core_srcs PREPEND ${core_dir}/)
  find_library(TR_JANSSON_A libjansson.a REQUIRED)
  find_library(TR_CRYPTO_A libcrypto.a REQUIRED)
  add_executable(${name} ${T_SOURCES} ${core_srcs})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/lib
    ${T_INCLUDES})
  target_link_options(${name} PRIVATE -static)
  target_link_libraries(${name} PRIVATE ${TR_JANSSON_A} ${TR_CRYPTO_A} Threads::Threads
    ${CMAKE_DL_LIBS})
endfunction()

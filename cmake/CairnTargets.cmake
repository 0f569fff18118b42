# Helpers that keep every folder's CMakeLists.txt short and uniform.

set(CAIRN_WARNINGS -Wall -Wextra -Werror)

# cairn_library(NAME SOURCES a.cc b.cc DEPS x y)
# One library per folder; its public include root is src/ so that includes read "store/store.h".
function(cairn_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(${name} PRIVATE ${CAIRN_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# cairn_test(NAME LABEL label SOURCES a_test.cc DEPS lib)
# A GoogleTest binary registered with CTest under the module's label; it links
# cairn_test_support (tests/support/test_support.h: TempDir, free_port, wait_until).
function(cairn_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${CAIRN_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} cairn_test_support GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT ${ARG_TIMEOUT})
endfunction()

# Helpers that keep every folder's CMakeLists.txt short and uniform.

set(CAIRN_WARNINGS -Wall -Wextra -Werror)

# cairn_library(NAME SOURCES a.cc b.cc DEPS x y)
# One library per folder; its public include root is src/ so that includes read "store/store.h".
function(cairn_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  # Build-tree only: the installed SDK package carries some of these libraries (src/client).
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
                                            $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
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

# cairn_module(NAME [ALLOWS module...] [TEST_ALLOWS module...] [STDLIB_ONLY])
# Declares src/NAME as a module and the modules whose headers its files may include as
# "<module>/..." (its own are always allowed). Its tests/ and fuzz/ files follow the same list plus
# TEST_ALLOWS, and alone may include test helpers ("<module>/tests/..."). STDLIB_ONLY: outside
# tests/ and fuzz/, only C++ standard library <headers> (raft: no Asio, Beast, SQLite or Redis).
# scripts/check_layering.py holds the includes to these lists and the lists to the layer order
# (docs/architecture.md, "Layering"). Call it first in src/NAME/CMakeLists.txt, before any return().
function(cairn_module name)
  cmake_parse_arguments(ARG "STDLIB_ONLY" "" "ALLOWS;TEST_ALLOWS" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "cairn_module(${name}): unexpected arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  cmake_path(GET CMAKE_CURRENT_SOURCE_DIR FILENAME dir)
  if(NOT dir STREQUAL name)
    message(FATAL_ERROR "cairn_module(${name}) called in src/${dir}: a module is its folder")
  endif()
  get_property(declared GLOBAL PROPERTY CAIRN_DECLARED_MODULES)
  if(name IN_LIST declared)
    message(FATAL_ERROR "cairn_module(${name}) declared twice")
  endif()
  file(RELATIVE_PATH listfile ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_LIST_FILE})
  set_property(GLOBAL APPEND PROPERTY CAIRN_DECLARED_MODULES ${name})
  set_property(GLOBAL PROPERTY CAIRN_MODULE_${name}_ALLOWS "${ARG_ALLOWS}")
  set_property(GLOBAL PROPERTY CAIRN_MODULE_${name}_TEST_ALLOWS "${ARG_TEST_ALLOWS}")
  set_property(GLOBAL PROPERTY CAIRN_MODULE_${name}_STDLIB_ONLY ${ARG_STDLIB_ONLY})
  set_property(GLOBAL PROPERTY CAIRN_MODULE_${name}_LISTFILE ${listfile})
endfunction()

option(CAIRN_LAYERING_IN_BUILD "Run the layering check in the default build (CTest runs it anyway)" ON)

# cairn_enforce_layering(): called once, from the root CMakeLists. At the end of the configure it
# writes every cairn_module() declaration to <build>/layering.json and registers the check as the
# CTest test `layering` (labels unit;layering) and the test that proves it catches planted upward
# includes (layering_catches_planted_includes); with CAIRN_LAYERING_IN_BUILD, also the target
# check_layering of the default build, so that an upward include fails the build early. It reruns
# only when a source file, a declaration or the script changes.
function(cairn_enforce_layering)
  cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL _cairn_layering_finish)
endfunction()

function(_cairn_json_array out)
  set(items ${ARGN})
  list(TRANSFORM items PREPEND "\"")
  list(TRANSFORM items APPEND "\"")
  list(JOIN items ", " text)
  set(${out} "[${text}]" PARENT_SCOPE)
endfunction()

function(_cairn_layering_finish)
  get_property(modules GLOBAL PROPERTY CAIRN_DECLARED_MODULES)
  list(SORT modules)
  set(entries "")
  foreach(module IN LISTS modules)
    get_property(allows GLOBAL PROPERTY CAIRN_MODULE_${module}_ALLOWS)
    get_property(test_allows GLOBAL PROPERTY CAIRN_MODULE_${module}_TEST_ALLOWS)
    get_property(stdlib_only GLOBAL PROPERTY CAIRN_MODULE_${module}_STDLIB_ONLY)
    get_property(listfile GLOBAL PROPERTY CAIRN_MODULE_${module}_LISTFILE)
    _cairn_json_array(allows_json ${allows})
    _cairn_json_array(test_allows_json ${test_allows})
    if(stdlib_only)
      set(stdlib_only true)
    else()
      set(stdlib_only false)
    endif()
    list(APPEND entries "    \"${module}\": {\"allows\": ${allows_json}, \"test_allows\": ${test_allows_json}, \"stdlib_only\": ${stdlib_only}, \"cmake\": \"${listfile}\"}")
  endforeach()
  list(JOIN entries ",\n" body)
  # A partial build (CAIRN_ONLY, CAIRN_SDK_ONLY) skips the folders it did not configure.
  if(CAIRN_ONLY OR CAIRN_SDK_ONLY)
    set(partial true)
  else()
    set(partial false)
  endif()
  set(manifest ${CMAKE_BINARY_DIR}/layering.json)
  file(CONFIGURE OUTPUT ${manifest} @ONLY CONTENT
"{\n  \"source_dir\": \"${PROJECT_SOURCE_DIR}\",\n  \"partial\": ${partial},\n  \"modules\": {\n${body}\n  }\n}\n")

  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  set(script ${PROJECT_SOURCE_DIR}/scripts/check_layering.py)
  add_test(NAME layering COMMAND ${Python3_EXECUTABLE} ${script} --manifest ${manifest})
  set_tests_properties(layering PROPERTIES LABELS "unit;layering" TIMEOUT 60)
  add_test(NAME layering_catches_planted_includes
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/layering/planted_test.py
            --script ${script} --manifest ${manifest})
  # 77: a partial build (CAIRN_ONLY, CAIRN_SDK_ONLY) lacks the modules the cases plant into.
  set_tests_properties(layering_catches_planted_includes PROPERTIES
    LABELS "unit;layering" TIMEOUT 120 SKIP_RETURN_CODE 77)

  if(CAIRN_LAYERING_IN_BUILD)
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS
      ${PROJECT_SOURCE_DIR}/src/*.h ${PROJECT_SOURCE_DIR}/src/*.hh ${PROJECT_SOURCE_DIR}/src/*.hpp
      ${PROJECT_SOURCE_DIR}/src/*.cc ${PROJECT_SOURCE_DIR}/src/*.cpp ${PROJECT_SOURCE_DIR}/src/*.cxx
      ${PROJECT_SOURCE_DIR}/src/*.ipp ${PROJECT_SOURCE_DIR}/src/*.inc ${PROJECT_SOURCE_DIR}/src/*.tcc
      ${PROJECT_SOURCE_DIR}/include/*.h)
    set(stamp ${CMAKE_BINARY_DIR}/layering.stamp)
    add_custom_command(OUTPUT ${stamp}
      COMMAND ${Python3_EXECUTABLE} ${script} --manifest ${manifest} --stamp ${stamp}
      DEPENDS ${script} ${manifest} ${sources}
      COMMENT "Checking includes against the layer order (scripts/check_layering.py)"
      VERBATIM)
    add_custom_target(check_layering ALL DEPENDS ${stamp})
  endif()
endfunction()

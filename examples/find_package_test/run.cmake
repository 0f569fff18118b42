# cmake -DBUILD_DIR=… -DWORK_DIR=… -DSOURCE_DIR=… -DCXX=… -DGENERATOR=… [-DSANITIZE=ON] -P run.cmake
# Fresh install of BUILD_DIR into WORK_DIR/prefix, then configure + build + run the consumer.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
if(NOT EXISTS ${WORK_DIR}/prefix/include/cairn/client.h)
  message(FATAL_ERROR "cairn/client.h was not installed")
endif()
file(GLOB_RECURSE _config ${WORK_DIR}/prefix/*/CairnConfig.cmake)
if(NOT _config)
  message(FATAL_ERROR "CairnConfig.cmake was not installed")
endif()

set(_flags "")
if(SANITIZE)
  set(_flags -DCMAKE_CXX_FLAGS=-fsanitize=address,undefined
             -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined)
endif()
# Only the scratch prefix (and the system) can provide Cairn: the build tree must not leak in.
step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
     -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
     -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON ${_flags})
step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step(${WORK_DIR}/build/consumer)

# Installs kiln into a temporary prefix, then configures, builds and runs tests/package.
# The consumers build without a build type (no optimisation): this checks how a project finds and
# links kiln, and each of their translation units parses LibTorch without a precompiled header.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}")
  endif()
endfunction()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/kiln-build -DCMAKE_CXX_COMPILER=${CXX}
    -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_EXAMPLES=OFF -DKILN_BUILD_BENCHMARKS=OFF
    -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/kiln-build)
if(NOT EXISTS ${WORK_DIR}/prefix/include/kiln/kiln.hpp)
  message(FATAL_ERROR "install did not place include/kiln/kiln.hpp under ${WORK_DIR}/prefix")
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package -B ${WORK_DIR}/consumer-build
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
run(${WORK_DIR}/consumer-build/consumer)
run(${WORK_DIR}/consumer-build/consumer_separate)
run(${WORK_DIR}/consumer-build/consumer_cli)
run(${WORK_DIR}/consumer-build/consumer_interop)
run(${WORK_DIR}/consumer-build/consumer_tracking)

# add_subdirectory: kiln's own tests/examples stay off because it is not the top-level project.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/subdirectory -B ${WORK_DIR}/subdirectory-build
    -DCMAKE_CXX_COMPILER=${CXX} -DKILN_SOURCE_DIR=${SOURCE_DIR})
if(EXISTS ${WORK_DIR}/subdirectory-build/kiln/tests)
  message(FATAL_ERROR "add_subdirectory(kiln) configured kiln's tests: KILN_BUILD_TESTS should default OFF there")
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/subdirectory-build)
run(${WORK_DIR}/subdirectory-build/consumer)

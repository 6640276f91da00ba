# tests/integration/same_seed_same_run.cmake — a LightningCLI example run twice with the same seed logs the same values.
# Usage: cmake -DEXE=<example> -DWORK_DIR=<dir> [-DARGS="fit;flags;..."] -P same_seed_same_run.cmake
# Runs EXE twice into two root dirs and requires byte-identical metrics.csv (every value is
# written with full precision), so an unseeded draw anywhere — model init, shuffling, dropout —
# fails the test.
file(REMOVE_RECURSE "${WORK_DIR}")
foreach(run a b)
  execute_process(COMMAND "${EXE}" ${ARGS} --trainer.default_root_dir "${WORK_DIR}/${run}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "run ${run} of ${EXE} failed (${rc}):\n${out}\n${err}")
  endif()
  set(csv "${WORK_DIR}/${run}/lightning_logs/version_0/metrics.csv")
  if(NOT EXISTS "${csv}")
    message(FATAL_ERROR "run ${run} wrote no ${csv}")
  endif()
  file(READ "${csv}" metrics_${run})
  string(REGEX MATCHALL "\n" lines "${metrics_${run}}")
  list(LENGTH lines rows_${run})
endforeach()
if(NOT metrics_a STREQUAL metrics_b)
  message(FATAL_ERROR "same seed, different runs:\n--- a\n${metrics_a}\n--- b\n${metrics_b}")
endif()
if(rows_a LESS 3)
  message(FATAL_ERROR "metrics.csv has ${rows_a} lines: too few to compare")
endif()
message(STATUS "same seed, same run: ${rows_a} identical lines of metrics.csv")

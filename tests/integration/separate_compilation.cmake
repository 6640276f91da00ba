# SPDX-License-Identifier: Apache-2.0
# tests/integration/separate_compilation.cmake — an object file built with kiln::separate must only
# reference kiln's non-template functions, never define them (their code is in kiln_separate once),
# else KILN_SEPARATE_COMPILATION would save nothing. -DNM=<nm> -DOBJECT=<the example's object file>.
execute_process(COMMAND ${NM} -C ${OBJECT} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "separate compilation: ${NM} ${OBJECT} failed (${rc})")
endif()
set(functions
  "kiln::detail::TrainerCheckpoint::save(kiln::detail::CheckpointParts&"
  "kiln::detail::TrainerCheckpoint::restore(kiln::detail::CheckpointParts&"
  "kiln::CsvLogger::save()"
  "kiln::CsvLogger::log_metrics("
  "kiln::LogBuffer::log("
  "kiln::detail::FitLoop::run()"
  "kiln::ProgressBar::draw_train("
  "kiln::validate(kiln::TrainerConfig const&)"
  "kiln::detail::EvaluationLoop<(kiln::Stage)3>::run"
  "kiln::detail::versioned_log_dir(")
string(REPLACE "\n" ";" lines "${symbols}")
set(referenced 0)
foreach(f IN LISTS functions)
  set(found FALSE)
  foreach(line IN LISTS lines)
    string(FIND "${line}" "${f}" at)
    if(at EQUAL -1)
      continue()
    endif()
    if(line MATCHES "^ +U ")
      set(found TRUE)
    elseif(line MATCHES " [TtWw] ")
      message(FATAL_ERROR "separate compilation: ${OBJECT} defines ${f}...: ${line}")
    endif()
  endforeach()
  if(NOT found)
    message(FATAL_ERROR "separate compilation: ${OBJECT} does not reference ${f}... (renamed? update this list)")
  endif()
  math(EXPR referenced "${referenced} + 1")
endforeach()
message(STATUS "separate compilation: ${referenced} kiln functions referenced, none defined")

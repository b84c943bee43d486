# Runs a command and passes only when it exits 0 AND its output matches
# EXPECT (ctest's PASS_REGULAR_EXPRESSION alone would ignore the exit code).
# Usage: cmake -DCMD=<;-list> -DEXPECT=<regex> -P run_expect_output.cmake
execute_process(COMMAND ${CMD} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit status ${rc}")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "output does not match '${EXPECT}'")
endif()

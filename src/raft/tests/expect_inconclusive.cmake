# Runs raft_sim with a linearizability budget of one step: every search gives up, so the run
# must report the count and exit 1. cmake -DSIM=path/raft_sim -P expect_inconclusive.cmake
execute_process(COMMAND ${SIM} --seeds 20 --steps 600 --lin-budget 1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}${err}")
if(NOT rc EQUAL 1 OR NOT out MATCHES "inconclusive: [1-9][0-9]* of 20 seeds" OR
   NOT out MATCHES "FAIL: too many inconclusive seeds" OR NOT out MATCHES "20 passed, 0 failed")
  message(FATAL_ERROR "raft_sim passed a run whose histories were never checked (exit ${rc})")
endif()
# The same seeds with the normal budget pass.
execute_process(COMMAND ${SIM} --seeds 20 --steps 600 RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "inconclusive: 0 of 20 seeds")
  message(FATAL_ERROR "raft_sim failed with the normal budget (exit ${rc}):\n${out}")
endif()

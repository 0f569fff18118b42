# Runs raft_sim with a planted bug and passes only if it reports a failing seed and exits 1
# (a crash or a usage error must not count as "caught").
# cmake -DSIM=path/raft_sim -DBUG=name -P expect_failure.cmake
execute_process(COMMAND ${SIM} --seeds 200 --steps 2000 --bug ${BUG} --fail-fast
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}${err}")
if(NOT rc EQUAL 1 OR NOT out MATCHES "FAIL seed [0-9]+ at step" OR NOT out MATCHES "replay: [^\n]*--seed [0-9]+ [^\n]*--bug ${BUG}")
  message(FATAL_ERROR "raft_sim did not catch --bug ${BUG} (exit ${rc})")
endif()

# SPDX-License-Identifier: Apache-2.0
# Issue 13: the main loop never blocks. The real restockd against peers that
# hang (tests/peers/stall_peers.py), one 60 s window per case: HTTP and
# watchdog keep their pace, devices keep their poll rate, loop turns stay
# short, SIGTERM exits 0, the outbox is resent after a restart. Case sigterm:
# no window; SIGTERM with an order and a mail in flight leaves a consistent
# database (operations.md: "SIGTERM"; bench/stop/run.sh times it).
# Each case runs its own peers on ports it picks: they run in parallel with
# other tests (label "slow"). slow-dns needs user namespaces (skips: 77).
foreach(case stall slow-dns one-slow sigterm)
  add_test(NAME test_nonblocking_${case}
           COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_nonblocking.py ${case}
                   $<TARGET_FILE:restockd> $<TARGET_FILE:restockctl> $<TARGET_FILE:ctl_seed>
                   ${RESTOCK_TEST_DIR}/peers)
  set_tests_properties(test_nonblocking_${case} PROPERTIES TIMEOUT 240 SKIP_RETURN_CODE 77
                       LABELS "slow;nonblocking")
endforeach()

# base/resolve: lookups off the caller's thread, bounded by a timeout.
restock_unit_test(test_resolve SOURCES ${RESTOCK_TEST_DIR}/test_resolve.c)

# base/evloop: dispatch, deletion inside callbacks, turn histogram and lag.
restock_unit_test(test_evloop SOURCES ${RESTOCK_TEST_DIR}/test_evloop.c)

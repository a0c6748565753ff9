# SPDX-License-Identifier: Apache-2.0
# Daemon life cycle and the pipeline seams (gateway/daemon.c and friends).

# End to end on a virtual clock: fake adapter -> reading path -> store ->
# rules -> order line.
restock_unit_test(test_e2e SOURCES ${RESTOCK_TEST_DIR}/test_e2e.c ${RESTOCK_TEST_DIR}/fake_adapter.c)
target_compile_definitions(test_e2e PRIVATE E2E_FIXTURE_DIR="${RESTOCK_TEST_DIR}/fixtures/e2e")

# The real restockd process on a copy of config/examples: start, database,
# "no answer" logs, SIGHUP with a broken and a fixed rule file, sd_notify
# messages, SIGTERM within 5 s.
add_test(NAME test_lifecycle
         COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_lifecycle.py
                 $<TARGET_FILE:restockd> ${CMAKE_SOURCE_DIR}/config/examples)
set_tests_properties(test_lifecycle PROPERTIES TIMEOUT 120)

# The decision step is one: restockd's core and `restockctl replay` make the
# same order lines and order events from one recording.
restock_unit_test(test_decide_replay SOURCES ${RESTOCK_TEST_DIR}/test_decide_replay.c
                  ${RESTOCK_TEST_DIR}/fake_adapter.c)
target_compile_definitions(test_decide_replay PRIVATE DECIDE_FIXTURE_DIR="${RESTOCK_TEST_DIR}/fixtures/decide")

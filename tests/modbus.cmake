# SPDX-License-Identifier: Apache-2.0
# Device polling over Modbus (adapters/modbus.c, gateway/scheduler.c,
# gateway/tools/probe.c) against real peers on 127.0.0.1: pymodbus 3.0, mbpoll,
# a libmodbus RTU/TCP server of our own on a socat pty pair, a silent
# listener and a hostile server. tests/test_modbus.py starts the peers and
# drives the helpers below; each CASE is one ctest.
add_executable(modbus_poll_tool ${RESTOCK_TEST_DIR}/modbus_poll_tool.c)
target_link_libraries(modbus_poll_tool PRIVATE rsgateway)
add_executable(modbus_probe_cli ${RESTOCK_TEST_DIR}/modbus_probe_cli.c)
target_link_libraries(modbus_probe_cli PRIVATE rsgateway)
add_executable(modbus_rtu_server ${RESTOCK_TEST_DIR}/peers/rtu_server.c)
target_link_libraries(modbus_rtu_server PRIVATE PkgConfig::MODBUS)
# many Modbus TCP devices in one process (port 0 each): the 2,000-connection test, bench/poll
add_executable(modbus_many_server ${RESTOCK_TEST_DIR}/peers/many_server.c)
target_link_libraries(modbus_many_server PRIVATE PkgConfig::MODBUS m)

foreach(case types mbpoll rtu rtu_spellings rtu_spellings_late rtu_late rtu_garbled rtu_shared exceptions hostile split down_restart isolation continuous probe fdlimit daemon
             many)
  add_test(NAME modbus_${case}
           COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_modbus.py ${case}
                   --encode $<TARGET_FILE:modbus_encode_tool>
                   --poll $<TARGET_FILE:modbus_poll_tool>
                   --probe $<TARGET_FILE:modbus_probe_cli>
                   --server $<TARGET_FILE:modbus_rtu_server>
                   --many $<TARGET_FILE:modbus_many_server>
                   --restockd $<TARGET_FILE:restockd>
                   --peers ${RESTOCK_TEST_DIR}/peers)
  set_tests_properties(modbus_${case} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()

# Worker mode with a recording in-process adapter: threads, isolation, reload, push fds.
restock_unit_test(modbus_sched SOURCES ${RESTOCK_TEST_DIR}/test_modbus_sched.c)

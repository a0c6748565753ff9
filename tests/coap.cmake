# SPDX-License-Identifier: Apache-2.0
# The CoAP backend (adapters/coap.c) against the real libcoap example server
# and client (Debian libcoap3-bin) on 127.0.0.1. One ctest per case so a
# failure names what broke; the test exits 77 (skipped) without the tools.
# Runs clean under ASan/LSan without suppressions: close() frees the
# session and context, and libcoap's process-wide state is static.
add_executable(test_coap ${RESTOCK_TEST_DIR}/test_coap.c)
target_link_libraries(test_coap PRIVATE rsgateway PkgConfig::COAP PkgConfig::CMOCKA)
foreach(case values errors observe observe_dead_server observe_server_restart observe_offered_later reregister down_restart silent_peer dtls threads open_errors base_path)
  add_test(NAME coap_${case} COMMAND test_coap)
  set_tests_properties(coap_${case} PROPERTIES
    TIMEOUT 60 SKIP_RETURN_CODE 77
    ENVIRONMENT "RESTOCK_COAP_CASE=test_${case}")
endforeach()

# An observed device whose notifications arrive while requests to it are lost (a relay
# of ours in front of coap-server-openssl drops the liveness GETs): every poll succeeds
# and the device stays up (tests/test_coap_lossy.py says the sequence).
add_test(NAME coap_observe_lossy
         COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_coap_lossy.py
                 $<TARGET_FILE:modbus_poll_tool>)
set_tests_properties(coap_observe_lossy PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)

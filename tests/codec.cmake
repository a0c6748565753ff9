# SPDX-License-Identifier: Apache-2.0
# Device codecs (adapters/modbus_codec, modbus_plan, modbus_dev, coap_payload): pure code,
# so the tests link rsadapters only.
restock_unit_test(test_modbus_codec SOURCES test_modbus_codec.c LIBS rsadapters)
restock_unit_test(test_modbus_plan SOURCES test_modbus_plan.c LIBS rsadapters)
restock_unit_test(test_coap_payload SOURCES test_coap_payload.c LIBS rsadapters)
# modbus_dev: the failed requests' sentences; allocations counted with --wrap
restock_unit_test(test_modbus_dev SOURCES test_modbus_dev.c LIBS rsadapters)
target_link_options(test_modbus_dev PRIVATE -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc)

# Interop: registers from our encoder, served by pymodbus, read by mbpoll.
add_executable(modbus_encode_tool modbus_encode_tool.c)
target_link_libraries(modbus_encode_tool PRIVATE rsadapters)
add_test(NAME test_modbus_interop
         COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_modbus_interop.py
                 $<TARGET_FILE:modbus_encode_tool>)
set_tests_properties(test_modbus_interop PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77)

# base/codec's own SHA-256 / HMAC-SHA256 against published vectors.
restock_unit_test(test_digest SOURCES test_digest.c LIBS rsbase)

# SPDX-License-Identifier: Apache-2.0
# libcurl and libcoap loaded on first use (adapters/netio_dl.c, coap_dl.c): a
# build whose library names do not exist, as on a host without them, fails
# cleanly and says so.
restock_unit_test(test_netio_missing
                  SOURCES ${RESTOCK_TEST_DIR}/test_netio_missing.c ${CMAKE_SOURCE_DIR}/adapters/netio_dl.c
                          ${CMAKE_SOURCE_DIR}/adapters/coap_dl.c
                  LIBS rsadapters rsconfig)
target_compile_definitions(test_netio_missing PRIVATE
                           NETIO_LIBCURL_SONAME="libcurl-restock-missing.so.4"
                           COAP_DL_SONAME="libcoap-restock-missing.so.3")

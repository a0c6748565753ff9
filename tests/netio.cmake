# SPDX-License-Identifier: Apache-2.0
# libcurl loaded on first use (adapters/netio_dl.c): a build whose library
# name does not exist, as on a host without libcurl, fails cleanly and says so.
restock_unit_test(test_netio_missing
                  SOURCES ${RESTOCK_TEST_DIR}/test_netio_missing.c ${CMAKE_SOURCE_DIR}/adapters/netio_dl.c
                  LIBS rsadapters rsconfig)
target_compile_definitions(test_netio_missing PRIVATE
                           NETIO_LIBCURL_SONAME="libcurl-restock-missing.so.4")

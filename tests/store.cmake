# SPDX-License-Identifier: Apache-2.0
# gateway spine: clock, log, store. These tests compile the few sources they
# test (plus config/rs_util.c) so they do not depend on the rest of rsgateway.
set(RS_STORE_UTIL ${CMAKE_SOURCE_DIR}/base/rs_util.c)
restock_unit_test(test_clock SOURCES ${RESTOCK_TEST_DIR}/test_clock.c
                  ${CMAKE_SOURCE_DIR}/base/clock.c ${RS_STORE_UTIL} LIBS m)
restock_unit_test(test_log SOURCES ${RESTOCK_TEST_DIR}/test_log.c
                  ${CMAKE_SOURCE_DIR}/base/log.c ${RS_STORE_UTIL} LIBS m)
restock_unit_test(test_store SOURCES ${RESTOCK_TEST_DIR}/test_store.c
                  ${CMAKE_SOURCE_DIR}/gateway/store.c ${CMAKE_SOURCE_DIR}/base/rs_err.c
                  ${RS_STORE_UTIL} LIBS PkgConfig::SQLITE m)
# The same clock tests with a fixed build epoch (2026-12-01T17:51:14Z): the
# floor must then be 2026-11-30T00:00:00Z.
restock_unit_test(test_clock_epoch SOURCES ${RESTOCK_TEST_DIR}/test_clock.c
                  ${CMAKE_SOURCE_DIR}/base/clock.c ${RS_STORE_UTIL} LIBS m)
target_compile_definitions(test_clock_epoch PRIVATE RESTOCK_BUILD_EPOCH=1796147474
                           RS_TEST_FLOOR_MS=1795996800000LL)

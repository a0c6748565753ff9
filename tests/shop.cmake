# SPDX-License-Identifier: Apache-2.0
# Commerce: the REST client (adapters/commerce) and the sandbox shop
# (sim/shop, restock-sim).

# Pure: backoff schedule, Retry-After, answer classification, body building.
restock_unit_test(test_backoff SOURCES ${RESTOCK_TEST_DIR}/test_backoff.c LIBS rsadapters rsconfig)
restock_unit_test(test_commerce_classify SOURCES ${RESTOCK_TEST_DIR}/test_commerce_classify.c
                  LIBS rsadapters rsconfig)

# restock-sim is defined after tests/ in the top-level CMakeLists.txt, so
# test for its source rather than its target; generator expressions resolve
# later.
if(EXISTS ${CMAKE_SOURCE_DIR}/sim/restock-sim.c)
  # The client against the real restock-sim shop on loopback ports.
  restock_unit_test(test_commerce SOURCES ${RESTOCK_TEST_DIR}/test_commerce.c
                    LIBS rsadapters rsconfig PkgConfig::CURL PkgConfig::JANSSON)
  target_compile_definitions(test_commerce PRIVATE
                             RESTOCK_SIM_PATH="$<TARGET_FILE:restock-sim>")
  add_dependencies(test_commerce restock-sim)
  set_tests_properties(test_commerce PROPERTIES TIMEOUT 180)
  # restock-sim's config errors (file:line:column) and command line.
  add_test(NAME test_shop_config
           COMMAND sh ${RESTOCK_TEST_DIR}/shop_config.sh $<TARGET_FILE:restock-sim>)
  set_tests_properties(test_shop_config PROPERTIES TIMEOUT 60)
  # docs/commerce-api.yaml (the OpenAPI file) against the sandbox shop's answers.
  add_test(NAME test_shop_openapi
           COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_shop_openapi.py
                   $<TARGET_FILE:restock-sim> ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_shop_openapi PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()

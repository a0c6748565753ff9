# SPDX-License-Identifier: Apache-2.0
# Operator views at plant scale (issue 16): a 1,000-consumable gateway
# (dash_plant) for the dashboard's browser test (Debian's chromium driven by
# playwright-core, axe-core for accessibility, tests/browser/), and the
# fleet examples (Prometheus rules checked and unit-tested with promtool, the
# Grafana board's queries checked against the metrics restockd exports).
add_executable(dash_plant ${RESTOCK_TEST_DIR}/dash_plant.c ${RESTOCK_TEST_DIR}/fake_adapter.c)
target_link_libraries(dash_plant PRIVATE rsgateway)
add_test(NAME dashboard_browser
         COMMAND sh ${RESTOCK_TEST_DIR}/test_browser.sh dashboard_browser dashboard.mjs
                 $<TARGET_FILE:dash_plant> ${CMAKE_CURRENT_BINARY_DIR}/dashboard_browser-out)
set_tests_properties(dashboard_browser PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)
add_test(NAME fleet_examples
         COMMAND sh ${RESTOCK_TEST_DIR}/test_fleet_examples.sh $<TARGET_FILE:dash_plant>
                 ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/fleet_examples-out)
set_tests_properties(fleet_examples PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)

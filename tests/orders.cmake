# SPDX-License-Identifier: Apache-2.0
# Orders (gateway/pipeline.c, gateway/orderfsm.c): the pipeline on a virtual
# clock with a scripted fake shop.
restock_unit_test(test_orders SOURCES ${RESTOCK_TEST_DIR}/test_orders.c)

# The real pipeline, store and commerce client on the real clock (no devices):
# the driver of the integration and crash tests.
add_executable(test_orders_driver ${RESTOCK_TEST_DIR}/test_orders_driver.c)
target_link_libraries(test_orders_driver PRIVATE rsgateway)

# Against the real sandbox shop (restock-sim) over loopback.
if(EXISTS ${CMAKE_SOURCE_DIR}/sim/restock-sim.c)
  foreach(case happy retry500 retry429 retry429date crash)
    add_test(NAME test_orders_shop_${case}
             COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/orders_shop.py
                     $<TARGET_FILE:test_orders_driver> $<TARGET_FILE:restock-sim> ${case})
    set_tests_properties(test_orders_shop_${case} PROPERTIES TIMEOUT 180)
  endforeach()
  # the same crash test against the real restockd (orders approved with restockctl)
  add_test(NAME test_orders_shop_crash_restockd
           COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/orders_shop.py
                   $<TARGET_FILE:test_orders_driver> $<TARGET_FILE:restock-sim> crash-restockd)
  set_tests_properties(test_orders_shop_crash_restockd PROPERTIES TIMEOUT 300 ENVIRONMENT
    "RESTOCKD=$<TARGET_FILE:restockd>;RESTOCKCTL=$<TARGET_FILE:restockctl>;CTL_SEED=$<TARGET_FILE:ctl_seed>")
  # a reload that fixes commerce.auth retries the orders a 401 held at once (and only them)
  add_test(NAME test_orders_shop_authreload
           COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/orders_shop.py
                   $<TARGET_FILE:test_orders_driver> $<TARGET_FILE:restock-sim> authreload)
  set_tests_properties(test_orders_shop_authreload PROPERTIES TIMEOUT 180 ENVIRONMENT
    "RESTOCKD=$<TARGET_FILE:restockd>;RESTOCKCTL=$<TARGET_FILE:restockctl>;CTL_SEED=$<TARGET_FILE:ctl_seed>")
  # SPEC 9's alerts (a 404 on an order's status, a 401) on a real restockd's API, page, metrics
  add_test(NAME test_orders_shop_alerts
           COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/orders_shop.py
                   $<TARGET_FILE:test_orders_driver> $<TARGET_FILE:restock-sim> alerts)
  set_tests_properties(test_orders_shop_alerts PROPERTIES TIMEOUT 180 ENVIRONMENT
    "RESTOCKD=$<TARGET_FILE:restockd>;RESTOCKCTL=$<TARGET_FILE:restockctl>;CTL_SEED=$<TARGET_FILE:ctl_seed>")
endif()

# "Replenishment stays stable" (SPEC 7): holds, expiry redrafts, stock-take,
# parts fitted before their delivery; real store, reading path, decision step
# and pipeline on a virtual clock.
restock_unit_test(test_stock SOURCES ${RESTOCK_TEST_DIR}/test_stock.c)

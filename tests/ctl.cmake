# restockctl status / orders (gateway/tools/ctl.c)
add_executable(ctl_seed ${RESTOCK_TEST_DIR}/ctl_seed.c)
target_link_libraries(ctl_seed PRIVATE rsgateway)
add_test(NAME test_ctl COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_ctl.py
         $<TARGET_FILE:restockd> $<TARGET_FILE:restockctl> $<TARGET_FILE:ctl_seed>)
set_tests_properties(test_ctl PROPERTIES TIMEOUT 180)

# restockctl consumables and POST /api/v1/consumables/... (stock-take, SPEC 7)
add_test(NAME test_stock_ctl COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_stock_ctl.py
         $<TARGET_FILE:restockd> $<TARGET_FILE:restockctl>)
set_tests_properties(test_stock_ctl PROPERTIES TIMEOUT 180)

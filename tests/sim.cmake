# SPDX-License-Identifier: Apache-2.0
# The device half of restock-sim (sim/devices*, sim/simcfg.c):
# profile curves, config errors, and the simulated devices read with
# independent clients (mbpoll, coap-client-openssl); the loop from a shop
# delivery to a replaced part; restockd against the simulated plant.

if(EXISTS ${CMAKE_SOURCE_DIR}/sim/restock-sim.c)
  # Pure: duty-hour integrals and the profile curves.
  restock_unit_test(sim_model SOURCES ${RESTOCK_TEST_DIR}/test_sim_model.c
                    ${CMAKE_SOURCE_DIR}/sim/devices_model.c LIBS rsconfig m)

  add_test(NAME sim_config
           COMMAND sh ${RESTOCK_TEST_DIR}/test_sim_config.sh $<TARGET_FILE:restock-sim>
                   ${RESTOCK_TEST_DIR}/fixtures/sim)
  set_tests_properties(sim_config PROPERTIES TIMEOUT 60)

  foreach(case modbus coap replace leadtime pace)
    add_test(NAME sim_${case}
             COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_sim.py $<TARGET_FILE:restock-sim>
                     ${case})
    set_tests_properties(sim_${case} PROPERTIES TIMEOUT 120)
  endforeach()
endif()

# The real restockd (with its Modbus and CoAP adapters) against the demo
# plant of config/demo: auto-approved ink order to replacement, and the
# bearing order through approval by restockctl to replacement.
if(EXISTS ${CMAKE_SOURCE_DIR}/sim/restock-sim.c AND
   EXISTS ${CMAKE_SOURCE_DIR}/adapters/coap.c AND EXISTS ${CMAKE_SOURCE_DIR}/adapters/modbus.c)
  add_test(NAME sim_restockd
           COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_sim_restockd.py
                   $<TARGET_FILE:restock-sim> $<TARGET_FILE:restockd> $<TARGET_FILE:restockctl>
                   ${CMAKE_SOURCE_DIR}/config/demo)
  set_tests_properties(sim_restockd PROPERTIES TIMEOUT 300)
endif()

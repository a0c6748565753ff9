# SPDX-License-Identifier: Apache-2.0
# Depletion predictor (rules/predict.c).
restock_unit_test(test_predict SOURCES ${RESTOCK_TEST_DIR}/test_predict.c LIBS rsrules rsconfig)
# The predictor on every family of bench/predict's trace generator.
restock_unit_test(test_predict_families
                  SOURCES ${RESTOCK_TEST_DIR}/test_predict_families.c
                          ${CMAKE_SOURCE_DIR}/bench/predict/predict_gen.c
                  LIBS rsrules rsconfig)
# Values that stop moving: a sensor stuck until replacement, a shutdown, a new filter's first days.
restock_unit_test(test_predict_stops SOURCES ${RESTOCK_TEST_DIR}/test_predict_stops.c LIBS rsrules)
# The plant calendar's closed time off the predictor's time axis.
restock_unit_test(test_predict_calendar SOURCES ${RESTOCK_TEST_DIR}/test_predict_calendar.c LIBS rsrules rsconfig)

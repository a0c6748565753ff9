# SPDX-License-Identifier: Apache-2.0
# Depletion predictor (rules/predict.c).
restock_unit_test(test_predict SOURCES ${RESTOCK_TEST_DIR}/test_predict.c LIBS rsrules rsconfig)

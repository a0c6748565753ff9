# SPDX-License-Identifier: Apache-2.0
# rules/expr and rules/rules unit tests.
restock_unit_test(test_expr SOURCES ${RESTOCK_TEST_DIR}/test_expr.c LIBS rsrules rsconfig)
restock_unit_test(test_rules SOURCES ${RESTOCK_TEST_DIR}/test_rules.c LIBS rsrules rsconfig)

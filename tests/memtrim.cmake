# SPDX-License-Identifier: Apache-2.0
# base/memtrim: the start-up's file pages unmapped (RSS), which mappings, and
# that a mapping with pages of its own keeps them.
restock_unit_test(test_memtrim SOURCES ${RESTOCK_TEST_DIR}/test_memtrim.c LIBS rsbase)

# SPDX-License-Identifier: Apache-2.0
# gateway/web/api.c: the streamed documents
restock_unit_test(test_api_stream SOURCES ${RESTOCK_TEST_DIR}/test_api_stream.c
                  ${RESTOCK_TEST_DIR}/fake_adapter.c)
# base/docstream.c: the driver those documents are written with
restock_unit_test(test_docstream SOURCES ${RESTOCK_TEST_DIR}/test_docstream.c LIBS rsbase)

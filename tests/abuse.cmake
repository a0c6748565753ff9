# SPDX-License-Identifier: Apache-2.0
# The standing abuse suite (issue 15, docs/security.md): what a hostile or
# careless client, user, file or device finds. Every test carries the label
# "abuse" (`ctest -L abuse`); scripts/test.sh runs them with the rest, and
# again under ASan + UBSan.
restock_unit_test(abuse_http SOURCES ${RESTOCK_TEST_DIR}/test_abuse_http.c
                  ${RESTOCK_TEST_DIR}/fake_adapter.c LIBS rsgateway)
target_compile_definitions(abuse_http PRIVATE HTTP_FIXTURE_DIR="${RESTOCK_TEST_DIR}/fixtures/http")
set_tests_properties(abuse_http PROPERTIES LABELS abuse)

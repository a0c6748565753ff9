# SPDX-License-Identifier: Apache-2.0
# Approval by email (SPEC 10): tokens, mail building and transports, the
# approval page and outbox against a real SMTP server (aiosmtpd from Debian,
# python3-aiosmtpd) on a free loopback port, and a real browser (Debian's
# chromium driven by playwright-core from npm, tests/browser/).
restock_unit_test(approve_token SOURCES ${RESTOCK_TEST_DIR}/test_token.c)
restock_unit_test(approve_mail SOURCES ${RESTOCK_TEST_DIR}/test_mail.c
                  LIBS rsgateway PkgConfig::JANSSON)
target_compile_definitions(approve_mail PRIVATE
                           MIME_CHECK="${RESTOCK_TEST_DIR}/test_approve_mime.py")
restock_unit_test(approve_flow SOURCES ${RESTOCK_TEST_DIR}/test_approve.c
                  ${RESTOCK_TEST_DIR}/fake_adapter.c
                  LIBS rstesthttp rsgateway PkgConfig::CURL PkgConfig::JANSSON PkgConfig::SQLITE)
target_compile_definitions(approve_flow PRIVATE
                           MIME_CHECK="${RESTOCK_TEST_DIR}/test_approve_mime.py")
add_test(NAME approve_browser
         COMMAND sh ${RESTOCK_TEST_DIR}/test_browser.sh approve_browser approve.mjs
                 $<TARGET_FILE:approve_flow> ${CMAKE_CURRENT_BINARY_DIR}/approve_browser-out
                 ${RESTOCK_TEST_DIR}/test_approve_mime.py)
set_tests_properties(approve_browser PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)

# SPDX-License-Identifier: Apache-2.0
# The HTTP server, JSON API, metrics and dashboard (gateway/web/http.c and
# friends) against libcurl over loopback, on tests/fixtures/http. Needs
# `promtool` (Debian package prometheus) for the /metrics check; without it
# that one test is skipped and says so.
restock_unit_test(http_server SOURCES ${RESTOCK_TEST_DIR}/test_http.c ${RESTOCK_TEST_DIR}/fake_adapter.c
                  LIBS rstesthttp rsgateway PkgConfig::CURL PkgConfig::JANSSON)
target_compile_definitions(http_server PRIVATE HTTP_FIXTURE_DIR="${RESTOCK_TEST_DIR}/fixtures/http")

# docs/http-api.md's Endpoints table against the router's table (gateway/web/http.c).
restock_unit_test(test_http_routes SOURCES ${RESTOCK_TEST_DIR}/test_http_routes.c)
target_compile_definitions(test_http_routes PRIVATE RESTOCK_DOCS_DIR="${CMAKE_SOURCE_DIR}/docs")

# base/httpd_parse.c and base/httpd_srv.c: restockd's own HTTP/1.1 server,
# the parser's edge cases and the server against raw sockets on 127.0.0.1.
restock_unit_test(test_httpd SOURCES ${RESTOCK_TEST_DIR}/test_httpd.c LIBS rsbase)

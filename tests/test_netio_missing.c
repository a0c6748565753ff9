/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl and libcoap are loaded with dlopen() on first use
 * (adapters/netio_dl.c, coap_dl.c). This program is built with library
 * names that do not exist, as on a host without them: the first libcurl
 * call logs one error that names the library and the package, every libcurl
 * call fails cleanly, and a mail attempt reports the reason instead of
 * crashing; a CoAP device fails to open with the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <curl/curl.h>

#include "adapters/adapter.h"
#include "adapters/coap.h"
#include "adapters/mail.h"
#include "adapters/netio.h"
#include "base/log.h"

/* Everything written to the log fd so far (a temporary file). */
static int log_file = -1;

static void read_log(char *buf, size_t size)
{
  ssize_t n = pread(log_file, buf, size - 1, 0);
  buf[n > 0 ? (size_t)n : 0] = '\0';
}

static void test_calls_fail_and_say_why(void **state)
{
  char log[4096];
  (void)state;
  assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_FAILED_INIT);
  assert_null(curl_easy_init());
  assert_null(curl_multi_init());
  assert_null(curl_slist_append(NULL, "x"));
  assert_false(netio_curl_load());
  assert_non_null(strstr(netio_curl_error(), "cannot load " NETIO_LIBCURL_SONAME));
  read_log(log, sizeof(log));
  assert_non_null(strstr(log, "cannot load " NETIO_LIBCURL_SONAME));
  assert_non_null(strstr(log, "libcurl4"));
  /* logged once, not once per call */
  assert_null(strstr(strstr(log, "cannot load") + 1, "cannot load"));
}

static void test_mail_reports_it(void **state)
{
  struct mail_settings s = {.url = "smtp://127.0.0.1:1", .starttls = false};
  char err[512] = "";
  (void)state;
  assert_int_equal(mail_send(&s, "gw@example.org", "buyer@example.org", "Subject: x\r\n\r\nx\r\n",
                             err, sizeof(err)),
                   MAIL_RETRY);
  assert_non_null(strstr(err, "cannot load " NETIO_LIBCURL_SONAME));
}

static void test_netio_get_reports_it(void **state)
{
  struct rs_buf body = {0};
  char err[512] = "";
  (void)state;
  assert_int_equal(netio_get("http://127.0.0.1:1/", &body, err, sizeof(err)), 0);
  assert_non_null(strstr(err, "cannot load " NETIO_LIBCURL_SONAME));
  rs_buf_free(&body);
}

static void test_coap_device_reports_it(void **state)
{
  struct cfg_device d;
  struct adapter a;
  char err[512] = "", log[4096];
  (void)state;
  memset(&d, 0, sizeof(d));
  memset(&a, 0, sizeof(a));
  d.id = "dev1";
  d.transport = CFG_TR_COAP;
  d.uri = "coap://127.0.0.1:1";
  d.timeout_ms = 1000;
  a.ops = &coapa_ops;
  a.dev = &d;
  assert_int_not_equal(adapter_open(&a, err, sizeof(err)), RS_OK);
  assert_non_null(strstr(err, "cannot load " COAP_DL_SONAME));
  assert_false(coapa_dl_load());
  read_log(log, sizeof(log));
  assert_non_null(strstr(log, "cannot load " COAP_DL_SONAME));
  assert_non_null(strstr(log, "libcoap3"));
}

int main(void)
{
  char path[] = "/tmp/restock-netio-missing-XXXXXX";
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_calls_fail_and_say_why),
    cmocka_unit_test(test_mail_reports_it),
    cmocka_unit_test(test_netio_get_reports_it),
    cmocka_unit_test(test_coap_device_reports_it),
  };
  int rc;
  log_file = mkstemp(path);
  if(log_file < 0)
    return 1;
  (void)unlink(path);
  log_set_fd(log_file);
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  close(log_file);
  return rc;
}

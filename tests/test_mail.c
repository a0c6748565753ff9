/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mail building and the file:// transport (adapters/mail.c). The built
 * message is checked by Python's email package (tests/test_approve_mime.py),
 * an independent MIME parser.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "adapters/mail.h"
#include "base/rs_util.h"
#include "tests/testutil.h"

#ifndef MIME_CHECK
#error "MIME_CHECK must name tests/test_approve_mime.py"
#endif

/* "€" twice, "ä", "·": the subject needs encoded-words; long enough to fold */
static const char SUBJECT[] = "[restock plant-7-gw-2 \xc2\xb7 Plant 7, Hall B \xc3\xa4] Approval "
                              "needed: order R-20261201-0001-ABC123 (\xe2\x82\xac"
                              "612.40) and a long tail to force folding \xe2\x82\xac";

static const char TEXT[] =
    "Order R-1 needs your approval.\n\nLines:\n  2 x WF-1 at 7.40 EUR = 14.80 EUR\n"
    "A line with = signs and trailing space \nand \xc3\xa4 umlauts \xe2\x82\xac and a very long "
    "line that goes on and on beyond seventy-six characters to need a soft line break in "
    "quoted-printable\n\nhttps://gw.example/approve/"
    "AQAAAZN0dGhpcy1pcy1hLXRva2VuLXdpdGgtYS1sb25nLWJvZHktdGhhdC1nb2VzLW9uLWFuZC1vbi0xMjM0NTY3"
    "ODkw_-x\n";

static const char HTML[] = "<!DOCTYPE html><html><body><p>Order R-1 &amp; more \xe2\x82\xac</p>"
                           "<p><a href=\"https://gw.example/approve/"
                           "AQAAAZN0dGhpcy1pcy1hLXRva2VuLXdpdGgtYS1sb25nLWJvZHktdGhhdC1nb2VzLW9u"
                           "LWFuZC1vbi0xMjM0NTY3ODkw_-x\">open</a></p></body></html>\n";

static void msg_fill(struct mail_msg *m)
{
  memset(m, 0, sizeof(*m));
  m->from = "restock \xc3\x9c <restock@plant7.example>";
  m->to = "anna@example.com";
  m->subject = SUBJECT;
  m->text = TEXT;
  m->html = HTML;
  m->msgid_domain = "plant-7-gw-2";
  m->date_ms = 1796147474000;
}

/* Run the MIME checker on file; returns its JSON (caller decrefs) or fails the test. */
static json_t *mime_check(const char *file)
{
  char cmd[512];
  assert_int_equal(rs_snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s '%s'", MIME_CHECK, file), 0);
  return tu_command_json(cmd);
}

static void test_build_shape(void **state)
{
  struct mail_msg m;
  char *s = NULL, err[256];
  const char *p, *body;
  (void)state;
  msg_fill(&m);
  assert_int_equal(mail_build(&m, &s, err, sizeof(err)), 0);
  assert_non_null(s);
  assert_non_null(strstr(s, "Date: Tue, 01 Dec 2026 17:51:14 +0000"));
  assert_non_null(strstr(s, "@plant-7-gw-2>\r\n"));
  assert_non_null(strstr(s, "Subject: =?UTF-8?B?"));
  assert_non_null(strstr(s, "multipart/alternative"));
  /* every line ends in CRLF, and body lines are at most 76 characters */
  body = strstr(s, "\r\n\r\n");
  assert_non_null(body);
  for(p = s; *p;) {
    const char *e = strchr(p, '\n');
    assert_non_null(e);
    assert_true(e > p && e[-1] == '\r');
    if(p > body)
      assert_true(e - p - 1 <= 76);
    p = e + 1;
  }
  free(s);
  /* a header with a line break is refused (no header injection) */
  m.subject = "hi\r\nBcc: evil@example.com";
  assert_int_equal(mail_build(&m, &s, err, sizeof(err)), -1);
  assert_null(s);
  msg_fill(&m);
  m.to = "a@b\nc";
  assert_int_equal(mail_build(&m, &s, err, sizeof(err)), -1);
}

static void test_address(void **state)
{
  char a[64];
  (void)state;
  assert_int_equal(mail_address("restock <gw@x.example>", a, sizeof(a)), 0);
  assert_string_equal(a, "gw@x.example");
  assert_int_equal(mail_address(" gw@x.example ", a, sizeof(a)), 0);
  assert_string_equal(a, "gw@x.example");
  assert_int_equal(mail_address("no address", a, sizeof(a)), -1);
  assert_int_equal(mail_address("a <b@c", a, sizeof(a)), -1);
}

static void test_file_transport_and_mime(void **state)
{
  char dir[64], url[128], err[256], file[512];
  struct mail_settings ms;
  struct mail_msg m;
  char *s = NULL;
  DIR *d;
  struct dirent *de;
  int n = 0;
  json_t *j;
  (void)state;
  assert_int_equal(rs_strlcpy(dir, "/tmp/restock-mail-XXXXXX", sizeof(dir)), 0);
  assert_non_null(mkdtemp(dir));
  msg_fill(&m);
  assert_int_equal(mail_build(&m, &s, err, sizeof(err)), 0);
  memset(&ms, 0, sizeof(ms));
  assert_int_equal(rs_snprintf(url, sizeof(url), "file://%s", dir), 0);
  ms.url = url;
  assert_int_equal(mail_send(&ms, "restock@plant7.example", m.to, s, err, sizeof(err)), MAIL_SENT);
  free(s);
  d = opendir(dir);
  assert_non_null(d);
  while((de = readdir(d))) {
    if(de->d_name[0] == '.')
      continue;
    n++;
    assert_non_null(strstr(de->d_name, ".eml"));
    assert_int_equal(rs_snprintf(file, sizeof(file), "%s/%s", dir, de->d_name), 0);
  }
  closedir(d);
  assert_int_equal(n, 1);
  {
    /* the mail holds a live approval link: only restockd's user may read it */
    struct stat sb;
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
  }
  j = mime_check(file);
  /* the reader sees the subject as written, and the link intact */
  assert_string_equal(json_string_value(json_object_get(j, "subject")), SUBJECT);
  assert_non_null(strstr(json_string_value(json_object_get(j, "from")), "restock@plant7.example"));
  assert_string_equal(json_string_value(json_array_get(json_object_get(j, "links"), 0)),
                      "https://gw.example/approve/"
                      "AQAAAZN0dGhpcy1pcy1hLXRva2VuLXdpdGgtYS1sb25nLWJvZHktdGhhdC1nb2VzLW9uLWFu"
                      "ZC1vbi0xMjM0NTY3ODkw_-x");
  assert_non_null(strstr(json_string_value(json_object_get(j, "text")),
                         "trailing space \nand \xc3\xa4 umlauts"));
  json_decref(j);
  assert_int_equal(unlink(file), 0);
  assert_int_equal(rmdir(dir), 0);

  /* a directory that is not there: a configuration error with the path */
  ms.url = "file:///nonexistent-restock-mail";
  assert_int_equal(mail_send(&ms, "a@b", "c@d", "x\r\n", err, sizeof(err)), MAIL_CONFIG);
  assert_non_null(strstr(err, "/nonexistent-restock-mail"));
  ms.url = "gopher://x";
  assert_int_equal(mail_send(&ms, "a@b", "c@d", "x\r\n", err, sizeof(err)), MAIL_CONFIG);
}

static void test_smtp_down_is_retry(void **state)
{
  struct mail_settings ms;
  char err[512];
  (void)state;
  memset(&ms, 0, sizeof(ms));
  /* port 9 on loopback: nobody listens, the connection is refused at once */
  ms.url = "smtp://127.0.0.1:9";
  ms.starttls = false;
  ms.timeout_ms = 3000;
  assert_int_equal(mail_send(&ms, "a@b.example", "c@d.example", "x\r\n", err, sizeof(err)),
                   MAIL_RETRY);
  assert_non_null(strstr(err, "smtp://127.0.0.1:9"));
  /* an unreadable password file: a configuration error naming the file, not a secret */
  ms.username = "gw";
  ms.password_file = "/nonexistent-restock/smtp.pass";
  assert_int_equal(mail_send(&ms, "a@b.example", "c@d.example", "x\r\n", err, sizeof(err)),
                   MAIL_CONFIG);
  assert_non_null(strstr(err, "/nonexistent-restock/smtp.pass"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_build_shape),
      cmocka_unit_test(test_address),
      cmocka_unit_test(test_file_transport_and_mime),
      cmocka_unit_test(test_smtp_down_is_retry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

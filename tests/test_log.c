/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of gateway/log: exact lines written to a pipe. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"

#define MAX_KEPT 2048
#define ELLIPSIS "\xe2\x80\xa6"

static int fds[2];

static int setup(void **state)
{
  (void)state;
  if(pipe(fds))
    return -1;
  /* reads below never block: everything was written before */
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  log_set_fd(fds[1]);
  log_set_level(LOG_LVL_INFO);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  log_set_fd(2);
  close(fds[0]);
  close(fds[1]);
  return 0;
}

/* Everything written to the pipe so far, NUL-terminated (caller frees). */
static char *drain(void)
{
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap + 1);
  ssize_t n;
  assert_non_null(buf);
  for(;;) {
    if(len == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      assert_non_null(buf);
    }
    n = read(fds[0], buf + len, cap - len);
    if(n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  return buf;
}

static void expect_output(const char *want)
{
  char *got = drain();
  assert_string_equal(got, want);
  free(got);
}

static void test_prefix_and_format(void **state)
{
  (void)state;
  log_info("polling %s every %d s", "press-1", 10);
  log_warn("device %s is down", "press-1");
  log_err("cannot open %s", "/var/lib/restock/restock.db");
  log_notice("started");
  expect_output("<6>polling press-1 every 10 s\n"
                "<4>device press-1 is down\n"
                "<3>cannot open /var/lib/restock/restock.db\n"
                "<5>started\n");
}

static void test_level_filter(void **state)
{
  (void)state;
  assert_int_equal(log_get_level(), LOG_LVL_INFO);
  log_debug("hidden");
  log_info("shown");
  expect_output("<6>shown\n");
  log_set_level(LOG_LVL_DEBUG);
  log_debug("now shown");
  expect_output("<7>now shown\n");
  log_set_level(LOG_LVL_WARNING);
  log_info("hidden");
  log_notice("hidden");
  log_warn("w");
  log_err("e");
  expect_output("<4>w\n<3>e\n");
  log_set_level(LOG_LVL_INFO);
}

static void test_one_line_per_event(void **state)
{
  (void)state;
  log_info("shop said: %s", "line one\nline two\r\nthree");
  log_info("tab\tkept, bell\a and escape\x1b gone, del\x7f too");
  expect_output("<6>shop said: line one\\nline two\\r\\nthree\n"
                "<6>tab\tkept, bell? and escape? gone, del? too\n");
}

static void test_truncation(void **state)
{
  char *msg = malloc(5001), *want;
  size_t wl;
  (void)state;
  assert_non_null(msg);
  memset(msg, 'a', 5000);
  msg[5000] = '\0';
  log_info("%s", msg);
  want = malloc(3 + MAX_KEPT + sizeof(ELLIPSIS) + 2);
  assert_non_null(want);
  memcpy(want, "<6>", 3);
  memset(want + 3, 'a', MAX_KEPT);
  wl = 3 + MAX_KEPT;
  memcpy(want + wl, ELLIPSIS "\n", sizeof(ELLIPSIS) + 1);
  expect_output(want);

  /* exactly the limit: kept whole, no marker */
  msg[MAX_KEPT] = '\0';
  log_info("%s", msg);
  want[wl] = '\n';
  want[wl + 1] = '\0';
  expect_output(want);

  /* a two-byte character across the limit is dropped whole */
  memcpy(msg + MAX_KEPT - 1, "\xc3\xa9", 3); /* 2047 'a' + é */
  log_info("%s", msg);
  memcpy(want + wl - 1, ELLIPSIS "\n", sizeof(ELLIPSIS) + 1);
  expect_output(want);

  /* so is an escaped newline that does not fit */
  memcpy(msg + MAX_KEPT - 1, "\nb", 3);
  log_info("%s", msg);
  expect_output(want);

  /* a three-byte character ending exactly at the limit is kept */
  memset(msg, 'a', MAX_KEPT - 3);
  memcpy(msg + MAX_KEPT - 3, ELLIPSIS "zz", 6);
  log_info("%s", msg);
  memset(want + 3, 'a', MAX_KEPT - 3);
  memcpy(want + 3 + MAX_KEPT - 3, ELLIPSIS ELLIPSIS "\n", 2 * (sizeof(ELLIPSIS) - 1) + 2);
  expect_output(want);
  free(msg);
  free(want);
}

static void test_errno_kept(void **state)
{
  (void)state;
  errno = ENOSPC;
  log_info("x");
  assert_int_equal(errno, ENOSPC);
  expect_output("<6>x\n");
}

static void test_parse_level(void **state)
{
  enum log_level l = LOG_LVL_INFO;
  (void)state;
  assert_int_equal(log_parse_level("error", &l), 0);
  assert_int_equal(l, LOG_LVL_ERR);
  assert_int_equal(log_parse_level("warning", &l), 0);
  assert_int_equal(l, LOG_LVL_WARNING);
  assert_int_equal(log_parse_level("notice", &l), 0);
  assert_int_equal(l, LOG_LVL_NOTICE);
  assert_int_equal(log_parse_level("info", &l), 0);
  assert_int_equal(l, LOG_LVL_INFO);
  assert_int_equal(log_parse_level("debug", &l), 0);
  assert_int_equal(l, LOG_LVL_DEBUG);
  assert_int_equal(log_parse_level("warn", &l), -1);
  assert_int_equal(log_parse_level("INFO", &l), -1);
  assert_int_equal(log_parse_level(NULL, &l), -1);
  assert_int_equal(l, LOG_LVL_DEBUG);
}

/* ---- threads: lines never interleave ---------------------------------- */

#define THREADS 4
#define LINES   200
#define LEN     1500

static void *writer(void *arg)
{
  char msg[LEN + 1];
  int i;
  memset(msg, (int)(intptr_t)arg, LEN);
  msg[LEN] = '\0';
  for(i = 0; i < LINES; i++)
    log_info("%s", msg);
  return NULL;
}

static void test_threads(void **state)
{
  pthread_t th[THREADS];
  size_t total = 0, want = (size_t)THREADS * LINES * (3 + LEN + 1), got = 0;
  char *all = malloc(want + 1), *p;
  int i, counts[THREADS] = {0};
  (void)state;
  assert_non_null(all);
  /* a blocking reader: the writers fill the pipe faster than 64 KiB */
  fcntl(fds[0], F_SETFL, 0);
  for(i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&th[i], NULL, writer, (void *)(intptr_t)('A' + i)), 0);
  while(got < want) {
    ssize_t n = read(fds[0], all + got, want - got);
    assert_true(n > 0);
    got += (size_t)n;
  }
  for(i = 0; i < THREADS; i++)
    pthread_join(th[i], NULL);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  all[got] = '\0';
  for(p = all; *p; p += 3 + LEN + 1) {
    int k;
    assert_memory_equal(p, "<6>", 3);
    k = p[3] - 'A';
    assert_true(k >= 0 && k < THREADS);
    for(i = 0; i < LEN; i++)
      assert_int_equal(p[3 + i], p[3]);
    assert_int_equal(p[3 + LEN], '\n');
    counts[k]++;
    total++;
  }
  assert_int_equal(total, THREADS * LINES);
  for(i = 0; i < THREADS; i++)
    assert_int_equal(counts[i], LINES);
  free(all);
}

/*
 * Rate-limited lines (issue 15 items 6 and 14): 1,239 refused links make one
 * line per kind per window, and the next line of that kind after the window
 * says how many were left out.
 */
static void test_rate_limited(void **state)
{
  int i;
  (void)state;
  log_rl_set_window_ms(3600000);
  for(i = 0; i < 1239; i++)
    log_rl(LOG_LVL_WARNING, "test-link", "approval link refused: bad signature (from %d)", i);
  log_rl(LOG_LVL_ERR, "test-store", "store: cannot record %s", "x/y");
  log_rl(LOG_LVL_ERR, "test-store", "store: cannot record %s", "x/z");
  expect_output("<4>approval link refused: bad signature (from 0)\n"
                "<3>store: cannot record x/y\n");
  /* a new window: the line carries the count of the ones left out */
  log_rl_set_window_ms(0);
  log_rl(LOG_LVL_WARNING, "test-link", "approval link refused: bad signature (from %d)", 9999);
  log_rl(LOG_LVL_WARNING, "test-link", "approval link refused: bad signature (from %d)", 10000);
  expect_output("<4>approval link refused: bad signature (from 9999) (and 1238 more like this, "
                "not logged, since the last one)\n"
                "<4>approval link refused: bad signature (from 10000)\n");
  log_rl_set_window_ms(60000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_prefix_and_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_level_filter, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_line_per_event, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errno_kept, setup, teardown),
      cmocka_unit_test_setup_teardown(test_parse_level, setup, teardown),
      cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rate_limited, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

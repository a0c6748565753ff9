/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modbus_dev (adapters/modbus_dev.h), the part both Modbus transports share:
 * the sentence each point of a failed request gets ("holding 300..300 of
 * unit 7: no answer in time", "not tried" for the requests a poll had no
 * attempts left for), the poll's error when nothing answered, a long
 * failure text cut to the detail's size, and that a device failing the
 * same way at every poll allocates nothing after its first failing poll
 * (malloc, calloc and realloc are counted by the linker's --wrap) and holds
 * nothing for failures once it answers again; the same for a Modbus TCP
 * device whose connection is refused at every attempt.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "adapters/modbus.h"
#include "adapters/modbus_dev.h"
#include "base/evloop.h"
#include "base/rs_util.h"

/* ---- allocations, counted (tests/codec.cmake links with --wrap) ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static unsigned long n_allocs;

void *__wrap_malloc(size_t n)
{
  n_allocs++;
  return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
  n_allocs++;
  return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
  n_allocs++;
  return __real_realloc(p, n);
}

/* ---- a device of two requests: holding 100 and holding 300 (unit 7) ---- */

#define MAXR 8

static struct {
  struct cfg_point pts[2];
  struct cfg_device dev;
  struct mbd m;
  struct {
    char point[16];
    enum reading_error error;
    int code;
    char detail[MBD_DETAIL_MAX + 8];
  } r[MAXR];
  size_t n;
} fx;

/* The readings' callback: copies what a point got (the detail lives during the call only). */
static void on_reading(void *ctx, const struct reading *rd)
{
  (void)ctx;
  assert_true(fx.n < MAXR);
  (void)rs_strlcpy(fx.r[fx.n].point, rd->point, sizeof(fx.r[fx.n].point));
  fx.r[fx.n].error = rd->error;
  fx.r[fx.n].code = rd->code;
  (void)rs_strlcpy(fx.r[fx.n].detail, rd->detail ? rd->detail : "(none)",
                   sizeof(fx.r[fx.n].detail));
  fx.n++;
}

static int setup(void **state)
{
  size_t i;
  static const char *const ids[2] = {"ink", "tyre"};
  static const uint16_t addr[2] = {100, 300};
  (void)state;
  memset(&fx, 0, sizeof(fx));
  for(i = 0; i < 2; i++) {
    fx.pts[i].id = ids[i];
    fx.pts[i].scale = 1;
    fx.pts[i].address = addr[i];
    fx.pts[i].table = CFG_REG_HOLDING;
    fx.pts[i].type = CFG_VT_UINT16;
    fx.pts[i].bit = -1;
    fx.pts[i].width = 1;
  }
  fx.dev.id = "press";
  fx.dev.transport = CFG_TR_MODBUS_TCP;
  fx.dev.unit_id = 7;
  fx.dev.max_gap = 8;
  fx.dev.max_registers = 125;
  fx.dev.points = fx.pts;
  fx.dev.n_points = 2;
  mbd_plan(&fx.m, &fx.dev);
  assert_int_equal(fx.m.plan.n_reqs, 2);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  mbd_free(&fx.m);
  return 0;
}

/* End the poll; returns its result with its error text in err. */
static enum rs_err finish(enum rs_err last, char *err, size_t errlen)
{
  fx.n = 0;
  return mbd_finish(&fx.m, &fx.dev, 1000, last, on_reading, NULL, err, errlen);
}

static void answer(size_t i)
{
  static const uint16_t regs[1] = {42};
  mbd_emit_values(&fx.m, &fx.dev, i, regs, NULL, 1000, on_reading, NULL);
}

static void test_failed_request_details(void **state)
{
  char err[256];
  (void)state;
  /* one request refused with an exception, the other silent twice */
  mbd_begin(&fx.m, &fx.dev);
  mbd_set(&fx.m, &fx.dev, 0, MBD_EXCEPTION, 2, "Modbus exception 2 (Illegal data address)");
  mbd_set(&fx.m, &fx.dev, 1, MBD_TIMEOUT, 0, "no answer in time");
  mbd_set(&fx.m, &fx.dev, 1, MBD_TIMEOUT, 0, "no answer in time");
  assert_int_equal(finish(RS_ERR_TIMEOUT, err, sizeof(err)), RS_OK);
  assert_int_equal(fx.n, 2);
  assert_string_equal(fx.r[0].point, "ink");
  assert_int_equal(fx.r[0].error, READING_ERR_EXCEPTION);
  assert_int_equal(fx.r[0].code, 2);
  assert_string_equal(fx.r[0].detail,
                      "holding 100..100 of unit 7: Modbus exception 2 (Illegal data address)");
  assert_string_equal(fx.r[1].point, "tyre");
  assert_int_equal(fx.r[1].error, READING_ERR_NO_ANSWER);
  assert_string_equal(fx.r[1].detail, "holding 300..300 of unit 7: no answer in time");

  /* the next poll: the first request answers; the second failed in a new
     way, then the attempts ran out before it (a retry's sentence wins) */
  mbd_begin(&fx.m, &fx.dev);
  answer(0);
  mbd_set(&fx.m, &fx.dev, 1, MBD_IO, 0, "connection reset by the server");
  mbd_set(&fx.m, &fx.dev, 1, MBD_TIMEOUT, 0, "no answer in time");
  assert_int_equal(finish(RS_ERR_TIMEOUT, err, sizeof(err)), RS_OK);
  assert_int_equal(fx.n, 1);
  assert_string_equal(fx.r[0].point, "tyre");
  assert_string_equal(fx.r[0].detail, "holding 300..300 of unit 7: no answer in time");

  /* a request the poll never reached */
  mbd_begin(&fx.m, &fx.dev);
  answer(0);
  assert_int_equal(finish(RS_ERR_TIMEOUT, err, sizeof(err)), RS_OK);
  assert_int_equal(fx.n, 1);
  assert_int_equal(fx.r[0].error, READING_ERR_NO_ANSWER);
  assert_string_equal(fx.r[0].detail,
                      "holding 300..300 of unit 7: not tried: the poll had no attempts left");
}

static void test_silent_device_error(void **state)
{
  char err[256];
  (void)state;
  /* nothing answered: the poll fails with the first failure's sentence, no reading */
  mbd_begin(&fx.m, &fx.dev);
  mbd_set(&fx.m, &fx.dev, 0, MBD_IO, 0, "connect: Connection refused");
  assert_int_equal(finish(RS_ERR_IO, err, sizeof(err)), RS_ERR_IO);
  assert_int_equal(fx.n, 0);
  assert_string_equal(err, "connect: Connection refused");
  /* and with no sentence at all, "not tried" */
  mbd_begin(&fx.m, &fx.dev);
  assert_int_equal(finish(RS_ERR_TIMEOUT, err, sizeof(err)), RS_ERR_TIMEOUT);
  assert_string_equal(err, "not tried: the poll had no attempts left");
}

static void test_long_sentence_cut(void **state)
{
  char err[256], what[300];
  const char *prefix = "holding 100..100 of unit 7: ";
  (void)state;
  memset(what, 'x', sizeof(what) - 1);
  what[sizeof(what) - 1] = '\0';
  mbd_begin(&fx.m, &fx.dev);
  mbd_set(&fx.m, &fx.dev, 0, MBD_IO, 0, what);
  answer(1);
  assert_int_equal(finish(RS_ERR_IO, err, sizeof(err)), RS_OK);
  assert_int_equal(fx.n, 1);
  /* the detail holds MBD_DETAIL_MAX - 1 characters: the prefix and the sentence's start */
  assert_int_equal(strlen(fx.r[0].detail), MBD_DETAIL_MAX - 1);
  assert_memory_equal(fx.r[0].detail, prefix, strlen(prefix));
  assert_int_equal(strspn(fx.r[0].detail + strlen(prefix), "x"),
                   MBD_DETAIL_MAX - 1 - strlen(prefix));
}

/* One poll of a device that fails as a dead or refusing one does, every time. */
static void failing_poll(void)
{
  char err[256];
  mbd_begin(&fx.m, &fx.dev);
  mbd_set(&fx.m, &fx.dev, 0, MBD_TIMEOUT, 0, "no answer in time");
  mbd_set(&fx.m, &fx.dev, 0, MBD_TIMEOUT, 0, "no answer in time");
  mbd_set(&fx.m, &fx.dev, 0, MBD_IO, 0, "connect: Connection refused");
  assert_int_equal(finish(RS_ERR_IO, err, sizeof(err)), RS_ERR_IO);
  assert_string_equal(err, "connect: Connection refused");
  /* and one that answers in part: an exception on one request, silence on the other */
  mbd_begin(&fx.m, &fx.dev);
  mbd_set(&fx.m, &fx.dev, 0, MBD_EXCEPTION, 2, "Modbus exception 2 (Illegal data address)");
  mbd_set(&fx.m, &fx.dev, 1, MBD_TIMEOUT, 0, "no answer in time");
  assert_int_equal(finish(RS_ERR_TIMEOUT, err, sizeof(err)), RS_OK);
  assert_int_equal(fx.n, 2);
  assert_string_equal(fx.r[1].detail, "holding 300..300 of unit 7: no answer in time");
}

static void test_failing_device_allocates_nothing(void **state)
{
  int i;
  (void)state;
  failing_poll(); /* the first failures may take their heap */
  n_allocs = 0;
  for(i = 0; i < 100; i++)
    failing_poll();
  assert_int_equal(n_allocs, 0);
  /* once it answers again, a poll later it holds no heap for failures */
  mbd_begin(&fx.m, &fx.dev);
  answer(0);
  answer(1);
  mbd_begin(&fx.m, &fx.dev);
  assert_null(fx.m.what);
}

/* A refusing device's poll ended: its result. */
static void on_done(void *ctx, enum rs_err rc, const char *err)
{
  (void)err;
  *(enum rs_err *)ctx = rc;
}

/*
 * A Modbus TCP device whose connection is refused (a port bound on
 * 127.0.0.1 that nobody listens on), 3 attempts a poll: after its first
 * poll, polling it allocates nothing, whether by poll() (a thread's own
 * event loop, as probe) or started on a loop (restockd's way).
 */
static void test_refused_connect_allocates_nothing(void **state)
{
  struct sockaddr_in sa;
  socklen_t sl = sizeof(sa);
  struct adapter a;
  char err[256];
  int fd = socket(AF_INET, SOCK_STREAM, 0), i;
  struct evloop *loop;
  (void)state;
  assert_true(fd >= 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  fx.dev.host = "127.0.0.1";
  fx.dev.port = ntohs(sa.sin_port);
  fx.dev.timeout_ms = 1000;
  fx.dev.retries = 2;

  memset(&a, 0, sizeof(a));
  a.ops = &modbus_tcp_ops;
  a.dev = &fx.dev;
  assert_int_equal(a.ops->open(&a, err, sizeof(err)), RS_OK);
  fx.n = 0;
  assert_int_equal(a.ops->poll(&a, 1000, on_reading, NULL, err, sizeof(err)), RS_ERR_IO);
  assert_non_null(strstr(err, "refused"));
  n_allocs = 0;
  for(i = 0; i < 20; i++) {
    fx.n = 0;
    assert_int_equal(a.ops->poll(&a, 1000, on_reading, NULL, err, sizeof(err)), RS_ERR_IO);
  }
  assert_int_equal(n_allocs, 0);
  a.ops->close(&a);

  /* on an event loop */
  loop = evloop_new();
  assert_non_null(loop);
  memset(&a, 0, sizeof(a));
  a.ops = &modbus_tcp_ops;
  a.dev = &fx.dev;
  a.loop = loop;
  assert_int_equal(a.ops->open(&a, err, sizeof(err)), RS_OK);
  for(i = 0; i < 21; i++) {
    enum rs_err rc = RS_OK;
    bool done = false;
    if(i == 1)
      n_allocs = 0; /* after the first poll */
    fx.n = 0;
    a.ops->start(&a, 1000, on_reading, on_done, &rc);
    while(rc == RS_OK && evloop_turn(loop, 1000) >= 0)
      ;
    done = rc == RS_ERR_IO;
    assert_true(done);
  }
  assert_int_equal(n_allocs, 0);
  a.ops->close(&a);
  evloop_free(loop);
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_failed_request_details, setup, teardown),
      cmocka_unit_test_setup_teardown(test_silent_device_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_long_sentence_cut, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failing_device_allocates_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused_connect_allocates_nothing, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

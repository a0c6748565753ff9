/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base/resolve: address literals without a thread, names from /etc/hosts
 * (localhost) on a thread, answers on the loop, cancel. The timeout against
 * a resolver that never answers is tested end to end by test_nonblocking
 * slow-dns (it needs a network namespace of its own).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/evloop.h"
#include "base/resolve.h"

struct got {
  int calls;
  struct rs_resolved res;
};

static void on_res(void *ud, const struct rs_resolved *res)
{
  struct got *g = ud;
  g->calls++;
  g->res = *res;
}

static uint16_t port_of(const struct rs_resolved *r)
{
  return ntohs(((const struct sockaddr_in *)&r->addr)->sin_port);
}

static void test_wait(void **state)
{
  struct rs_resolved r;
  (void)state;
  assert_int_equal(rs_resolve_wait("127.0.0.1", "502", SOCK_STREAM, 1000, &r), 0);
  assert_int_equal(r.ok, 1);
  assert_int_equal(r.addr.ss_family, AF_INET);
  assert_int_equal(port_of(&r), 502);
  assert_int_equal(rs_resolve_wait("::1", "5683", SOCK_DGRAM, 1000, &r), 0);
  assert_int_equal(r.addr.ss_family, AF_INET6);
  assert_int_equal(rs_resolve_wait("localhost", "502", SOCK_STREAM, 5000, &r), 0);
  assert_int_equal(r.ok, 1);
  /* (no name that would reach a real DNS server: failures are tested in a namespace) */
}

static void test_loop(void **state)
{
  struct evloop *l = evloop_new();
  struct got a = {0}, b = {0}, c = {0};
  struct rs_resolve *rc;
  int64_t end;
  (void)state;
  assert_non_null(l);
  assert_non_null(rs_resolve_start(l, "127.0.0.1", "1502", SOCK_STREAM, 1000, on_res, &a));
  assert_int_equal(a.calls, 0); /* never from inside start */
  assert_non_null(rs_resolve_start(l, "localhost", "1502", SOCK_STREAM, 5000, on_res, &b));
  rc = rs_resolve_start(l, "localhost", "1503", SOCK_STREAM, 5000, on_res, &c);
  assert_non_null(rc);
  rs_resolve_cancel(rc);
  end = clock_real_mono_ms() + 5000;
  while((a.calls == 0 || b.calls == 0) && clock_real_mono_ms() < end)
    assert_true(evloop_turn(l, 100) >= 0);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.res.ok, 1);
  assert_int_equal(port_of(&a.res), 1502);
  assert_int_equal(b.calls, 1);
  assert_int_equal(b.res.ok, 1);
  (void)evloop_turn(l, 50);
  assert_int_equal(c.calls, 0); /* cancelled */
  evloop_free(l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wait),
      cmocka_unit_test(test_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CoAP backend (adapters/coap.c) against the real libcoap example
 * server on 127.0.0.1: `coap-server-openssl -A 127.0.0.1 -p PORT -d 10`
 * (PUT creates observable resources), values set with `coap-client-openssl
 * -m put -f FILE -t FMT`. The test drives the adapter's ops directly (open,
 * poll, fd/on_readable, close) and checks what a user would: decoded text,
 * JSON-pointer and SenML values with scale/offset, an observe notification
 * arriving without a poll, a killed server costing at most timeout x
 * (retries + 1) and the restarted one answering, bad payloads as
 * "malformed" with cpay's message, 4.04 as an exception, DTLS-PSK with the
 * right and a wrong key. Exits 77 (skip) when the libcoap tools are absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <coap3/coap.h>

#include "adapters/coap.h"
#include "adapters/coap_payload.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "base/log.h"

#define SERVER_BIN   "/usr/bin/coap-server-openssl"
#define CLIENT_BIN   "/usr/bin/coap-client-openssl"
#define MAX_READINGS 64
#define MAX_SERVERS  4
/* A poll still running after this long hung: a guard, never a measure of speed (bench/ is) */
#define HANG_GUARD_MS 30000

/* ---- peers ---- */

static pid_t servers[MAX_SERVERS];
static char tmpdir[64];

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while(nanosleep(&ts, &ts) && errno == EINTR)
    ;
}

/* 1 when nobody holds UDP 127.0.0.1:port. */
static int udp_port_free(unsigned port)
{
  struct sockaddr_in sa;
  int fd = socket(AF_INET, SOCK_DGRAM, 0), ok;
  if(fd < 0)
    return 0;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
  close(fd);
  return ok;
}

/* Run argv with output to /dev/null; returns its exit status (-1 when it died). */
static int run(char *const argv[])
{
  int st;
  pid_t pid = fork();
  if(pid == 0) {
    int dn = open("/dev/null", O_RDWR);
    if(dn >= 0) {
      dup2(dn, 0);
      dup2(dn, 1);
      dup2(dn, 2);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  if(pid < 0)
    return -1;
  while(waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void stop_server(pid_t *pid)
{
  if(*pid > 0) {
    kill(*pid, SIGKILL);
    while(waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  *pid = 0;
}

/*
 * Start coap-server on port (and port+1 for DTLS with key) into slot; the
 * ports must be free. Returns 0 once the server holds its port(s).
 */
static int start_server_on(int slot, unsigned port, const char *key)
{
  char p[16];
  int i;
  pid_t pid;
  snprintf(p, sizeof(p), "%u", port);
  if(!udp_port_free(port) || (key && !udp_port_free(port + 1)))
    return -1;
  pid = fork();
  if(pid == 0) {
    int dn = open("/dev/null", O_RDWR);
    if(dn >= 0) {
      dup2(dn, 0);
      dup2(dn, 1);
      dup2(dn, 2);
    }
    if(key)
      execl(SERVER_BIN, SERVER_BIN, "-A", "127.0.0.1", "-p", p, "-d", "10", "-k", key,
            (char *)NULL);
    else
      execl(SERVER_BIN, SERVER_BIN, "-A", "127.0.0.1", "-p", p, "-d", "10", (char *)NULL);
    _exit(127);
  }
  if(pid < 0)
    return -1;
  servers[slot] = pid;
  for(i = 0; i < 200; i++) {
    if(waitpid(pid, NULL, WNOHANG) == pid) {
      servers[slot] = 0;
      return -1;
    }
    if(!udp_port_free(port) && (!key || !udp_port_free(port + 1)))
      return 0;
    sleep_ms(10);
  }
  stop_server(&servers[slot]);
  return -1;
}

/* Start a server on some free port from 20000..59999 (retrying); returns the port. */
static unsigned start_server(int slot, const char *key)
{
  static unsigned next;
  int tries;
  if(!next)
    next = 20000 + (unsigned)(getpid() * 7 % 39000) / 2 * 2;
  for(tries = 0; tries < 50; tries++) {
    unsigned port = next;
    next += 2;
    if(next >= 60000)
      next = 20000;
    if(start_server_on(slot, port, key) == 0)
      return port;
  }
  fail_msg("no free UDP port for coap-server");
  return 0;
}

/* PUT body (content format fmt: 0 text, 50 json, 110 senml) to coap://127.0.0.1:port/path. */
static void put(unsigned port, const char *path, const void *body, size_t len, const char *fmt)
{
  char file[128], uri[256];
  FILE *f;
  snprintf(file, sizeof(file), "%s/body", tmpdir);
  f = fopen(file, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(body, 1, len, f), len);
  fclose(f);
  snprintf(uri, sizeof(uri), "coap://127.0.0.1:%u/%s", port, path);
  {
    char *argv[] = {CLIENT_BIN, "-m", "put", "-B", "5", "-f", file, "-t", (char *)fmt, uri, NULL};
    assert_int_equal(run(argv), 0);
  }
}

static void put_s(unsigned port, const char *path, const char *body, const char *fmt)
{
  put(port, path, body, strlen(body), fmt);
}

/* ---- readings ---- */

struct got {
  char point[64];
  double value;
  bool is_int, is_bool;
  enum reading_error error;
  int code;
  char detail[512];
  int64_t wall_ms;
};

static struct got got[MAX_READINGS];
static size_t n_got;

static void collect(void *ctx, const struct reading *r)
{
  struct got *g;
  (void)ctx;
  assert_true(n_got < MAX_READINGS);
  g = &got[n_got++];
  memset(g, 0, sizeof(*g));
  assert_string_equal(r->device, "dev1");
  snprintf(g->point, sizeof(g->point), "%s", r->point);
  g->value = r->value;
  g->is_int = r->is_int;
  g->is_bool = r->is_bool;
  g->error = r->error;
  g->code = r->code;
  g->wall_ms = r->wall_ms;
  if(r->detail)
    snprintf(g->detail, sizeof(g->detail), "%s", r->detail);
  if(getenv("RESTOCK_COAP_DEBUG"))
    fprintf(stderr, "reading %s: %s %g code %d %s\n", g->point, reading_error_name(r->error),
            r->value, r->code, r->detail ? r->detail : "");
}

static const struct got *find(const char *point)
{
  size_t i;
  for(i = 0; i < n_got; i++)
    if(!strcmp(got[i].point, point))
      return &got[i];
  fail_msg("no reading for point %s", point);
  return NULL;
}

/* ---- devices ---- */

/* Fail when the poll started at real time t0 hung (ran past HANG_GUARD_MS); returns ms taken. */
static int64_t poll_ended(int64_t t0)
{
  int64_t took = clock_real_mono_ms() - t0;
  if(took > HANG_GUARD_MS)
    fail_msg("the poll hung: it ended %lld ms after it started", (long long)took);
  return took;
}

#define MAX_POINTS 8

struct tdev {
  struct cfg_device d;
  struct cfg_point pts[MAX_POINTS];
  char uri[128];
  struct adapter a;
};

static void dev_init(struct tdev *t, const char *scheme, unsigned port, int64_t timeout_ms,
                     int retries)
{
  memset(t, 0, sizeof(*t));
  snprintf(t->uri, sizeof(t->uri), "%s://127.0.0.1:%u", scheme, port);
  t->d.id = "dev1";
  t->d.transport = CFG_TR_COAP;
  t->d.uri = t->uri;
  t->d.coaps = !strcmp(scheme, "coaps");
  t->d.timeout_ms = timeout_ms;
  t->d.retries = retries;
  t->d.poll_interval_ms = 60000;
  t->d.points = t->pts;
  t->a.ops = &coapa_ops;
  t->a.dev = &t->d;
}

static struct cfg_point *add_point(struct tdev *t, const char *id, const char *path,
                                   enum cfg_format fmt)
{
  struct cfg_point *p;
  assert_true(t->d.n_points < MAX_POINTS);
  p = &t->pts[t->d.n_points++];
  memset(p, 0, sizeof(*p));
  p->id = id;
  p->path = path;
  p->format = fmt;
  p->scale = 1;
  p->bit = -1;
  return p;
}

static char err[512];

static enum rs_err do_poll(struct tdev *t)
{
  n_got = 0;
  err[0] = '\0';
  return adapter_poll(&t->a, clock_real_wall_ms(), collect, NULL, err, sizeof(err));
}

static void dev_open(struct tdev *t)
{
  enum rs_err rc = adapter_open(&t->a, err, sizeof(err));
  if(rc)
    fail_msg("open: %s", err);
}

/* Wait up to ms for the adapter's fd to become readable, then on_readable. */
static void wait_readable(struct tdev *t, int ms)
{
  int64_t end = clock_real_mono_ms() + ms;
  n_got = 0;
  while(!n_got) {
    struct pollfd pfd;
    int64_t left = end - clock_real_mono_ms();
    if(left <= 0)
      break;
    pfd.fd = adapter_fd(&t->a);
    assert_true(pfd.fd >= 0);
    pfd.events = POLLIN;
    if(poll(&pfd, 1, (int)left) > 0)
      (void)adapter_on_readable(&t->a, clock_real_wall_ms(), collect, NULL);
  }
}

/* ---- fixtures ---- */

static int teardown(void **state)
{
  int i;
  (void)state;
  for(i = 0; i < MAX_SERVERS; i++)
    stop_server(&servers[i]);
  return 0;
}

/* ---- tests ---- */

/* Text, JSON pointer and SenML values; scale/offset; exact integers; session reuse. */
static void test_values(void **state)
{
  struct tdev t;
  struct cfg_point *p;
  struct coapa_stats st;
  const struct got *g;
  unsigned port = start_server(0, NULL);
  (void)state;

  put_s(port, "ink/cyan", "21.5", "0");
  put_s(port, "count", " 42\n", "0");
  put_s(port, "status", "{\"levels\":{\"black\":17.25,\"a/b\":[1,2,3]},\"ok\":true}", "50");
  put_s(
      port, "senml",
      "[{\"bn\":\"printer/\",\"n\":\"cyan\",\"v\":63.5,\"u\":\"%\"},{\"n\":\"magenta\",\"v\":12}]",
      "110");

  dev_init(&t, "coap", port, 1000, 2);
  add_point(&t, "cyan", "/ink/cyan", CFG_FMT_TEXT);
  p = add_point(&t, "cyan_scaled", "ink/cyan", CFG_FMT_TEXT);
  p->scale = 2;
  p->offset = -3;
  p->scaled = true;
  add_point(&t, "count", "/count", CFG_FMT_TEXT);
  p = add_point(&t, "black", "/status", CFG_FMT_JSON);
  p->pointer = "/levels/black";
  p = add_point(&t, "arr", "/status", CFG_FMT_JSON);
  p->pointer = "/levels/a~1b/2";
  p = add_point(&t, "ok", "/status", CFG_FMT_JSON);
  p->pointer = "/ok";
  p = add_point(&t, "senml_cyan", "/senml", CFG_FMT_SENML);
  p->name = "printer/cyan";
  p->unit = "%";
  p = add_point(&t, "senml_magenta", "/senml", CFG_FMT_SENML);
  p->name = "printer/magenta";
  dev_open(&t);

  assert_int_equal(do_poll(&t), RS_OK);
  assert_int_equal(n_got, 8);
  g = find("cyan");
  assert_int_equal(g->error, READING_OK);
  assert_true(g->value == 21.5);
  assert_false(g->is_int);
  g = find("cyan_scaled");
  assert_int_equal(g->error, READING_OK);
  assert_true(g->value == 40.0);
  g = find("count");
  assert_int_equal(g->error, READING_OK);
  assert_true(g->value == 42 && g->is_int);
  g = find("black");
  assert_int_equal(g->error, READING_OK);
  assert_true(g->value == 17.25);
  g = find("arr");
  assert_int_equal(g->error, READING_OK);
  assert_true(g->value == 3);
  g = find("ok");
  assert_int_equal(g->error, READING_OK);
  assert_true(g->is_bool && g->value == 1);
  g = find("senml_cyan");
  assert_int_equal(g->error, READING_OK);
  assert_true(g->value == 63.5);
  g = find("senml_magenta");
  assert_int_equal(g->error, READING_OK);
  assert_true(g->value == 12);

  /* a new value is read by the next poll, on the same session */
  put_s(port, "ink/cyan", "20.25", "0");
  assert_int_equal(do_poll(&t), RS_OK);
  assert_true(find("cyan")->value == 20.25);
  coapa_get_stats(&t.a, &st);
  assert_int_equal(st.sessions, 1);
  assert_int_equal(st.requests, 16);
  assert_int_equal(st.responses, 16);
  assert_int_equal(st.timeouts + st.malformed + st.exceptions + st.resets, 0);
  adapter_close(&t.a);
}

/* Bad payloads are "malformed" with cpay's sentence; a missing path is 4.04. */
static void test_errors(void **state)
{
  struct tdev t;
  struct cfg_point *p;
  struct coapa_stats st;
  const struct got *g;
  char *big;
  unsigned port = start_server(0, NULL);
  (void)state;

  put_s(port, "word", "hello", "0");
  put_s(port, "inf", "1e999", "0");
  put_s(port, "notarray", "{\"n\":\"cyan\",\"v\":1}", "110");
  put_s(port, "badjson", "{\"level\": ", "50");
  big = malloc(CPAY_MAX_PAYLOAD + 5000);
  assert_non_null(big);
  memset(big, '1', CPAY_MAX_PAYLOAD + 5000);
  put(port, "big", big, CPAY_MAX_PAYLOAD + 5000, "0");
  free(big);

  dev_init(&t, "coap", port, 1000, 2);
  add_point(&t, "word", "/word", CFG_FMT_TEXT);
  add_point(&t, "inf", "/inf", CFG_FMT_TEXT);
  p = add_point(&t, "notarray", "/notarray", CFG_FMT_SENML);
  p->name = "cyan";
  p = add_point(&t, "badjson", "/badjson", CFG_FMT_JSON);
  p->pointer = "/level";
  add_point(&t, "big", "/big", CFG_FMT_TEXT);
  add_point(&t, "missing", "/no/such/thing", CFG_FMT_TEXT);
  dev_open(&t);

  assert_int_equal(do_poll(&t), RS_OK);
  assert_int_equal(n_got, 6);
  g = find("word");
  assert_int_equal(g->error, READING_ERR_MALFORMED);
  assert_non_null(strstr(g->detail, "not a number"));
  g = find("inf");
  assert_int_equal(g->error, READING_ERR_MALFORMED);
  assert_true(g->detail[0] != '\0');
  g = find("notarray");
  assert_int_equal(g->error, READING_ERR_MALFORMED);
  assert_non_null(strstr(g->detail, "array"));
  g = find("badjson");
  assert_int_equal(g->error, READING_ERR_MALFORMED);
  assert_true(g->detail[0] != '\0');
  g = find("big");
  assert_int_equal(g->error, READING_ERR_MALFORMED);
  assert_non_null(strstr(g->detail, "65536"));
  g = find("missing");
  assert_int_equal(g->error, READING_ERR_EXCEPTION);
  assert_int_equal(g->code, 4 * 32 + 4);
  assert_non_null(strstr(g->detail, "4.04 Not Found"));
  coapa_get_stats(&t.a, &st);
  assert_int_equal(st.malformed, 5);
  assert_int_equal(st.exceptions, 1);
  assert_int_equal(st.resets, 0);
  adapter_close(&t.a);
}

/* Observe: a PUT reaches us as a reading without a poll; polls skip the fresh point. */
static void test_observe(void **state)
{
  struct tdev t;
  struct coapa_stats st0, st1;
  const struct got *g;
  unsigned port = start_server(0, NULL);
  (void)state;

  put_s(port, "level", "80", "0");
  dev_init(&t, "coap", port, 1000, 2);
  add_point(&t, "level", "/level", CFG_FMT_TEXT)->observe = true;
  add_point(&t, "index", "", CFG_FMT_TEXT)->observe = true; /* "/" is not observable */
  dev_open(&t);

  assert_int_equal(do_poll(&t), RS_OK);
  assert_int_equal(n_got, 2);
  g = find("level");
  assert_int_equal(g->error, READING_OK);
  assert_true(g->value == 80);
  assert_true(coapa_observing(&t.a, 0));
  assert_false(coapa_observing(&t.a, 1));
  assert_int_equal(find("index")->error, READING_ERR_MALFORMED);
  assert_true(adapter_fd(&t.a) >= 0);

  put_s(port, "level", "79.5", "0");
  wait_readable(&t, 3000);
  assert_int_equal(n_got, 1);
  assert_string_equal(got[0].point, "level");
  assert_int_equal(got[0].error, READING_OK);
  assert_true(got[0].value == 79.5);
  put_s(port, "level", "oops", "0");
  wait_readable(&t, 3000);
  assert_int_equal(n_got, 1);
  assert_int_equal(got[0].error, READING_ERR_MALFORMED);
  assert_true(coapa_observing(&t.a, 0)); /* a bad payload does not end the observation */
  put_s(port, "level", "79", "0");
  wait_readable(&t, 3000);
  assert_int_equal(n_got, 1);
  assert_true(got[0].value == 79);

  /* the next poll GETs only the point without Observe */
  coapa_get_stats(&t.a, &st0);
  assert_int_equal(st0.notifications, 3);
  assert_int_equal(do_poll(&t), RS_OK);
  coapa_get_stats(&t.a, &st1);
  assert_int_equal(st1.requests, st0.requests + 1);
  assert_int_equal(n_got, 1);
  assert_string_equal(got[0].point, "index");
  /* a spurious wake-up is harmless */
  n_got = 0;
  assert_int_equal(adapter_on_readable(&t.a, clock_real_wall_ms(), collect, NULL), RS_OK);
  assert_int_equal(n_got, 0);
  adapter_close(&t.a);
}

/*
 * Every point observed: the poll has nothing to GET and pings the server
 * instead. A live server answers (the poll succeeds, the observation stays);
 * a killed one is noticed at that poll (before, only when Max-Age ran out):
 * the poll fails naming the ping and the observation is dropped; the
 * restarted server gets the registration again.
 */
static void test_observe_dead_server(void **state)
{
  struct tdev t;
  unsigned port = start_server(0, NULL);
  (void)state;

  put_s(port, "level", "80", "0");
  /* 1 s per try: a loaded machine under ASan still answers a ping in time */
  dev_init(&t, "coap", port, 1000, 2);
  add_point(&t, "level", "/level", CFG_FMT_TEXT)->observe = true;
  dev_open(&t);
  assert_int_equal(do_poll(&t), RS_OK);
  assert_true(coapa_observing(&t.a, 0));
  assert_int_equal(do_poll(&t), RS_OK); /* the ping is answered */
  assert_int_equal(n_got, 0);
  assert_true(coapa_observing(&t.a, 0));

  stop_server(&servers[0]);
  assert_int_equal(do_poll(&t), RS_ERR_TIMEOUT);
  assert_non_null(strstr(err, "ping"));
  assert_false(coapa_observing(&t.a, 0));

  assert_int_equal(start_server_on(0, port, NULL), 0);
  put_s(port, "level", "70", "0");
  assert_int_equal(do_poll(&t), RS_OK);
  assert_int_equal(n_got, 1);
  assert_true(find("level")->value == 70);
  assert_true(coapa_observing(&t.a, 0));
  adapter_close(&t.a);
}

/*
 * The server restarts between two polls (killed, started again on its port at
 * once): it forgot the observation, and the level it serves now (70, put
 * anew) is not what the last notification said (80). The next poll has
 * nothing to GET and sends the liveness GET, which the new server answers:
 * before, that poll succeeded and the point stayed "observed and fresh" for
 * Max-Age + 5 s (65 s) with no notification ever coming, so 70 and every
 * later change went unread that long. Now the liveness GET's reply, not what
 * the observation said, makes every observation stale: the poll after
 * registers again, reads 70, and a later PUT is notified.
 */
static void test_observe_server_restart(void **state)
{
  struct tdev t;
  unsigned port = start_server(0, NULL);
  (void)state;

  put_s(port, "level", "80", "0");
  dev_init(&t, "coap", port, 1000, 2);
  add_point(&t, "level", "/level", CFG_FMT_TEXT)->observe = true;
  dev_open(&t);
  assert_int_equal(do_poll(&t), RS_OK);
  assert_true(find("level")->value == 80);
  assert_true(coapa_observing(&t.a, 0));

  stop_server(&servers[0]);
  assert_int_equal(start_server_on(0, port, NULL), 0);
  put_s(port, "level", "70", "0");
  assert_int_equal(do_poll(&t), RS_OK); /* the liveness GET, answered by the new server */
  assert_int_equal(n_got, 0);
  assert_int_equal(do_poll(&t), RS_OK); /* registers again (before: still "fresh") */
  assert_int_equal(n_got, 1);
  assert_true(find("level")->value == 70);
  assert_true(coapa_observing(&t.a, 0));
  put_s(port, "level", "60", "0");
  wait_readable(&t, 3000);
  assert_int_equal(n_got, 1);
  assert_true(got[0].value == 60);
  adapter_close(&t.a);
}

/* A killed server: the poll fails (no answer) instead of hanging; the restarted one answers
   again. */
static void test_down_restart(void **state)
{
  struct tdev t;
  struct coapa_stats st;
  int64_t t0;
  unsigned port = start_server(0, NULL);
  (void)state;

  put_s(port, "v", "5", "0");
  dev_init(&t, "coap", port, 300, 2);
  add_point(&t, "v", "/v", CFG_FMT_TEXT);
  add_point(&t, "w", "/v", CFG_FMT_TEXT);
  dev_open(&t);
  assert_int_equal(do_poll(&t), RS_OK);
  assert_true(find("v")->value == 5);

  stop_server(&servers[0]);
  /* the kernel's "port unreachable" is named in the poll's error, and libcoap's
     "coap_network_send: Connection refused" per datagram stays out of the log */
  {
    char logpath[] = "/tmp/test_coap_log.XXXXXX", text[8192];
    int lfd = mkstemp(logpath);
    ssize_t n;
    enum log_level was = log_get_level();
    assert_true(lfd >= 0);
    log_set_fd(lfd);
    log_set_level(LOG_LVL_INFO);
    t0 = clock_real_mono_ms();
    assert_int_equal(do_poll(&t), RS_ERR_TIMEOUT);
    (void)poll_ended(t0);
    log_set_level(was);
    log_set_fd(2);
    n = pread(lfd, text, sizeof(text) - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    close(lfd);
    unlink(logpath);
    assert_int_equal(n_got, 0);
    assert_non_null(strstr(err, "no answer"));
    assert_non_null(strstr(err, "connection refused (port unreachable: nothing listens"));
    assert_null(strstr(text, "Connection refused"));
  }
  /* and again, on a fresh session */
  t0 = clock_real_mono_ms();
  assert_int_equal(do_poll(&t), RS_ERR_TIMEOUT);
  (void)poll_ended(t0);

  assert_int_equal(start_server_on(0, port, NULL), 0);
  put_s(port, "v", "6", "0");
  assert_int_equal(do_poll(&t), RS_OK);
  assert_int_equal(n_got, 2);
  assert_true(find("v")->value == 6);
  coapa_get_stats(&t.a, &st);
  assert_true(st.resets >= 2);
  assert_true(st.sessions >= 3);
  adapter_close(&t.a);
}

/*
 * A peer that swallows every datagram (no ICMP either): the poll ends with a
 * timeout (libcoap's defaults alone would wait ~93 s: the hang guard would
 * fail), the whole 1 s x (2 + 1) budget is used, and the GET went out
 * retries + 1 times.
 */
static void test_silent_peer(void **state)
{
  struct tdev t;
  struct sockaddr_in sa;
  socklen_t sl = sizeof(sa);
  int64_t t0, took;
  int hole, n = 0;
  unsigned char buf[1500];
  unsigned mid0 = 0;
  unsigned char tok0[8];
  (void)state;

  hole = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  assert_true(hole >= 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(hole, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(getsockname(hole, (struct sockaddr *)&sa, &sl), 0);

  dev_init(&t, "coap", ntohs(sa.sin_port), 1000, 2);
  add_point(&t, "v", "/v", CFG_FMT_TEXT);
  dev_open(&t);
  t0 = clock_real_mono_ms();
  assert_int_equal(do_poll(&t), RS_ERR_TIMEOUT);
  took = poll_ended(t0);
  assert_true(took >= 1000 * 3 - 50);
  assert_int_equal(n_got, 0);
  assert_non_null(strstr(err, "no answer"));
  for(;;) {
    ssize_t r = recv(hole, buf, sizeof(buf), 0);
    unsigned mid;
    if(r < 0)
      break;
    assert_true(r >= 12);
    assert_int_equal(buf[0] & 0x0f, 8);     /* token length */
    assert_int_equal((buf[0] >> 4) & 3, 1); /* non-confirmable */
    mid = (unsigned)buf[2] << 8 | buf[3];
    if(!n)
      memcpy(tok0, buf + 4, 8);
    else
      assert_true(mid != mid0);            /* a new message id ... */
    assert_memory_equal(buf + 4, tok0, 8); /* ... for the same request */
    mid0 = mid;
    n++;
  }
  assert_int_equal(n, 3);
  adapter_close(&t.a);
  close(hole);
}

/* ---- a peer of our own: Max-Age 1, observable, never notifies ---- */

static void maxage_get(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
                       const coap_string_t *q, coap_pdu_t *resp)
{
  uint8_t b[4];
  (void)r;
  (void)s;
  (void)req;
  (void)q;
  coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CONTENT);
  coap_add_option(resp, COAP_OPTION_MAXAGE, coap_encode_var_safe(b, sizeof(b), 1), b);
  coap_add_data(resp, 1, (const uint8_t *)"5");
}

/* Child process: serve /quiet (observable or not) on 127.0.0.1:port until killed. */
static void maxage_serve(unsigned port, int observable)
{
  coap_context_t *ctx;
  coap_address_t addr;
  coap_resource_t *r;
  coap_startup();
  coap_set_log_level(LOG_EMERG);
  ctx = coap_new_context(NULL);
  coap_address_init(&addr);
  addr.addr.sin.sin_family = AF_INET;
  addr.addr.sin.sin_port = htons((uint16_t)port);
  addr.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.size = sizeof(addr.addr.sin);
  if(!ctx || !coap_new_endpoint(ctx, &addr, COAP_PROTO_UDP))
    _exit(1);
  r = coap_resource_init(coap_make_str_const("quiet"), 0);
  coap_register_handler(r, COAP_REQUEST_GET, maxage_get);
  coap_resource_set_get_observable(r, observable);
  coap_add_resource(ctx, r);
  for(;;)
    coap_io_process(ctx, 1000);
}

/* Start the Max-Age server on port (0: a free one) in slot; returns its port. */
static unsigned start_maxage_server_on(int slot, unsigned want, int observable)
{
  unsigned port;
  int tries, i;
  for(tries = 0; tries < 50; tries++) {
    pid_t pid;
    port = want ? want : 20001 + (unsigned)((getpid() * 13 + tries * 2) % 39000) / 2 * 2;
    if(!udp_port_free(port)) {
      if(want)
        sleep_ms(20);
      continue;
    }
    pid = fork();
    if(pid == 0)
      maxage_serve(port, observable);
    assert_true(pid > 0);
    servers[slot] = pid;
    for(i = 0; i < 200 && udp_port_free(port); i++)
      sleep_ms(10);
    if(!udp_port_free(port) && waitpid(pid, NULL, WNOHANG) == 0)
      return port;
    stop_server(&servers[slot]);
  }
  fail_msg("no free UDP port for the Max-Age server");
  return 0;
}

static unsigned start_maxage_server(int slot)
{
  return start_maxage_server_on(slot, 0, 1);
}

/*
 * An observation that stays silent past Max-Age (1 s) + COAPA_OBS_MARGIN_MS
 * is registered again by the next poll; before that, polls leave it alone.
 */
static void test_reregister(void **state)
{
  struct tdev t;
  struct coapa_stats st0, st1;
  unsigned port = start_maxage_server(0);
  (void)state;

  dev_init(&t, "coap", port, 1000, 2);
  add_point(&t, "quiet", "/quiet", CFG_FMT_TEXT)->observe = true;
  dev_open(&t);
  assert_int_equal(do_poll(&t), RS_OK);
  assert_int_equal(n_got, 1);
  assert_true(got[0].value == 5);
  assert_true(coapa_observing(&t.a, 0));
  coapa_get_stats(&t.a, &st0);

  sleep_ms(500);
  assert_int_equal(do_poll(&t), RS_OK); /* fresh: only the liveness GET, nothing emitted */
  assert_int_equal(n_got, 0);
  coapa_get_stats(&t.a, &st1);
  assert_int_equal(st1.requests, st0.requests + 1);
  assert_true(coapa_observing(&t.a, 0));

  sleep_ms(1000 + COAPA_OBS_MARGIN_MS);
  assert_int_equal(do_poll(&t), RS_OK); /* stale: registered again, read again */
  assert_int_equal(n_got, 1);
  assert_true(got[0].value == 5);
  coapa_get_stats(&t.a, &st1);
  assert_int_equal(st1.requests, st0.requests + 2);
  assert_true(coapa_observing(&t.a, 0));
  adapter_close(&t.a);
}

/*
 * A server that does not offer Observe for a point that asks for it (it
 * answers the registration with a plain 2.05) is replaced, on the same port
 * between two polls, by one that does (a firmware update): before, the point
 * was polled plainly until the adapter was reopened (a reload, a restart),
 * its GETs no longer asking; now each GET asks again, so the next poll
 * registers it.
 */
static void test_observe_offered_later(void **state)
{
  struct tdev t;
  unsigned port = start_maxage_server_on(0, 0, 0);
  (void)state;

  dev_init(&t, "coap", port, 1000, 2);
  add_point(&t, "quiet", "/quiet", CFG_FMT_TEXT)->observe = true;
  dev_open(&t);
  assert_int_equal(do_poll(&t), RS_OK);
  assert_true(find("quiet")->value == 5);
  assert_false(coapa_observing(&t.a, 0)); /* not offered: polled */
  assert_int_equal(do_poll(&t), RS_OK);
  assert_false(coapa_observing(&t.a, 0));

  stop_server(&servers[0]);
  assert_int_equal(start_maxage_server_on(0, port, 1), port);
  assert_int_equal(do_poll(&t), RS_OK);
  assert_true(find("quiet")->value == 5);
  assert_true(coapa_observing(&t.a, 0)); /* offered now: observed */
  adapter_close(&t.a);
}

static void write_file(const char *path, const char *s)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(s, f);
  fclose(f);
}

/* DTLS-PSK: the right key reads values over one handshake; a wrong one fails cleanly. */
static void test_dtls(void **state)
{
  struct tdev t, w;
  struct coapa_stats st;
  char keyfile[128], badfile[128];
  int64_t t0;
  enum rs_err rc;
  unsigned port = start_server(0, "s3cret-Key");
  (void)state;

  put_s(port, "level", "33.5", "0");
  snprintf(keyfile, sizeof(keyfile), "%s/psk", tmpdir);
  snprintf(badfile, sizeof(badfile), "%s/bad", tmpdir);
  write_file(keyfile, "s3cret-Key\n");
  write_file(badfile, "wrong-key\n");

  dev_init(&t, "coaps", port + 1, 1000, 2);
  t.d.psk_identity = "restock";
  t.d.psk_file = keyfile;
  add_point(&t, "level", "/level", CFG_FMT_TEXT);
  dev_open(&t);
  assert_int_equal(do_poll(&t), RS_OK);
  assert_int_equal(find("level")->error, READING_OK);
  assert_true(find("level")->value == 33.5);
  put_s(port, "level", "33", "0");
  assert_int_equal(do_poll(&t), RS_OK);
  assert_true(find("level")->value == 33);
  assert_int_equal(do_poll(&t), RS_OK);
  coapa_get_stats(&t.a, &st);
  assert_int_equal(st.handshakes, 1);
  assert_int_equal(st.sessions, 1);

  /* a restarted server has forgotten the DTLS session: one poll may fail (it
     does not hang), the next one makes a new session and reads again */
  stop_server(&servers[0]);
  assert_int_equal(start_server_on(0, port, "s3cret-Key"), 0);
  put_s(port, "level", "32", "0");
  t0 = clock_real_mono_ms();
  rc = do_poll(&t);
  (void)poll_ended(t0);
  if(rc != RS_OK)
    assert_int_equal(do_poll(&t), RS_OK);
  assert_true(find("level")->value == 32);
  coapa_get_stats(&t.a, &st);
  assert_int_equal(st.handshakes, 2);
  adapter_close(&t.a);

  dev_init(&w, "coaps", port + 1, 500, 1);
  w.d.psk_identity = "restock";
  w.d.psk_file = badfile;
  add_point(&w, "level", "/level", CFG_FMT_TEXT);
  dev_open(&w);
  t0 = clock_real_mono_ms();
  rc = do_poll(&w);
  (void)poll_ended(t0);
  assert_true(rc == RS_ERR_AUTH || rc == RS_ERR_TIMEOUT);
  assert_int_equal(n_got, 0);
  assert_non_null(strstr(err, "psk"));
  assert_null(strstr(err, "wrong-key"));
  coapa_get_stats(&w.a, &st);
  assert_int_equal(st.handshakes, 0);
  adapter_close(&w.a);
}

/* ---- devices on their own threads, as in restockd ---- */

struct thr {
  struct tdev t;
  int ok;
  pthread_t th;
};

static void count_ok(void *ctx, const struct reading *r)
{
  struct thr *w = ctx;
  if(r->error == READING_OK && r->value == 9)
    w->ok++;
}

static void *thr_main(void *arg)
{
  struct thr *w = arg;
  char e[256];
  int i;
  for(i = 0; i < 25; i++)
    if(adapter_poll(&w->t.a, clock_real_wall_ms(), count_ok, w, e, sizeof(e)))
      break;
  return NULL;
}

/* Four devices polled at once from four threads, each with its own session. */
static void test_threads(void **state)
{
  struct thr w[4];
  int i;
  unsigned port = start_server(0, NULL);
  (void)state;
  put_s(port, "v", "9", "0");
  for(i = 0; i < 4; i++) {
    dev_init(&w[i].t, "coap", port, 1000, 2);
    add_point(&w[i].t, "v", "/v", CFG_FMT_TEXT);
    add_point(&w[i].t, "w", "/v", CFG_FMT_TEXT);
    w[i].t.a.dev = &w[i].t.d;
    w[i].ok = 0;
    dev_open(&w[i].t);
  }
  for(i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&w[i].th, NULL, thr_main, &w[i]), 0);
  for(i = 0; i < 4; i++)
    pthread_join(w[i].th, NULL);
  for(i = 0; i < 4; i++) {
    assert_int_equal(w[i].ok, 50);
    adapter_close(&w[i].t.a);
  }
}

/* open refuses what it cannot use, with a sentence. */
static void test_open_errors(void **state)
{
  struct tdev t;
  (void)state;
  dev_init(&t, "coap", 5683, 1000, 2);
  t.d.uri = "http://127.0.0.1/x";
  add_point(&t, "v", "/v", CFG_FMT_TEXT);
  assert_int_not_equal(adapter_open(&t.a, err, sizeof(err)), RS_OK);
  assert_null(t.a.priv);
  assert_non_null(strstr(err, "http://127.0.0.1/x"));

  dev_init(&t, "coaps", 5684, 1000, 2);
  t.d.psk_identity = "id";
  t.d.psk_file = "/nonexistent/restock-psk";
  add_point(&t, "v", "/v", CFG_FMT_TEXT);
  assert_int_not_equal(adapter_open(&t.a, err, sizeof(err)), RS_OK);
  assert_null(t.a.priv);
  assert_non_null(strstr(err, "/nonexistent/restock-psk"));
}

/* A base path in the uri is prepended to each point's path; %-escapes are decoded. */
static void test_base_path(void **state)
{
  struct tdev t;
  unsigned port = start_server(0, NULL);
  (void)state;
  put_s(port, "plant/line 1/ink", "7", "0");
  dev_init(&t, "coap", port, 1000, 2);
  snprintf(t.uri, sizeof(t.uri), "coap://127.0.0.1:%u/plant", port);
  add_point(&t, "ink", "/line%201/ink", CFG_FMT_TEXT);
  dev_open(&t);
  assert_int_equal(do_poll(&t), RS_OK);
  assert_int_equal(find("ink")->error, READING_OK);
  assert_true(find("ink")->value == 7);
  adapter_close(&t.a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_values, teardown),
      cmocka_unit_test_teardown(test_errors, teardown),
      cmocka_unit_test_teardown(test_observe, teardown),
      cmocka_unit_test_teardown(test_reregister, teardown),
      cmocka_unit_test_teardown(test_observe_offered_later, teardown),
      cmocka_unit_test_teardown(test_down_restart, teardown),
      cmocka_unit_test_teardown(test_observe_dead_server, teardown),
      cmocka_unit_test_teardown(test_observe_server_restart, teardown),
      cmocka_unit_test_teardown(test_silent_peer, teardown),
      cmocka_unit_test_teardown(test_dtls, teardown),
      cmocka_unit_test_teardown(test_threads, teardown),
      cmocka_unit_test_teardown(test_open_errors, teardown),
      cmocka_unit_test_teardown(test_base_path, teardown),
  };
  int rc;
  if(access(SERVER_BIN, X_OK) || access(CLIENT_BIN, X_OK)) {
    fprintf(stderr, "skip: %s or %s not installed (Debian: libcoap3-bin)\n", SERVER_BIN,
            CLIENT_BIN);
    return 77;
  }
  signal(SIGPIPE, SIG_IGN);
  log_set_level(getenv("RESTOCK_COAP_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARNING);
  if(getenv("RESTOCK_COAP_CASE")) { /* one ctest per case (tests/coap.cmake) */
    const char *want = getenv("RESTOCK_COAP_CASE");
    size_t i, found = 0;
    for(i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
      found += !strcmp(tests[i].name, want);
    if(!found) {
      fprintf(stderr, "no test case named %s\n", want);
      return 1;
    }
    cmocka_set_test_filter(want);
  }
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/restock-coap-XXXXXX");
  if(!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  {
    char p[128];
    snprintf(p, sizeof(p), "%s/body", tmpdir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/psk", tmpdir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/bad", tmpdir);
    unlink(p);
    rmdir(tmpdir);
  }
  return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restockd's own HTTP/1.1 server: the request parser's edge cases
 * (base/httpd_parse.c) and the server on an event loop (base/httpd_srv.c)
 * against raw client sockets on 127.0.0.1: pipelined requests, requests
 * that arrive a byte at a time, chunked bodies, oversize heads (431), bad
 * request lines (400), HEAD, keep-alive, a large answer to a client that
 * does not read (the loop goes on meanwhile) and a streamed answer. One
 * thread drives server and clients.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/evloop.h"
#include "base/httpd.h"
#include "base/httpd_parse.h"
#include "base/httpd_srv.h"

/* ---- the parser ------------------------------------------------------------- */

/* Parse text (copied: the parser writes into its buffer) into *r; the verdict. */
static int parse(const char *text, struct httpd_req *r, char *buf, size_t size)
{
  const char *why = NULL;
  size_t n = strlen(text);
  int rc;
  assert_true(n < size);
  memcpy(buf, text, n + 1);
  rc = httpd_parse_head(buf, n, r, &why);
  if(rc > 1)
    assert_non_null(why);
  return rc;
}

static void test_parse_request(void **state)
{
  static struct httpd_req r;
  static const char text[] = "GET /a%20b/c?sort=level&dir=d+e&x=%41%zz&&flag HTTP/1.1\r\n"
                             "Host: 127.0.0.1:8080\r\nCookie: a=1; restock_session=\"ab\" ;z=\r\n"
                             "X-Empty:\r\nUser-Agent:  curl/8  \r\n\r\n";
  char buf[1024];
  (void)state;
  assert_int_equal(parse(text, &r, buf, sizeof(buf)), 1);
  assert_int_equal(r.head_len, sizeof(text) - 1);
  assert_string_equal(r.method, "GET");
  assert_string_equal(r.path, "/a b/c");
  assert_int_equal(r.minor, 1);
  assert_true(r.keep_alive);
  assert_int_equal(r.content_length, -1);
  assert_false(r.chunked);
  assert_string_equal(httpd_req_header(&r, "host"), "127.0.0.1:8080");
  assert_string_equal(httpd_req_header(&r, "USER-AGENT"), "curl/8");
  assert_string_equal(httpd_req_header(&r, "X-Empty"), "");
  assert_null(httpd_req_header(&r, "Origin"));
  assert_string_equal(httpd_req_arg(&r, "sort"), "level");
  assert_string_equal(httpd_req_arg(&r, "dir"), "d e");
  assert_string_equal(httpd_req_arg(&r, "x"), "A%zz"); /* a bad escape stays as written */
  assert_string_equal(httpd_req_arg(&r, "flag"), "");
  assert_null(httpd_req_arg(&r, "Sort"));
  assert_string_equal(httpd_req_cookie(&r, "a"), "1");
  assert_string_equal(httpd_req_cookie(&r, "restock_session"), "ab");
  assert_string_equal(httpd_req_cookie(&r, "z"), "");
  assert_null(httpd_req_cookie(&r, "b"));

  /* HTTP/1.0: closes unless asked; bare LF line ends; empty lines before the request */
  assert_int_equal(parse("\r\n\nPOST /x HTTP/1.0\nContent-Length: 12\n\n", &r, buf, sizeof(buf)), 1);
  assert_false(r.keep_alive);
  assert_int_equal(r.content_length, 12);
  assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r, buf, sizeof(buf)),
                   1);
  assert_true(r.keep_alive);
  assert_int_equal(
      parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n", &r, buf, sizeof(buf)), 1);
  assert_false(r.keep_alive);
  /* absolute-form */
  assert_int_equal(parse("GET http://h:1/p?q=1 HTTP/1.1\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)),
                   1);
  assert_string_equal(r.path, "/p");
  assert_string_equal(r.authority, "h:1");
  assert_string_equal(httpd_req_arg(&r, "q"), "1");
  assert_int_equal(parse("GET HTTPS://Evil.example/ HTTP/1.1\r\nHost: h\r\n\r\n", &r, buf,
                         sizeof(buf)),
                   1);
  assert_string_equal(r.authority, "Evil.example");
  assert_string_equal(r.path, "/");
  assert_int_equal(parse("GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(parse("GET /p HTTP/1.1\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)), 1);
  assert_null(r.authority);
}

/* A head is taken only when its blank line is there; the next request's bytes are left alone. */
static void test_parse_split_and_pipelined(void **state)
{
  static struct httpd_req r;
  static const char two[] = "GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n";
  char buf[256];
  size_t first = strlen("GET /one HTTP/1.1\r\nHost: h\r\n\r\n"), i;
  const char *why;
  (void)state;
  for(i = 0; i < first; i++) {
    memcpy(buf, two, i);
    assert_int_equal(httpd_parse_head(buf, i, &r, &why), 0);
  }
  memcpy(buf, two, sizeof(two));
  assert_int_equal(httpd_parse_head(buf, sizeof(two) - 1, &r, &why), 1);
  assert_int_equal(r.head_len, first);
  assert_string_equal(r.path, "/one");
  assert_memory_equal(buf + first, "GET /two", 8);
  assert_int_equal(httpd_parse_head(buf + first, sizeof(two) - 1 - first, &r, &why), 1);
  assert_string_equal(r.path, "/two");
}

static void test_parse_refusals(void **state)
{
  static struct httpd_req r;
  static char big[HTTPD_HEAD_MAX + 200];
  char buf[HTTPD_HEAD_MAX + 256];
  const char *why = NULL;
  size_t i;
  (void)state;
  /* bad request lines */
  assert_int_equal(parse("GET\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(parse("GET / HTTP/1.1 x\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(parse("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(parse("GET / http/1.1\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(parse("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(parse("GET foo HTTP/1.1\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(parse("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(parse("GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n", &r, buf, sizeof(buf)), 505);
  /* fields */
  assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &r, buf, sizeof(buf)), 400); /* no Host */
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost : h\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", &r, buf, sizeof(buf)),
                   400);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX: a\001b\r\n\r\n", &r, buf, sizeof(buf)),
                   400);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", &r, buf, sizeof(buf)), 400);
  /* framing a proxy could read another way */
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", &r, buf, sizeof(buf)), 400);
  assert_int_equal(
      parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\n", &r, buf,
            sizeof(buf)),
      400);
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n",
                         &r, buf, sizeof(buf)),
                   400);
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", &r, buf,
                         sizeof(buf)),
                   400);
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", &r, buf,
                         sizeof(buf)),
                   400);
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                         &r, buf, sizeof(buf)),
                   501);
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", &r,
                         buf, sizeof(buf)),
                   1);
  assert_true(r.chunked);
  /* HTTP/1.0 has no Transfer-Encoding (RFC 9112 6.1) */
  assert_int_equal(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", &r, buf,
                         sizeof(buf)),
                   400);
  /* a NUL byte anywhere in the head */
  memcpy(buf, "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 30);
  assert_int_equal(httpd_parse_head(buf, 30, &r, &why), 400);
  /* oversize: no end within HTTPD_HEAD_MAX, or too many fields */
  memset(big, 'a', sizeof(big));
  memcpy(big, "GET / HTTP/1.1\r\nHost: a\r\nX-Long: ", 33);
  assert_int_equal(httpd_parse_head(big, HTTPD_HEAD_MAX - 1, &r, &why), 0);
  assert_int_equal(httpd_parse_head(big, HTTPD_HEAD_MAX, &r, &why), 431);
  memcpy(big + HTTPD_HEAD_MAX + 100, "\r\n\r\n", 4);
  assert_int_equal(httpd_parse_head(big, HTTPD_HEAD_MAX + 104, &r, &why), 431);
  /* a request line that does not end within HTTPD_HEAD_MAX: 414 */
  memset(big, 'a', sizeof(big));
  memcpy(big, "GET /", 5);
  assert_int_equal(httpd_parse_head(big, HTTPD_HEAD_MAX - 1, &r, &why), 0);
  assert_int_equal(httpd_parse_head(big, HTTPD_HEAD_MAX, &r, &why), 414);
  assert_non_null(why);
  {
    struct rs_buf b = {0};
    rs_buf_puts(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for(i = 0; i < HTTPD_MAX_FIELDS; i++)
      rs_buf_printf(&b, "X-%zu: v\r\n", i);
    rs_buf_puts(&b, "\r\n");
    assert_false(b.oom);
    assert_int_equal(httpd_parse_head(b.data, b.len, &r, &why), 431);
    rs_buf_free(&b);
  }
}

static void test_basic_auth(void **state)
{
  static struct httpd_req r;
  char buf[512], user[64], pass[64];
  (void)state;
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
                         "Authorization: Basic YWRtaW46Y29ycmVjdCBob3JzZQ==\r\n\r\n",
                         &r, buf, sizeof(buf)),
                   1);
  assert_int_equal(httpd_req_basic_auth(&r, user, sizeof(user), pass, sizeof(pass)), 0);
  assert_string_equal(user, "admin");
  assert_string_equal(pass, "correct horse");
  assert_int_equal(httpd_req_basic_auth(&r, user, 5, pass, sizeof(pass)), -1); /* no room */
  /* base64 without a colon, not base64, another scheme, none */
  assert_int_equal(
      parse("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic YWRtaW4=\r\n\r\n", &r, buf, sizeof(buf)),
      1);
  assert_int_equal(httpd_req_basic_auth(&r, user, sizeof(user), pass, sizeof(pass)), -1);
  assert_int_equal(
      parse("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic !!!\r\n\r\n", &r, buf, sizeof(buf)), 1);
  assert_int_equal(httpd_req_basic_auth(&r, user, sizeof(user), pass, sizeof(pass)), -1);
  assert_int_equal(
      parse("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer YTpi\r\n\r\n", &r, buf, sizeof(buf)), 1);
  assert_int_equal(httpd_req_basic_auth(&r, user, sizeof(user), pass, sizeof(pass)), -1);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &r, buf, sizeof(buf)), 1);
  assert_int_equal(httpd_req_basic_auth(&r, user, sizeof(user), pass, sizeof(pass)), -1);
}

static void test_chunked(void **state)
{
  static const char body[] = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
                             "Trailer: x\r\n\r\nNEXT";
  struct httpd_chunked c;
  struct rs_buf out = {0};
  size_t used = 0, i, n = sizeof(body) - 1;
  (void)state;
  /* in one piece: the rest after the trailer is left for the next request */
  memset(&c, 0, sizeof(c));
  assert_int_equal(httpd_chunked_feed(&c, body, n, &out, 1000, &used), HTTPD_CHUNKED_DONE);
  assert_int_equal(out.len, 23);
  assert_memory_equal(out.data, "Wikipedia in\r\n\r\nchunks.", 23);
  assert_int_equal(used, n - 4);
  rs_buf_free(&out);
  /* a byte at a time */
  memset(&c, 0, sizeof(c));
  for(i = 0; i < n; i++) {
    enum httpd_chunked_rc rc = httpd_chunked_feed(&c, body + i, 1, &out, 1000, &used);
    if(rc == HTTPD_CHUNKED_DONE)
      break;
    assert_int_equal(rc, HTTPD_CHUNKED_MORE);
  }
  assert_int_equal(i, n - 5);
  assert_int_equal(out.len, 23);
  rs_buf_free(&out);
  /* over the limit, by a chunk's size or by its data */
  memset(&c, 0, sizeof(c));
  assert_int_equal(httpd_chunked_feed(&c, "ffff\r\n", 6, &out, 1000, &used),
                   HTTPD_CHUNKED_TOO_LARGE);
  memset(&c, 0, sizeof(c));
  assert_int_equal(httpd_chunked_feed(&c, body, n, &out, 10, &used), HTTPD_CHUNKED_TOO_LARGE);
  rs_buf_free(&out);
  /* malformed: no size, data not followed by CRLF, a bad size */
  memset(&c, 0, sizeof(c));
  assert_int_equal(httpd_chunked_feed(&c, "\r\n", 2, &out, 1000, &used), HTTPD_CHUNKED_BAD);
  memset(&c, 0, sizeof(c));
  assert_int_equal(httpd_chunked_feed(&c, "1\r\nab\r\n", 7, &out, 1000, &used), HTTPD_CHUNKED_BAD);
  memset(&c, 0, sizeof(c));
  assert_int_equal(httpd_chunked_feed(&c, "x\r\n", 3, &out, 1000, &used), HTTPD_CHUNKED_BAD);
  /* a bare CR ends no line: not in an extension, not in a trailer */
  memset(&c, 0, sizeof(c));
  assert_int_equal(httpd_chunked_feed(&c, "3;a\rX\r\nabc\r\n0\r\n\r\n", 19, &out, 1000, &used),
                   HTTPD_CHUNKED_BAD);
  memset(&c, 0, sizeof(c));
  assert_int_equal(httpd_chunked_feed(&c, "0\r\nT: a\rb\r\n\r\n", 14, &out, 1000, &used),
                   HTTPD_CHUNKED_BAD);
  rs_buf_free(&out);
}

/* Framing without end (a size line of zeros, trailer lines) is too large, whatever the data. */
static void test_chunked_endless_framing(void **state)
{
  static char zeros[4096], trailer[4096];
  struct httpd_chunked c;
  struct rs_buf out = {0};
  size_t used = 0, i;
  enum httpd_chunked_rc rc = HTTPD_CHUNKED_MORE;
  (void)state;
  memset(zeros, '0', sizeof(zeros));
  for(i = 0; i + 6 <= sizeof(trailer); i += 6)
    memcpy(trailer + i, "T: x\r\n", 6);
  memset(&c, 0, sizeof(c));
  for(i = 0; i < 1000 && rc == HTTPD_CHUNKED_MORE; i++)
    rc = httpd_chunked_feed(&c, zeros, sizeof(zeros), &out, 1000, &used);
  assert_int_equal(rc, HTTPD_CHUNKED_TOO_LARGE);
  assert_true(i * sizeof(zeros) <= HTTPD_CHUNK_FRAMING_MAX + sizeof(zeros));
  memset(&c, 0, sizeof(c));
  rc = httpd_chunked_feed(&c, "0\r\n", 3, &out, 1000, &used);
  for(i = 0; i < 1000 && rc == HTTPD_CHUNKED_MORE; i++)
    rc = httpd_chunked_feed(&c, trailer, sizeof(trailer) / 6 * 6, &out, 1000, &used);
  assert_int_equal(rc, HTTPD_CHUNKED_TOO_LARGE);
  assert_int_equal(out.len, 0);
  rs_buf_free(&out);
}

/* ---- the server ---------------------------------------------------------------- */

#define BIG_LEN (8u << 20)

static struct {
  struct evloop *loop;
  struct httpd_srv *srv;
  uint16_t port;
  char *big;
  unsigned handled;
  unsigned filled; /* pieces wide_fill() made */
  bool big_released;
} S;

struct stream_state {
  unsigned next, last;
};

static int stream_fill(void *ud, struct rs_buf *out)
{
  struct stream_state *st = ud;
  rs_buf_printf(out, "piece %u\n", st->next);
  return ++st->next < st->last;
}

/* 128 pieces of 16 KiB (2 MiB: less than loopback takes unread at once). */
static int wide_fill(void *ud, struct rs_buf *out)
{
  struct stream_state *st = ud;
  char piece[16384];
  memset(piece, 'a' + (int)(st->next % 26), sizeof(piece));
  rs_buf_append(out, piece, sizeof(piece));
  S.filled++;
  return ++st->next < st->last;
}

static void big_release(void *ud)
{
  (void)ud;
  S.big_released = true;
}

static void handler(void *ud, struct httpd_req *req)
{
  static const struct httpd_hdr base[] = {{"X-Test", "1"}, {NULL, NULL}};
  char text[512];
  (void)ud;
  S.handled++;
  if(!strcmp(req->path, "/echo")) {
    if(req->too_large) {
      (void)httpd_respond(req, 413, "text/plain", "too large\n", 10, base, NULL);
      return;
    }
    (void)httpd_respond(req, 200, "application/octet-stream", req->body, req->body_len, base,
                        NULL);
    return;
  }
  if(!strcmp(req->path, "/big")) {
    (void)httpd_respond_ref(req, 200, "application/octet-stream", S.big, BIG_LEN, big_release,
                            NULL, base, NULL);
    return;
  }
  if(!strcmp(req->path, "/stream")) {
    struct stream_state *st = malloc(sizeof(*st));
    assert_non_null(st);
    st->next = 0;
    st->last = 2000;
    (void)httpd_respond_stream(req, 200, "text/plain", stream_fill, free, st, base, NULL);
    return;
  }
  if(!strcmp(req->path, "/wide")) {
    struct stream_state *st = malloc(sizeof(*st));
    assert_non_null(st);
    st->next = 0;
    st->last = 128;
    (void)httpd_respond_stream(req, 200, "text/plain", wide_fill, free, st, base, NULL);
    return;
  }
  if(!strcmp(req->path, "/silent"))
    return; /* no answer: the server answers 500 */
  (void)snprintf(text, sizeof(text), "%s %s q=%s\n", req->method, req->path,
                 httpd_req_arg(req, "q") ? httpd_req_arg(req, "q") : "-");
  (void)httpd_respond(req, 200, "text/plain", text, strlen(text), base, NULL);
}

/*
 * The server with a connection limit (0: the default, 64) and deadlines no
 * test reaches, but the nearly full server's head deadline when busy_ms is
 * not 0.
 */
static int setup_with(unsigned conn_limit, unsigned busy_ms)
{
  struct httpd_srv_opts o;
  char err[256];
  int lfd;
  memset(&S, 0, sizeof(S));
  S.big = malloc(BIG_LEN);
  assert_non_null(S.big);
  for(size_t i = 0; i < BIG_LEN; i++)
    S.big[i] = (char)('a' + (i * 7 + i / 4096) % 26);
  S.loop = evloop_new();
  assert_non_null(S.loop);
  lfd = httpd_listen("127.0.0.1", 0, err, sizeof(err));
  assert_true(lfd >= 0);
  S.port = httpd_bound_port(lfd);
  memset(&o, 0, sizeof(o));
  o.handler = handler;
  o.body_max = 1000;
  o.header_ms = 600000;
  o.busy_header_ms = busy_ms ? busy_ms : 600000;
  o.idle_ms = 600000;
  o.conn_limit = conn_limit;
  S.srv = httpd_srv_new(S.loop, lfd, &o);
  assert_non_null(S.srv);
  return 0;
}

static int setup(void **state)
{
  (void)state;
  return setup_with(0, 0);
}

static int setup_limit2(void **state)
{
  (void)state;
  return setup_with(2, 0);
}

static int teardown(void **state)
{
  (void)state;
  httpd_srv_free(S.srv);
  evloop_free(S.loop);
  free(S.big);
  return 0;
}

/*
 * A client connection from loopback address 127.0.0.n (n 1: the usual one)
 * with a receive buffer of rcvbuf bytes (0: the system's, growing).
 */
static int connect_from_rcv(unsigned n, int rcvbuf)
{
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  if(rcvbuf)
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
  if(n != 1) {
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1 + n);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  }
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons(S.port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  return fd;
}

static int connect_from(unsigned n)
{
  return connect_from_rcv(n, 0);
}

static int connect_srv(void)
{
  return connect_from(1);
}

static void send_str(int fd, const char *s, size_t n)
{
  assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void send_s(int fd, const char *s)
{
  send_str(fd, s, strlen(s));
}

/* Turn the server's loop for about ms. */
static void turn(int64_t ms)
{
  int64_t end = clock_real_mono_ms() + ms;
  do
    (void)evloop_turn(S.loop, 5);
  while(clock_real_mono_ms() < end);
}

/*
 * Read from fd while turning the loop until want(buffer) says the answer is
 * complete, or the server closed, or a hang guard of 10 s passed (a failure
 * that says it hung). Returns whether the server closed the connection.
 */
static bool read_until(int fd, struct rs_buf *b, bool (*want)(const struct rs_buf *))
{
  int64_t guard = clock_real_mono_ms() + 10000;
  char chunk[65536];
  while(!want(b)) {
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t n;
    if(clock_real_mono_ms() > guard)
      fail_msg("hung: no complete answer within 10 s (have %zu bytes)", b->len);
    (void)evloop_turn(S.loop, 1);
    if(poll(&p, 1, 1) <= 0)
      continue;
    n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if(n == 0)
      return true;
    if(n < 0) {
      if(errno == EAGAIN || errno == EINTR)
        continue;
      return true;
    }
    rs_buf_append(b, chunk, (size_t)n);
    assert_false(b->oom);
  }
  return false;
}

/* How many complete answers with a Content-Length b holds from its start (0 when not all of them). */
static size_t answers(const struct rs_buf *b)
{
  size_t off = 0, k = 0;
  while(off < b->len) {
    const char *h = strstr(b->data + off, "\r\n\r\n"), *cl;
    size_t n;
    if(!h)
      break;
    cl = strstr(b->data + off, "Content-Length: ");
    if(!cl || cl > h)
      break;
    n = (size_t)strtoul(cl + 16, NULL, 10);
    if((size_t)(h + 4 - b->data) + n > b->len)
      break;
    off = (size_t)(h + 4 - b->data) + n;
    k++;
  }
  return off == b->len ? k : 0;
}

static bool one_answer(const struct rs_buf *b)
{
  return answers(b) >= 1;
}

static bool two_answers(const struct rs_buf *b)
{
  return answers(b) >= 2;
}

static bool never(const struct rs_buf *b)
{
  (void)b;
  return false;
}

static bool chunked_end(const struct rs_buf *b)
{
  return b->len >= 5 && !memcmp(b->data + b->len - 5, "0\r\n\r\n", 5);
}

static bool head_done_check(const struct rs_buf *b)
{
  return b->len && strstr(b->data, "\r\n\r\n") != NULL;
}

static void test_pipelined_and_keep_alive(void **state)
{
  struct rs_buf b = {0};
  int fd = connect_srv();
  const char *second;
  (void)state;
  send_s(fd, "GET /a?q=1 HTTP/1.1\r\nHost: h\r\n\r\nGET /b?q=2 HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_false(read_until(fd, &b, two_answers));
  assert_true(!strncmp(b.data, "HTTP/1.1 200 OK\r\n", 17));
  assert_non_null(strstr(b.data, "X-Test: 1\r\n"));
  second = strstr(b.data + 1, "HTTP/1.1 200");
  assert_non_null(second);
  assert_non_null(strstr(b.data, "GET /a q=1\n"));
  assert_true(strstr(b.data, "GET /a q=1\n") < second);
  assert_non_null(strstr(second, "GET /b q=2\n"));
  /* the connection stays open for another request */
  b.len = 0;
  send_s(fd, "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_false(read_until(fd, &b, head_done_check));
  assert_true(!strncmp(b.data, "HTTP/1.1 200 OK\r\n", 17));
  assert_non_null(strstr(b.data, "Content-Length: 12\r\n")); /* "HEAD /c q=-\n", not sent */
  assert_int_equal(strlen(strstr(b.data, "\r\n\r\n")), 4);
  (void)close(fd);
  rs_buf_free(&b);
}

static void test_head_and_close(void **state)
{
  struct rs_buf b = {0};
  int fd = connect_srv();
  (void)state;
  send_s(fd, "HEAD /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  assert_true(read_until(fd, &b, never)); /* closed after the answer */
  assert_true(head_done_check(&b));
  assert_non_null(strstr(b.data, "Content-Length: 12\r\n")); /* "HEAD /x q=-\n", not sent */
  assert_non_null(strstr(b.data, "Connection: close\r\n"));
  assert_int_equal(strlen(strstr(b.data, "\r\n\r\n")), 4); /* no body */
  (void)close(fd);
  /* an HTTP/1.0 client that asks to keep the connection is told it is kept, and it is */
  b.len = 0;
  fd = connect_srv();
  send_s(fd, "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  assert_false(read_until(fd, &b, one_answer));
  assert_non_null(strstr(b.data, "Connection: keep-alive\r\n"));
  b.len = 0;
  send_s(fd, "GET /k2 HTTP/1.0\r\n\r\n");
  assert_true(read_until(fd, &b, never));
  assert_non_null(strstr(b.data, "GET /k2 q=-\n"));
  assert_non_null(strstr(b.data, "Connection: close\r\n"));
  (void)close(fd);
  rs_buf_free(&b);
}

static void test_split_reads(void **state)
{
  static const char req[] = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world";
  struct rs_buf b = {0};
  int fd = connect_srv();
  size_t i;
  (void)state;
  for(i = 0; i < sizeof(req) - 1; i++) {
    send_str(fd, req + i, 1);
    turn(2);
  }
  assert_false(read_until(fd, &b, one_answer));
  assert_non_null(strstr(b.data, "\r\n\r\nhello world"));
  (void)close(fd);
  rs_buf_free(&b);
}

static void test_chunked_body(void **state)
{
  struct rs_buf b = {0};
  int fd = connect_srv();
  static const char big_chunk[] = "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "3e9\r\n";
  (void)state;
  send_s(fd,
           "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"
           "GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_false(read_until(fd, &b, two_answers));
  assert_non_null(strstr(b.data, "Content-Length: 11\r\n\r\nhello world"));
  assert_non_null(strstr(b.data, "GET /after q=-\n"));
  (void)close(fd);
  /* over the limit (1,000 bytes): 413 from the handler, then the connection closes */
  b.len = 0;
  fd = connect_srv();
  send_str(fd, big_chunk, sizeof(big_chunk) - 1);
  assert_true(read_until(fd, &b, never));
  assert_true(!strncmp(b.data, "HTTP/1.1 413 ", 13));
  (void)close(fd);
  /* a declared length over the limit is refused before its body is sent */
  b.len = 0;
  fd = connect_srv();
  send_s(fd, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n");
  assert_true(read_until(fd, &b, never));
  assert_true(!strncmp(b.data, "HTTP/1.1 413 ", 13));
  (void)close(fd);
  /* a size line of endless zeros (framing past HTTPD_CHUNK_FRAMING_MAX): 413, closed */
  b.len = 0;
  fd = connect_srv();
  {
    static char zeros[HTTPD_CHUNK_FRAMING_MAX + 4096];
    memset(zeros, '0', sizeof(zeros));
    send_s(fd, "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    send_str(fd, zeros, sizeof(zeros));
  }
  assert_true(read_until(fd, &b, never));
  assert_true(!strncmp(b.data, "HTTP/1.1 413 ", 13));
  (void)close(fd);
  /* a malformed chunk: 400 */
  b.len = 0;
  fd = connect_srv();
  send_s(fd, "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  assert_true(read_until(fd, &b, never));
  assert_true(!strncmp(b.data, "HTTP/1.1 400 ", 13));
  (void)close(fd);
  rs_buf_free(&b);
}

/* What the server answers to raw[0..n) (n 0: strlen) on a fresh connection before it closes. */
static void refused(const char *raw, size_t n, const char *status_line)
{
  struct rs_buf b = {0};
  int fd = connect_srv();
  send_str(fd, raw, n ? n : strlen(raw));
  assert_true(read_until(fd, &b, never));
  if(strncmp(b.data ? b.data : "", status_line, strlen(status_line)))
    fail_msg("expected %s, got: %.80s", status_line, b.data ? b.data : "(nothing)");
  assert_non_null(strstr(b.data, "Connection: close\r\n"));
  (void)close(fd);
  rs_buf_free(&b);
}

static bool all_answers(const struct rs_buf *b)
{
  return answers(b) >= 200;
}

/*
 * 200 pipelined requests on one connection whose answers the client takes
 * at once: the turn that serves the first does not serve them all (the
 * loop, and the polling on it, go on between), and all are answered.
 */
static void test_pipelined_flood_shares_the_loop(void **state)
{
  static const char one[] = "GET /p HTTP/1.1\r\nHost: h\r\n\r\n";
  char reqs[200 * (sizeof(one) - 1)];
  struct rs_buf b = {0};
  int fd = connect_srv(), guard = 0;
  size_t i;
  (void)state;
  for(i = 0; i < 200; i++)
    memcpy(reqs + i * (sizeof(one) - 1), one, sizeof(one) - 1);
  send_str(fd, reqs, sizeof(reqs));
  while(!S.handled && guard++ < 10000)
    (void)evloop_turn(S.loop, 1);
  assert_true(S.handled > 0);
  assert_true(S.handled < 200);
  assert_false(read_until(fd, &b, all_answers));
  assert_int_equal(S.handled, 200);
  (void)close(fd);
  rs_buf_free(&b);
}

/*
 * A 2 MiB streamed answer to a client that reads at once: the turn that
 * starts it does not write it all (the loop goes on between), and all of it
 * arrives.
 */
static void test_wide_stream_shares_the_loop(void **state)
{
  struct rs_buf b = {0};
  int fd = connect_srv(), guard = 0;
  (void)state;
  send_s(fd, "GET /wide HTTP/1.1\r\nHost: h\r\n\r\n");
  while(!S.filled && guard++ < 10000)
    (void)evloop_turn(S.loop, 1);
  assert_true(S.filled > 0);
  assert_true(S.filled < 128);
  assert_false(read_until(fd, &b, chunked_end));
  assert_int_equal(S.filled, 128);
  assert_true(b.len > 128u * 16384u);
  (void)close(fd);
  rs_buf_free(&b);
}

static void test_bad_requests(void **state)
{
  static char big[HTTPD_HEAD_MAX + 64];
  unsigned before = S.handled;
  (void)state;
  refused("GET\r\n\r\n", 0, "HTTP/1.1 400 ");
  refused("GET / HTTP/1.1 junk\r\nHost: h\r\n\r\n", 0, "HTTP/1.1 400 ");
  refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, "HTTP/1.1 400 ");
  refused("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 0, "HTTP/1.1 505 ");
  refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 0, "HTTP/1.1 501 ");
  memset(big, 'a', sizeof(big));
  memcpy(big, "GET / HTTP/1.1\r\nHost: h\r\nX-Long: ", 33);
  refused(big, sizeof(big), "HTTP/1.1 431 ");
  assert_int_equal(S.handled, before); /* none reached the handler */
  /* a handler that does not answer: 500 */
  {
    struct rs_buf b = {0};
    int fd = connect_srv();
    send_s(fd, "GET /silent HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_false(read_until(fd, &b, one_answer));
    assert_true(!strncmp(b.data, "HTTP/1.1 500 ", 13));
    (void)close(fd);
    rs_buf_free(&b);
  }
}

/* A timer that counts its firings, re-armed every 5 ms. */
static unsigned ticks;
static struct evloop_timer *tick_timer;
static void on_tick(void *ud)
{
  (void)ud;
  ticks++;
  evloop_timer_arm(tick_timer, clock_real_mono_ms() + 5);
}

/* Whether b holds the whole answer to GET /big (its head is in the first KiB). */
static bool big_done(const struct rs_buf *b)
{
  const char *h = b->len ? memmem(b->data, b->len < 1024 ? b->len : 1024, "\r\n\r\n", 4) : NULL;
  return h && b->len >= (size_t)(h + 4 - b->data) + BIG_LEN;
}

static void test_big_answer_does_not_block(void **state)
{
  struct rs_buf b = {0}, other = {0};
  int fd, fd2, rcv = 4096;
  size_t off;
  struct sockaddr_in a;
  (void)state;
  /* a client with a small receive window that does not read */
  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons(S.port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  S.big_released = false;
  send_s(fd, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
  /* the client does not read: the loop keeps turning and serves another client */
  tick_timer = evloop_timer_new(S.loop, on_tick, NULL);
  assert_non_null(tick_timer);
  ticks = 0;
  evloop_timer_arm(tick_timer, clock_real_mono_ms() + 5);
  turn(200);
  assert_true(ticks > 5);
  fd2 = connect_srv();
  send_s(fd2, "GET /other HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_false(read_until(fd2, &other, one_answer));
  assert_non_null(strstr(other.data, "GET /other q=-\n"));
  assert_false(S.big_released);
  /* the client goes away mid-answer: the body is let go */
  (void)close(fd);
  turn(50);
  assert_true(S.big_released);
  /* a client that reads gets it all, intact */
  S.big_released = false;
  fd = connect_srv();
  send_s(fd, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_false(read_until(fd, &b, big_done));
  assert_non_null(strstr(b.data, "Content-Length: 8388608\r\n"));
  off = (size_t)(strstr(b.data, "\r\n\r\n") + 4 - b.data);
  assert_int_equal(b.len - off, BIG_LEN);
  assert_memory_equal(b.data + off, S.big, BIG_LEN);
  turn(10);
  assert_true(S.big_released);
  evloop_timer_free(tick_timer);
  (void)close(fd);
  (void)close(fd2);
  rs_buf_free(&b);
  rs_buf_free(&other);
}

/* One GET on fd, its answer read (the connection stays open: keep-alive). */
static void get_one(int fd, const char *path)
{
  struct rs_buf b = {0};
  char req[128];
  (void)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path);
  send_s(fd, req);
  assert_false(read_until(fd, &b, one_answer));
  assert_true(!strncmp(b.data, "HTTP/1.1 200 OK\r\n", 17));
  rs_buf_free(&b);
}

/* Whether the server has closed fd (EOF waiting); reads nothing else. */
static bool closed_now(int fd)
{
  char c;
  return recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
}

/*
 * 64 idle keep-alive connections (4 addresses x 16, the per-client limit)
 * fill the connection limit: a new client is admitted at once, in the place
 * of the connection that has waited longest for its next request; one that
 * is in the middle of a request is never the one closed.
 */
static void test_full_of_idle_admits_new(void **state)
{
  int fds[64], fd, i;
  struct rs_buf b = {0};
  (void)state;
  for(i = 0; i < 64; i++) {
    fds[i] = connect_from(1 + (unsigned)i / 16);
    get_one(fds[i], "/first");
  }
  /* the oldest idle one is in the middle of its next request now */
  send_s(fds[0], "GET /late HTTP/1.1\r\nHo");
  turn(20);
  fd = connect_from(5);
  get_one(fd, "/newcomer"); /* hangs (the guard fails) when it waits in the backlog */
  /* the next oldest, idle, made room; the one mid-request finishes its request */
  assert_true(closed_now(fds[1]));
  assert_false(closed_now(fds[0]));
  assert_false(closed_now(fds[2]));
  send_s(fds[0], "st: h\r\n\r\n");
  assert_false(read_until(fds[0], &b, one_answer));
  assert_non_null(strstr(b.data, "GET /late q=-\n"));
  /* the others are still there and answer */
  get_one(fds[2], "/again");
  get_one(fds[63], "/again");
  for(i = 0; i < 64; i++)
    (void)close(fds[i]);
  (void)close(fd);
  rs_buf_free(&b);
}

/*
 * The limit (2 here) reached by connections that are each in the middle of
 * a request: none is closed for a newcomer, which waits; when one of them
 * has its answer and is idle, the newcomer takes its place.
 */
static void test_full_of_busy_waits(void **state)
{
  int a = connect_srv(), b = connect_srv(), c;
  struct rs_buf got = {0};
  struct pollfd p;
  (void)state;
  get_one(a, "/a1");
  get_one(b, "/b1");
  send_s(a, "GET /a2 HTTP/1.1\r\nHo");
  send_s(b, "GET /b2 HTTP/1.1\r\nHo");
  c = connect_srv();
  send_s(c, "GET /c1 HTTP/1.1\r\nHost: h\r\n\r\n");
  turn(200);
  assert_false(closed_now(a));
  assert_false(closed_now(b));
  p.fd = c;
  p.events = POLLIN;
  p.revents = 0;
  assert_int_equal(poll(&p, 1, 0), 0); /* not answered, not closed: in the backlog */
  /* a gets its answer and waits idle: c is admitted in its place */
  send_s(a, "st: h\r\n\r\n");
  assert_false(read_until(a, &got, one_answer));
  assert_non_null(strstr(got.data, "GET /a2 q=-\n"));
  got.len = 0;
  assert_false(read_until(c, &got, one_answer)); /* hangs (the guard fails) when c waits on */
  assert_non_null(strstr(got.data, "GET /c1 q=-\n"));
  assert_true(closed_now(a));
  /* b, mid-request all along, is served */
  send_s(b, "st: h\r\n\r\n");
  got.len = 0;
  assert_false(read_until(b, &got, one_answer));
  assert_non_null(strstr(got.data, "GET /b2 q=-\n"));
  (void)close(a);
  (void)close(b);
  (void)close(c);
  rs_buf_free(&got);
}

/* The short head deadline of test_full_of_silent_admits_new (setup_busy). */
#define BUSY_MS 300

/* The server with the default limit, a short head deadline when nearly full. */
static int setup_busy(void **state)
{
  (void)state;
  return setup_with(0, BUSY_MS);
}

/*
 * A newcomer from 127.0.0.7 asks for /newcomer and gets its answer; the
 * read's hang guard fails when it waits in the backlog on a full server.
 */
static void newcomer_answered(void)
{
  struct rs_buf b = {0};
  int fd = connect_from(7);
  send_s(fd, "GET /newcomer HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_false(read_until(fd, &b, one_answer));
  assert_non_null(strstr(b.data, "GET /newcomer q=-\n"));
  (void)close(fd);
  rs_buf_free(&b);
}

/*
 * The slots filled by connections that send nothing, or half a request
 * line, from 4 addresses (16 each, the per-client limit) and a fifth: a
 * newcomer waits in the backlog only until the short head deadline of a
 * nearly full server (BUSY_MS here) has closed enough of them (the server
 * is no longer nearly full: fewer than 48 of 64 open), not the usual one
 * (10 min here). A silent connection while the server is far from full is
 * not cut by it; nor are kept-alive clients idle between their requests
 * that make the server nearly full.
 */
static void test_full_of_silent_admits_new(void **state)
{
  int silent[64], kept[48], lone, i, cut = 0;
  (void)state;
  lone = connect_from(6);
  turn(3 * BUSY_MS);
  assert_false(closed_now(lone)); /* 1 of 64 open: the usual deadline */
  (void)close(lone);
  turn(20);
  for(i = 0; i < 64; i++) {
    silent[i] = connect_from(2 + (unsigned)i / 16);
    if(i >= 48)
      send_s(silent[i], "GET / HTTP/1.1\r\nHo");
  }
  turn(20);
  newcomer_answered();
  for(i = 0; i < 64; i++)
    cut += closed_now(silent[i]);
  assert_true(cut >= 64 - 47);
  for(i = 0; i < 64; i++)
    (void)close(silent[i]);
  turn(20);
  /* 48 kept-alive clients, idle: nearly full, and none is cut */
  for(i = 0; i < 48; i++) {
    kept[i] = connect_from(2 + (unsigned)i / 16);
    get_one(kept[i], "/first");
  }
  turn(3 * BUSY_MS);
  for(i = 0; i < 48; i++)
    assert_false(closed_now(kept[i]));
  for(i = 0; i < 48; i++) {
    get_one(kept[i], "/again");
    (void)close(kept[i]);
  }
}

/*
 * The slots filled by clients that asked for a large answer and do not read
 * it (4 addresses, 16 each): a newcomer gets in once the nearly full
 * server's short deadline (BUSY_MS here) has closed enough of those that
 * made no progress, not after the idle timeout (10 min here). A client that
 * does not read while the server is far from full is not cut by it and
 * gets its whole answer when it reads.
 */
static void test_full_of_slow_readers_admits_new(void **state)
{
  int slow[64], lone, fd, i;
  struct rs_buf b = {0};
  (void)state;
  lone = connect_from_rcv(6, 4096);
  send_s(lone, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
  turn(3 * BUSY_MS);
  /* 20 pipelined requests of another client (8 answered per turn, the rest
     from the timer) make the server look at every deadline */
  fd = connect_srv();
  for(i = 0; i < 20; i++)
    rs_buf_puts(&b, "GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
  send_str(fd, b.data, b.len);
  b.len = 0;
  turn(20);
  (void)close(fd);
  assert_false(read_until(lone, &b, big_done)); /* 2 of 64 open: it stays and gets it all */
  b.len = 0;
  for(i = 0; i < 64; i++) {
    slow[i] = connect_from_rcv(2 + (unsigned)i / 16, 4096);
    send_s(slow[i], "GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
  }
  turn(50);
  newcomer_answered();
  for(i = 0; i < 64; i++)
    (void)close(slow[i]);
  (void)close(lone);
  rs_buf_free(&b);
}

/*
 * A nearly full server (48 kept-alive clients idle between requests, none
 * of them cut) and a client on a slow link that asked for /big (8 MiB) and
 * takes it steadily, 4 KiB every 100 ms (40 KiB/s), for ten times the short
 * deadline: it makes progress the whole time, so its answer must not be
 * given up (released: the server closed it; the kernel would still deliver
 * what it had queued, megabytes on loopback, and the answer would end
 * there, cut short).
 */
static void test_nearly_full_slow_link_reader_kept(void **state)
{
  int kept[48], fd, i;
  size_t got = 0;
  bool closed = false;
  int64_t end, next;
  (void)state;
  for(i = 0; i < 48; i++) {
    kept[i] = connect_from(2 + (unsigned)i / 16);
    get_one(kept[i], "/first");
  }
  fd = connect_from_rcv(6, 4096);
  S.big_released = false;
  send_s(fd, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
  end = clock_real_mono_ms() + 10 * BUSY_MS;
  next = clock_real_mono_ms();
  while(!closed && !S.big_released && clock_real_mono_ms() < end) {
    char chunk[4096];
    ssize_t n;
    (void)evloop_turn(S.loop, 1);
    if(clock_real_mono_ms() < next)
      continue;
    next += 100;
    n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if(n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      closed = true;
    else if(n > 0)
      got += (size_t)n;
  }
  printf("slow link reader: %zu bytes, %s\n", got,
         closed || S.big_released ? "given up by the server" : "still served");
  assert_false(closed);
  assert_false(S.big_released);
  (void)close(fd);
  for(i = 0; i < 48; i++)
    (void)close(kept[i]);
}

static void test_stream(void **state)
{
  struct rs_buf b = {0}, body = {0}, want = {0};
  int fd = connect_srv();
  const char *p;
  unsigned i;
  (void)state;
  send_s(fd, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
  assert_false(read_until(fd, &b, chunked_end));
  assert_non_null(strstr(b.data, "Transfer-Encoding: chunked\r\n"));
  assert_null(strstr(b.data, "Content-Length"));
  /* decode the chunks */
  p = strstr(b.data, "\r\n\r\n") + 4;
  for(;;) {
    char *e;
    unsigned long n = strtoul(p, &e, 16);
    assert_true(e[0] == '\r' && e[1] == '\n');
    if(!n)
      break;
    rs_buf_append(&body, e + 2, n);
    p = e + 2 + n;
    assert_true(p[0] == '\r' && p[1] == '\n');
    p += 2;
  }
  for(i = 0; i < 2000; i++)
    rs_buf_printf(&want, "piece %u\n", i);
  assert_int_equal(body.len, want.len);
  assert_memory_equal(body.data, want.data, want.len);
  /* HTTP/1.0: no chunks, the close ends the body */
  (void)close(fd);
  fd = connect_srv();
  b.len = 0;
  send_s(fd, "GET /stream HTTP/1.0\r\n\r\n");
  assert_true(read_until(fd, &b, never));
  assert_non_null(strstr(b.data, "\r\n\r\npiece 0\npiece 1\n"));
  assert_int_equal(strlen(strstr(b.data, "\r\n\r\n") + 4), want.len);
  (void)close(fd);
  rs_buf_free(&b);
  rs_buf_free(&body);
  rs_buf_free(&want);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_request),
      cmocka_unit_test(test_parse_split_and_pipelined),
      cmocka_unit_test(test_parse_refusals),
      cmocka_unit_test(test_basic_auth),
      cmocka_unit_test(test_chunked),
      cmocka_unit_test(test_chunked_endless_framing),
      cmocka_unit_test_setup_teardown(test_pipelined_and_keep_alive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_head_and_close, setup, teardown),
      cmocka_unit_test_setup_teardown(test_split_reads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chunked_body, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pipelined_flood_shares_the_loop, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wide_stream_shares_the_loop, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_big_answer_does_not_block, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(test_full_of_idle_admits_new, setup, teardown),
      cmocka_unit_test_setup_teardown(test_full_of_busy_waits, setup_limit2, teardown),
      cmocka_unit_test_setup_teardown(test_full_of_silent_admits_new, setup_busy, teardown),
      cmocka_unit_test_setup_teardown(test_full_of_slow_readers_admits_new, setup_busy, teardown),
      cmocka_unit_test_setup_teardown(test_nearly_full_slow_link_reader_kept, setup_busy, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

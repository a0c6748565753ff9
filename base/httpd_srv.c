/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd_srv: a small HTTP/1.1 server on base/evloop (see httpd_srv.h).
 *
 * A connection reads its request's head into a fixed buffer (parsed in
 * place: the request's strings point into it), then its body after the
 * head (moved out into a growable buffer as it arrives, so the head stays
 * put), runs the handler, and writes the answer: header block and small
 * bodies from one buffer, a referenced body from its own memory, a stream
 * piece by piece. Bytes after the request (pipelining) wait in the buffer
 * until the answer is sent.
 */
#define _GNU_SOURCE /* accept4 */
#include "base/httpd_srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "base/clock.h"
#include "base/log.h"

/* The input buffer: a head, and room to read body bytes behind it. */
#define IN_CAP (HTTPD_HEAD_MAX + 4096)

enum cstate { CS_HEAD, CS_BODY, CS_WRITE };

struct httpd_conn {
  struct httpd_conn *prev, *next;
  struct httpd_srv *s;
  int fd;
  struct evloop_io *io;
  uint32_t events; /* what io watches now */
  struct sockaddr_storage peer;
  unsigned char key[HTTPD_CLIENT_KEY_LEN];
  enum cstate st;
  char *in; /* IN_CAP bytes */
  size_t in_len;
  struct httpd_req req;
  uint64_t body_left; /* Content-Length body: bytes still to come */
  struct httpd_chunked ck;
  struct rs_buf body;
  /* the answer */
  struct rs_buf out; /* header block (and a copied body), or the current stream piece */
  size_t out_off;
  const char *ref; /* a referenced body */
  size_t ref_len, ref_off;
  void (*release)(void *);
  void *release_ud;
  httpd_fill_fn fill; /* a streamed body, while it goes on */
  bool fill_chunked;
  struct rs_buf piece;
  bool responded, close_after, broken;
  bool waiting;     /* the current request's head or body is not complete */
  bool resume;      /* drive() stopped at its budget: the timer drives it on */
  bool kept;        /* an answer went out and the connection was kept for another request */
  uint64_t idle_seq; /* when it last became ready for a request (the server's count): LRU order */
  int64_t since_ms; /* real mono ms the current request began */
  int64_t last_ms;  /* real mono ms of the last traffic */
  int outq;         /* the kernel's unsent bytes when the answer last filled the socket (-1: none) */
};

struct httpd_srv {
  struct evloop *loop;
  struct httpd_srv_opts o;
  int lfd;
  struct evloop_io *lio;
  bool paused; /* the listening socket is not watched (connection limit, no descriptors) */
  struct evloop_timer *timer;
  int64_t timer_due; /* INT64_MAX: disarmed */
  struct httpd_conn *head;
  unsigned n;
  uint64_t seq; /* counts the connections that became ready for another request */
};

static int64_t now_ms(void)
{
  return clock_real_mono_ms();
}

static void arm(struct httpd_srv *s, int64_t due)
{
  if(due < s->timer_due) {
    s->timer_due = due;
    evloop_timer_arm(s->timer, due);
  }
}

/* Whether s is nearly full: 3/4 of its connection limit or more are open. */
static bool nearly_full(const struct httpd_srv *s)
{
  return (uint64_t)s->n * 4 >= (uint64_t)s->o.conn_limit * 3;
}

/*
 * How long c's current request may take from its start (ms): header_ms, or
 * busy_header_ms while s is nearly full, unless c is a kept-alive
 * connection not one byte into its next request (an idle one: a newcomer
 * at the limit takes its place instead, oldest_idle()). Read as each
 * connection is closed: the timer's pass closes those past the short
 * deadline until s is no longer nearly full.
 */
static unsigned head_limit(const struct httpd_conn *c)
{
  const struct httpd_srv *s = c->s;
  if(s->o.busy_header_ms < s->o.header_ms && nearly_full(s) &&
     !(c->kept && c->st == CS_HEAD && !c->in_len))
    return s->o.busy_header_ms;
  return s->o.header_ms;
}

/*
 * How long c may go without traffic (ms): idle_ms, or busy_header_ms for
 * an answer the client does not take while s is nearly full (a client
 * that asked and does not read holds its slot no longer than one that
 * sends nothing).
 */
static unsigned idle_limit(const struct httpd_conn *c)
{
  const struct httpd_srv *s = c->s;
  if(c->st == CS_WRITE && s->o.busy_header_ms < s->o.idle_ms && nearly_full(s))
    return s->o.busy_header_ms;
  return s->o.idle_ms;
}

/* When c must be closed (real mono ms), and whether it is for its head. */
static int64_t deadline(const struct httpd_conn *c, bool *head)
{
  int64_t idle = c->last_ms + (int64_t)idle_limit(c);
  int64_t hd = c->waiting ? c->since_ms + (int64_t)head_limit(c) : INT64_MAX;
  *head = hd <= idle;
  return *head ? hd : idle;
}

static void set_events(struct httpd_conn *c, uint32_t ev)
{
  if(c->events != ev && !evloop_io_mod(c->s->loop, c->io, ev))
    c->events = ev;
}

static void listen_watch(struct httpd_srv *s, bool on)
{
  if(s->paused == !on)
    return;
  if(!evloop_io_mod(s->loop, s->lio, on ? EPOLLIN : 0))
    s->paused = !on;
}

/*
 * Whether c is an idle keep-alive connection: it has answered a request,
 * was kept, and not one byte of the next request has come (neither read
 * nor waiting in the socket). Only such a connection is ever closed to
 * admit a new one (oldest_idle()): never one in the middle of a request or
 * an answer, never a new one that has not sent its first request yet.
 */
static bool conn_idle(const struct httpd_conn *c)
{
  int pending = 0;
  if(!c->kept || c->st != CS_HEAD || c->in_len || c->resume)
    return false;
  return !ioctl(c->fd, FIONREAD, &pending) && pending == 0;
}

/* The idle keep-alive connection that has waited longest for its next request, or NULL. */
static struct httpd_conn *oldest_idle(struct httpd_srv *s)
{
  struct httpd_conn *c, *old = NULL;
  for(c = s->head; c; c = c->next)
    if(conn_idle(c) && (!old || c->idle_seq < old->idle_seq))
      old = c;
  return old;
}

/* Let go of the current answer's body (referenced or streamed). */
static void answer_release(struct httpd_conn *c)
{
  void (*rel)(void *) = c->release;
  c->release = NULL;
  c->fill = NULL;
  c->ref = NULL;
  c->ref_len = c->ref_off = 0;
  if(rel)
    rel(c->release_ud);
}

static void conn_close(struct httpd_conn *c)
{
  struct httpd_srv *s = c->s;
  answer_release(c);
  evloop_io_del(s->loop, c->io);
  (void)close(c->fd);
  RS_DLIST_UNLINK(s->head, c, prev, next);
  s->n--;
  free(c->in);
  rs_buf_free(&c->body);
  rs_buf_free(&c->out);
  rs_buf_free(&c->piece);
  free(c);
  if(s->n < s->o.conn_limit)
    listen_watch(s, true);
}

/* ---- answers -------------------------------------------------------------- */

static const char *reason(unsigned status)
{
  switch(status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 421: return "Misdirected Request";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

static void add_hdrs(struct rs_buf *b, const struct httpd_hdr *h)
{
  for(; h && h->name; h++)
    if(h->value)
      rs_buf_printf(b, "%s: %s\r\n", h->name, h->value);
}

/*
 * The header block of req's answer into its connection's output; len < 0:
 * a streamed body. 0, or -1 when the request was answered already or out
 * of memory (the connection is then closed).
 */
static int head_out(struct httpd_req *req, unsigned status, const char *ctype, int64_t len,
                    const struct httpd_hdr *base, const struct httpd_hdr *extra)
{
  struct httpd_conn *c = req->conn;
  if(!c || c->responded)
    return -1;
  c->responded = true;
  if(!req->keep_alive || req->too_large)
    c->close_after = true;
  if(len < 0 && req->minor == 0)
    c->close_after = true; /* HTTP/1.0 has no chunks: the close ends the body */
  c->out.len = 0;
  c->out_off = 0;
  rs_buf_printf(&c->out, "HTTP/1.1 %u %s\r\n", status, reason(status));
  if(ctype)
    rs_buf_printf(&c->out, "Content-Type: %s\r\n", ctype);
  add_hdrs(&c->out, base);
  add_hdrs(&c->out, extra);
  if(len >= 0)
    rs_buf_printf(&c->out, "Content-Length: %lld\r\n", (long long)len);
  else if(req->minor == 1)
    rs_buf_puts(&c->out, "Transfer-Encoding: chunked\r\n");
  if(c->close_after)
    rs_buf_puts(&c->out, "Connection: close\r\n");
  else if(req->minor == 0)
    rs_buf_puts(&c->out, "Connection: keep-alive\r\n"); /* a 1.0 client keeps only when told */
  rs_buf_puts(&c->out, "\r\n");
  if(c->out.oom) {
    c->broken = true;
    return -1;
  }
  return 0;
}

static bool is_head(const struct httpd_req *req)
{
  return req->method && !strcmp(req->method, "HEAD");
}

/* Bodies up to this size are copied behind the header block; larger ones are written from a copy of their own. */
#define COPY_INLINE 16384

int httpd_respond(struct httpd_req *req, unsigned status, const char *ctype, const char *body,
                  size_t len, const struct httpd_hdr *base, const struct httpd_hdr *extra)
{
  struct httpd_conn *c = req->conn;
  char *copy;
  if(len <= COPY_INLINE || is_head(req)) {
    if(head_out(req, status, ctype, (int64_t)len, base, extra))
      return -1;
    if(!is_head(req))
      rs_buf_append(&c->out, body, len);
    if(c->out.oom) {
      c->broken = true;
      return -1;
    }
    return 0;
  }
  copy = malloc(len);
  if(!copy) {
    if(c)
      c->broken = true;
    return -1;
  }
  memcpy(copy, body, len);
  return httpd_respond_ref(req, status, ctype, copy, len, free, copy, base, extra);
}

int httpd_respond_ref(struct httpd_req *req, unsigned status, const char *ctype, const char *body,
                      size_t len, void (*release)(void *), void *release_ud,
                      const struct httpd_hdr *base, const struct httpd_hdr *extra)
{
  struct httpd_conn *c = req->conn;
  if(head_out(req, status, ctype, (int64_t)len, base, extra)) {
    if(release)
      release(release_ud);
    return -1;
  }
  c->release = release;
  c->release_ud = release_ud;
  if(!is_head(req)) {
    c->ref = body;
    c->ref_len = len;
    c->ref_off = 0;
  }
  return 0;
}

int httpd_respond_stream(struct httpd_req *req, unsigned status, const char *ctype,
                         httpd_fill_fn fill, void (*release)(void *), void *ud,
                         const struct httpd_hdr *base, const struct httpd_hdr *extra)
{
  struct httpd_conn *c = req->conn;
  if(head_out(req, status, ctype, -1, base, extra)) {
    if(release)
      release(ud);
    return -1;
  }
  c->release = release;
  c->release_ud = ud;
  if(!is_head(req)) {
    c->fill = fill;
    c->fill_chunked = req->minor == 1;
  }
  return 0;
}

/* An answer the server makes itself (plain text), closing the connection after it. */
static void server_answer(struct httpd_conn *c, unsigned status, const char *text)
{
  c->req.conn = c;
  c->req.keep_alive = false;
  c->st = CS_WRITE;
  (void)httpd_respond(&c->req, status, "text/plain; charset=utf-8", text, strlen(text),
                      c->s->o.hdrs, NULL);
}

/*
 * Bytes of a streamed answer one flush() produces before it lets the loop go
 * on (EPOLLOUT brings it back next turn): a client reading as fast as
 * loopback allows would otherwise have a whole large document (/metrics:
 * 4.5 MB at 5 000 consumables) written in one turn of the loop.
 */
#define FLUSH_FILL_MAX (256u * 1024u)

/*
 * Write what the answer has ready. 1 when it is all sent, 0 when the socket
 * takes no more now (or FLUSH_FILL_MAX was produced), -1 on an error (close).
 */
static int flush(struct httpd_conn *c)
{
  size_t made = 0;
  for(;;) {
    struct iovec iov[2];
    struct msghdr mh;
    int n = 0;
    ssize_t w;
    if(c->out_off < c->out.len) {
      iov[n].iov_base = c->out.data + c->out_off;
      iov[n++].iov_len = c->out.len - c->out_off;
    }
    if(c->ref_off < c->ref_len) {
      iov[n].iov_base = (void *)(uintptr_t)(c->ref + c->ref_off);
      iov[n++].iov_len = c->ref_len - c->ref_off;
    }
    if(!n) {
      int more;
      if(!c->fill)
        return 1;
      if(made >= FLUSH_FILL_MAX)
        return 0;
      /* the next piece of a stream */
      c->piece.len = 0;
      more = c->fill(c->release_ud, &c->piece);
      if(more < 0 || c->piece.oom)
        return -1;
      made += c->piece.len;
      c->out.len = c->out_off = 0;
      if(c->piece.len) {
        if(c->fill_chunked)
          rs_buf_printf(&c->out, "%zx\r\n", c->piece.len);
        rs_buf_append(&c->out, c->piece.data, c->piece.len);
        if(c->fill_chunked)
          rs_buf_puts(&c->out, "\r\n");
      }
      if(!more) {
        c->fill = NULL;
        if(c->fill_chunked)
          rs_buf_puts(&c->out, "0\r\n\r\n");
      }
      if(c->out.oom)
        return -1;
      continue;
    }
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if(w < 0) {
      if(errno == EINTR)
        continue;
      if(errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
      if(ioctl(c->fd, SIOCOUTQ, &c->outq) != 0)
        c->outq = -1;
      return 0;
    }
    c->last_ms = now_ms();
    if(c->out_off < c->out.len) {
      size_t k = c->out.len - c->out_off;
      if((size_t)w < k) {
        c->out_off += (size_t)w;
        continue;
      }
      c->out_off = c->out.len;
      w -= (ssize_t)k;
    }
    c->ref_off += (size_t)w;
  }
}

/* ---- requests ---------------------------------------------------------------- */

static void dispatch(struct httpd_conn *c)
{
  struct httpd_req *req = &c->req;
  req->body = c->body.data ? c->body.data : "";
  req->body_len = c->body.len;
  c->st = CS_WRITE;
  c->waiting = false;
  c->s->o.handler(c->s->o.ud, req);
  if(!c->responded && !c->broken)
    (void)httpd_respond(req, 500, "text/plain; charset=utf-8", "no answer\n", 10, c->s->o.hdrs,
                        NULL);
}

/* The head is complete: decide how the body comes. */
static void head_done(struct httpd_conn *c)
{
  struct httpd_req *req = &c->req;
  const char *expect;
  req->conn = c; /* c->waiting stays: the body, too, must come by the deadline */
  req->peer = (const struct sockaddr *)&c->peer;
  if(req->content_length > 0 && (uint64_t)req->content_length > c->s->o.body_max) {
    req->too_large = true; /* not read: the connection closes after the answer */
    dispatch(c);
    return;
  }
  if(req->content_length <= 0 && !req->chunked) {
    dispatch(c);
    return;
  }
  expect = httpd_req_header(req, "Expect");
  if(expect && req->minor == 1 && !strcasecmp(expect, "100-continue") &&
     c->in_len == req->head_len) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    (void)send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  c->body_left = req->chunked ? 0 : (uint64_t)req->content_length;
  memset(&c->ck, 0, sizeof(c->ck));
  c->st = CS_BODY;
}

/* Take the body bytes behind the head. */
static void body_take(struct httpd_conn *c)
{
  size_t hl = c->req.head_len, avail = c->in_len - hl, used = 0;
  bool done = false;
  if(c->req.chunked) {
    switch(httpd_chunked_feed(&c->ck, c->in + hl, avail, &c->body, c->s->o.body_max, &used)) {
    case HTTPD_CHUNKED_MORE:
      break;
    case HTTPD_CHUNKED_DONE:
      done = true;
      break;
    case HTTPD_CHUNKED_BAD:
      server_answer(c, 400, "bad request: malformed chunked body\n");
      return;
    case HTTPD_CHUNKED_TOO_LARGE:
      c->req.too_large = true;
      dispatch(c);
      return;
    }
  }
  else {
    used = avail < c->body_left ? avail : (size_t)c->body_left;
    rs_buf_append(&c->body, c->in + hl, used);
    c->body_left -= used;
    done = !c->body_left;
  }
  memmove(c->in + hl, c->in + hl + used, avail - used);
  c->in_len -= used;
  if(c->body.oom) {
    c->broken = true;
    return;
  }
  if(done)
    dispatch(c);
}

/* The answer is sent: close, or get ready for the next request. */
static bool request_end(struct httpd_conn *c)
{
  size_t rest;
  answer_release(c);
  if(c->close_after || c->broken)
    return false;
  rest = c->in_len - c->req.head_len;
  memmove(c->in, c->in + c->req.head_len, rest);
  c->in_len = rest;
  memset(&c->req, 0, sizeof(c->req));
  rs_buf_free(&c->body);
  c->out.len = c->out_off = 0;
  if(c->out.cap > COPY_INLINE)
    rs_buf_free(&c->out);
  c->responded = false;
  c->outq = -1;
  c->st = CS_HEAD;
  c->waiting = true;
  c->kept = true;
  c->idle_seq = ++c->s->seq;
  c->since_ms = now_ms();
  {
    bool hd;
    arm(c->s, deadline(c, &hd));
  }
  return true;
}

/* Read what the socket has into the input buffer: 1 read some, 0 nothing now, -1 EOF or error. */
static int fill_in(struct httpd_conn *c)
{
  ssize_t r;
  if(c->in_len >= IN_CAP)
    return -1;
  do
    r = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, MSG_DONTWAIT);
  while(r < 0 && errno == EINTR);
  if(r < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  if(!r)
    return -1;
  c->in_len += (size_t)r;
  c->last_ms = now_ms();
  return 1;
}

/*
 * Requests one connection has answered before drive() lets the loop go on
 * (the rest on the next turn): a client that pipelines requests and reads
 * the answers as fast as they come would otherwise keep the loop, and the
 * polling on it, for as long as it likes.
 */
#define DRIVE_REQUESTS 8

/* Move c on as far as its socket (and DRIVE_REQUESTS) allows; false when it was closed. */
static bool drive(struct httpd_conn *c)
{
  unsigned served = 0;
  for(;;) {
    int r;
    if(c->broken) {
      conn_close(c);
      return false;
    }
    if(c->st == CS_WRITE) {
      r = flush(c);
      if(r < 0) {
        conn_close(c);
        return false;
      }
      if(!r) {
        set_events(c, EPOLLOUT);
        return true;
      }
      if(!request_end(c)) {
        conn_close(c);
        return false;
      }
      if(++served >= DRIVE_REQUESTS) {
        c->resume = true;
        arm(c->s, now_ms());
        set_events(c, EPOLLIN);
        return true;
      }
      continue;
    }
    if(c->st == CS_HEAD && c->in_len) {
      const char *why = NULL;
      r = httpd_parse_head(c->in, c->in_len, &c->req, &why);
      if(r == 1) {
        head_done(c);
        continue;
      }
      if(r > 1) {
        memset(&c->req, 0, sizeof(c->req));
        server_answer(c, (unsigned)r, why ? why : "bad request\n");
        continue;
      }
    }
    if(c->st == CS_BODY && c->in_len > c->req.head_len) {
      body_take(c);
      if(c->st != CS_BODY || c->broken)
        continue;
    }
    r = fill_in(c);
    if(r < 0) {
      conn_close(c);
      return false;
    }
    if(!r) {
      set_events(c, EPOLLIN);
      /* at the connection limit, a newcomer may now take this one's place */
      if(c->s->paused && c->s->n >= c->s->o.conn_limit && conn_idle(c))
        listen_watch(c->s, true);
      return true;
    }
  }
}

static void on_conn(void *ud, int fd, uint32_t events)
{
  struct httpd_conn *c = ud;
  (void)fd;
  if((events & EPOLLERR) || ((events & EPOLLHUP) && !(events & EPOLLIN))) {
    conn_close(c);
    return;
  }
  (void)drive(c);
}

/* ---- connections -------------------------------------------------------------- */

/* Address sa as text into buf ("?" when unknown). */
static void addr_text(const struct sockaddr *sa, char *buf, size_t size)
{
  (void)rs_strlcpy(buf, "?", size);
  if(!sa)
    return;
  if(sa->sa_family == AF_INET)
    (void)inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                    (socklen_t)size);
  else if(sa->sa_family == AF_INET6)
    (void)inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                    (socklen_t)size);
}

void httpd_client_addr(const struct httpd_req *req, char *buf, size_t size)
{
  addr_text(req ? req->peer : NULL, buf, size);
}

/* The lockout key of address sa (see httpd_client_key()). */
static void key_of(const struct sockaddr *sa, unsigned char key[HTTPD_CLIENT_KEY_LEN])
{
  memset(key, 0, HTTPD_CLIENT_KEY_LEN);
  if(!sa)
    return;
  if(sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;
    key[0] = 4;
    memcpy(key + 1, &a->sin_addr, 4);
  }
  else if(sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
    if(IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      key[0] = 4;
      memcpy(key + 1, a->sin6_addr.s6_addr + 12, 4);
    }
    else {
      key[0] = 6;
      memcpy(key + 1, a->sin6_addr.s6_addr, 8);
    }
  }
}

void httpd_client_key(const struct httpd_req *req, unsigned char key[HTTPD_CLIENT_KEY_LEN])
{
  key_of(req ? req->peer : NULL, key);
}

static void on_listen(void *ud, int fd, uint32_t events)
{
  struct httpd_srv *s = ud;
  (void)fd;
  (void)events;
  for(;;) {
    struct sockaddr_storage sa;
    socklen_t sl = sizeof(sa);
    unsigned char key[HTTPD_CLIENT_KEY_LEN];
    unsigned same = 0;
    struct httpd_conn *c, *evict = NULL;
    int cfd;
    /* at the limit, a newcomer takes the place of the oldest idle keep-alive connection */
    if(s->n >= s->o.conn_limit && !(evict = oldest_idle(s)))
      break;
    cfd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if(cfd < 0) {
      if(errno == EINTR || errno == ECONNABORTED)
        continue;
      if(errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        log_rl(LOG_LVL_WARNING, "http-accept", "%scannot accept a connection: %s",
               s->o.log_prefix, strerror(errno));
        listen_watch(s, false); /* the sweep timer listens again */
        arm(s, now_ms() + 250);
      }
      return;
    }
    key_of((const struct sockaddr *)&sa, key);
    for(c = s->head; c; c = c->next)
      if(!memcmp(c->key, key, sizeof(key)))
        same++;
    if(same >= s->o.per_client) {
      char addr[64];
      addr_text((const struct sockaddr *)&sa, addr, sizeof(addr));
      log_rl(LOG_LVL_NOTICE, "http-per-client",
             "%srefused a connection from %s: %u open from that client already",
             s->o.log_prefix, addr, same);
      (void)close(cfd);
      continue;
    }
    c = calloc(1, sizeof(*c));
    if(c)
      c->in = malloc(IN_CAP);
    if(!c || !c->in) {
      if(c)
        free(c);
      (void)close(cfd);
      return;
    }
    c->s = s;
    c->fd = cfd;
    memcpy(&c->peer, &sa, sizeof(sa));
    memcpy(c->key, key, sizeof(key));
    c->io = evloop_io_add(s->loop, cfd, EPOLLIN, on_conn, c);
    if(!c->io) {
      free(c->in);
      free(c);
      (void)close(cfd);
      return;
    }
    if(evict) {
      char addr[64];
      addr_text((const struct sockaddr *)&evict->peer, addr, sizeof(addr));
      log_rl(LOG_LVL_INFO, "http-evict-idle",
             "%sclosed the idle keep-alive connection from %s that waited longest, to admit a "
             "new one (%u connections, the limit)",
             s->o.log_prefix, addr, s->o.conn_limit);
      conn_close(evict);
    }
    c->events = EPOLLIN;
    c->since_ms = c->last_ms = now_ms();
    c->outq = -1;
    c->waiting = true;
    c->next = s->head;
    if(s->head)
      s->head->prev = c;
    s->head = c;
    s->n++;
    {
      bool hd;
      if(!nearly_full(s))
        arm(s, deadline(c, &hd));
      else /* the others' requests may have shorter deadlines now */
        for(c = s->head; c; c = c->next)
          arm(s, deadline(c, &hd));
    }
  }
  listen_watch(s, false);
}

/*
 * Whether c's client has taken bytes of its answer that the kernel held
 * since the server last filled the socket (the unsent queue shrank); then
 * notes the new size. A client on a slow link reads steadily while the
 * socket stays too full for the server to write (writable again only when
 * a third of the send buffer, megabytes, is free).
 */
static bool taken(struct httpd_conn *c)
{
  int q;
  if(c->st != CS_WRITE || c->outq < 0 || ioctl(c->fd, SIOCOUTQ, &q) != 0 || q >= c->outq)
    return false;
  c->outq = q;
  return true;
}

/* The timer: close the connections past their deadline; listen again if paused for descriptors. */
static void on_timer(void *ud)
{
  struct httpd_srv *s = ud;
  int64_t now = now_ms();
  unsigned cut = 0;
  unsigned limit = nearly_full(s) && s->o.busy_header_ms < s->o.header_ms ? s->o.busy_header_ms
                                                                        : s->o.header_ms;
  struct httpd_conn *c, *next;
  s->timer_due = INT64_MAX;
  for(c = s->head; c; c = next) {
    bool hd;
    int64_t due;
    next = c->next;
    if(c->resume) {
      c->resume = false;
      if(!drive(c))
        continue;
    }
    due = deadline(c, &hd);
    if(due <= now && !hd && taken(c)) {
      /* the client took bytes the kernel held: progress, though the
         server had nothing to write (a slow link drains a full send
         buffer for seconds before the socket takes more) */
      c->last_ms = now;
      due = deadline(c, &hd);
    }
    if(due <= now) {
      if(hd)
        cut++;
      conn_close(c);
    }
    else
      arm(s, due);
  }
  if(cut)
    log_rl(LOG_LVL_NOTICE, "http-header-deadline",
           "%sclosed %u connection%s that had not sent a request's head and body within %u ms",
           s->o.log_prefix, cut, cut == 1 ? "" : "s", limit);
  if(s->paused && s->n < s->o.conn_limit)
    listen_watch(s, true);
}

struct httpd_srv *httpd_srv_new(struct evloop *loop, int listen_fd, const struct httpd_srv_opts *o)
{
  struct httpd_srv *s = calloc(1, sizeof(*s));
  if(!s) {
    (void)close(listen_fd);
    return NULL;
  }
  s->loop = loop;
  s->o = *o;
  if(!s->o.conn_limit)
    s->o.conn_limit = 64;
  if(!s->o.per_client)
    s->o.per_client = 16;
  if(!s->o.idle_ms)
    s->o.idle_ms = 30000;
  if(!s->o.header_ms)
    s->o.header_ms = 10000;
  if(!s->o.busy_header_ms)
    s->o.busy_header_ms = 1000;
  if(!s->o.body_max)
    s->o.body_max = 16384;
  if(!s->o.log_prefix)
    s->o.log_prefix = "http: ";
  s->lfd = listen_fd;
  s->timer_due = INT64_MAX;
  s->timer = evloop_timer_new(loop, on_timer, s);
  s->lio = s->timer ? evloop_io_add(loop, listen_fd, EPOLLIN, on_listen, s) : NULL;
  if(!s->lio) {
    httpd_srv_free(s);
    return NULL;
  }
  return s;
}

void httpd_srv_free(struct httpd_srv *s)
{
  if(!s)
    return;
  while(s->head)
    conn_close(s->head);
  evloop_io_del(s->loop, s->lio);
  evloop_timer_free(s->timer);
  (void)close(s->lfd);
  free(s);
}


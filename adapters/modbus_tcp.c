/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modbus_tcp: the Modbus TCP backend on the event loop (see modbus.h).
 *
 * Why not libmodbus: libmodbus 3.1.6 blocks in connect and receive and
 * waits with select(), so it needs a thread per connection and cannot touch
 * a descriptor >= 1024. Here every connection is a non-blocking socket on
 * the loop's epoll set; a request is one 12-byte MBAP frame written at
 * once, the reply is framed by its MBAP length and matched by transaction
 * id; the timeouts are loop timers. The PDU is checked here and decoded by
 * adapters/modbus_dev.c + modbus_codec.c, shared with the RTU backend.
 *
 * Connections: devices on one host:port share one connection (a TCP-to-RTU
 * bridge serves several unit ids) and take turns: one request in flight per
 * connection, devices queued in the order their polls started. Devices on
 * different connections are all in flight at once. Connections are kept in
 * a registry keyed by (loop, host:port), refcounted by their devices.
 *
 * Errors: a connect that fails, a reset, or the server closing is an I/O
 * failure; no reply within the device's timeout is a timeout (a reply cut
 * off mid-frame is a timeout too). A frame that cannot be framed (protocol
 * id not 0, length outside 2..254, a transaction id never sent) closes the
 * connection (the stream cannot be trusted) and is malformed; a late reply
 * to an earlier request of this connection is dropped. A well-framed reply
 * with the wrong unit, function or count is malformed and closes the
 * connection too. A connection to itself (TCP simultaneous open on a local
 * port nobody listens on) counts as refused. What each failure
 * costs and how it is reported is modbus_dev.c's business.
 */
#include "adapters/modbus.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapters/modbus_dev.h"
#include "base/clock.h"
#include "base/evloop.h"
#include "base/resolve.h"
#include "base/log.h"
#include "base/rs_util.h"

#define MBAP_MAX     260 /* 7-byte MBAP header + 253-byte PDU */
#define LATE_TIDS    16  /* replies to this many earlier requests are "late", not garbage */
#define REG_BUCKETS  4096
#define HOSTPORT_MAX 300

struct mbt_dev;

/* One TCP connection (a host:port) on one loop. What every request and reply
   touches comes first (the fewest cache lines per poll), the address last. */
struct mbt_conn {
  struct evloop *loop;
  int fd;
  enum { C_CLOSED, C_RESOLVING, C_CONNECTING, C_READY } state;
  struct evloop_io *io;   /* registered while fd is open */
  struct evloop_timer *tm; /* connect, reply and busy_wait deadlines; kicks */
  /* what the timer is for; T_IDLE: still armed at the last reply's deadline,
     for nothing (a request soon follows and extends it: write_request()) */
  enum { T_NONE, T_IDLE, T_CONNECT, T_REPLY, T_SEND, T_FAIL, T_SENDFAIL } tm_kind;
  int pend_errno; /* T_FAIL, T_SENDFAIL: an immediate failure, reported from the timer */
  struct mbt_dev *head, *tail; /* devices waiting; head is the one being served */
  uint16_t tid;                /* the last transaction id sent */
  bool waiting;                /* a request is in flight */
  /* Bytes read but not yet framed: a part of a frame (or a frame behind the
     one just taken) kept between reads, in MBAP_MAX bytes of heap held only
     while rx_len > 0. A read frames from a buffer on the stack (a reply that
     arrives whole, the usual case, allocates nothing): RSS, 256 B less a
     connection (docs/BENCHMARKS.md). */
  size_t rx_len;
  uint8_t *rx;
  unsigned refs;
  struct mbt_conn *hnext; /* registry chain */
  struct mbt_conn *self;  /* for the registry's hash */
  char *host; /* in the connection's block, after key */
  uint16_t port;
  bool numeric; /* host is an address: resolved once */
  bool resolved;
  struct rs_resolve *rsv; /* a name lookup in flight (state C_RESOLVING) */
  union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
  } addr; /* TCP over IPv4 or IPv6 (not a 128-byte sockaddr_storage: RSS) */
  socklen_t addrlen;
  char key[]; /* "host:port", then host (one block: RSS, docs/BENCHMARKS.md) */
};

/* One device (adapter instance). */
struct mbt_dev {
  struct adapter *a;
  struct mbt_conn *conn;
  struct mbd m;
  bool queued;
  /* the poll being run */
  adapter_emit_fn emit;
  adapter_done_fn done;
  void *ctx;
  int64_t wall_ms;
  size_t req;
  int budget;
  enum rs_err last;
  struct mbt_dev *qnext;
};

/* ---- the registry -------------------------------------------------------- */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mbt_conn *reg[REG_BUCKETS];

static size_t reg_hash(const struct evloop *l, const char *key)
{
  uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)l;
  for(; *key; key++) {
    h ^= (unsigned char)*key;
    h *= 1099511628211ull;
  }
  return (size_t)(h % REG_BUCKETS);
}

static void conn_io_cb(void *ud, int fd, uint32_t events);
static void conn_timer_cb(void *ud);

/* Keep p[0..n-1] as c's unframed bytes (n <= MBAP_MAX; 0: none, the heap buffer freed). */
static void rx_keep(struct mbt_conn *c, const uint8_t *p, size_t n)
{
  if(!n) {
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
    return;
  }
  if(!c->rx)
    c->rx = rs_xmalloc(MBAP_MAX);
  memmove(c->rx, p, n);
  c->rx_len = n;
}

/* The connection to d's host:port on loop l, made when new; refcounted. */
static struct mbt_conn *conn_get(struct evloop *l, const struct cfg_device *d)
{
  char key[HOSTPORT_MAX];
  struct mbt_conn *c;
  size_t h;
  struct in6_addr a6;
  struct in_addr a4;
  (void)rs_snprintf(key, sizeof(key), "%s:%u", d->host, (unsigned)d->port);
  h = reg_hash(l, key);
  pthread_mutex_lock(&reg_mu);
  for(c = reg[h]; c; c = c->hnext) {
    if(c->loop == l && !strcmp(c->key, key))
      break;
  }
  if(!c) {
    size_t kl = strlen(key) + 1, hl = strlen(d->host) + 1;
    c = rs_xcalloc(1, sizeof(*c) + kl + hl);
    c->loop = l;
    memcpy(c->key, key, kl);
    c->host = c->key + kl;
    memcpy(c->host, d->host, hl);
    c->port = d->port;
    c->numeric = inet_pton(AF_INET, d->host, &a4) == 1 || inet_pton(AF_INET6, d->host, &a6) == 1;
    c->fd = -1;
    c->tm = evloop_timer_new(l, conn_timer_cb, c);
    if(!c->tm)
      abort(); /* out of memory, as rs_x* */
    c->hnext = reg[h];
    reg[h] = c;
  }
  c->refs++;
  pthread_mutex_unlock(&reg_mu);
  return c;
}

static void conn_close_fd(struct mbt_conn *c)
{
  rs_resolve_cancel(c->rsv); /* a lookup still running is abandoned */
  c->rsv = NULL;
  evloop_io_del(c->loop, c->io);
  c->io = NULL;
  evloop_timer_disarm(c->tm);
  c->tm_kind = T_NONE;
  if(c->fd >= 0) {
    /* an abortive close (RST): no TIME_WAIT is left on the device's port, which
       would keep a restarted server (or a small device's TCP stack) from
       accepting again, and none on ours when thousands of connections cycle */
    struct linger lg = {1, 0};
    (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(c->fd);
  }
  c->fd = -1;
  c->state = C_CLOSED;
  c->waiting = false;
  rx_keep(c, NULL, 0);
}

/* Drop one reference; the last one closes and frees the connection. */
static void conn_put(struct mbt_conn *c)
{
  struct mbt_conn **pp;
  size_t h = reg_hash(c->loop, c->key);
  pthread_mutex_lock(&reg_mu);
  if(--c->refs) {
    pthread_mutex_unlock(&reg_mu);
    return;
  }
  for(pp = &reg[h]; *pp; pp = &(*pp)->hnext) {
    if(*pp == c) {
      *pp = c->hnext;
      break;
    }
  }
  pthread_mutex_unlock(&reg_mu);
  conn_close_fd(c);
  evloop_timer_free(c->tm);
  free(c);
}

/* ---- one poll ------------------------------------------------------------ */

static void conn_kick(struct mbt_conn *c);

/*
 * The head device's poll is over: take it off the queue, let the next device
 * go, then report (the callback may close this device or others: nothing of
 * md or c is touched after it).
 */
static void dev_finish(struct mbt_dev *md)
{
  struct mbt_conn *c = md->conn;
  char err[256];
  adapter_done_fn done = md->done;
  void *ctx = md->ctx;
  enum rs_err rc;
  RS_QUEUE_SHIFT(c->head, c->tail, md, qnext); /* md is the head */
  md->queued = false;
  md->done = NULL;
  rc = mbd_finish(&md->m, md->a->dev, md->wall_ms, md->last, md->emit, md->ctx, err, sizeof(err));
  conn_kick(c);
  done(ctx, rc, err);
}

static void send_request(struct mbt_dev *md);

/* The current request is done (answered or final): go on with the next one. */
static void dev_next(struct mbt_dev *md)
{
  md->req++;
  if(md->req >= md->m.plan.n_reqs || md->budget <= 0) {
    dev_finish(md);
    return;
  }
  send_request(md);
}

/*
 * The current request failed with f (what: a sentence). One attempt is spent;
 * with attempts left the request is tried again (after busy_wait for busy),
 * else the poll ends (the remaining requests stay "not tried").
 */
static void dev_fail(struct mbt_dev *md, enum mbd_fail f, int code, const char *what)
{
  struct mbt_conn *c = md->conn;
  const struct cfg_device *d = md->a->dev;
  mbd_set(&md->m, d, md->req, f, code, what);
  if(f == MBD_MALFORMED && c->fd >= 0)
    conn_close_fd(c); /* a server that sends nonsense is not trusted with the next request */
  if(f == MBD_TIMEOUT)
    md->last = RS_ERR_TIMEOUT;
  else if(f == MBD_IO)
    md->last = RS_ERR_IO;
  md->budget--;
  if(md->budget <= 0) {
    dev_finish(md);
    return;
  }
  if(f == MBD_BUSY) {
    c->tm_kind = T_SEND;
    evloop_timer_arm(c->tm, clock_real_mono_ms() + d->busy_wait_ms);
    return;
  }
  send_request(md);
}

/* A connection failure (connect, reset, EOF, framing) hits the device being served. */
static void conn_fail(struct mbt_conn *c, enum mbd_fail f, const char *what)
{
  struct mbt_dev *md = c->head;
  conn_close_fd(c);
  if(md)
    dev_fail(md, f, 0, what);
}

static const uint8_t fc_of[] = {
    [CFG_REG_COIL] = 1, [CFG_REG_DISCRETE] = 2, [CFG_REG_INPUT] = 4, [CFG_REG_HOLDING] = 3};

static void conn_connect_addr(struct mbt_conn *c, int64_t timeout_ms);

/* The name lookup of conn_connect() ended (on the loop): connect, or fail the device served. */
static void on_resolved(void *ud, const struct rs_resolved *res)
{
  struct mbt_conn *c = ud;
  const struct mbt_dev *md = c->head;
  c->rsv = NULL;
  c->state = C_CLOSED;
  if(!res->ok || res->addrlen > sizeof(c->addr)) {
    c->pend_errno = 0;
    conn_fail(c, MBD_IO, res->ok ? "address too long" : res->why);
    return;
  }
  memcpy(&c->addr, &res->addr, res->addrlen);
  c->addrlen = res->addrlen;
  conn_connect_addr(c, md ? md->a->dev->timeout_ms : 1000);
}

/*
 * Start connecting c (non-blocking); the outcome arrives as EPOLLOUT or the
 * timer. A host name is looked up first off the loop (base/resolve.h),
 * within timeout_ms, at every connect (the address may move); an address
 * literal is parsed once.
 */
static void conn_connect(struct mbt_conn *c, int64_t timeout_ms)
{
  if(!c->resolved && c->numeric) {
    struct rs_resolved res;
    char service[8];
    (void)rs_snprintf(service, sizeof(service), "%u", (unsigned)c->port);
    if(rs_resolve_wait(c->host, service, SOCK_STREAM, 0, &res) ||
       res.addrlen > sizeof(c->addr)) { /* numeric: never starts a thread */
      c->pend_errno = 0;
      conn_fail(c, MBD_IO, res.why[0] ? res.why : "cannot parse the address");
      return;
    }
    memcpy(&c->addr, &res.addr, res.addrlen);
    c->addrlen = res.addrlen;
    c->resolved = true;
  }
  if(!c->resolved) {
    char service[8];
    if(c->rsv)
      return; /* already looking it up */
    (void)rs_snprintf(service, sizeof(service), "%u", (unsigned)c->port);
    c->rsv = rs_resolve_start(c->loop, c->host, service, SOCK_STREAM, timeout_ms, on_resolved, c);
    if(!c->rsv) {
      c->pend_errno = errno;
      c->tm_kind = T_FAIL;
      evloop_timer_arm(c->tm, clock_real_mono_ms());
      return;
    }
    c->state = C_RESOLVING;
    return;
  }
  conn_connect_addr(c, timeout_ms);
}

/*
 * A connect that failed at once (errno tells why): close fd (when >= 0) and
 * report it from the timer, never by calling back from inside start().
 */
static void conn_fail_soon(struct mbt_conn *c, int fd)
{
  c->pend_errno = errno;
  if(fd >= 0) {
    close(fd);
    c->fd = -1;
  }
  c->tm_kind = T_FAIL;
  evloop_timer_arm(c->tm, clock_real_mono_ms());
}

/* Connect c to c->addr (resolved). */
static void conn_connect_addr(struct mbt_conn *c, int64_t timeout_ms)
{
  int fd, one = 1;
  fd = socket(c->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if(fd < 0) {
    conn_fail_soon(c, -1);
    return;
  }
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->fd = fd;
  rx_keep(c, NULL, 0);
  if(connect(fd, &c->addr.sa, c->addrlen) && errno != EINPROGRESS) {
    conn_fail_soon(c, fd);
    return;
  }
  c->io = evloop_io_add(c->loop, fd, EPOLLOUT, conn_io_cb, c);
  if(!c->io) {
    conn_fail_soon(c, fd);
    return;
  }
  c->state = C_CONNECTING;
  c->tm_kind = T_CONNECT;
  evloop_timer_arm(c->tm, clock_real_mono_ms() + timeout_ms);
}

/*
 * Write md's current request on c (ready, nothing in flight) and arm the
 * reply timeout. Returns 0, an errno, or -1 for a short write: the caller
 * reports the failure.
 */
static int write_request(struct mbt_dev *md)
{
  struct mbt_conn *c = md->conn;
  const struct cfg_device *d = md->a->dev;
  const struct mbplan_req *r = &md->m.plan.reqs[md->req];
  uint8_t f[12];
  ssize_t n;
  c->tid++;
  f[0] = (uint8_t)(c->tid >> 8);
  f[1] = (uint8_t)c->tid;
  f[2] = 0;
  f[3] = 0;
  f[4] = 0;
  f[5] = 6;
  f[6] = (uint8_t)d->unit_id;
  f[7] = fc_of[r->table];
  f[8] = (uint8_t)(r->start >> 8);
  f[9] = (uint8_t)r->start;
  f[10] = (uint8_t)(r->count >> 8);
  f[11] = (uint8_t)r->count;
  do
    n = send(c->fd, f, sizeof(f), MSG_NOSIGNAL);
  while(n < 0 && errno == EINTR);
  if(n != (ssize_t)sizeof(f))
    return n < 0 ? errno : -1; /* 12 bytes into an empty socket buffer: a broken connection */
  c->waiting = true;
  c->tm_kind = T_REPLY;
  evloop_timer_extend(c->tm, clock_real_mono_ms() + d->timeout_ms);
  return 0;
}

/* The failure e of write_request() (an errno, or -1 for a short write) hits the device served. */
static void send_failed(struct mbt_conn *c, int e)
{
  char what[160];
  (void)rs_snprintf(what, sizeof(what), "cannot send the request: %s",
                    e > 0 ? strerror(e) : "short write");
  conn_fail(c, MBD_IO, what);
}

/* Send md's current request (connecting first when needed). */
static void send_request(struct mbt_dev *md)
{
  struct mbt_conn *c = md->conn;
  int e;
  if(c->state == C_CLOSED) {
    conn_connect(c, md->a->dev->timeout_ms);
    return;
  }
  if(c->state != C_READY)
    return; /* sent once connected */
  e = write_request(md);
  if(e)
    send_failed(c, e);
}

/*
 * Serve the head of the queue when the connection is free: from the loop (a
 * timer due now), so that no callback runs inside start() or inside another
 * device's completion.
 */
static void conn_kick(struct mbt_conn *c)
{
  if(!c->head || c->waiting || c->tm_kind > T_IDLE || c->state == C_CONNECTING ||
     c->state == C_RESOLVING)
    return;
  c->tm_kind = T_SEND;
  evloop_timer_arm(c->tm, clock_real_mono_ms());
}

/*
 * A whole frame for the request in flight: check the PDU against the request
 * (unit, function, count) and hand the values to modbus_dev.
 */
static void handle_reply(struct mbt_conn *c, const uint8_t *pdu, size_t len, uint8_t unit)
{
  struct mbt_dev *md = c->head;
  const struct cfg_device *d = md->a->dev;
  const struct mbplan_req *r = &md->m.plan.reqs[md->req];
  uint8_t fc = fc_of[r->table];
  bool bits = r->table == CFG_REG_COIL || r->table == CFG_REG_DISCRETE;
  size_t want = bits ? ((size_t)r->count + 7) / 8 : 2 * (size_t)r->count, i;
  char what[160];

  c->waiting = false;
  if(md->req + 1 < md->m.plan.n_reqs || d->poll_interval_ms < d->timeout_ms)
    c->tm_kind = T_IDLE; /* the next request is near: it moves the deadline (no heap work) */
  else {
    c->tm_kind = T_NONE;
    evloop_timer_disarm(c->tm);
  }
  if(unit != (uint8_t)d->unit_id) {
    (void)rs_snprintf(what, sizeof(what), "reply from unit %u instead of %d", (unsigned)unit,
                      d->unit_id);
    dev_fail(md, MBD_MALFORMED, 0, what);
    return;
  }
  if(pdu[0] == (fc | 0x80)) {
    int code = len >= 2 ? pdu[1] : 0;
    if(len != 2 || code == 0) {
      dev_fail(md, MBD_MALFORMED, 0, "malformed exception reply");
      return;
    }
    if(code == 6) {
      dev_fail(md, MBD_BUSY, 6, "Modbus exception 6 (server busy) on every try");
      return;
    }
    (void)rs_snprintf(what, sizeof(what), "Modbus exception %d (%s)", code,
                      code == 1   ? "Illegal function"
                      : code == 2 ? "Illegal data address"
                      : code == 3 ? "Illegal data value"
                      : code == 4 ? "Slave device or server failure"
                      : code == 5 ? "Acknowledge"
                      : code == 8 ? "Memory parity error"
                      : code == 10 ? "Gateway path unavailable"
                      : code == 11 ? "Target device failed to respond"
                                   : "unknown exception");
    mbd_set(&md->m, d, md->req, MBD_EXCEPTION, code, what);
    dev_next(md);
    return;
  }
  if(pdu[0] != fc) {
    (void)rs_snprintf(what, sizeof(what), "reply with function code %u to a request with %u",
                      (unsigned)pdu[0], (unsigned)fc);
    dev_fail(md, MBD_MALFORMED, 0, what);
    return;
  }
  if(len < 2 || pdu[1] != want || len != 2 + want) {
    dev_fail(md, MBD_MALFORMED, 0, "reply with the wrong number of values");
    return;
  }
  if(bits) {
    uint8_t b[MBPLAN_MAX_BITS];
    for(i = 0; i < r->count; i++)
      b[i] = (uint8_t)((pdu[2 + i / 8] >> (i % 8)) & 1);
    mbd_emit_values(&md->m, d, md->req, NULL, b, md->wall_ms, md->emit, md->ctx);
  }
  else {
    uint16_t v[MBPLAN_MAX_REGISTERS];
    for(i = 0; i < r->count; i++)
      v[i] = (uint16_t)(pdu[2 + 2 * i] << 8 | pdu[3 + 2 * i]);
    mbd_emit_values(&md->m, d, md->req, v, NULL, md->wall_ms, md->emit, md->ctx);
  }
  dev_next(md);
}

/*
 * Frame what arrived, buf[0..len-1] (c's kept bytes, then the read's): whole
 * MBAP frames are taken one at a time; what follows the frame handled (or a
 * part of a frame) is kept in c first (handling a reply may free c).
 */
static void parse_rx(struct mbt_conn *c, const uint8_t *buf, size_t len)
{
  size_t off = 0;
  while(len - off >= 7) {
    const uint8_t *f = buf + off;
    uint16_t tid = (uint16_t)(f[0] << 8 | f[1]);
    uint16_t proto = (uint16_t)(f[2] << 8 | f[3]);
    uint16_t flen16 = (uint16_t)(f[4] << 8 | f[5]);
    size_t flen;
    if(proto != 0 || flen16 < 2 || flen16 > MBAP_MAX - 6) {
      char what[120];
      (void)rs_snprintf(what, sizeof(what),
                        "garbage reply (protocol id %u, length %u): connection reset",
                        (unsigned)proto, (unsigned)flen16);
      if(c->head && c->waiting)
        conn_fail(c, MBD_MALFORMED, what);
      else
        conn_close_fd(c);
      return;
    }
    flen = 6 + (size_t)flen16;
    if(len - off < flen)
      break;
    off += flen;
    if(c->waiting && tid == c->tid) {
      rx_keep(c, buf + off, len - off);
      handle_reply(c, f + 7, flen - 7, f[6]);
      return; /* the device may be finished and c freed: the next read frames the rest */
    }
    if((uint16_t)(c->tid - tid) < LATE_TIDS)
      continue; /* a late reply to an earlier (timed out) request */
    if(c->head && c->waiting)
      conn_fail(c, MBD_MALFORMED, "reply with a transaction id never sent: connection reset");
    else
      conn_close_fd(c);
    return;
  }
  rx_keep(c, buf + off, len - off);
}

/* Whether fd is connected to itself (same local and peer address). */
static bool self_connected(int fd)
{
  struct sockaddr_storage a, b;
  socklen_t la = sizeof(a), lb = sizeof(b);
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  if(getsockname(fd, (struct sockaddr *)&a, &la) || getpeername(fd, (struct sockaddr *)&b, &lb))
    return false;
  return la == lb && !memcmp(&a, &b, la);
}

static void conn_io_cb(void *ud, int fd, uint32_t events)
{
  struct mbt_conn *c = ud;
  (void)fd;
  if(c->state == C_CONNECTING) {
    int so = 0;
    socklen_t sl = sizeof(so);
    if(getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so, &sl) || so) {
      char what[300];
      (void)rs_snprintf(what, sizeof(what), "cannot connect to %s: %s", c->key,
                        strerror(so ? so : errno));
      conn_fail(c, MBD_IO, what);
      return;
    }
    if(!(events & EPOLLOUT))
      return;
    if(self_connected(c->fd)) {
      /* connecting to a local port nobody listens on can pick that very port
         as the source port (TCP simultaneous open): it would block the server */
      char what[300];
      (void)rs_snprintf(what, sizeof(what), "cannot connect to %s: %s", c->key,
                        strerror(ECONNREFUSED));
      conn_fail(c, MBD_IO, what);
      return;
    }
    c->state = C_READY;
    c->tm_kind = T_NONE;
    evloop_timer_disarm(c->tm);
    if(evloop_io_mod(c->loop, c->io, EPOLLIN)) {
      conn_fail(c, MBD_IO, "cannot watch the connection");
      return;
    }
    if(c->head)
      send_request(c->head);
    return;
  }
  if(events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    ssize_t n;
    uint8_t buf[MBAP_MAX];
    size_t len = c->rx_len;
    if(len)
      memcpy(buf, c->rx, len);
    if(len == sizeof(buf)) {
      /* full: it starts with a whole frame (at most MBAP_MAX) the last read left
         behind; frame it first, the socket's bytes wait for the next event */
      parse_rx(c, buf, len);
      return;
    }
    do
      n = recv(c->fd, buf + len, sizeof(buf) - len, 0);
    while(n < 0 && errno == EINTR);
    if(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if(n <= 0) {
      char what[160];
      (void)rs_snprintf(what, sizeof(what), "%s",
                        n == 0 ? "connection closed by the server" : strerror(errno));
      if(c->head && c->waiting)
        conn_fail(c, MBD_IO, what);
      else {
        conn_close_fd(c);
        conn_kick(c); /* a device waiting for busy_wait or the queue reconnects */
      }
      return;
    }
    parse_rx(c, buf, len + (size_t)n);
  }
}

static void conn_timer_cb(void *ud)
{
  struct mbt_conn *c = ud;
  struct mbt_dev *md = c->head;
  char what[300];
  int kind = (int)c->tm_kind;
  c->tm_kind = T_NONE;
  if(!md)
    return;
  switch(kind) {
  case T_CONNECT:
    (void)rs_snprintf(what, sizeof(what), "cannot connect to %s: no answer within %lld ms",
                      c->key, (long long)md->a->dev->timeout_ms);
    conn_fail(c, MBD_TIMEOUT, what);
    break;
  case T_FAIL:
    (void)rs_snprintf(what, sizeof(what), "cannot connect to %s: %s", c->key,
                      strerror(c->pend_errno ? c->pend_errno : ECONNREFUSED));
    conn_fail(c, MBD_IO, what);
    break;
  case T_REPLY:
    if(c->rx_len) {
      /* half a frame: the stream cannot be framed any more */
      conn_close_fd(c);
    }
    c->waiting = false;
    dev_fail(md, MBD_TIMEOUT, 0, "no answer in time");
    break;
  case T_SENDFAIL:
    send_failed(c, c->pend_errno);
    break;
  case T_SEND:
    if(md->req >= md->m.plan.n_reqs || md->budget <= 0)
      dev_finish(md); /* an empty plan */
    else
      send_request(md);
    break;
  default:
    break;
  }
}

/* ---- the adapter --------------------------------------------------------- */

/* The loop of the calling thread for poll() without an event loop (probe, inline). */
static _Thread_local struct evloop *own_loop;

static struct evloop *dev_loop(struct adapter *a)
{
  if(a->loop)
    return a->loop;
  if(!own_loop)
    own_loop = evloop_new();
  return own_loop;
}

static enum rs_err mbt_open(struct adapter *a, char *err, size_t errlen)
{
  struct mbt_dev *md;
  struct evloop *l;
  const struct cfg_device *d = a->dev;
  if(d->transport != CFG_TR_MODBUS_TCP || !d->host) {
    (void)rs_snprintf(err, errlen, "device %s: not a complete Modbus TCP transport", d->id);
    return RS_ERR_INVALID;
  }
  l = dev_loop(a);
  if(!l) {
    (void)rs_snprintf(err, errlen, "cannot make an event loop: %s", strerror(errno));
    return RS_ERR_IO;
  }
  md = rs_xcalloc(1, sizeof(*md));
  md->a = a;
  md->conn = conn_get(l, d);
  mbd_plan(&md->m, d);
  a->priv = md;
  return RS_OK;
}

static void mbt_cancel(struct adapter *a)
{
  struct mbt_dev *md = a->priv, **pp;
  struct mbt_conn *c;
  if(!md || !md->queued)
    return;
  c = md->conn;
  if(c->head == md) {
    if(c->waiting || c->state == C_CONNECTING || c->state == C_RESOLVING)
      conn_close_fd(c); /* its request is in flight: a reply would be framed for nobody */
    evloop_timer_disarm(c->tm);
    c->tm_kind = T_NONE;
  }
  for(pp = &c->head; *pp; pp = &(*pp)->qnext) {
    if(*pp == md) {
      *pp = md->qnext;
      break;
    }
  }
  c->tail = NULL;
  for(pp = &c->head; *pp; pp = &(*pp)->qnext)
    c->tail = *pp;
  md->qnext = NULL;
  md->queued = false;
  md->done = NULL;
  conn_kick(c);
}

static void mbt_close(struct adapter *a)
{
  struct mbt_dev *md = a->priv;
  if(!md)
    return;
  mbt_cancel(a);
  conn_put(md->conn);
  mbd_free(&md->m);
  FREE_NULL(a->priv);
}

static int mbt_reconfigure(struct adapter *a)
{
  struct mbt_dev *md = a->priv;
  mbt_cancel(a); /* the plan of a poll in flight is about to change */
  mbd_plan(&md->m, a->dev);
  return 0;
}

static void mbt_start(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit,
                      adapter_done_fn done, void *ctx)
{
  struct mbt_dev *md = a->priv;
  struct mbt_conn *c = md->conn;
  if(md->queued)
    mbt_cancel(a);
  md->emit = emit;
  md->done = done;
  md->ctx = ctx;
  md->wall_ms = wall_ms;
  md->req = 0;
  md->budget = a->dev->retries + 1;
  md->last = RS_ERR_TIMEOUT;
  mbd_begin(&md->m, a->dev);
  md->queued = true;
  RS_QUEUE_PUSH(c->head, c->tail, md, qnext);
  if(c->head == md && c->state == C_READY && !c->waiting && c->tm_kind <= T_IDLE &&
     md->m.plan.n_reqs > 0) {
    /* an idle connection: the request goes out now, not a loop turn later; a
       failure is reported from the timer (never a callback inside start()) */
    int e = write_request(md);
    if(e) {
      c->pend_errno = e;
      c->tm_kind = T_SENDFAIL;
      evloop_timer_arm(c->tm, clock_real_mono_ms());
    }
    return;
  }
  conn_kick(c);
}

/* poll() for callers without an event loop: run the thread's own loop until done. */
struct sync_poll {
  bool done;
  enum rs_err rc;
  char *err;
  size_t errlen;
};

static void sync_done(void *ctx, enum rs_err rc, const char *err)
{
  struct sync_poll *sp = ((void **)ctx)[0];
  sp->done = true;
  sp->rc = rc;
  (void)rs_strlcpy(sp->err, err ? err : "", sp->errlen);
}

struct sync_ctx {
  struct sync_poll *sp; /* first: sync_done reads it through a void ** */
  adapter_emit_fn emit;
  void *ctx;
};

static void sync_emit(void *ctx, const struct reading *r)
{
  struct sync_ctx *sc = ctx;
  sc->emit(sc->ctx, r);
}

static enum rs_err mbt_poll(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ctx,
                            char *err, size_t errlen)
{
  struct mbt_dev *md = a->priv;
  struct sync_poll sp = {false, RS_OK, err, errlen};
  struct sync_ctx sc = {&sp, emit, ctx};
  err[0] = '\0';
  mbt_start(a, wall_ms, sync_emit, sync_done, &sc);
  while(!sp.done) {
    if(evloop_turn(md->conn->loop, -1) < 0) {
      mbt_cancel(a);
      (void)rs_snprintf(err, errlen, "event loop failed: %s", strerror(errno));
      return RS_ERR_IO;
    }
  }
  return sp.rc;
}

const struct adapter_ops modbus_tcp_ops = {
    .name = "modbus-tcp",
    .open = mbt_open,
    .close = mbt_close,
    .poll = mbt_poll,
    .reconfigure = mbt_reconfigure,
    .start = mbt_start,
    .cancel = mbt_cancel,
};

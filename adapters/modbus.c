/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modbus: Modbus TCP and RTU backends on libmodbus (see modbus.h).
 */
#include "adapters/modbus.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <modbus/modbus.h> /* rsadapters gets no pkg-config include path */

#include "adapters/modbus_codec.h"
#include "adapters/modbus_plan.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "base/log.h"

#define KEY_MAX 512

/* ---- the connection registry ------------------------------------------ */

/* One bus's connection. Used by that bus's thread only; refs under reg_mu. */
struct mb_conn {
  char key[KEY_MAX];
  enum cfg_transport transport;
  modbus_t *ctx;  /* NULL until the first connect, and after a close */
  bool connected; /* ctx has an open descriptor */
  bool rs485_warned;
  /* the serial settings ctx was made with (RTU) */
  int64_t baud;
  char parity;
  int data_bits, stop_bits;
  bool rs485;
  unsigned refs;
  struct mb_conn *next;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mb_conn *reg_head;

/* The connection for d's bus, made when new; refcounted. */
static struct mb_conn *conn_get(const struct cfg_device *d)
{
  char key[KEY_MAX];
  struct mb_conn *c;
  (void)adapter_bus_key(d, key, sizeof(key));
  pthread_mutex_lock(&reg_mu);
  for(c = reg_head; c; c = c->next) {
    if(!strcmp(c->key, key))
      break;
  }
  if(!c) {
    c = rs_xcalloc(1, sizeof(*c));
    (void)rs_strlcpy(c->key, key, sizeof(c->key));
    c->transport = d->transport;
    c->next = reg_head;
    reg_head = c;
  }
  c->refs++;
  pthread_mutex_unlock(&reg_mu);
  return c;
}

static void conn_close(struct mb_conn *c)
{
  if(c->ctx) {
    if(c->connected)
      modbus_close(c->ctx);
    modbus_free(c->ctx);
  }
  c->ctx = NULL;
  c->connected = false;
}

/* Drop one reference; the last one closes and frees the connection. */
static void conn_put(struct mb_conn *c)
{
  struct mb_conn **pp;
  pthread_mutex_lock(&reg_mu);
  if(--c->refs) {
    pthread_mutex_unlock(&reg_mu);
    return;
  }
  for(pp = &reg_head; *pp; pp = &(*pp)->next) {
    if(*pp == c) {
      *pp = c->next;
      break;
    }
  }
  pthread_mutex_unlock(&reg_mu);
  conn_close(c);
  free(c);
}

/* ---- connecting --------------------------------------------------------- */

/*
 * fd moved below MODBUS_FD_LIMIT (the original is closed), or -1 with a
 * sentence in err when no lower descriptor is free (fd closed too).
 */
static int fd_below_limit(int fd, char *err, size_t errlen)
{
  int nfd;
  if(fd < MODBUS_FD_LIMIT)
    return fd;
  nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  if(nfd < 0 || nfd >= MODBUS_FD_LIMIT) {
    if(nfd >= 0)
      close(nfd);
    (void)rs_snprintf(err, errlen,
                      "no file descriptor below %d is free (libmodbus 3.1.6 cannot wait on "
                      "higher ones): too many open files",
                      MODBUS_FD_LIMIT);
    return -1;
  }
  return nfd;
}

/*
 * A connected non-blocking TCP socket to host:port below MODBUS_FD_LIMIT,
 * within timeout_ms; -1 with a sentence in err and *rc set (RS_ERR_TIMEOUT
 * or RS_ERR_IO).
 */
static int tcp_connect(const char *host, uint16_t port, int64_t timeout_ms, enum rs_err *rc,
                       char *err, size_t errlen)
{
  struct addrinfo hints, *res = NULL, *ai;
  char service[8];
  int fd = -1, gai, e = 0;
  int64_t deadline = clock_real_mono_ms() + timeout_ms;
  bool timed_out = false;

  *rc = RS_ERR_IO;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  (void)rs_snprintf(service, sizeof(service), "%u", (unsigned)port);
  gai = getaddrinfo(host, service, &hints, &res);
  if(gai) {
    (void)rs_snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
    return -1;
  }
  for(ai = res; ai; ai = ai->ai_next) {
    struct pollfd pfd;
    int one = 1, so = 0, prc;
    socklen_t sl = sizeof(so);
    int64_t left;
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if(fd < 0) {
      e = errno;
      continue;
    }
    fd = fd_below_limit(fd, err, errlen);
    if(fd < 0) {
      freeaddrinfo(res);
      return -1;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if(connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
      break;
    if(errno != EINPROGRESS) {
      e = errno;
      close(fd);
      fd = -1;
      continue;
    }
    left = deadline - clock_real_mono_ms();
    pfd.fd = fd;
    pfd.events = POLLOUT;
    pfd.revents = 0;
    do
      prc = poll(&pfd, 1, left > 0 ? (int)left : 0);
    while(prc < 0 && errno == EINTR);
    if(prc == 0) {
      timed_out = true;
      close(fd);
      fd = -1;
      continue;
    }
    if(prc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) || so) {
      e = prc < 0 ? errno : so;
      close(fd);
      fd = -1;
      continue;
    }
    break;
  }
  freeaddrinfo(res);
  if(fd >= 0)
    return fd;
  if(timed_out) {
    *rc = RS_ERR_TIMEOUT;
    (void)rs_snprintf(err, errlen, "cannot connect to %s:%u: no answer within %lld ms", host,
                      (unsigned)port, (long long)timeout_ms);
  }
  else
    (void)rs_snprintf(err, errlen, "cannot connect to %s:%u: %s", host, (unsigned)port,
                      strerror(e ? e : ECONNREFUSED));
  return -1;
}

/* Open c's descriptor for device d (its settings make a new context). RS_OK or an error. */
static enum rs_err conn_connect(struct mb_conn *c, const struct cfg_device *d, char *err,
                                size_t errlen)
{
  enum rs_err rc = RS_OK;
  int fd;
  if(c->connected)
    return RS_OK;
  if(c->ctx && c->transport == CFG_TR_MODBUS_RTU &&
     (c->baud != d->baud || c->parity != d->parity || c->data_bits != d->data_bits ||
      c->stop_bits != d->stop_bits || c->rs485 != d->rs485))
    conn_close(c);
  if(!c->ctx) {
    if(c->transport == CFG_TR_MODBUS_TCP) {
      char service[8];
      (void)rs_snprintf(service, sizeof(service), "%u", (unsigned)d->port);
      c->ctx = modbus_new_tcp_pi(d->host, service);
    }
    else {
      c->ctx = modbus_new_rtu(d->serial, (int)d->baud, d->parity, d->data_bits, d->stop_bits);
      c->baud = d->baud;
      c->parity = d->parity;
      c->data_bits = d->data_bits;
      c->stop_bits = d->stop_bits;
      c->rs485 = d->rs485;
    }
    if(!c->ctx) {
      (void)rs_snprintf(err, errlen, "%s: cannot set up a libmodbus context: %s", c->key,
                        modbus_strerror(errno));
      return RS_ERR_INVALID;
    }
  }
  if(c->transport == CFG_TR_MODBUS_TCP) {
    fd = tcp_connect(d->host, d->port, d->timeout_ms, &rc, err, errlen);
    if(fd < 0)
      return rc;
    (void)modbus_set_socket(c->ctx, fd);
    c->connected = true;
    return RS_OK;
  }
  if(modbus_connect(c->ctx)) {
    (void)rs_snprintf(err, errlen, "cannot open %s: %s", d->serial, modbus_strerror(errno));
    return RS_ERR_IO;
  }
  c->connected = true;
  fd = modbus_get_socket(c->ctx);
  if(fd >= MODBUS_FD_LIMIT) {
    int nfd = fd_below_limit(dup(fd), err, errlen);
    if(nfd < 0) {
      conn_close(c);
      return RS_ERR_IO;
    }
    close(fd);
    (void)modbus_set_socket(c->ctx, nfd);
  }
  if(d->rs485 && modbus_rtu_set_serial_mode(c->ctx, MODBUS_RTU_RS485)) {
    if(!c->rs485_warned)
      log_warn("%s: cannot switch to RS485 mode (%s); going on in its current mode", d->serial,
               modbus_strerror(errno));
    c->rs485_warned = true;
  }
  (void)modbus_flush(c->ctx);
  return RS_OK;
}

/* ---- one device ----------------------------------------------------------- */

/* What a point's last read gave, so changes are logged once. */
struct pt_state {
  enum reading_error err;
  int code;
};

/* One request's buffers: the largest reply of either kind. */
struct req_buf {
  uint16_t regs[MBPLAN_MAX_REGISTERS];
  uint8_t bits[MBPLAN_MAX_BITS];
};

struct mb_dev {
  struct mb_conn *conn;
  struct req_buf buf; /* the reply being decoded */
  struct mbplan plan;
  struct pt_state *pts; /* one per point of a->dev */
  size_t n_pts;
};

static void dev_plan(struct adapter *a, struct mb_dev *md)
{
  char err[256];
  size_t i;
  mbplan_free(&md->plan);
  if(mbplan_build(a->dev, &md->plan, err, sizeof(err)))
    log_warn("device %s: %s", a->dev->id, err);
  FREE_NULL(md->pts);
  md->n_pts = a->dev->n_points;
  md->pts = rs_xcalloc(md->n_pts ? md->n_pts : 1, sizeof(*md->pts));
  for(i = 0; i < md->n_pts; i++)
    md->pts[i].err = READING_OK;
}

static enum rs_err mb_open(struct adapter *a, char *err, size_t errlen)
{
  struct mb_dev *md;
  const struct cfg_device *d = a->dev;
  if((d->transport == CFG_TR_MODBUS_TCP && !d->host) ||
     (d->transport == CFG_TR_MODBUS_RTU && !d->serial) || d->transport == CFG_TR_COAP) {
    (void)rs_snprintf(err, errlen, "device %s: not a complete Modbus transport", d->id);
    return RS_ERR_INVALID;
  }
  md = rs_xcalloc(1, sizeof(*md));
  md->conn = conn_get(d);
  dev_plan(a, md);
  a->priv = md;
  return RS_OK;
}

static void mb_close(struct adapter *a)
{
  struct mb_dev *md = a->priv;
  if(!md)
    return;
  conn_put(md->conn);
  mbplan_free(&md->plan);
  FREE_NULL(md->pts);
  FREE_NULL(a->priv);
}

static int mb_reconfigure(struct adapter *a)
{
  struct mb_dev *md = a->priv;
  dev_plan(a, md);
  return 0; /* the bus is the same (the scheduler moves devices whose bus changed) */
}

/* How a request failed. */
enum req_fail { RF_OK, RF_TIMEOUT, RF_IO, RF_BUSY, RF_EXCEPTION, RF_MALFORMED };

static enum req_fail classify(int e, int *code)
{
  *code = 0;
  if(e == ETIMEDOUT)
    return RF_TIMEOUT;
  if(e == EMBXSBUSY) {
    *code = MODBUS_EXCEPTION_SLAVE_OR_SERVER_BUSY;
    return RF_BUSY;
  }
  if(e > MODBUS_ENOBASE && e <= EMBXGTAR) {
    *code = e - MODBUS_ENOBASE;
    return RF_EXCEPTION;
  }
  if(e == EMBBADCRC || e == EMBBADDATA || e == EMBBADEXC || e == EMBUNKEXC || e == EMBMDATA ||
     e == EMBBADSLAVE)
    return RF_MALFORMED;
  return RF_IO;
}

/* Issue one read of r on ctx; returns the count read or -1 (errno set). */
static int do_read(modbus_t *ctx, const struct mbplan_req *r, struct req_buf *b)
{
  switch(r->table) {
  case CFG_REG_COIL:
    return modbus_read_bits(ctx, r->start, r->count, b->bits);
  case CFG_REG_DISCRETE:
    return modbus_read_input_bits(ctx, r->start, r->count, b->bits);
  case CFG_REG_INPUT:
    return modbus_read_input_registers(ctx, r->start, r->count, b->regs);
  case CFG_REG_HOLDING:
    break;
  }
  return modbus_read_registers(ctx, r->start, r->count, b->regs);
}

/* Log a point's error when it differs from the last one, and a recovery. */
static void note_point(const struct cfg_device *d, const struct cfg_point *pt, struct pt_state *ps,
                       enum reading_error e, int code, const char *detail)
{
  if(ps->err == e && ps->code == code)
    return;
  if(e == READING_OK)
    log_notice("device %s point %s: reading again", d->id, pt->id);
  else
    log_warn("device %s point %s: %s", d->id, pt->id, detail ? detail : reading_error_name(e));
  ps->err = e;
  ps->code = code;
}

/* Emit every point of r with the failure e (code, detail). */
static void emit_req_failure(struct adapter *a, struct mb_dev *md, const struct mbplan_req *r,
                             int64_t wall_ms, enum reading_error e, int code, const char *detail,
                             adapter_emit_fn emit, void *ctx)
{
  size_t i;
  for(i = 0; i < r->n_items; i++) {
    const struct cfg_point *pt = &a->dev->points[r->items[i].point];
    struct reading rd;
    memset(&rd, 0, sizeof(rd));
    rd.device = a->dev->id;
    rd.point = pt->id;
    rd.wall_ms = wall_ms;
    rd.is_bool = pt->type == CFG_VT_BOOL;
    rd.error = e;
    rd.code = code;
    rd.detail = detail;
    note_point(a->dev, pt, &md->pts[r->items[i].point], e, code, detail);
    emit(ctx, &rd);
  }
}

/* Decode and emit every point of r from the reply in b. */
static void emit_req_values(struct adapter *a, struct mb_dev *md, const struct mbplan_req *r,
                            const struct req_buf *b, int64_t wall_ms, adapter_emit_fn emit,
                            void *ctx)
{
  bool bits = r->table == CFG_REG_COIL || r->table == CFG_REG_DISCRETE;
  size_t i, k;
  for(i = 0; i < r->n_items; i++) {
    const struct mbplan_item *it = &r->items[i];
    const struct cfg_point *pt = &a->dev->points[it->point];
    uint16_t regs[MBPLAN_MAX_REGISTERS];
    struct codec_value v;
    char err[CODEC_ERR_MAX];
    struct reading rd;
    size_t w = it->width;
    enum codec_err cr;

    if(w > RS_ARRAY_LEN(regs))
      w = RS_ARRAY_LEN(regs);
    for(k = 0; k < w; k++)
      regs[k] = bits ? (uint16_t)b->bits[it->offset + k] : b->regs[it->offset + k];
    memset(&rd, 0, sizeof(rd));
    rd.device = a->dev->id;
    rd.point = pt->id;
    rd.wall_ms = wall_ms;
    rd.is_bool = pt->type == CFG_VT_BOOL;
    rd.n_raw = (unsigned)(w < READING_RAW_MAX ? w : READING_RAW_MAX);
    memcpy(rd.raw, regs, rd.n_raw * sizeof(rd.raw[0]));
    cr = mbc_decode(pt, regs, w, &v, err, sizeof(err));
    if(cr) {
      rd.error = READING_ERR_MALFORMED;
      rd.detail = err;
    }
    else {
      rd.value = codec_value_as_double(&v);
      rd.is_int = v.kind == CODEC_V_INT || v.kind == CODEC_V_UINT;
    }
    note_point(a->dev, pt, &md->pts[it->point], rd.error, 0, rd.detail);
    emit(ctx, &rd);
  }
}

/* The outcome of one request of a poll. */
struct req_out {
  enum req_fail f;
  int code;
  char detail[300];
};

/* Fill o->detail: "holding 100..109 of unit 1: " + what. */
static void req_detail(struct req_out *o, const struct mbplan_req *r, int unit, const char *what)
{
  (void)rs_snprintf(o->detail, sizeof(o->detail), "%s %u..%u of unit %d: %s",
                    cfg_regtable_name(r->table), (unsigned)r->start,
                    (unsigned)(r->start + r->count - 1), unit, what);
}

/*
 * Run request r with at most *budget failed attempts (shared by the poll),
 * reconnecting as needed. Returns its outcome; on RF_OK the reply is in b.
 * *last is set to RS_ERR_IO or RS_ERR_TIMEOUT after such a failure.
 */
static void run_request(const struct cfg_device *d, struct mb_conn *c, const struct mbplan_req *r,
                        struct req_buf *b, int *budget, enum rs_err *last, struct req_out *o)
{
  char what[256];
  o->f = RF_TIMEOUT;
  o->code = 0;
  o->detail[0] = '\0';
  while(*budget > 0) {
    enum rs_err crc = conn_connect(c, d, what, sizeof(what));
    int n, e;
    int64_t bt = d->timeout_ms < 500 ? d->timeout_ms : 500;
    if(crc) {
      (*budget)--;
      o->f = crc == RS_ERR_TIMEOUT ? RF_TIMEOUT : RF_IO;
      *last = crc == RS_ERR_TIMEOUT ? RS_ERR_TIMEOUT : RS_ERR_IO;
      (void)rs_strlcpy(o->detail, what, sizeof(o->detail));
      if(crc == RS_ERR_INVALID)
        *budget = 0;
      continue;
    }
    if(modbus_set_slave(c->ctx, d->unit_id)) {
      /* never fall back to the unit id of the previous device on this bus */
      o->f = RF_IO;
      (void)rs_snprintf(what, sizeof(what), "unit id %d is not accepted by libmodbus (%s)",
                        d->unit_id, modbus_strerror(errno));
      req_detail(o, r, d->unit_id, what);
      *last = RS_ERR_INVALID;
      *budget = 0;
      return;
    }
    (void)modbus_set_response_timeout(c->ctx, (uint32_t)(d->timeout_ms / 1000),
                                      (uint32_t)(d->timeout_ms % 1000) * 1000u);
    (void)modbus_set_byte_timeout(c->ctx, (uint32_t)(bt / 1000), (uint32_t)(bt % 1000) * 1000u);
    errno = 0;
    n = do_read(c->ctx, r, b);
    if(n == (int)r->count) {
      o->f = RF_OK;
      return;
    }
    e = n < 0 ? errno : EMBBADDATA;
    o->f = classify(e, &o->code);
    if(o->f == RF_EXCEPTION) {
      (void)rs_snprintf(what, sizeof(what), "Modbus exception %d (%s)", o->code,
                        modbus_strerror(e));
      req_detail(o, r, d->unit_id, what);
      return;
    }
    (*budget)--;
    if(o->f == RF_BUSY) {
      req_detail(o, r, d->unit_id, "Modbus exception 6 (server busy) on every try");
      if(*budget > 0)
        clock_sleep_real_ms(d->busy_wait_ms);
      continue;
    }
    req_detail(o, r, d->unit_id,
               o->f == RF_TIMEOUT ? "no answer in time"
               : n >= 0           ? "reply with the wrong number of values"
                                  : modbus_strerror(e));
    if(o->f == RF_TIMEOUT) {
      *last = RS_ERR_TIMEOUT;
      (void)modbus_flush(c->ctx); /* a late reply must not answer the next request */
    }
    else if(o->f == RF_MALFORMED && c->transport == CFG_TR_MODBUS_RTU)
      (void)modbus_flush(c->ctx);
    else {
      /* an I/O error, or a TCP stream whose framing can no longer be trusted */
      if(o->f == RF_IO)
        *last = RS_ERR_IO;
      modbus_close(c->ctx);
      c->connected = false;
    }
  }
  if(!o->detail[0])
    req_detail(o, r, d->unit_id, "not tried: the poll had no attempts left");
}

static enum rs_err mb_poll(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ctx,
                           char *err, size_t errlen)
{
  struct mb_dev *md = a->priv;
  const struct cfg_device *d = a->dev;
  struct req_buf *b = &md->buf;
  struct req_out *outs = rs_xcalloc(md->plan.n_reqs ? md->plan.n_reqs : 1, sizeof(*outs));
  int budget = d->retries + 1; /* failed attempts this poll may spend */
  size_t i, answered = 0;
  enum rs_err last = RS_ERR_TIMEOUT, rc = RS_OK;

  err[0] = '\0';
  for(i = 0; i < md->plan.n_reqs; i++) {
    const struct mbplan_req *r = &md->plan.reqs[i];
    struct req_out *o = &outs[i];
    run_request(d, md->conn, r, b, &budget, &last, o);
    if(o->f == RF_OK)
      emit_req_values(a, md, r, b, wall_ms, emit, ctx);
    if(o->f == RF_OK || o->f == RF_EXCEPTION || o->f == RF_BUSY || o->f == RF_MALFORMED)
      answered++;
    else if(!err[0])
      (void)rs_strlcpy(err, o->detail, errlen);
  }
  if(md->plan.n_reqs && !answered) {
    /* the device did not answer at all: the scheduler reports every point */
    rc = last;
    goto out;
  }
  err[0] = '\0';
  for(i = 0; i < md->plan.n_reqs; i++) {
    const struct req_out *o = &outs[i];
    enum reading_error e;
    switch(o->f) {
    case RF_OK:
      continue;
    case RF_EXCEPTION:
    case RF_BUSY:
      e = READING_ERR_EXCEPTION;
      break;
    case RF_MALFORMED:
      e = READING_ERR_MALFORMED;
      break;
    case RF_IO:
      e = READING_ERR_IO;
      break;
    case RF_TIMEOUT:
    default:
      e = READING_ERR_NO_ANSWER;
      break;
    }
    emit_req_failure(a, md, &md->plan.reqs[i], wall_ms, e, o->code, o->detail, emit, ctx);
  }
  for(i = 0; i < md->plan.n_unplanned; i++) {
    const struct cfg_point *pt = &d->points[md->plan.unplanned[i].point];
    struct reading rd;
    memset(&rd, 0, sizeof(rd));
    rd.device = d->id;
    rd.point = pt->id;
    rd.wall_ms = wall_ms;
    rd.is_bool = pt->type == CFG_VT_BOOL;
    rd.error = READING_ERR_MALFORMED;
    rd.detail = md->plan.unplanned[i].reason;
    emit(ctx, &rd);
  }
out:
  FREE_NULL(outs);
  return rc;
}

const struct adapter_ops modbus_tcp_ops = {
    .name = "modbus-tcp",
    .open = mb_open,
    .close = mb_close,
    .poll = mb_poll,
    .reconfigure = mb_reconfigure,
};

const struct adapter_ops modbus_rtu_ops = {
    .name = "modbus-rtu",
    .open = mb_open,
    .close = mb_close,
    .poll = mb_poll,
    .reconfigure = mb_reconfigure,
};

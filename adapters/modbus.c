/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modbus: the Modbus RTU backend on libmodbus, one bus thread per serial
 * port (see modbus.h; TCP is modbus_tcp.c, on the event loop).
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
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <modbus/modbus.h> /* rsadapters gets no pkg-config include path */

#include "adapters/modbus_dev.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "base/log.h"

#define KEY_MAX 512

/* ---- the connection registry ------------------------------------------ */

/*
 * One serial port's connection, keyed "modbus-rtu PATH" by the port's path
 * with symlinks resolved when the device is opened or polled (realpath()),
 * else by the device's bus key (adapter_bus_key(): the path resolved at
 * load, or as written). Two spellings of one port (/dev/ttyUSB0 and a
 * /dev/serial/by-id link) are one bus when the port was there at load; when
 * it appeared later they are two buses (two threads), and once it resolves
 * one connection that their polls take turns on (use_mu): one master on the
 * line, and the port's lock (flock) is not taken twice. refs, resolved and
 * the registry under reg_mu; the rest by the poll that holds use_mu.
 */
struct mb_conn {
  char key[KEY_MAX];
  bool resolved;          /* key holds the port's resolved path (else: retried by each poll) */
  pthread_mutex_t use_mu; /* held through a poll */
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

/*
 * d's connection key into key: "modbus-rtu REAL" when d's serial path
 * resolves now (*resolved set), else its bus key (*resolved cleared).
 */
static void conn_key(const struct cfg_device *d, char *key, size_t size, bool *resolved)
{
  char *real = d->serial ? realpath(d->serial, NULL) : NULL;
  *resolved = real != NULL;
  if(real)
    (void)rs_snprintf(key, size, "modbus-rtu %s", real);
  else
    (void)adapter_bus_key(d, key, size);
  free(real);
}

/* The connection for key, made when new; one more reference. Under reg_mu. */
static struct mb_conn *conn_ref_locked(const char *key, bool resolved, enum cfg_transport tr)
{
  struct mb_conn *c;
  for(c = reg_head; c; c = c->next) {
    if(!strcmp(c->key, key))
      break;
  }
  if(!c) {
    c = rs_xcalloc(1, sizeof(*c));
    (void)rs_strlcpy(c->key, key, sizeof(c->key));
    pthread_mutex_init(&c->use_mu, NULL);
    c->transport = tr;
    c->next = reg_head;
    reg_head = c;
  }
  c->resolved |= resolved;
  c->refs++;
  return c;
}

/* The connection for d's port, made when new; refcounted. */
static struct mb_conn *conn_get(const struct cfg_device *d)
{
  char key[KEY_MAX];
  bool resolved;
  struct mb_conn *c;
  conn_key(d, key, sizeof(key), &resolved);
  pthread_mutex_lock(&reg_mu);
  c = conn_ref_locked(key, resolved, d->transport);
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
  pthread_mutex_destroy(&c->use_mu);
  free(c);
}

/*
 * *pc was made while its port did not resolve (not plugged in at load, or
 * unplugged): when it resolves now, the device moves to the connection of
 * the resolved port, which another spelling of it may share. The old one is
 * closed first (a connect that raced the port's arrival holds its lock);
 * the devices still on it spell the port alike, run on this bus and move at
 * their next poll.
 */
static void conn_resolve(struct mb_conn **pc, const struct cfg_device *d)
{
  struct mb_conn *old = *pc;
  char key[KEY_MAX];
  bool resolved;
  pthread_mutex_lock(&reg_mu);
  resolved = old->resolved;
  pthread_mutex_unlock(&reg_mu);
  if(resolved)
    return;
  conn_key(d, key, sizeof(key), &resolved);
  if(!resolved)
    return;
  pthread_mutex_lock(&reg_mu);
  if(!strcmp(old->key, key)) {
    old->resolved = true; /* the path as it resolves: nothing to move */
    pthread_mutex_unlock(&reg_mu);
    return;
  }
  *pc = conn_ref_locked(key, true, d->transport);
  pthread_mutex_unlock(&reg_mu);
  log_info("%s: the port is %s; devices naming it by another path share its connection", d->serial,
           key + strlen("modbus-rtu "));
  pthread_mutex_lock(&old->use_mu);
  conn_close(old);
  pthread_mutex_unlock(&old->use_mu);
  conn_put(old);
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

/* Open c's serial port for device d (its settings make a new context). RS_OK or an error. */
static enum rs_err conn_connect(struct mb_conn *c, const struct cfg_device *d, char *err,
                                size_t errlen)
{
  int fd;
  if(c->connected)
    return RS_OK;
  if(c->ctx && (c->baud != d->baud || c->parity != d->parity || c->data_bits != d->data_bits ||
                c->stop_bits != d->stop_bits || c->rs485 != d->rs485))
    conn_close(c);
  if(!c->ctx) {
    c->ctx = modbus_new_rtu(d->serial, (int)d->baud, d->parity, d->data_bits, d->stop_bits);
    c->baud = d->baud;
    c->parity = d->parity;
    c->data_bits = d->data_bits;
    c->stop_bits = d->stop_bits;
    c->rs485 = d->rs485;
    if(!c->ctx) {
      (void)rs_snprintf(err, errlen, "%s: cannot set up a libmodbus context: %s", c->key,
                        modbus_strerror(errno));
      return RS_ERR_INVALID;
    }
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
  /* one master per line: two processes on one port (restockd and a restockctl probe)
     would read each other's replies, and RTU replies carry nothing to tell them apart */
  if(flock(modbus_get_socket(c->ctx), LOCK_EX | LOCK_NB)) {
    int e = errno;
    (void)rs_snprintf(err, errlen,
                      "cannot open %s: %s", d->serial,
                      e == EWOULDBLOCK ? "in use by another process (restockd or a probe: stop "
                                         "it first) or by a device naming it by another path"
                                       : strerror(e));
    conn_close(c);
    return e == EWOULDBLOCK ? RS_ERR_INVALID : RS_ERR_IO;
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

/* One request's buffers: the largest reply of either kind. */
struct req_buf {
  uint16_t regs[MBPLAN_MAX_REGISTERS];
  uint8_t bits[MBPLAN_MAX_BITS];
};

struct mb_dev {
  struct mb_conn *conn;
  struct req_buf buf; /* the reply being decoded */
  struct mbd m;
};

static enum rs_err mb_open(struct adapter *a, char *err, size_t errlen)
{
  struct mb_dev *md;
  const struct cfg_device *d = a->dev;
  if(d->transport != CFG_TR_MODBUS_RTU || !d->serial) {
    (void)rs_snprintf(err, errlen, "device %s: not a complete Modbus RTU transport", d->id);
    return RS_ERR_INVALID;
  }
  md = rs_xcalloc(1, sizeof(*md));
  md->conn = conn_get(d);
  mbd_plan(&md->m, d);
  a->priv = md;
  return RS_OK;
}

static void mb_close(struct adapter *a)
{
  struct mb_dev *md = a->priv;
  if(!md)
    return;
  conn_put(md->conn);
  mbd_free(&md->m);
  FREE_NULL(a->priv);
}

static int mb_reconfigure(struct adapter *a)
{
  struct mb_dev *md = a->priv;
  mbd_plan(&md->m, a->dev);
  return 0; /* the bus is the same (the scheduler moves devices whose bus changed) */
}

/* How a request failed, from libmodbus' errno. */
static enum mbd_fail classify(int e, int *code)
{
  *code = 0;
  if(e == ETIMEDOUT)
    return MBD_TIMEOUT;
  if(e == EMBXSBUSY) {
    *code = MODBUS_EXCEPTION_SLAVE_OR_SERVER_BUSY;
    return MBD_BUSY;
  }
  if(e > MODBUS_ENOBASE && e <= EMBXGTAR) {
    *code = e - MODBUS_ENOBASE;
    return MBD_EXCEPTION;
  }
  if(e == EMBBADCRC || e == EMBBADDATA || e == EMBBADEXC || e == EMBUNKEXC || e == EMBMDATA ||
     e == EMBBADSLAVE)
    return MBD_MALFORMED;
  return MBD_IO;
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

/*
 * After a request on ctx timed out: wait up to window_ms for its late reply
 * and throw it away, so that it is not taken as the answer to the next
 * request (RTU has no transaction id: a late reply to "holding 10" reads as
 * "holding 190" when the counts match). Once bytes come, reading goes on
 * until the line has been quiet for ten character times (at least 20 ms).
 * Returns when the first byte came, in ms after sent_ms (monotonic), or -1
 * when none came (or the port failed).
 */
static int64_t drain_late_reply(modbus_t *ctx, int64_t baud, int64_t sent_ms, int64_t window_ms)
{
  int fd = modbus_get_socket(ctx);
  int64_t now = clock_real_mono_ms(), end = now + window_ms, cap = end, first = -1;
  int64_t gap = 110000 / (baud > 0 ? baud : 9600) + 1; /* 10 characters of 11 bits */
  uint8_t junk[256];
  if(gap < 20)
    gap = 20;
  while(fd >= 0 && end > now) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int rc = poll(&pfd, 1, (int)(end - now));
    if(rc < 0 && errno == EINTR) {
      now = clock_real_mono_ms();
      continue;
    }
    if(rc <= 0 || read(fd, junk, sizeof(junk)) <= 0)
      break;
    now = clock_real_mono_ms();
    if(first < 0) {
      first = now - sent_ms;
      cap = now + window_ms; /* a device that never stops talking is left after this */
    }
    end = now + gap < cap ? now + gap : cap;
  }
  return first;
}

/*
 * Run request i of md's plan with at most *budget failed attempts (shared by
 * the poll), reconnecting as needed; its outcome goes into md->m.outs[i] (on
 * MBD_OK the reply is in md->buf). *last is set to RS_ERR_IO or
 * RS_ERR_TIMEOUT after such a failure. After a timeout the late reply is
 * waited for and dropped (drain_late_reply) while *drain holds; a wait in
 * which nothing came clears it (a silent device costs one wait per poll).
 */
static void run_request(const struct cfg_device *d, struct mb_dev *md, size_t i, int *budget,
                        enum rs_err *last, bool *drain)
{
  struct mb_conn *c = md->conn;
  const struct mbplan_req *r = &md->m.plan.reqs[i];
  char what[256];
  while(*budget > 0) {
    enum rs_err crc = conn_connect(c, d, what, sizeof(what));
    enum mbd_fail f;
    int n, e, code;
    int64_t bt = d->timeout_ms < 500 ? d->timeout_ms : 500, sent;
    if(crc) {
      (*budget)--;
      *last = crc == RS_ERR_TIMEOUT ? RS_ERR_TIMEOUT : RS_ERR_IO;
      mbd_set(&md->m, d, i, crc == RS_ERR_TIMEOUT ? MBD_TIMEOUT : MBD_IO, 0, what);
      if(crc == RS_ERR_INVALID)
        *budget = 0;
      continue;
    }
    if(modbus_set_slave(c->ctx, d->unit_id)) {
      /* never fall back to the unit id of the previous device on this bus */
      (void)rs_snprintf(what, sizeof(what), "unit id %d is not accepted by libmodbus (%s)",
                        d->unit_id, modbus_strerror(errno));
      mbd_set(&md->m, d, i, MBD_IO, 0, what);
      *last = RS_ERR_INVALID;
      *budget = 0;
      return;
    }
    (void)modbus_set_response_timeout(c->ctx, (uint32_t)(d->timeout_ms / 1000),
                                      (uint32_t)(d->timeout_ms % 1000) * 1000u);
    (void)modbus_set_byte_timeout(c->ctx, (uint32_t)(bt / 1000), (uint32_t)(bt % 1000) * 1000u);
    errno = 0;
    sent = clock_real_mono_ms();
    n = do_read(c->ctx, r, &md->buf);
    if(n == (int)r->count) {
      md->m.outs[i].f = MBD_OK;
      return;
    }
    e = n < 0 ? errno : EMBBADDATA;
    f = classify(e, &code);
    if(f == MBD_EXCEPTION) {
      (void)rs_snprintf(what, sizeof(what), "Modbus exception %d (%s)", code, modbus_strerror(e));
      mbd_set(&md->m, d, i, f, code, what);
      return;
    }
    (*budget)--;
    if(f == MBD_BUSY) {
      mbd_set(&md->m, d, i, f, code, "Modbus exception 6 (server busy) on every try");
      if(*budget > 0)
        clock_sleep_real_ms(d->busy_wait_ms);
      continue;
    }
    if(f == MBD_TIMEOUT) {
      int64_t late = *drain ? drain_late_reply(c->ctx, d->baud, sent, d->timeout_ms) : -1;
      *last = RS_ERR_TIMEOUT;
      *drain = late >= 0;
      (void)modbus_flush(c->ctx); /* a late reply must not answer the next request */
      if(late >= 0)
        (void)rs_snprintf(what, sizeof(what),
                          "no answer in time (a reply came %lld ms after the request, the "
                          "timeout is %lld ms: raise the device's timeout)",
                          (long long)late, (long long)d->timeout_ms);
      mbd_set(&md->m, d, i, f, code, late >= 0 ? what : "no answer in time");
      continue;
    }
    if(f == MBD_MALFORMED && (e == EMBBADCRC || e == EMBBADSLAVE)) {
      /* what a wrong baud rate, parity or stop bits look like on a serial line */
      (void)rs_snprintf(what, sizeof(what),
                        "%s (garbled reply: check that the device uses %lld baud, parity %c, "
                        "%d data and %d stop bits, and that no other master is on the line)",
                        modbus_strerror(e), (long long)d->baud, d->parity, d->data_bits,
                        d->stop_bits);
      mbd_set(&md->m, d, i, f, code, what);
    }
    else
      mbd_set(&md->m, d, i, f, code,
              n >= 0 ? "reply with the wrong number of values" : modbus_strerror(e));
    if(f == MBD_MALFORMED)
      (void)modbus_flush(c->ctx);
    else {
      *last = RS_ERR_IO;
      modbus_close(c->ctx);
      c->connected = false;
    }
  }
}

static enum rs_err mb_poll(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ctx,
                           char *err, size_t errlen)
{
  struct mb_dev *md = a->priv;
  const struct cfg_device *d = a->dev;
  int budget = d->retries + 1; /* failed attempts this poll may spend */
  size_t i;
  enum rs_err last = RS_ERR_TIMEOUT;
  bool drain = true;

  conn_resolve(&md->conn, d);
  pthread_mutex_lock(&md->conn->use_mu);
  mbd_begin(&md->m, d);
  for(i = 0; i < md->m.plan.n_reqs; i++) {
    const struct mbplan_req *r = &md->m.plan.reqs[i];
    bool bits = r->table == CFG_REG_COIL || r->table == CFG_REG_DISCRETE;
    run_request(d, md, i, &budget, &last, &drain);
    if(md->m.outs[i].f == MBD_OK)
      mbd_emit_values(&md->m, d, i, bits ? NULL : md->buf.regs, bits ? md->buf.bits : NULL,
                      wall_ms, emit, ctx);
  }
  pthread_mutex_unlock(&md->conn->use_mu);
  return mbd_finish(&md->m, d, wall_ms, last, emit, ctx, err, errlen);
}

const struct adapter_ops modbus_rtu_ops = {
    .name = "modbus-rtu",
    .open = mb_open,
    .close = mb_close,
    .poll = mb_poll,
    .reconfigure = mb_reconfigure,
};

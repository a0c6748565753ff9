/* SPDX-License-Identifier: Apache-2.0 */
/*
 * adapter: the one interface every device I/O backend implements (Modbus
 * TCP, Modbus RTU, CoAP; a fake one in tests/). Shaped after libmodbus'
 * modbus_backend_t and curl's Curl_cftype:
 *
 *   - each backend defines one `static const struct adapter_ops` table;
 *   - an instance is a `struct adapter` holding the table, the backend's
 *     private pointer and the device's config;
 *   - callers use the adapter_*() inline wrappers below and never write
 *     `a->ops->x`; optional methods are NULL-checked in the wrapper.
 *
 * The scheduler (gateway/scheduler.h) owns adapter instances, one per
 * configured device, and finds the table for a device's transport through an
 * adapter_lookup_fn (adapter_default_lookup() for the daemon, a fake in tests).
 *
 * A poll reads every point of the device and hands one `struct reading` per
 * point to the emit callback — also for points that failed (error set), so
 * the reading path sees every attempt. Device ids and point ids in a reading
 * are only valid during the callback: copy what you keep.
 *
 * Threads: all methods of the adapters of one bus (adapter_bus_key()) are
 * called from one thread: the bus's worker in restockd, the caller's thread
 * in inline mode (tests, restockctl probe). Different buses run on
 * different threads at once, so state shared across buses through env must
 * be locked; state of one bus (a shared connection) needs no lock.
 * Backends with start() (Modbus TCP) run on the main thread's event loop
 * instead when the scheduler has one (scheduler_attach_loop()): every
 * device in flight at once, no thread per bus.
 */
#ifndef RS_ADAPTER_H
#define RS_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/rs_err.h"

/* Most registers one point covers (a 64-bit value is four). */
#define READING_RAW_MAX 4

/* Why a reading carries no value. READING_OK means it has one. */
enum reading_error {
  READING_OK = 0,
  READING_ERR_NO_ANSWER, /* timeout, refused connection, no adapter: the device did not answer */
  READING_ERR_IO,        /* the connection broke mid-request */
  READING_ERR_EXCEPTION, /* the device answered with an exception (Modbus) or error code (CoAP) */
  READING_ERR_MALFORMED  /* a short or malformed reply or payload */
};

/* "ok", "no_answer", "io", "exception", "malformed": the metric/status label. */
const char *reading_error_name(enum reading_error e);

/*
 * The reading event: one point of one device, read once. Produced by an
 * adapter, consumed by the reading path (gateway/reading.h).
 */
struct reading {
  const char *device; /* device id (cfg_device.id); valid during the callback only */
  const char *point;  /* point id (cfg_point.id); valid during the callback only */
  int64_t wall_ms;    /* when it was read, on the daemon's clock (Unix ms) */
  double value;       /* decoded * scale + offset; 0/1 for bool; meaningless when error */
  bool is_bool;       /* the point is a bool (coil, discrete or bit) */
  bool is_int;        /* an exact integer (no scale/offset); value holds it */
  uint16_t raw[READING_RAW_MAX]; /* registers (or bits) as they came off the wire */
  unsigned n_raw;                /* how many of raw[] are set (0 for CoAP) */
  enum reading_error error;
  int code;           /* READING_ERR_EXCEPTION: the Modbus exception code (1..255) or
                         the CoAP response code (class * 32 + detail); 0 otherwise */
  const char *detail; /* a sentence about the error, or NULL; valid during the callback */
  /* Indexes, so the reading path finds its state without looking ids up
     (0: unknown, look up by id). point_ref is set by the adapter (index + 1
     into its cfg_device.points), device_ref by the scheduler (index + 1
     into cfg.devices of the config it runs). */
  uint32_t point_ref;
  uint32_t device_ref;
};

/* Where an adapter sends its readings (the scheduler passes its own). */
typedef void (*adapter_emit_fn)(void *ctx, const struct reading *r);

/* How an event-loop poll (adapter_ops.start) ended: what poll() would have returned. */
typedef void (*adapter_done_fn)(void *ctx, enum rs_err rc, const char *err);

struct adapter;
struct evloop;

struct adapter_ops {
  /* Backend name, e.g. "modbus-tcp" (matches cfg_transport_name()). */
  const char *name;

  /*
   * Required. Set a->priv for the device a->dev; connecting may be lazy
   * (done on the first poll). Returns RS_OK, or an error with a sentence in
   * err; on failure a->priv is left NULL and close() is not called.
   */
  enum rs_err (*open)(struct adapter *a, char *err, size_t errlen);

  /* Required. Close connections and free a->priv. Never fails. */
  void (*close)(struct adapter *a);

  /*
   * Required. Read every point of a->dev now and call emit once per point
   * (with error set on points that failed). Returns RS_OK when the device
   * answered (some points may still carry errors), or an error (typically
   * RS_ERR_TIMEOUT / RS_ERR_IO) with a sentence in err when it did not; in
   * that case the adapter need not emit anything.
   */
  enum rs_err (*poll)(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ctx,
                      char *err, size_t errlen);

  /*
   * Optional. A file descriptor for the main loop's epoll (CoAP observe), or
   * -1. It may change between calls (a reconnect) if the backend closed the
   * old one; the scheduler re-reads it after every call into the adapter.
   */
  int (*fd)(const struct adapter *a);

  /*
   * Optional. fd() became readable: process it and emit readings that
   * arrived. Must tolerate a spurious wake-up (nothing to read, EAGAIN).
   */
  enum rs_err (*on_readable)(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ctx);

  /*
   * Optional. Real monotonic ms (clock_real_mono_ms()) at which the adapter
   * wants on_timeout() called (retransmissions), or INT64_MAX for none.
   */
  int64_t (*next_timeout)(const struct adapter *a);
  void (*on_timeout)(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ctx);

  /*
   * Optional. The device's config was replaced by a reload (same id and
   * transport); a->dev already points at the new one. Return non-zero to be
   * closed and reopened instead. Without it the scheduler always reopens.
   */
  int (*reconfigure)(struct adapter *a);

  /*
   * Optional: backends that run on the event loop (a->loop, base/evloop.h)
   * instead of a bus thread. Start reading every point of a->dev and return
   * at once; readings go to emit(ctx, r) as replies arrive (from the loop's
   * callbacks), then done(ctx, rc, err) is called exactly once with what
   * poll() would have returned. Neither is called from inside start(). At
   * most one poll per adapter is running. open() was called with a->loop
   * already set.
   */
  void (*start)(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, adapter_done_fn done,
                void *ctx);
  /* Required with start: abandon a started poll (no callback follows). No-op when idle. */
  void (*cancel)(struct adapter *a);
};

/* One backend instance for one device. */
struct adapter {
  const struct adapter_ops *ops;
  void *priv;                   /* the backend's own state for this device */
  const struct cfg_device *dev; /* current config of the device (changes on reload) */
  void *env;                    /* the lookup's ctx, shared by every instance: e.g. the
                                   connections that devices on one bus share */
  struct evloop *loop;          /* the event loop start() runs on (set before open());
                                   NULL: poll() only */
};

/*
 * Finds the backend table for a transport; NULL when none is built in. ctx
 * is handed to every instance as adapter.env.
 */
typedef const struct adapter_ops *(*adapter_lookup_fn)(void *ctx, enum cfg_transport t);

/*
 * The daemon's lookup: the backends compiled into this build. Returns NULL
 * for a transport without one (then the device is reported down with
 * "no <transport> adapter in this build"). ctx is unused.
 */
const struct adapter_ops *adapter_default_lookup(void *ctx, enum cfg_transport t);

/*
 * The bus a device is on, as a key: devices with equal keys share one
 * connection and one worker thread. "modbus-tcp HOST:PORT", "modbus-rtu
 * PORT" (PORT: the serial path resolved at load, cfg_device.serial_port, so
 * two spellings of one port are one bus), "coap DEVICE-ID" (every CoAP device is its own bus). Returns 0,
 * or -1 when buf is too small (buf then holds a terminated prefix).
 */
int adapter_bus_key(const struct cfg_device *d, char *buf, size_t size);

/* --- wrappers: call these, never a->ops->x --- */

static inline const char *adapter_name(const struct adapter *a)
{
  return a->ops->name;
}

static inline enum rs_err adapter_open(struct adapter *a, char *err, size_t errlen)
{
  return a->ops->open(a, err, errlen);
}

static inline void adapter_close(struct adapter *a)
{
  a->ops->close(a);
  a->priv = NULL;
}

static inline enum rs_err adapter_poll(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit,
                                       void *ctx, char *err, size_t errlen)
{
  return a->ops->poll(a, wall_ms, emit, ctx, err, errlen);
}

/* -1 when the backend has no descriptor. */
static inline int adapter_fd(const struct adapter *a)
{
  return a->ops->fd ? a->ops->fd(a) : -1;
}

static inline enum rs_err adapter_on_readable(struct adapter *a, int64_t wall_ms,
                                              adapter_emit_fn emit, void *ctx)
{
  return a->ops->on_readable ? a->ops->on_readable(a, wall_ms, emit, ctx) : RS_OK;
}

/* INT64_MAX when the backend has no timer of its own. */
static inline int64_t adapter_next_timeout(const struct adapter *a)
{
  return a->ops->next_timeout ? a->ops->next_timeout(a) : INT64_MAX;
}

static inline void adapter_on_timeout(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit,
                                      void *ctx)
{
  if(a->ops->on_timeout)
    a->ops->on_timeout(a, wall_ms, emit, ctx);
}

/* Whether the backend can run on the event loop. */
static inline bool adapter_has_start(const struct adapter *a)
{
  return a->ops && a->ops->start;
}

static inline void adapter_start(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit,
                                 adapter_done_fn done, void *ctx)
{
  a->ops->start(a, wall_ms, emit, done, ctx);
}

static inline void adapter_cancel(struct adapter *a)
{
  if(a->ops->cancel)
    a->ops->cancel(a);
}

/* Non-zero: the caller must close and reopen the adapter for the new config. */
static inline int adapter_reconfigure(struct adapter *a)
{
  return a->ops->reconfigure ? a->ops->reconfigure(a) : 1;
}

#endif

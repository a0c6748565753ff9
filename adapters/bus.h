/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bus: adapter instances and the worker threads that run them, one thread
 * per bus.
 *
 * A BUS is one shared connection: a serial port, a host:port (a TCP-to-RTU
 * bridge serving several unit ids) or, for CoAP, one device
 * (adapter_bus_key()). Every adapter method of the instances on a bus is
 * called on that bus's thread only, so backends need no locks; different
 * buses run at once.
 *
 * An instance (struct bus_inst) is an adapter with a hold on its device's
 * config (cfg_device_hold: a reference on the whole loaded config), so a
 * reload never frees what a worker still reads. It is opened lazily by its
 * first poll.
 *
 * The caller (the scheduler, on the main thread) decides what to do and
 * when, and submits jobs to a bus: poll an instance, reconfigure it, close
 * and free it. Once an instance went to a bus (its first job), only that
 * bus's worker touches it; the caller may still read bi->ad.ops (it never
 * changes) and bi->uid. Results (a poll's readings, rc, error sentence, rtt;
 * or readings an adapter pushed on its own, from its descriptor or timer)
 * come back through a mutex-protected queue and an eventfd
 * (bus_pool_fd()) that the main loop polls; bus_pool_take() hands them over,
 * tagged with the instance's uid and the caller's hint. Readings carry the
 * wall time at which the worker started the poll (the job's wall time plus
 * the real time it waited, times the time scale).
 *
 * Between jobs a worker serves its instances' descriptors (adapter_fd(),
 * e.g. CoAP observe) and timers (adapter_next_timeout()) with poll(2) and a
 * wake-up eventfd; with nothing to serve it sleeps on a condition variable.
 *
 * bus_pool_free() stops every worker after its current job, closes what is
 * left on each bus on its own thread and waits BUS_STOP_WAIT_MS at most. A
 * worker still inside a poll then is logged ("bus X: a poll is still
 * running at shutdown; not waiting for it"), detached and its pool kept
 * alive for it (call it only on the way out when that can happen), so
 * SIGTERM stops restockd within about 3 s whatever the devices' timeouts.
 */
#ifndef RS_BUS_H
#define RS_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/adapter.h"
#include "base/rs_util.h"
#include "config/config.h"

/* How long bus_pool_free() waits for the workers (the rest of the stop fits in SIGTERM's 3 s). */
#define BUS_STOP_WAIT_MS 2000
/* The length of a result's error sentence buffer. */
#define BUS_ERR_LEN 256

/* ---- instances ----------------------------------------------------------- */

/* One adapter instance; see the header comment for who may touch it. */
struct bus_inst {
  uint64_t uid; /* the caller's tag for its results (never reused) */
  struct cfg_device_hold *dh; /* ad.dev is dh->dev */
  struct adapter ad; /* ad.ops NULL: no backend for this transport */
  bool opened;
  bool listed; /* bus.c: in its worker's list */
};

/*
 * An instance of ops (NULL: none built in) for dev, one of cfg's devices
 * (cfg gets a reference: cfg_ref), with env as adapter.env; not opened.
 * Allocation failure aborts.
 */
struct bus_inst *bus_inst_new(const struct cfg *cfg, const struct cfg_device *dev,
                              const struct adapter_ops *ops, void *env, uint64_t uid);
/* Close (if open) and free; NULL is fine. Only on the thread that runs the instance. */
void bus_inst_free(struct bus_inst *bi);
/* Close the adapter if it is open; the next poll reopens it. */
void bus_inst_close(struct bus_inst *bi);
/*
 * Switch bi to the device dh holds (owned by bi from now on; the old hold is
 * dropped). An open adapter whose reconfigure() refuses is closed and
 * reopened by the next poll.
 */
void bus_inst_reconf(struct bus_inst *bi, struct cfg_device_hold *dh);
/*
 * Open (if needed) and poll bi; readings go to emit(ctx, r). On failure err
 * holds a sentence. Returns the adapter's rc (RS_ERR_NOT_FOUND without a
 * backend: "no <transport> adapter in this build").
 */
enum rs_err bus_inst_poll(struct bus_inst *bi, int64_t wall_ms, adapter_emit_fn emit, void *ctx,
                          char *err, size_t errlen);

/* ---- buses ---------------------------------------------------------------- */

struct bus_pool;
struct bus;

/*
 * A pool of buses whose results come back through one eventfd. time_scale
 * (1 for real time) turns the real time a job waited into daemon wall time
 * for the readings' timestamps. NULL when the eventfd cannot be made (errno
 * says why).
 */
struct bus_pool *bus_pool_new(double time_scale);
/* Stop and free (see the header comment); NULL is fine. */
void bus_pool_free(struct bus_pool *p);
/* The eventfd to add to the main loop's epoll set (EPOLLIN). */
int bus_pool_fd(const struct bus_pool *p);

/*
 * The bus for key, made and its thread started when new. NULL when no
 * thread could be started (logged: its devices are then run on the
 * caller's thread).
 */
struct bus *bus_pool_get(struct bus_pool *p, const char *key);

/*
 * Queue a poll of bi on b: due_mono (the caller's, handed back), wall_ms
 * (the daemon's wall time now) and hint (the caller's, handed back).
 */
void bus_submit_poll(struct bus *b, struct bus_inst *bi, int64_t due_mono, int64_t wall_ms,
                     size_t hint);
/* Queue bus_inst_reconf(bi, dh) on b (dh owned by the job). */
void bus_submit_reconf(struct bus *b, struct bus_inst *bi, struct cfg_device_hold *dh);
/* Queue closing and freeing bi on b; the caller forgets bi. */
void bus_submit_close(struct bus *b, struct bus_inst *bi);

/* What a worker hands back: a finished poll, or readings an adapter pushed. */
struct bus_result {
  uint64_t uid;   /* the instance's */
  size_t hint;    /* poll_done: the hint of bus_submit_poll(); else SIZE_MAX */
  bool poll_done; /* a poll job finished (else: readings the adapter pushed) */
  enum rs_err rc;
  char err[BUS_ERR_LEN];
  int64_t rtt_ms;   /* real ms the poll took */
  int64_t due_mono; /* poll_done: as submitted */
  int64_t wall_ms;  /* poll_done: the wall time the poll started at */
  size_t n;         /* readings, see bus_result_reading() */
  struct bus_result *next;
  /* bus.c */
  struct bus_res_reading *rd;
  size_t cap;
  struct rs_buf strs;
};

/*
 * Everything the workers finished since the last call, oldest first (a
 * list through ->next; NULL for none). Clears the eventfd. Main thread.
 */
struct bus_result *bus_pool_take(struct bus_pool *p);
/*
 * Reading i (< res->n) into out; its point and detail point into res, its
 * device is NULL (the caller knows it by uid).
 */
void bus_result_reading(const struct bus_result *res, size_t i, struct reading *out);
/* Free one result (not the rest of its list); NULL is fine. */
void bus_result_free(struct bus_result *res);

#endif

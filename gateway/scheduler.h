/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scheduler: when each device is polled, and its up/down state.
 *
 * One slot per configured device, keyed by device id. Each slot holds an
 * adapter instance (adapters/adapter.h) found by transport through the lookup
 * function; a transport without a backend leaves the slot without adapter and
 * every poll of it fails with "no <transport> adapter in this build".
 *
 * Times: due times are on the daemon clock's monotonic timeline (scaled by
 * --time-scale), so poll_interval follows the scaled clock (SPEC 12); the
 * readings' timestamps are its wall time.
 *
 * Per device: poll at poll_interval, on a grid: each poll is due an
 * interval after the last one was due, not after it ran (a late loop does
 * not drift the schedule; one more than an interval late polls once and
 * counts the rounds passed in `skipped`). A failed poll emits one reading per
 * point with READING_ERR_NO_ANSWER (so live state sees the attempt) and logs
 * at warning level once per failure streak ("device X: no answer (reason)");
 * after down_after consecutive failures the device is down and polled with
 * exponential backoff (poll_interval doubling, capped at max_backoff, never
 * below poll_interval); the first success logs "device X: answering again".
 *
 * Reload: scheduler_set_config() matches devices by id. A device kept with
 * the same transport and bus key keeps its adapter (if the backend's
 * reconfigure() agrees) and its counters; a new device is polled at once; a
 * removed one is closed.
 *
 * Event loop (inline mode; see below for worker mode): backends with a descriptor (adapter_fd(), e.g. CoAP observe)
 * or timers of their own (adapter_next_timeout(), real time) are driven
 * through scheduler_attach_epoll() / scheduler_sync_epoll() /
 * scheduler_on_event() and scheduler_next_io_timeout() /
 * scheduler_run_io_timeouts(). A descriptor may change between calls (a
 * reconnect) provided the backend closed the old one; on_readable() must
 * tolerate a spurious wake-up (EAGAIN).
 *
 * Concurrency (scheduler_start_workers(); restockd does it, tests may
 * not): the devices of each bus (adapter_bus_key()) run on that bus's
 * worker thread (adapters/bus.h: jobs in, results out through an eventfd).
 * The main thread decides what is due and queues a poll job; a device with
 * a job outstanding gets no second one: it is due at once when the job
 * ends, that poll serves the last round passed, and the rounds before it
 * are counted in `skipped`. A poll may block its worker up to timeout x (retries + 1)
 * (plus busy_wait per busy reply); devices on other buses are not delayed.
 * scheduler_drain() hands the results (readings, rc, rtt, error kinds) to
 * emit on the main thread. Readings carry the wall time at which the worker
 * started the poll. Adapters with fd()/on_readable()/next_timeout() are
 * served inside their worker's own wait loop, so in that mode the epoll
 * functions below do nothing.
 *
 * A removed device's adapter is closed on its bus thread; a device whose
 * bus key changed is closed on the old bus and opened on the new one.
 * scheduler_free() stops the workers as bus_pool_free() says (at most 2 s,
 * then a poll still running is left behind and logged), so SIGTERM stops
 * restockd within about 3 s whatever the devices' timeouts.
 *
 * Without scheduler_start_workers() (inline mode) every adapter call
 * happens on the caller's thread inside scheduler_run_due() and the epoll
 * functions, as in tests with a synchronous fake adapter.
 *
 * The scheduler's own functions are called from one thread (the main loop).
 */
#ifndef RS_SCHEDULER_H
#define RS_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "adapters/adapter.h"

struct scheduler;

/*
 * Error kinds counted per device (sched_device_status.errors). A poll in
 * which the device did not answer counts once (timeout, io or unavailable);
 * exceptions and malformed replies count once per point they hit.
 */
enum sched_err_kind {
  SCHED_ERR_TIMEOUT = 0, /* "timeout": no reply in time */
  SCHED_ERR_IO,          /* "io": refused, reset or broken connection */
  SCHED_ERR_MALFORMED,   /* "malformed": short, oversized or garbage reply, bad payload */
  SCHED_ERR_UNAVAILABLE, /* "unavailable": no adapter, cannot open (port, config) */
  SCHED_ERR_EXCEPTION,   /* "exception": an exception/error code outside 1..11 */
  /* "exception_1" .. "exception_11": Modbus exception code N is SCHED_ERR_EXCEPTION + N */
  SCHED_ERR_KINDS = SCHED_ERR_EXCEPTION + 12
};

/* The label of kind k ("timeout", "exception_6"); "unknown" out of range. */
const char *scheduler_error_kind_name(unsigned k);

/* A device's state as the status page and metrics show it. */
struct sched_device_status {
  const char *id;      /* valid until the next set_config */
  const char *adapter; /* backend name, or NULL when none is built in */
  bool up;             /* false once down_after polls failed in a row, or before the
                          first answer once a poll failed */
  bool answered;       /* at least one poll succeeded since start */
  int64_t consecutive_failures;
  int64_t last_success_ms; /* wall ms, 0 = never */
  int64_t rtt_ms;          /* real ms the last successful poll took, -1 = none */
  uint64_t polls;
  uint64_t failures;
  int64_t next_due_ms; /* monotonic (scaled) ms */
  uint64_t errors[SCHED_ERR_KINDS]; /* by enum sched_err_kind, since start */
  uint64_t skipped; /* rounds not polled: the previous poll ran through them (all but
                       the last, which the next poll serves at once), or the loop was
                       more than an interval late (no burst to make up); counted
                       when that poll ends */
  bool busy;        /* a poll job is outstanding (worker mode) */
};

/*
 * A scheduler for cfg's devices (cfg borrowed until the next set_config),
 * with every device due at now_mono. lookup(lookup_ctx, transport) gives the
 * backends. Returns NULL only on allocation failure.
 */
struct scheduler *scheduler_new(const struct cfg *cfg, adapter_lookup_fn lookup, void *lookup_ctx,
                                int64_t now_mono);
/* Close every adapter and free; NULL is fine. */
void scheduler_free(struct scheduler *s);

/* Switch to cfg (after a reload); see the header comment. */
void scheduler_set_config(struct scheduler *s, const struct cfg *cfg, int64_t now_mono);

/*
 * Poll every device due at now_mono (wall time now_wall for the readings);
 * readings go to emit(ctx, reading). Returns how many devices were polled.
 */
size_t scheduler_run_due(struct scheduler *s, int64_t now_mono, int64_t now_wall,
                         adapter_emit_fn emit, void *ctx);

/* Monotonic ms when the next device is due; INT64_MAX with no devices. */
int64_t scheduler_next_due(const struct scheduler *s);

/* Tag in epoll_event.data.u64 of adapter descriptors; the low bits are the slot. */
#define SCHEDULER_EPOLL_TAG (UINT64_C(1) << 63)

/* Use epoll set ep (or -1: none) for adapter descriptors. Does not own ep. */
void scheduler_attach_epoll(struct scheduler *s, int ep);
/*
 * Bring ep's registrations in line with the adapters' current descriptors.
 * Call after every step, event and reload, before waiting. 0, or -1 when a
 * descriptor could not be added (logged; that adapter still polls).
 */
int scheduler_sync_epoll(struct scheduler *s);
/* An epoll event whose data.u64 carries SCHEDULER_EPOLL_TAG: run on_readable. */
void scheduler_on_event(struct scheduler *s, uint64_t tag, int64_t now_wall, adapter_emit_fn emit,
                        void *ctx);
/* Earliest adapter timer (real monotonic ms), INT64_MAX for none. */
int64_t scheduler_next_io_timeout(const struct scheduler *s);
/* Run on_timeout() of every adapter whose timer is at or before real_now. */
void scheduler_run_io_timeouts(struct scheduler *s, int64_t real_now, int64_t now_wall,
                               adapter_emit_fn emit, void *ctx);

struct evloop;

/*
 * Run the devices whose backend can (adapter_has_start(): Modbus TCP) on
 * event loop `loop` (not owned; it must outlive the scheduler's adapters):
 * scheduler_run_due() starts their polls and returns; readings reach
 * emit(ctx, r) from the loop's callbacks as replies arrive, and the poll's
 * end updates the device's state there. Every such device is in flight at
 * once; no thread, no job queue. A poll still running when the device is
 * due again is followed by the next at once, as on a bus thread (the
 * rounds it ran through but the last counted in `skipped`).
 * Call before scheduler_start_workers() and the first scheduler_run_due();
 * the other devices keep their bus threads (or run inline).
 */
void scheduler_attach_loop(struct scheduler *s, struct evloop *loop, adapter_emit_fn emit,
                           void *ctx);

/*
 * Switch to worker mode (see above) before the first scheduler_run_due().
 * time_scale (1 for real time) turns the real time a job waited in its
 * queue into daemon wall time for the readings' timestamps. Returns 0, or
 * -1 when the eventfd cannot be made (logged; the scheduler stays inline).
 * Thread creation failures are logged and that bus then runs inline.
 */
int scheduler_start_workers(struct scheduler *s, double time_scale);

/* The eventfd to add to the main loop's epoll set (EPOLLIN), or -1 inline. */
int scheduler_event_fd(const struct scheduler *s);

/*
 * Take what the workers finished: emit their readings (wall time as the
 * worker stamped it), update counters and state, log. Clears the eventfd.
 * Returns how many polls completed. Inline mode: returns 0.
 */
size_t scheduler_drain(struct scheduler *s, adapter_emit_fn emit, void *ctx);

/* Poll jobs queued or running (worker mode); 0 inline. */
size_t scheduler_outstanding(const struct scheduler *s);

/*
 * Call fn(ud, i) for every device i whose poll succeeded since the last
 * call (once per poll, in the order they ended; its rtt_ms is that poll's),
 * and forget them. A reload forgets them too. What the poll-duration
 * histogram is fed with, at O(1) per poll whatever the number of devices.
 */
void scheduler_take_polled(struct scheduler *s, void (*fn)(void *ud, size_t i), void *ud);

size_t scheduler_n_devices(const struct scheduler *s);
/* Status of device i (< scheduler_n_devices()). */
void scheduler_device_status(const struct scheduler *s, size_t i, struct sched_device_status *out);

/* What the metrics' poll histogram takes from device i after a poll: the
   status's id, rtt_ms, polls and failures, without filling the rest. */
struct sched_poll_sample {
  const char *id; /* valid until the next set_config */
  uint32_t gen;   /* counts set_config calls: device i is the same device while it stays */
  int64_t rtt_ms; /* -1 = none */
  uint64_t polls, failures;
};
void scheduler_poll_sample(const struct scheduler *s, size_t i, struct sched_poll_sample *out);

#endif

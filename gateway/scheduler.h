/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scheduler: when each device is polled, and its up/down state.
 *
 * One slot per configured device, keyed by device id. Each slot holds an
 * adapter instance (gateway/adapter.h) found by transport through the lookup
 * function; a transport without a backend leaves the slot without adapter and
 * every poll of it fails with "no <transport> adapter in this build".
 *
 * Times: due times are on the daemon clock's monotonic timeline (scaled by
 * --time-scale), so poll_interval follows the scaled clock (SPEC 12); the
 * readings' timestamps are its wall time.
 *
 * Per device: poll at poll_interval. A failed poll emits one reading per
 * point with READING_ERR_NO_ANSWER (so live state sees the attempt) and logs
 * at warning level once per failure streak ("device X: no answer (reason)");
 * after down_after consecutive failures the device is down and polled with
 * exponential backoff (poll_interval doubling, capped at max_backoff, never
 * below poll_interval); the first success logs "device X: answering again".
 *
 * Reload: scheduler_set_config() matches devices by id. A device kept with
 * the same transport keeps its adapter (if the backend's reconfigure() agrees)
 * and its counters; a new device is polled at once; a removed one is closed.
 *
 * Event loop: backends with a descriptor (adapter_fd(), e.g. CoAP observe)
 * or timers of their own (adapter_next_timeout(), real time) are driven
 * through scheduler_attach_epoll() / scheduler_sync_epoll() /
 * scheduler_on_event() and scheduler_next_io_timeout() /
 * scheduler_run_io_timeouts(). A descriptor may change between calls (a
 * reconnect) provided the backend closed the old one; on_readable() must
 * tolerate a spurious wake-up (EAGAIN).
 *
 * Not thread-safe: one main loop thread.
 */
#ifndef RS_SCHEDULER_H
#define RS_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "gateway/adapter.h"

struct scheduler;

/* A device's state as the status page and metrics show it. */
struct sched_device_status {
  const char *id;      /* valid until the next set_config */
  const char *adapter; /* backend name, or NULL when none is built in */
  bool up;             /* false once down_after polls failed in a row */
  bool answered;       /* at least one poll succeeded since start */
  int64_t consecutive_failures;
  int64_t last_success_ms; /* wall ms, 0 = never */
  int64_t rtt_ms;          /* real ms the last successful poll took, -1 = none */
  uint64_t polls;
  uint64_t failures;
  int64_t next_due_ms; /* monotonic (scaled) ms */
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

size_t scheduler_n_devices(const struct scheduler *s);
/* Status of device i (< scheduler_n_devices()). */
void scheduler_device_status(const struct scheduler *s, size_t i, struct sched_device_status *out);

#endif

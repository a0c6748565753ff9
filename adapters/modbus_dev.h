/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modbus_dev: what the two Modbus backends share about one device's poll:
 * its plan (adapters/modbus_plan.h), the per-point log state, decoding a
 * reply into readings, and the one error path that turns the outcome of
 * each request into readings and the poll's result. modbus.c (RTU over
 * libmodbus, on a bus thread) and modbus_tcp.c (TCP on the event loop) only
 * do the I/O; whatever decides how a failure counts lives here, so both
 * transports count alike.
 *
 * The rules (SPEC 4): within one poll at most retries + 1 attempts fail
 * (timeouts, I/O errors, busy replies, garbage; shared by all its
 * requests). Exception 6 (busy) is retried after busy_wait; other
 * exceptions are final for that request and reported on its points with
 * reading.code = the exception code. Oversized or garbage replies and
 * replies with the wrong count, function or unit are READING_ERR_MALFORMED.
 * When no request got any answer the poll fails with RS_ERR_TIMEOUT or
 * RS_ERR_IO and emits nothing (the scheduler reports every point).
 */
#ifndef RS_MODBUS_DEV_H
#define RS_MODBUS_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/adapter.h"
#include "adapters/modbus_plan.h"

/* How one request of a poll ended. */
enum mbd_fail { MBD_OK, MBD_TIMEOUT, MBD_IO, MBD_BUSY, MBD_EXCEPTION, MBD_MALFORMED };

#define MBD_DETAIL_MAX 200 /* bytes of a request's detail, with its NUL */
#define MBD_NO_WHAT    UINT32_MAX

struct mbd_out {
  enum mbd_fail f;
  int code;         /* the exception code (MBD_EXCEPTION, MBD_BUSY) */
  /* where in struct mbd's what the failure's sentence is ("no answer in
     time"), MBD_NO_WHAT when none in this poll ("not tried"). The detail
     read by the points, "holding 100..109 of unit 1: no answer in time",
     is written only when it is read, on the stack (12 B a request) */
  uint32_t what_off;
};

/* What a point's last read gave, so changes are logged once (2 bytes). */
struct mbd_pt {
  uint8_t err;  /* enum reading_error */
  uint8_t code; /* exception code */
};

/* One device: plan, point states, and the outcome of each request of the current poll. */
struct mbd {
  struct mbplan plan;
  struct mbd_pt *pts; /* one per point of the device (cfg_device.n_points) */
  struct mbd_out *outs; /* one per request of the plan */
  /* the failures' sentences of this poll, NUL after each: emptied when a
     poll begins, its heap kept while the polls fail, so that a device
     failing the same way at every poll allocates nothing after the first;
     NULL once a poll had no failure */
  char *what;
  uint32_t what_len, what_cap;
};

/* (Re)plan for d, resetting point states; a planning problem is logged. */
void mbd_plan(struct mbd *m, const struct cfg_device *d);
void mbd_free(struct mbd *m);

/* A new poll: every request's outcome "not tried". */
void mbd_begin(struct mbd *m, const struct cfg_device *d);

/*
 * Set request i's outcome f (code, and "TABLE FIRST..LAST of unit U: what"
 * as its detail).
 */
void mbd_set(struct mbd *m, const struct cfg_device *d, size_t i, enum mbd_fail f, int code,
             const char *what);

/*
 * Request i answered: decode and emit each of its points from regs (holding,
 * input) or bits (coil, discrete; one byte per bit, non-zero true), and set
 * its outcome MBD_OK.
 */
void mbd_emit_values(struct mbd *m, const struct cfg_device *d, size_t i, const uint16_t *regs,
                     const uint8_t *bits, int64_t wall_ms, adapter_emit_fn emit, void *ctx);

/*
 * The poll is over. When no request answered: returns last (RS_ERR_TIMEOUT
 * or RS_ERR_IO, as the last failed attempt gave) with the first failed
 * request's detail in err, and emits nothing. Otherwise emits each failed
 * request's points with its error, and the unplanned points as malformed,
 * and returns RS_OK.
 */
enum rs_err mbd_finish(struct mbd *m, const struct cfg_device *d, int64_t wall_ms, enum rs_err last,
                       adapter_emit_fn emit, void *ctx, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_adapter: an in-process device backend for tests. It implements
 * gateway/adapter.h for every transport and plays a scripted plant: a
 * point's series gives its value over time, one value per step_ms from
 * t0_ms (wall time; before t0 the first value, after the end the last one),
 * so what a poll reads depends on when it happens, as with a real device,
 * and not on how often the adapter was reopened. A point
 * without a series reads as a Modbus-style exception; a device named in
 * down_device does not answer at all.
 */
#ifndef RS_FAKE_ADAPTER_H
#define RS_FAKE_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/adapter.h"

struct fake_series {
  const char *device;
  const char *point;
  const double *values;
  size_t n;
};

struct fake_plant {
  const struct fake_series *series;
  size_t n_series;
  int64_t t0_ms;           /* wall time of each series' first value */
  int64_t step_ms;         /* time between two values (> 0) */
  const char *down_device; /* this device times out; NULL: all answer */
  unsigned polls;          /* polls served, all devices together */
  unsigned opens;          /* adapter instances opened */
  unsigned closes;         /* adapter instances closed */
  unsigned reconfigures;   /* reloads that kept an instance */
  /*
   * Push mode (CoAP observe style): with use_fd set, each instance opens a
   * non-blocking pipe and offers its read end as adapter_fd(); push_fd is
   * the write end of the last one opened. Every byte written there arrives
   * as one reading of push_point with the byte as value.
   */
  bool use_fd;
  const char *push_point;
  int push_fd;
  unsigned pushed; /* readings emitted from the pipe */
  /* Timer: adapter_next_timeout() answers timeout_at (real mono ms; 0 = none). */
  int64_t timeout_at;
  unsigned timeouts; /* on_timeout() calls */
};

/* The backend table. */
extern const struct adapter_ops fake_adapter_ops;

/* An adapter_lookup_fn: the fake for every transport; ctx is a struct fake_plant. */
const struct adapter_ops *fake_adapter_lookup(void *ctx, enum cfg_transport t);

#endif

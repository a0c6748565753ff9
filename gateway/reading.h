/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reading: the reading path, between the adapters and the store.
 *
 *   adapter --struct reading--> reading_path_submit()
 *       1. live state of the point is updated (always: every reading, also
 *          the ones not stored and the failed ones);
 *       2. a value is written to the store only when it moved at least the
 *          deadband since the last stored value, or the heartbeat passed
 *          since then (storage.deadband, storage.heartbeat; SPEC 3).
 *
 * Deadband: storage.deadband is a fraction of the range of the consumable the
 * point feeds (level: |empty - full|; usage: life). A point that feeds no
 * such consumable (a button, an unused point) is stored on every change.
 *
 * Live state is keyed by "device/point" ids, so it survives a reload: a
 * point that disappears from the config keeps its entry (harmless), a point
 * that comes back finds its old state. After a restart the first reading of a
 * point is compared with the point's last stored reading (warm start).
 *
 * reading_path_snapshot() turns live state into the rules' input
 * (struct rule_snapshot). Until the prediction work lands it fills only what
 * live values give (level_pct, value, spares, lead_time_days, staleness) and
 * leaves days_left/cover_days infinite and confidence 0.
 *
 * Not thread-safe: one main loop thread.
 */
#ifndef RS_READING_H
#define RS_READING_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "gateway/adapter.h"
#include "gateway/rs_err.h"
#include "gateway/store.h"
#include "rules/rules.h"

struct reading_path;

/* What the gateway knows of one point now. */
struct live_point {
  bool has_value; /* a good reading arrived (this run, or the store's last one) */
  double value;   /* last good value */
  bool is_bool;
  int64_t value_ms;              /* wall ms of the last good value */
  int64_t attempt_ms;            /* wall ms of the last reading, good or not */
  enum reading_error last_error; /* READING_OK when the last reading was good */
  uint64_t n_readings;           /* readings submitted (good and failed) */
  uint64_t n_errors;             /* failed readings */
  uint64_t n_stored;             /* values written to the store */
  bool has_stored;               /* a value of this point is in the store */
  double stored_value;           /* the last value written (or found at warm start) */
  int64_t stored_ms;
  bool pressed; /* a rising edge (false -> true) not yet taken by a snapshot */
};

/*
 * A reading path writing to st (borrowed; may be NULL, then nothing is
 * stored) for config cfg (borrowed until the next reading_path_set_config()).
 * Returns NULL only on allocation failure.
 */
struct reading_path *reading_path_new(struct store *st, const struct cfg *cfg);
/* Free everything; NULL is fine. Does not touch the store or config. */
void reading_path_free(struct reading_path *rp);

/* Use cfg from now on (after a reload); live state is kept. */
void reading_path_set_config(struct reading_path *rp, const struct cfg *cfg);

/*
 * Take one reading (the adapter_emit_fn shape, through a small wrapper in the
 * caller). Updates live state, then stores the value when the filter passes.
 * Returns RS_OK, or the store's error (the live state is updated anyway and
 * the value is retried at the next reading, since stored_* did not move).
 */
enum rs_err reading_path_submit(struct reading_path *rp, const struct reading *r);

/* Live state of device/point, or NULL when no reading of it was ever seen. */
const struct live_point *reading_path_live(const struct reading_path *rp, const char *device,
                                           const char *point);

/* Totals since start: readings submitted, values stored, store failures. */
void reading_path_counts(const struct reading_path *rp, uint64_t *submitted, uint64_t *stored,
                         uint64_t *store_errors);

/*
 * Fill *out for consumable c at wall time now_ms: the figures the rules read,
 * staleness (no good reading within c->stale_after_ms) and open_line /
 * open_orders as given by the caller. Takes (clears) a pending button press.
 */
void reading_path_snapshot(struct reading_path *rp, const struct cfg_consumable *c, int64_t now_ms,
                           bool open_line, struct rule_snapshot *out);

#endif

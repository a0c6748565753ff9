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
 * Prediction: every consumable has a predictor (rules/predict.h). Every good
 * reading of its point goes through predict_add(); a replacement it detects
 * is recorded in the store (store_record_replacement) and takes a part from
 * the shelf (store_add_spares(-1)) in one store group, and is logged at
 * notice level ("consumable X: replacement detected"). The consumable's
 * store row (spares, last replacement, predictor state) is created at first
 * use with the config's `spares`; afterwards the store's count is the truth
 * (deliveries add to it).
 *
 * Persistence: the predictor state is written to the consumable's row as
 * {"v":1,"fed_ms":T,"predictor":"HEX"} at most every
 * READING_PERSIST_INTERVAL_MS of reading time, at each replacement and by
 * reading_path_free(). At first use a consumable
 * restores that state, then feeds the stored readings newer than fed_ms (or,
 * without a saved state, all stored readings of its point), so a crash
 * between two saves loses no history.
 *
 * reading_path_snapshot() turns live state and predictions into the rules'
 * input (struct rule_snapshot): level_pct (the predictor's filtered level:
 * the median of the last three readings), days_left, cover_days, rate_per_day,
 * confidence, empty_at, hours_since_replacement, lead_time_days, spares,
 * value, open_orders, the bounds (days_left_p10/p90, cover_days_p10/p90),
 * runout_risk, the typical life of one part (life_days, for the default
 * rule's order-up-to quantity) and staleness.
 *
 * Not thread-safe: one main loop thread.
 */
#ifndef RS_READING_H
#define RS_READING_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "adapters/adapter.h"
#include "base/rs_err.h"
#include "gateway/store.h"
#include "rules/predict.h"
#include "rules/rules.h"

/* Longest gap (reading time) between two saves of a predictor's state. */
/*
 * 6 h: the stored readings are the truth (a start replays those newer than
 * the saved state), so saving more often only wears the flash: each save
 * rewrites the consumable's row (a 2 KiB state) and its pages.
 */
#define READING_PERSIST_INTERVAL_MS (6 * 3600 * 1000)

/*
 * A warm start or a catch-up looks a point up in the store, which scans
 * readings_recent; above this many rows there the store merges it first
 * (store_merge_readings_over()). At start, with every point looked up once
 * while the first batches arrive, this bounds the scans (at 20,000 points,
 * one merge at the first look-up after each batch instead of 20,000 scans
 * of up to 20,000 rows); later, look-ups are rare (new points and
 * consumables only), and so are these merges.
 */
#define READING_LOOKUP_RECENT_MAX 512

struct reading_path;

/* What the gateway knows of one point now. */
struct live_point { /* the flags last, without padding between (48 B, was 104: RSS) */
  double value;                  /* last good value */
  int64_t value_ms;              /* wall ms of the last good value */
  /* 32 bits (RSS: a point's block, its state and key, fits a 64-byte malloc chunk with
     short ids): they wrap after 2^32 readings (136 years at 1 s) */
  uint32_t n_readings;           /* readings submitted (good and failed) */
  uint32_t n_errors;             /* failed readings */
  double stored_value;           /* the last value written (or found at warm start) */
  int64_t stored_ms;             /* when: the time the heartbeat counts from (stored by
                                    the heartbeat on its grid, when it was due) */
  enum reading_error last_error; /* READING_OK when the last reading was good */
  bool has_value;  /* a good reading arrived (this run, or the store's last one) */
  bool is_bool;
  bool has_stored; /* a value of this point is in the store */
  bool pressed;    /* a rising edge (false -> true) not yet taken by a snapshot */
};

/*
 * A reading path writing to st (borrowed; may be NULL, then nothing is
 * stored) for config cfg (borrowed until the next reading_path_set_config()).
 * Returns NULL only on allocation failure.
 */
struct reading_path *reading_path_new(struct store *st, const struct cfg *cfg);
/*
 * Write the predictor state of every consumable that changed since its last
 * save, then free everything; NULL is fine.
 */
void reading_path_free(struct reading_path *rp);

/*
 * Use cfg from now on (after a reload); live state is kept, and so is each
 * consumable's prediction history (re-read under the new parameters; a
 * consumable whose model changed starts afresh).
 */
void reading_path_set_config(struct reading_path *rp, const struct cfg *cfg);

/*
 * Take one reading (the adapter_emit_fn shape, through a small wrapper in the
 * caller). Updates live state, then stores the value when the filter passes.
 * Returns RS_OK, or the store's error (the live state is updated anyway and
 * the value is retried at the next reading, since stored_* did not move).
 */
enum rs_err reading_path_submit(struct reading_path *rp, const struct reading *r);

/*
 * reading_path_submit() that also says (*changed, may be NULL) whether what
 * the rules read of the point moved: a good reading with a new value, the
 * first value, or the first good reading after failed ones.
 *
 * Cost: O(1) in the number of devices and consumables when the reading
 * carries device_ref/point_ref (the scheduler and the adapters set them):
 * the config is resolved to indexes at load (reading_path_set_config()), so
 * the live state, the deadband and the consumables fed are found without a
 * lookup by id; otherwise by id through a hash.
 */
enum rs_err reading_path_submit_ex(struct reading_path *rp, const struct reading *r,
                                   bool *changed);

/*
 * Batching (restockd): values that pass the filter, and the predictor
 * states that fall due, are kept in memory and written by
 * reading_path_commit() in one transaction (one lock, one WAL commit, not
 * fsynced: synchronous=NORMAL), which restockd calls every
 * DAEMON_COMMIT_INTERVAL_MS. Live state and the prediction see every reading
 * at once. Off (the default) writes each value and state as it comes.
 * Turning it off commits.
 */
void reading_path_set_batching(struct reading_path *rp, bool on);
/*
 * Write the values and predictor states kept since the last commit. On
 * failure (logged, counted in store_errors) the values are dropped and each
 * of their points stores its next value whatever the deadband says; the
 * states stay unsaved and fall due again at their next reading. RS_OK when
 * there was nothing.
 */
enum rs_err reading_path_commit(struct reading_path *rp);
/* Values and predictor states waiting for reading_path_commit(). */
size_t reading_path_pending(const struct reading_path *rp);

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

/*
 * days (calendar days from now_ms, as reading_path_predict() gives them for
 * c) with the plant calendar's closed periods ahead skipped over in c's
 * working time, as reading_path_snapshot()'s figures are (prediction.md,
 * "Plant calendar"); days as they are without a closed period ahead.
 */
double reading_path_closed_days(struct reading_path *rp, const struct cfg_consumable *c,
                                int64_t now_ms, double days);

/*
 * The prediction of consumable c at now_ms (no side effect on button
 * presses). Returns false, with *out at "nothing known" (level NAN, days_left
 * INFINITY, empty_at INT64_MAX), when c has no usable predictor or no reading.
 */
bool reading_path_predict(struct reading_path *rp, const struct cfg_consumable *c, int64_t now_ms,
                          struct prediction *out);

/*
 * Record that consumable c was replaced at now_ms although its readings may
 * not show it (an operator's mark; rule tests' `replace`): the replacement is
 * stored, a spare is taken from the shelf, and prediction restarts with the
 * next reading. Returns RS_OK or the store's error (logged; nothing changed).
 */
enum rs_err reading_path_mark_replaced(struct reading_path *rp, const struct cfg_consumable *c,
                                       int64_t now_ms);

#endif

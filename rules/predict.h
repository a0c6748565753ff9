/* SPDX-License-Identifier: Apache-2.0 */
/*
 * predict: depletion prediction for one consumable (SPEC section 6). Pure:
 * readings and the current time go in, figures come out. No I/O, no clock,
 * no heap, no globals. docs/prediction.md explains the method and why.
 *
 * One `struct predictor` per consumable, fixed size (no heap). Readings are
 * fed in time order with predict_add(); predict_eval() turns the state into
 * level_pct, rate_per_day, days_left, empty_at and confidence at any `now`.
 *
 * Memory is bounded: readings are median-of-3 filtered, averaged into time
 * buckets, and kept in an array of at most PREDICT_WINDOW buckets that spans
 * the whole current segment (since the last replacement); when the array is
 * full, neighbouring buckets are merged pairwise and the bucket width
 * doubles. The fit (a Theil split-half slope, O(window)) is recomputed only
 * when a bucket closes, so predict_add() is O(1) for most readings and
 * O(PREDICT_WINDOW) at worst, and predict_eval() is O(1).
 *
 * The struct is public only so that callers can embed it without a heap;
 * its fields are private to predict.c.
 */
#ifndef RS_PREDICT_H
#define RS_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg_consumable; /* config/config.h */
struct cfg_closed;     /* config/config.h */

#define PREDICT_WINDOW        64   /* buckets kept per consumable */
#define PREDICT_INTERVALS     5    /* past replacement intervals kept for typical life */
#define PREDICT_PEND          2    /* readings held back while a jump is confirmed */
#define PREDICT_STATE_MAX     1024 /* bytes: upper bound of a predict_save() blob */
#define PREDICT_STATE_VERSION 4

enum predict_model {
  PREDICT_MODEL_LEVEL, /* a point between `full` (remaining 1) and `empty` (0) */
  PREDICT_MODEL_USAGE, /* a counter against a rated life */
  PREDICT_MODEL_BUTTON /* manual reorder input: no prediction */
};

/* Result codes of the functions that can fail. */
enum predict_err {
  PREDICT_OK = 0,
  PREDICT_ERR_PARAMS,    /* parameters out of range (full == empty, life <= 0, ...) */
  PREDICT_ERR_SPACE,     /* output buffer too small */
  PREDICT_ERR_TRUNCATED, /* state blob shorter than its contents */
  PREDICT_ERR_FORMAT,    /* state blob: bad magic, checksum or field */
  PREDICT_ERR_VERSION,   /* state blob: unknown version */
  PREDICT_ERR_MODEL,     /* state blob: written for another model */
  PREDICT_ERR_OLD        /* state blob: an older version's (rebuild from the readings) */
};
const char *predict_strerror(int err);

struct predict_params {
  enum predict_model model;
  double full, empty; /* level: raw values at remaining 1.0 and 0.0 (either order) */
  double life;        /* usage: rated life in counter units (> 0) */
  double start;       /* usage: the counter when the installed part was new */
  /* Tuning; predict_params_default() fills these. */
  double prior_life_days; /* > 0: a rated life in days used as prior rate; 0: none */
  double jump_min;        /* level: minimum upward jump (fraction of range) that is a
                             replacement; usage: counter drop (fraction of life) */
  double z;               /* conservatism: empty date uses slope + z standard errors */
  int64_t bucket_ms;      /* initial bucket width (doubles as history grows) */
};

/* Defaults for the tuning fields: no prior, jump_min 0.1 (usage 0.01), z 0.5, bucket 15 min. */
void predict_params_default(struct predict_params *p, enum predict_model model);

/*
 * Parameters of a configured consumable (model, full, empty, life, start),
 * tuning at defaults. Returns PREDICT_OK or PREDICT_ERR_PARAMS.
 */
int predict_params_from_cfg(const struct cfg_consumable *c, struct predict_params *out);

/*
 * Distinct parameter blocks, shared by the predictors that use them
 * (a predictor points at its parameters instead of holding a copy: 8 bytes
 * instead of 72 a consumable). Zero-initialise; predict_params_intern()
 * adds, predict_params_set_free() frees. Not thread-safe.
 */
struct predict_params_node;
struct predict_params_set {
  struct predict_params_node **slots; /* hash chains, cap a power of two (0: empty) */
  size_t cap, n;
};

/*
 * The set's copy of *pp: the same pointer for every block equal to *pp,
 * valid until predict_params_set_free(s). NULL when out of memory.
 */
const struct predict_params *predict_params_intern(struct predict_params_set *s,
                                                   const struct predict_params *pp);

/* Free the set's blocks (no predictor may use them afterwards) and leave it empty. */
void predict_params_set_free(struct predict_params_set *s);

/* A replacement found in the readings. */
struct predict_event {
  int64_t at_ms;           /* wall ms of the first reading of the new part */
  double remaining_before; /* remaining fraction of the old part just before (0..1) */
  double remaining_after;  /* remaining fraction of the new part (0..1) */
};

/* What predict_eval() reports. */
struct prediction {
  double level_pct;    /* 0..100 from the latest filtered reading; NAN before any */
  double rate_per_day; /* percent of life used per day (>= 0) */
  double days_left;    /* INFINITY when not depleting; 0 when already empty */
  int64_t empty_at_ms; /* wall ms; INT64_MAX when not depleting */
  double confidence;   /* 0..1 from history length and fit */
  bool exponential;    /* the clogging (log-space) model was chosen */
  /* Calibrated bounds of days_left: the 10 % and 90 % quantiles of the
     time to empty (p10 <= days_left <= p90). INFINITY when not known to
     deplete; 0 when empty. docs/prediction.md, "Bounds". */
  double days_left_p10;
  double days_left_p90;
};

/* "Nothing known yet": NAN level, no rate, infinite days left and bounds, no confidence. */
void predict_unknown(struct prediction *out);

/*
 * The probability (0..1) that a part with these bounds runs out within
 * horizon_d days, from the log-normal the bounds describe (p10 and p90 of
 * the time to empty). 0 for an infinite p10; 1 for p10 = 0. Pure.
 */
double predict_risk_within(double p10, double p90, double horizon_d);

/*
 * The confidence below which a new part (in its first days) has no bounds
 * (NEW_CONF_MIN in predict.c, docs/prediction.md). The built-in default
 * rule's early branch (config/cfg_load.c) is written with this figure, so
 * that the rule and the predictor agree on what a fit too rough to go on is.
 */
double predict_new_part_conf_min(void);

/* Private. The cached fit of the closed buckets (computed in double, kept
   in float: 28 bytes instead of 56; its kind is struct predictor's fit_kind). */
struct predict_fit {
  float c_hist;    /* confidence from history length */
  float slope;     /* per day: remaining (kind 1) or ln(raw) (kind 2) */
  float se;        /* standard error of slope */
  float anchor;    /* fitted remaining (1) or ln(raw) (2) at t_ref_d */
  float t_ref_d;   /* days since segment start */
  float resid_rel; /* median |residual| / change over the window */
  float jit_d;     /* median |residual| as time: days of wander around the fit */
};

struct predictor {
  /* Not a copy: the parameters given to predict_init()/predict_load(),
     which must outlive the predictor (predict_params_intern() shares one
     block among the consumables that have the same). */
  const struct predict_params *params;
  /* Times (RSS, docs/prediction.md "Memory"): whole seconds since t0_ms in
     32 bits (68 years either side), PT_NONE (INT32_MIN) for "none"; t0_ms is
     the first time the predictor was given (INT64_MIN until then). A
     reading's milliseconds are dropped. predict_last_ms() and
     predict_worn_ms() give them as wall ms. */
  int64_t t0_ms;
  int32_t seg_start_ts; /* first reading of the current segment */
  int32_t last_ts;      /* last accepted reading; none before any */
  int32_t replaced_ts;  /* last detected replacement; none when none */
  int32_t worn_ts;      /* the current part first read worn out (filtered remaining <= 0);
                           none when not (not saved: a restart forgets it) */
  int32_t raw_ts;       /* time of raw[1], the newest accepted reading */
  int32_t filt_ts;      /* time the filtered value stands for (the middle reading) */
  int32_t move_ts;      /* the filtered value last moved towards empty (none: never) */
  int32_t pend_ts[PREDICT_PEND];
  float idle_d; /* longest pause seen in the segment, days (capped) */
  double base;          /* usage: counter at replacement */
  double raw[2];        /* the previous two raw values, for the median of 3 */
  double filt;          /* latest filtered raw value */
  double move_rem;      /* remaining fraction then */
  float move_slope;     /* the fit's slope then (remaining per day, <= 0) */
  float noise;          /* EWMA of |consecutive difference| of remaining */
  /* Weekly profile (kept across replacements: it is the machine's): use
     (remaining fraction) and observed time (days) per UTC day of week,
     0 = Monday; halved when the observed time passes 8 weeks. */
  float dow_use[7], dow_time[7];
  double open_sum_t, open_sum_x;
  uint32_t open_start_s, open_n;
  uint32_t width_s;     /* current bucket width */
  uint32_t rate_from_s; /* s since segment start: a detected rate change */
  double pend_ref; /* level: remaining before the jump; usage: counter */
  double pend_raw[PREDICT_PEND];
  float intervals_d[PREDICT_INTERVALS]; /* newest last */
  uint16_t n_replacements;              /* counted up to 65535 */
  uint8_t n;                            /* closed buckets (<= PREDICT_WINDOW) */
  uint8_t pend_n;         /* readings held back: a jump not yet confirmed (1..PREDICT_PEND),
                             or a level's sudden drop (255, predict.c's PEND_DIP) */
  uint8_t base_from_next; /* usage: the next reading is the new part's zero */
  uint8_t n_raw;          /* 0..2 values in raw[] */
  uint8_t n_intervals;
  int8_t off_n; /* filtered readings in a row off the line (sign: side) */
  /* steps off the line not confirmed yet while the week is not known (OFF_CONFIRM - 1
     at most): their wear goes to the weekly profile once the run is confirmed */
  uint8_t off_pn;
  int32_t off_pts[2];  /* each step's end (pt_ts) */
  int16_t off_pdu[2];  /* its wear in 1/16384 of a part */
  uint16_t off_pdt[2]; /* its length in minutes */
  uint8_t t_shift; /* bucket times are bt[i] << t_shift seconds since segment start */
  uint8_t x_shift; /* bucket values: remaining = 0.5 + bx[i] * 2^(x_shift - 15) */
  uint8_t fit_kind; /* fit's: 0 none, 1 linear on remaining, 2 linear on log(raw) */
  uint8_t fit_fast; /* 1: the fit took a speed-up on a short recent part that the
                       readings confirmed (below the line); the next refits may too */
  /* Closed buckets, oldest first: mean time (16 bits, in units of
     2^t_shift s since the segment start; the unit doubles when the
     segment outgrows 65535 of them, so a time is kept to 1/65536 of the
     segment's length) and mean model value (16 bits, as the remaining
     fraction around 0.5 in steps of 2^(x_shift - 15): 1/32768 of the
     part's range between -0.5 and 1.5; the step doubles when a value
     falls outside). 4 bytes a bucket. */
  uint16_t bt[PREDICT_WINDOW];
  int16_t bx[PREDICT_WINDOW];
  struct predict_fit fit;
};

/* Start an empty predictor on params (kept by pointer: they must outlive p and
   not change under it). Returns PREDICT_OK or PREDICT_ERR_PARAMS (p zeroed). */
int predict_init(struct predictor *p, const struct predict_params *params);

/*
 * Feed one reading (raw point value at wall_ms). Readings older than the
 * last one, and non-finite values, are ignored. Returns true when the
 * reading completes a replacement (a jump in the good direction beyond the
 * noise, or a counter reset, confirmed by the next PREDICT_PEND readings,
 * which are held back meanwhile; a jump they refute is dropped as a glitch);
 * *ev (may be NULL) then describes it and the history before it no longer
 * counts for the slope (a falling level's jump must also last an hour). A
 * level's sudden drop is held back too, for up to an hour: readings back
 * where the part should be make it a glitch (dropped); still down after the
 * hour, it is the part's level (docs/prediction.md, "Glitches").
 */
bool predict_add(struct predictor *p, int64_t wall_ms, double raw_value, struct predict_event *ev);

/* Record a replacement the readings cannot show (e.g. marked by an operator). */
void predict_mark_replaced(struct predictor *p, int64_t wall_ms);

/* The figures at now_ms (normally >= the last reading). Never fails. */
void predict_eval(const struct predictor *p, int64_t now_ms, struct prediction *out);

/*
 * The plant calendar (restock.yaml `calendar.closed`; docs/prediction.md,
 * "Plant calendar"): planned closed periods [from_ms, to_ms) of the closed[]
 * array (only those two fields are read), sorted by from_ms, none
 * overlapping. A machine wears nothing while the plant is closed, so the
 * *_cal functions take that time off the predictor's time axis: the lines
 * are fitted on open time (buckets inside a closed period are left out, the
 * later ones moved back by it), the line is carried to `now` over open time
 * only, and the weekly profile, a value's pauses, the dropout gap and the
 * replacement intervals count open time. The figures stay in running time:
 * days_left and its bounds do not skip closed periods ahead (the caller does:
 * cfg_calendar_days_week()). The calendar is not kept in the predictor (its
 * state and blob are the same): give every call the same one; a changed one
 * applies to the fit at its next refit (a bucket closing). A NULL calendar or
 * n == 0 is none: the plain functions are these with NULL.
 */
struct predict_cal {
  const struct cfg_closed *closed;
  size_t n;
};
bool predict_add_cal(struct predictor *p, int64_t wall_ms, double raw, struct predict_event *ev,
                     const struct predict_cal *cal);
void predict_mark_replaced_cal(struct predictor *p, int64_t wall_ms, const struct predict_cal *cal);
void predict_eval_cal(const struct predictor *p, int64_t now_ms, const struct predict_cal *cal,
                      struct prediction *out);

/*
 * The running time (the predictor's days, which skip no closed period) that
 * the next `days` calendar days from now_ms hold under cal, in a part's week
 * f (predict_work_clock()'s factors; all 1: calendar days): their working
 * days less the closed ones, walked back into days from now_ms
 * (predict_calendar_days()). A closed day the week idles anyway takes nothing
 * off (a Saturday holiday of a Monday-to-Friday machine). For a horizon
 * compared with days_left and its bounds (runout_risk). days as it is
 * without a closed period in them, and for NAN, INFINITY or days <= 0.
 */
double predict_open_days(const double f[7], int64_t now_ms, double days,
                         const struct predict_cal *cal);

/*
 * Typical life of one part in days, for cover_days: the median of the past
 * replacement intervals (in working days: predict_work_clock) when there is one, else the whole rated life at the
 * current rate (100 / rate_per_day), INFINITY when not depleting.
 */
double predict_typical_life_days(const struct predictor *p, const struct prediction *pr);

/*
 * Working time (docs/prediction.md, "Working time"): a machine that runs on
 * some days of the week only wears its parts on those days, so a part's life
 * measured in calendar days depends on where in the week it was fitted (a
 * part fitted early on a Saturday of a Saturday-only machine wears out that
 * day; the next lasts a week). Measured in working days, the calendar time
 * weighted by the weekly profile's factors (mean 1: a week is 7 working days
 * whatever its shape), every such part lasts the same.
 *
 * predict_work_clock: whether p's parts are measured in working time: the
 * weekly profile seen on every day of the week for most of a day, and a day
 * wearing under a quarter of the week's mean (a machine idle on some days:
 * weekends, or all but Saturday). Then f[0..6] receives the profile's factors
 * (Monday first, UTC days; mean 1) as predict_eval() uses them; else f is all 1
 * (a machine that runs every day: working time is calendar time, its days'
 * differences are load, not idle time).
 * predict_work_days: the working days between from_ms and to_ms (0 when
 * to_ms <= from_ms) under factors f.
 * predict_calendar_days: the calendar days from now_ms until work_d working
 * days have passed under f (0 for work_d <= 0, INFINITY for INFINITY).
 * Past replacement intervals (predict_typical_life_days) are kept in working
 * days (when a replacement is seen).
 */
bool predict_work_clock(const struct predictor *p, double f[7]);
double predict_work_days(const double f[7], int64_t from_ms, int64_t to_ms);
double predict_calendar_days(const double f[7], int64_t now_ms, double work_d);

/* The last accepted reading's time (wall ms, to the second), INT64_MIN before any. */
int64_t predict_last_ms(const struct predictor *p);
/* When the current part first read worn out (wall ms, to the second), INT64_MIN: not yet. */
int64_t predict_worn_ms(const struct predictor *p);

/* Start of the history the slope uses (segment start), INT64_MIN before any reading. */
int64_t predict_window_start_ms(const struct predictor *p);

/*
 * Serialise the state into buf (capacity cap, PREDICT_STATE_MAX always
 * suffices); *len receives the size. Returns PREDICT_OK or PREDICT_ERR_SPACE.
 * The blob is versioned (PREDICT_STATE_VERSION), little-endian and
 * checksummed; it carries history, not parameters.
 */
int predict_save(const struct predictor *p, uint8_t *buf, size_t cap, size_t *len);

/*
 * The format version of a predict_save() blob (its fifth byte), 0 when buf
 * is no such blob. A blob of an older version that predict_load() accepts
 * was migrated (version 3: the caller may say so once).
 */
int predict_blob_version(const uint8_t *buf, size_t len);

/*
 * Restore a blob from predict_save() into p with the given (current)
 * parameters (kept by pointer, like predict_init()'s). Any truncated, corrupt or foreign blob is refused with an
 * error code and p is left as a fresh predict_init() state (or zeroed when
 * params are invalid). Never reads past len bytes.
 */
int predict_load(struct predictor *p, const struct predict_params *params, const uint8_t *buf,
                 size_t len);

#endif

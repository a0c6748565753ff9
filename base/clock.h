/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock: the one source of time in restock (SPEC section 12).
 *
 * Two readings: `mono` (milliseconds, for intervals and deadlines; never
 * jumps) and `wall` (Unix milliseconds, for timestamps). Three kinds:
 *   real    — CLOCK_MONOTONIC and CLOCK_REALTIME;
 *   scaled  — both advance N times faster than real time, anchored so that
 *             simulated now = anchor_wall + (real now - real anchor) * N;
 *   virtual — only moves when clock_advance()/clock_set() is called (tests,
 *             replay).
 * I/O timeouts (device, commerce, SMTP, HTTP) always use real time: call
 * clock_real_mono_ms() for those.
 */
#ifndef RS_CLOCK_H
#define RS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

enum clock_kind { CLOCK_KIND_REAL, CLOCK_KIND_SCALED, CLOCK_KIND_VIRTUAL };

struct rs_clock;

/* Constructors; each returns NULL only on allocation failure. */
struct rs_clock *clock_new_real(void);
/* anchor_wall_ms: the simulated wall time at real_anchor_wall_ms (both Unix ms). */
struct rs_clock *clock_new_scaled(double scale, int64_t anchor_wall_ms,
                                  int64_t real_anchor_wall_ms);
struct rs_clock *clock_new_virtual(int64_t start_wall_ms);
void clock_free(struct rs_clock *c);

enum clock_kind clock_kind(const struct rs_clock *c);
double clock_scale(const struct rs_clock *c); /* 1 for real and virtual */

/* Milliseconds on the (possibly scaled) monotonic and wall timelines. */
int64_t clock_mono_ms(const struct rs_clock *c);
int64_t clock_wall_ms(const struct rs_clock *c);

/* Virtual clocks only: move forward by delta (>= 0), or to an absolute wall time. */
void clock_advance(struct rs_clock *c, int64_t delta_ms);
void clock_set_wall(struct rs_clock *c, int64_t wall_ms);

/* Real CLOCK_MONOTONIC in ms, whatever the kind: for I/O timeouts. */
int64_t clock_real_mono_ms(void);
/* Real CLOCK_REALTIME in ms. */
int64_t clock_real_wall_ms(void);

/*
 * Whether a wall time is plausible: not before the build date (a gateway
 * with no RTC battery boots in 1970). Nothing is ordered while it is not.
 */
bool clock_wall_sane(int64_t wall_ms);
/*
 * The floor for clock_wall_sane as Unix ms: 00:00 UTC of the day before the
 * build date, from RESTOCK_BUILD_EPOCH (Unix seconds, if the build defines
 * it) or __DATE__ (which GCC and clang take from SOURCE_DATE_EPOCH when set,
 * so reproducible builds get a reproducible floor).
 */
int64_t clock_build_floor_ms(void);
/*
 * Replay and rule tests only: trust every wall time (clock_wall_sane() then
 * always answers true), since a recorded or scripted timeline may lie before
 * the build date. Process-wide; off by default.
 */
void clock_trust_all_times(bool on);

/*
 * A command's --time-scale argument: a positive number up to 1000000. 0 and
 * *out, or -1 after printing "PROG: --time-scale: ..." to stderr.
 */
int clock_scale_option(const char *prog, const char *arg, double *out);

/* Sleep ms milliseconds of real time (nothing for ms <= 0), resuming after signals. */
void clock_sleep_real_ms(int64_t ms);

/* Format wall ms as RFC 3339 UTC with seconds ("2026-12-01T17:51:14Z"). */
void clock_format_rfc3339(int64_t wall_ms, char *buf, unsigned size);
/* For people, all UTC: "2026-12-01 17:51 UTC", "2026-12-01", "7 Dec"; "" when out of range. */
void clock_format_minute(int64_t wall_ms, char *buf, unsigned size);
void clock_format_date(int64_t wall_ms, char *buf, unsigned size);
void clock_format_day_month(int64_t wall_ms, char *buf, unsigned size);
/* An age as "42 s ago", "5 min ago", "3 h ago", "2 d ago" (a negative age counts as 0). */
void clock_format_ago(int64_t age_ms, char *buf, unsigned size);
/* Parse RFC 3339 (Z or ±hh:mm offset, optional fraction) or Unix seconds; 0 or -1. */
int clock_parse_time(const char *s, int64_t *out_wall_ms);

#endif

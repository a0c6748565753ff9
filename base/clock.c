/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock: real, scaled and virtual time (see clock.h).
 *
 * The build-date floor of clock_wall_sane() comes from RESTOCK_BUILD_EPOCH
 * (Unix seconds) when the build defines it, else from __DATE__, which GCC
 * and clang take from SOURCE_DATE_EPOCH when that is set, so reproducible
 * builds get a reproducible floor. __DATE__ is the builder's local date, so
 * the floor is moved one day back to stay below the true UTC build instant.
 */
#include "base/clock.h"

#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "base/rs_util.h"

#define MS_PER_DAY (86400 * (int64_t)1000)

struct rs_clock {
  enum clock_kind kind;
  double scale;
  /* scaled: simulated wall at the real construction instant, and its mono */
  int64_t sim_wall_at_start;
  int64_t real_mono_at_start;
  /* virtual */
  int64_t virt_wall;
  int64_t virt_mono;
};

static int64_t ts_ms(clockid_t id)
{
  struct timespec ts;
  if(clock_gettime(id, &ts))
    return 0;
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Real CLOCK_MONOTONIC in ms. */
int64_t clock_real_mono_ms(void)
{
  return ts_ms(CLOCK_MONOTONIC);
}

/* Real CLOCK_REALTIME in ms. */
int64_t clock_real_wall_ms(void)
{
  return ts_ms(CLOCK_REALTIME);
}

/* A real clock; NULL only when out of memory. */
struct rs_clock *clock_new_real(void)
{
  struct rs_clock *c = calloc(1, sizeof(*c));
  if(!c)
    return NULL;
  c->kind = CLOCK_KIND_REAL;
  c->scale = 1;
  return c;
}

/*
 * A scaled clock: simulated wall = anchor_wall + (real wall - real_anchor) *
 * scale. The real elapsed time is measured on CLOCK_MONOTONIC from now on,
 * so a wall-clock step (NTP) does not jump the simulation. scale <= 0 is
 * treated as 1. NULL only when out of memory.
 */
struct rs_clock *clock_new_scaled(double scale, int64_t anchor_wall_ms, int64_t real_anchor_wall_ms)
{
  struct rs_clock *c = calloc(1, sizeof(*c));
  int64_t real_wall;
  if(!c)
    return NULL;
  if(!(scale > 0))
    scale = 1;
  c->kind = CLOCK_KIND_SCALED;
  c->scale = scale;
  real_wall = clock_real_wall_ms();
  c->real_mono_at_start = clock_real_mono_ms();
  c->sim_wall_at_start =
      anchor_wall_ms + (int64_t)((double)(real_wall - real_anchor_wall_ms) * scale);
  return c;
}

/* A virtual clock at start_wall_ms; its mono timeline starts at 1e9 ms. */
struct rs_clock *clock_new_virtual(int64_t start_wall_ms)
{
  struct rs_clock *c = calloc(1, sizeof(*c));
  if(!c)
    return NULL;
  c->kind = CLOCK_KIND_VIRTUAL;
  c->scale = 1;
  c->virt_wall = start_wall_ms;
  c->virt_mono = 1000000000;
  return c;
}

void clock_free(struct rs_clock *c)
{
  free(c);
}

enum clock_kind clock_kind(const struct rs_clock *c)
{
  return c->kind;
}

double clock_scale(const struct rs_clock *c)
{
  return c->kind == CLOCK_KIND_SCALED ? c->scale : 1;
}

static int64_t scaled_elapsed(const struct rs_clock *c)
{
  return (int64_t)((double)(clock_real_mono_ms() - c->real_mono_at_start) * c->scale);
}

/*
 * Now on one of the clock's timelines: scaled, start + elapsed * N; virtual,
 * its own counter virt; real, what real() reads.
 */
static int64_t now_on(const struct rs_clock *c, int64_t start, int64_t virt, int64_t (*real)(void))
{
  if(c->kind == CLOCK_KIND_SCALED)
    return start + scaled_elapsed(c);
  return c->kind == CLOCK_KIND_VIRTUAL ? virt : real();
}

/* Monotonic ms on the clock's timeline (scaled: real start + elapsed * N). */
int64_t clock_mono_ms(const struct rs_clock *c)
{
  return now_on(c, c->real_mono_at_start, c->virt_mono, clock_real_mono_ms);
}

/* Wall Unix ms on the clock's timeline. */
int64_t clock_wall_ms(const struct rs_clock *c)
{
  return now_on(c, c->sim_wall_at_start, c->virt_wall, clock_real_wall_ms);
}

/* Virtual only (ignored otherwise): both timelines move by delta_ms >= 0. */
void clock_advance(struct rs_clock *c, int64_t delta_ms)
{
  if(c->kind != CLOCK_KIND_VIRTUAL || delta_ms < 0)
    return;
  c->virt_wall += delta_ms;
  c->virt_mono += delta_ms;
}

/*
 * Virtual only: set the wall time. The mono timeline moves forward by the
 * same amount when the wall moves forward, and stays put when it moves back.
 */
void clock_set_wall(struct rs_clock *c, int64_t wall_ms)
{
  if(c->kind != CLOCK_KIND_VIRTUAL)
    return;
  if(wall_ms > c->virt_wall)
    c->virt_mono += wall_ms - c->virt_wall;
  c->virt_wall = wall_ms;
}

static bool is_leap(int64_t y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int64_t m)
{
  static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if(m == 2 && is_leap(y))
    return 29;
  return dm[m - 1];
}

#ifndef RESTOCK_BUILD_EPOCH
/* __DATE__ ("Dec  1 2026") as Unix ms at 00:00 UTC, minus one day; 0 if unparsable. */
static int64_t floor_from_date(const char *date)
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  int64_t m = 0, d = 0, y = 0;
  int i;
  if(strlen(date) != 11)
    return 0;
  for(i = 0; i < 12; i++) {
    if(!memcmp(date, months + 3 * i, 3)) {
      m = i + 1;
      break;
    }
  }
  if(!m)
    return 0;
  for(i = 4; i < 6; i++) {
    if(date[i] >= '0' && date[i] <= '9')
      d = d * 10 + (date[i] - '0');
    else if(date[i] != ' ')
      return 0;
  }
  for(i = 7; i < 11; i++) {
    if(date[i] < '0' || date[i] > '9')
      return 0;
    y = y * 10 + (date[i] - '0');
  }
  if(d < 1 || d > 31)
    return 0;
  return (rs_days_from_civil(y, m, d) - 1) * MS_PER_DAY;
}

#endif

/* The build floor as Unix ms (see the top of this file). */
int64_t clock_build_floor_ms(void)
{
#ifdef RESTOCK_BUILD_EPOCH
  return ((int64_t)(RESTOCK_BUILD_EPOCH)*1000 / MS_PER_DAY - 1) * MS_PER_DAY;
#else
  return floor_from_date(__DATE__);
#endif
}

static bool trust_all; /* clock_trust_all_times() */

void clock_trust_all_times(bool on)
{
  trust_all = on;
}

/* Whether wall_ms is not before the build floor (or every time is trusted). */
bool clock_wall_sane(int64_t wall_ms)
{
  return trust_all || wall_ms >= clock_build_floor_ms();
}

/*
 * Format wall_ms as "YYYY-MM-DDTHH:MM:SSZ" (UTC, seconds, rounded down) into
 * buf of size bytes; a buffer too small gets "" (when size > 0).
 */
void clock_format_rfc3339(int64_t wall_ms, char *buf, unsigned size)
{
  int64_t secs = wall_ms / 1000, days, rem, z, era, doe, yoe, doy, mp, y, m, d;
  if(!size)
    return;
  if(wall_ms % 1000 < 0)
    secs--;
  days = secs / 86400;
  rem = secs % 86400;
  if(rem < 0) {
    rem += 86400;
    days--;
  }
  /* civil_from_days (H. Hinnant) */
  z = days + 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = yoe + era * 400 + (m <= 2);
  if(y < 0 || y > 9999 ||
     rs_snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, (int)m, (int)d,
                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60)))
    buf[0] = '\0';
}

void clock_format_minute(int64_t wall_ms, char *buf, unsigned size)
{
  char t[40];
  clock_format_rfc3339(wall_ms, t, sizeof(t));
  /* YYYY-MM-DDTHH:MM:SSZ -> YYYY-MM-DD HH:MM UTC */
  if(strlen(t) >= 16) {
    t[10] = ' ';
    t[16] = '\0';
  }
  if(!size || rs_snprintf(buf, size, "%s%s", t, t[0] ? " UTC" : ""))
    if(size)
      buf[0] = '\0';
}

void clock_format_date(int64_t wall_ms, char *buf, unsigned size)
{
  char t[40];
  clock_format_rfc3339(wall_ms, t, sizeof(t));
  t[10] = '\0';
  if(size && rs_strlcpy(buf, t, size))
    buf[0] = '\0';
}

void clock_format_day_month(int64_t wall_ms, char *buf, unsigned size)
{
  static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = (time_t)(wall_ms / 1000);
  struct tm tm;
  if(!size)
    return;
  if(!gmtime_r(&t, &tm) || rs_snprintf(buf, size, "%d %s", tm.tm_mday, mon[tm.tm_mon % 12]))
    buf[0] = '\0';
}

void clock_format_ago(int64_t age_ms, char *buf, unsigned size)
{
  int64_t d = age_ms < 0 ? 0 : age_ms;
  if(!size)
    return;
  if(d < 90000)
    (void)rs_snprintf(buf, size, "%" PRId64 " s ago", d / 1000);
  else if(d < INT64_C(90) * 60000)
    (void)rs_snprintf(buf, size, "%" PRId64 " min ago", d / 60000);
  else if(d < INT64_C(36) * 3600000)
    (void)rs_snprintf(buf, size, "%" PRId64 " h ago", d / 3600000);
  else
    (void)rs_snprintf(buf, size, "%" PRId64 " d ago", d / 86400000);
}

/* Read exactly n digits at *p into *out, advancing *p; -1 if not digits. */
static int digits(const char **p, int n, int64_t *out)
{
  int64_t v = 0;
  int i;
  for(i = 0; i < n; i++) {
    char ch = (*p)[i];
    if(ch < '0' || ch > '9')
      return -1;
    v = v * 10 + (ch - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

/* RFC 3339 date-time into Unix ms; 0 or -1. */
static int parse_rfc3339(const char *s, int64_t *out)
{
  const char *p = s;
  int64_t y, mo, d, h, mi, sec, ms = 0, off = 0;
  if(digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
    return -1;
  if(*p != 'T' && *p != 't' && *p != ' ')
    return -1;
  p++;
  if(digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
    return -1;
  if(mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
    return -1;
  if(*p == '.') {
    int n = 0;
    p++;
    while(*p >= '0' && *p <= '9') {
      if(n < 3)
        ms = ms * 10 + (*p - '0');
      n++;
      p++;
    }
    if(!n)
      return -1;
    for(; n < 3; n++)
      ms *= 10;
  }
  if(*p == 'Z' || *p == 'z') {
    p++;
  }
  else if(*p == '+' || *p == '-') {
    int64_t oh, om;
    int sign = *p == '-' ? -1 : 1;
    p++;
    if(digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
      return -1;
    off = sign * (oh * 60 + om) * 60000;
  }
  else
    return -1;
  if(*p)
    return -1;
  *out = (rs_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000 + ms - off;
  return 0;
}

/*
 * Parse RFC 3339 ("2026-12-01T17:51:14Z", "…T17:51:14.250+01:00") or Unix
 * seconds ("1764611474", optionally with a fraction "1764611474.5"). Returns
 * 0 and sets *out_wall_ms, or -1 with *out_wall_ms untouched.
 */
int clock_parse_time(const char *s, int64_t *out_wall_ms)
{
  const char *dot;
  int64_t secs, ms = 0;
  char ibuf[24];
  if(!s || !*s)
    return -1;
  if(strchr(s, '-') && strlen(s) >= 19 && s[4] == '-')
    return parse_rfc3339(s, out_wall_ms);
  dot = strchr(s, '.');
  if(dot) {
    const char *f = dot + 1;
    int n = 0;
    size_t il = (size_t)(dot - s);
    if(il == 0 || il >= sizeof(ibuf) || !*f)
      return -1;
    memcpy(ibuf, s, il);
    ibuf[il] = '\0';
    for(; *f; f++, n++) {
      if(*f < '0' || *f > '9')
        return -1;
      if(n < 3)
        ms = ms * 10 + (*f - '0');
    }
    for(; n < 3; n++)
      ms *= 10;
    s = ibuf;
  }
  /* no more than ~292 million years either way, so * 1000 cannot overflow */
  if(rs_parse_i64(s, false, -9000000000000000LL / 1000, 9000000000000000LL / 1000, &secs))
    return -1;
  *out_wall_ms = secs * 1000 + (secs < 0 || s[0] == '-' ? -ms : ms);
  return 0;
}

void clock_sleep_real_ms(int64_t ms)
{
  struct timespec ts;
  if(ms <= 0)
    return;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while(nanosleep(&ts, &ts) && errno == EINTR)
    ;
}

int clock_scale_option(const char *prog, const char *arg, double *out)
{
  double v;
  /* a positive finite number; huge factors make no useful timeline */
  if(!rs_parse_double(arg, &v) && v > 0 && v <= 1e6) {
    *out = v;
    return 0;
  }
  fprintf(stderr,
          "%s: --time-scale: '%s' is not a positive number (expected e.g. 60, 0.5; at most "
          "1000000)\n",
          prog, arg);
  return -1;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modbus_dev: the shared part of a Modbus device poll (see modbus_dev.h).
 */
#include "adapters/modbus_dev.h"

#include <stdlib.h>
#include <string.h>

#include "adapters/modbus_codec.h"
#include "base/log.h"
#include "base/rs_util.h"

void mbd_plan(struct mbd *m, const struct cfg_device *d)
{
  char err[256];
  mbplan_free(&m->plan);
  if(mbplan_build(d, &m->plan, err, sizeof(err)))
    log_warn("device %s: %s", d->id, err);
  FREE_NULL(m->pts);
  FREE_NULL(m->outs);
  m->pts = rs_xcalloc(d->n_points ? d->n_points : 1, sizeof(*m->pts));
  m->outs = rs_xcalloc(m->plan.n_reqs ? m->plan.n_reqs : 1, sizeof(*m->outs));
  mbd_begin(m, d);
}

void mbd_free(struct mbd *m)
{
  mbplan_free(&m->plan);
  FREE_NULL(m->pts);
  FREE_NULL(m->outs);
  FREE_NULL(m->what);
  m->what_len = m->what_cap = 0;
}

/*
 * Keep what (at most MBD_DETAIL_MAX - 1 bytes of it: no detail holds more)
 * in m->what for this poll; returns its offset. A request that fails again
 * the same way (a retry) keeps the sentence it has (prev): a device failing
 * at every poll fills the same bytes every time, and the buffer grows only
 * when a poll fails in more ways than any poll before it.
 */
static uint32_t what_keep(struct mbd *m, uint32_t prev, const char *what)
{
  size_t n = strnlen(what, MBD_DETAIL_MAX - 1);
  uint32_t at = m->what_len;
  if(prev < m->what_len && !strncmp(m->what + prev, what, n) && !m->what[prev + n])
    return prev;
  if(n + 1 > m->what_cap - m->what_len) {
    size_t cap = m->what_cap ? (size_t)m->what_cap * 2 : 64;
    while(cap - m->what_len < n + 1)
      cap *= 2;
    if(cap > UINT32_MAX / 2)
      return MBD_NO_WHAT; /* never: a poll's failures are bounded by its requests and attempts */
    m->what = rs_xrealloc(m->what, cap);
    m->what_cap = (uint32_t)cap;
  }
  memcpy(m->what + at, what, n);
  m->what[at + n] = '\0';
  m->what_len = (uint32_t)(at + n + 1);
  return at;
}

void mbd_set(struct mbd *m, const struct cfg_device *d, size_t i, enum mbd_fail f, int code,
             const char *what)
{
  struct mbd_out *o = &m->outs[i];
  (void)d;
  o->f = f;
  o->code = code;
  o->what_off = what_keep(m, o->what_off, what);
}

#define NOT_TRIED "not tried: the poll had no attempts left"

/*
 * Every request "not tried". Its detail is written only when it is read
 * (detail_of): formatting it here cost as much as the rest of a poll's
 * client work, and nearly every request is answered.
 */
void mbd_begin(struct mbd *m, const struct cfg_device *d)
{
  size_t i;
  (void)d;
  for(i = 0; i < m->plan.n_reqs; i++) {
    m->outs[i].f = MBD_TIMEOUT;
    m->outs[i].code = 0;
    m->outs[i].what_off = MBD_NO_WHAT;
  }
  /* a device failing at every poll keeps its heap for the next failures; one
     whose last poll failed nowhere gives it back (one failure at start-up
     does not hold memory for good) */
  if(!m->what_len) {
    FREE_NULL(m->what);
    m->what_cap = 0;
  }
  m->what_len = 0;
}

/*
 * Request i's detail, "TABLE FIRST..LAST of unit U: what" ("not tried" when
 * mbd_set() gave it no sentence in this poll), written into buf
 * (MBD_DETAIL_MAX bytes); returns buf, *what_at set to where the sentence
 * starts in it.
 */
static const char *detail_of(const struct mbd *m, const struct cfg_device *d, size_t i,
                             char buf[MBD_DETAIL_MAX], size_t *what_at)
{
  const struct mbplan_req *r = &m->plan.reqs[i];
  const struct mbd_out *o = &m->outs[i];
  size_t n;
  (void)rs_snprintf(buf, MBD_DETAIL_MAX, "%s %u..%u of unit %d: ", cfg_regtable_name(r->table),
                    (unsigned)r->start, (unsigned)(r->start + r->count - 1), d->unit_id);
  n = strlen(buf);
  *what_at = n < UINT8_MAX ? n : 0;
  (void)rs_strlcpy(buf + n, o->what_off == MBD_NO_WHAT ? NOT_TRIED : m->what + o->what_off,
                   MBD_DETAIL_MAX - n);
  return buf;
}

/* Whether f counts as the device answering (exception, busy, malformed, ok). */
static bool mbd_answered(enum mbd_fail f)
{
  return f == MBD_OK || f == MBD_EXCEPTION || f == MBD_BUSY || f == MBD_MALFORMED;
}

/* Log a point's error (it differs from the last one), or its recovery. */
static void note_change(const struct cfg_device *d, const struct cfg_point *pt, struct mbd_pt *ps,
                        enum reading_error e, int code, const char *detail)
{
  if(e == READING_OK)
    log_notice("device %s point %s: reading again", d->id, pt->id);
  else
    log_warn("device %s point %s: %s", d->id, pt->id, detail ? detail : reading_error_name(e));
  ps->err = (uint8_t)e;
  ps->code = (uint8_t)code;
}

/* Log a point's error when it differs from the last one, and a recovery. */
static inline void note_point(const struct cfg_device *d, const struct cfg_point *pt,
                              struct mbd_pt *ps, enum reading_error e, int code, const char *detail)
{
  if(ps->err != (uint8_t)e || ps->code != (uint8_t)code)
    note_change(d, pt, ps, e, code, detail);
}

/* A reading of point index p of d with no value yet. */
static void reading_init(struct reading *rd, const struct cfg_device *d, size_t p, int64_t wall_ms)
{
  const struct cfg_point *pt = &d->points[p];
  memset(rd, 0, sizeof(*rd));
  rd->device = d->id;
  rd->point = pt->id;
  rd->point_ref = (uint32_t)(p + 1);
  rd->wall_ms = wall_ms;
  rd->is_bool = pt->type == CFG_VT_BOOL;
}

/*
 * True when pt's value is the plain 16-bit register, as mbc_decode() would
 * decode it: a holding or input register read as uint16 or int16, unscaled,
 * in a byte order that keeps each register's two bytes (ABCD, CDAB). Then
 * mbd_emit_values() takes the value without the general decoder.
 */
static inline bool plain16(const struct cfg_point *pt)
{
  return (pt->type == CFG_VT_UINT16 || pt->type == CFG_VT_INT16) && !pt->scaled &&
         (pt->table == CFG_REG_HOLDING || pt->table == CFG_REG_INPUT) &&
         (pt->endian == CFG_END_ABCD || pt->endian == CFG_END_CDAB);
}

void mbd_emit_values(struct mbd *m, const struct cfg_device *d, size_t i, const uint16_t *regs,
                     const uint8_t *bits, int64_t wall_ms, adapter_emit_fn emit, void *ctx)
{
  const struct mbplan_req *r = &m->plan.reqs[i];
  size_t k, j;
  m->outs[i].f = MBD_OK;
  for(k = 0; k < r->n_items; k++) {
    const struct mbplan_item *it = &r->items[k];
    const struct cfg_point *pt = &d->points[it->point];
    uint16_t v16[READING_RAW_MAX];
    struct codec_value v;
    char err[CODEC_ERR_MAX];
    struct reading rd;
    size_t w = it->width < READING_RAW_MAX ? it->width : READING_RAW_MAX;
    enum codec_err cr;

    if(k + 1 < r->n_items)
      __builtin_prefetch(&d->points[r->items[k + 1].point]); /* decoded next */
    reading_init(&rd, d, it->point, wall_ms);
    if(!bits && w == 1 && plain16(pt)) {
      uint16_t u = regs[it->offset];
      rd.raw[0] = u;
      rd.n_raw = 1;
      rd.value = pt->type == CFG_VT_UINT16 ? (double)u
                                           : (double)((int32_t)u - (u >= 0x8000u ? 0x10000 : 0));
      rd.is_int = true;
      note_point(d, pt, &m->pts[it->point], rd.error, 0, rd.detail);
      emit(ctx, &rd);
      continue;
    }
    for(j = 0; j < w; j++)
      rd.raw[j] = v16[j] = bits ? (uint16_t)bits[it->offset + j] : regs[it->offset + j];
    rd.n_raw = (unsigned)w;
    cr = mbc_decode(pt, v16, w, &v, err, sizeof(err));
    if(cr) {
      rd.error = READING_ERR_MALFORMED;
      rd.detail = err;
    }
    else {
      rd.value = codec_value_as_double(&v);
      rd.is_int = v.kind == CODEC_V_INT || v.kind == CODEC_V_UINT;
    }
    note_point(d, pt, &m->pts[it->point], rd.error, 0, rd.detail);
    emit(ctx, &rd);
  }
}

/* Emit every point of request i with the failure e (code, detail). */
static void emit_failure(struct mbd *m, const struct cfg_device *d, size_t i, int64_t wall_ms,
                         enum reading_error e, adapter_emit_fn emit, void *ctx)
{
  const struct mbplan_req *r = &m->plan.reqs[i];
  const struct mbd_out *o = &m->outs[i];
  char buf[MBD_DETAIL_MAX];
  size_t k, at;
  const char *detail = detail_of(m, d, i, buf, &at);
  for(k = 0; k < r->n_items; k++) {
    struct reading rd;
    reading_init(&rd, d, r->items[k].point, wall_ms);
    rd.error = e;
    rd.code = o->code;
    rd.detail = detail;
    note_point(d, &d->points[r->items[k].point], &m->pts[r->items[k].point], e, o->code,
               detail);
    emit(ctx, &rd);
  }
}

enum rs_err mbd_finish(struct mbd *m, const struct cfg_device *d, int64_t wall_ms, enum rs_err last,
                       adapter_emit_fn emit, void *ctx, char *err, size_t errlen)
{
  size_t i, answered = 0;
  err[0] = '\0';
  for(i = 0; i < m->plan.n_reqs; i++) {
    if(mbd_answered(m->outs[i].f))
      answered++;
    else if(!err[0]) { /* the device's failure, not one request's: it is every point's error */
      char buf[MBD_DETAIL_MAX];
      size_t at;
      const char *detail = detail_of(m, d, i, buf, &at);
      (void)rs_strlcpy(err, detail + at, errlen);
    }
  }
  if(m->plan.n_reqs && !answered)
    return last; /* the device did not answer at all: the scheduler reports every point */
  err[0] = '\0';
  for(i = 0; i < m->plan.n_reqs; i++) {
    enum reading_error e;
    switch(m->outs[i].f) {
    case MBD_OK:
      continue;
    case MBD_EXCEPTION:
    case MBD_BUSY:
      e = READING_ERR_EXCEPTION;
      break;
    case MBD_MALFORMED:
      e = READING_ERR_MALFORMED;
      break;
    case MBD_IO:
      e = READING_ERR_IO;
      break;
    case MBD_TIMEOUT:
    default:
      e = READING_ERR_NO_ANSWER;
      break;
    }
    emit_failure(m, d, i, wall_ms, e, emit, ctx);
  }
  for(i = 0; i < m->plan.n_unplanned; i++) {
    struct reading rd;
    reading_init(&rd, d, m->plan.unplanned[i].point, wall_ms);
    rd.error = READING_ERR_MALFORMED;
    rd.detail = m->plan.unplanned[i].reason;
    emit(ctx, &rd);
  }
  return RS_OK;
}

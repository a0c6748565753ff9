/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay: the engine on a virtual clock and the `restockctl replay` command
 * (see replay.h).
 */
#include "gateway/tools/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/escape.h"
#include "base/log.h"
#include "gateway/decide.h"
#include "gateway/pipeline.h"

#define MINUTE_MS 60000

/* ---- the engine ------------------------------------------------------ */

struct replay_engine {
  const struct cfg *cfg;
  char dir[64];
  struct store *st;
  struct reading_path *rp;
  struct pipeline *pl;
  struct decide *dec; /* the decision step restockd runs */
};

/* Remove the temp store files and the dir (what the engine created). */
static void remove_dir(const char *dir)
{
  static const char *const names[] = {"restock.db", "restock.db-wal", "restock.db-shm",
                                      "restock.db-journal"};
  char path[128];
  size_t i;
  for(i = 0; i < RS_ARRAY_LEN(names); i++) {
    if(!rs_snprintf(path, sizeof(path), "%s/%s", dir, names[i]))
      (void)unlink(path);
  }
  (void)rmdir(dir);
}

struct replay_engine *replay_engine_new(const struct cfg *cfg, char *err, size_t errlen)
{
  struct replay_engine *e = rs_xcalloc(1, sizeof(*e));
  const char *tmp = getenv("TMPDIR");
  char db[128];

  e->cfg = cfg;
  if(!tmp || !*tmp || strlen(tmp) > 40)
    tmp = "/tmp";
  if(rs_snprintf(e->dir, sizeof(e->dir), "%s/restock-replay-XXXXXX", tmp) || !mkdtemp(e->dir)) {
    (void)rs_snprintf(err, errlen, "cannot create a temp dir under %s: %s", tmp, strerror(errno));
    e->dir[0] = '\0';
    goto fail;
  }
  (void)rs_snprintf(db, sizeof(db), "%s/restock.db", e->dir);
  if(store_open(db, &e->st, err, errlen))
    goto fail;
  if(store_set_order_id_tag(e->st, REPLAY_ORDER_TAG)) {
    (void)rs_snprintf(err, errlen, "%s", store_errmsg(e->st));
    goto fail;
  }
  clock_trust_all_times(true);
  e->rp = reading_path_new(e->st, cfg);
  e->pl = pipeline_new(e->st);
  if(!e->rp || !e->pl) {
    (void)rs_snprintf(err, errlen, "out of memory");
    goto fail;
  }
  e->dec = decide_new(cfg);
  return e;
fail:
  replay_engine_free(e);
  return NULL;
}

void replay_engine_free(struct replay_engine *e)
{
  if(!e)
    return;
  reading_path_free(e->rp);
  pipeline_free(e->pl);
  store_close(e->st);
  if(e->dir[0])
    remove_dir(e->dir);
  decide_free(e->dec);
  free(e);
}

struct store *replay_engine_store(struct replay_engine *e)
{
  return e->st;
}

struct reading_path *replay_engine_readings(struct replay_engine *e)
{
  return e->rp;
}

void replay_engine_on_line(struct replay_engine *e, replay_line_fn fn, void *ud)
{
  decide_on_line(e->dec, fn, ud);
}

enum rs_err replay_engine_set_spares(struct replay_engine *e, const struct cfg_consumable *c,
                                     int64_t spares)
{
  struct store_consumable row;
  enum rs_err rc;
  memset(&row, 0, sizeof(row));
  rc = store_get_consumable_state(e->st, c->full_id, &row);
  if(rc == RS_ERR_NOT_FOUND) {
    row.id = rs_xstrdup(c->full_id);
    rc = RS_OK;
  }
  if(!rc) {
    row.spares = spares;
    rc = store_put_consumable_state(e->st, &row);
  }
  store_consumable_free(&row);
  return rc;
}

enum rs_err replay_engine_reading(struct replay_engine *e, const char *device, const char *point,
                                  int64_t t_ms, double value)
{
  const struct cfg_device *d = cfg_find_device(e->cfg, device);
  const struct cfg_point *p = d ? cfg_find_point(d, point) : NULL;
  struct reading r;
  if(!p)
    return RS_ERR_NOT_FOUND;
  memset(&r, 0, sizeof(r));
  r.device = d->id;
  r.point = p->id;
  r.wall_ms = t_ms;
  r.value = value;
  r.is_bool = p->type == CFG_VT_BOOL;
  r.is_int = !p->scaled && value == floor(value);
  r.error = READING_OK;
  return reading_path_submit(e->rp, &r);
}

size_t replay_engine_evaluate(struct replay_engine *e, int64_t now_ms)
{
  return decide_run(e->dec, e->rp, e->pl, now_ms);
}

bool replay_engine_timers_running(const struct replay_engine *e, int64_t now_ms)
{
  return decide_timers_running(e->dec, now_ms);
}

/* ---- output ---------------------------------------------------------- */

static void json_time(struct rs_buf *b, int64_t ms)
{
  char t[40];
  clock_format_rfc3339(ms, t, sizeof(t));
  escape_json_str(b, t);
}

static void emit(FILE *out, struct rs_buf *b)
{
  if(b->data && !b->oom) {
    fputs(b->data, out);
    fputc('\n', out);
  }
  rs_buf_free(b);
}

/* The orders already printed: id and how many transitions of it. */
struct seen_order {
  char id[STORE_ORDER_ID_MAX + 1];
  int64_t updated_ms;
  size_t n_transitions;
};

struct run {
  const struct cfg *cfg;
  struct replay_engine *eng;
  FILE *out;
  struct seen_order *seen;
  size_t n_seen, cap_seen;
  /* orders changed in this step (ids), collected by list_cb */
  char (*changed)[STORE_ORDER_ID_MAX + 1];
  size_t n_changed, cap_changed;
  bool failed;
};

static struct seen_order *find_seen(struct run *r, const char *id)
{
  size_t i;
  for(i = 0; i < r->n_seen; i++)
    if(!strcmp(r->seen[i].id, id))
      return &r->seen[i];
  return NULL;
}

static int list_cb(void *ud, const struct store_order *o)
{
  struct run *r = ud;
  struct seen_order *s = find_seen(r, o->id);
  if(s && s->updated_ms == o->updated_ms)
    return 0;
  if(r->n_changed == r->cap_changed) {
    r->cap_changed = r->cap_changed ? r->cap_changed * 2 : 16;
    r->changed = rs_xrealloc(r->changed, r->cap_changed * sizeof(*r->changed));
  }
  (void)rs_strlcpy(r->changed[r->n_changed++], o->id, sizeof(*r->changed));
  return 0;
}

static int id_cmp(const void *a, const void *b)
{
  return strcmp(a, b);
}

/* One order event per transition of o not printed yet. */
static void print_order(struct run *r, const struct store_order_full *o, size_t from)
{
  size_t i, j;
  int decimals = r->cfg->orders.currency_decimals;
  for(i = from; i < o->n_transitions; i++) {
    struct rs_buf b = {0};
    char total[48];
    rs_buf_puts(&b, "{\"time\":");
    json_time(&b, o->transitions[i].time_ms);
    rs_buf_puts(&b, ",\"event\":\"order\",\"id\":");
    escape_json_str(&b, o->order.id);
    rs_buf_puts(&b, ",\"state\":");
    escape_json_str(&b, store_order_state_name(o->transitions[i].to));
    rs_buf_puts(&b, ",\"supplier\":");
    escape_json_str(&b, o->order.supplier);
    rs_buf_puts(&b, ",\"lines\":[");
    for(j = 0; j < o->n_lines; j++) {
      const struct store_order_line *l = &o->lines[j];
      rs_buf_puts(&b, j ? ",{\"consumable\":" : "{\"consumable\":");
      escape_json_str(&b, l->consumable);
      rs_buf_puts(&b, ",\"sku\":");
      escape_json_str(&b, l->sku);
      rs_buf_printf(&b, ",\"quantity\":%" PRId64 ",\"rule\":", l->quantity);
      if(l->rule)
        escape_json_str(&b, l->rule);
      else
        rs_buf_puts(&b, "null");
      rs_buf_puts(&b, "}");
    }
    cfg_format_money(o->order.total, decimals >= 0 ? decimals : 2, total, sizeof(total));
    rs_buf_puts(&b, "],\"total\":");
    escape_json_str(&b, total);
    rs_buf_puts(&b, "}");
    emit(r->out, &b);
  }
}

/* Print the transitions that appeared since the last call. */
static void scan_orders(struct run *r)
{
  size_t i;
  r->n_changed = 0;
  if(store_list_orders(replay_engine_store(r->eng), false, STORE_ORDER_DRAFT, 0, list_cb, r)) {
    fprintf(stderr, "restockctl replay: %s\n", store_errmsg(replay_engine_store(r->eng)));
    r->failed = true;
    return;
  }
  /* ids sort by creation date and sequence: a stable order for the output */
  if(r->n_changed > 1)
    qsort(r->changed, r->n_changed, sizeof(*r->changed), id_cmp);
  for(i = 0; i < r->n_changed; i++) {
    struct store_order_full *o = NULL;
    struct seen_order *s;
    if(store_get_order(replay_engine_store(r->eng), r->changed[i], &o)) {
      r->failed = true;
      continue;
    }
    s = find_seen(r, o->order.id);
    if(!s) {
      if(r->n_seen == r->cap_seen) {
        r->cap_seen = r->cap_seen ? r->cap_seen * 2 : 16;
        r->seen = rs_xrealloc(r->seen, r->cap_seen * sizeof(*r->seen));
      }
      s = &r->seen[r->n_seen++];
      memset(s, 0, sizeof(*s));
      (void)rs_strlcpy(s->id, o->order.id, sizeof(s->id));
    }
    print_order(r, o, s->n_transitions);
    s->n_transitions = o->n_transitions;
    s->updated_ms = o->order.updated_ms;
    store_order_full_free(o);
  }
}

/* Extension of SPEC 12: a line the rules made (before any batching). */
static void on_line(void *ud, const struct rule_decision *d, int64_t line_id, int64_t now_ms)
{
  struct run *r = ud;
  struct rs_buf b = {0};
  (void)line_id;
  rs_buf_puts(&b, "{\"time\":");
  json_time(&b, now_ms);
  rs_buf_puts(&b, ",\"event\":\"line\",\"consumable\":");
  escape_json_str(&b, d->consumable->full_id);
  rs_buf_puts(&b, ",\"sku\":");
  escape_json_str(&b, d->consumable->spec->sku);
  rs_buf_printf(&b, ",\"quantity\":%" PRId64 ",\"rule\":", d->quantity);
  escape_json_str(&b, d->rule ? d->rule->name : "default");
  rs_buf_puts(&b, "}");
  emit(r->out, &b);
}

static void print_predictions(struct run *r, int64_t now_ms)
{
  const struct cfg *cfg = r->cfg;
  size_t i, j;
  for(i = 0; i < cfg->n_devices; i++) {
    for(j = 0; j < cfg->devices[i].n_consumables; j++) {
      const struct cfg_consumable *c = &cfg->devices[i].consumables[j];
      struct prediction pr;
      struct rs_buf b = {0};
      if(c->spec->model == CFG_MODEL_BUTTON)
        continue; /* nothing to predict */
      if(reading_path_predict(replay_engine_readings(r->eng), c, now_ms, &pr) &&
         cfg_next_closed(cfg, now_ms)) {
        /* the plant calendar: the closed time ahead skipped, as the rules see it
           (reading_path_snapshot) */
        struct reading_path *rp = replay_engine_readings(r->eng);
        double d = pr.days_left;
        pr.days_left = reading_path_closed_days(rp, c, now_ms, pr.days_left);
        pr.days_left_p10 = reading_path_closed_days(rp, c, now_ms, pr.days_left_p10);
        pr.days_left_p90 = reading_path_closed_days(rp, c, now_ms, pr.days_left_p90);
        if(pr.empty_at_ms != INT64_MAX && isfinite(d) && isfinite(pr.days_left))
          pr.empty_at_ms += (int64_t)llround((pr.days_left - d) * 86400000.0);
      }
      rs_buf_puts(&b, "{\"time\":");
      json_time(&b, now_ms);
      rs_buf_puts(&b, ",\"event\":\"prediction\",\"consumable\":");
      escape_json_str(&b, c->full_id);
      rs_buf_puts(&b, ",\"level_pct\":");
      escape_json_num(&b, pr.level_pct, 2);
      rs_buf_puts(&b, ",\"days_left\":");
      escape_json_num(&b, pr.days_left, 2);
      /* the calibrated bounds (null while unknown or infinite) */
      rs_buf_puts(&b, ",\"days_left_p10\":");
      escape_json_num(&b, pr.days_left_p10, 2);
      rs_buf_puts(&b, ",\"days_left_p90\":");
      escape_json_num(&b, pr.days_left_p90, 2);
      rs_buf_puts(&b, ",\"empty_at\":");
      if(pr.empty_at_ms == INT64_MAX)
        rs_buf_puts(&b, "null");
      else
        json_time(&b, pr.empty_at_ms);
      rs_buf_puts(&b, ",\"confidence\":");
      escape_json_num(&b, pr.confidence, 2);
      rs_buf_puts(&b, "}");
      emit(r->out, &b);
    }
  }
}

/* The next multiple of every at or after t. */
static int64_t next_tick(int64_t t, int64_t every)
{
  int64_t q = t / every * every;
  if(q < t)
    q += every;
  return q;
}

int replay_run(const struct replay_opts *o, FILE *out, FILE *err)
{
  struct cfg *cfg = NULL;
  struct replay_csv csv = {0};
  struct rs_buf errs = {0};
  struct run r;
  char *data = NULL;
  size_t len = 0, i = 0;
  char msg[512];
  int code = 0;
  int64_t every = o->every_ms > 0 ? o->every_ms : 3600000, tick, last, t;

  memset(&r, 0, sizeof(r));
  /* lines, orders and replacements are in the output: keep stderr for problems */
  log_set_level(LOG_LVL_WARNING);
  if(!(cfg = cfg_load_report(o->config_dir, err, true))) {
    code = 2;
    goto out;
  }
  if(replay_csv_read(o->readings, &data, &len, msg, sizeof(msg))) {
    fprintf(err, "%s\n", msg);
    code = 2;
    goto out;
  }
  if(replay_csv_parse(o->readings, data, len, cfg, &csv, &errs)) {
    fputs(errs.data ? errs.data : "", err);
    code = 2;
    goto out;
  }
  if(!csv.n_rows) {
    fprintf(err, "warning: %s has no readings\n", o->readings);
    goto out;
  }
  r.cfg = cfg;
  r.out = out;
  r.eng = replay_engine_new(cfg, msg, sizeof(msg));
  if(!r.eng) {
    fprintf(err, "restockctl replay: %s\n", msg);
    code = 1;
    goto out;
  }
  replay_engine_on_line(r.eng, on_line, &r);

  last = csv.rows[csv.n_rows - 1].time_ms;
  tick = next_tick(csv.rows[0].time_ms, every);
  t = csv.rows[0].time_ms;
  while(t <= last && !r.failed) {
    bool is_tick = t == tick;
    /* every reading of this instant, then the decisions */
    while(i < csv.n_rows && csv.rows[i].time_ms == t) {
      const char *dev = csv.keys[csv.rows[i].key];
      (void)replay_engine_reading(r.eng, dev, dev + strlen(dev) + 1, t, csv.rows[i].value);
      i++;
    }
    (void)replay_engine_evaluate(r.eng, t);
    scan_orders(&r);
    if(is_tick) {
      print_predictions(&r, t);
      tick += every;
    }
    /* the next instant: a reading, a tick, or a minute while a `for` timer runs */
    {
      int64_t next = i < csv.n_rows ? csv.rows[i].time_ms : INT64_MAX;
      if(tick < next)
        next = tick;
      if(replay_engine_timers_running(r.eng, t) && t + MINUTE_MS < next)
        next = t + MINUTE_MS;
      if(next == INT64_MAX || next > last) {
        /* ticks past the last reading are not printed */
        break;
      }
      t = next;
    }
  }
  if(r.failed)
    code = 1;
out:
  if(fflush(out) && !code) {
    fprintf(err, "restockctl replay: cannot write the output: %s\n", strerror(errno));
    code = 1;
  }
  replay_engine_free(r.eng);
  FREE_NULL(r.seen);
  FREE_NULL(r.changed);
  replay_csv_free(&csv);
  rs_buf_free(&errs);
  FREE_NULL(data);
  cfg_free(cfg);
  return code;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ruletest: run rule unit tests (see ruletest.h, docs/rules.md).
 *
 * The timeline of a case: sample slot k at start + k * interval for k = 0 ..
 * duration / interval. At each slot, `replace` marks go first, then every
 * series' sample of that slot is read, then the rules run. While a `for`
 * timer runs the rules also run every minute in between (as restockd does),
 * so `for` fires when it has held long enough, not at the next sample only.
 */
#include "gateway/tools/ruletest.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "config/ruletest_cfg.h"
#include "base/log.h"
#include "gateway/reading.h"
#include "gateway/tools/replay.h"

#define MINUTE_MS 60000

struct got_line {
  int64_t at_ms; /* offset from start */
  const char *consumable, *sku, *rule;
  int64_t quantity;
  bool matched;
};

struct case_run {
  int64_t start_ms;
  struct got_line *got;
  size_t n_got, cap_got;
};

static void on_line(void *ud, const struct rule_decision *d, int64_t line_id, int64_t now_ms)
{
  struct case_run *cr = ud;
  struct got_line *g;
  (void)line_id;
  if(cr->n_got == cr->cap_got) {
    cr->cap_got = cr->cap_got ? cr->cap_got * 2 : 8;
    cr->got = rs_xrealloc(cr->got, cr->cap_got * sizeof(*cr->got));
  }
  g = &cr->got[cr->n_got++];
  memset(g, 0, sizeof(*g));
  g->at_ms = now_ms - cr->start_ms;
  g->consumable = d->consumable->full_id; /* the config outlives the run */
  g->sku = d->consumable->spec->sku;
  g->rule = d->rule ? d->rule->name : "default";
  g->quantity = d->quantity;
}

static void print_got(FILE *out, const char *label, const struct got_line *g)
{
  char at[48];
  cfg_format_span(g->at_ms, at, sizeof(at));
  fprintf(out, "  %10s at %-8s %s  sku %s  quantity %" PRId64 "  rule %s\n", label, at,
          g->consumable, g->sku, g->quantity, g->rule);
}

static void print_expect(FILE *out, const struct ruletest_expect *x)
{
  char at[48], within[48];
  cfg_format_span(x->at_ms, at, sizeof(at));
  fprintf(out, "  %10s at %-8s %s", "expected:", at, x->consumable);
  if(x->sku)
    fprintf(out, "  sku %s", x->sku);
  if(x->quantity)
    fprintf(out, "  quantity %" PRId64, x->quantity);
  if(x->rule)
    fprintf(out, "  rule %s", x->rule);
  if(x->within_ms) {
    cfg_format_span(x->within_ms, within, sizeof(within));
    fprintf(out, "  (within %s)", within);
  }
  fprintf(out, "  [%s:%d:%d]\n", x->pos.file, x->pos.line, x->pos.col);
}

static bool fields_match(const struct ruletest_expect *x, const struct got_line *g)
{
  if(strcmp(x->consumable, g->consumable))
    return false;
  if(x->sku && strcmp(x->sku, g->sku))
    return false;
  if(x->quantity && x->quantity != g->quantity)
    return false;
  if(x->rule && strcmp(x->rule, g->rule))
    return false;
  return true;
}

static int64_t dist(int64_t a, int64_t b)
{
  return a > b ? a - b : b - a;
}

/*
 * Compare the lines made with the lines expected; print the differences.
 * Returns the number of problems.
 */
static size_t compare(FILE *out, const struct ruletest_case *c, struct case_run *cr)
{
  size_t i, j, problems = 0;
  bool *xmatched = rs_xcalloc(c->n_expect + 1, sizeof(*xmatched));
  /* first pass: every expectation takes the closest line that fits it */
  for(i = 0; i < c->n_expect; i++) {
    const struct ruletest_expect *x = &c->expect[i];
    struct got_line *best = NULL;
    for(j = 0; j < cr->n_got; j++) {
      struct got_line *g = &cr->got[j];
      if(g->matched || !fields_match(x, g) || dist(g->at_ms, x->at_ms) > x->within_ms)
        continue;
      if(!best || dist(g->at_ms, x->at_ms) < dist(best->at_ms, x->at_ms))
        best = g;
    }
    if(best) {
      best->matched = true;
      xmatched[i] = true;
    }
  }
  /* then the misses, each beside the nearest unmatched line of its consumable */
  for(i = 0; i < c->n_expect; i++) {
    const struct ruletest_expect *x = &c->expect[i];
    struct got_line *near = NULL;
    if(xmatched[i])
      continue;
    problems++;
    for(j = 0; j < cr->n_got; j++) {
      struct got_line *g = &cr->got[j];
      if(g->matched || strcmp(g->consumable, x->consumable))
        continue;
      if(!near || dist(g->at_ms, x->at_ms) < dist(near->at_ms, x->at_ms))
        near = g;
    }
    print_expect(out, x);
    if(near) {
      print_got(out, "got:", near);
      near->matched = true; /* shown: not again as unexpected */
    }
    else
      fprintf(out, "  %10s no line for %s\n", "got:", x->consumable);
  }
  for(j = 0; j < cr->n_got; j++) {
    if(cr->got[j].matched)
      continue;
    problems++;
    print_got(out, "unexpected:", &cr->got[j]);
  }
  FREE_NULL(xmatched);
  return problems;
}

/* Names of every consumable of cfg (NULL-terminated, caller frees), for suggestions. */
static const char **consumable_names(const struct cfg *cfg)
{
  const char **v = rs_xcalloc(cfg->n_consumables + 1, sizeof(*v));
  size_t i, j, k = 0;
  for(i = 0; i < cfg->n_devices; i++)
    for(j = 0; j < cfg->devices[i].n_consumables && k < cfg->n_consumables; j++)
      v[k++] = cfg->devices[i].consumables[j].full_id;
  return v;
}

static int check_consumable(FILE *err, const struct cfg *cfg, const struct cfg_pos *pos,
                            const char *what, const char *id)
{
  const char **names;
  const char *hint;
  if(cfg_find_consumable(cfg, id))
    return 0;
  names = consumable_names(cfg);
  hint = rs_did_you_mean(id, names);
  fprintf(err, "%s:%d:%d: %s: no consumable '%s' in the plant%s%s%s\n", pos->file, pos->line,
          pos->col, what, id, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
  FREE_NULL(names);
  return -1;
}

/* Check a case's references against the plant; prints each problem. Returns their count. */
static int check_case(FILE *err, const struct cfg *cfg, const struct ruletest_case *c, size_t ci)
{
  int bad = 0;
  size_t i, j;
  char what[96];
  for(i = 0; i < c->n_series; i++) {
    const struct ruletest_series *s = &c->series[i];
    (void)rs_snprintf(what, sizeof(what), "tests[%zu].series[%zu]", ci, i);
    if(s->consumable) {
      const struct cfg_consumable *cc = cfg_find_consumable(cfg, s->consumable);
      if(check_consumable(err, cfg, &s->pos, what, s->consumable))
        bad++;
      else if(!cc->point) {
        fprintf(err, "%s:%d:%d: %s: consumable %s reads no point\n", s->pos.file, s->pos.line,
                s->pos.col, what, s->consumable);
        bad++;
      }
    }
    else if(s->device && s->point) {
      const struct cfg_device *d = cfg_find_device(cfg, s->device);
      if(!d || !cfg_find_point(d, s->point)) {
        fprintf(err, "%s:%d:%d: %s: no point %s/%s in the plant\n", s->pos.file, s->pos.line,
                s->pos.col, what, s->device, s->point);
        bad++;
      }
    }
  }
  for(i = 0; i < c->n_expect; i++) {
    const struct ruletest_expect *x = &c->expect[i];
    (void)rs_snprintf(what, sizeof(what), "tests[%zu].orders[%zu]", ci, i);
    if(check_consumable(err, cfg, &x->pos, what, x->consumable))
      bad++;
    if(x->rule && strcmp(x->rule, "default")) {
      bool found = false;
      for(j = 0; j < cfg->n_rules; j++)
        found = found || !strcmp(cfg->rules[j].name, x->rule);
      if(!found) {
        fprintf(err, "%s:%d:%d: %s.rule: no rule '%s' in the plant's rules\n", x->pos.file,
                x->pos.line, x->pos.col, what, x->rule);
        bad++;
      }
    }
  }
  for(i = 0; i < c->n_spares; i++) {
    (void)rs_snprintf(what, sizeof(what), "tests[%zu].spares", ci);
    if(check_consumable(err, cfg, &c->spares[i].pos, what, c->spares[i].consumable))
      bad++;
  }
  return bad;
}

/* Mark a replacement for every consumable the series feeds. */
static void mark_replaced(struct replay_engine *eng, const struct cfg *cfg,
                          const struct ruletest_series *s, int64_t t)
{
  const struct cfg_device *d;
  size_t i;
  if(s->consumable) {
    (void)reading_path_mark_replaced(replay_engine_readings(eng),
                                     cfg_find_consumable(cfg, s->consumable), t);
    return;
  }
  d = cfg_find_device(cfg, s->device);
  for(i = 0; d && i < d->n_consumables; i++) {
    if(d->consumables[i].point && !strcmp(d->consumables[i].point->id, s->point))
      (void)reading_path_mark_replaced(replay_engine_readings(eng), &d->consumables[i], t);
  }
}

/*
 * Run case c on a fresh engine; prints PASS or FAIL with the differences.
 * Returns 0 passed, 1 failed, 2 the engine could not start.
 */
static int run_case(FILE *out, FILE *err, const char *file, const struct cfg *cfg,
                    const struct ruletest_case *c)
{
  struct case_run cr;
  struct replay_engine *eng;
  char msg[256];
  size_t i, slots = 0, problems;
  int64_t end, t, slot_t;
  size_t k = 0;

  memset(&cr, 0, sizeof(cr));
  cr.start_ms = c->start_ms;
  eng = replay_engine_new(cfg, msg, sizeof(msg));
  if(!eng) {
    fprintf(err, "restockctl test-rules: %s\n", msg);
    return 2;
  }
  replay_engine_on_line(eng, on_line, &cr);
  for(i = 0; i < c->n_spares; i++) {
    if(replay_engine_set_spares(eng, cfg_find_consumable(cfg, c->spares[i].consumable),
                                c->spares[i].spares)) {
      fprintf(err, "restockctl test-rules: %s\n", store_errmsg(replay_engine_store(eng)));
      replay_engine_free(eng);
      return 2;
    }
  }
  for(i = 0; i < c->n_series; i++) {
    size_t n = c->series[i].n + (c->series[i].replace_at_end ? 1 : 0);
    if(n > slots)
      slots = n;
  }
  end = c->duration_ms >= 0 ? c->start_ms + c->duration_ms
                            : c->start_ms + (int64_t)(slots ? slots - 1 : 0) * c->interval_ms;
  t = c->start_ms;
  slot_t = c->start_ms;
  while(t <= end) {
    if(t == slot_t) {
      for(i = 0; i < c->n_series; i++) {
        const struct ruletest_series *s = &c->series[i];
        if((k < s->n && s->samples[k].replace) || (k == s->n && s->replace_at_end))
          mark_replaced(eng, cfg, s, t);
      }
      for(i = 0; i < c->n_series; i++) {
        const struct ruletest_series *s = &c->series[i];
        const char *dev = s->device, *pt = s->point;
        if(k >= s->n || isnan(s->samples[k].value))
          continue;
        if(s->consumable) {
          const struct cfg_consumable *cc = cfg_find_consumable(cfg, s->consumable);
          dev = cc->device->id;
          pt = cc->point->id;
        }
        (void)replay_engine_reading(eng, dev, pt, t, s->samples[k].value);
      }
      k++;
      slot_t += c->interval_ms;
    }
    (void)replay_engine_evaluate(eng, t);
    if(replay_engine_timers_running(eng, t) && t + MINUTE_MS < slot_t)
      t += MINUTE_MS;
    else
      t = slot_t;
  }

  {
    /* collect the verdict first, print the header, then the details */
    char *buf = NULL;
    size_t blen = 0;
    FILE *mem = open_memstream(&buf, &blen);
    if(!mem) {
      replay_engine_free(eng);
      FREE_NULL(cr.got);
      return 2;
    }
    problems = compare(mem, c, &cr);
    fclose(mem);
    fprintf(out, "%s %s: %s\n", problems ? "FAIL" : "PASS", file, c->name);
    if(problems)
      fputs(buf, out);
    FREE_NULL(buf);
  }
  replay_engine_free(eng);
  FREE_NULL(cr.got);
  return problems ? 1 : 0;
}

int ruletest_run_files(const char *const *paths, size_t n, FILE *out, FILE *err)
{
  size_t i, j, passed = 0, failed = 0;
  int code = 0;
  enum log_level old = log_get_level();

  /* the engine logs every line and replacement at notice level: keep stderr for problems */
  log_set_level(LOG_LVL_WARNING);
  for(i = 0; i < n; i++) {
    struct ruletest_file *f = NULL;
    struct cfg *cfg = NULL;
    struct cfg_diags diags = {0};
    int bad = 0;
    if(ruletest_cfg_load(paths[i], &f, &diags)) {
      cfg_diags_print(&diags, err);
      cfg_diags_free(&diags);
      code = 2;
      continue;
    }
    cfg_diags_print(&diags, err);
    cfg_diags_free(&diags);
    memset(&diags, 0, sizeof(diags));
    if(ruletest_cfg_load_plant(f, &cfg, &diags)) {
      fprintf(err, "%s:%d:%d: config: the plant %s is invalid:\n", f->path, f->config_pos.line,
              f->config_pos.col, f->config_dir);
      cfg_diags_print(&diags, err);
      cfg_diags_free(&diags);
      ruletest_cfg_free(f);
      code = 2;
      continue;
    }
    cfg_diags_print(&diags, err);
    cfg_diags_free(&diags);
    for(j = 0; j < f->n_cases; j++)
      bad += check_case(err, cfg, &f->cases[j], j);
    if(bad) {
      code = 2;
    }
    else {
      for(j = 0; j < f->n_cases; j++) {
        int rc = run_case(out, err, f->path, cfg, &f->cases[j]);
        if(rc == 0)
          passed++;
        else {
          failed++;
          if(rc == 2)
            code = 2;
          else if(!code)
            code = 1;
        }
      }
    }
    cfg_free(cfg);
    ruletest_cfg_free(f);
  }
  fprintf(out, "test-rules: %zu passed, %zu failed\n", passed, failed);
  log_set_level(old);
  return code;
}

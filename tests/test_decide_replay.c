/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One recording, two drivers, the same orders: restockd's core (the real
 * scheduler polling a scripted plant on a virtual clock, the reading path,
 * the store, the decision step and the pipeline) and `restockctl replay`
 * (replay_run() on the same readings as a CSV file) must make the same
 * order lines at the same times and move the same orders through the same
 * states at the same times. Ids differ (replay's carry the REPLAY tag) and
 * are not compared.
 *
 * The plant (tests/fixtures/decide): a filter level falling from 100 % to 0
 * over 2.5 days, with a rule `level_pct < 30 for 30m`, and a UV lamp's hour
 * counter near the end of its life, ordered by the built-in default rule.
 * Orders to the supplier are batched for 2 h unless urgent.
 */
#include <fcntl.h>
#include <math.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rs_util.h"
#include "config/config.h"
#include "gateway/daemon.h"
#include "gateway/store.h"
#include "gateway/tools/replay.h"
#include "tests/fake_adapter.h"

#ifndef DECIDE_FIXTURE_DIR
#error "DECIDE_FIXTURE_DIR must name tests/fixtures/decide"
#endif

#define STEP_MS (10 * 60000)
#define N_STEPS (4 * 144)
/* 2027-03-01T00:00:00Z: after any build date, so the daemon's clock check lets it order */
#define T0_MS INT64_C(1803859200000)

static double level[N_STEPS], lamp[N_STEPS];

static void make_plant(void)
{
  size_t k;
  for(k = 0; k < N_STEPS; k++) {
    double l = 100.0 - (double)k * 100.0 / (2.5 * 144.0);
    level[k] = l > 0 ? floor(l) : 0;
    lamp[k] = 8750.0 + (double)(k / 6);
  }
}

/* The events both drivers are compared on, one line of text each, in time order. */
struct events {
  char **v;
  size_t n, cap;
};

static void ev_add(struct events *e, const char *s)
{
  if(e->n == e->cap) {
    e->cap = e->cap ? e->cap * 2 : 16;
    e->v = rs_xrealloc(e->v, e->cap * sizeof(*e->v));
  }
  e->v[e->n++] = rs_xstrdup(s);
}

static int ev_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void ev_free(struct events *e)
{
  size_t i;
  for(i = 0; i < e->n; i++)
    free(e->v[i]);
  free(e->v);
}

/* ---- restockctl replay --------------------------------------------------- */

static void replay_events(const char *csv, struct events *lines, struct events *orders)
{
  struct replay_opts o = {DECIDE_FIXTURE_DIR, csv, 3600000};
  FILE *out = tmpfile(), *err = tmpfile();
  char buf[8192];
  assert_non_null(out);
  assert_non_null(err);
  assert_int_equal(replay_run(&o, out, err), 0);
  rewind(out);
  while(fgets(buf, sizeof(buf), out)) {
    json_error_t jerr;
    json_t *j = json_loads(buf, 0, &jerr), *ls;
    const char *ev;
    char row[512];
    size_t i;
    assert_non_null(j);
    ev = json_string_value(json_object_get(j, "event"));
    assert_non_null(ev);
    if(!strcmp(ev, "line")) {
      assert_int_equal(rs_snprintf(row, sizeof(row), "%s %s x%" PRId64 " by %s",
                                   json_string_value(json_object_get(j, "time")),
                                   json_string_value(json_object_get(j, "consumable")),
                                   (int64_t)json_integer_value(json_object_get(j, "quantity")),
                                   json_string_value(json_object_get(j, "rule"))),
                       0);
      ev_add(lines, row);
    } else if(!strcmp(ev, "order")) {
      struct rs_buf b = {0};
      rs_buf_printf(&b, "%s %s %s:", json_string_value(json_object_get(j, "time")),
                    json_string_value(json_object_get(j, "supplier")),
                    json_string_value(json_object_get(j, "state")));
      ls = json_object_get(j, "lines");
      for(i = 0; i < json_array_size(ls); i++)
        rs_buf_printf(&b, " %s",
                      json_string_value(json_object_get(json_array_get(ls, i), "consumable")));
      ev_add(orders, b.data);
      rs_buf_free(&b);
    }
    json_decref(j);
  }
  fclose(out);
  fclose(err);
}

/* ---- restockd's core ------------------------------------------------------- */

struct collect {
  struct store *st;
  struct events *lines, *orders;
};

static int order_cb(void *ud, const struct store_order *order)
{
  struct collect *c = ud;
  struct store_order_full *o = NULL;
  size_t i, j;
  char t[40], row[512];
  assert_int_equal(store_get_order(c->st, order->id, &o), RS_OK);
  for(i = 0; i < o->n_lines; i++) {
    const struct store_order_line *l = &o->lines[i];
    clock_format_rfc3339(l->created_ms, t, sizeof(t));
    assert_int_equal(rs_snprintf(row, sizeof(row), "%s %s x%" PRId64 " by %s", t, l->consumable,
                                 l->quantity, l->rule ? l->rule : "default"),
                     0);
    ev_add(c->lines, row);
  }
  for(i = 0; i < o->n_transitions; i++) {
    struct rs_buf b = {0};
    clock_format_rfc3339(o->transitions[i].time_ms, t, sizeof(t));
    rs_buf_printf(&b, "%s %s %s:", t, o->order.supplier,
                  store_order_state_name(o->transitions[i].to));
    for(j = 0; j < o->n_lines; j++)
      rs_buf_printf(&b, " %s", o->lines[j].consumable);
    ev_add(c->orders, b.data);
    rs_buf_free(&b);
  }
  store_order_full_free(o);
  return 0;
}

static void daemon_events(const char *dir, struct events *lines, struct events *orders)
{
  static const struct fake_series series[] = {
      {"tank-01", "filter_level", level, N_STEPS},
      {"tank-01", "lamp_hours", lamp, N_STEPS},
  };
  struct fake_plant plant;
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  struct store *st = NULL;
  struct rs_clock *clk = clock_new_virtual(T0_MS);
  struct daemon_core *core;
  struct collect c;
  char db[160], err[256];
  int64_t end = T0_MS + (int64_t)(N_STEPS - 1) * STEP_MS;

  assert_int_equal(cfg_load(DECIDE_FIXTURE_DIR, &cfg, &diags), 0);
  cfg_diags_free(&diags);
  assert_int_equal(rs_snprintf(db, sizeof(db), "%s/restock.db", dir), 0);
  assert_int_equal(store_open(db, &st, err, sizeof(err)), RS_OK);
  memset(&plant, 0, sizeof(plant));
  plant.series = series;
  plant.n_series = RS_ARRAY_LEN(series);
  plant.t0_ms = T0_MS;
  plant.step_ms = STEP_MS;
  core = daemon_core_new(cfg, st, clk, fake_adapter_lookup, &plant);
  assert_non_null(core);
  for(;;) {
    int64_t next = daemon_core_step(core), now = clock_mono_ms(clk);
    if(clock_wall_ms(clk) >= end && plant.polls >= 2 * N_STEPS)
      break;
    clock_advance(clk, next > now ? next - now : 1);
  }
  c.st = st;
  c.lines = lines;
  c.orders = orders;
  assert_int_equal(store_list_orders(st, false, STORE_ORDER_DRAFT, 0, order_cb, &c), RS_OK);
  daemon_core_free(core);
  store_close(st);
  clock_free(clk);
}

static void assert_same(struct events *a, struct events *b, const char *what)
{
  size_t i;
  qsort(a->v, a->n, sizeof(*a->v), ev_cmp);
  qsort(b->v, b->n, sizeof(*b->v), ev_cmp);
  for(i = 0; i < a->n || i < b->n; i++) {
    const char *x = i < a->n ? a->v[i] : "(none)", *y = i < b->n ? b->v[i] : "(none)";
    if(strcmp(x, y))
      fail_msg("%s %zu differs:\n  restockd: %s\n  replay:   %s", what, i, x, y);
  }
}

static void test_daemon_and_replay_agree(void **state)
{
  char dir[] = "/tmp/restock-decide-XXXXXX", csv[96], logpath[96], path[128];
  struct events dl = {0}, dor = {0}, rl = {0}, ro = {0};
  FILE *f;
  size_t k;
  int logfd;
  (void)state;

  make_plant();
  assert_non_null(mkdtemp(dir));
  assert_int_equal(rs_snprintf(csv, sizeof(csv), "%s/readings.csv", dir), 0);
  assert_int_equal(rs_snprintf(logpath, sizeof(logpath), "%s/log", dir), 0);
  logfd = open(logpath, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  assert_true(logfd >= 0);
  log_set_fd(logfd);
  f = fopen(csv, "w");
  assert_non_null(f);
  fprintf(f, "time,device,point,value\n");
  for(k = 0; k < N_STEPS; k++) {
    int64_t t = (T0_MS + (int64_t)k * STEP_MS) / 1000;
    fprintf(f, "%" PRId64 ",tank-01,filter_level,%.0f\n", t, level[k]);
    fprintf(f, "%" PRId64 ",tank-01,lamp_hours,%.0f\n", t, lamp[k]);
  }
  assert_int_equal(fclose(f), 0);

  daemon_events(dir, &dl, &dor);
  replay_events(csv, &rl, &ro);

  /* both rules fired and both orders moved: the comparison is not empty */
  assert_int_equal(dl.n, 2);
  assert_true(dor.n >= 4);
  assert_same(&dl, &rl, "order line");
  assert_same(&dor, &ro, "order event");

  ev_free(&dl);
  ev_free(&dor);
  ev_free(&rl);
  ev_free(&ro);
  log_set_fd(2);
  close(logfd);
  static const char *const names[] = {"readings.csv", "log", "restock.db", "restock.db-wal",
                                      "restock.db-shm"};
  for(k = 0; k < RS_ARRAY_LEN(names); k++) {
    if(!rs_snprintf(path, sizeof(path), "%s/%s", dir, names[k]))
      (void)unlink(path);
  }
  (void)rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_daemon_and_replay_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

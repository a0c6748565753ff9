/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End to end on a virtual clock: a fake in-process adapter plays a falling
 * filter level; readings go through the reading path (deadband, heartbeat)
 * into SQLite, the rules of tests/fixtures/e2e (loaded with cfg_load) decide,
 * and the order pipeline records the order line. Every test uses the real
 * scheduler, reading path, store, rules and pipeline; only device I/O is
 * faked.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "tests/testutil.h"
#include "base/clock.h"
#include "gateway/daemon.h"
#include "base/log.h"
#include "gateway/store.h"
#include "tests/fake_adapter.h"

#ifndef E2E_FIXTURE_DIR
#error "E2E_FIXTURE_DIR must name tests/fixtures/e2e"
#endif

#define MIN_MS 60000

struct env {
  char dir[64];
  char db[128];
  char logpath[128];
  int logfd;
  struct store *st;
  struct rs_clock *clk;
  struct daemon_core *core;
  struct fake_plant plant;
  int64_t start_wall;
};

/* A level that falls by about 10 points a minute; 19 (index 9) is the first below 20. */
static const double falling[] = {100, 90, 80, 70, 60, 50, 40, 30, 25, 19, 15, 10, 5, 0};
static const double lamp[] = {100};
static const struct fake_series falling_plant[] = {
    {"tank-01", "filter_level", falling, RS_ARRAY_LEN(falling)},
    {"tank-01", "lamp_hours", lamp, RS_ARRAY_LEN(lamp)},
};

static struct cfg *load_fixture(void)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  int nerr = cfg_load(E2E_FIXTURE_DIR, &cfg, &diags);
  if(nerr)
    cfg_diags_print(&diags, stderr);
  cfg_diags_free(&diags);
  assert_int_equal(nerr, 0);
  assert_non_null(cfg);
  return cfg;
}

/* Temp dir, database, log file and a core on a virtual clock at start_wall. */
static void env_open(struct env *e, const struct fake_series *series, size_t n, int64_t start_wall)
{
  char err[256];
  memset(e, 0, sizeof(*e));
  assert_int_equal(rs_strlcpy(e->dir, "/tmp/restock-e2e-XXXXXX", sizeof(e->dir)), 0);
  assert_non_null(mkdtemp(e->dir));
  assert_int_equal(rs_snprintf(e->db, sizeof(e->db), "%s/restock.db", e->dir), 0);
  assert_int_equal(rs_snprintf(e->logpath, sizeof(e->logpath), "%s/log", e->dir), 0);
  e->logfd = open(e->logpath, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  assert_true(e->logfd >= 0);
  log_set_fd(e->logfd);
  log_set_level(LOG_LVL_DEBUG);
  assert_int_equal(store_open(e->db, &e->st, err, sizeof(err)), RS_OK);
  e->start_wall = start_wall;
  e->clk = clock_new_virtual(start_wall);
  assert_non_null(e->clk);
  e->plant.series = series;
  e->plant.n_series = n;
  e->plant.t0_ms = start_wall;
  e->plant.step_ms = MIN_MS;
  e->core = daemon_core_new(load_fixture(), e->st, e->clk, fake_adapter_lookup, &e->plant);
  assert_non_null(e->core);
}

static void env_close(struct env *e)
{
  daemon_core_free(e->core);
  store_close(e->st);
  clock_free(e->clk);
  log_set_fd(2);
  close(e->logfd);
  tu_remove_state_dir(e->dir);
}

/* The log so far, as one string (caller frees). */
static char *read_log(const struct env *e)
{
  return tu_read_file(e->logpath);
}

static unsigned count_substr(const char *hay, const char *needle)
{
  unsigned n = 0;
  const char *p = hay;
  while((p = strstr(p, needle)) != NULL) {
    n++;
    p += strlen(needle);
  }
  return n;
}

/* Step the core on its virtual clock until the plant has served `polls` more polls. */
static void run_polls(struct env *e, unsigned polls)
{
  unsigned target = e->plant.polls + polls;
  int guard = 0;
  for(;;) {
    int64_t next = daemon_core_step(e->core);
    int64_t now = clock_mono_ms(e->clk);
    if(e->plant.polls >= target)
      break;
    assert_true(guard++ < 100000);
    clock_advance(e->clk, next > now ? next - now : 1);
  }
}

struct line_copy {
  size_t n;
  char consumable[160];
  char sku[80];
  char rule[80];
  char currency[4];
  char figures[1024];
  int64_t quantity, unit_price, created_ms;
};

static int copy_line(void *ud, const struct store_order_line *l)
{
  struct line_copy *c = ud;
  if(!c->n++) {
    (void)rs_strlcpy(c->consumable, l->consumable, sizeof(c->consumable));
    (void)rs_strlcpy(c->sku, l->sku, sizeof(c->sku));
    (void)rs_strlcpy(c->rule, l->rule ? l->rule : "", sizeof(c->rule));
    (void)rs_strlcpy(c->currency, l->currency, sizeof(c->currency));
    (void)rs_strlcpy(c->figures, l->figures_json ? l->figures_json : "", sizeof(c->figures));
    c->quantity = l->quantity;
    c->unit_price = l->unit_price;
    c->created_ms = l->created_ms;
  }
  return 0;
}

static void open_lines(struct env *e, struct line_copy *out)
{
  memset(out, 0, sizeof(*out));
  assert_int_equal(store_list_open_lines(e->st, copy_line, out), RS_OK);
}

/*
 * What the store holds of point once restockd's next commit ran: values
 * that pass the filter wait in memory for up to DAEMON_COMMIT_INTERVAL_MS
 * and are written in one transaction.
 */
static size_t stored_readings(struct env *e, const char *point)
{
  size_t n = 0;
  assert_int_equal(reading_path_commit(daemon_core_readings(e->core)), RS_OK);
  assert_int_equal(store_readings_range(e->st, "tank-01", point, 0, INT64_MAX, tu_count_reading, &n),
                   RS_OK);
  return n;
}

/*
 * The falling level makes exactly one line, when the filtered level (the
 * median of the last three readings, rules/predict.h) first reads below 20 %:
 * at the reading after the first raw value below 20.
 */
static void test_falling_level_orders_once(void **state)
{
  struct env e;
  struct line_copy l;
  struct rule_decision d;
  const struct cfg *cfg;
  (void)state;

  env_open(&e, falling_plant, RS_ARRAY_LEN(falling_plant), clock_real_wall_ms());
  run_polls(&e, 10); /* 100 .. 19: filtered 100 .. 25 */
  open_lines(&e, &l);
  assert_int_equal(l.n, 0);

  run_polls(&e, 1); /* 15: filtered 19 */
  open_lines(&e, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.consumable, "tank-01/water-filter");
  assert_string_equal(l.sku, "WF-1");
  assert_int_equal(l.quantity, 3);
  assert_string_equal(l.rule, "filter-level-low");
  assert_string_equal(l.currency, "EUR");
  assert_int_equal(l.unit_price, 740);
  assert_int_equal(l.created_ms, e.start_wall + 10 * MIN_MS);
  assert_non_null(strstr(l.figures, "\"level_pct\":19"));
  assert_non_null(strstr(l.figures, "\"value\":15"));

  /* the level keeps falling: still one line, and the lamp (default rule) gets none */
  run_polls(&e, 10);
  open_lines(&e, &l);
  assert_int_equal(l.n, 1);
  assert_int_equal(daemon_core_evaluate(e.core), 0);
  open_lines(&e, &l);
  assert_int_equal(l.n, 1);

  /* the pipeline itself refuses a second open line for the consumable */
  cfg = daemon_core_config(e.core);
  memset(&d, 0, sizeof(d));
  d.consumable = cfg_find_consumable(cfg, "tank-01/water-filter");
  assert_non_null(d.consumable);
  d.rule = &cfg->rules[0];
  d.quantity = 3;
  assert_int_equal(
      pipeline_submit(daemon_core_pipeline(e.core), cfg, &d, clock_wall_ms(e.clk), NULL),
      RS_ERR_CONFLICT);
  open_lines(&e, &l);
  assert_int_equal(l.n, 1);
  env_close(&e);
}

/* Deadband 1 % of the 0..100 range, heartbeat 1 h; live state sees every reading. */
static void test_deadband_and_heartbeat(void **state)
{
  static const double levels[] = {50, 50.4, 50.9, 51.0, 51.2, 49.9, 49.95};
  static const struct fake_series series[] = {
      {"tank-01", "filter_level", levels, RS_ARRAY_LEN(levels)},
      {"tank-01", "lamp_hours", lamp, RS_ARRAY_LEN(lamp)},
  };
  struct env e;
  const struct live_point *lp;
  (void)state;

  env_open(&e, series, RS_ARRAY_LEN(series), clock_real_wall_ms());
  run_polls(&e, 3); /* 50 stored; 50.4 and 50.9 inside the deadband */
  assert_int_equal(stored_readings(&e, "filter_level"), 1);
  lp = reading_path_live(daemon_core_readings(e.core), "tank-01", "filter_level");
  assert_non_null(lp);
  assert_true(lp->has_value);
  assert_true(lp->value == 50.9);
  assert_int_equal(lp->n_readings, 3);
  assert_true(lp->stored_value == 50);

  run_polls(&e, 1); /* 51.0: moved 1.0 = the band */
  assert_int_equal(stored_readings(&e, "filter_level"), 2);
  run_polls(&e, 2); /* 51.2 no; 49.9 moved 1.1 */
  assert_int_equal(stored_readings(&e, "filter_level"), 3);

  /* 49.95 from minute 6 on: nothing until an hour after the last stored (minute 5) */
  run_polls(&e, 59); /* minutes 6 .. 64 */
  assert_int_equal(stored_readings(&e, "filter_level"), 3);
  run_polls(&e, 1); /* minute 65 */
  assert_int_equal(stored_readings(&e, "filter_level"), 4);
  /* the lamp counter never moves: first reading, then one heartbeat at minute 60 */
  assert_int_equal(stored_readings(&e, "lamp_hours"), 2);
  lp = reading_path_live(daemon_core_readings(e.core), "tank-01", "filter_level");
  assert_int_equal(lp->n_readings, 66);
  assert_true(lp->value == 49.95);
  env_close(&e);
}

/* A wall clock in 1970 orders nothing; once it is set, the line is made. */
static void test_no_order_while_clock_insane(void **state)
{
  struct env e;
  struct line_copy l;
  char *log;
  int64_t sane;
  (void)state;

  env_open(&e, falling_plant, RS_ARRAY_LEN(falling_plant), 86400000); /* 1970-01-02 */
  run_polls(&e, 14);
  open_lines(&e, &l);
  assert_int_equal(l.n, 0);
  /* the readings themselves are still recorded */
  assert_true(stored_readings(&e, "filter_level") >= 10);

  sane = clock_real_wall_ms();
  clock_set_wall(e.clk, sane);
  run_polls(&e, 1);
  open_lines(&e, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.consumable, "tank-01/water-filter");
  assert_true(l.created_ms >= sane);

  log = read_log(&e);
  assert_int_equal(count_substr(log, "before the build date"), 1);
  assert_int_equal(count_substr(log, "ordering resumes"), 1);
  FREE_NULL(log);
  env_close(&e);
}

/* A device that does not answer: logged once, marked down, backed off, then up again. */
static void test_down_device(void **state)
{
  struct env e;
  struct sched_device_status ds;
  const struct live_point *lp;
  char *log;
  (void)state;

  env_open(&e, falling_plant, RS_ARRAY_LEN(falling_plant), clock_real_wall_ms());
  e.plant.down_device = "tank-01";
  run_polls(&e, 1);
  scheduler_device_status(daemon_core_scheduler(e.core), 0, &ds);
  assert_false(ds.up); /* never answered: not shown up before down_after failures */
  run_polls(&e, 4);
  scheduler_device_status(daemon_core_scheduler(e.core), 0, &ds);
  assert_string_equal(ds.id, "tank-01");
  assert_false(ds.up);
  assert_false(ds.answered);
  assert_int_equal(ds.consecutive_failures, 5);
  /* down after 3: the 4th failure waits 2 min, the 5th 4 min */
  assert_int_equal(ds.next_due_ms - clock_mono_ms(e.clk), 4 * MIN_MS);
  lp = reading_path_live(daemon_core_readings(e.core), "tank-01", "filter_level");
  assert_non_null(lp);
  assert_false(lp->has_value);
  assert_int_equal(lp->last_error, READING_ERR_NO_ANSWER);
  assert_int_equal(lp->n_errors, 5);
  assert_int_equal(stored_readings(&e, "filter_level"), 0);

  e.plant.down_device = NULL;
  run_polls(&e, 1);
  scheduler_device_status(daemon_core_scheduler(e.core), 0, &ds);
  assert_true(ds.up);
  assert_int_equal(ds.consecutive_failures, 0);
  assert_int_equal(stored_readings(&e, "filter_level"), 1);

  log = read_log(&e);
  assert_int_equal(count_substr(log, "device tank-01: no answer (fake: tank-01 does not answer)"),
                   1);
  assert_int_equal(count_substr(log, "device tank-01: down after 3 failed polls"), 1);
  assert_int_equal(count_substr(log, "device tank-01: answering again"), 1);
  FREE_NULL(log);
  env_close(&e);
}

/* A reload keeps live state, device state and the pipeline; a failed one changes nothing. */
static void test_reload_keeps_state(void **state)
{
  struct env e;
  struct sched_device_status ds;
  const struct live_point *lp;
  const struct cfg *before;
  struct line_copy l;
  (void)state;

  env_open(&e, falling_plant, RS_ARRAY_LEN(falling_plant), clock_real_wall_ms());
  run_polls(&e, 5); /* 100 .. 60 */

  before = daemon_core_config(e.core);
  assert_true(daemon_core_reload(e.core, "/nonexistent/restock-config") > 0);
  assert_ptr_equal(daemon_core_config(e.core), before);

  assert_int_equal(daemon_core_reload(e.core, E2E_FIXTURE_DIR), 0);
  assert_ptr_not_equal(daemon_core_config(e.core), before);
  lp = reading_path_live(daemon_core_readings(e.core), "tank-01", "filter_level");
  assert_non_null(lp);
  assert_true(lp->value == 60);
  assert_int_equal(lp->n_readings, 5);
  scheduler_device_status(daemon_core_scheduler(e.core), 0, &ds);
  assert_int_equal(ds.polls, 5);
  assert_true(ds.answered);
  /* the fake accepts new settings in place: the instance is kept */
  assert_int_equal(e.plant.reconfigures, 1);
  assert_int_equal(e.plant.opens, 1);
  assert_int_equal(e.plant.closes, 0);

  /* polling goes on through the reload and the line is made once, under the new config */
  run_polls(&e, 10);
  open_lines(&e, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.rule, "filter-level-low");
  assert_int_equal(l.created_ms, e.start_wall + 10 * MIN_MS);
  {
    char *log = read_log(&e);
    assert_int_equal(count_substr(log, "configuration reloaded: "), 1);
    assert_int_equal(count_substr(log, "configuration reload failed"), 1);
    FREE_NULL(log);
  }
  env_close(&e);
}

/* A pushing adapter (descriptor in the epoll set) and an adapter timer reach the pipeline. */
static void test_adapter_fd_and_timer(void **state)
{
  /* 21 % then 12 %: a fall of less than a jump (10 points), which the
     predictor takes at once (a sudden drop from 80 % would be held back as a
     possible glitch for up to an hour, docs/prediction.md) */
  static const double high[] = {21};
  static const struct fake_series series[] = {
      {"tank-01", "filter_level", high, RS_ARRAY_LEN(high)},
      {"tank-01", "lamp_hours", lamp, RS_ARRAY_LEN(lamp)},
  };
  struct env e;
  struct epoll_event ev;
  struct line_copy l;
  const struct live_point *lp;
  unsigned char b[2] = {12, 12};
  int ep;
  (void)state;

  ep = epoll_create1(EPOLL_CLOEXEC);
  assert_true(ep >= 0);
  env_open(&e, series, RS_ARRAY_LEN(series), clock_real_wall_ms());
  e.plant.use_fd = true;
  e.plant.push_point = "filter_level";
  e.plant.push_fd = -1;
  daemon_core_attach_epoll(e.core, ep);
  run_polls(&e, 1); /* opens the adapter; the step registers its pipe */
  assert_true(e.plant.push_fd >= 0);
  open_lines(&e, &l);
  assert_int_equal(l.n, 0);

  /* nothing to read yet: the epoll set is quiet */
  assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
  /* the device pushes 12 % twice (one reading alone is a glitch to the
     median filter): the loop wakes, the readings arrive, the rule fires */
  assert_int_equal(write(e.plant.push_fd, b, 2), 2);
  assert_int_equal(epoll_wait(ep, &ev, 1, 1000), 1);
  assert_true(ev.data.u64 & SCHEDULER_EPOLL_TAG);
  daemon_core_on_event(e.core, ev.data.u64);
  assert_int_equal(e.plant.pushed, 2);
  lp = reading_path_live(daemon_core_readings(e.core), "tank-01", "filter_level");
  assert_true(lp->value == 12);
  (void)daemon_core_step(e.core);
  open_lines(&e, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.consumable, "tank-01/water-filter");

  /* adapter timers run in real time, whatever the daemon clock does */
  assert_int_equal(daemon_core_next_io_timeout(e.core), INT64_MAX);
  e.plant.timeout_at = clock_real_mono_ms() + 3600000;
  assert_int_equal(daemon_core_next_io_timeout(e.core), e.plant.timeout_at);
  (void)daemon_core_step(e.core);
  assert_int_equal(e.plant.timeouts, 0);
  e.plant.timeout_at = clock_real_mono_ms() - 1;
  (void)daemon_core_step(e.core);
  assert_int_equal(e.plant.timeouts, 1);

  env_close(&e); /* closes the adapter: its pipe leaves the epoll set */
  close(ep);
}

/* The scaled timeline's anchor: written once, reused, re-anchored (never back) on a new scale,
   removed by a start in real time. */
static void test_scaled_anchor(void **state)
{
  struct env e;
  struct rs_clock *c1, *c2, *c3, *c4;
  char *a1 = NULL, *a2 = NULL, *a3 = NULL, *a4 = NULL;
  int64_t before, real0, now;
  (void)state;

  env_open(&e, falling_plant, RS_ARRAY_LEN(falling_plant), clock_real_wall_ms());
  assert_int_equal(store_meta_get(e.st, DAEMON_META_CLOCK_ANCHOR, &a1), RS_ERR_NOT_FOUND);
  c1 = daemon_clock_open(e.st, 1000);
  assert_non_null(c1);
  assert_int_equal(clock_kind(c1), CLOCK_KIND_SCALED);
  assert_true(clock_scale(c1) == 1000);
  assert_int_equal(store_meta_get(e.st, DAEMON_META_CLOCK_ANCHOR, &a1), RS_OK);
  usleep(200000); /* 200 ms real = 200 s simulated */

  c2 = daemon_clock_open(e.st, 1000); /* a restart with the same scale */
  assert_int_equal(store_meta_get(e.st, DAEMON_META_CLOCK_ANCHOR, &a2), RS_OK);
  assert_string_equal(a1, a2);
  /* the same timeline: c2 reads between two readings of c1 (however slow the host) */
  {
    int64_t a = clock_wall_ms(c1), b = clock_wall_ms(c2), c = clock_wall_ms(c1);
    /* + 2 s: each clock's real time in whole ms, times 1000 */
    assert_true(a <= b + 2000 && b <= c + 2000);
  }
  assert_true(clock_wall_ms(c2) - clock_real_wall_ms() >= 150000);

  before = clock_wall_ms(c2);
  c3 = daemon_clock_open(e.st, 10); /* another scale: continues from where it got to */
  assert_int_equal(store_meta_get(e.st, DAEMON_META_CLOCK_ANCHOR, &a3), RS_OK);
  assert_string_not_equal(a2, a3);
  assert_true(clock_wall_ms(c3) >= before - 60000);
  assert_true(clock_scale(c3) == 10);
  {
    char *log = read_log(&e);
    assert_int_equal(count_substr(log, "TIME IS SCALED"), 3);
    FREE_NULL(log);
  }
  /* restockctl reads the scaled timeline while the anchor is there */
  assert_true(daemon_clock_now_ms(e.st) >= before - 60000);
  /* a start in real time removes the anchor: restockctl stamps wall time again */
  c4 = daemon_clock_open(e.st, 0);
  assert_non_null(c4);
  assert_int_equal(clock_kind(c4), CLOCK_KIND_REAL);
  assert_int_equal(store_meta_get(e.st, DAEMON_META_CLOCK_ANCHOR, &a4), RS_ERR_NOT_FOUND);
  real0 = clock_real_wall_ms();
  now = daemon_clock_now_ms(e.st);
  assert_true(now >= real0 && now <= clock_real_wall_ms());
  clock_free(c1);
  clock_free(c2);
  clock_free(c3);
  clock_free(c4);
  FREE_NULL(a1);
  FREE_NULL(a2);
  FREE_NULL(a3);
  env_close(&e);
}

/*
 * Retention: readings older than storage.retention are thinned to one per
 * hour and point a minute after start; newer ones are kept whole.
 */
static void test_retention_thins_old_readings(void **state)
{
  struct env e;
  const struct cfg *cfg;
  int64_t old, i;
  size_t before;
  (void)state;

  env_open(&e, falling_plant, RS_ARRAY_LEN(falling_plant), clock_real_wall_ms());
  cfg = daemon_core_config(e.core);
  /* three hours of minute readings, a day beyond the retention period */
  old = e.start_wall - cfg->storage.retention_ms - 86400000;
  old -= old % 3600000;
  for(i = 0; i < 180; i++)
    assert_int_equal(store_put_reading(e.st, "tank-01", "old_point", old + i * MIN_MS, (double)i),
                     RS_OK);
  /* and ten recent ones */
  for(i = 0; i < 10; i++)
    assert_int_equal(store_put_reading(e.st, "tank-01", "old_point",
                                       e.start_wall - 3600000 + i * MIN_MS, (double)i),
                     RS_OK);
  before = stored_readings(&e, "old_point");
  assert_int_equal(before, 190);
  run_polls(&e, 3); /* a minute a poll: past the first retention pass */
  assert_int_equal(stored_readings(&e, "old_point"), 3 + 10);
  env_close(&e);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_falling_level_orders_once),
      cmocka_unit_test(test_deadband_and_heartbeat),
      cmocka_unit_test(test_no_order_while_clock_insane),
      cmocka_unit_test(test_down_device),
      cmocka_unit_test(test_reload_keeps_state),
      cmocka_unit_test(test_adapter_fd_and_timer),
      cmocka_unit_test(test_scaled_anchor),
      cmocka_unit_test(test_retention_thins_old_readings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

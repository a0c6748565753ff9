/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of gateway/store on real SQLite files in a temporary directory. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/rs_err.h"
#include "gateway/store.h"

/* 2026-12-01T17:51:14Z */
#define T0   1796147474000LL
#define HOUR 3600000LL
#define DAY  (24 * HOUR)

struct fx {
  char dir[64];
  char path[128];
  struct store *st;
};

static void rm_db(const char *path)
{
  char p[160];
  unlink(path);
  snprintf(p, sizeof(p), "%s-wal", path);
  unlink(p);
  snprintf(p, sizeof(p), "%s-shm", path);
  unlink(p);
}

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof(*f));
  if(!f)
    return -1;
  snprintf(f->dir, sizeof(f->dir), "/tmp/rs-store-XXXXXX");
  if(!mkdtemp(f->dir))
    return -1;
  snprintf(f->path, sizeof(f->path), "%s/restock.db", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  store_close(f->st);
  rm_db(f->path);
  rmdir(f->dir);
  free(f);
  return 0;
}

/* Open f->path (must succeed). */
static struct store *open_ok(struct fx *f)
{
  char err[512];
  struct store *st = NULL;
  enum rs_err rc = store_open(f->path, &st, err, sizeof(err));
  if(rc)
    fail_msg("store_open(%s): %s: %s", f->path, rs_strerror(rc), err);
  assert_non_null(st);
  return st;
}

/* A second, raw connection to inspect the file as an operator would. */
static sqlite3 *raw(struct fx *f)
{
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *s = NULL;
  int64_t v = -1;
  if(sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
    fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  if(sqlite3_step(s) == SQLITE_ROW)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

static void raw_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
  sqlite3_stmt *s = NULL;
  buf[0] = '\0';
  if(sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
    fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  if(sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
    snprintf(buf, size, "%s", (const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
}

static void raw_exec(sqlite3 *db, const char *sql)
{
  char *msg = NULL;
  if(sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* Create an order for supplier "acme" in EUR (must succeed). */
static void new_order(struct store *st, int64_t total, int64_t now, char id[STORE_ORDER_ID_MAX + 1])
{
  enum rs_err rc = store_create_order(st, "acme", "EUR", total, now, "system", "batch closed", id,
                                      STORE_ORDER_ID_MAX + 1);
  if(rc)
    fail_msg("create order: %s: %s", rs_strerror(rc), store_errmsg(st));
}

static struct store_order_line line_for(const char *consumable)
{
  struct store_order_line l;
  memset(&l, 0, sizeof(l));
  l.consumable = (char *)consumable;
  l.sku = (char *)"FLT-100";
  l.quantity = 2;
  l.unit_price = 1999;
  memcpy(l.currency, "EUR", 4);
  l.rule = (char *)"filters-low";
  l.figures_json = (char *)"{\"days_left\":3.5,\"level_pct\":12}";
  l.need_by_ms = T0 + 5 * DAY;
  l.created_ms = T0;
  return l;
}

/* ---- schema ----------------------------------------------------------- */

static void test_create_schema(void **state)
{
  struct fx *f = *state;
  sqlite3 *db;
  char mode[16];
  struct stat sb;
  f->st = open_ok(f);
  assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
  db = raw(f);
  assert_int_equal(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
  raw_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
  assert_string_equal(mode, "wal");
  assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name"
                               " IN ('readings', 'points', 'consumable_state', 'replacements',"
                               " 'order_lines', 'orders', 'transitions', 'approvals', 'audit',"
                               " 'meta')"),
                   10);
  sqlite3_close(db);
  /* a write goes to the WAL file */
  assert_int_equal(store_put_reading(f->st, "press-1", "filter", T0, 50), RS_OK);
  {
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    assert_int_equal(stat(wal, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
  }
  /* the database is private */
  assert_int_equal(stat(f->path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_reopen_keeps_data(void **state)
{
  struct fx *f = *state;
  char id[STORE_ORDER_ID_MAX + 1], *v = NULL;
  struct store_order_full *o = NULL;
  int64_t t = 0;
  double val = 0;
  f->st = open_ok(f);
  assert_int_equal(store_put_reading(f->st, "press-1", "filter", T0, 42.5), RS_OK);
  assert_int_equal(store_meta_set(f->st, "time_scale_anchor", "1796147474000"), RS_OK);
  new_order(f->st, 4250, T0, id);
  store_close(f->st);
  f->st = open_ok(f);
  assert_int_equal(store_last_reading(f->st, "press-1", "filter", &t, &val), RS_OK);
  assert_int_equal(t, T0);
  assert_true(val == 42.5);
  assert_int_equal(store_meta_get(f->st, "time_scale_anchor", &v), RS_OK);
  assert_string_equal(v, "1796147474000");
  free(v);
  assert_int_equal(store_get_order(f->st, id, &o), RS_OK);
  assert_int_equal(o->order.total, 4250);
  store_order_full_free(o);
}

/* The version-1 schema as released (readings, consumables, meta). */
static const char v1_schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID, STRICT;"
    "CREATE TABLE points(id INTEGER PRIMARY KEY, device TEXT NOT NULL, point TEXT NOT NULL,"
    " UNIQUE(device, point)) STRICT;"
    "CREATE TABLE readings(point_id INTEGER NOT NULL REFERENCES points(id) ON DELETE CASCADE,"
    " time_ms INTEGER NOT NULL, value REAL NOT NULL,"
    " PRIMARY KEY(point_id, time_ms)) WITHOUT ROWID, STRICT;"
    "CREATE TABLE consumable_state(id TEXT PRIMARY KEY,"
    " spares INTEGER NOT NULL DEFAULT 0 CHECK(spares >= 0),"
    " installed_at_ms INTEGER, last_replacement_ms INTEGER, counter_at_replacement REAL,"
    " predictor_json TEXT CHECK(predictor_json IS NULL OR json_valid(predictor_json)),"
    " updated_ms INTEGER NOT NULL) STRICT;"
    "CREATE TABLE replacements(id INTEGER PRIMARY KEY, consumable TEXT NOT NULL,"
    " time_ms INTEGER NOT NULL, level_before REAL, level_after REAL) STRICT;"
    "CREATE INDEX replacements_by_consumable ON replacements(consumable, time_ms);"
    "INSERT INTO points VALUES(1, 'press-1', 'filter');"
    "INSERT INTO readings VALUES(1, 1796147474000, 61.25);"
    "INSERT INTO consumable_state(id, spares, updated_ms) VALUES('press-1/filter', 3, 1);"
    "INSERT INTO meta VALUES('order_id_tag', 'ABC123');"
    "PRAGMA user_version = 1;";

static void test_migrate_from_v1(void **state)
{
  struct fx *f = *state;
  sqlite3 *db = raw(f);
  struct store_consumable c;
  char id[STORE_ORDER_ID_MAX + 1];
  int64_t t = 0;
  double val = 0;
  raw_exec(db, v1_schema);
  sqlite3_close(db);

  f->st = open_ok(f);
  assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
  /* old data kept */
  assert_int_equal(store_last_reading(f->st, "press-1", "filter", &t, &val), RS_OK);
  assert_int_equal(t, T0);
  assert_true(val == 61.25);
  assert_int_equal(store_get_consumable_state(f->st, "press-1/filter", &c), RS_OK);
  assert_int_equal(c.spares, 3);
  store_consumable_free(&c);
  /* new tables work; every order gets a random tag of its own */
  new_order(f->st, 100, T0, id);
  assert_int_equal(strlen(id), 22);
  assert_memory_equal(id, "R-20261201-0001-", 16);
  store_close(f->st);
  f->st = NULL;
  db = raw(f);
  assert_int_equal(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM transitions"), 1);
  sqlite3_close(db);
}

static void test_newer_refused(void **state)
{
  struct fx *f = *state;
  sqlite3 *db = raw(f);
  char err[512], mode[16];
  struct store *st = (struct store *)&err; /* must be reset to NULL */
  raw_exec(db, "CREATE TABLE future(x); PRAGMA user_version = 99;");
  sqlite3_close(db);
  assert_int_equal(store_open(f->path, &st, err, sizeof(err)), RS_ERR_INVALID);
  assert_null(st);
  assert_non_null(strstr(err, f->path));
  assert_non_null(strstr(err, "schema version 99"));
  assert_non_null(strstr(err, "newer"));
  /* left untouched: same version, not switched to WAL */
  db = raw(f);
  assert_int_equal(raw_int(db, "PRAGMA user_version"), 99);
  raw_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
  assert_string_equal(mode, "delete");
  sqlite3_close(db);
}

static void test_missing_dir(void **state)
{
  struct fx *f = *state;
  char err[512], path[160];
  struct store *st = NULL;
  snprintf(path, sizeof(path), "%s/nope/restock.db", f->dir);
  assert_int_equal(store_open(path, &st, err, sizeof(err)), RS_ERR_IO);
  assert_null(st);
  assert_non_null(strstr(err, path));
  assert_non_null(strstr(err, "does not exist"));
  /* and nothing was created */
  snprintf(path, sizeof(path), "%s/nope", f->dir);
  assert_int_not_equal(access(path, F_OK), 0);
}

static void test_not_a_database(void **state)
{
  struct fx *f = *state;
  char err[512];
  struct store *st = NULL;
  FILE *fp = fopen(f->path, "w");
  assert_non_null(fp);
  fputs("this is not an SQLite file, it is a text file that is long enough to look odd\n", fp);
  fclose(fp);
  assert_int_not_equal(store_open(f->path, &st, err, sizeof(err)), RS_OK);
  assert_null(st);
  assert_non_null(strstr(err, f->path));
  assert_non_null(strstr(err, "not a database"));
}

/* ---- constraints ------------------------------------------------------ */

static void test_foreign_keys(void **state)
{
  struct fx *f = *state;
  struct store_order_line l = line_for("press-1/filter");
  int64_t lid = 0;
  f->st = open_ok(f);
  assert_int_equal(store_add_order_line(f->st, &l, &lid), RS_OK);
  /* a line cannot point at an order that does not exist */
  assert_int_equal(store_attach_line(f->st, lid, "R-19990101-0001-XXXXXX"), RS_ERR_NOT_FOUND);
  assert_non_null(strstr(store_errmsg(f->st), "R-19990101-0001-XXXXXX"));
  assert_int_equal(store_add_approval(f->st, "R-nope", "a@example.com", "abcd", T0 + DAY, T0),
                   RS_ERR_NOT_FOUND);
  assert_int_equal(store_attach_line(f->st, lid + 100, NULL), RS_ERR_NOT_FOUND);
}

static void test_open_lines(void **state)
{
  struct fx *f = *state;
  struct store_order_line l = line_for("press-1/filter");
  char id[STORE_ORDER_ID_MAX + 1];
  int64_t lid = 0, lid2 = 0, got = 0;
  bool open = true;
  struct store_order_full *o = NULL;
  f->st = open_ok(f);
  assert_int_equal(store_has_open_line(f->st, "press-1/filter", &open, &got), RS_OK);
  assert_false(open);
  assert_int_equal(store_add_order_line(f->st, &l, &lid), RS_OK);
  assert_true(lid > 0);
  assert_int_equal(store_has_open_line(f->st, "press-1/filter", &open, &got), RS_OK);
  assert_true(open);
  assert_int_equal(got, lid);
  /* a consumable with an open line gets no other */
  assert_int_equal(store_add_order_line(f->st, &l, &lid2), RS_ERR_CONFLICT);
  /* invalid lines are refused */
  l.consumable = (char *)"press-2/ink";
  l.quantity = 0;
  assert_int_equal(store_add_order_line(f->st, &l, &lid2), RS_ERR_INVALID);
  l.quantity = 1;
  memcpy(l.currency, "eu", 3);
  assert_int_equal(store_add_order_line(f->st, &l, &lid2), RS_ERR_INVALID);
  memcpy(l.currency, "EUR", 4);
  l.figures_json = (char *)"{not json";
  assert_int_equal(store_add_order_line(f->st, &l, &lid2), RS_ERR_INVALID);

  /* delivered: the line is no longer open */
  new_order(f->st, 3998, T0, id);
  assert_int_equal(store_attach_line(f->st, lid, id), RS_OK);
  assert_int_equal(store_transition_order(f->st, id, STORE_ORDER_DRAFT, STORE_ORDER_APPROVED,
                                          "system", "under every limit", T0 + 1),
                   RS_OK);
  assert_int_equal(store_transition_order(f->st, id, STORE_ORDER_APPROVED, STORE_ORDER_SUBMITTED,
                                          "system", "201", T0 + 2),
                   RS_OK);
  assert_int_equal(store_has_open_line(f->st, "press-1/filter", &open, NULL), RS_OK);
  assert_true(open);
  assert_int_equal(store_transition_order(f->st, id, STORE_ORDER_SUBMITTED, STORE_ORDER_DELIVERED,
                                          "shop", "delivered", T0 + 3),
                   RS_OK);
  assert_int_equal(store_has_open_line(f->st, "press-1/filter", &open, NULL), RS_OK);
  assert_false(open);
  assert_int_equal(store_get_order(f->st, id, &o), RS_OK);
  assert_int_equal(o->n_lines, 1);
  assert_int_equal(o->lines[0].state, STORE_LINE_DELIVERED);
  assert_string_equal(o->lines[0].order_id, id);
  store_order_full_free(o);

  /* a new line may now be raised, and a cancelled order ends it */
  l = line_for("press-1/filter");
  assert_int_equal(store_add_order_line(f->st, &l, &lid2), RS_OK);
  new_order(f->st, 3998, T0, id);
  assert_int_equal(store_attach_line(f->st, lid2, id), RS_OK);
  assert_int_equal(store_transition_order(f->st, id, STORE_ORDER_DRAFT, STORE_ORDER_CANCELLED,
                                          "restockctl", "operator cancelled", T0 + 4),
                   RS_OK);
  assert_int_equal(store_has_open_line(f->st, "press-1/filter", &open, NULL), RS_OK);
  assert_false(open);
  assert_int_equal(store_get_order(f->st, id, &o), RS_OK);
  assert_int_equal(o->lines[0].state, STORE_LINE_ENDED);
  store_order_full_free(o);
}

struct line_list {
  int n;
  char consumable[4][32];
};

static int collect_open(void *ud, const struct store_order_line *l)
{
  struct line_list *ll = ud;
  if(ll->n < 4)
    snprintf(ll->consumable[ll->n], sizeof(ll->consumable[0]), "%s", l->consumable);
  ll->n++;
  return 0;
}

static void test_list_open_lines(void **state)
{
  struct fx *f = *state;
  struct store_order_line l;
  struct line_list ll;
  memset(&ll, 0, sizeof(ll));
  f->st = open_ok(f);
  l = line_for("a/filter");
  assert_int_equal(store_add_order_line(f->st, &l, NULL), RS_OK);
  l = line_for("b/ink");
  l.rule = NULL;
  l.figures_json = NULL;
  assert_int_equal(store_add_order_line(f->st, &l, NULL), RS_OK);
  assert_int_equal(store_list_open_lines(f->st, collect_open, &ll), RS_OK);
  assert_int_equal(ll.n, 2);
  assert_string_equal(ll.consumable[0], "a/filter");
  assert_string_equal(ll.consumable[1], "b/ink");
}

/* ---- orders ----------------------------------------------------------- */

static void test_order_ids(void **state)
{
  struct fx *f = *state;
  char a[STORE_ORDER_ID_MAX + 1], b[STORE_ORDER_ID_MAX + 1], c[STORE_ORDER_ID_MAX + 1];
  size_t i;
  f->st = open_ok(f);
  new_order(f->st, 1, T0, a);
  new_order(f->st, 1, T0 + 1000, b);
  new_order(f->st, 1, T0 + DAY, c);
  /* R-YYYYMMDD-NNNN-TAG with a random 6-character tag per order, so an id
     never comes back (a restore from an older backup, a reinstall) */
  assert_int_equal(strlen(a), 22);
  assert_memory_equal(a, "R-20261201-0001-", 16);
  assert_memory_equal(b, "R-20261201-0002-", 16);
  assert_memory_equal(c, "R-20261202-0001-", 16);
  assert_string_not_equal(a + 16, b + 16);
  assert_string_not_equal(a + 16, c + 16);
  for(i = 16; i < 22; i++)
    assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", a[i]));
  /* after a reopen the day's numbering goes on, with fresh tags */
  store_close(f->st);
  f->st = open_ok(f);
  new_order(f->st, 1, T0 + 2000, c);
  assert_memory_equal(c, "R-20261201-0003-", 16);
  assert_string_not_equal(a + 16, c + 16);
  /* a fixed tag (replay) makes ids reproducible */
  assert_int_equal(store_set_order_id_tag(f->st, "REPLAY"), RS_OK);
  new_order(f->st, 1, T0 + 3000, c);
  assert_string_equal(c, "R-20261201-0004-REPLAY");
  /* bad arguments */
  assert_int_equal(store_create_order(f->st, "acme", "euro", 1, T0, "system", "x", c, sizeof(c)),
                   RS_ERR_INVALID);
  assert_int_equal(store_create_order(f->st, "acme", "EUR", 1, T0, "system", "x", c, 10),
                   RS_ERR_INVALID);
}

static void test_transition_conflict(void **state)
{
  struct fx *f = *state;
  char id[STORE_ORDER_ID_MAX + 1];
  struct store_order_full *o = NULL;
  f->st = open_ok(f);
  new_order(f->st, 4250, T0, id);
  assert_int_equal(store_transition_order(f->st, id, STORE_ORDER_APPROVED, STORE_ORDER_SUBMITTED,
                                          "system", "retry", T0 + 10),
                   RS_ERR_CONFLICT);
  assert_non_null(strstr(store_errmsg(f->st), "draft"));
  assert_int_equal(store_get_order(f->st, id, &o), RS_OK);
  assert_int_equal(o->order.state, STORE_ORDER_DRAFT);
  assert_int_equal(o->order.updated_ms, T0);
  assert_int_equal(o->n_transitions, 1);
  store_order_full_free(o);
  assert_int_equal(store_transition_order(f->st, "R-none", STORE_ORDER_DRAFT, STORE_ORDER_APPROVED,
                                          "system", "x", T0),
                   RS_ERR_NOT_FOUND);
}

static void test_transitions_recorded(void **state)
{
  struct fx *f = *state;
  char id[STORE_ORDER_ID_MAX + 1];
  struct store_order_full *o = NULL;
  f->st = open_ok(f);
  new_order(f->st, 60000, T0, id);
  assert_int_equal(store_transition_order(f->st, id, STORE_ORDER_DRAFT,
                                          STORE_ORDER_PENDING_APPROVAL, "system",
                                          "total 600.00 over require_over_value 500.00", T0 + 1000),
                   RS_OK);
  assert_int_equal(store_transition_order(f->st, id, STORE_ORDER_PENDING_APPROVAL,
                                          STORE_ORDER_APPROVED, "approver:ops@example.com",
                                          "approved from 192.0.2.7", T0 + 2000),
                   RS_OK);
  assert_int_equal(store_get_order(f->st, id, &o), RS_OK);
  assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
  assert_int_equal(o->order.updated_ms, T0 + 2000);
  assert_int_equal(o->order.created_ms, T0);
  assert_int_equal(o->n_transitions, 3);
  assert_false(o->transitions[0].has_from);
  assert_int_equal(o->transitions[0].to, STORE_ORDER_DRAFT);
  assert_string_equal(o->transitions[0].actor, "system");
  assert_string_equal(o->transitions[0].cause, "batch closed");
  assert_true(o->transitions[1].has_from);
  assert_int_equal(o->transitions[1].from, STORE_ORDER_DRAFT);
  assert_int_equal(o->transitions[1].to, STORE_ORDER_PENDING_APPROVAL);
  assert_int_equal(o->transitions[1].time_ms, T0 + 1000);
  assert_string_equal(o->transitions[1].cause, "total 600.00 over require_over_value 500.00");
  assert_int_equal(o->transitions[2].from, STORE_ORDER_PENDING_APPROVAL);
  assert_int_equal(o->transitions[2].to, STORE_ORDER_APPROVED);
  assert_string_equal(o->transitions[2].actor, "approver:ops@example.com");
  assert_int_equal(o->transitions[2].time_ms, T0 + 2000);
  store_order_full_free(o);
}

static void test_money_round_trip(void **state)
{
  struct fx *f = *state;
  char id[STORE_ORDER_ID_MAX + 1];
  struct store_order_full *o = NULL;
  struct store_order_line l = line_for("press-1/filter");
  int64_t lid;
  /* 2^53 + 1: not representable as a double, must survive exactly */
  const int64_t big = 9007199254740993LL;
  f->st = open_ok(f);
  new_order(f->st, 4250, T0, id);
  l.unit_price = big;
  assert_int_equal(store_add_order_line(f->st, &l, &lid), RS_OK);
  assert_int_equal(store_attach_line(f->st, lid, id), RS_OK);
  assert_int_equal(store_set_order_total(f->st, id, big, T0 + 1), RS_OK);
  assert_int_equal(store_get_order(f->st, id, &o), RS_OK);
  assert_int_equal(o->order.total, big);
  assert_string_equal(o->order.currency, "EUR");
  assert_int_equal(o->n_lines, 1);
  assert_int_equal(o->lines[0].unit_price, big);
  assert_int_equal(o->lines[0].quantity, 2);
  assert_string_equal(o->lines[0].sku, "FLT-100");
  assert_string_equal(o->lines[0].rule, "filters-low");
  assert_string_equal(o->lines[0].figures_json, "{\"days_left\":3.5,\"level_pct\":12}");
  assert_int_equal(o->lines[0].need_by_ms, T0 + 5 * DAY);
  store_order_full_free(o);
  assert_int_equal(store_set_order_total(f->st, id, -1, T0), RS_ERR_INVALID);
}

static void test_body_attempts(void **state)
{
  struct fx *f = *state;
  char id[STORE_ORDER_ID_MAX + 1];
  struct store_order_full *o = NULL;
  const char *body = "{\"reference\":\"x\",\"lines\":[{\"sku\":\"FLT-100\",\"quantity\":2}]}";
  f->st = open_ok(f);
  new_order(f->st, 1, T0, id);
  assert_int_equal(store_set_order_body(f->st, id, body, T0 + 1), RS_OK);
  assert_int_equal(store_set_order_body(f->st, id, body, T0 + 2), RS_OK);
  assert_int_equal(store_set_order_body(f->st, id, "{\"other\":1}", T0 + 3), RS_ERR_CONFLICT);
  assert_int_equal(store_note_attempt(f->st, id, T0 + 60000, "503 Service Unavailable", T0 + 4),
                   RS_OK);
  assert_int_equal(store_note_attempt(f->st, id, 0, NULL, T0 + 5), RS_OK);
  assert_int_equal(store_set_order_shop_id(f->st, id, "SHOP-991", T0 + 6), RS_OK);
  assert_int_equal(store_get_order(f->st, id, &o), RS_OK);
  assert_string_equal(o->order.request_body, body);
  assert_int_equal(o->order.attempts, 2);
  assert_int_equal(o->order.next_attempt_ms, 0);
  assert_null(o->order.last_error);
  assert_string_equal(o->order.shop_id, "SHOP-991");
  store_order_full_free(o);
  assert_int_equal(store_set_order_body(f->st, "R-none", body, T0), RS_ERR_NOT_FOUND);
  assert_int_equal(store_note_attempt(f->st, "R-none", 0, NULL, T0), RS_ERR_NOT_FOUND);
}

struct order_list {
  int n;
  char ids[8][STORE_ORDER_ID_MAX + 1];
};

static int collect_order(void *ud, const struct store_order *o)
{
  struct order_list *ol = ud;
  if(ol->n < 8)
    snprintf(ol->ids[ol->n], sizeof(ol->ids[0]), "%s", o->id);
  ol->n++;
  return 0;
}

static void test_list_orders(void **state)
{
  struct fx *f = *state;
  char a[STORE_ORDER_ID_MAX + 1], b[STORE_ORDER_ID_MAX + 1], c[STORE_ORDER_ID_MAX + 1];
  struct order_list ol;
  f->st = open_ok(f);
  new_order(f->st, 1, T0, a);
  new_order(f->st, 1, T0 + 1000, b);
  new_order(f->st, 1, T0 + 2000, c);
  assert_int_equal(store_transition_order(f->st, b, STORE_ORDER_DRAFT, STORE_ORDER_APPROVED,
                                          "system", "auto", T0 + 3000),
                   RS_OK);
  memset(&ol, 0, sizeof(ol));
  assert_int_equal(store_list_orders(f->st, false, STORE_ORDER_DRAFT, 0, collect_order, &ol),
                   RS_OK);
  assert_int_equal(ol.n, 3);
  assert_string_equal(ol.ids[0], c); /* newest first */
  assert_string_equal(ol.ids[2], a);
  memset(&ol, 0, sizeof(ol));
  assert_int_equal(store_list_orders(f->st, true, STORE_ORDER_DRAFT, 0, collect_order, &ol), RS_OK);
  assert_int_equal(ol.n, 2);
  assert_string_equal(ol.ids[0], c);
  assert_string_equal(ol.ids[1], a);
  memset(&ol, 0, sizeof(ol));
  assert_int_equal(store_list_orders(f->st, false, STORE_ORDER_DRAFT, 1, collect_order, &ol),
                   RS_OK);
  assert_int_equal(ol.n, 1);
}

static void test_state_names(void **state)
{
  enum store_order_state s;
  int i;
  (void)state;
  assert_string_equal(store_order_state_name(STORE_ORDER_PENDING_APPROVAL), "pending_approval");
  assert_string_equal(store_order_state_name(STORE_ORDER_CANCELLED), "cancelled");
  for(i = 0; i < STORE_ORDER_STATE_COUNT; i++) {
    assert_int_equal(store_order_state_parse(store_order_state_name((enum store_order_state)i), &s),
                     0);
    assert_int_equal(s, i);
  }
  assert_int_equal(store_order_state_parse("Draft", &s), -1);
  assert_false(store_order_state_final(STORE_ORDER_SHIPPED));
  assert_true(store_order_state_final(STORE_ORDER_DELIVERED));
  assert_true(store_order_state_final(STORE_ORDER_EXPIRED));
  assert_string_equal(rs_strerror(RS_ERR_FULL), "disk full");
  assert_string_equal(rs_strerror(RS_OK), "success");
}

/* ---- approvals -------------------------------------------------------- */

static void test_approvals(void **state)
{
  struct fx *f = *state;
  char id[STORE_ORDER_ID_MAX + 1], got[STORE_ORDER_ID_MAX + 1];
  sqlite3 *db;
  char buf[128];
  f->st = open_ok(f);
  new_order(f->st, 1, T0, id);
  assert_int_equal(store_add_approval(f->st, id, "ops@example.com", "h1", T0 + 72 * HOUR, T0),
                   RS_OK);
  assert_int_equal(store_add_approval(f->st, id, "boss@example.com", "h2", T0 + HOUR, T0), RS_OK);
  assert_int_equal(store_add_approval(f->st, id, "x@example.com", "h1", T0 + HOUR, T0),
                   RS_ERR_CONFLICT);
  assert_int_equal(store_use_approval(f->st, "h1", "ops@example.com", "approve", "192.0.2.7",
                                      "Mozilla/5.0", T0 + HOUR, got, sizeof(got)),
                   RS_OK);
  assert_string_equal(got, id);
  /* works once */
  assert_int_equal(store_use_approval(f->st, "h1", "ops@example.com", "reject", "192.0.2.7",
                                      "Mozilla/5.0", T0 + HOUR + 1, got, sizeof(got)),
                   RS_ERR_CONFLICT);
  /* expired */
  assert_int_equal(store_use_approval(f->st, "h2", "boss@example.com", "approve", "192.0.2.8",
                                      "curl", T0 + HOUR, NULL, 0),
                   RS_ERR_TIMEOUT);
  assert_int_equal(store_use_approval(f->st, "nope", "x", "approve", NULL, NULL, T0, NULL, 0),
                   RS_ERR_NOT_FOUND);
  assert_int_equal(store_use_approval(f->st, "h2", "x", "maybe", NULL, NULL, T0, NULL, 0),
                   RS_ERR_INVALID);
  db = raw(f);
  raw_text(db,
           "SELECT decided_by || '|' || decision || '|' || source || '|' || user_agent || '|' ||"
           " used_at_ms FROM approvals WHERE token_hash = 'h1'",
           buf, sizeof(buf));
  assert_string_equal(buf, "ops@example.com|approve|192.0.2.7|Mozilla/5.0|1796151074000");
  assert_int_equal(raw_int(db, "SELECT count(*) FROM approvals WHERE token_hash = 'h2'"
                               " AND used_at_ms IS NULL"),
                   1);
  sqlite3_close(db);
}

/* ---- meta, audit, transactions ---------------------------------------- */

static void test_meta(void **state)
{
  struct fx *f = *state;
  char *v = (char *)"x";
  f->st = open_ok(f);
  assert_int_equal(store_meta_get(f->st, "secret_created", &v), RS_ERR_NOT_FOUND);
  assert_null(v);
  assert_int_equal(store_meta_set(f->st, "secret_created", "1"), RS_OK);
  assert_int_equal(store_meta_get(f->st, "secret_created", &v), RS_OK);
  assert_string_equal(v, "1");
  free(v);
  assert_int_equal(store_meta_set(f->st, "secret_created", "2026-12-01"), RS_OK);
  assert_int_equal(store_meta_get(f->st, "secret_created", &v), RS_OK);
  assert_string_equal(v, "2026-12-01");
  free(v);
  assert_int_equal(store_meta_set(f->st, "k", NULL), RS_ERR_INVALID);
}

static void test_audit(void **state)
{
  struct fx *f = *state;
  sqlite3 *db;
  char buf[128];
  f->st = open_ok(f);
  assert_int_equal(store_audit(f->st, T0, "restockctl", "reload", "config changed"), RS_OK);
  assert_int_equal(store_audit(f->st, T0 + 1, "system", "start", NULL), RS_OK);
  db = raw(f);
  raw_text(db, "SELECT group_concat(actor || ':' || action, ',') FROM audit", buf, sizeof(buf));
  assert_string_equal(buf, "restockctl:reload,system:start");
  sqlite3_close(db);
}

static void test_transactions(void **state)
{
  struct fx *f = *state;
  char *v = NULL;
  bool open = true;
  struct store_order_line l = line_for("press-1/filter");
  f->st = open_ok(f);
  /* rolled back: nothing stays */
  assert_int_equal(store_begin(f->st), RS_OK);
  assert_int_equal(store_meta_set(f->st, "a", "1"), RS_OK);
  assert_int_equal(store_add_order_line(f->st, &l, NULL), RS_OK);
  assert_int_equal(store_rollback(f->st), RS_OK);
  assert_int_equal(store_meta_get(f->st, "a", &v), RS_ERR_NOT_FOUND);
  assert_int_equal(store_has_open_line(f->st, "press-1/filter", &open, NULL), RS_OK);
  assert_false(open);
  /* nested: the inner rollback keeps the outer writes */
  assert_int_equal(store_begin(f->st), RS_OK);
  assert_int_equal(store_meta_set(f->st, "a", "1"), RS_OK);
  assert_int_equal(store_begin(f->st), RS_OK);
  assert_int_equal(store_meta_set(f->st, "b", "2"), RS_OK);
  assert_int_equal(store_rollback(f->st), RS_OK);
  /* a failing write inside a group rolls back only itself */
  assert_int_equal(store_add_order_line(f->st, &l, NULL), RS_OK);
  assert_int_equal(store_add_order_line(f->st, &l, NULL), RS_ERR_CONFLICT);
  assert_int_equal(store_commit(f->st), RS_OK);
  assert_int_equal(store_meta_get(f->st, "a", &v), RS_OK);
  assert_string_equal(v, "1");
  free(v);
  assert_int_equal(store_meta_get(f->st, "b", &v), RS_ERR_NOT_FOUND);
  assert_int_equal(store_has_open_line(f->st, "press-1/filter", &open, NULL), RS_OK);
  assert_true(open);
  assert_int_equal(store_commit(f->st), RS_ERR_INVALID);
}

/* ---- readings --------------------------------------------------------- */

struct rd {
  int n;
  int64_t t[64];
  double v[64];
  char dev[64][16];
  int stop_after;
};

static int collect_rd(void *ud, const char *device, const char *point, int64_t t, double v)
{
  struct rd *r = ud;
  (void)point;
  if(r->n < 64) {
    r->t[r->n] = t;
    r->v[r->n] = v;
    snprintf(r->dev[r->n], sizeof(r->dev[0]), "%s", device);
  }
  r->n++;
  return r->stop_after && r->n >= r->stop_after;
}

static void test_readings_range(void **state)
{
  struct fx *f = *state;
  struct rd r;
  int i;
  int64_t t;
  double v;
  f->st = open_ok(f);
  for(i = 0; i < 10; i++)
    assert_int_equal(store_put_reading(f->st, "press-1", "filter", T0 + i * 60000, 100 - i), RS_OK);
  assert_int_equal(store_put_reading(f->st, "press-2", "ink", T0, 7), RS_OK);
  /* the same instant again replaces */
  assert_int_equal(store_put_reading(f->st, "press-1", "filter", T0 + 9 * 60000, 90.5), RS_OK);
  memset(&r, 0, sizeof(r));
  assert_int_equal(store_readings_range(f->st, "press-1", "filter", T0 + 3 * 60000, T0 + 7 * 60000,
                                        collect_rd, &r),
                   RS_OK);
  assert_int_equal(r.n, 4);
  for(i = 0; i < 4; i++) {
    assert_int_equal(r.t[i], T0 + (i + 3) * 60000);
    assert_true(r.v[i] == 100 - (i + 3));
  }
  /* the callback stops the iteration */
  memset(&r, 0, sizeof(r));
  r.stop_after = 2;
  assert_int_equal(store_readings_range(f->st, "press-1", "filter", 0, INT64_MAX, collect_rd, &r),
                   RS_OK);
  assert_int_equal(r.n, 2);
  assert_int_equal(store_last_reading(f->st, "press-1", "filter", &t, &v), RS_OK);
  assert_int_equal(t, T0 + 9 * 60000);
  assert_true(v == 90.5);
  assert_int_equal(store_last_reading(f->st, "press-9", "filter", &t, &v), RS_ERR_NOT_FOUND);
  memset(&r, 0, sizeof(r));
  assert_int_equal(store_last_readings(f->st, collect_rd, &r), RS_OK);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.dev[0], "press-1");
  assert_true(r.v[0] == 90.5);
  assert_string_equal(r.dev[1], "press-2");
  assert_true(r.v[1] == 7);
  assert_int_equal(store_put_reading(f->st, "press-1", "filter", T0, NAN), RS_ERR_INVALID);
}

/*
 * New readings are kept in arrival order until merged into the table by
 * point (flash wear); what a user reads is the same before and after the
 * merge, across a restart, and a later value at the same instant still wins.
 */
static void test_readings_merge(void **state)
{
  struct fx *f = *state;
  struct rd r;
  sqlite3 *db;
  int64_t t, moved = -1;
  double v;
  int i;
  f->st = open_ok(f);
  for(i = 0; i < 5; i++)
    assert_int_equal(store_put_reading(f->st, "press-1", "filter", T0 + i * 60000, 100 - i), RS_OK);
  assert_int_equal(store_merge_readings(f->st, &moved), RS_OK);
  assert_int_equal(moved, 5);
  /* after the merge: more values, one of them at a merged instant, one twice */
  assert_int_equal(store_put_reading(f->st, "press-1", "filter", T0 + 2 * 60000, 42), RS_OK);
  for(i = 5; i < 8; i++)
    assert_int_equal(store_put_reading(f->st, "press-1", "filter", T0 + i * 60000, 100 - i), RS_OK);
  assert_int_equal(store_put_reading(f->st, "press-1", "filter", T0 + 7 * 60000, 7.5), RS_OK);
  assert_int_equal(store_put_reading(f->st, "press-2", "ink", T0, 7), RS_OK);
  store_close(f->st);
  f->st = open_ok(f); /* a restart keeps both tables */
  for(i = 0; i < 2; i++) {
    memset(&r, 0, sizeof(r));
    assert_int_equal(
        store_readings_range(f->st, "press-1", "filter", 0, INT64_MAX, collect_rd, &r), RS_OK);
    assert_int_equal(r.n, 8);
    assert_int_equal(r.t[2], T0 + 2 * 60000);
    assert_true(r.v[2] == 42);
    assert_true(r.v[6] == 94);
    assert_int_equal(r.t[7], T0 + 7 * 60000);
    assert_true(r.v[7] == 7.5);
    assert_int_equal(store_last_reading(f->st, "press-1", "filter", &t, &v), RS_OK);
    assert_int_equal(t, T0 + 7 * 60000);
    assert_true(v == 7.5);
    memset(&r, 0, sizeof(r));
    assert_int_equal(store_last_readings(f->st, collect_rd, &r), RS_OK);
    assert_int_equal(r.n, 2);
    assert_true(r.v[0] == 7.5);
    assert_true(r.v[1] == 7);
    if(i == 0) {
      assert_int_equal(store_merge_readings(f->st, &moved), RS_OK);
      assert_int_equal(moved, 6); /* rows moved; one per point and instant is kept */
    }
  }
  store_close(f->st);
  f->st = NULL;
  db = raw(f);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM readings_recent"), 0);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM readings"), 9);
  sqlite3_close(db);
}

static void test_thin_readings(void **state)
{
  struct fx *f = *state;
  struct rd r;
  int64_t t, deleted = -1, start = T0 - T0 % DAY; /* midnight */
  int i;
  f->st = open_ok(f);
  /* three days, one reading every 10 minutes */
  assert_int_equal(store_begin(f->st), RS_OK);
  for(t = start, i = 0; t < start + 3 * DAY; t += 600000, i++)
    assert_int_equal(store_put_reading(f->st, "press-1", "filter", t, i), RS_OK);
  assert_int_equal(store_commit(f->st), RS_OK);
  /* older than two days ago: one per hour, the last of each hour */
  assert_int_equal(store_thin_readings(f->st, start + 2 * DAY, HOUR, &deleted), RS_OK);
  assert_int_equal(deleted, 2 * 24 * 5);
  memset(&r, 0, sizeof(r));
  assert_int_equal(
      store_readings_range(f->st, "press-1", "filter", start, start + 3 * HOUR, collect_rd, &r),
      RS_OK);
  assert_int_equal(r.n, 3);
  assert_int_equal(r.t[0], start + 50 * 60000);
  assert_true(r.v[0] == 5);
  assert_int_equal(r.t[1], start + HOUR + 50 * 60000);
  /* the newest day is untouched */
  memset(&r, 0, sizeof(r));
  assert_int_equal(store_readings_range(f->st, "press-1", "filter", start + 2 * DAY,
                                        start + 2 * DAY + HOUR, collect_rd, &r),
                   RS_OK);
  assert_int_equal(r.n, 6);
  /* running it again changes nothing */
  assert_int_equal(store_thin_readings(f->st, start + 2 * DAY, HOUR, &deleted), RS_OK);
  assert_int_equal(deleted, 0);
  assert_int_equal(store_thin_readings(f->st, start, 0, &deleted), RS_ERR_INVALID);
}

/* ---- consumables ------------------------------------------------------ */

struct repl {
  int n;
  int64_t t[4];
};

static int collect_repl(void *ud, int64_t t, double before, double after)
{
  struct repl *r = ud;
  (void)before;
  (void)after;
  if(r->n < 4)
    r->t[r->n] = t;
  r->n++;
  return 0;
}

static void test_consumables(void **state)
{
  struct fx *f = *state;
  struct store_consumable c, in;
  struct repl rp;
  int64_t spares = -1, rid = 0;
  f->st = open_ok(f);
  assert_int_equal(store_get_consumable_state(f->st, "press-1/filter", &c), RS_ERR_NOT_FOUND);
  memset(&in, 0, sizeof(in));
  in.id = (char *)"press-1/filter";
  in.spares = 2;
  in.installed_at_ms = T0 - 30 * DAY;
  in.predictor_json = (char *)"{\"rate\":-1.25,\"n\":40}";
  in.updated_ms = T0;
  assert_int_equal(store_put_consumable_state(f->st, &in), RS_OK);
  assert_int_equal(store_get_consumable_state(f->st, "press-1/filter", &c), RS_OK);
  assert_string_equal(c.id, "press-1/filter");
  assert_int_equal(c.spares, 2);
  assert_int_equal(c.installed_at_ms, T0 - 30 * DAY);
  assert_int_equal(c.last_replacement_ms, 0);
  assert_false(c.has_counter);
  assert_string_equal(c.predictor_json, "{\"rate\":-1.25,\"n\":40}");
  store_consumable_free(&c);
  in.predictor_json = (char *)"{broken";
  assert_int_equal(store_put_consumable_state(f->st, &in), RS_ERR_INVALID);

  assert_int_equal(store_record_replacement(f->st, "press-1/filter", T0 + DAY, 4, 100, &rid),
                   RS_OK);
  assert_true(rid > 0);
  assert_int_equal(store_add_spares(f->st, "press-1/filter", -1, T0 + DAY, &spares), RS_OK);
  assert_int_equal(spares, 1);
  assert_int_equal(store_add_spares(f->st, "press-1/filter", -5, T0 + DAY, &spares), RS_OK);
  assert_int_equal(spares, 0);
  assert_int_equal(store_add_spares(f->st, "press-2/ink", 3, T0, &spares), RS_OK);
  assert_int_equal(spares, 3);
  assert_int_equal(store_get_consumable_state(f->st, "press-1/filter", &c), RS_OK);
  assert_int_equal(c.installed_at_ms, T0 + DAY);
  assert_int_equal(c.last_replacement_ms, T0 + DAY);
  assert_true(c.has_counter);
  assert_true(c.counter_at_replacement == 100);
  assert_string_equal(c.predictor_json, "{\"rate\":-1.25,\"n\":40}");
  store_consumable_free(&c);
  assert_int_equal(store_record_replacement(f->st, "press-1/filter", T0 + 40 * DAY, 3, 99, NULL),
                   RS_OK);
  memset(&rp, 0, sizeof(rp));
  assert_int_equal(store_list_replacements(f->st, "press-1/filter", collect_repl, &rp), RS_OK);
  assert_int_equal(rp.n, 2);
  assert_int_equal(rp.t[0], T0 + DAY);
  assert_int_equal(rp.t[1], T0 + 40 * DAY);
}

/* ---- a full disk ------------------------------------------------------ */

static void test_full_disk(void **state)
{
  struct fx *f = *state;
  char id[STORE_ORDER_ID_MAX + 1], id2[STORE_ORDER_ID_MAX + 1];
  struct store_order_full *o = NULL;
  sqlite3 *db;
  int64_t pages, i, t;
  double v;
  enum rs_err rc = RS_OK;
  f->st = open_ok(f);
  new_order(f->st, 4250, T0, id);
  assert_int_equal(store_put_reading(f->st, "press-1", "filter", T0, 1), RS_OK);
  db = raw(f);
  pages = raw_int(db, "PRAGMA page_count");
  sqlite3_close(db);
  assert_true(pages > 0);
  /* the file may not grow: the next page it needs is "disk full" */
  assert_int_equal(store_set_max_pages(f->st, pages), RS_OK);
  for(i = 1; i < 200000 && rc == RS_OK; i++)
    rc = store_put_reading(f->st, "press-1", "filter", T0 + i * 1000, (double)i);
  assert_int_equal(rc, RS_ERR_FULL);
  assert_non_null(strstr(store_errmsg(f->st), "full"));
  /* an order transaction fails cleanly too and changes nothing */
  assert_int_equal(store_begin(f->st), RS_OK);
  rc = store_transition_order(f->st, id, STORE_ORDER_DRAFT, STORE_ORDER_APPROVED, "system", "auto",
                              T0 + 5);
  if(rc == RS_OK) {
    /* the transition fitted in a free page: make the group need more */
    for(i = 0; i < 2000 && rc == RS_OK; i++)
      rc = store_audit(f->st, T0, "system", "fill", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  }
  assert_int_equal(rc, RS_ERR_FULL);
  assert_int_equal(store_rollback(f->st), RS_OK);
  assert_int_equal(store_get_order(f->st, id, &o), RS_OK);
  assert_int_equal(o->order.state, STORE_ORDER_DRAFT);
  assert_int_equal(o->n_transitions, 1);
  store_order_full_free(o);
  /* everything committed before is there */
  assert_int_equal(store_last_reading(f->st, "press-1", "filter", &t, &v), RS_OK);
  assert_true(t >= T0);
  /* once there is room again, writes work */
  assert_int_equal(store_set_max_pages(f->st, 1000000), RS_OK);
  new_order(f->st, 1, T0, id2);
  assert_int_equal(store_transition_order(f->st, id, STORE_ORDER_DRAFT, STORE_ORDER_APPROVED,
                                          "system", "auto", T0 + 6),
                   RS_OK);
  store_close(f->st);
  f->st = open_ok(f);
  assert_int_equal(store_get_order(f->st, id, &o), RS_OK);
  assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
  store_order_full_free(o);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      T(test_create_schema),
      T(test_reopen_keeps_data),
      T(test_migrate_from_v1),
      T(test_newer_refused),
      T(test_missing_dir),
      T(test_not_a_database),
      T(test_foreign_keys),
      T(test_open_lines),
      T(test_list_open_lines),
      T(test_order_ids),
      T(test_transition_conflict),
      T(test_transitions_recorded),
      T(test_money_round_trip),
      T(test_body_attempts),
      T(test_list_orders),
      T(test_state_names),
      T(test_approvals),
      T(test_meta),
      T(test_audit),
      T(test_transactions),
      T(test_readings_range),
      T(test_readings_merge),
      T(test_thin_readings),
      T(test_consumables),
      T(test_full_disk),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

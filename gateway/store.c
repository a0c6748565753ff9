/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: restockd's SQLite state (see store.h and docs/storage.md).
 *
 * Durability: the connection runs with synchronous=NORMAL (a WAL commit is
 * not fsynced; a power cut may lose the last commits but never corrupts or
 * reorders them). Writes that change order state (lines, orders,
 * transitions, approvals, spares, meta, audit) and every store_begin group
 * switch to synchronous=FULL for their transaction, so their COMMIT is
 * fsynced, and with it every earlier commit in the WAL.
 */
#include "gateway/store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/rs_util.h"

/* ---- schema and migrations -------------------------------------------- */

/*
 * migrations[i] takes the schema from version i to i + 1. Append only: a
 * released step is never edited. Each runs in its own transaction together
 * with the PRAGMA user_version bump.
 */
static const char *const migrations[] = {
    /* 0 -> 1: readings, consumables, meta */
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
    "CREATE INDEX replacements_by_consumable ON replacements(consumable, time_ms);",

    /* 1 -> 2: orders, lines, transitions, approvals, audit */
    "CREATE TABLE orders(id TEXT PRIMARY KEY CHECK(length(id) BETWEEN 1 AND 64),"
    " supplier TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('draft','pending_approval','approved','submitted',"
    "'shipped','delivered','rejected','expired','failed','cancelled')),"
    " currency TEXT NOT NULL CHECK(length(currency) = 3),"
    " total INTEGER NOT NULL CHECK(total >= 0),"
    " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " shop_id TEXT, request_body TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms INTEGER, last_error TEXT) WITHOUT ROWID, STRICT;"
    "CREATE INDEX orders_by_state ON orders(state, next_attempt_ms);"
    "CREATE INDEX orders_by_created ON orders(created_ms);"
    "CREATE TABLE order_lines(id INTEGER PRIMARY KEY, consumable TEXT NOT NULL,"
    " sku TEXT NOT NULL, quantity INTEGER NOT NULL CHECK(quantity > 0),"
    " unit_price INTEGER NOT NULL CHECK(unit_price >= 0),"
    " currency TEXT NOT NULL CHECK(length(currency) = 3), rule TEXT,"
    " figures_json TEXT CHECK(figures_json IS NULL OR json_valid(figures_json)),"
    " need_by_ms INTEGER, order_id TEXT REFERENCES orders(id),"
    " state TEXT NOT NULL DEFAULT 'open' CHECK(state IN ('open','delivered','ended')),"
    " created_ms INTEGER NOT NULL) STRICT;"
    "CREATE INDEX order_lines_by_order ON order_lines(order_id);"
    /* the database itself keeps one open line per consumable (SPEC 7) */
    "CREATE UNIQUE INDEX order_lines_one_open ON order_lines(consumable) WHERE state = 'open';"
    "CREATE TABLE transitions(id INTEGER PRIMARY KEY,"
    " order_id TEXT NOT NULL REFERENCES orders(id), time_ms INTEGER NOT NULL,"
    " from_state TEXT, to_state TEXT NOT NULL, actor TEXT NOT NULL, cause TEXT NOT NULL) STRICT;"
    "CREATE INDEX transitions_by_order ON transitions(order_id, id);"
    "CREATE TABLE approvals(id INTEGER PRIMARY KEY,"
    " order_id TEXT NOT NULL REFERENCES orders(id), approver TEXT NOT NULL,"
    " token_hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL, used_at_ms INTEGER, decided_by TEXT,"
    " decision TEXT CHECK(decision IS NULL OR decision IN ('approve','reject')),"
    " source TEXT, user_agent TEXT) STRICT;"
    "CREATE INDEX approvals_by_order ON approvals(order_id);"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT) STRICT;"
    "CREATE INDEX audit_by_time ON audit(time_ms);",

    /* 2 -> 3: the mail outbox of approval links (gateway/approve.c) */
    "CREATE TABLE mail_outbox(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL,"
    " order_id TEXT REFERENCES orders(id), recipient TEXT NOT NULL, message TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms INTEGER NOT NULL, sent_ms INTEGER, last_error TEXT,"
    " UNIQUE(kind, ref)) STRICT;"
    "CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_ms) WHERE sent_ms IS NULL;",

    /* 3 -> 4: holds, early receipts, the shelf clock, audit subjects (issue 11) */
    "ALTER TABLE consumable_state ADD COLUMN hold_kind TEXT"
    " CHECK(hold_kind IS NULL OR hold_kind IN ('rejected','expired','manual'));"
    "ALTER TABLE consumable_state ADD COLUMN held_since_ms INTEGER;"
    "ALTER TABLE consumable_state ADD COLUMN held_until_ms INTEGER;"
    "ALTER TABLE consumable_state ADD COLUMN hold_reason TEXT;"
    "ALTER TABLE consumable_state ADD COLUMN redraft_ms INTEGER;"
    "ALTER TABLE consumable_state ADD COLUMN shelf_since_ms INTEGER;"
    "ALTER TABLE consumable_state ADD COLUMN unknown_fit_ms INTEGER;"
    "ALTER TABLE order_lines ADD COLUMN received INTEGER NOT NULL DEFAULT 0"
    " CHECK(received >= 0);"
    "ALTER TABLE audit ADD COLUMN subject TEXT;"
    "CREATE INDEX audit_by_subject ON audit(subject, time_ms);",

    /* 4 -> 5: the recent readings, in arrival order (issue 14, flash wear): a batch
       appends to one page instead of dirtying each point's page of `readings`;
       store_merge_readings() moves them into `readings` (daily and at start) */
    ("CREATE TABLE readings_recent(point_id INTEGER NOT NULL, time_ms INTEGER NOT NULL,"
     " value REAL NOT NULL) STRICT;"),
};

#if !defined(__cplusplus)
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
               "one migration step per schema version");
#endif

/* ---- cached statements ------------------------------------------------ */

enum sid {
  S_SYNC_FULL,
  S_SYNC_NORMAL,
  S_BEGIN,
  S_BEGIN_READ,
  S_COMMIT,
  S_ROLLBACK,
  S_POINT_ADD,
  S_READING_PUT,
  S_LAST_READINGS,
  S_LAST_READING,
  S_READINGS_RANGE,
  S_THIN,
  S_MERGE_COPY,
  S_MERGE_CLEAR,
  S_CONS_GET,
  S_CONS_PUT,
  S_CONS_SPARES,
  S_CONS_SPARES_GET,
  S_REPL_ADD,
  S_REPL_STATE,
  S_REPL_LIST,
  S_LINE_ADD,
  S_LINE_ATTACH,
  S_LINE_OPEN_FOR,
  S_LINES_OPEN,
  S_LINES_OF_ORDER,
  S_LINES_END,
  S_ORDER_COUNT_DAY,
  S_ORDER_ADD,
  S_ORDER_STATE,
  S_ORDER_SET_STATE,
  S_TRANS_ADD,
  S_ORDER_SET_TOTAL,
  S_ORDER_BODY_GET,
  S_ORDER_SET_BODY,
  S_ORDER_ATTEMPT,
  S_ORDER_NEXT_ATTEMPT,
  S_ORDER_SHOP_ID,
  S_ORDER_SHOP_ID_OTHER,
  S_ORDER_GET,
  S_ORDER_LIST,
  S_TRANS_OF_ORDER,
  S_APPR_ADD,
  S_APPR_GET,
  S_APPR_USE,
  S_AUDIT_ADD,
  S_META_GET,
  S_META_SET,
  S_META_DEL,
  S_APPR_LIST,
  S_APPR_BY_HASH,
  S_MAIL_QUEUE,
  S_MAIL_EXISTS,
  S_MAIL_DUE,
  S_MAIL_ALL,
  S_MAIL_SENT,
  S_MAIL_FAILED,
  S_CONS_ENSURE,
  S_CONS_SET_SPARES,
  S_CONS_RELEASE,
  S_CONS_HOLD,
  S_CONS_REDRAFT,
  S_CONS_UNKNOWN_FIT,
  S_LINE_OPEN_GET,
  S_LINE_RECEIVE,
  S_LINE_PRICE,
  S_LINES_OF,
  S_AUDIT_LIST,
  S_COUNT
};

/*
 * The columns of a listed row, in the order read_row() reads them (see
 * struct rowtype): its strings, its int64_t members, its char arrays, then
 * what the type's rest() reads.
 */
#define LINE_COLS                                                                                  \
  "consumable, sku, rule, figures_json, order_id, id, quantity, unit_price, need_by_ms, "          \
  "created_ms, received, currency, state"
#define ORDER_COLS                                                                                 \
  "supplier, shop_id, request_body, last_error, total, created_ms, updated_ms, attempts, "         \
  "next_attempt_ms, id, currency, state"
#define APPR_COLS                                                                                  \
  "approver, decided_by, decision, source, user_agent, id, created_ms, expires_ms, used_at_ms, "   \
  "order_id, token_hash"
#define MAIL_COLS                                                                                  \
  "kind, ref, order_id, recipient, message, last_error, id, created_ms, attempts, "                \
  "next_attempt_ms, sent_ms"

static const char *const sql_text[S_COUNT] = {
    [S_SYNC_FULL] = "PRAGMA synchronous = FULL",
    [S_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_POINT_ADD] = "INSERT INTO points(device, point) VALUES(?1, ?2) ON CONFLICT DO NOTHING",
    /* new values go to readings_recent (appended in rowid order); the queries read
       both tables, and a row of readings_recent wins over an older one at the same
       (point, time), as INSERT OR REPLACE into readings would have it */
    [S_READING_PUT] = "INSERT INTO readings_recent(point_id, time_ms, value)"
                      " SELECT id, ?3, ?4 FROM points WHERE device = ?1 AND point = ?2",
    [S_LAST_READINGS] =
        "SELECT p.device, p.point, u.time_ms, u.value FROM points p JOIN"
        " (SELECT point_id, time_ms, value, row_number() OVER (PARTITION BY point_id"
        " ORDER BY time_ms DESC, src DESC, seq DESC) AS k FROM"
        " (SELECT r.point_id, r.time_ms, r.value, 0 AS src, 0 AS seq FROM points q"
        " JOIN readings r ON r.point_id = q.id AND r.time_ms ="
        " (SELECT max(time_ms) FROM readings WHERE point_id = q.id)"
        " UNION ALL SELECT point_id, time_ms, value, 1, rowid FROM readings_recent)) u"
        " ON u.point_id = p.id AND u.k = 1 ORDER BY p.device, p.point",
    [S_LAST_READING] =
        "SELECT * FROM (SELECT r.time_ms, r.value, 0 AS src, 0 AS seq FROM readings r"
        " WHERE r.point_id = (SELECT id FROM points WHERE device = ?1 AND point = ?2)"
        " ORDER BY r.time_ms DESC LIMIT 1)"
        " UNION ALL SELECT time_ms, value, 1, rowid FROM readings_recent"
        " WHERE point_id = (SELECT id FROM points WHERE device = ?1 AND point = ?2)"
        " ORDER BY 1 DESC, 3 DESC, 4 DESC LIMIT 1",
    /* oldest first; equal times come out together, the winner last */
    [S_READINGS_RANGE] =
        "SELECT r.time_ms, r.value, 0 AS src, 0 AS seq FROM readings r"
        " WHERE r.point_id = (SELECT id FROM points WHERE device = ?1 AND point = ?2)"
        " AND r.time_ms >= ?3 AND r.time_ms < ?4"
        " UNION ALL SELECT time_ms, value, 1, rowid FROM readings_recent"
        " WHERE point_id = (SELECT id FROM points WHERE device = ?1 AND point = ?2)"
        " AND time_ms >= ?3 AND time_ms < ?4 ORDER BY 1, 3, 4",
    /* point order writes each point's page of readings once; rowid order last wins */
    [S_MERGE_COPY] = "INSERT OR REPLACE INTO readings(point_id, time_ms, value)"
                     " SELECT point_id, time_ms, value FROM readings_recent"
                     " ORDER BY point_id, time_ms, rowid",
    [S_MERGE_CLEAR] = "DELETE FROM readings_recent",
    /* keep, per point and bucket, the last reading before the cutoff */
    [S_THIN] = "DELETE FROM readings AS r WHERE r.time_ms < ?1 AND r.time_ms <"
               " (SELECT max(r2.time_ms) FROM readings r2 WHERE r2.point_id = r.point_id"
               " AND r2.time_ms >= r.time_ms - (r.time_ms % ?2)"
               " AND r2.time_ms < min(?1, r.time_ms - (r.time_ms % ?2) + ?2))",
    [S_CONS_GET] = "SELECT spares, installed_at_ms, last_replacement_ms, counter_at_replacement,"
                   " predictor_json, updated_ms, hold_kind, held_since_ms, held_until_ms,"
                   " hold_reason, redraft_ms, shelf_since_ms, unknown_fit_ms"
                   " FROM consumable_state WHERE id = ?1",
    /* the hold, redraft, shelf and unknown-fit columns have writers of their own */
    [S_CONS_PUT] = "INSERT INTO consumable_state(id, spares, installed_at_ms, last_replacement_ms,"
                   " counter_at_replacement, predictor_json, updated_ms, shelf_since_ms)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?2 > 0 THEN ?7 END)"
                   " ON CONFLICT(id) DO UPDATE SET"
                   " spares = excluded.spares, installed_at_ms = excluded.installed_at_ms,"
                   " last_replacement_ms = excluded.last_replacement_ms,"
                   " counter_at_replacement = excluded.counter_at_replacement,"
                   " predictor_json = excluded.predictor_json, updated_ms = excluded.updated_ms",
    /* shelf_since_ms: when the shelf last went from empty to stocked, or a part was fitted
       from it (a negative delta); NULL while it is empty (the spare_unused clock) */
    [S_CONS_SPARES] = "INSERT INTO consumable_state(id, spares, updated_ms, shelf_since_ms)"
                      " VALUES(?1, max(0, ?2), ?3, CASE WHEN ?2 > 0 THEN ?3 END)"
                      " ON CONFLICT(id) DO UPDATE SET"
                      " shelf_since_ms = CASE WHEN max(0, spares + ?2) = 0 THEN NULL"
                      " WHEN ?2 < 0 OR spares = 0 OR shelf_since_ms IS NULL THEN ?3"
                      " ELSE shelf_since_ms END,"
                      " spares = max(0, spares + ?2), updated_ms = ?3",
    [S_CONS_SPARES_GET] = "SELECT spares FROM consumable_state WHERE id = ?1",
    [S_REPL_ADD] = "INSERT INTO replacements(consumable, time_ms, level_before, level_after)"
                   " VALUES(?1, ?2, ?3, ?4)",
    [S_REPL_STATE] =
        "INSERT INTO consumable_state(id, spares, installed_at_ms, last_replacement_ms,"
        " counter_at_replacement, updated_ms) VALUES(?1, 0, ?2, ?2, ?3, ?2)"
        " ON CONFLICT(id) DO UPDATE SET installed_at_ms = ?2,"
        " last_replacement_ms = ?2, counter_at_replacement = ?3, updated_ms = ?2",
    [S_REPL_LIST] = "SELECT time_ms, level_before, level_after FROM replacements"
                    " WHERE consumable = ?1 ORDER BY time_ms, id",
    [S_LINE_ADD] = "INSERT INTO order_lines(consumable, sku, quantity, unit_price, currency, rule,"
                   " figures_json, need_by_ms, state, created_ms)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'open', ?9)",
    [S_LINE_ATTACH] = "UPDATE order_lines SET order_id = ?2 WHERE id = ?1",
    [S_LINE_OPEN_FOR] = "SELECT id FROM order_lines WHERE consumable = ?1 AND state = 'open'",
    [S_LINES_OPEN] = "SELECT " LINE_COLS " FROM order_lines WHERE state = 'open' ORDER BY id",
    [S_LINES_OF_ORDER] = "SELECT " LINE_COLS " FROM order_lines WHERE order_id = ?1 ORDER BY id",
    [S_LINES_END] = "UPDATE order_lines SET state = ?2 WHERE order_id = ?1 AND state = 'open'",
    [S_ORDER_COUNT_DAY] = "SELECT count(*) FROM orders WHERE substr(id, 1, 11) = ?1",
    [S_ORDER_ADD] = "INSERT INTO orders(id, supplier, state, currency, total, created_ms,"
                    " updated_ms) VALUES(?1, ?2, 'draft', ?3, ?4, ?5, ?5)",
    [S_ORDER_STATE] = "SELECT state FROM orders WHERE id = ?1",
    [S_ORDER_SET_STATE] = "UPDATE orders SET state = ?2, updated_ms = ?3 WHERE id = ?1",
    [S_TRANS_ADD] = "INSERT INTO transitions(order_id, time_ms, from_state, to_state, actor, cause)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [S_ORDER_SET_TOTAL] = "UPDATE orders SET total = ?2, updated_ms = ?3 WHERE id = ?1",
    [S_ORDER_BODY_GET] = "SELECT request_body FROM orders WHERE id = ?1",
    [S_ORDER_SET_BODY] = "UPDATE orders SET request_body = ?2, updated_ms = ?3 WHERE id = ?1",
    [S_ORDER_ATTEMPT] = "UPDATE orders SET attempts = attempts + 1, next_attempt_ms = ?2,"
                        " last_error = ?3, updated_ms = ?4 WHERE id = ?1",
    [S_ORDER_NEXT_ATTEMPT] = "UPDATE orders SET next_attempt_ms = ?2, updated_ms = ?3 WHERE id = ?1",
    [S_ORDER_SHOP_ID] = "UPDATE orders SET shop_id = ?2, updated_ms = ?3 WHERE id = ?1",
    [S_ORDER_SHOP_ID_OTHER] = "SELECT id FROM orders WHERE shop_id = ?2 AND id <> ?1 LIMIT 1",
    [S_ORDER_GET] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?1",
    [S_ORDER_LIST] = "SELECT " ORDER_COLS " FROM orders WHERE ?1 IS NULL OR state = ?1"
                     " ORDER BY created_ms DESC, id DESC LIMIT ?2",
    [S_TRANS_OF_ORDER] = "SELECT time_ms, from_state, to_state, actor, cause FROM transitions"
                         " WHERE order_id = ?1 ORDER BY id",
    [S_APPR_ADD] = "INSERT INTO approvals(order_id, approver, token_hash, created_ms, expires_ms)"
                   " VALUES(?1, ?2, ?3, ?4, ?5)",
    [S_APPR_GET] = "SELECT order_id, expires_ms, used_at_ms FROM approvals WHERE token_hash = ?1",
    [S_APPR_USE] = "UPDATE approvals SET used_at_ms = ?2, decided_by = ?3, decision = ?4,"
                   " source = ?5, user_agent = ?6 WHERE token_hash = ?1 AND used_at_ms IS NULL",
    [S_AUDIT_ADD] = "INSERT INTO audit(time_ms, actor, action, detail, subject)"
                    " VALUES(?1, ?2, ?3, ?4, ?5)",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_APPR_LIST] = "SELECT " APPR_COLS " FROM approvals WHERE order_id = ?1 ORDER BY id",
    [S_APPR_BY_HASH] = "SELECT " APPR_COLS " FROM approvals WHERE token_hash = ?1",
    [S_MAIL_QUEUE] = "INSERT INTO mail_outbox(kind, ref, order_id, recipient, message, created_ms,"
                     " next_attempt_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    [S_MAIL_EXISTS] = "SELECT 1 FROM mail_outbox WHERE kind = ?1 AND ref = ?2",
    [S_MAIL_DUE] = "SELECT " MAIL_COLS " FROM mail_outbox WHERE sent_ms IS NULL"
                   " AND next_attempt_ms <= ?1 ORDER BY next_attempt_ms, id LIMIT ?2",
    [S_MAIL_ALL] = "SELECT " MAIL_COLS " FROM mail_outbox ORDER BY id LIMIT ?2",
    [S_MAIL_SENT] = "UPDATE mail_outbox SET sent_ms = ?2, attempts = attempts + 1,"
                    " last_error = ?3 WHERE id = ?1 AND sent_ms IS NULL",
    [S_MAIL_FAILED] = "UPDATE mail_outbox SET next_attempt_ms = ?2, attempts = attempts + 1,"
                      " last_error = ?3 WHERE id = ?1 AND sent_ms IS NULL",
    [S_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [S_META_DEL] = "DELETE FROM meta WHERE key = ?1",
    [S_CONS_ENSURE] = "INSERT INTO consumable_state(id, spares, updated_ms, shelf_since_ms)"
                      " VALUES(?1, ?2, ?3, CASE WHEN ?2 > 0 THEN ?3 END)"
                      " ON CONFLICT(id) DO NOTHING",
    [S_CONS_SET_SPARES] = "UPDATE consumable_state SET spares = ?2, updated_ms = ?3,"
                          " shelf_since_ms = CASE WHEN ?2 > 0 THEN ?3 END, unknown_fit_ms = NULL"
                          " WHERE id = ?1",
    [S_CONS_RELEASE] = "UPDATE consumable_state SET hold_kind = NULL, held_since_ms = NULL,"
                       " held_until_ms = NULL, hold_reason = NULL, updated_ms = ?2 WHERE id = ?1",
    /* ?3 = INT64_MAX: held until released (NULL) */
    [S_CONS_HOLD] = "UPDATE consumable_state SET hold_kind = ?4, held_since_ms = ?2,"
                    " held_until_ms = CASE WHEN ?3 = 9223372036854775807 THEN NULL ELSE ?3 END,"
                    " hold_reason = ?5, updated_ms = ?2 WHERE id = ?1",
    [S_CONS_REDRAFT] =
        "UPDATE consumable_state SET redraft_ms = ?2, updated_ms = ?2,"
        " hold_kind = CASE WHEN hold_kind = 'expired' THEN NULL ELSE hold_kind END,"
        " held_since_ms = CASE WHEN hold_kind = 'expired' THEN NULL ELSE held_since_ms END,"
        " held_until_ms = CASE WHEN hold_kind = 'expired' THEN NULL ELSE held_until_ms END,"
        " hold_reason = CASE WHEN hold_kind = 'expired' THEN NULL ELSE hold_reason END"
        " WHERE id = ?1",
    [S_CONS_UNKNOWN_FIT] = "UPDATE consumable_state SET unknown_fit_ms = CASE WHEN ?2 > 0 THEN ?2"
                           " END WHERE id = ?1",
    [S_LINE_OPEN_GET] = "SELECT " LINE_COLS " FROM order_lines WHERE consumable = ?1"
                        " AND state = 'open'",
    [S_LINE_RECEIVE] = "UPDATE order_lines SET received = min(quantity, received + ?2)"
                       " WHERE id = ?1 AND state = 'open'",
    [S_LINE_PRICE] = "UPDATE order_lines SET unit_price = ?2 WHERE id = ?1",
    [S_LINES_OF] = "SELECT " LINE_COLS " FROM order_lines WHERE consumable = ?1"
                   " ORDER BY id DESC LIMIT ?2",
    [S_AUDIT_LIST] = "SELECT time_ms, actor, action, detail FROM audit WHERE subject = ?1"
                     " ORDER BY time_ms DESC, id DESC LIMIT ?2",
};

struct store {
  sqlite3 *db;
  char *path;
  sqlite3_stmt *stmt[S_COUNT];
  int depth;       /* open transaction levels (0 = autocommit) */
  int lost_levels; /* caller levels whose transaction SQLite already rolled back */
  bool sync_full;  /* synchronous=FULL is set for the current transaction */
  char tag[8];     /* fixed tag for order ids (replay), when fixed_tag */
  bool fixed_tag;  /* store_set_order_id_tag() was called: ids are reproducible */
  uint64_t spares_gen; /* bumped by every write of a consumable's spares */
  int64_t data_version; /* PRAGMA data_version at the last store_changed_elsewhere(); -1: never */
  bool readonly;        /* opened with STORE_OPEN_READONLY */
  int64_t recent_rows;  /* rows this connection put since its last merge; INT64_MAX: unknown */
  bool tx_write;        /* the open outer transaction is a write transaction */
  int64_t changes;      /* rows the last write through run() changed */
  int xerr;             /* its extended SQLite code when it failed; 0 when it worked */
  /* the storage fault: a write failed for a storage reason, none succeeded since */
  uint64_t fault_count;  /* failures since the fault began; 0: no fault */
  int64_t fault_since;   /* CLOCK_REALTIME ms of its first failure */
  char fault_why[192];   /* the first failure's reason */
  char err[512];
};

/* PRAGMA application_id of a restock database: "RSTK". */
#define STORE_APP_ID 0x5253544B

/* ---- errors ----------------------------------------------------------- */

/* Map an SQLite result code to rs_err (the only place that knows them). */
static enum rs_err map_sqlite(int src)
{
  switch(src & 0xff) {
  case SQLITE_OK:
  case SQLITE_DONE:
  case SQLITE_ROW:
    return RS_OK;
  case SQLITE_FULL:
    return RS_ERR_FULL;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return RS_ERR_BUSY;
  case SQLITE_NOMEM:
    return RS_ERR_NOMEM;
  case SQLITE_CONSTRAINT:
  case SQLITE_MISMATCH:
  case SQLITE_RANGE:
  case SQLITE_TOOBIG:
    return RS_ERR_INVALID;
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_READONLY:
  case SQLITE_PERM:
    return RS_ERR_IO;
  default:
    return RS_ERR_DB;
  }
}

static int64_t real_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether a file size limit is set (ulimit -f, LimitFSIZE=): its bytes in *limit. */
static bool fsize_limit(unsigned long long *limit)
{
  struct rlimit fl;
  if(getrlimit(RLIMIT_FSIZE, &fl) || fl.rlim_cur == RLIM_INFINITY)
    return false;
  *limit = (unsigned long long)fl.rlim_cur;
  return true;
}

/*
 * Set st->err to "what: <sqlite message>" and return the mapped code. A
 * storage failure (full, I/O, read-only file, corruption) starts or
 * continues the store's fault (see store_fault()).
 */
static enum rs_err fail_sql(struct store *st, int src, const char *what)
{
  enum rs_err rc = map_sqlite(src);
  int prim = src & 0xff;
  /*
   * A write beyond RLIMIT_FSIZE (ulimit -f, systemd's LimitFSIZE=) is an I/O
   * error to SQLite (EFBIG, not always kept in sqlite3_system_errno()): when
   * such a limit is set, say so.
   */
  unsigned long long limit = 0;
  bool fsize = prim == SQLITE_IOERR && fsize_limit(&limit);
  if(rc == RS_ERR_FULL)
    snprintf(st->err, sizeof(st->err), "%s: %s: the disk (or database size limit) is full", what,
             st->path);
  else if(fsize)
    snprintf(st->err, sizeof(st->err),
             "%s: %s: I/O error (SQLite code %d); a file size limit of %llu bytes is set "
             "(ulimit -f, systemd's LimitFSIZE=)",
             what, st->path, src, limit);
  else
    snprintf(st->err, sizeof(st->err), "%s: %s (SQLite code %d)", what, sqlite3_errmsg(st->db),
             src);
  if(prim == SQLITE_FULL || prim == SQLITE_IOERR || prim == SQLITE_READONLY ||
     prim == SQLITE_CORRUPT || prim == SQLITE_CANTOPEN || prim == SQLITE_NOTADB) {
    if(!st->fault_count++) {
      st->fault_since = real_ms();
      (void)rs_strlcpy(st->fault_why,
                       prim == SQLITE_FULL       ? "the disk (or database size limit) is full"
                       : fsize ? "I/O error on the database file (a file size limit is set)"
                       : prim == SQLITE_READONLY ? "the database file is read-only"
                       : prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB
                           ? "the database file is corrupt"
                           : "I/O error on the database file",
                       sizeof(st->fault_why));
    }
  }
  return rc ? rc : RS_ERR_DB;
}

bool store_fault(const struct store *st, char *why, size_t size, int64_t *since_ms,
                 uint64_t *count)
{
  if(!st || !st->fault_count)
    return false;
  if(why && size)
    (void)rs_strlcpy(why, st->fault_why, size);
  if(since_ms)
    *since_ms = st->fault_since;
  if(count)
    *count = st->fault_count;
  return true;
}

static enum rs_err fail_msg(struct store *st, enum rs_err rc, const char *fmt, ...) RS_PRINTF(3, 4);
/* Set st->err from a format and return rc. */
static enum rs_err fail_msg(struct store *st, enum rs_err rc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->err, sizeof(st->err), fmt, ap);
  va_end(ap);
  return rc;
}

const char *store_errmsg(const struct store *st)
{
  return st ? st->err : "";
}

/* ---- rows: their strings, freed and copied by one helper each --------- */

#define STRS(offs)        offs, RS_ARRAY_LEN(offs)
#define OFF(type, member) offsetof(struct type, member)

static const size_t cons_strs[] = {OFF(store_consumable, id), OFF(store_consumable, predictor_json),
                                   OFF(store_consumable, hold_reason)};
static const size_t line_strs[] = {OFF(store_order_line, consumable), OFF(store_order_line, sku),
                                   OFF(store_order_line, rule), OFF(store_order_line, figures_json),
                                   OFF(store_order_line, order_id)};
static const size_t order_strs[] = {OFF(store_order, supplier), OFF(store_order, shop_id),
                                    OFF(store_order, request_body), OFF(store_order, last_error)};
static const size_t appr_strs[] = {OFF(store_approval, approver), OFF(store_approval, decided_by),
                                   OFF(store_approval, decision), OFF(store_approval, source),
                                   OFF(store_approval, user_agent)};
static const size_t mail_strs[] = {OFF(store_mail, kind),     OFF(store_mail, ref),
                                   OFF(store_mail, order_id), OFF(store_mail, recipient),
                                   OFF(store_mail, message),  OFF(store_mail, last_error)};

/* The char * member of row at offset off. */
static char **str_at(void *row, size_t off)
{
  return (char **)(void *)((char *)row + off);
}

/* Free the n strings of row (may be NULL) at offs, leaving them NULL. */
static void free_strs(void *row, const size_t *offs, size_t n)
{
  size_t i;
  for(i = 0; row && i < n; i++)
    FREE_NULL(*str_at(row, offs[i]));
}

/* Replace the n strings of row at offs by copies of their own. */
static void dup_strs(void *row, const size_t *offs, size_t n)
{
  size_t i;
  for(i = 0; i < n; i++) {
    char **p = str_at(row, offs[i]);
    if(*p)
      *p = rs_xstrdup(*p);
  }
}

/* A char array member of a row: where, how big. */
struct fixed {
  size_t off, size;
};

static const size_t line_ints[] = {
    OFF(store_order_line, id),         OFF(store_order_line, quantity),
    OFF(store_order_line, unit_price), OFF(store_order_line, need_by_ms),
    OFF(store_order_line, created_ms), OFF(store_order_line, received)};
static const size_t order_ints[] = {OFF(store_order, total), OFF(store_order, created_ms),
                                    OFF(store_order, updated_ms), OFF(store_order, attempts),
                                    OFF(store_order, next_attempt_ms)};
static const size_t appr_ints[] = {OFF(store_approval, id), OFF(store_approval, created_ms),
                                   OFF(store_approval, expires_ms),
                                   OFF(store_approval, used_at_ms)};
static const size_t mail_ints[] = {OFF(store_mail, id), OFF(store_mail, created_ms),
                                   OFF(store_mail, attempts), OFF(store_mail, next_attempt_ms),
                                   OFF(store_mail, sent_ms)};
#define FIXED(type, member)                                                                        \
  {                                                                                                \
    OFF(type, member), sizeof(((struct type *)0)->member)                                          \
  }
static const struct fixed line_fixed[] = {FIXED(store_order_line, currency)};
static const struct fixed order_fixed[] = {FIXED(store_order, id), FIXED(store_order, currency)};
static const struct fixed appr_fixed[] = {FIXED(store_approval, order_id),
                                          FIXED(store_approval, token_hash)};

static void line_rest(sqlite3_stmt *s, int col, void *row);
static void order_rest(sqlite3_stmt *s, int col, void *row);

/*
 * A row type: its size; the members read_row() fills from the columns in
 * this order (malloc'd strings, int64_t values, char arrays); rest() for the
 * columns after them (NULL: none). collect() and store_rows_free() copy and
 * free its strings.
 */
struct rowtype {
  size_t size;
  const size_t *strs;
  size_t n_strs;
  const size_t *ints;
  size_t n_ints;
  const struct fixed *fixed;
  size_t n_fixed;
  void (*rest)(sqlite3_stmt *s, int col, void *row);
};

static const struct rowtype line_rows = {sizeof(struct store_order_line), STRS(line_strs),
                                         STRS(line_ints), STRS(line_fixed), line_rest};
static const struct rowtype order_rows = {sizeof(struct store_order), STRS(order_strs),
                                          STRS(order_ints), STRS(order_fixed), order_rest};
static const struct rowtype appr_rows = {sizeof(struct store_approval), STRS(appr_strs),
                                         STRS(appr_ints), STRS(appr_fixed), NULL};
static const struct rowtype mail_rows = {
    sizeof(struct store_mail), STRS(mail_strs), STRS(mail_ints), NULL, 0, NULL};

/* Append a copy of row (a t, strings copied too) to the list rows (a struct store_rows). */
static int collect(void *rows, const void *row, const struct rowtype *t)
{
  struct store_rows *r = rows;
  char *slot;
  r->v.any = rs_xrealloc(r->v.any, (r->n + 1) * t->size);
  slot = (char *)r->v.any + r->n++ * t->size;
  memcpy(slot, row, t->size);
  dup_strs(slot, t->strs, t->n_strs);
  r->type = t;
  return 0;
}

void store_rows_free(struct store_rows *r)
{
  const struct rowtype *t = r->type;
  size_t i;
  for(i = 0; t && i < r->n; i++)
    free_strs((char *)r->v.any + i * t->size, t->strs, t->n_strs);
  FREE_NULL(r->v.any);
  r->n = 0;
}

/* A LIMIT: 0 (no limit) is -1 to SQLite. */
static int64_t lim(size_t limit)
{
  return limit ? (int64_t)limit : -1;
}

/* ---- statement helpers ------------------------------------------------ */

/* The cached statement id, prepared on first use; NULL with st->err set on failure. */
static sqlite3_stmt *stmt(struct store *st, enum sid id)
{
  if(!st->stmt[id]) {
    int src = sqlite3_prepare_v3(st->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[id],
                                 NULL);
    if(src) {
      fail_sql(st, src, "preparing a statement");
      st->stmt[id] = NULL;
      return NULL;
    }
  }
  return st->stmt[id];
}

/* Reset a statement after use and drop its bindings (so no pointer is kept). */
static void done(sqlite3_stmt *s)
{
  if(s) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
  if(v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

/* 0 (= unknown / none) is stored as NULL. */
static void bind_ms0(sqlite3_stmt *s, int i, int64_t v)
{
  if(v)
    sqlite3_bind_int64(s, i, v);
  else
    sqlite3_bind_null(s, i);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
  const unsigned char *t = sqlite3_column_text(s, i);
  return t ? rs_xstrdup((const char *)t) : NULL;
}

static void col_copy(sqlite3_stmt *s, int i, char *buf, size_t size)
{
  const unsigned char *t = sqlite3_column_text(s, i);
  rs_strlcpy(buf, t ? (const char *)t : "", size);
}

/* Read a row of type t (its columns as struct rowtype orders them) into row; strings malloc'd. */
static void read_row(sqlite3_stmt *s, void *row, const struct rowtype *t)
{
  int col = 0;
  size_t i;
  memset(row, 0, t->size);
  for(i = 0; i < t->n_strs; i++)
    *str_at(row, t->strs[i]) = col_dup(s, col++);
  for(i = 0; i < t->n_ints; i++) {
    int64_t v = sqlite3_column_int64(s, col++);
    memcpy((char *)row + t->ints[i], &v, sizeof(v));
  }
  for(i = 0; i < t->n_fixed; i++)
    col_copy(s, col++, (char *)row + t->fixed[i].off, t->fixed[i].size);
  if(t->rest)
    t->rest(s, col, row);
}

/*
 * Step a statement that returns no rows, then reset it. A write that worked
 * ends a fault (when committed) and leaves its row count in st->changes.
 */
static enum rs_err run(struct store *st, sqlite3_stmt *s, const char *what)
{
  int src = sqlite3_step(s);
  enum rs_err rc = RS_OK;
  if(src != SQLITE_DONE && src != SQLITE_ROW)
    rc = fail_sql(st, src, what);
  if(rc)
    st->xerr = sqlite3_extended_errcode(st->db);
  else if(!sqlite3_stmt_readonly(s)) {
    st->changes = sqlite3_changes64(st->db);
    /* not BEGIN IMMEDIATE (a "write" that writes nothing yet) */
    if(!st->depth && sqlite3_get_autocommit(st->db))
      st->fault_count = 0; /* committed (autocommit): storage works again */
  }
  done(s);
  return rc;
}

/* Run one cached statement that takes no parameters. */
static enum rs_err run_id(struct store *st, enum sid id, const char *what)
{
  sqlite3_stmt *s = stmt(st, id);
  if(!s)
    return RS_ERR_DB;
  return run(st, s, what);
}

/*
 * Bind the parameters of s by the letters of spec, one argument each from ap:
 * 't' text (const char *, NULL binds NULL), 'i' int64_t, 'm' int64_t where 0
 * binds NULL, 'd' double.
 */
static void bind_spec(sqlite3_stmt *s, const char *spec, va_list ap)
{
  int i;
  for(i = 1; spec[i - 1]; i++) {
    switch(spec[i - 1]) {
    case 't':
      bind_text(s, i, va_arg(ap, const char *));
      break;
    case 'i':
      sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
      break;
    case 'm':
      bind_ms0(s, i, va_arg(ap, int64_t));
      break;
    case 'd':
      sqlite3_bind_double(s, i, va_arg(ap, double));
      break;
    default:
      abort(); /* a programming error in a spec string */
    }
  }
}

/*
 * The cached statement id with its parameters bound by spec (see
 * bind_spec()). NULL with st->err set when it cannot be prepared. The caller
 * steps it and calls done().
 */
static sqlite3_stmt *bound(struct store *st, enum sid id, const char *spec, ...)
{
  sqlite3_stmt *s = stmt(st, id);
  va_list ap;
  if(!s)
    return NULL;
  va_start(ap, spec);
  bind_spec(s, spec, ap);
  va_end(ap);
  return s;
}

/*
 * Like bound(), but a private statement the caller finalizes: for lists
 * whose callback may use the store (and so the cached statement) again.
 */
static sqlite3_stmt *fresh(struct store *st, enum sid id, const char *spec, ...)
{
  sqlite3_stmt *s = NULL;
  va_list ap;
  int src = sqlite3_prepare_v2(st->db, sql_text[id], -1, &s, NULL);
  if(src) {
    fail_sql(st, src, "preparing a query");
    return NULL;
  }
  va_start(ap, spec);
  bind_spec(s, spec, ap);
  va_end(ap);
  return s;
}

/*
 * Step s (from bound() or fresh(); NULL when it could not be prepared) to
 * its next row: true on a row. False at the end (*rc unchanged) or on a
 * failure (*rc set, st->err naming what).
 */
static bool next_row(struct store *st, sqlite3_stmt *s, enum rs_err *rc, const char *what)
{
  int src;
  if(!s) {
    *rc = RS_ERR_DB;
    return false;
  }
  src = sqlite3_step(s);
  if(src == SQLITE_ROW)
    return true;
  if(src != SQLITE_DONE)
    *rc = fail_sql(st, src, what);
  return false;
}

/* A list call's typed callback and its ud, called through give(). */
struct sink {
  int (*give)(const struct sink *k, const void *row);
  union {
    store_line_cb line;
    store_order_cb order;
    store_approval_cb approval;
    store_mail_cb mail;
  } cb;
  void *ud;
};

/*
 * Hand each row of s (rows of type t) to k until it asks to stop: the one
 * walk of every list. The caller resets or finalizes s.
 */
static enum rs_err each_row(struct store *st, sqlite3_stmt *s, const struct rowtype *t,
                            const struct sink *k, const char *what)
{
  union {
    struct store_order_line line;
    struct store_order order;
    struct store_approval approval;
    struct store_mail mail;
  } row;
  enum rs_err rc = RS_OK;
  int stop = 0;
  while(!stop && next_row(st, s, &rc, what)) {
    read_row(s, &row, t);
    stop = k->give(k, &row);
    free_strs(&row, t->strs, t->n_strs);
  }
  return rc;
}

static enum rs_err one_row(struct store *st, sqlite3_stmt *s, const char *what, const char *missing,
                           ...) RS_PRINTF(4, 5);
/*
 * Step s (as next_row()) to the one row a lookup wants: RS_OK with the row
 * to read (then done(s)), RS_ERR_NOT_FOUND with st->err from the format
 * missing when there is none, or the failure.
 */
static enum rs_err one_row(struct store *st, sqlite3_stmt *s, const char *what, const char *missing,
                           ...)
{
  enum rs_err rc = RS_OK;
  va_list ap;
  if(next_row(st, s, &rc, what) || rc)
    return rc;
  va_start(ap, missing);
  vsnprintf(st->err, sizeof(st->err), missing, ap);
  va_end(ap);
  return RS_ERR_NOT_FOUND;
}

/* Whether exec() runs its statement in a durable transaction level of its own. */
enum step { IN_TX, OWN_TX };

static enum rs_err tx_begin(struct store *st, bool durable);
static enum rs_err tx_end(struct store *st, enum rs_err rc);

/*
 * bound() and run() in one: the cached statement id, bound by spec, stepped
 * once; with OWN_TX in a durable transaction level of its own (a write of
 * one statement). st->changes: the rows it changed; st->xerr: its extended
 * SQLite code when it failed.
 */
static enum rs_err vexec(struct store *st, enum step how, enum sid id, const char *what,
                         const char *spec, va_list ap)
{
  sqlite3_stmt *s;
  enum rs_err rc = how == OWN_TX ? tx_begin(st, true) : RS_OK;
  st->xerr = 0;
  if(rc)
    return rc;
  s = stmt(st, id);
  if(s) {
    bind_spec(s, spec, ap);
    rc = run(st, s, what);
  }
  else
    rc = RS_ERR_DB;
  return how == OWN_TX ? tx_end(st, rc) : rc;
}

static enum rs_err exec(struct store *st, enum step how, enum sid id, const char *what,
                        const char *spec, ...)
{
  enum rs_err rc;
  va_list ap;
  va_start(ap, spec);
  rc = vexec(st, how, id, what, spec, ap);
  va_end(ap);
  return rc;
}

/* rc of a write on the row called name: RS_ERR_NOT_FOUND, "missing name", when it changed none. */
static enum rs_err found(struct store *st, enum rs_err rc, const char *missing, const char *name)
{
  if(!rc && !st->changes)
    rc = fail_msg(st, RS_ERR_NOT_FOUND, "%s %s", missing, name);
  return rc;
}

/* ---- transactions ----------------------------------------------------- */

/*
 * Open a transaction level: at the outside BEGIN IMMEDIATE for writes (with
 * synchronous=FULL first when durable) or BEGIN for reads; inside one, a
 * savepoint.
 */
static enum rs_err tx_open(struct store *st, bool durable, bool write)
{
  enum rs_err rc;
  if(st->depth == 0) {
    if(durable) {
      rc = run_id(st, S_SYNC_FULL, "setting synchronous=FULL");
      if(rc)
        return rc;
      st->sync_full = true;
    }
    rc = run_id(st, write ? S_BEGIN : S_BEGIN_READ, "beginning a transaction");
    st->tx_write = write;
    if(rc) {
      if(st->sync_full) {
        run_id(st, S_SYNC_NORMAL, "setting synchronous=NORMAL");
        st->sync_full = false;
      }
      return rc;
    }
  }
  else {
    char sql[32];
    int src;
    snprintf(sql, sizeof(sql), "SAVEPOINT s%d", st->depth);
    src = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    if(src)
      return fail_sql(st, src, "opening a savepoint");
  }
  st->depth++;
  return RS_OK;
}

/* A write transaction level (durable: its commit is fsynced). */
static enum rs_err tx_begin(struct store *st, bool durable)
{
  return tx_open(st, durable, true);
}

/* A read transaction level (a consistent snapshot; takes no write lock). */
static enum rs_err tx_begin_read(struct store *st)
{
  return tx_open(st, false, false);
}

/* After the outermost level ended: back to synchronous=NORMAL. */
static void tx_outer_ended(struct store *st)
{
  st->depth = 0;
  if(st->sync_full) {
    run_id(st, S_SYNC_NORMAL, "setting synchronous=NORMAL");
    st->sync_full = false;
  }
}

/*
 * End the innermost level: commit (release) when rc is RS_OK, else roll it
 * back. Returns rc, or the commit's failure (after rolling back). st->err
 * keeps the first failure's message.
 */
static enum rs_err tx_end(struct store *st, enum rs_err rc)
{
  char sql[64];
  int src;
  if(st->depth == 0)
    return rc;
  if(rc == RS_OK) {
    if(st->depth == 1) {
      rc = run_id(st, S_COMMIT, "committing");
      if(rc == RS_OK) {
        if(st->tx_write)
          st->fault_count = 0; /* a write committed: storage works again */
        tx_outer_ended(st);
        return RS_OK;
      }
      /* fall through to the rollback below */
    }
    else {
      snprintf(sql, sizeof(sql), "RELEASE s%d", st->depth - 1);
      src = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
      if(src == SQLITE_OK) {
        st->depth--;
        return RS_OK;
      }
      rc = fail_sql(st, src, "releasing a savepoint");
    }
  }
  if(sqlite3_get_autocommit(st->db)) {
    /* SQLite already rolled the whole transaction back (FULL, IOERR, NOMEM) */
    st->lost_levels = st->depth - 1;
    tx_outer_ended(st);
    return rc;
  }
  if(st->depth == 1) {
    sqlite3_stmt *s = stmt(st, S_ROLLBACK);
    if(s) {
      sqlite3_step(s);
      done(s);
    }
    tx_outer_ended(st);
  }
  else {
    snprintf(sql, sizeof(sql), "ROLLBACK TO s%d; RELEASE s%d", st->depth - 1, st->depth - 1);
    sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    st->depth--;
  }
  return rc;
}

/* Open a caller's transaction level (always durable). */
enum rs_err store_begin(struct store *st)
{
  if(st->lost_levels)
    return fail_msg(st, RS_ERR_DB, "the enclosing transaction was rolled back after a failure");
  return tx_begin(st, true);
}

enum rs_err store_begin_batch(struct store *st)
{
  if(st->lost_levels)
    return fail_msg(st, RS_ERR_DB, "the enclosing transaction was rolled back after a failure");
  return tx_begin(st, false);
}

/*
 * Commit the caller's innermost level. If SQLite had already rolled the
 * transaction back after an earlier failure, returns RS_ERR_DB.
 */
enum rs_err store_commit(struct store *st)
{
  if(st->lost_levels) {
    st->lost_levels--;
    return fail_msg(st, RS_ERR_DB, "the transaction was rolled back after a failure");
  }
  if(st->depth == 0)
    return fail_msg(st, RS_ERR_INVALID, "store_commit without store_begin");
  return tx_end(st, RS_OK);
}

/* Roll back the caller's innermost level. */
enum rs_err store_rollback(struct store *st)
{
  if(st->lost_levels) {
    st->lost_levels--;
    return RS_OK;
  }
  if(st->depth == 0)
    return fail_msg(st, RS_ERR_INVALID, "store_rollback without store_begin");
  tx_end(st, RS_ERR_INVALID);
  return RS_OK;
}

/* ---- open / close ----------------------------------------------------- */

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
  sqlite3_stmt *s = NULL;
  int src = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
  if(src == SQLITE_OK) {
    src = sqlite3_step(s);
    if(src == SQLITE_ROW) {
      *out = sqlite3_column_int(s, 0);
      src = SQLITE_OK;
    }
  }
  sqlite3_finalize(s);
  return src;
}

/* Apply migrations from the file's version up to STORE_SCHEMA_VERSION. */
static enum rs_err migrate(struct store *st, int from)
{
  int v;
  for(v = from; v < STORE_SCHEMA_VERSION; v++) {
    char bump[48];
    int src, cur = 0;
    src = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if(src)
      return fail_sql(st, src, "beginning a migration");
    /* someone else may have migrated meanwhile */
    src = pragma_int(st->db, "PRAGMA user_version", &cur);
    if(src == SQLITE_OK && cur > v) {
      sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      v = cur - 1;
      continue;
    }
    snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
    if(src == SQLITE_OK)
      src = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL);
    if(src == SQLITE_OK)
      src = sqlite3_exec(st->db, bump, NULL, NULL, NULL);
    if(src == SQLITE_OK)
      src = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if(src) {
      char what[64];
      snprintf(what, sizeof(what), "migrating the schema from version %d to %d", v, v + 1);
      enum rs_err rc = fail_sql(st, src, what);
      if(!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      return rc;
    }
  }
  return RS_OK;
}

static const char tag_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/*
 * A fresh random 6-character tag for one order id. Each order gets its own,
 * so an id can never come back: not after a restore from an older backup
 * (whose day counters are behind), not on a reinstalled gateway, not on two
 * gateways of one customer. The shop keys idempotency on it.
 */
static enum rs_err order_tag(struct store *st, char tag[8])
{
  unsigned char rnd[6];
  size_t i;
  if(st->fixed_tag) {
    memcpy(tag, st->tag, sizeof(st->tag));
    return RS_OK;
  }
  if(getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
    return fail_msg(st, RS_ERR_IO, "getrandom failed: %s", strerror(errno));
  for(i = 0; i < sizeof(rnd); i++)
    tag[i] = tag_alphabet[rnd[i] & 31];
  tag[sizeof(rnd)] = '\0';
  return RS_OK;
}

/* Read the per-database order-id tag, creating it on first open. */
static enum rs_err ensure_tag(struct store *st)
{
  static const char *const alphabet = tag_alphabet;
  char *val = NULL;
  enum rs_err rc = store_meta_get(st, "order_id_tag", &val);
  if(rc == RS_ERR_NOT_FOUND) {
    unsigned char rnd[6];
    size_t i;
    if(getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
      return fail_msg(st, RS_ERR_IO, "getrandom failed: %s", strerror(errno));
    for(i = 0; i < sizeof(rnd); i++)
      st->tag[i] = alphabet[rnd[i] & 31];
    st->tag[sizeof(rnd)] = '\0';
    return store_meta_set(st, "order_id_tag", st->tag);
  }
  if(rc)
    return rc;
  rs_strlcpy(st->tag, val, sizeof(st->tag));
  free(val);
  return RS_OK;
}

enum rs_err store_set_order_id_tag(struct store *st, const char *tag)
{
  size_t i, n = strlen(tag);
  enum rs_err rc;
  if(n < 1 || n >= sizeof(st->tag))
    return fail_msg(st, RS_ERR_INVALID, "order id tag '%s': 1 to %zu characters", tag,
                    sizeof(st->tag) - 1);
  for(i = 0; i < n; i++) {
    if(!((tag[i] >= '0' && tag[i] <= '9') || (tag[i] >= 'A' && tag[i] <= 'Z')))
      return fail_msg(st, RS_ERR_INVALID, "order id tag '%s': only 0-9 and A-Z", tag);
  }
  rc = store_meta_set(st, "order_id_tag", tag);
  if(!rc) {
    (void)rs_strlcpy(st->tag, tag, sizeof(st->tag));
    st->fixed_tag = true;
  }
  return rc;
}

/*
 * When this process may not read path (or search dir), or, with write, may
 * not write path or dir (SQLite makes its -wal and -shm there): a hint
 * naming the owner, written to buf as " (PATH is owned by USER, mode 0600,
 * and this runs as ME: for restockd, give it to the user it runs as (chown
 * ME PATH); run restockctl as USER or root, e.g. sudo -u USER restockctl
 * ...)"; else buf is "".
 */
static void access_hint(const char *path, const char *dir, bool write, char *buf, size_t size)
{
  struct stat sb;
  struct passwd pw, *res = NULL;
  char pwbuf[1024], user[64], me[64], as[160];
  const char *what = path;
  buf[0] = '\0';
  if(access(path, R_OK) && (errno == EACCES || errno == EPERM)) {
    if(stat(path, &sb)) {
      what = dir;
      if(stat(dir, &sb))
        return;
    }
  }
  else if(write && access(path, W_OK) && (errno == EACCES || errno == EPERM || errno == EROFS)) {
    if(errno == EROFS || stat(path, &sb))
      return;
  }
  else if(write && access(dir, W_OK) && (errno == EACCES || errno == EPERM)) {
    what = dir;
    if(stat(dir, &sb))
      return;
  }
  else
    return;
  if(!getpwuid_r(sb.st_uid, &pw, pwbuf, sizeof(pwbuf), &res) && res)
    (void)rs_snprintf(user, sizeof(user), "%s", pw.pw_name);
  else
    (void)rs_snprintf(user, sizeof(user), "%lu", (unsigned long)sb.st_uid);
  res = NULL;
  if(!getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &res) && res)
    (void)rs_snprintf(me, sizeof(me), "%s", pw.pw_name);
  else
    (void)rs_snprintf(me, sizeof(me), "%lu", (unsigned long)geteuid());
  if(sb.st_uid == 0)
    (void)rs_snprintf(as, sizeof(as), "run restockctl as root");
  else
    (void)rs_snprintf(as, sizeof(as), "run restockctl as %s or root, e.g. sudo -u %s restockctl ...",
                      user, user);
  (void)rs_snprintf(buf, size,
                    " (%s is owned by %s, mode %04o, and this runs as %s: for restockd, give it "
                    "to the user it runs as (chown %s %s); %s)",
                    what, user, (unsigned)(sb.st_mode & 07777), me, me, what, as);
}

/* The directory part of path into a new string ("." when there is none). */
static char *dir_of(const char *path)
{
  char *dir = rs_xstrdup(path), *slash = strrchr(dir, '/');
  if(slash) {
    if(slash == dir)
      slash[1] = '\0';
    else
      *slash = '\0';
  }
  else
    rs_strlcpy(dir, ".", strlen(dir) + 1);
  return dir;
}

/*
 * Open the SQLite connection: read-write (never creating), or read-only;
 * immutable (a read-only directory where no writer can be: SQLite may not
 * create the -shm file there) through a file: URI.
 */
static int open_conn(const char *path, bool readonly, bool immutable, sqlite3 **db)
{
  int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_EXRESCODE;
  struct rs_buf uri = {0};
  const char *p;
  int src;
  if(!immutable)
    return sqlite3_open_v2(path, db, flags, NULL);
  rs_buf_puts(&uri, "file:");
  for(p = path; *p; p++) {
    if(*p == '%' || *p == '?' || *p == '#')
      rs_buf_printf(&uri, "%%%02X", (unsigned)(unsigned char)*p);
    else
      rs_buf_append(&uri, p, 1);
  }
  rs_buf_puts(&uri, "?immutable=1");
  src = uri.oom ? SQLITE_NOMEM : sqlite3_open_v2(uri.data, db, flags | SQLITE_OPEN_URI, NULL);
  rs_buf_free(&uri);
  return src;
}

/*
 * Whether the open file is a restock database: application_id "RSTK", or
 * (made before restock stamped it) id 0 with a schema version and restock's
 * meta table. 0, or -1 with *why.
 */
static int is_restock_db(struct store *st, int ver, int *app_id, const char **why)
{
  int n_meta = 0, n_tables = 0;
  *app_id = 0;
  if(pragma_int(st->db, "PRAGMA application_id", app_id) != SQLITE_OK)
    return *why = "cannot read its header", -1;
  if(*app_id == STORE_APP_ID)
    return 0;
  if(*app_id != 0)
    return *why = "another program's SQLite database", -1;
  if(pragma_int(st->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                &n_meta) != SQLITE_OK ||
     pragma_int(st->db, "SELECT count(*) FROM sqlite_master", &n_tables) != SQLITE_OK)
    return *why = "cannot read its schema", -1;
  if(ver >= 1 && n_meta == 1)
    return 0;
  *why = n_tables ? "another program's SQLite database" : "an SQLite database with no schema";
  return -1;
}

/*
 * Set up an open read-write connection: WAL, pragmas, migrations, the
 * application id, the order-id tag. ver is the file's schema version.
 */
static enum rs_err setup_rw(struct store *st, int ver, int app_id, char *err, size_t errlen)
{
  enum rs_err rc;
  char mode[16] = "";
  int src;
  {
    sqlite3_stmt *s = NULL;
    src = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if(src == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
      const unsigned char *m = sqlite3_column_text(s, 0);
      rs_strlcpy(mode, m ? (const char *)m : "", sizeof(mode));
    }
    else if(src == SQLITE_OK)
      src = sqlite3_errcode(st->db);
    sqlite3_finalize(s);
  }
  if(!src)
    src = sqlite3_exec(st->db,
                       "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
                       " PRAGMA cache_size = -" STORE_CACHE_KIB_STR,
                       NULL, NULL, NULL);
  if(src) {
    if(err)
      snprintf(err, errlen, "cannot set up database %s: %s", st->path, sqlite3_errmsg(st->db));
    return map_sqlite(src);
  }
  if(strcmp(mode, "wal")) {
    if(err)
      snprintf(err, errlen, "cannot use WAL mode on database %s (journal mode is \"%s\")",
               st->path, mode);
    return RS_ERR_IO;
  }
  rc = migrate(st, ver);
  if(!rc && app_id != STORE_APP_ID) {
    char sql[48];
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APP_ID);
    src = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    if(src)
      rc = fail_sql(st, src, "stamping the application id");
  }
  if(!rc)
    rc = ensure_tag(st);
  if(rc && err)
    snprintf(err, errlen, "cannot set up database %s: %s", st->path, st->err);
  return rc;
}

/*
 * Make a new database at path, which does not exist: built complete under
 * a temporary name in the same directory, then linked into place (never
 * replacing a file that appeared meanwhile). A crash leaves at most a
 * temporary file, never an empty database at path.
 */
static enum rs_err create_db(const char *path, char *err, size_t errlen)
{
  struct rs_buf tmp = {0};
  struct store *st = NULL;
  enum rs_err rc = RS_OK;
  int fd, src;

  rs_buf_printf(&tmp, "%s.new-XXXXXX", path);
  if(tmp.oom) {
    rs_buf_free(&tmp);
    return RS_ERR_NOMEM;
  }
  fd = mkstemp(tmp.data); /* mode 0600: the database holds request bodies and token hashes */
  if(fd < 0) {
    if(err)
      snprintf(err, errlen, "cannot create database %s: %s", path, strerror(errno));
    rs_buf_free(&tmp);
    return RS_ERR_IO;
  }
  close(fd);
  st = rs_xcalloc(1, sizeof(*st));
  st->data_version = -1;
  st->recent_rows = INT64_MAX;
  st->path = rs_xstrdup(tmp.data);
  src = open_conn(tmp.data, false, false, &st->db);
  if(src) {
    rc = map_sqlite(src);
    if(err)
      snprintf(err, errlen, "cannot create database %s: %s", path,
               st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(src));
  }
  else {
    sqlite3_busy_timeout(st->db, 5000);
    rc = setup_rw(st, 0, 0, err, errlen);
  }
  store_close(st); /* checkpoints and removes the -wal and -shm files */
  if(!rc && link(tmp.data, path) && errno != EEXIST) {
    /* a file system without hard links: rename, unless a file appeared meanwhile */
    int e = errno;
    bool moved = (e == EPERM || e == ENOTSUP || e == EOPNOTSUPP) && access(path, F_OK) &&
                 !rename(tmp.data, path);
    if(!moved) {
      if(err)
        snprintf(err, errlen, "cannot create database %s: %s", path, strerror(e));
      rc = RS_ERR_IO;
    }
  }
  (void)unlink(tmp.data);
  rs_buf_free(&tmp);
  return rc;
}

enum rs_err store_open(const char *path, struct store **out, char *err, size_t errlen)
{
  return store_open_ex(path, STORE_OPEN_CREATE, out, err, errlen);
}

/*
 * Open the database (see store.h). The checks run in an order that leaves
 * a newer, empty, foreign or corrupt file untouched: nothing is written
 * before they pass.
 */
enum rs_err store_open_ex(const char *path, unsigned flags, struct store **out, char *err,
                          size_t errlen)
{
  struct store *st = NULL;
  enum rs_err rc = RS_OK;
  char *dir = NULL;
  struct stat sb;
  bool readonly = (flags & STORE_OPEN_READONLY) != 0, immutable = false;
  int src, ver = 0, app_id = 0;
  unsigned long long limit = 0;
  const char *why = NULL;

  *out = NULL;
  if(err && errlen)
    err[0] = '\0';
  if(!path || !*path) {
    if(err)
      snprintf(err, errlen, "no database path given");
    return RS_ERR_INVALID;
  }
  dir = dir_of(path);
  if(stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
    if(err)
      snprintf(err, errlen, "cannot open database %s: directory %s %s", path, dir,
               errno == ENOENT || !errno ? "does not exist" : strerror(errno));
    if(!stat(dir, &sb) && !S_ISDIR(sb.st_mode) && err)
      snprintf(err, errlen, "cannot open database %s: %s is not a directory", path, dir);
    rc = RS_ERR_IO;
    goto out;
  }
  if(stat(path, &sb) && errno == ENOENT) {
    if(readonly || !(flags & STORE_OPEN_CREATE)) {
      if(err)
        snprintf(err, errlen, "no database at %s (restockd creates it at its first start)", path);
      rc = RS_ERR_NOT_FOUND;
      goto out;
    }
    rc = create_db(path, err, errlen);
    if(rc)
      goto out;
    if(stat(path, &sb)) {
      if(err)
        snprintf(err, errlen, "cannot open database %s: %s", path, strerror(errno));
      rc = RS_ERR_IO;
      goto out;
    }
  }
  else if(stat(path, &sb)) {
    int e = errno;
    char hint[512];
    access_hint(path, dir, false, hint, sizeof(hint));
    if(err)
      snprintf(err, errlen, "cannot open database %s: %s%s", path, strerror(e), hint);
    rc = RS_ERR_IO;
    goto out;
  }
  if(!S_ISREG(sb.st_mode)) {
    if(err)
      snprintf(err, errlen, "cannot open database %s: not a regular file", path);
    rc = RS_ERR_INVALID;
    goto out;
  }
  if(sb.st_size == 0 && !(flags & STORE_OPEN_INIT_EMPTY)) {
    if(err)
      snprintf(err, errlen,
               "database %s is empty (0 bytes), so it is not a restock database; it is not taken "
               "for a new one, which would forget the orders in flight (restore it from a "
               "backup; to start afresh, delete it and restockd creates a new one at its next "
               "start)",
               path);
    rc = RS_ERR_INVALID;
    goto out;
  }

  st = rs_xcalloc(1, sizeof(*st));
  st->data_version = -1;
  st->recent_rows = INT64_MAX;
  st->path = rs_xstrdup(path);
  st->readonly = readonly;
  for(;;) {
    src = open_conn(path, readonly, immutable, &st->db);
    if(!src) {
      sqlite3_busy_timeout(st->db, 5000);
      src = pragma_int(st->db, "PRAGMA user_version", &ver);
    }
    /* read-only in a directory we cannot write: no -shm can be made there, and no writer runs */
    if(readonly && !immutable &&
       ((src & 0xff) == SQLITE_CANTOPEN || (src & 0xff) == SQLITE_READONLY) &&
       access(dir, W_OK)) {
      sqlite3_close(st->db);
      st->db = NULL;
      immutable = true;
      continue;
    }
    break;
  }
  if(src) {
    rc = map_sqlite(src);
    if(rc == RS_OK)
      rc = RS_ERR_DB;
    if(err && (src & 0xff) == SQLITE_IOERR && fsize_limit(&limit))
      /* its -shm (32 KiB) or -wal could not be made: EFBIG, an I/O error to SQLite */
      snprintf(err, errlen,
               "cannot open database %s: I/O error (SQLite code %d); a file size limit of %llu "
               "bytes is set (ulimit -f, systemd's LimitFSIZE=)",
               path, src, limit);
    else if(err) {
      char hint[512];
      access_hint(path, dir, !readonly, hint, sizeof(hint));
      if(!hint[0] && ((src & 0xff) == SQLITE_CORRUPT || (src & 0xff) == SQLITE_NOTADB))
        (void)rs_snprintf(hint, sizeof(hint),
                          " (the file is damaged: stop restockd, keep this file aside and restore "
                          "the last backup, docs/operations.md section 7)");
      snprintf(err, errlen, "cannot read database %s: %s%s", path,
               st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(src), hint);
    }
    goto out;
  }
  if(ver > STORE_SCHEMA_VERSION) {
    rc = RS_ERR_INVALID;
    if(err)
      snprintf(err, errlen,
               "database %s has schema version %d, newer than this restock (%s) supports (%d): "
               "run a newer restock or restore a backup",
               path, ver, RESTOCK_VERSION, STORE_SCHEMA_VERSION);
    goto out;
  }
  if(sb.st_size > 0 && is_restock_db(st, ver, &app_id, &why)) {
    rc = RS_ERR_INVALID;
    if(err)
      snprintf(err, errlen,
               "database %s is not a restock database (%s): it is left untouched; point "
               "storage.path at restock's own file, or move this one away and restockd creates "
               "a new one at its next start",
               path, why);
    goto out;
  }
  if(readonly) {
    if(ver < STORE_SCHEMA_VERSION) {
      rc = RS_ERR_INVALID;
      if(err)
        snprintf(err, errlen,
                 "database %s has schema version %d, older than this restock (%d): restockd "
                 "upgrades it at its next start",
                 path, ver, STORE_SCHEMA_VERSION);
      goto out;
    }
    (void)sqlite3_exec(st->db, "PRAGMA query_only = ON", NULL, NULL, NULL);
  }
  else if((rc = setup_rw(st, ver, app_id, err, errlen)))
    goto out;
  *out = st;
  st = NULL;
out:
  store_close(st);
  free(dir);
  return rc;
}

/* Finalize statements and close the connection (checkpointing the WAL). */
void store_close(struct store *st)
{
  size_t i;
  if(!st)
    return;
  for(i = 0; i < S_COUNT; i++)
    sqlite3_finalize(st->stmt[i]);
  sqlite3_close(st->db);
  free(st->path);
  free(st);
}

int store_schema_version(struct store *st)
{
  int v = -1;
  pragma_int(st->db, "PRAGMA user_version", &v);
  return v;
}

/* Test hook: PRAGMA max_page_count = max_pages. */
enum rs_err store_set_max_pages(struct store *st, int64_t max_pages)
{
  char sql[64];
  int src;
  snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)max_pages);
  src = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
  return src ? fail_sql(st, src, "setting max_page_count") : RS_OK;
}

/* ---- readings --------------------------------------------------------- */

enum rs_err store_put_reading(struct store *st, const char *device, const char *point,
                              int64_t time_ms, double value)
{
  enum rs_err rc;
  int attempt;
  if(!device || !point || !isfinite(value))
    return fail_msg(st, RS_ERR_INVALID, "reading of %s/%s: not a finite value",
                    device ? device : "?", point ? point : "?");
  for(attempt = 0; attempt < 2; attempt++) {
    rc = exec(st, IN_TX, S_READING_PUT, "storing a reading", "ttid", device, point, time_ms, value);
    if(!rc && st->changes > 0 && st->recent_rows < INT64_MAX)
      st->recent_rows++;
    if(rc || st->changes > 0)
      return rc;
    /* first reading of this point: name it, then store again */
    rc = exec(st, IN_TX, S_POINT_ADD, "adding a point", "tt", device, point);
    if(rc)
      return rc;
  }
  return fail_msg(st, RS_ERR_DB, "storing a reading of %s/%s: point not created", device, point);
}

enum rs_err store_last_readings(struct store *st, store_reading_cb cb, void *ud)
{
  sqlite3_stmt *s = bound(st, S_LAST_READINGS, "");
  enum rs_err rc = RS_OK;
  while(next_row(st, s, &rc, "reading the last readings"))
    if(cb(ud, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
          sqlite3_column_int64(s, 2), sqlite3_column_double(s, 3)))
      break;
  done(s);
  return rc;
}

enum rs_err store_last_reading(struct store *st, const char *device, const char *point,
                               int64_t *time_ms, double *value)
{
  sqlite3_stmt *s = bound(st, S_LAST_READING, "tt", device, point);
  enum rs_err rc = one_row(st, s, "reading the last reading", "no reading of %s/%s", device, point);
  if(!rc) {
    *time_ms = sqlite3_column_int64(s, 0);
    *value = sqlite3_column_double(s, 1);
  }
  done(s);
  return rc;
}

enum rs_err store_readings_range(struct store *st, const char *device, const char *point,
                                 int64_t from_ms, int64_t to_ms, store_reading_cb cb, void *ud)
{
  sqlite3_stmt *s = fresh(st, S_READINGS_RANGE, "ttii", device, point, from_ms, to_ms);
  enum rs_err rc = RS_OK;
  bool held = false;
  int64_t held_t = 0;
  double held_v = 0;
  /* rows of one time come together, the one that counts last: hold each row
     until the next one shows a different time */
  while(next_row(st, s, &rc, "reading readings")) {
    int64_t t = sqlite3_column_int64(s, 0);
    if(held && t != held_t && cb(ud, device, point, held_t, held_v)) {
      held = false;
      break;
    }
    held = true;
    held_t = t;
    held_v = sqlite3_column_double(s, 1);
  }
  if(!rc && held)
    (void)cb(ud, device, point, held_t, held_v);
  sqlite3_finalize(s);
  return rc;
}

/*
 * Move readings_recent into readings in one transaction (not fsynced: the
 * rows are in one table or the other whatever happens). *moved (may be
 * NULL) gets the count.
 */
enum rs_err store_merge_readings(struct store *st, int64_t *moved)
{
  enum rs_err rc;
  int64_t n = 0;
  if(moved)
    *moved = 0;
  rc = store_begin_batch(st);
  if(rc)
    return rc;
  rc = run_id(st, S_MERGE_COPY, "merging the recent readings");
  n = st->changes;
  if(!rc)
    rc = run_id(st, S_MERGE_CLEAR, "clearing the recent readings");
  if(rc) {
    (void)store_rollback(st);
    return rc;
  }
  rc = store_commit(st);
  if(!rc)
    st->recent_rows = 0;
  if(!rc && moved)
    *moved = n;
  return rc;
}

enum rs_err store_merge_readings_over(struct store *st, int64_t max_rows)
{
  if(st->readonly || st->depth || st->recent_rows <= max_rows)
    return RS_OK;
  return store_merge_readings(st, NULL);
}

enum rs_err store_thin_readings(struct store *st, int64_t cutoff_ms, int64_t bucket_ms,
                                int64_t *deleted)
{
  enum rs_err rc;
  if(deleted)
    *deleted = 0;
  if(bucket_ms <= 0 || cutoff_ms < 0)
    return fail_msg(st, RS_ERR_INVALID, "thinning readings: bucket must be > 0, cutoff >= 0");
  rc = store_merge_readings(st, NULL);
  if(!rc)
    rc = exec(st, IN_TX, S_THIN, "thinning readings", "ii", cutoff_ms, bucket_ms);
  if(!rc && deleted)
    *deleted = st->changes;
  return rc;
}

/* ---- consumables ------------------------------------------------------ */

void store_consumable_free(struct store_consumable *c)
{
  free_strs(c, STRS(cons_strs));
}

static const char *const hold_names[] = {"none", "rejected", "expired", "manual"};

const char *store_hold_name(enum store_hold h)
{
  return (unsigned)h < RS_ARRAY_LEN(hold_names) ? hold_names[h] : "?";
}

static enum store_hold hold_kind_parse(const char *s)
{
  size_t i;
  for(i = 1; s && i < RS_ARRAY_LEN(hold_names); i++)
    if(!strcmp(s, hold_names[i]))
      return (enum store_hold)i;
  return STORE_HOLD_NONE;
}

enum rs_err store_get_consumable_state(struct store *st, const char *id,
                                       struct store_consumable *out)
{
  sqlite3_stmt *s = bound(st, S_CONS_GET, "t", id);
  enum rs_err rc = one_row(st, s, "reading consumable state", "no state for consumable %s", id);
  memset(out, 0, sizeof(*out));
  if(!rc) {
    out->id = rs_xstrdup(id);
    out->spares = sqlite3_column_int64(s, 0);
    out->installed_at_ms = sqlite3_column_int64(s, 1);
    out->last_replacement_ms = sqlite3_column_int64(s, 2);
    out->has_counter = sqlite3_column_type(s, 3) != SQLITE_NULL;
    out->counter_at_replacement = sqlite3_column_double(s, 3);
    out->predictor_json = col_dup(s, 4);
    out->updated_ms = sqlite3_column_int64(s, 5);
    out->hold = hold_kind_parse((const char *)sqlite3_column_text(s, 6));
    out->held_since_ms = sqlite3_column_int64(s, 7);
    out->held_until_ms =
        sqlite3_column_type(s, 8) == SQLITE_NULL ? INT64_MAX : sqlite3_column_int64(s, 8);
    out->hold_reason = col_dup(s, 9);
    out->redraft_ms = sqlite3_column_int64(s, 10);
    out->shelf_since_ms = sqlite3_column_int64(s, 11);
    out->unknown_fit_ms = sqlite3_column_int64(s, 12);
    if(out->hold == STORE_HOLD_NONE)
      out->held_until_ms = 0;
  }
  done(s);
  return rc;
}

enum rs_err store_put_consumable_state(struct store *st, const struct store_consumable *c)
{
  sqlite3_stmt *s;
  if(!c->id || c->spares < 0)
    return fail_msg(st, RS_ERR_INVALID, "consumable state needs an id and spares >= 0");
  st->spares_gen++;
  s = bound(st, S_CONS_PUT, "timmdti", c->id, c->spares, c->installed_at_ms, c->last_replacement_ms,
            c->counter_at_replacement, c->predictor_json, c->updated_ms);
  if(!s)
    return RS_ERR_DB;
  if(!c->has_counter)
    sqlite3_bind_null(s, 5);
  return run(st, s, "storing consumable state");
}

uint64_t store_spares_generation(const struct store *st)
{
  return st->spares_gen;
}

enum rs_err store_add_spares(struct store *st, const char *id, int64_t delta, int64_t now_ms,
                             int64_t *spares_out)
{
  sqlite3_stmt *s;
  enum rs_err rc = tx_begin(st, true);
  if(rc)
    return rc;
  st->spares_gen++;
  rc = exec(st, IN_TX, S_CONS_SPARES, "changing spares", "tii", id, delta, now_ms);
  if(!rc && spares_out) {
    s = bound(st, S_CONS_SPARES_GET, "t", id);
    if(next_row(st, s, &rc, "reading spares"))
      *spares_out = sqlite3_column_int64(s, 0);
    done(s);
  }
  return tx_end(st, rc);
}

enum rs_err store_record_replacement(struct store *st, const char *id, int64_t time_ms,
                                     double level_before, double level_after,
                                     int64_t *replacement_id)
{
  enum rs_err rc = tx_begin(st, true);
  if(rc)
    return rc;
  rc = exec(st, IN_TX, S_REPL_ADD, "recording a replacement", "tidd", id, time_ms, level_before,
            level_after);
  if(!rc) {
    if(replacement_id)
      *replacement_id = sqlite3_last_insert_rowid(st->db);
    st->spares_gen++;
    rc = exec(st, IN_TX, S_REPL_STATE, "updating consumable state after a replacement", "tid", id,
              time_ms, level_after);
  }
  return tx_end(st, rc);
}

enum rs_err store_list_replacements(struct store *st, const char *id, store_replacement_cb cb,
                                    void *ud)
{
  sqlite3_stmt *s = fresh(st, S_REPL_LIST, "t", id);
  enum rs_err rc = RS_OK;
  while(next_row(st, s, &rc, "reading replacements"))
    if(cb(ud, sqlite3_column_int64(s, 0), sqlite3_column_double(s, 1), sqlite3_column_double(s, 2)))
      break;
  sqlite3_finalize(s);
  return rc;
}

/* ---- names of states -------------------------------------------------- */

static const char *const line_state_names[] = {"open", "delivered", "ended"};

const char *store_line_state_name(enum store_line_state s)
{
  if((unsigned)s >= RS_ARRAY_LEN(line_state_names))
    return "?";
  return line_state_names[s];
}

static enum store_line_state line_state_parse(const char *name)
{
  size_t i;
  for(i = 0; name && i < RS_ARRAY_LEN(line_state_names); i++) {
    if(!strcmp(name, line_state_names[i]))
      return (enum store_line_state)i;
  }
  return STORE_LINE_OPEN;
}

static const char *const order_state_names[STORE_ORDER_STATE_COUNT] = {
    "draft",     "pending_approval", "approved", "submitted", "shipped",
    "delivered", "rejected",         "expired",  "failed",    "cancelled",
};

const char *store_order_state_name(enum store_order_state s)
{
  if((unsigned)s >= STORE_ORDER_STATE_COUNT)
    return "?";
  return order_state_names[s];
}

int store_order_state_parse(const char *name, enum store_order_state *out)
{
  int i;
  if(!name)
    return -1;
  for(i = 0; i < STORE_ORDER_STATE_COUNT; i++) {
    if(!strcmp(name, order_state_names[i])) {
      *out = (enum store_order_state)i;
      return 0;
    }
  }
  return -1;
}

bool store_order_state_final(enum store_order_state s)
{
  return s >= STORE_ORDER_DELIVERED && s <= STORE_ORDER_CANCELLED;
}

/* ---- order lines ------------------------------------------------------ */

void store_order_line_free(struct store_order_line *l)
{
  free_strs(l, STRS(line_strs));
}

int store_lines_collect(void *rows, const struct store_order_line *l)
{
  return collect(rows, l, &line_rows);
}

/* After the columns read_row() reads: the line's state. */
static void line_rest(sqlite3_stmt *s, int col, void *row)
{
  struct store_order_line *l = row;
  l->state = line_state_parse((const char *)sqlite3_column_text(s, col));
}

static int give_line(const struct sink *k, const void *row)
{
  return k->cb.line(k->ud, row);
}

static bool currency_ok(const char *c)
{
  return c && strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' &&
         c[2] >= 'A' && c[2] <= 'Z';
}

enum rs_err store_add_order_line(struct store *st, const struct store_order_line *l,
                                 int64_t *id_out)
{
  enum rs_err rc;
  if(!l->consumable || !l->sku || l->quantity <= 0 || l->unit_price < 0 ||
     !currency_ok(l->currency))
    return fail_msg(st, RS_ERR_INVALID,
                    "order line needs a consumable, a sku, quantity > 0, unit price >= 0 and "
                    "a currency code");
  rc = exec(st, OWN_TX, S_LINE_ADD, "adding an order line", "ttiitttmi", l->consumable, l->sku,
            l->quantity, l->unit_price, l->currency, l->rule, l->figures_json, l->need_by_ms,
            l->created_ms);
  if(!rc && id_out)
    *id_out = sqlite3_last_insert_rowid(st->db);
  else if(rc && st->xerr == SQLITE_CONSTRAINT_UNIQUE)
    rc = fail_msg(st, RS_ERR_CONFLICT, "consumable %s already has an open order line",
                  l->consumable);
  return rc;
}

enum rs_err store_attach_line(struct store *st, int64_t line_id, const char *order_id)
{
  enum rs_err rc =
      exec(st, OWN_TX, S_LINE_ATTACH, "attaching an order line", "it", line_id, order_id);
  if(rc && st->xerr == SQLITE_CONSTRAINT_FOREIGNKEY)
    rc = fail_msg(st, RS_ERR_NOT_FOUND, "no order %s", order_id ? order_id : "(null)");
  else if(!rc && !st->changes)
    rc = fail_msg(st, RS_ERR_NOT_FOUND, "no order line %lld", (long long)line_id);
  return rc;
}

enum rs_err store_has_open_line(struct store *st, const char *consumable, bool *open,
                                int64_t *line_id)
{
  sqlite3_stmt *s = bound(st, S_LINE_OPEN_FOR, "t", consumable);
  enum rs_err rc = RS_OK;
  *open = next_row(st, s, &rc, "looking up open lines");
  if(line_id)
    *line_id = *open ? sqlite3_column_int64(s, 0) : 0;
  done(s);
  return rc;
}

/* Run a LINE_COLS query (from fresh(), finalized here) through cb. */
static enum rs_err each_line(struct store *st, sqlite3_stmt *s, store_line_cb cb, void *ud)
{
  struct sink k = {give_line, {.line = cb}, ud};
  enum rs_err rc = each_row(st, s, &line_rows, &k, "reading order lines");
  sqlite3_finalize(s);
  return rc;
}

enum rs_err store_list_open_lines(struct store *st, store_line_cb cb, void *ud)
{
  return each_line(st, fresh(st, S_LINES_OPEN, ""), cb, ud);
}

/* ---- orders ----------------------------------------------------------- */

/* Free o's members, not o. */
static void store_order_free(struct store_order *o)
{
  free_strs(o, STRS(order_strs));
}

int store_orders_collect(void *rows, const struct store_order *o)
{
  return collect(rows, o, &order_rows);
}

void store_order_full_free(struct store_order_full *o)
{
  size_t i;
  if(!o)
    return;
  store_order_free(&o->order);
  for(i = 0; i < o->n_lines; i++)
    store_order_line_free(&o->lines[i]);
  free(o->lines);
  for(i = 0; i < o->n_transitions; i++) {
    free(o->transitions[i].actor);
    free(o->transitions[i].cause);
  }
  free(o->transitions);
  free(o);
}

/* After the columns read_row() reads: the order's state. */
static void order_rest(sqlite3_stmt *s, int col, void *row)
{
  struct store_order *o = row;
  if(store_order_state_parse((const char *)sqlite3_column_text(s, col), &o->state))
    o->state = STORE_ORDER_FAILED; /* cannot happen: the CHECK constraint */
}

static int give_order(const struct sink *k, const void *row)
{
  return k->cb.order(k->ud, row);
}

/* Insert a transition row. from may be NULL (creation). */
static enum rs_err add_transition(struct store *st, const char *id, const char *from,
                                  const char *to, const char *actor, const char *cause,
                                  int64_t now_ms)
{
  return exec(st, IN_TX, S_TRANS_ADD, "recording a transition", "titttt", id, now_ms, from, to,
              actor, cause);
}

enum rs_err store_create_order(struct store *st, const char *supplier, const char *currency,
                               int64_t total, int64_t now_ms, const char *actor, const char *cause,
                               char *id_out, size_t id_size)
{
  char id[STORE_ORDER_ID_MAX + 1], prefix[48];
  struct tm tm;
  time_t secs = (time_t)(now_ms / 1000);
  sqlite3_stmt *s;
  enum rs_err rc;
  int64_t seq = 0;
  int tries;

  if(id_out && id_size)
    id_out[0] = '\0';
  if(!supplier || !*supplier || !currency_ok(currency) || total < 0 || !actor || !cause ||
     !id_out || id_size < STORE_ORDER_ID_MAX + 1)
    return fail_msg(st, RS_ERR_INVALID,
                    "an order needs a supplier, a currency code, total >= 0, an actor, a cause "
                    "and an id buffer of %d bytes",
                    STORE_ORDER_ID_MAX + 1);
  if(!gmtime_r(&secs, &tm))
    return fail_msg(st, RS_ERR_INVALID, "order creation time out of range");
  if(tm.tm_year + 1900 < 1000 || tm.tm_year + 1900 > 9999)
    return fail_msg(st, RS_ERR_INVALID, "order creation time out of range");
  snprintf(prefix, sizeof(prefix), "R-%04d%02d%02d-", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  rc = tx_begin(st, true);
  if(rc)
    return rc;
  s = bound(st, S_ORDER_COUNT_DAY, "t", prefix);
  if(next_row(st, s, &rc, "counting orders"))
    seq = sqlite3_column_int64(s, 0);
  done(s);
  /* count + 1 is free unless the clock went back; then step over used ids */
  for(tries = 0; !rc && tries < 1000; tries++) {
    char tag[8];
    seq++;
    rc = order_tag(st, tag);
    if(!rc && rs_snprintf(id, sizeof(id), "%s%04lld-%s", prefix, (long long)seq, tag))
      rc = fail_msg(st, RS_ERR_INVALID, "order id too long");
    if(!rc)
      rc = exec(st, IN_TX, S_ORDER_ADD, "creating an order", "tttii", id, supplier, currency, total,
                now_ms);
    if(rc && st->xerr == SQLITE_CONSTRAINT_PRIMARYKEY)
      rc = RS_OK; /* taken: try the next number */
    else
      break;
  }
  if(!rc && tries == 1000)
    rc = fail_msg(st, RS_ERR_DB, "creating an order: no free id for %s", prefix);
  if(!rc)
    rc = add_transition(st, id, NULL, "draft", actor, cause, now_ms);
  if(!rc)
    rs_strlcpy(id_out, id, id_size);
  rc = tx_end(st, rc);
  if(rc && id_out && id_size)
    id_out[0] = '\0';
  return rc;
}

/* Read the state of order id into *state: RS_ERR_NOT_FOUND if there is none. */
static enum rs_err order_state(struct store *st, const char *id, enum store_order_state *state)
{
  sqlite3_stmt *s = bound(st, S_ORDER_STATE, "t", id);
  enum rs_err rc = one_row(st, s, "reading an order's state", "no order %s", id);
  if(!rc && store_order_state_parse((const char *)sqlite3_column_text(s, 0), state))
    rc = fail_msg(st, RS_ERR_DB, "order %s has an unknown state", id);
  done(s);
  return rc;
}

enum rs_err store_transition_order(struct store *st, const char *id, enum store_order_state from,
                                   enum store_order_state to, const char *actor, const char *cause,
                                   int64_t now_ms)
{
  enum store_order_state cur = STORE_ORDER_DRAFT;
  enum rs_err rc;
  if(!id || !actor || !cause || (unsigned)from >= STORE_ORDER_STATE_COUNT ||
     (unsigned)to >= STORE_ORDER_STATE_COUNT)
    return fail_msg(st, RS_ERR_INVALID, "a transition needs an order id, states, actor, cause");
  rc = tx_begin(st, true);
  if(rc)
    return rc;
  rc = order_state(st, id, &cur);
  if(!rc && cur != from)
    rc = fail_msg(st, RS_ERR_CONFLICT, "order %s is %s, not %s: not moved to %s", id,
                  store_order_state_name(cur), store_order_state_name(from),
                  store_order_state_name(to));
  if(!rc)
    rc = exec(st, IN_TX, S_ORDER_SET_STATE, "changing an order's state", "tti", id,
              store_order_state_name(to), now_ms);
  if(!rc)
    rc = add_transition(st, id, store_order_state_name(from), store_order_state_name(to), actor,
                        cause, now_ms);
  if(!rc && store_order_state_final(to))
    rc = exec(st, IN_TX, S_LINES_END, "ending an order's lines", "tt", id,
              to == STORE_ORDER_DELIVERED ? "delivered" : "ended");
  return tx_end(st, rc);
}

enum rs_err store_set_order_total(struct store *st, const char *id, int64_t total, int64_t now_ms)
{
  if(total < 0)
    return fail_msg(st, RS_ERR_INVALID, "order total must be >= 0");
  return found(
      st, exec(st, OWN_TX, S_ORDER_SET_TOTAL, "setting an order's total", "tii", id, total, now_ms),
      "no order", id);
}

enum rs_err store_set_order_body(struct store *st, const char *id, const char *body, int64_t now_ms)
{
  sqlite3_stmt *s;
  enum rs_err rc;
  bool same = false, have = false;
  if(!body)
    return fail_msg(st, RS_ERR_INVALID, "no request body");
  rc = tx_begin(st, true);
  if(rc)
    return rc;
  s = bound(st, S_ORDER_BODY_GET, "t", id);
  rc = one_row(st, s, "reading an order's body", "no order %s", id);
  if(!rc) {
    const unsigned char *b = sqlite3_column_text(s, 0);
    have = b != NULL;
    same = b && !strcmp((const char *)b, body);
  }
  done(s);
  if(!rc && have && !same)
    rc = fail_msg(st, RS_ERR_CONFLICT, "order %s already has another request body", id);
  else if(!rc && !same)
    rc = found(
        st, exec(st, OWN_TX, S_ORDER_SET_BODY, "storing an order's body", "tti", id, body, now_ms),
        "no order", id);
  return tx_end(st, rc);
}

enum rs_err store_note_attempt(struct store *st, const char *id, int64_t next_attempt_ms,
                               const char *last_error, int64_t now_ms)
{
  return found(st,
               exec(st, OWN_TX, S_ORDER_ATTEMPT, "noting a submission attempt", "tmti", id,
                    next_attempt_ms, last_error, now_ms),
               "no order", id);
}

enum rs_err store_set_next_attempt(struct store *st, const char *id, int64_t next_attempt_ms,
                                   int64_t now_ms)
{
  return found(st,
               exec(st, OWN_TX, S_ORDER_NEXT_ATTEMPT, "moving an order's next attempt", "tmi", id,
                    next_attempt_ms, now_ms),
               "no order", id);
}

enum rs_err store_set_order_shop_id(struct store *st, const char *id, const char *shop_id,
                                    int64_t now_ms)
{
  sqlite3_stmt *s;
  enum rs_err rc = tx_begin(st, true);
  if(rc)
    return rc;
  s = bound(st, S_ORDER_SHOP_ID_OTHER, "tt", id, shop_id);
  rc = one_row(st, s, "looking up a shop order id", "no other order");
  if(!rc)
    rc = fail_msg(st, RS_ERR_CONFLICT, "the shop's order id %s is already order %s's", shop_id,
                  (const char *)sqlite3_column_text(s, 0));
  else if(rc == RS_ERR_NOT_FOUND)
    rc = RS_OK;
  done(s);
  if(!rc)
    rc = found(st,
               exec(st, OWN_TX, S_ORDER_SHOP_ID, "storing the shop's order id", "tti", id,
                    shop_id, now_ms),
               "no order", id);
  return tx_end(st, rc);
}

enum rs_err store_get_order(struct store *st, const char *id, struct store_order_full **out)
{
  struct store_order_full *o = NULL;
  struct store_rows lines = {0};
  sqlite3_stmt *s;
  enum rs_err rc;

  *out = NULL;
  /* one read transaction, so order, lines and transitions agree */
  rc = tx_begin_read(st);
  if(rc)
    return rc;
  s = bound(st, S_ORDER_GET, "t", id);
  rc = one_row(st, s, "reading an order", "no order %s", id);
  if(!rc) {
    o = rs_xcalloc(1, sizeof(*o));
    read_row(s, &o->order, &order_rows);
  }
  done(s);
  if(!rc)
    rc = each_line(st, fresh(st, S_LINES_OF_ORDER, "t", id), store_lines_collect, &lines);
  if(o) {
    o->lines = lines.v.lines;
    o->n_lines = lines.n;
  }
  s = rc ? NULL : bound(st, S_TRANS_OF_ORDER, "t", id);
  while(s && next_row(st, s, &rc, "reading transitions")) {
    struct store_transition *t;
    o->transitions = rs_xrealloc(o->transitions, (o->n_transitions + 1) * sizeof(*o->transitions));
    t = &o->transitions[o->n_transitions++];
    memset(t, 0, sizeof(*t));
    t->time_ms = sqlite3_column_int64(s, 0);
    t->has_from = !store_order_state_parse((const char *)sqlite3_column_text(s, 1), &t->from);
    if(store_order_state_parse((const char *)sqlite3_column_text(s, 2), &t->to))
      t->to = STORE_ORDER_DRAFT;
    t->actor = col_dup(s, 3);
    t->cause = col_dup(s, 4);
  }
  done(s);
  rc = tx_end(st, rc);
  if(rc)
    store_order_full_free(o);
  else
    *out = o;
  return rc;
}

enum rs_err store_list_orders(struct store *st, bool only_state, enum store_order_state state,
                              size_t limit, store_order_cb cb, void *ud)
{
  struct sink k = {give_order, {.order = cb}, ud};
  sqlite3_stmt *s =
      fresh(st, S_ORDER_LIST, "ti", only_state ? store_order_state_name(state) : NULL, lim(limit));
  enum rs_err rc = each_row(st, s, &order_rows, &k, "listing orders");
  sqlite3_finalize(s);
  return rc;
}

struct ids_ctx {
  struct store_order_ids *out;
  enum store_ids_filter filter;
};

static int collect_order_id(void *ud, const struct store_order *o)
{
  struct ids_ctx *c = ud;
  struct store_order_ids *l = c->out;
  if(c->filter == STORE_IDS_OPEN && store_order_state_final(o->state))
    return 0;
  if(l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->ids = rs_xrealloc(l->ids, l->cap * sizeof(*l->ids));
  }
  (void)rs_strlcpy(l->ids[l->n++], o->id, sizeof(l->ids[0]));
  return 0;
}

enum rs_err store_list_order_ids(struct store *st, enum store_ids_filter filter, size_t limit,
                                 struct store_order_ids *out)
{
  struct ids_ctx c = {out, filter};
  return store_list_orders(st, filter == STORE_IDS_PENDING || filter == STORE_IDS_EXPIRED,
                           filter == STORE_IDS_EXPIRED ? STORE_ORDER_EXPIRED
                                                       : STORE_ORDER_PENDING_APPROVAL,
                           limit, collect_order_id, &c);
}

/* ---- approvals -------------------------------------------------------- */

enum rs_err store_add_approval(struct store *st, const char *order_id, const char *approver,
                               const char *token_hash, int64_t expires_ms, int64_t now_ms)
{
  enum rs_err rc;
  if(!order_id || !approver || !token_hash)
    return fail_msg(st, RS_ERR_INVALID, "an approval needs an order, approver and token hash");
  rc = exec(st, OWN_TX, S_APPR_ADD, "recording an approval link", "tttii", order_id, approver,
            token_hash, now_ms, expires_ms);
  if(rc && st->xerr == SQLITE_CONSTRAINT_FOREIGNKEY)
    rc = fail_msg(st, RS_ERR_NOT_FOUND, "no order %s", order_id);
  else if(rc && st->xerr == SQLITE_CONSTRAINT_UNIQUE)
    rc = fail_msg(st, RS_ERR_CONFLICT, "this approval token is already recorded");
  return rc;
}

enum rs_err store_use_approval(struct store *st, const char *token_hash, const char *decided_by,
                               const char *decision, const char *source, const char *user_agent,
                               int64_t now_ms, char *order_id_out, size_t order_id_size)
{
  char order_id[STORE_ORDER_ID_MAX + 1] = "";
  sqlite3_stmt *s;
  enum rs_err rc;
  bool used = false;
  int64_t expires = 0;

  if(order_id_out && order_id_size)
    order_id_out[0] = '\0';
  if(!token_hash || !decided_by || !decision ||
     (strcmp(decision, "approve") && strcmp(decision, "reject")))
    return fail_msg(st, RS_ERR_INVALID,
                    "using an approval needs a token hash, who decided, and approve/reject");
  rc = tx_begin(st, true);
  if(rc)
    return rc;
  s = bound(st, S_APPR_GET, "t", token_hash);
  rc = one_row(st, s, "reading an approval", "unknown approval link");
  if(!rc) {
    col_copy(s, 0, order_id, sizeof(order_id));
    expires = sqlite3_column_int64(s, 1);
    used = sqlite3_column_type(s, 2) != SQLITE_NULL;
  }
  done(s);
  if(!rc && order_id_out)
    rs_strlcpy(order_id_out, order_id, order_id_size);
  if(!rc && now_ms >= expires && !used)
    rc = fail_msg(st, RS_ERR_TIMEOUT, "the approval link for order %s has expired", order_id);
  if(!rc && !used)
    rc = exec(st, IN_TX, S_APPR_USE, "using an approval", "titttt", token_hash, now_ms, decided_by,
              decision, source, user_agent);
  if(!rc && (used || st->changes != 1))
    rc = fail_msg(st, RS_ERR_CONFLICT, "the approval link for order %s was already used", order_id);
  return tx_end(st, rc);
}

/* ---- audit and meta --------------------------------------------------- */

enum rs_err store_audit(struct store *st, int64_t time_ms, const char *actor, const char *action,
                        const char *detail)
{
  return store_audit_subject(st, time_ms, actor, action, NULL, detail);
}

enum rs_err store_audit_subject(struct store *st, int64_t time_ms, const char *actor,
                                const char *action, const char *subject, const char *detail)
{
  if(!actor || !action)
    return fail_msg(st, RS_ERR_INVALID, "an audit entry needs an actor and an action");
  return exec(st, OWN_TX, S_AUDIT_ADD, "writing an audit entry", "itttt", time_ms, actor, action,
              detail, subject);
}

enum rs_err store_meta_get(struct store *st, const char *key, char **value)
{
  sqlite3_stmt *s = bound(st, S_META_GET, "t", key);
  enum rs_err rc = one_row(st, s, "reading a meta value", "no meta value %s", key);
  *value = rc ? NULL : col_dup(s, 0);
  done(s);
  return rc;
}

enum rs_err store_meta_set(struct store *st, const char *key, const char *value)
{
  if(!key || !value)
    return fail_msg(st, RS_ERR_INVALID, "a meta entry needs a key and a value");
  st->spares_gen++;
  return exec(st, OWN_TX, S_META_SET, "writing a meta value", "tt", key, value);
}

enum rs_err store_meta_delete(struct store *st, const char *key)
{
  st->spares_gen++;
  return exec(st, OWN_TX, S_META_DEL, "removing a meta value", "t", key);
}

/* ---- approvals: reading (gateway/approve.c) ---------------------------- */


void store_approval_free(struct store_approval *a)
{
  free_strs(a, STRS(appr_strs));
}

static int give_approval(const struct sink *k, const void *row)
{
  return k->cb.approval(k->ud, row);
}

enum rs_err store_list_approvals(struct store *st, const char *order_id, store_approval_cb cb,
                                 void *ud)
{
  struct sink k = {give_approval, {.approval = cb}, ud};
  sqlite3_stmt *s = bound(st, S_APPR_LIST, "t", order_id);
  enum rs_err rc = each_row(st, s, &appr_rows, &k, "listing approvals");
  done(s);
  return rc;
}

enum rs_err store_get_approval(struct store *st, const char *token_hash,
                               struct store_approval *out)
{
  sqlite3_stmt *s = bound(st, S_APPR_BY_HASH, "t", token_hash);
  enum rs_err rc = one_row(st, s, "reading an approval", "unknown approval link");
  memset(out, 0, sizeof(*out));
  if(!rc)
    read_row(s, out, &appr_rows);
  done(s);
  return rc;
}

/* ---- mail outbox (gateway/approve.c) ----------------------------------- */


void store_mail_free(struct store_mail *m)
{
  free_strs(m, STRS(mail_strs));
}

int store_mails_collect(void *rows, const struct store_mail *m)
{
  return collect(rows, m, &mail_rows);
}

enum rs_err store_mail_queue(struct store *st, const char *kind, const char *ref,
                             const char *order_id, const char *recipient, const char *message,
                             int64_t now_ms, int64_t *id_out)
{
  enum rs_err rc;
  if(id_out)
    *id_out = 0;
  if(!kind || !ref || !recipient || !message)
    return fail_msg(st, RS_ERR_INVALID, "a mail needs a kind, a reference, a recipient and a text");
  rc = exec(st, OWN_TX, S_MAIL_QUEUE, "queueing a mail", "ttttti", kind, ref, order_id, recipient,
            message, now_ms);
  if(!rc && id_out)
    *id_out = sqlite3_last_insert_rowid(st->db);
  else if(rc && st->xerr == SQLITE_CONSTRAINT_UNIQUE)
    rc = fail_msg(st, RS_ERR_CONFLICT, "a %s mail for %s is already queued", kind, ref);
  else if(rc && st->xerr == SQLITE_CONSTRAINT_FOREIGNKEY)
    rc = fail_msg(st, RS_ERR_NOT_FOUND, "no order %s", order_id);
  return rc;
}

enum rs_err store_mail_exists(struct store *st, const char *kind, const char *ref, bool *exists)
{
  sqlite3_stmt *s = bound(st, S_MAIL_EXISTS, "tt", kind, ref);
  enum rs_err rc = RS_OK;
  *exists = next_row(st, s, &rc, "looking up a mail");
  done(s);
  return rc;
}

static int give_mail(const struct sink *k, const void *row)
{
  return k->cb.mail(k->ud, row);
}

enum rs_err store_mail_list(struct store *st, bool only_due, int64_t now_ms, size_t limit,
                            store_mail_cb cb, void *ud)
{
  struct sink k = {give_mail, {.mail = cb}, ud};
  sqlite3_stmt *s = bound(st, only_due ? S_MAIL_DUE : S_MAIL_ALL, "ii", now_ms, lim(limit));
  enum rs_err rc = each_row(st, s, &mail_rows, &k, "listing the mail outbox");
  done(s);
  return rc;
}

/* Run one UPDATE of the outbox row id; RS_ERR_NOT_FOUND when no row changed. */
static enum rs_err mail_update(struct store *st, enum sid sql, int64_t id, int64_t a,
                               const char *text, const char *what)
{
  enum rs_err rc = exec(st, OWN_TX, sql, what, "iit", id, a, text);
  if(!rc && st->changes != 1)
    rc = fail_msg(st, RS_ERR_NOT_FOUND, "no unsent mail %lld in the outbox", (long long)id);
  return rc;
}

enum rs_err store_mail_sent(struct store *st, int64_t id, int64_t now_ms)
{
  return mail_update(st, S_MAIL_SENT, id, now_ms, NULL, "marking a mail sent");
}

enum rs_err store_mail_failed(struct store *st, int64_t id, int64_t next_attempt_ms,
                              const char *error, int64_t now_ms)
{
  (void)now_ms;
  return mail_update(st, S_MAIL_FAILED, id, next_attempt_ms, error, "noting a failed mail");
}

/* ---- stock-take, holds, early receipts -------------------------------- */

/*
 * One write (sql bound by spec; its first letter 't', the consumable id) on
 * the consumable row of that id, durable. RS_ERR_NOT_FOUND when no row
 * changed. Bumps the spares generation (cached rows are re-read).
 */
static enum rs_err cons_write(struct store *st, enum sid sql, const char *what, const char *spec,
                              ...)
{
  va_list ap;
  const char *id;
  enum rs_err rc;
  va_start(ap, spec);
  id = va_arg(ap, const char *);
  va_end(ap);
  if(!id)
    return fail_msg(st, RS_ERR_INVALID, "%s: no consumable id", what);
  st->spares_gen++;
  va_start(ap, spec);
  rc = vexec(st, OWN_TX, sql, what, spec, ap);
  va_end(ap);
  return found(st, rc, "no state for consumable", id);
}

enum rs_err store_ensure_consumable(struct store *st, const char *id, int64_t spares_if_new,
                                    int64_t now_ms)
{
  enum rs_err rc = cons_write(st, S_CONS_ENSURE, "creating a consumable's state", "tii", id,
                              spares_if_new < 0 ? 0 : spares_if_new, now_ms);
  return rc == RS_ERR_NOT_FOUND ? RS_OK : rc;
}

enum rs_err store_set_spares(struct store *st, const char *id, int64_t n, int64_t now_ms)
{
  if(n < 0)
    return fail_msg(st, RS_ERR_INVALID, "spares must be 0 or more (got %lld)", (long long)n);
  return cons_write(st, S_CONS_SET_SPARES, "setting spares", "tii", id, n, now_ms);
}

enum rs_err store_set_hold(struct store *st, const char *id, enum store_hold kind,
                           int64_t until_ms, const char *reason, int64_t now_ms)
{
  if((unsigned)kind >= RS_ARRAY_LEN(hold_names))
    return fail_msg(st, RS_ERR_INVALID, "no such hold kind");
  if(kind == STORE_HOLD_NONE)
    return cons_write(st, S_CONS_RELEASE, "releasing a consumable", "ti", id, now_ms);
  return cons_write(st, S_CONS_HOLD, "holding a consumable", "tiitt", id, now_ms, until_ms,
                    hold_names[kind], reason);
}

enum rs_err store_note_redraft(struct store *st, const char *id, int64_t now_ms)
{
  return cons_write(st, S_CONS_REDRAFT, "noting a redraft", "ti", id, now_ms);
}

/* Set (at_ms > 0) or clear (0) the unknown_part_fitted mark of id. */
static enum rs_err store_set_unknown_fit(struct store *st, const char *id, int64_t at_ms)
{
  return cons_write(st, S_CONS_UNKNOWN_FIT, "marking an unknown part", "ti", id, at_ms);
}

enum rs_err store_get_open_line(struct store *st, const char *consumable,
                                struct store_order_line *out)
{
  sqlite3_stmt *s = bound(st, S_LINE_OPEN_GET, "t", consumable);
  enum rs_err rc =
      one_row(st, s, "reading an open line", "consumable %s has no open line", consumable);
  memset(out, 0, sizeof(*out));
  if(!rc)
    read_row(s, out, &line_rows);
  done(s);
  return rc;
}

/* Count units more of line_id as received before its delivery (received += units). */
static enum rs_err store_line_receive(struct store *st, int64_t line_id, int64_t units)
{
  enum rs_err rc;
  if(units <= 0)
    return fail_msg(st, RS_ERR_INVALID, "received units must be positive");
  rc = exec(st, OWN_TX, S_LINE_RECEIVE, "receiving a line early", "ii", line_id, units);
  if(!rc && !st->changes)
    rc = fail_msg(st, RS_ERR_NOT_FOUND, "no open order line %lld", (long long)line_id);
  return rc;
}

bool store_changed_elsewhere(struct store *st)
{
  int v = 0;
  if(pragma_int(st->db, "PRAGMA data_version", &v) != SQLITE_OK)
    return false;
  if(st->data_version == (int64_t)v)
    return false;
  if(st->data_version >= 0)
    st->spares_gen++;
  st->data_version = v;
  return true;
}

enum rs_err store_list_audit(struct store *st, const char *subject, size_t limit,
                             store_audit_cb cb, void *ud)
{
  sqlite3_stmt *s = fresh(st, S_AUDIT_LIST, "ti", subject, lim(limit));
  enum rs_err rc = RS_OK;
  while(next_row(st, s, &rc, "reading the audit trail"))
    if(cb(ud, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
          (const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3)))
      break;
  sqlite3_finalize(s);
  return rc;
}

enum rs_err store_get_fit_line(struct store *st, const char *consumable,
                               struct store_order_line *out)
{
  enum store_order_state os = STORE_ORDER_DRAFT;
  enum rs_err rc = store_get_open_line(st, consumable, out);
  if(rc)
    return rc;
  if(out->quantity > out->received && out->order_id) {
    rc = order_state(st, out->order_id, &os);
    if(!rc && (os == STORE_ORDER_SUBMITTED || os == STORE_ORDER_SHIPPED))
      return RS_OK;
  }
  store_order_line_free(out);
  return rc ? rc : fail_msg(st, RS_ERR_NOT_FOUND, "consumable %s has no line on a placed order "
                                                  "with units to come", consumable);
}

enum rs_err store_fit_part(struct store *st, const char *id, int64_t now_ms, enum store_fit *how,
                           int64_t *spares_out)
{
  struct store_consumable row;
  struct store_order_line l;
  enum store_fit h = STORE_FIT_SHELF;
  int64_t spares = 0;
  enum rs_err rc = tx_begin(st, true);
  if(rc)
    return rc;
  rc = store_get_consumable_state(st, id, &row);
  if(rc == RS_OK)
    spares = row.spares;
  store_consumable_free(&row);
  if(rc && rc != RS_ERR_NOT_FOUND)
    goto out;
  rc = RS_OK;
  if(spares > 0) {
    rc = store_add_spares(st, id, -1, now_ms, &spares);
    goto out;
  }
  rc = store_get_fit_line(st, id, &l);
  if(rc == RS_OK) {
    h = STORE_FIT_LINE;
    rc = store_line_receive(st, l.id, 1);
    store_order_line_free(&l);
  }
  else if(rc == RS_ERR_NOT_FOUND) {
    h = STORE_FIT_UNKNOWN;
    rc = store_ensure_consumable(st, id, 0, now_ms);
    if(!rc)
      rc = store_set_unknown_fit(st, id, now_ms);
  }
  if(!rc)
    rc = store_add_spares(st, id, 0, now_ms, &spares); /* the shelf clock: still empty */
out:
  if(!rc) {
    if(how)
      *how = h;
    if(spares_out)
      *spares_out = spares;
  }
  return tx_end(st, rc);
}

enum rs_err store_set_line_price(struct store *st, int64_t line_id, int64_t unit_price)
{
  enum rs_err rc;
  if(unit_price < 0)
    return fail_msg(st, RS_ERR_INVALID, "a unit price must be 0 or more");
  rc = exec(st, OWN_TX, S_LINE_PRICE, "re-pricing a line", "ii", line_id, unit_price);
  if(!rc && !st->changes)
    rc = fail_msg(st, RS_ERR_NOT_FOUND, "no order line %lld", (long long)line_id);
  return rc;
}

/* ---- history of one consumable (the dashboard's detail page) ---------- */

enum rs_err store_list_lines_of(struct store *st, const char *consumable, size_t limit,
                                store_line_cb cb, void *ud)
{
  return each_line(st, fresh(st, S_LINES_OF, "ti", consumable, lim(limit)), cb, ud);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: restockd's state in one SQLite file (default
 * /var/lib/restock/restock.db, WAL). Readings, consumable state,
 * replacements, order lines, orders and their transitions, approvals, an
 * audit trail and a small key/value table. docs/storage.md describes the
 * tables, migrations, durability and backups.
 *
 * Conventions:
 * - Every function returns enum rs_err (RS_OK = 0). SQLite codes are mapped
 *   here and nowhere else: SQLITE_FULL -> RS_ERR_FULL (the failed write is
 *   rolled back; everything committed before stays), SQLITE_BUSY/LOCKED ->
 *   RS_ERR_BUSY, constraint violations -> RS_ERR_INVALID, everything else
 *   -> RS_ERR_DB. store_errmsg() gives the full sentence of the last failure.
 * - Times are Unix milliseconds passed in by the caller (the store never
 *   reads a clock). Money is int64 minor units (cents) with an ISO 4217
 *   currency code beside it.
 * - Strings handed in are copied; strings in result structs are owned by the
 *   struct and freed by its *_free function. Callback pointers are valid
 *   only during the callback.
 * - Each write function is atomic on its own. store_begin/commit/rollback
 *   group several of them into one transaction (they nest as savepoints).
 * - One struct store is used by one thread at a time.
 */
#ifndef RS_STORE_H
#define RS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rs_err.h"

struct store;

/* The schema version this code writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 5

/*
 * SQLite's page cache per connection, KiB (PRAGMA cache_size; SQLite's
 * default is 2000). restockd's hot pages are few (the tail of
 * readings_recent, the rows a batch updates); the rest is read from the OS
 * page cache when needed. 2 MiB of RSS less at 5,000 consumables
 * (docs/BENCHMARKS.md, where the RSS goes).
 */
#define STORE_CACHE_KIB_STR "256"
/* Longest order id in bytes, without the NUL (it is the Idempotency-Key). */
#define STORE_ORDER_ID_MAX 64

/*
 * Open (creating if missing: STORE_OPEN_CREATE) the database at path; its
 * parent directory must exist. Sets WAL, foreign_keys=ON, busy_timeout 5 s, and applies forward
 * migrations up to STORE_SCHEMA_VERSION (one transaction each). A database
 * written by a newer restock is refused (RS_ERR_INVALID) and left untouched.
 * On success *out owns the connection; on failure *out is NULL and err (if
 * not NULL) holds a sentence naming the path and the reason.
 */
enum rs_err store_open(const char *path, struct store **out, char *err, size_t errlen);
/*
 * How store_open_ex() opens:
 *   STORE_OPEN_CREATE    create the database when no file is at path (restockd
 *                        at its first start): made under a temporary name and
 *                        linked into place once complete, so a crash never
 *                        leaves an empty file behind
 *   STORE_OPEN_READONLY  read only (restockctl's reports): never creates,
 *                        migrates or writes anything, works in a read-only
 *                        directory; an older schema is refused
 *   STORE_OPEN_INIT_EMPTY  an empty (0-byte) file becomes a new database, in
 *                        place (keeping its owner and mode): the explicit
 *                        step `restockctl init-db` only
 * Without CREATE a missing file is RS_ERR_NOT_FOUND, "no database at PATH".
 * Whatever the flags, an existing file must be a restock database: an empty
 * file (0 bytes) or another program's SQLite database is refused
 * (RS_ERR_INVALID) and left untouched, as is a corrupt one.
 */
enum store_open_flags { STORE_OPEN_CREATE = 1, STORE_OPEN_READONLY = 2, STORE_OPEN_INIT_EMPTY = 4 };
enum rs_err store_open_ex(const char *path, unsigned flags, struct store **out, char *err,
                          size_t errlen);
/* Finalize cached statements and close. NULL is fine. */
void store_close(struct store *st);
/*
 * The storage fault: whether a statement failed for a storage reason (disk
 * full, I/O error, read-only or corrupt file) with no write committed since.
 * Then why (a short sentence), since_ms (wall ms of the first failure) and
 * count (failures since) are set; each may be NULL.
 */
bool store_fault(const struct store *st, char *why, size_t size, int64_t *since_ms,
                 uint64_t *count);
/* The full message of the last failure on st ("" if none); valid until the next call. */
const char *store_errmsg(const struct store *st);
/* The schema version of the open file (== STORE_SCHEMA_VERSION after open). */
int store_schema_version(struct store *st);

/*
 * Group writes: begin opens a transaction (BEGIN IMMEDIATE, durable: the
 * commit is fsynced) or, inside one, a savepoint. commit/rollback end the
 * innermost level. On a failed commit the level is rolled back.
 */
enum rs_err store_begin(struct store *st);
/*
 * A write transaction for readings only (their batch per loop turn): like
 * store_begin but not durable (synchronous=NORMAL, no fsync at commit), so
 * put nothing in it that must survive a power cut. Ends with store_commit
 * or store_rollback.
 */
enum rs_err store_begin_batch(struct store *st);
enum rs_err store_commit(struct store *st);
enum rs_err store_rollback(struct store *st);

/* ---- readings ---------------------------------------------------------- */

/*
 * Store one value of device/point at time_ms. A second value at the same
 * time for the same point replaces the first. Not fsynced on its own
 * (synchronous=NORMAL): a power cut may lose the last readings, never
 * corrupt the file or reorder them against order transactions.
 */
enum rs_err store_put_reading(struct store *st, const char *device, const char *point,
                              int64_t time_ms, double value);

/*
 * Callback for readings; return non-zero to stop the iteration (not an
 * error). Callbacks (here and below) may call other store functions, but not
 * the iteration that is calling them.
 */
typedef int (*store_reading_cb)(void *ud, const char *device, const char *point, int64_t time_ms,
                                double value);

/* The latest reading of every point (for warm starts), ordered by device, point. */
enum rs_err store_last_readings(struct store *st, store_reading_cb cb, void *ud);
/* The latest reading of one point: RS_ERR_NOT_FOUND if it has none. */
enum rs_err store_last_reading(struct store *st, const char *device, const char *point,
                               int64_t *time_ms, double *value);
/* Readings of one point with from_ms <= time < to_ms, oldest first. */
enum rs_err store_readings_range(struct store *st, const char *device, const char *point,
                                 int64_t from_ms, int64_t to_ms, store_reading_cb cb, void *ud);

/*
 * New readings go to a table in arrival order (a batch appends to a page or
 * two, whatever the points: issue 14, flash wear); the queries above read it
 * too. This moves them into the table clustered by (point, time), in one
 * transaction; restockd calls it at start, on a reload and with the daily retention
 * pass.
 * *moved (may be NULL) gets the number of rows moved.
 */
enum rs_err store_merge_readings(struct store *st, int64_t *moved);
/*
 * store_merge_readings() when readings_recent may hold more than max_rows
 * rows (counted by this connection since its last merge; unknown, so "more",
 * before its first): for look-ups by point (a warm start, a catch-up), which
 * scan readings_recent. Nothing on a read-only store or inside a
 * transaction. RS_OK when there was nothing to do.
 */
enum rs_err store_merge_readings_over(struct store *st, int64_t max_rows);

/*
 * Retention (merges first): readings older than cutoff_ms are thinned to the last reading of
 * each bucket_ms-long bucket (per point; buckets aligned to the Unix epoch).
 * Newer readings are untouched. *deleted (may be NULL) gets the count removed.
 */
enum rs_err store_thin_readings(struct store *st, int64_t cutoff_ms, int64_t bucket_ms,
                                int64_t *deleted);

/* ---- consumables ------------------------------------------------------- */

/*
 * Why a consumable is held (SPEC 7 "Replenishment stays stable"): no rule
 * makes a line for it (a button press still does) until it is released or
 * held_until passes. rejected: a person rejected its order
 * (orders.approval.hold_after_reject); expired: its approval request expired
 * without a decision (orders.approval.redraft_after; the alert
 * approval_expired shows); manual: `restockctl consumables hold` or the API.
 */
enum store_hold { STORE_HOLD_NONE, STORE_HOLD_REJECTED, STORE_HOLD_EXPIRED, STORE_HOLD_MANUAL };
/* "none", "rejected", "expired", "manual" */
const char *store_hold_name(enum store_hold h);

struct store_consumable {
  char *id;                      /* full id "device/consumable" */
  int64_t spares;                /* parts on the shelf */
  int64_t installed_at_ms;       /* 0 = unknown */
  int64_t last_replacement_ms;   /* 0 = never seen */
  double counter_at_replacement; /* level/counter reading just after the last replacement */
  bool has_counter;              /* counter_at_replacement is set */
  char *predictor_json;          /* predictor state, JSON text or NULL */
  int64_t updated_ms;
  /* written only by their own functions below (store_put_consumable_state keeps them) */
  enum store_hold hold;          /* STORE_HOLD_NONE: not held */
  int64_t held_since_ms;
  int64_t held_until_ms;         /* INT64_MAX: until released; 0 when not held */
  char *hold_reason;             /* a sentence, or NULL */
  int64_t redraft_ms;            /* last urgent redraft after an expiry; 0 = never */
  int64_t shelf_since_ms;        /* spares > 0 since (or a part fitted from the shelf); 0 = empty */
  int64_t unknown_fit_ms;        /* a part fitted with no spare and no open line; 0 = none */
};
void store_consumable_free(struct store_consumable *c); /* frees the members, not c */

/* Fill *out (members owned by *out); RS_ERR_NOT_FOUND if the id has no state. */
enum rs_err store_get_consumable_state(struct store *st, const char *id,
                                       struct store_consumable *out);
/*
 * Insert or replace the state of c->id (all fields written as given;
 * predictor_json must be valid JSON or NULL). Not fsynced on its own, like
 * readings: it is rewritten often.
 */
enum rs_err store_put_consumable_state(struct store *st, const struct store_consumable *c);
/*
 * A number that changes whenever this store writes a consumable's spares
 * (deliveries, replacements, state puts; also writes later rolled back).
 * Readers that cache spares re-read only when it moved.
 */
uint64_t store_spares_generation(const struct store *st);

/*
 * Add delta (may be negative; the result is clamped at 0) to spares,
 * creating the row if needed; durable. *spares_out may be NULL.
 */
enum rs_err store_add_spares(struct store *st, const char *id, int64_t delta, int64_t now_ms,
                             int64_t *spares_out);

/*
 * Record a replacement of consumable id at time_ms (level before and after)
 * and, in the same transaction, set its state's installed_at and
 * last_replacement to time_ms and counter_at_replacement to level_after
 * (creating the state row if needed). Spares are not touched: a caller that
 * takes the new part from the shelf calls store_add_spares(-1) in the same
 * store_begin group. *replacement_id may be NULL.
 */
enum rs_err store_record_replacement(struct store *st, const char *id, int64_t time_ms,
                                     double level_before, double level_after,
                                     int64_t *replacement_id);
typedef int (*store_replacement_cb)(void *ud, int64_t time_ms, double level_before,
                                    double level_after);
/* The replacements of id, oldest first (to learn the typical life). */
enum rs_err store_list_replacements(struct store *st, const char *id, store_replacement_cb cb,
                                    void *ud);

/* ---- order lines ------------------------------------------------------- */

/*
 * A line's state: open (waiting in no order or in a live order), delivered,
 * ended (its order was rejected, expired, failed or cancelled). A consumable
 * with an open line gets no other line (SPEC 7).
 */
enum store_line_state { STORE_LINE_OPEN, STORE_LINE_DELIVERED, STORE_LINE_ENDED };
const char *store_line_state_name(enum store_line_state s);

struct store_order_line {
  int64_t id;
  char *consumable; /* full id */
  char *sku;
  int64_t quantity;
  int64_t unit_price; /* minor units */
  char currency[4];   /* ISO 4217 */
  char *rule;         /* rule name that raised it, or NULL (default rule / manual) */
  char *figures_json; /* the figures the rule saw (JSON text) or NULL */
  int64_t need_by_ms; /* predicted empty date (needed by then); urgency subtracts the lead time;
                        0 = none */
  char *order_id;     /* NULL until batched into an order */
  enum store_line_state state;
  int64_t created_ms;
  int64_t received; /* units fitted before the shop reported the delivery (SPEC 7) */
};
void store_order_line_free(struct store_order_line *l); /* frees the members, not l */

/*
 * Add an open line (id, order_id and state of l are ignored). Refused with
 * RS_ERR_CONFLICT when the consumable already has an open line. *id_out gets
 * the new line id.
 */
enum rs_err store_add_order_line(struct store *st, const struct store_order_line *l,
                                 int64_t *id_out);
/* Put line_id into order_id (RS_ERR_NOT_FOUND if either is missing). */
enum rs_err store_attach_line(struct store *st, int64_t line_id, const char *order_id);
/* Whether consumable has an open line; *line_id (may be NULL) gets it, or 0. */
enum rs_err store_has_open_line(struct store *st, const char *consumable, bool *open,
                                int64_t *line_id);
typedef int (*store_line_cb)(void *ud, const struct store_order_line *line);
/* All open lines, oldest first. */
enum rs_err store_list_open_lines(struct store *st, store_line_cb cb, void *ud);
/* The lines of one consumable (any state), newest first, at most limit (0 = all). */
enum rs_err store_list_lines_of(struct store *st, const char *consumable, size_t limit,
                                store_line_cb cb, void *ud);

/* ---- orders ------------------------------------------------------------ */

enum store_order_state {
  STORE_ORDER_DRAFT,
  STORE_ORDER_PENDING_APPROVAL,
  STORE_ORDER_APPROVED,
  STORE_ORDER_SUBMITTED,
  STORE_ORDER_SHIPPED,
  STORE_ORDER_DELIVERED,
  STORE_ORDER_REJECTED,
  STORE_ORDER_EXPIRED,
  STORE_ORDER_FAILED,
  STORE_ORDER_CANCELLED
};
#define STORE_ORDER_STATE_COUNT 10
/* "draft", "pending_approval", ... (SPEC 8); "?" when out of range. */
const char *store_order_state_name(enum store_order_state s);
/* Name to state: 0 and *out, or -1. */
int store_order_state_parse(const char *name, enum store_order_state *out);
/* Whether s is one of the ends (delivered, rejected, expired, failed, cancelled). */
bool store_order_state_final(enum store_order_state s);

struct store_order {
  char id[STORE_ORDER_ID_MAX + 1];
  char *supplier;
  enum store_order_state state;
  char currency[4];
  int64_t total; /* minor units */
  int64_t created_ms;
  int64_t updated_ms;
  char *shop_id;           /* the shop's order id once submitted, else NULL */
  char *request_body;      /* the POST body, built once and stored; NULL until built */
  int64_t attempts;        /* submission attempts so far */
  int64_t next_attempt_ms; /* 0 = none scheduled */
  char *last_error;        /* last submission error or shop message, or NULL */
};

struct store_transition {
  int64_t time_ms;
  bool has_from; /* false for the creation */
  enum store_order_state from;
  enum store_order_state to;
  char *actor; /* "system", "rule:NAME", "approver:EMAIL", "restockctl", ... */
  char *cause; /* a sentence */
};

/* An order with its lines and transitions (oldest first). */
struct store_order_full {
  struct store_order order;
  struct store_order_line *lines;
  size_t n_lines;
  struct store_transition *transitions;
  size_t n_transitions;
};
void store_order_full_free(struct store_order_full *o); /* frees members and o */

/*
 * Create an order in state draft for supplier with the given currency and
 * total, recording the creation transition (actor, cause) at now_ms. The id
 * is "R-YYYYMMDD-NNNN-XXXXXX": the UTC creation date, a per-day sequence
 * (4 digits, more when needed) and a random per-database tag made when the
 * file was created, so that two gateways (or a reinstalled one) never reuse
 * an Idempotency-Key. id_out (size >= STORE_ORDER_ID_MAX + 1) gets the id.
 */
enum rs_err store_create_order(struct store *st, const char *supplier, const char *currency,
                               int64_t total, int64_t now_ms, const char *actor, const char *cause,
                               char *id_out, size_t id_size);
/*
 * Replace the per-database tag of order ids with `tag` (1 to 7 characters
 * of [0-9A-Z]), stored durably in the meta table. For replay, whose temp
 * database must give the same ids on every run; a gateway never calls it.
 * RS_ERR_INVALID for a malformed tag.
 */
enum rs_err store_set_order_id_tag(struct store *st, const char *tag);
/*
 * Move order id from `from` to `to` at now_ms, in one transaction: the
 * current state must equal `from`, else RS_ERR_CONFLICT and nothing changes
 * (RS_ERR_NOT_FOUND if there is no such order). Records the transition with
 * actor and cause and sets updated. Moving to delivered marks the order's
 * lines delivered; moving to rejected/expired/failed/cancelled marks them
 * ended. Does not judge whether the edge is allowed: the orders module does.
 */
enum rs_err store_transition_order(struct store *st, const char *id, enum store_order_state from,
                                   enum store_order_state to, const char *actor, const char *cause,
                                   int64_t now_ms);
/* Set the total (minor units) of an order, e.g. after adding lines. */
enum rs_err store_set_order_total(struct store *st, const char *id, int64_t total, int64_t now_ms);
/*
 * Store the request body once: RS_ERR_CONFLICT if a different body is
 * already stored (the same body again is RS_OK), so retries resend it byte
 * for byte.
 */
enum rs_err store_set_order_body(struct store *st, const char *id, const char *body,
                                 int64_t now_ms);
/*
 * Note a submission attempt: attempts += 1, next_attempt_ms (0 = none) and
 * last_error (NULL clears it).
 */
enum rs_err store_note_attempt(struct store *st, const char *id, int64_t next_attempt_ms,
                               const char *last_error, int64_t now_ms);
/* Move the order's next attempt to next_attempt_ms (0 = none); attempts and last_error stay. */
enum rs_err store_set_next_attempt(struct store *st, const char *id, int64_t next_attempt_ms,
                                   int64_t now_ms);
/*
 * Store the shop's id for the order; RS_ERR_CONFLICT (nothing stored) when
 * another order already holds that shop id (one shop order is one order).
 */
enum rs_err store_set_order_shop_id(struct store *st, const char *id, const char *shop_id,
                                    int64_t now_ms);

/* Order id with lines and transitions into *out (caller frees); RS_ERR_NOT_FOUND if none. */
enum rs_err store_get_order(struct store *st, const char *id, struct store_order_full **out);
typedef int (*store_order_cb)(void *ud, const struct store_order *order);
/*
 * Orders newest first; only those in `state` when only_state is true; at
 * most limit (0 = all).
 */
enum rs_err store_list_orders(struct store *st, bool only_state, enum store_order_state state,
                              size_t limit, store_order_cb cb, void *ud);

/* Which orders store_list_order_ids() keeps. */
enum store_ids_filter {
  STORE_IDS_ALL,     /* every order */
  STORE_IDS_OPEN,    /* those not in a final state */
  STORE_IDS_PENDING, /* those waiting for a person (pending_approval) */
  STORE_IDS_EXPIRED, /* those that expired without a decision */
};
struct store_order_ids {
  char (*ids)[STORE_ORDER_ID_MAX + 1]; /* malloc'd: free(ids) */
  size_t n, cap;
};
/*
 * The ids of the newest `limit` orders (0: all) that pass filter, newest
 * first, into *out (zero it first), so the caller can store_get_order()
 * each one after the listing ended.
 */
enum rs_err store_list_order_ids(struct store *st, enum store_ids_filter filter, size_t limit,
                                 struct store_order_ids *out);

/* ---- approvals --------------------------------------------------------- */

/* Record that a link with token_hash (hex SHA-256) went to approver for order id. */
enum rs_err store_add_approval(struct store *st, const char *order_id, const char *approver,
                               const char *token_hash, int64_t expires_ms, int64_t now_ms);
/*
 * Use the link with token_hash once: sets used_at, decided_by, decision
 * ("approve"/"reject"), source address and user agent. RS_ERR_NOT_FOUND for
 * an unknown hash, RS_ERR_CONFLICT if already used, RS_ERR_TIMEOUT if
 * expired at now_ms. *order_id_out (size > STORE_ORDER_ID_MAX, may be NULL)
 * gets the order.
 */
enum rs_err store_use_approval(struct store *st, const char *token_hash, const char *decided_by,
                               const char *decision, const char *source, const char *user_agent,
                               int64_t now_ms, char *order_id_out, size_t order_id_size);

/* ---- approvals: reading, and the mail outbox (gateway/approve.c) ------- */

/* One row of the approvals table. */
struct store_approval {
  int64_t id;
  char order_id[STORE_ORDER_ID_MAX + 1];
  char *approver;
  char token_hash[65]; /* hex SHA-256 of the link's token */
  int64_t created_ms;
  int64_t expires_ms;
  int64_t used_at_ms; /* 0: not used */
  char *decided_by;   /* NULL until used; likewise decision, source, user_agent */
  char *decision;     /* "approve" / "reject" */
  char *source;
  char *user_agent;
};
void store_approval_free(struct store_approval *a); /* frees the members, not a */
typedef int (*store_approval_cb)(void *ud, const struct store_approval *a);
/* The approvals of order_id, oldest first. */
enum rs_err store_list_approvals(struct store *st, const char *order_id, store_approval_cb cb,
                                 void *ud);
/* The approval with token_hash into *out (members owned by *out); RS_ERR_NOT_FOUND if none. */
enum rs_err store_get_approval(struct store *st, const char *token_hash,
                               struct store_approval *out);

/*
 * A queued mail: the whole RFC 5322 message is built once and sent as
 * stored. (kind, ref) is unique: queueing the same mail twice is refused.
 */
struct store_mail {
  int64_t id;
  char *kind;      /* "approval", "reminder" */
  char *ref;       /* what it is about, unique per kind (the link's token hash) */
  char *order_id;  /* or NULL */
  char *recipient; /* the envelope recipient */
  char *message;
  int64_t created_ms;
  int64_t attempts;
  int64_t next_attempt_ms;
  int64_t sent_ms; /* 0: not sent yet */
  char *last_error;
};
void store_mail_free(struct store_mail *m); /* frees the members, not m */
typedef int (*store_mail_cb)(void *ud, const struct store_mail *m);
/*
 * Copies of the rows a list call hands its callback: pass store_lines_collect,
 * store_orders_collect or store_mails_collect as the callback and a zeroed
 * struct store_rows as ud; the copies are in v.lines, v.orders or v.mails.
 * store_rows_free frees them and leaves the list empty.
 */
struct store_rows {
  union {
    struct store_order_line *lines;
    struct store_order *orders;
    struct store_mail *mails;
    void *any;
  } v;
  size_t n;
  const void *type; /* the kind of row it holds (the store's own) */
};
int store_lines_collect(void *rows, const struct store_order_line *l);
int store_orders_collect(void *rows, const struct store_order *o);
int store_mails_collect(void *rows, const struct store_mail *m);
void store_rows_free(struct store_rows *r);
/*
 * Queue a mail, due at now_ms (durable). RS_ERR_CONFLICT when (kind, ref) is
 * already queued or sent, RS_ERR_NOT_FOUND when order_id names no order.
 * *id_out (may be NULL) gets the row id.
 */
enum rs_err store_mail_queue(struct store *st, const char *kind, const char *ref,
                             const char *order_id, const char *recipient, const char *message,
                             int64_t now_ms, int64_t *id_out);
/* Whether a mail (kind, ref) was ever queued. */
enum rs_err store_mail_exists(struct store *st, const char *kind, const char *ref, bool *exists);
/*
 * Mails in the outbox: only_due: unsent ones with next_attempt_ms <= now_ms,
 * earliest first; else all, oldest first. At most limit (0 = all).
 */
enum rs_err store_mail_list(struct store *st, bool only_due, int64_t now_ms, size_t limit,
                            store_mail_cb cb, void *ud);
/* Mark mail id sent at now_ms (attempts + 1). RS_ERR_NOT_FOUND unless it was unsent. */
enum rs_err store_mail_sent(struct store *st, int64_t id, int64_t now_ms);
/* Note a failed attempt: attempts + 1, the error, the next attempt time. */
enum rs_err store_mail_failed(struct store *st, int64_t id, int64_t next_attempt_ms,
                              const char *error, int64_t now_ms);

/* ---- stock-take, holds, early receipts (SPEC 7, issue 11) --------------- */

/*
 * Create the state row of consumable id with spares_if_new parts on the
 * shelf when it has none (the config's `spares`); an existing row is left
 * as it is. Durable.
 */
enum rs_err store_ensure_consumable(struct store *st, const char *id, int64_t spares_if_new,
                                    int64_t now_ms);
/* Set spares to n (>= 0; RS_ERR_INVALID otherwise); RS_ERR_NOT_FOUND without a row. Durable. */
enum rs_err store_set_spares(struct store *st, const char *id, int64_t n, int64_t now_ms);
/*
 * Hold consumable id (kind != NONE) until until_ms (INT64_MAX: until
 * released) with reason, or release it (kind NONE). RS_ERR_NOT_FOUND
 * without a row. Durable.
 */
enum rs_err store_set_hold(struct store *st, const char *id, enum store_hold kind,
                           int64_t until_ms, const char *reason, int64_t now_ms);
/* Note the urgent redraft after an expiry (releases an expiry hold) at now_ms. */
enum rs_err store_note_redraft(struct store *st, const char *id, int64_t now_ms);
/*
 * The open line of consumable into *out (members owned by *out; free with
 * store_order_line_free); RS_ERR_NOT_FOUND when it has none.
 */
enum rs_err store_get_open_line(struct store *st, const char *consumable,
                                struct store_order_line *out);
/*
 * The line a part of consumable fitted now would count against (SPEC 7's
 * "arrived before the shop said so"): its open line with units still to
 * come, on an order the shop holds (submitted or shipped). A line on a draft
 * or on an order waiting for approval, or approved and not yet placed, was
 * never sent: no part can have come from it. RS_ERR_NOT_FOUND otherwise;
 * free *out with store_order_line_free.
 */
enum rs_err store_get_fit_line(struct store *st, const char *consumable,
                               struct store_order_line *out);
/* Set the unit price (minor units, >= 0) of line_id (the shop's refreshed price, SPEC 9). */
enum rs_err store_set_line_price(struct store *st, int64_t line_id, int64_t unit_price);
/* Where a fitted part came from (store_fit_part). */
enum store_fit {
  STORE_FIT_SHELF,   /* one spare less */
  STORE_FIT_LINE,    /* no spare: the placed open line counts one unit as received (arrived early) */
  STORE_FIT_UNKNOWN  /* no spare, no placed open line (store_get_fit_line): unknown_part_fitted */
};
/*
 * A part of consumable id was fitted at now_ms (SPEC 7): take a spare; with
 * none on the books, count one unit of its open line as received when the
 * shop holds that line's order (store_get_fit_line); otherwise mark
 * unknown_part_fitted. spares never goes below zero
 * and no unit is counted twice. One durable transaction. *how and
 * *spares_out (either may be NULL) tell what happened.
 */
enum rs_err store_fit_part(struct store *st, const char *id, int64_t now_ms, enum store_fit *how,
                           int64_t *spares_out);
/*
 * Whether another connection (restockctl, another process) committed
 * anything since the last call (PRAGMA data_version); when it did, the
 * spares generation moves too, so cached consumable rows are re-read.
 */
bool store_changed_elsewhere(struct store *st);

/* ---- audit and meta ---------------------------------------------------- */

/* Append an audit entry (durable). detail may be NULL. */
enum rs_err store_audit(struct store *st, int64_t time_ms, const char *actor, const char *action,
                        const char *detail);
/* The same about a subject (a consumable's full id), listed by store_list_audit. */
enum rs_err store_audit_subject(struct store *st, int64_t time_ms, const char *actor,
                                const char *action, const char *subject, const char *detail);
typedef int (*store_audit_cb)(void *ud, int64_t time_ms, const char *actor, const char *action,
                              const char *detail);
/* The audit entries about subject, newest first, at most limit (0 = all). */
enum rs_err store_list_audit(struct store *st, const char *subject, size_t limit,
                             store_audit_cb cb, void *ud);

/*
 * Meta key prefix of a SKU's lead time as the shop last reported it
 * (GET /products; ms as decimal text): it becomes the consumable's
 * lead_time_days (SPEC 9).
 */
#define STORE_META_LEAD_TIME "product.lead_time_ms."
/* + consumable full id: how long its lines took from drafted to delivered, in ms (a
   running figure that follows a slower delivery at once and a faster one a quarter of the way) */
#define STORE_META_REPLENISH "consumable.replenish_ms."
/* How long a person took to approve an order (pending_approval to approved), in ms, over
   the delivered orders that needed one (the same running figure): a line that needs a
   person before its consumable's replenishment time is known waits about that long */
#define STORE_META_APPROVAL_WAIT "orders.approval_wait_ms"

/* Value of key into *value (malloc'd, caller frees); RS_ERR_NOT_FOUND if unset. */
enum rs_err store_meta_get(struct store *st, const char *key, char **value);
/* Set key to value (durable). Moves the spares generation (cached rows are re-read). */
enum rs_err store_meta_set(struct store *st, const char *key, const char *value);
/* Remove key (durable); RS_OK when it was not set either. Moves the spares generation. */
enum rs_err store_meta_delete(struct store *st, const char *key);

/*
 * Test hook: limit the file to max_pages pages (PRAGMA max_page_count), so
 * that the next write that needs more fails with RS_ERR_FULL.
 */
enum rs_err store_set_max_pages(struct store *st, int64_t max_pages);

#endif

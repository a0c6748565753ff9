/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approve: approval links, their mails and the mail outbox (see approve.h).
 */
#include "gateway/approve.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "adapters/mail.h"
#include "gateway/approve_int.h"
#include "base/escape.h"
#include "base/log.h"
#include "gateway/token.h"

/* ---- process state -------------------------------------------------------- */

static struct {
  char path[4096]; /* the secret file the key came from ("" = none loaded) */
  unsigned char key[TOKEN_KEY_LEN];
  int64_t backoff_base_ms, backoff_cap_ms;
  int64_t next_real_ms; /* approval_tick throttle */
  bool warned_setup;    /* "approvers but no mail" logged once */
  struct mail_sender *sender; /* on the loop (approve_set_loop), or NULL: blocking */
  struct mail_job **jobs;     /* mails started, until their result is recorded */
  size_t n_jobs;
  /*
   * Mail attempts whose outcome the database did not take (disk full): a
   * mail sent (retry_ms 0) is never sent again while restockd runs, and
   * recording it is retried at each tick; a failed attempt (retry_ms: its
   * next attempt, wall ms) is not tried again before its backoff.
   */
  struct unrecorded {
    int64_t id, sent_ms, retry_ms;
  } *unrec;
  size_t n_unrec;
} g;

/* One mail on its way (non-blocking sender). */
struct mail_job {
  struct store_mail m; /* id, kind, order id, recipient, attempts (message not kept) */
  bool done;
  enum mail_result r;
  char err[512];
};

/* The secret's path for cfg into path; 0 or -1 (err). */
static int secret_path(const struct cfg *cfg, char *path, size_t size, char *err, size_t errlen)
{
  const char *db = cfg && cfg->storage.path ? cfg->storage.path : RESTOCK_STATEDIR "/restock.db";
  if(token_secret_path(db, path, size)) {
    (void)rs_snprintf(err, errlen, "storage.path %s: no room for the secret's path", db);
    return -1;
  }
  return 0;
}

int approve_init(const struct cfg *cfg, char *err, size_t errlen)
{
  char path[4096];
  if(secret_path(cfg, path, sizeof(path), err, errlen))
    return -1;
  /* always from the disk: a start must see the file as it is now */
  if(token_secret_load(path, g.key, err, errlen)) {
    explicit_bzero(g.key, sizeof(g.key));
    g.path[0] = '\0';
    return -1;
  }
  (void)rs_strlcpy(g.path, path, sizeof(g.path));
  log_info("approval links: secret %s loaded", path);
  return 0;
}

const unsigned char *approve_key(const struct cfg *cfg)
{
  char err[512], path[4096];
  if(secret_path(cfg, path, sizeof(path), err, sizeof(err))) {
    log_err("approval links: %s", err);
    return NULL;
  }
  if(g.path[0] && !strcmp(g.path, path))
    return g.key;
  if(approve_init(cfg, err, sizeof(err))) {
    log_err("approval links: %s", err);
    return NULL;
  }
  return g.key;
}

void approve_set_backoff(int64_t base_ms, int64_t cap_ms)
{
  g.backoff_base_ms = base_ms > 0 ? base_ms : APPROVE_BACKOFF_BASE_MS;
  g.backoff_cap_ms = cap_ms >= g.backoff_base_ms ? cap_ms : g.backoff_base_ms;
}

/* ---- order facts ---------------------------------------------------------- */

/* When o last entered pending_approval (its updated time if no transition says). */
static int64_t approve_pending_since(const struct store_order_full *o)
{
  size_t i;
  int64_t t = -1;
  for(i = 0; i < o->n_transitions; i++)
    if(o->transitions[i].to == STORE_ORDER_PENDING_APPROVAL)
      t = o->transitions[i].time_ms;
  return t >= 0 ? t : o->order.updated_ms;
}

/* When o's links expire: pending since + link_ttl. */
static int64_t approve_link_expiry(const struct cfg *cfg, const struct store_order_full *o)
{
  int64_t since = approve_pending_since(o), ttl = cfg->orders.approval.link_ttl_ms;
  if(ttl <= 0)
    ttl = INT64_C(72) * 3600000;
  return since > INT64_MAX - ttl ? INT64_MAX : since + ttl;
}

/*
 * The token of approver for o as it is now (current lines, expiry) into
 * token (size > TOKEN_TEXT_MAX) and its hash. 0, or -1 (no secret; logged).
 */
static int approve_token_for(const struct cfg *cfg, const struct store_order_full *o,
                             const char *approver, char *token, size_t size,
                             char hash[TOKEN_HASH_HEX])
{
  unsigned char lh[TOKEN_HASH_LEN];
  const unsigned char *key = approve_key(cfg);
  if(!key)
    return -1;
  token_lines_hash(o->lines, o->n_lines, lh);
  if(token_make(key, o->order.id, lh, approver, approve_link_expiry(cfg, o), token, size))
    return -1;
  token_hash_hex(token, hash);
  return 0;
}

void approve_money(const char *currency, int64_t minor, char *buf, size_t size)
{
  char num[48];
  cfg_format_money_in(currency, minor, num, sizeof(num));
  (void)rs_snprintf(buf, size, "%s %s", num, currency);
}

/* "€612.40", "$12.00", "£3.50", else "612.40 CHF" (for subjects). */
static void money_short(const char *currency, int64_t minor, char *buf, size_t size)
{
  char num[48];
  cfg_format_money_in(currency, minor, num, sizeof(num));
  if(!strcmp(currency, "EUR"))
    (void)rs_snprintf(buf, size, "\xe2\x82\xac%s", num);
  else if(!strcmp(currency, "USD"))
    (void)rs_snprintf(buf, size, "$%s", num);
  else if(!strcmp(currency, "GBP"))
    (void)rs_snprintf(buf, size, "\xc2\xa3%s", num);
  else
    (void)rs_snprintf(buf, size, "%s %s", num, currency);
}

/* A rule's figures JSON object as "level_pct 12.5, days_left 3.2" (nothing if not an object). */
static void approve_figures_text(const char *figures_json, struct rs_buf *out)
{
  json_t *j;
  const char *k;
  json_t *v;
  bool first = true;
  if(!figures_json)
    return;
  j = json_loads(figures_json, 0, NULL);
  if(!json_is_object(j)) {
    json_decref(j);
    return;
  }
  json_object_foreach(j, k, v)
  {
    if(!first)
      rs_buf_puts(out, ", ");
    first = false;
    if(json_is_real(v))
      rs_buf_printf(out, "%s %.4g", k, json_real_value(v));
    else if(json_is_integer(v))
      rs_buf_printf(out, "%s %" JSON_INTEGER_FORMAT, k, json_integer_value(v));
    else if(json_is_string(v))
      rs_buf_printf(out, "%s %s", k, json_string_value(v));
    else if(json_is_boolean(v))
      rs_buf_printf(out, "%s %s", k, json_is_true(v) ? "true" : "false");
    else
      rs_buf_printf(out, "%s -", k);
  }
  json_decref(j);
}

void approve_line_text(const struct store_order_line *l, struct approve_line_text *t)
{
  memset(t, 0, sizeof(*t));
  approve_money(l->currency, l->unit_price, t->unit, sizeof(t->unit));
  approve_money(l->currency, l->unit_price * l->quantity, t->amount, sizeof(t->amount));
  approve_figures_text(l->figures_json, &t->fig);
}

size_t approve_reasons(struct store *st, const char *order_id, char ***out)
{
  char key[128], *text = NULL;
  json_t *j = NULL;
  size_t i, n = 0;
  *out = NULL;
  if(rs_snprintf(key, sizeof(key), "%s%s", PIPELINE_META_REASONS, order_id) ||
     store_meta_get(st, key, &text))
    return 0;
  j = json_loads(text, 0, NULL);
  free(text);
  if(!json_is_array(j) || !json_array_size(j)) {
    json_decref(j);
    return 0;
  }
  *out = rs_xcalloc(json_array_size(j), sizeof(char *));
  for(i = 0; i < json_array_size(j); i++) {
    const char *s = json_string_value(json_array_get(j, i));
    if(s)
      (*out)[n++] = rs_xstrdup(s);
  }
  json_decref(j);
  return n;
}

void approve_reasons_free(char **v, size_t n)
{
  size_t i;
  for(i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* ---- the mail --------------------------------------------------------------- */

/* "https://gw.example/approve/TOKEN" from http.public_url (or the listen address). */
static void link_of(const struct cfg *cfg, const char *token, struct rs_buf *out)
{
  const char *base = cfg->http.public_url;
  size_t n;
  if(base && *base) {
    n = strlen(base);
    while(n && base[n - 1] == '/')
      n--;
    rs_buf_append(out, base, n);
  }
  else
    rs_buf_printf(out, "http://%s", cfg->http.listen ? cfg->http.listen : "127.0.0.1:8080");
  rs_buf_printf(out, "/approve/%s", token);
}

/* The "[restock ID · SITE]" subject prefix. */
static void subject_prefix(const struct cfg *cfg, struct rs_buf *s)
{
  rs_buf_printf(s, "[restock %s", cfg->gateway.id ? cfg->gateway.id : "gateway");
  if(cfg->gateway.site && *cfg->gateway.site)
    rs_buf_printf(s, " \xc2\xb7 %s", cfg->gateway.site);
  rs_buf_puts(s, "]");
}

/* Escape for the HTML part of the mail. */
static void esc(struct rs_buf *o, const char *s)
{
  escape_html(o, s);
}

/*
 * Build the mail to approver about o with link token (reminder: the second
 * mail before expiry). Returns 0 and *msg (malloc'd), or -1 (logged).
 */
static int build_mail(struct store *st, const struct cfg *cfg, const struct store_order_full *o,
                      const char *approver, const char *token, bool reminder, int64_t now_ms,
                      char **msg)
{
  struct rs_buf subj = {0}, text = {0}, html = {0}, link = {0};
  char total[64], tshort[64], until[40], err[256];
  char **reasons = NULL;
  size_t nr, i;
  struct mail_msg m;
  int rc;

  *msg = NULL;
  approve_money(o->order.currency, o->order.total, total, sizeof(total));
  money_short(o->order.currency, o->order.total, tshort, sizeof(tshort));
  clock_format_rfc3339(approve_link_expiry(cfg, o), until, sizeof(until));
  link_of(cfg, token, &link);
  nr = approve_reasons(st, o->order.id, &reasons);

  subject_prefix(cfg, &subj);
  rs_buf_printf(&subj, " %sApproval needed: order %s (%s)", reminder ? "Reminder: " : "",
                o->order.id, tshort);

  rs_buf_printf(&text, "%sOrder %s for supplier %s needs your approval.\n\n",
                reminder ? "Reminder: this order is still waiting for a decision.\n\n" : "",
                o->order.id, o->order.supplier ? o->order.supplier : "?");
  rs_buf_puts(&html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
  if(reminder)
    rs_buf_puts(&html, "<p><b>Reminder:</b> this order is still waiting for a decision.</p>\n");
  rs_buf_puts(&html, "<p>Order <b>");
  esc(&html, o->order.id);
  rs_buf_puts(&html, "</b> for supplier ");
  esc(&html, o->order.supplier ? o->order.supplier : "?");
  rs_buf_puts(&html, " needs your approval.</p>\n");

  if(nr) {
    rs_buf_puts(&text, "Why it needs a person:\n");
    rs_buf_puts(&html, "<p>Why it needs a person:</p>\n<ul>\n");
    for(i = 0; i < nr; i++) {
      rs_buf_printf(&text, "  - %s\n", reasons[i]);
      rs_buf_puts(&html, "<li>");
      esc(&html, reasons[i]);
      rs_buf_puts(&html, "</li>\n");
    }
    rs_buf_puts(&text, "\n");
    rs_buf_puts(&html, "</ul>\n");
  }

  rs_buf_puts(&text, "Lines:\n");
  rs_buf_puts(&html, "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n<tr><th>Item</th>"
                     "<th>Qty</th><th>Unit price</th><th>Amount</th><th>Rule and figures</th>"
                     "</tr>\n");
  for(i = 0; i < o->n_lines; i++) {
    const struct store_order_line *l = &o->lines[i];
    struct approve_line_text lt;
    approve_line_text(l, &lt);
    rs_buf_printf(&text, "  %" PRId64 " x %s (%s) at %s = %s\n", l->quantity, l->sku, l->consumable,
                  lt.unit, lt.amount);
    rs_buf_printf(&text, "      rule %s%s%s\n", l->rule ? l->rule : "default",
                  lt.fig.len ? ": " : "", lt.fig.len ? lt.fig.data : "");
    rs_buf_puts(&html, "<tr><td>");
    esc(&html, l->sku);
    rs_buf_puts(&html, "<br><small>");
    esc(&html, l->consumable);
    rs_buf_printf(&html, "</small></td><td>%" PRId64 "</td><td>", l->quantity);
    esc(&html, lt.unit);
    rs_buf_puts(&html, "</td><td>");
    esc(&html, lt.amount);
    rs_buf_puts(&html, "</td><td>rule ");
    esc(&html, l->rule ? l->rule : "default");
    if(lt.fig.len) {
      rs_buf_puts(&html, ": ");
      esc(&html, lt.fig.data);
    }
    rs_buf_puts(&html, "</td></tr>\n");
    rs_buf_free(&lt.fig);
  }
  rs_buf_printf(&text, "Total: %s\n\n", total);
  rs_buf_puts(&html, "</table>\n<p>Total: <b>");
  esc(&html, total);
  rs_buf_puts(&html, "</b></p>\n");

  rs_buf_printf(&text,
                "To approve or reject, open this link. It shows the order; nothing is decided\n"
                "until you press Approve or Reject on that page.\n\n%s\n\n"
                "The link works once, for you (%s), until %s.\n",
                link.data, approver, until);
  rs_buf_puts(&html, "<p>To approve or reject, open this link. It shows the order; nothing is "
                     "decided until you press Approve or Reject on that page.</p>\n<p><a href=\"");
  esc(&html, link.data);
  rs_buf_puts(&html, "\">");
  esc(&html, link.data);
  rs_buf_puts(&html, "</a></p>\n<p>The link works once, for you (");
  esc(&html, approver);
  rs_buf_puts(&html, "), until ");
  esc(&html, until);
  rs_buf_puts(&html, ".</p>\n");

  rs_buf_printf(&text, "\n-- \nrestock gateway %s%s%s%s\n", cfg->gateway.id ? cfg->gateway.id : "",
                cfg->gateway.site ? " (" : "", cfg->gateway.site ? cfg->gateway.site : "",
                cfg->gateway.site ? ")" : "");
  rs_buf_puts(&html, "<hr><p><small>restock gateway ");
  esc(&html, cfg->gateway.id ? cfg->gateway.id : "");
  if(cfg->gateway.site) {
    rs_buf_puts(&html, " (");
    esc(&html, cfg->gateway.site);
    rs_buf_puts(&html, ")");
  }
  rs_buf_puts(&html, "</small></p>\n</body></html>\n");

  memset(&m, 0, sizeof(m));
  m.from = cfg->mail.from;
  m.to = approver;
  m.subject = subj.data;
  m.text = text.data;
  m.html = html.data;
  m.msgid_domain = cfg->gateway.id;
  m.date_ms = now_ms;
  rc = subj.oom || text.oom || html.oom || link.oom ? -1 : mail_build(&m, msg, err, sizeof(err));
  if(rc)
    log_err("order %s: cannot build the approval mail to %s: %s", o->order.id, approver,
            subj.oom || text.oom || html.oom || link.oom ? "out of memory" : err);
  approve_reasons_free(reasons, nr);
  rs_buf_free(&subj);
  rs_buf_free(&text);
  rs_buf_free(&html);
  rs_buf_free(&link);
  return rc;
}

/* ---- links for pending orders --------------------------------------------- */

/*
 * Call fn for each order in `filter`'s state (newest first, at most limit)
 * that is still in it when read; what names the job in the log. Returns the
 * listing's error, else the first error fn reported in *first.
 */
typedef void (*order_fn)(struct store *st, const struct cfg *cfg,
                         const struct store_order_full *o, int64_t now_ms, enum rs_err *first);
static enum rs_err each_order(struct store *st, const struct cfg *cfg, enum store_ids_filter filter,
                              enum store_order_state state, size_t limit, const char *what,
                              int64_t now_ms, order_fn fn)
{
  struct store_order_ids l = {0};
  enum rs_err rc, first = RS_OK;
  size_t i;
  rc = store_list_order_ids(st, filter, limit, &l);
  if(rc) {
    log_err("%s: cannot list the %s orders: %s", what, store_order_state_name(state),
            store_errmsg(st));
    return rc;
  }
  for(i = 0; i < l.n; i++) {
    struct store_order_full *o = NULL;
    if(store_get_order(st, l.ids[i], &o) == RS_OK && o->order.state == state)
      fn(st, cfg, o, now_ms, &first);
    store_order_full_free(o);
  }
  free(l.ids);
  return first;
}

/* The link of approver for o: create the approvals row and queue the mail when new. */
static enum rs_err ensure_link(struct store *st, const struct cfg *cfg,
                               const struct store_order_full *o, const char *approver,
                               int64_t now_ms)
{
  char token[TOKEN_TEXT_MAX + 1], hash[TOKEN_HASH_HEX];
  struct store_approval a;
  enum rs_err rc;
  int64_t expires = approve_link_expiry(cfg, o);
  char *msg = NULL;
  bool reminded = false;

  if(approve_token_for(cfg, o, approver, token, sizeof(token), hash))
    return RS_OK; /* logged; no secret, no links */
  rc = store_get_approval(st, hash, &a);
  if(rc == RS_OK) {
    /* known link: perhaps a reminder is due */
    int64_t remind = cfg->orders.approval.remind_before_ms;
    bool due = remind > 0 && !a.used_at_ms && now_ms < expires && now_ms >= expires - remind &&
               a.created_ms < expires - remind;
    store_approval_free(&a);
    if(!due)
      return RS_OK;
    rc = store_mail_exists(st, "reminder", hash, &reminded);
    if(rc || reminded)
      return rc;
    if(build_mail(st, cfg, o, approver, token, true, now_ms, &msg))
      return RS_OK;
    rc = store_mail_queue(st, "reminder", hash, o->order.id, approver, msg, now_ms, NULL);
    if(!rc)
      log_info("order %s: reminder to %s queued (the link expires in %" PRId64 " min)",
               o->order.id, approver, (expires - now_ms) / 60000);
    free(msg);
    return rc == RS_ERR_CONFLICT ? RS_OK : rc;
  }
  if(rc != RS_ERR_NOT_FOUND)
    return rc;
  if(now_ms >= expires)
    return RS_OK; /* too late to ask; the pipeline expires the order */
  if(build_mail(st, cfg, o, approver, token, false, now_ms, &msg))
    return RS_OK;
  rc = store_begin(st);
  if(!rc)
    rc = store_add_approval(st, o->order.id, approver, hash, expires, now_ms);
  if(!rc)
    rc = store_mail_queue(st, "approval", hash, o->order.id, approver, msg, now_ms, NULL);
  if(rc)
    (void)store_rollback(st);
  else
    rc = store_commit(st);
  if(!rc)
    log_notice("order %s: approval link for %s queued (valid until the order expires)",
               o->order.id, approver);
  free(msg);
  return rc;
}

/* order_fn: the links of every approver for pending order o. */
static void links_of(struct store *st, const struct cfg *cfg, const struct store_order_full *o,
                     int64_t now_ms, enum rs_err *first)
{
  size_t k;
  for(k = 0; k < cfg->orders.approval.n_approvers; k++) {
    enum rs_err rc = ensure_link(st, cfg, o, cfg->orders.approval.approvers[k], now_ms);
    if(rc) {
      log_rl(LOG_LVL_ERR, "store-mail", "order %s: cannot queue the approval mail to %s: %s",
             o->order.id, cfg->orders.approval.approvers[k], store_errmsg(st));
      if(!*first)
        *first = rc;
    }
  }
}

static enum rs_err make_links(struct store *st, const struct cfg *cfg, int64_t now_ms)
{
  return each_order(st, cfg, STORE_IDS_PENDING, STORE_ORDER_PENDING_APPROVAL, 0, "approval links",
                    now_ms, links_of);
}

/* ---- expired requests (SPEC 7) -------------------------------------------- */

/*
 * The one mail to approver about o, which expired without a decision:
 * its parts, their predicted empty dates, and what happens now (the parts
 * are held for redraft_after unless they run out before a delivery could
 * arrive). Returns 0 and *msg (malloc'd), or -1 (logged).
 */
static int build_expired_mail(const struct cfg *cfg, const struct store_order_full *o,
                              const char *approver, int64_t now_ms, char **msg)
{
  struct rs_buf subj = {0}, text = {0};
  char err[256], t[40];
  struct mail_msg m;
  size_t i;
  int rc;
  int64_t days = cfg->orders.approval.redraft_after_ms / 86400000;

  subject_prefix(cfg, &subj);
  rs_buf_printf(&subj, " Approval expired: order %s", o->order.id);
  rs_buf_printf(&text,
                "Order %s for supplier %s expired without a decision; nothing was ordered.\n\n",
                o->order.id, o->order.supplier ? o->order.supplier : "?");
  rs_buf_puts(&text, "Parts:\n");
  for(i = 0; i < o->n_lines; i++) {
    const struct store_order_line *l = &o->lines[i];
    rs_buf_printf(&text, "  %" PRId64 " x %s for %s", l->quantity, l->sku, l->consumable);
    if(l->need_by_ms > 0) {
      clock_format_rfc3339(l->need_by_ms, t, sizeof(t));
      rs_buf_printf(&text, ": predicted empty %s", t);
    }
    rs_buf_puts(&text, "\n");
  }
  rs_buf_printf(&text,
                "\nThese parts are held: no new request is made for them for %" PRId64
                " day%s (orders.approval.redraft_after), unless one would run out before a\n"
                "delivery could arrive; then one urgent order is drafted and you get one new\n"
                "request. To order now, release a part:\n"
                "  restockctl consumables release DEVICE/CONSUMABLE\n",
                days, days == 1 ? "" : "s");
  rs_buf_printf(&text, "\n-- \nrestock gateway %s%s%s%s\n", cfg->gateway.id ? cfg->gateway.id : "",
                cfg->gateway.site ? " (" : "", cfg->gateway.site ? cfg->gateway.site : "",
                cfg->gateway.site ? ")" : "");
  memset(&m, 0, sizeof(m));
  m.from = cfg->mail.from;
  m.to = approver;
  m.subject = subj.data;
  m.text = text.data;
  m.msgid_domain = cfg->gateway.id;
  m.date_ms = now_ms;
  *msg = NULL;
  rc = subj.oom || text.oom ? -1 : mail_build(&m, msg, err, sizeof(err));
  if(rc)
    log_err("order %s: cannot build the expiry mail to %s: %s", o->order.id, approver,
            subj.oom || text.oom ? "out of memory" : err);
  rs_buf_free(&subj);
  rs_buf_free(&text);
  return rc;
}

/*
 * order_fn: queue one mail per approver for o when it expired within
 * link_ttl before now_ms (kind "expired", ref ORDER/APPROVER: at most one
 * each).
 */
static void expired_of(struct store *st, const struct cfg *cfg, const struct store_order_full *o,
                       int64_t now_ms, enum rs_err *first)
{
  size_t k;
  if(o->order.updated_ms < now_ms - cfg->orders.approval.link_ttl_ms)
    return;
  for(k = 0; k < cfg->orders.approval.n_approvers; k++) {
    const char *who = cfg->orders.approval.approvers[k];
    char ref[STORE_ORDER_ID_MAX + 300], *msg = NULL;
    bool sent = false;
    enum rs_err rc;
    if(rs_snprintf(ref, sizeof(ref), "%s/%s", o->order.id, who))
      continue;
    rc = store_mail_exists(st, "expired", ref, &sent);
    if(rc || sent || build_expired_mail(cfg, o, who, now_ms, &msg))
      continue;
    rc = store_mail_queue(st, "expired", ref, o->order.id, who, msg, now_ms, NULL);
    if(!rc)
      log_notice("order %s: expiry mail to %s queued", o->order.id, who);
    else if(!*first && rc != RS_ERR_CONFLICT)
      *first = rc;
    free(msg);
  }
}

static enum rs_err expired_mails(struct store *st, const struct cfg *cfg, int64_t now_ms)
{
  return each_order(st, cfg, STORE_IDS_EXPIRED, STORE_ORDER_EXPIRED, 50, "expiry mails", now_ms,
                    expired_of);
}

/* ---- the outbox ----------------------------------------------------------- */

/* Real-time backoff before attempt number attempts + 1 (attempts >= 1). */
static int64_t backoff_ms(int64_t attempts, bool config_error)
{
  int64_t base = g.backoff_base_ms > 0 ? g.backoff_base_ms : APPROVE_BACKOFF_BASE_MS;
  int64_t cap = g.backoff_cap_ms > 0 ? g.backoff_cap_ms : APPROVE_BACKOFF_CAP_MS;
  int64_t d = base;
  if(config_error)
    return cap < 600000 ? cap : 600000; /* someone must act: try every 10 min at most */
  while(attempts-- > 1 && d < cap)
    d *= 2;
  return d < cap ? d : cap;
}

static void mail_job_free(struct mail_job *j)
{
  store_mail_free(&j->m);
  free(j);
}

void approve_set_loop(struct evloop *loop)
{
  size_t i;
  mail_sender_free(g.sender); /* abandons what is in flight: it stays in the outbox */
  g.sender = NULL;
  for(i = 0; i < g.n_jobs; i++)
    mail_job_free(g.jobs[i]);
  FREE_NULL(g.jobs);
  g.n_jobs = 0;
  if(!loop) { /* the end: what the database never took is forgotten */
    FREE_NULL(g.unrec);
    g.n_unrec = 0;
  }
  if(loop) {
    g.sender = mail_sender_new(loop, 0);
    if(!g.sender)
      log_err("mail: cannot set up the non-blocking sender; sending blocks the loop");
  }
}

static void on_mail_sent(void *ud, enum mail_result r, const char *err)
{
  struct mail_job *j = ud;
  j->done = true;
  j->r = r;
  (void)rs_strlcpy(j->err, err, sizeof(j->err));
}

/* Drop entry i of g.unrec. */
static void unrec_drop(size_t i)
{
  memmove(&g.unrec[i], &g.unrec[i + 1], (g.n_unrec - i - 1) * sizeof(*g.unrec));
  if(!--g.n_unrec)
    FREE_NULL(g.unrec);
}

/* Remember mail id's attempt at now_ms that the database did not record (retry_ms: above). */
static void unrec_add(int64_t id, int64_t now_ms, int64_t retry_ms)
{
  g.unrec = rs_xrealloc(g.unrec, (g.n_unrec + 1) * sizeof(*g.unrec));
  g.unrec[g.n_unrec].id = id;
  g.unrec[g.n_unrec].sent_ms = now_ms;
  g.unrec[g.n_unrec++].retry_ms = retry_ms;
}

/*
 * Whether mail id must not be sent now: it was sent but "sent" is not in the
 * database yet, or a failed attempt not recorded waits for its backoff (a
 * failure whose backoff is over is forgotten: the mail is tried again).
 */
static bool unrecorded(int64_t id, int64_t now_ms)
{
  size_t i;
  for(i = 0; i < g.n_unrec; i++)
    if(g.unrec[i].id == id) {
      if(!g.unrec[i].retry_ms || now_ms < g.unrec[i].retry_ms)
        return true;
      unrec_drop(i);
      return false;
    }
  return false;
}

/*
 * Try again to mark the mails sent that the database refused (g.unrec);
 * those it takes (or no longer has unsent) leave the list. Stops at the
 * first other failure: the database is still not writable.
 */
static void record_unrecorded(struct store *st)
{
  size_t i = 0;
  while(i < g.n_unrec) {
    enum rs_err rc;
    if(g.unrec[i].retry_ms) {
      i++; /* a failed attempt: nothing to record, its backoff is kept in memory */
      continue;
    }
    rc = store_mail_sent(st, g.unrec[i].id, g.unrec[i].sent_ms);
    if(rc && rc != RS_ERR_NOT_FOUND)
      return;
    unrec_drop(i);
  }
}

/* Record the outcome r (err) of the attempt on mail m at now_ms. */
static enum rs_err mail_outcome(struct store *st, const struct store_mail *m, enum mail_result r,
                                const char *err, int64_t now_ms, double scale)
{
  enum rs_err rc;
  if(r == MAIL_SENT) {
    rc = store_mail_sent(st, m->id, now_ms);
    log_notice("mail: %s mail for order %s sent to %s%s", m->kind, m->order_id ? m->order_id : "-",
               m->recipient, m->attempts ? " (after retries)" : "");
    if(rc && rc != RS_ERR_NOT_FOUND) {
      /* sent is sent: without this it went out again at every tick while the disk is full */
      unrec_add(m->id, now_ms, 0);
      log_rl(LOG_LVL_ERR, "mail-sent-unrecorded",
             "mail: %s mail for order %s to %s was sent but the database cannot record it (%s); "
             "it is not sent again while restockd runs (a restart before the database is "
             "writable sends it once more)",
             m->kind, m->order_id ? m->order_id : "-", m->recipient, store_errmsg(st));
      return rc;
    }
  }
  else {
    int64_t d = backoff_ms(m->attempts + 1, r == MAIL_CONFIG);
    double scaled = (double)d * (scale > 0 ? scale : 1.0);
    int64_t next = now_ms + (scaled > 9e15 ? INT64_C(9000000000000000) : (int64_t)scaled);
    rc = store_mail_failed(st, m->id, next, err, now_ms);
    if(rc && rc != RS_ERR_NOT_FOUND)
      unrec_add(m->id, now_ms, next > now_ms ? next : now_ms + 1); /* not again at every tick */
    if(r == MAIL_CONFIG)
      log_err("mail: %s mail for order %s to %s not sent: %s; retrying in %.1f s", m->kind,
              m->order_id ? m->order_id : "-", m->recipient, err, (double)d / 1000.0);
    else
      log_warn("mail: %s mail for order %s to %s not sent: %s; retrying in %.1f s", m->kind,
               m->order_id ? m->order_id : "-", m->recipient, err, (double)d / 1000.0);
  }
  if(rc)
    log_rl(LOG_LVL_ERR, "store-mail", "mail outbox: %s", store_errmsg(st));
  return rc;
}

/* Non-blocking: record the results that came back, then start due mails not on their way. */
static enum rs_err send_due_async(struct store *st, const struct cfg *cfg, int64_t now_ms,
                                  double scale)
{
  struct store_rows l = {0};
  struct mail_settings ms;
  char from[320];
  enum rs_err rc = RS_OK, r2;
  size_t i = 0, k;

  while(i < g.n_jobs) {
    struct mail_job *j = g.jobs[i];
    if(!j->done) {
      i++;
      continue;
    }
    r2 = mail_outcome(st, &j->m, j->r, j->err, now_ms, scale);
    if(!rc)
      rc = r2;
    mail_job_free(j);
    memmove(&g.jobs[i], &g.jobs[i + 1], (g.n_jobs - i - 1) * sizeof(*g.jobs));
    g.n_jobs--;
  }
  record_unrecorded(st);
  r2 =
      store_mail_list(st, true, now_ms, APPROVE_MAILS_PER_TICK + g.n_jobs, store_mails_collect, &l);
  if(r2) {
    log_rl(LOG_LVL_ERR, "store-mail", "mail outbox: %s", store_errmsg(st));
    return r2;
  }
  mail_settings_from_cfg(cfg, &ms);
  mail_sender_set_max(g.sender, (unsigned)cfg->mail.max_in_flight);
  if(mail_address(cfg->mail.from, from, sizeof(from)))
    (void)rs_strlcpy(from, "restock@localhost", sizeof(from));
  for(i = 0; i < l.n; i++) {
    struct store_mail *m = &l.v.mails[i];
    struct mail_job *j;
    bool out = false;
    for(k = 0; k < g.n_jobs && !out; k++)
      out = g.jobs[k]->m.id == m->id;
    if(out || unrecorded(m->id, now_ms) || g.n_jobs >= APPROVE_MAILS_PER_TICK)
      continue;
    j = rs_xcalloc(1, sizeof(*j));
    j->m = *m;
    memset(m, 0, sizeof(*m)); /* its strings move into the job */
    g.jobs = rs_xrealloc(g.jobs, (g.n_jobs + 1) * sizeof(*g.jobs));
    g.jobs[g.n_jobs++] = j;
    if(mail_send_start(g.sender, &ms, from, j->m.recipient, j->m.message, on_mail_sent, j)) {
      g.n_jobs--;
      mail_job_free(j);
    }
    else
      FREE_NULL(j->m.message); /* the sender has its own copy */
  }
  store_rows_free(&l);
  return rc;
}

static enum rs_err send_due(struct store *st, const struct cfg *cfg, int64_t now_ms, double scale)
{
  struct store_rows l = {0};
  struct mail_settings ms;
  char from[320];
  enum rs_err rc;
  size_t i;

  if(g.sender)
    return send_due_async(st, cfg, now_ms, scale);
  record_unrecorded(st);
  rc = store_mail_list(st, true, now_ms, APPROVE_MAILS_PER_TICK, store_mails_collect, &l);
  if(rc) {
    log_rl(LOG_LVL_ERR, "store-mail", "mail outbox: %s", store_errmsg(st));
    return rc;
  }
  if(!l.n)
    return RS_OK;
  mail_settings_from_cfg(cfg, &ms);
  if(mail_address(cfg->mail.from, from, sizeof(from)))
    (void)rs_strlcpy(from, "restock@localhost", sizeof(from));
  for(i = 0; i < l.n && !rc; i++) {
    struct store_mail *m = &l.v.mails[i];
    char err[512];
    enum mail_result r;
    if(unrecorded(m->id, now_ms))
      continue;
    r = mail_send(&ms, from, m->recipient, m->message, err, sizeof(err));
    rc = mail_outcome(st, m, r, err, now_ms, scale);
  }
  store_rows_free(&l);
  return rc;
}

enum rs_err approve_tick_at(struct store *st, const struct cfg *cfg, int64_t now_ms, double scale)
{
  enum rs_err rc = RS_OK, rc2;
  if(!st || !cfg)
    return RS_ERR_INVALID;
  if(cfg->orders.approval.n_approvers) {
    if(!cfg->mail.set || !cfg->mail.smtp_url) {
      if(!g.warned_setup)
        log_err("approval links: orders.approval.approvers is set but mail.smtp_url is not: "
                "pending orders wait for a decision on the dashboard or restockctl");
      g.warned_setup = true;
    }
    else {
      rc = make_links(st, cfg, now_ms);
      rc2 = expired_mails(st, cfg, now_ms);
      if(!rc)
        rc = rc2;
    }
  }
  if(cfg->mail.set && cfg->mail.smtp_url) {
    rc2 = send_due(st, cfg, now_ms, scale);
    if(!rc)
      rc = rc2;
  }
  return rc;
}

void approval_tick(struct store *st, const struct cfg *cfg, const struct rs_clock *clk)
{
  int64_t real = clock_real_mono_ms();
  if(real < g.next_real_ms)
    return;
  g.next_real_ms = real + 1000;
  (void)approve_tick_at(st, cfg, clock_wall_ms(clk), clock_scale(clk));
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approve_http: the page behind an approval link, /approve/{token} (see
 * approve.h). GET shows; only the POST from the page decides.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/approve.h"
#include "base/codec.h"
#include "base/escape.h"
#include "gateway/approve_int.h"
#include "base/log.h"
#include "gateway/token.h"

static void esc(struct rs_buf *o, const char *s)
{
  escape_html(o, s);
}

/* "2026-12-01 17:51 UTC" */
static void when(struct rs_buf *o, int64_t ms)
{
  char t[40];
  clock_format_minute(ms, t, sizeof(t));
  esc(o, t);
}

/* The approval pages use the status pages' frame: no link home, not indexed, no refresh. */
static void page_start(struct rs_buf *o, const struct cfg *cfg, const char *title)
{
  struct html_frame f;
  memset(&f, 0, sizeof(f));
  f.title = title;
  f.cfg = cfg;
  f.noindex = true;
  html_page_start(o, &f);
}

static void page_end(struct rs_buf *o)
{
  struct html_frame f;
  memset(&f, 0, sizeof(f));
  f.footer = "restock approval link";
  html_page_end(o, &f);
}

/* A refusal or notice page: status, title, what happened, what to do. */
static void message(struct approve_http_resp *out, const struct cfg *cfg, unsigned status,
                    const char *title, const char *what, const char *todo)
{
  out->status = status;
  page_start(&out->body, cfg, title);
  rs_buf_printf(&out->body, "<div class=\"card%s\" id=\"outcome\" data-status=\"%u\"><h2>",
                status >= 400 ? " pending" : "", status);
  esc(&out->body, title);
  rs_buf_puts(&out->body, "</h2><p>");
  esc(&out->body, what);
  rs_buf_puts(&out->body, "</p>");
  if(todo) {
    rs_buf_puts(&out->body, "<p>");
    esc(&out->body, todo);
    rs_buf_puts(&out->body, "</p>");
  }
  rs_buf_puts(&out->body, "</div>\n");
  page_end(&out->body);
}

struct asked {
  struct rs_buf *o;
  size_t n;
};

static int list_asked(void *ud, const struct store_approval *a)
{
  struct asked *x = ud;
  rs_buf_puts(x->o, x->n ? ", " : "");
  esc(x->o, a->approver);
  x->n++;
  return 0;
}

/* The order card: lines, total, reasons, who is asked and until when. */
static void order_card(struct rs_buf *o, struct store *st, struct pipeline *pl,
                       const struct cfg *cfg, const struct store_order_full *of,
                       int64_t expires_ms, int64_t now_ms)
{
  char total[64];
  char **reasons = NULL;
  size_t i, nr = approve_reasons(st, of->order.id, &reasons);
  struct asked ax = {o, 0};

  approve_money(of->order.currency, of->order.total, total, sizeof(total));
  rs_buf_puts(o, "<div class=\"card pending\"><h2>Order ");
  esc(o, of->order.id);
  rs_buf_puts(o, "</h2>\n<div class=\"figs\"><div>Supplier<b>");
  esc(o, of->order.supplier ? of->order.supplier : "?");
  rs_buf_puts(o, "</b></div><div>Total<b class=\"num\" id=\"total\">");
  esc(o, total);
  rs_buf_puts(o, "</b></div><div>Link valid until<b>");
  when(o, expires_ms);
  rs_buf_puts(o, "</b></div>");
  {
    /* SPEC 8: the approval page shows the month-to-date spend */
    int64_t spent = 0;
    char a[64], b[64];
    if(pl && pipeline_month_spend(pl, now_ms, &spent) == RS_OK) {
      approve_money(of->order.currency, spent, a, sizeof(a));
      rs_buf_puts(o, "<div>Spent this month<b class=\"num\" id=\"month-spend\">");
      esc(o, a);
      if(cfg && cfg->orders.approval.monthly_budget.set) {
        approve_money(of->order.currency, cfg->orders.approval.monthly_budget.minor, b,
                      sizeof(b));
        rs_buf_puts(o, " of ");
        esc(o, b);
      }
      rs_buf_puts(o, "</b></div>");
    }
  }
  rs_buf_puts(o, "</div>\n");
  if(nr) {
    rs_buf_puts(o, "<p>Why it needs a person:</p><ul id=\"reasons\">");
    for(i = 0; i < nr; i++) {
      rs_buf_puts(o, "<li>");
      esc(o, reasons[i]);
      rs_buf_puts(o, "</li>");
    }
    rs_buf_puts(o, "</ul>\n");
  }
  approve_reasons_free(reasons, nr);
  rs_buf_puts(o, "<div class=\"scroll\"><table><tr><th>Item</th><th>Qty</th>"
                 "<th class=\"wide\">Unit price</th><th>Amount</th><th>Rule and figures</th></tr>\n");
  for(i = 0; i < of->n_lines; i++) {
    const struct store_order_line *l = &of->lines[i];
    struct approve_line_text lt;
    approve_line_text(l, &lt);
    rs_buf_puts(o, "<tr><td>");
    esc(o, l->sku);
    rs_buf_puts(o, "<br><span class=\"muted\">");
    esc(o, l->consumable);
    rs_buf_printf(o, "</span></td><td class=\"num\">%" PRId64 "</td><td class=\"num wide\">",
                  l->quantity);
    esc(o, lt.unit);
    rs_buf_puts(o, "</td><td class=\"num\">");
    esc(o, lt.amount);
    rs_buf_puts(o, "</td><td>");
    esc(o, l->rule ? l->rule : "default");
    if(lt.fig.len) {
      rs_buf_puts(o, "<br><span class=\"muted\">");
      esc(o, lt.fig.data);
      rs_buf_puts(o, "</span>");
    }
    rs_buf_puts(o, "</td></tr>\n");
    rs_buf_free(&lt.fig);
  }
  rs_buf_puts(o, "</table></div>\n<p class=\"muted\">Asked: ");
  (void)store_list_approvals(st, of->order.id, list_asked, &ax);
  rs_buf_puts(o, ". The first decision counts.</p></div>\n");
}

/* Move the order: the one place that knows how a decision reaches the pipeline. */
static enum rs_err decide_order(struct pipeline *pl, const struct cfg *cfg,
                                const char *order_id, bool approve, const char *actor,
                                const char *source, int64_t now_ms)
{
  return approve ? pipeline_approve(pl, cfg, order_id, actor, source, now_ms)
                 : pipeline_reject(pl, cfg, order_id, actor, source, now_ms);
}

/* Whether the form's CSRF token is the one of this session and page. */
static bool csrf_ok(const struct approve_http_req *rq)
{
  char want[80];
  size_t n;
  if(!rq->csrf || !rq->csrf_given)
    return false;
  want[0] = '\0';
  rq->csrf(rq->csrf_ud, rq->path, want, sizeof(want));
  n = strlen(want);
  return n && strlen(rq->csrf_given) == n && codec_ct_memcmp(want, rq->csrf_given, n) == 0;
}

/*
 * Where else the order can be decided: the dashboard only with http.admin
 * (SPEC 11); without it, restockctl on the gateway.
 */
static const char *todo_decide(const struct cfg *cfg)
{
  return cfg->http.admin_set
             ? "You can still decide on the gateway's dashboard, or ask for a new mail."
             : "The gateway's administrator can still decide it (restockctl orders approve or "
               "reject), or you can ask for a new mail.";
}

/* The page for a token that is malformed or not signed by this gateway. */
static void refuse_forged(struct approve_http_resp *out, const struct cfg *cfg)
{
  message(out, cfg, 403, "This link is not valid",
          "The approval link is damaged or was not made by this gateway, so nothing was "
          "changed.",
          cfg->http.admin_set
              ? "Open the link from the mail again, making sure the whole address was copied. "
                "If it still fails, decide on the gateway's dashboard."
              : "Open the link from the mail again, making sure the whole address was copied. "
                "If it still fails, ask the gateway's administrator (restockctl orders "
                "approve or reject).");
}

void approve_http_handle(struct store *st, struct pipeline *pl, const struct cfg *cfg,
                         int64_t now_ms, const struct approve_http_req *rq,
                         struct approve_http_resp *out)
{
  const unsigned char *key;
  struct token t;
  struct store_approval a;
  struct store_order_full *o = NULL;
  char hash[TOKEN_HASH_HEX], msg[512], actor[400];
  unsigned char lh[TOKEN_HASH_LEN], ah[TOKEN_HASH_LEN];
  bool post = rq->method && !strcmp(rq->method, "POST");
  enum rs_err rc;

  memset(out, 0, sizeof(*out));
  memset(&a, 0, sizeof(a));
  if(token_parse(rq->token, &t)) {
    log_rl(LOG_LVL_WARNING, "approval-link-refused",
           "approval link refused: malformed token (from %s)", rq->source ? rq->source : "?");
    refuse_forged(out, cfg);
    return;
  }
  key = approve_key(cfg);
  if(!key) {
    message(out, cfg, 500, "Approval links are not available",
            "The gateway cannot read its secret, so it cannot check this link.",
            "Tell the gateway's administrator (the log names the file).");
    return;
  }
  if(!token_verify(&t, key)) {
    log_rl(LOG_LVL_WARNING, "approval-link-refused",
           "approval link refused: bad signature (from %s)", rq->source ? rq->source : "?");
    refuse_forged(out, cfg);
    return;
  }
  if(post && !csrf_ok(rq)) {
    message(out, cfg, 403, "The form has expired",
            "This form's security token is missing or not valid (the page is too old, "
            "cookies are blocked, or the gateway restarted). Nothing was changed.",
            "Open the link from the mail again and press the button once more.");
    return;
  }
  token_hash_hex(rq->token, hash);
  rc = store_get_approval(st, hash, &a);
  if(rc == RS_ERR_NOT_FOUND) {
    message(out, cfg, 410, "This link is no longer known",
            "The gateway has no record of this link (its database was replaced since the "
            "mail was sent). Nothing was changed.",
            todo_decide(cfg));
    return;
  }
  if(rc) {
    log_err("approval link: %s", store_errmsg(st));
    message(out, cfg, 500, "Internal error", "The gateway cannot read its database.",
            "Try again in a minute.");
    return;
  }
  token_approver_hash(a.approver, ah);
  if(codec_ct_memcmp(ah, t.approver_hash, sizeof(ah))) {
    message(out, cfg, 403, "This link is not valid",
            "The link does not belong to the approver it was recorded for. Nothing was "
            "changed.",
            todo_decide(cfg));
    goto out;
  }
  if(a.used_at_ms) {
    struct rs_buf w = {0};
    when(&w, a.used_at_ms);
    (void)rs_snprintf(msg, sizeof(msg),
                      "This link was already used: %s chose \"%s\" on %s. A link works once; "
                      "nothing was changed now.",
                      a.decided_by ? a.decided_by : "?", a.decision ? a.decision : "?",
                      w.data ? w.data : "?");
    rs_buf_free(&w);
    message(out, cfg, 410, "This link was already used", msg,
            "The order's state is on the gateway's dashboard.");
    goto out;
  }
  if(now_ms >= t.expires_ms) {
    struct rs_buf w = {0};
    when(&w, t.expires_ms);
    (void)rs_snprintf(msg, sizeof(msg),
                      "This link expired on %s (orders.approval.link_ttl). Nothing was changed.",
                      w.data ? w.data : "?");
    rs_buf_free(&w);
    message(out, cfg, 410, "This link has expired", msg,
            "An order that nobody decided in time ends as expired; the next reorder starts a "
            "new one.");
    goto out;
  }
  rc = store_get_order(st, t.order_id, &o);
  if(rc) {
    message(out, cfg, 410, "This order is gone",
            "The order this link names is not in the gateway's database. Nothing was changed.",
            todo_decide(cfg));
    goto out;
  }
  if(o->order.state != STORE_ORDER_PENDING_APPROVAL) {
    (void)rs_snprintf(msg, sizeof(msg),
                      "Order %s is %s now, so it no longer waits for a decision. Nothing was "
                      "changed.",
                      o->order.id, store_order_state_name(o->order.state));
    message(out, cfg, 410, "This order was already decided", msg,
            "The order's history is on the gateway's dashboard.");
    goto out;
  }
  token_lines_hash(o->lines, o->n_lines, lh);
  if(codec_ct_memcmp(lh, t.lines_hash, sizeof(lh))) {
    message(out, cfg, 410, "This link was superseded",
            "The order's lines changed after this mail was sent, so this link no longer "
            "decides it. Nothing was changed.",
            "A new mail with the current lines goes to every approver: use the link in it.");
    goto out;
  }

  if(!post) {
    char csrf[80];
    out->status = 200;
    page_start(&out->body, cfg, "Approval needed");
    order_card(&out->body, st, pl, cfg, o, t.expires_ms, now_ms);
    csrf[0] = '\0';
    if(rq->csrf)
      rq->csrf(rq->csrf_ud, rq->path, csrf, sizeof(csrf));
    rs_buf_puts(&out->body, "<div class=\"card\"><p>You decide as <b>");
    esc(&out->body, a.approver);
    rs_buf_puts(&out->body, "</b>. Nothing happens until you press a button.</p>"
                            "<form method=\"post\" action=\"");
    esc(&out->body, rq->path);
    rs_buf_puts(&out->body, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
    esc(&out->body, csrf);
    rs_buf_puts(&out->body,
                "\"><button type=\"submit\" name=\"decision\" value=\"approve\" class=\"approve\" "
                "id=\"approve\">Approve</button> <button type=\"submit\" name=\"decision\" "
                "value=\"reject\" class=\"reject\" id=\"reject\">Reject</button></form></div>\n");
    page_end(&out->body);
    goto out;
  }

  if(!rq->decision || (strcmp(rq->decision, "approve") && strcmp(rq->decision, "reject"))) {
    message(out, cfg, 400, "No decision",
            "The form did not say approve or reject. Nothing was changed.",
            "Open the link from the mail again and press one of the buttons.");
    goto out;
  }
  {
    bool approve = !strcmp(rq->decision, "approve");
    struct rs_buf d = {0};
    (void)rs_snprintf(actor, sizeof(actor), "approver:%s", a.approver);
    rc = store_begin(st);
    if(rc)
      goto fail;
    rc = store_use_approval(st, hash, a.approver, rq->decision, rq->source, rq->user_agent,
                            now_ms, NULL, 0);
    if(!rc)
      rc = decide_order(pl, cfg, o->order.id, approve, actor, rq->source, now_ms);
    if(!rc) {
      rs_buf_printf(&d, "order %s %s by email link; approver %s; source %s; user agent %s",
                    o->order.id, approve ? "approved" : "rejected", a.approver,
                    rq->source ? rq->source : "?", rq->user_agent ? rq->user_agent : "-");
      rc = store_audit(st, now_ms, actor, "approval_link", d.oom ? o->order.id : d.data);
    }
    rs_buf_free(&d);
    if(rc) {
      (void)store_rollback(st);
      if(rc == RS_ERR_CONFLICT || rc == RS_ERR_TIMEOUT) {
        message(out, cfg, 410, "This link can no longer decide",
                "Someone decided this order, or the link expired, a moment before you. Nothing "
                "was changed.",
                "The order's state is on the gateway's dashboard.");
        goto out;
      }
      goto fail;
    }
    rc = store_commit(st);
    if(rc)
      goto fail;
    log_notice("order %s %s by %s from %s (email link)", o->order.id,
               approve ? "approved" : "rejected", a.approver, rq->source ? rq->source : "?");
    (void)rs_snprintf(msg, sizeof(msg), "Order %s was %s by %s. Thank you.", o->order.id,
                      approve ? "approved" : "rejected", a.approver);
    message(out, cfg, 200, approve ? "Order approved" : "Order rejected", msg,
            approve ? "It is placed with the shop next. This link cannot be used again."
                    : "Nothing will be ordered. This link cannot be used again.");
    goto out;
  }
fail:
  log_err("approval link for order %s: cannot record the decision: %s", o->order.id,
          store_errmsg(st));
  message(out, cfg, 500, "Internal error",
          "The decision could not be recorded, so nothing was changed.", "Try again in a minute.");
out:
  store_order_full_free(o);
  store_approval_free(&a);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approve: approval by email (SPEC section 10, docs/approvals.md).
 *
 *   approval_tick()   from the daemon's step: for every order in
 *                     pending_approval, one signed link (gateway/token.h)
 *                     per approver in orders.approval.approvers, recorded in
 *                     the approvals table and mailed through the mail_outbox
 *                     table; a reminder remind_before the link expires; due
 *                     mails of the outbox are sent (adapters/mail.h) with
 *                     exponential backoff, so a down mail server delays a
 *                     mail but never loses it.
 *   approve_http_handle()  GET /approve/{token} shows the order and two
 *                     buttons; only the POST from that page (with its CSRF
 *                     token) decides, through pipeline_approve/reject. The
 *                     HTTP layer (gateway/http.c) does the transport.
 *
 * A link is made again from the order's current lines at every tick: when
 * the lines of a pending order change, the old links stop working
 * ("superseded") and new mails go out.
 *
 * State: the secret (loaded once per secret file) and the backoff settings
 * are process-wide; one main-loop thread uses this module.
 */
#ifndef RS_APPROVE_H
#define RS_APPROVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "base/evloop.h"
#include "gateway/web/html.h"
#include "gateway/pipeline.h"
#include "gateway/store.h"

/* Default backoff of the mail outbox (real ms): first 5 s, doubling, at most 1 h. */
#define APPROVE_BACKOFF_BASE_MS 5000
#define APPROVE_BACKOFF_CAP_MS  3600000
/* Most mails started in one tick (without a loop each attempt blocks up to the SMTP timeout). */
#define APPROVE_MAILS_PER_TICK 8

/*
 * Load (creating on first start) the gateway's secret beside cfg's
 * storage.path and keep it for this process. Returns 0, or -1 with a
 * sentence in err (e.g. the file is readable by others): the daemon must
 * not start then.
 */
int approve_init(const struct cfg *cfg, char *err, size_t errlen);

/*
 * The daemon's hook, called from every daemon_core_step(): at most once per
 * real second, runs approve_tick_at() at clk's wall time. Never fails
 * (everything is logged and retried).
 */
void approval_tick(struct store *st, const struct cfg *cfg, const struct rs_clock *clk);

/*
 * One round at wall time now_ms (possibly scaled; scale = scaled ms per real
 * ms, for the real-time backoff): make and queue missing links, queue due
 * reminders, send due mails. Returns RS_OK or the first store error
 * (logged).
 */
enum rs_err approve_tick_at(struct store *st, const struct cfg *cfg, int64_t now_ms, double scale);

/*
 * Send mails on loop (borrowed; NULL: blocking, as tools and tests do):
 * approve_tick_at() starts due mails (at most MAIL_MAX_IN_FLIGHT on the
 * wire) and records the results that came back since the last round. A
 * mail in flight at exit stays unsent in the outbox and goes again after
 * the restart. Process-wide, like the rest of this module's state.
 */
void approve_set_loop(struct evloop *loop);

/* Outbox backoff in real ms (tests); base > 0, cap >= base. */
void approve_set_backoff(int64_t base_ms, int64_t cap_ms);

/* ---- the approval page ---------------------------------------------------- */

struct approve_http_req {
  const char *method;     /* "GET", "HEAD" or "POST" */
  const char *path;       /* "/approve/TOKEN" (the form's action) */
  const char *token;      /* TOKEN, as routed */
  const char *csrf_given; /* POST: the form's csrf field, NULL when missing */
  const char *decision;   /* POST: the form's decision field ("approve"/"reject"), or NULL */
  const char *source;     /* the client's address */
  const char *user_agent; /* or NULL */
  html_csrf_fn csrf;      /* the expected CSRF token for this session; NULL: no session */
  void *csrf_ud;
};

struct approve_http_resp {
  unsigned status;  /* 200, 400, 403, 410, 500 */
  struct rs_buf body; /* an HTML page (the caller frees it) */
};

/*
 * Answer one request to /approve/{token} at now_ms into *out. GET and HEAD
 * never write anything. A POST decides only with a valid token, a valid
 * CSRF token and a pending order whose lines are those of the mail; the
 * approvals row, the order's transition and an audit entry are written in
 * one transaction. Refusals: 403 bad signature or CSRF, 410 expired, used
 * or superseded, each a page that says what happened and what to do.
 */
void approve_http_handle(struct store *st, struct pipeline *pl, const struct cfg *cfg,
                         int64_t now_ms, const struct approve_http_req *rq,
                         struct approve_http_resp *out);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mail: building and sending one email (SPEC section 10, docs/approvals.md).
 * Pure of approval logic: the caller (gateway/approve.c) decides what to
 * send, stores the built message in its outbox and retries.
 *
 *   mail_build()  a MIME message: multipart/alternative with text/plain and
 *                 text/html (UTF-8, quoted-printable), Date (RFC 5322),
 *                 Message-ID <...@DOMAIN>, From, To, Subject (RFC 2047
 *                 encoded-words when not ASCII), CRLF line ends.
 *   mail_send()   one attempt over one transport:
 *                   smtp://HOST[:PORT]   STARTTLS required (CURLUSESSL_ALL)
 *                                        unless starttls is off
 *                   smtps://HOST[:PORT]  TLS from the first byte
 *                   file:///DIR          each message written as a file in
 *                                        DIR (air-gapped sites, the demo)
 *                 with AUTH from username + password_file (read at each
 *                 attempt, never logged). All timeouts are real time.
 *   mail_send_start()  the same on the event loop, never blocking.
 */
#ifndef RS_MAIL_H
#define RS_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/evloop.h"
#include "config/config.h"

struct mail_msg {
  const char *from;    /* header From: "addr" or "Name <addr>" (UTF-8 name is encoded) */
  const char *to;      /* one address */
  const char *subject; /* UTF-8 */
  const char *text;    /* the text/plain part, UTF-8, '\n' line ends */
  const char *html;    /* the text/html part, UTF-8; NULL: text/plain only */
  const char *msgid_domain; /* right side of the Message-ID (the gateway id) */
  int64_t date_ms;     /* Unix ms for the Date header */
};

/*
 * Build m into *out (malloc'd, NUL-terminated, CRLF line ends, ends with
 * CRLF). Returns 0, or -1 with a sentence in err (a header value with CR or
 * LF, a missing field, out of memory) and *out NULL.
 */
int mail_build(const struct mail_msg *m, char **out, char *err, size_t errlen);

/*
 * The address inside a From value ("Name <a@b>" -> "a@b", "a@b" -> "a@b")
 * into out. Returns 0, or -1 when there is none or it does not fit.
 */
int mail_address(const char *from, char *out, size_t size);

struct mail_settings {
  const char *url;           /* smtp://, smtps:// or file:// */
  bool starttls;             /* smtp:// only: require STARTTLS (default true) */
  const char *username;      /* NULL: no AUTH */
  const char *password_file; /* with username; relative to config_dir */
  const char *config_dir;    /* may be NULL */
  int64_t timeout_ms;        /* whole attempt; 0: 30 s */
};

/* Fill *s from cfg->mail (timeout: mail.timeout, 15 s by default). */
void mail_settings_from_cfg(const struct cfg *cfg, struct mail_settings *s);

enum mail_result {
  MAIL_SENT = 0, /* accepted by the server (or written to the directory) */
  MAIL_RETRY,    /* the server is down, slow or said try later */
  MAIL_CONFIG    /* a setting is wrong (no STARTTLS offered, login refused, bad URL,
                    unreadable password file): retried, but someone must act */
};

/*
 * Send message (as built by mail_build) from envelope sender from_addr to
 * rcpt, one attempt. Returns the result; err gets a sentence for anything
 * but MAIL_SENT (never the password).
 */
enum mail_result mail_send(const struct mail_settings *s, const char *from_addr, const char *rcpt,
                           const char *message, char *err, size_t errlen);

/*
 * The non-blocking sender: SMTP transactions on libcurl's multi interface on
 * the daemon's event loop (adapters/netio.h), at most max_in_flight on the
 * wire at once (the others wait in order; a transaction's timeouts start
 * when it goes on the wire). Name lookups use libcurl's threaded resolver,
 * bounded by the connect timeout. file:// URLs are written at once.
 */
struct mail_sender;

/* Called once per started mail with its result; err is "" when sent. */
typedef void (*mail_done_fn)(void *ud, enum mail_result r, const char *err);

/* Default max_in_flight (per mail server: restock has one). */
#define MAIL_MAX_IN_FLIGHT 2

/*
 * A sender on loop (borrowed); max_in_flight 0: MAIL_MAX_IN_FLIGHT. NULL on
 * failure. libcurl (and with it the TLS library) is set up with the first
 * mail, not here: an idle sender costs no RSS.
 */
struct mail_sender *mail_sender_new(struct evloop *loop, unsigned max_in_flight);
/* Put at most k (>= 1) transactions on the wire from now on (mail.max_in_flight). */
void mail_sender_set_max(struct mail_sender *ms, unsigned k);
/* Abandon what is in flight (callbacks never run) and free. NULL is fine. */
void mail_sender_free(struct mail_sender *ms);
/*
 * Start sending message (copied) as mail_send() would; done(ud, result,
 * err) runs once on the loop thread, maybe before this returns (file://,
 * settings refused). Returns 0, or -1 on allocation failure (no callback).
 */
int mail_send_start(struct mail_sender *ms, const struct mail_settings *s, const char *from_addr,
                    const char *rcpt, const char *message, mail_done_fn done, void *ud);

#endif

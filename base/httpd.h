/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd: what restockd's HTTP server (gateway/web/http.c, on base/httpd_srv)
 * checks and keeps beyond the protocol: the Host allow-list, Origin, form
 * fields, session cookies, the per-client login lockout, a listening
 * socket and crypt(3) password hashes. Nothing here knows restock's
 * routes, pages or configuration. (The framing checks are the parser's:
 * base/httpd_parse.c; the shop's libmicrohttpd plumbing: base/httpd_mhd.h.)
 */
#ifndef RS_HTTPD_H
#define RS_HTTPD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/httpd_srv.h"
#include "base/rs_util.h"

/* ---- what a server checks of any request ----------------------------------- */

/*
 * Whether the Host header value `host` names one of allowed[0..n) (the
 * port, if any, is ignored; IPv6 literals in brackets; case-insensitive; a
 * single trailing dot of a name is ignored). Entries of allowed may be
 * written with or without brackets. NULL or malformed hosts are refused.
 */
bool httpd_host_allowed(const char *host, const char *const *allowed, size_t n);

/*
 * Whether a POST may proceed as far as its origin goes: an Origin header
 * must name this very host (http:// or https:// + the Host header), or be
 * "null" with Sec-Fetch-Site: same-origin; without Origin, a Referer, if
 * any, must be a page of this very host; a Sec-Fetch-Site other than
 * same-origin/none is refused. Clients that are not browsers (curl,
 * restockctl) send none of them.
 */
bool httpd_origin_ok(const struct httpd_req *req, const char *host);

/*
 * The value of field `name` in an application/x-www-form-urlencoded body,
 * decoded into out. Returns 0, or -1 when absent, malformed or too long.
 */
int httpd_form_field(const char *body, size_t len, const char *name, char *out, size_t size);

/* ---- session cookies --------------------------------------------------------- */

/* A session id: HTTPD_SESSION_HEX lower-case hex digits (16 random bytes). */
#define HTTPD_SESSION_HEX 32
/* Whether s is a well-formed session id. */
bool httpd_session_valid(const char *s);
/*
 * The request's session id from cookie `name` into sess (size >
 * HTTPD_SESSION_HEX), or a fresh random one (*fresh set: send it with
 * httpd_session_cookie()); "" when no random bytes could be had.
 */
void httpd_session(const struct httpd_req *req, const char *name, char *sess, size_t size,
                   bool *fresh);
/*
 * When fresh, *h becomes the Set-Cookie header for session sess under
 * cookie `name` (Path=/; HttpOnly; SameSite=Strict), its text in buf.
 */
void httpd_session_cookie(struct httpd_hdr *h, char *buf, size_t size, const char *name,
                          const char *sess, bool fresh);

/* ---- the login lockout ------------------------------------------------------- */

/* Clients whose failures are remembered at once (the oldest is forgotten). */
#define HTTPD_LOCKOUT_CLIENTS 256

/* Failed logins of one client. */
struct httpd_lockout_client {
  unsigned char key[HTTPD_CLIENT_KEY_LEN];
  bool used;
  unsigned failures;    /* since the last success or since it was forgotten */
  int64_t last_ms;      /* real mono ms of the last failure */
  int64_t locked_until; /* real mono ms; 0: not locked */
};

/*
 * Failed logins per client (httpd_client_key()): from the limit-th failure
 * on, the client is locked out for base_ms, 2 x base_ms, 4 x base_ms ... up
 * to max_ms per further failure; failures older than max_ms (without a
 * lockout) are forgotten. Zero-initialise, then set the three limits.
 */
struct httpd_lockout {
  unsigned limit;
  int64_t base_ms, max_ms;
  struct httpd_lockout_client c[HTTPD_LOCKOUT_CLIENTS];
};
/* Real ms the client is still locked out for at now, or 0. */
int64_t httpd_lockout_check(struct httpd_lockout *l, const unsigned char *key, int64_t now);
/* Count a failed login (logged, rate-limited, when it locks the client out). */
void httpd_lockout_failed(struct httpd_lockout *l, const unsigned char *key, int64_t now);
/* A successful login: the client's failures are forgotten. */
void httpd_lockout_ok(struct httpd_lockout *l, const unsigned char *key);

/* ---- listening -------------------------------------------------------------- */

/*
 * Split a listen address "HOST:PORT" ("127.0.0.1:8080", "[::1]:8080",
 * "localhost:8080", port 0 = any free port) into host (without brackets)
 * and port. Returns 0, or -1 when it is not of that form.
 */
int httpd_parse_listen(const char *listen, char *host, size_t host_size, uint16_t *port);

/*
 * A non-blocking listening socket on host:port (an IPv4 or IPv6 literal, or
 * localhost = 127.0.0.1; IPv6 only for an IPv6 address). Returns the
 * descriptor; -2 when host is not an IP address (err untouched), -1 with a
 * sentence in err ("cannot listen on HOST port N: why").
 */
int httpd_listen(const char *host, uint16_t port, char *err, size_t errlen);
/* The port a listening socket is bound to; 0 when unknown. */
uint16_t httpd_bound_port(int fd);

/* ---- passwords ---------------------------------------------------------------- */

/*
 * Read the first line of the crypt(3) hash file path into out. 0, or -1
 * (logged) when it cannot be read or holds no hash ("$id$...").
 */
int httpd_read_hash(const char *path, char *out, size_t size);
/* Whether password matches the crypt(3) hash, compared in constant time. */
bool httpd_password_ok(const char *password, const char *hash);

#endif

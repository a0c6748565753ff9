/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd: generic libmicrohttpd plumbing shared by restockd's HTTP server
 * (gateway/web/http.c) and the sandbox shop (sim/shop.c): collecting a
 * request body, building responses with header lists, the checks a server
 * makes on any request (Host allow-list, ambiguous framing headers, Origin),
 * form fields, client addresses, a listening socket, the header deadline
 * against slow clients, libmicrohttpd's log messages and crypt(3) password
 * hashes. Nothing here knows restock's routes, pages or configuration.
 */
#ifndef RS_HTTPD_H
#define RS_HTTPD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "base/log.h"
#include "base/rs_util.h"

/* ---- request bodies ------------------------------------------------------- */

/* One request's body, kept as the connection's con_cls from first call to completion. */
struct httpd_body {
  struct rs_buf buf;
  bool too_large; /* over the limit: buf was dropped, the answer should be 413 */
};

enum httpd_step {
  HTTPD_FIRST, /* the first call (headers only): *con_cls was just made */
  HTTPD_MORE,  /* a chunk of the body was taken: return MHD_YES */
  HTTPD_DONE,  /* the body is complete: answer now */
  HTTPD_OOM    /* no memory for the request state: return MHD_NO */
};

/*
 * The body-collecting part of an access handler: call it with the
 * handler's con_cls and upload arguments. A body longer than max is
 * dropped and marked too_large. The state is freed by httpd_body_done().
 */
enum httpd_step httpd_body_collect(void **con_cls, const char *upload_data,
                                   size_t *upload_data_size, size_t max);
/* The request's body state (after HTTPD_FIRST), or NULL. */
static inline struct httpd_body *httpd_body_of(void *con_cls)
{
  return con_cls;
}
/* For the completion callback: free the state in *con_cls (NULL is fine). */
void httpd_body_done(void **con_cls);

/* ---- responses ------------------------------------------------------------ */

/* Extra response headers: a list ended by a NULL name; entries with a NULL value are skipped. */
struct httpd_hdr {
  const char *name;
  const char *value;
};

/*
 * A response with Content-Type ctype and body (MHD_RESPMEM_MUST_COPY: copied;
 * MHD_RESPMEM_MUST_FREE: the malloc'd body is the response's from now on,
 * also when this fails), then the headers of base and of extra (either
 * NULL). NULL on allocation failure.
 */
struct MHD_Response *httpd_response(const char *ctype, const char *body, size_t len,
                                    enum MHD_ResponseMemoryMode mode, const struct httpd_hdr *base,
                                    const struct httpd_hdr *extra);
/* Queue such a response (body copied) with status on conn. MHD's verdict; MHD_NO on no memory. */
enum MHD_Result httpd_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
                           const char *body, size_t len, const struct httpd_hdr *base,
                           const struct httpd_hdr *extra);

/* ---- what a server checks of any request ----------------------------------- */

/*
 * Whether the Host header value `host` names one of allowed[0..n) (the
 * port, if any, is ignored; IPv6 literals in brackets; case-insensitive; a
 * single trailing dot of a name is ignored). Entries of allowed may be
 * written with or without brackets. NULL or malformed hosts are refused.
 */
bool httpd_host_allowed(const char *host, const char *const *allowed, size_t n);

/*
 * Why the request is ambiguous (a proxy in front may have read it another
 * way: request smuggling), as a "bad request: ...\n" line, or NULL: more
 * than one Host, more than one Content-Length, or Content-Length together
 * with Transfer-Encoding.
 */
const char *httpd_ambiguous(struct MHD_Connection *conn);

/*
 * Whether a POST may proceed as far as its origin goes: an Origin header
 * must name this very host (http:// or https:// + the Host header), or be
 * "null" with Sec-Fetch-Site: same-origin; without Origin, a Sec-Fetch-Site
 * other than same-origin/none is refused. Clients that are not browsers
 * (curl, restockctl) send neither.
 */
bool httpd_origin_ok(struct MHD_Connection *conn, const char *host);

/*
 * The value of field `name` in an application/x-www-form-urlencoded body,
 * decoded into out. Returns 0, or -1 when absent, malformed or too long.
 */
int httpd_form_field(const char *body, size_t len, const char *name, char *out, size_t size);

/* The client's address as text into buf ("?" when unknown). */
void httpd_client_addr(struct MHD_Connection *conn, char *buf, size_t size);

/* A client as a lockout sees it: an IPv4 address, or an IPv6 address's /64. */
#define HTTPD_CLIENT_KEY_LEN 9
/*
 * The request's client into key: family byte + IPv4 address, or + the
 * first 8 bytes (the /64) of an IPv6 address (an IPv4-mapped one counts as
 * IPv4). All zero when unknown.
 */
void httpd_client_key(struct MHD_Connection *conn, unsigned char key[HTTPD_CLIENT_KEY_LEN]);

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
void httpd_session(struct MHD_Connection *conn, const char *name, char *sess, size_t size,
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

/* ---- the header deadline ------------------------------------------------------ */

/* One connection, from accept to close: when its current request began. */
struct httpd_conn_track {
  struct httpd_conn_track *prev, *next;
  int fd;
  int64_t since_ms; /* real mono ms the current request began (or the connection opened) */
  bool waiting;     /* headers of the current request not complete yet */
  bool cut;         /* shut down for missing the deadline */
};

/*
 * The open connections of a server whose request headers must arrive
 * within timeout_ms (slowloris): pass &conns as the cls of
 * MHD_OPTION_NOTIFY_CONNECTION with httpd_conns_notify, call
 * httpd_conns_headers_done() on a request's first handler call,
 * httpd_conns_request_done() from the completion callback and
 * httpd_conns_sweep() before every MHD_run().
 */
struct httpd_conns {
  struct httpd_conn_track *head;
  unsigned timeout_ms;
};
void httpd_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe);
void httpd_conns_headers_done(struct MHD_Connection *conn);
void httpd_conns_request_done(struct MHD_Connection *conn);
/*
 * Cut the connections whose request headers are overdue: shut the socket
 * down, so that libmicrohttpd sees it closed at its next turn (logged,
 * rate-limited). Returns ms until the next deadline (INT64_MAX: none).
 */
int64_t httpd_conns_sweep(struct httpd_conns *c);

/* ---- logging and passwords ---------------------------------------------------- */

/* Where libmicrohttpd's messages go: the cls of MHD_OPTION_EXTERNAL_LOGGER with httpd_log. */
struct httpd_logger {
  enum log_level level;
  const char *prefix; /* "http: " */
};
void httpd_log(void *cls, const char *fmt, va_list ap) RS_PRINTF(2, 0);

/*
 * Read the first line of the crypt(3) hash file path into out. 0, or -1
 * (logged) when it cannot be read or holds no hash ("$id$...").
 */
int httpd_read_hash(const char *path, char *out, size_t size);
/* Whether password matches the crypt(3) hash, compared in constant time. */
bool httpd_password_ok(const char *password, const char *hash);

#endif

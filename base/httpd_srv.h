/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd_srv: restock's own small HTTP/1.1 server on base/evloop (restockd
 * serves plain HTTP on its local page and API; it needs no TLS library).
 *
 *   o = (struct httpd_srv_opts){.handler = fn, .ud = ud, ...};
 *   s = httpd_srv_new(loop, listen_fd, &o);     the server owns listen_fd now
 *   ... evloop_turn(loop, ...) ...                fn(ud, req) per complete request
 *   httpd_srv_free(s);                            closes every connection
 *
 * The handler runs on the loop with a complete request (head parsed by
 * base/httpd_parse.c, body read and, if chunked, decoded) and answers it
 * before it returns with one of httpd_respond*(); a handler that does not
 * answers 500. Responses are written without blocking: what the socket does
 * not take waits for EPOLLOUT, and the connection reads no further request
 * meanwhile (pipelined requests wait their turn).
 *
 * What the server does by itself: keep-alive (HTTP/1.1 unless "Connection:
 * close"; HTTP/1.0 only with "Connection: keep-alive"), HEAD (the headers of
 * GET with Content-Length, no body), a 400/431/501/505 answer to a head
 * httpd_parse_head() refuses, a request body limit (a larger body is not
 * read: the handler sees req->too_large and should answer 413; the
 * connection then closes), a connection limit (at it, a new connection
 * takes the place of the idle keep-alive connection that has waited
 * longest for its next request: one that answered a request and has not a
 * byte of the next; when none is idle, new connections wait in the listen
 * backlog) and a per-client limit (one more is closed at once), a request deadline (a request's head and body must arrive within
 * header_ms of its start: slowloris, slow bodies; busy_header_ms while the
 * server is nearly full, so that connections that send nothing from a few
 * addresses hold the slots for a short while only) and an idle timeout
 * (busy_header_ms, too, while nearly full, for an answer the client does
 * not read).
 */
#ifndef RS_HTTPD_SRV_H
#define RS_HTTPD_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/evloop.h"
#include "base/httpd_parse.h"
#include "base/rs_util.h"

typedef void (*httpd_srv_handler)(void *ud, struct httpd_req *req);

struct httpd_srv_opts {
  httpd_srv_handler handler;
  void *ud;
  unsigned conn_limit;      /* connections at once (0: 64) */
  unsigned per_client;      /* from one client (httpd_client_key()) at once (0: 16) */
  unsigned idle_ms;         /* a connection with no traffic for this long is closed (0: 30 s) */
  unsigned header_ms;       /* a request's head and body must be complete this long after it began (0: 10 s) */
  unsigned busy_header_ms;  /* the same while 3/4 of conn_limit or more are open, for every
                               connection but an idle kept-alive one; and then also the
                               idle timeout of an answer the client does not take (0: 1 s) */
  size_t body_max;          /* largest request body (0: 16 KiB) */
  const struct httpd_hdr *hdrs; /* headers of the answers the server makes itself (or NULL) */
  const char *log_prefix;   /* "http: " */
};

struct httpd_srv;

/*
 * A server answering on the non-blocking listening socket listen_fd (owned
 * from now on, also when this fails) with loop's descriptors and timers.
 * NULL when out of memory or the loop refuses the descriptor.
 */
struct httpd_srv *httpd_srv_new(struct evloop *loop, int listen_fd, const struct httpd_srv_opts *o);
/* Close every connection and the listening socket. NULL is fine. */
void httpd_srv_free(struct httpd_srv *s);

/* ---- answering a request (from the handler, once per request) ------------- */

/*
 * Answer req with status, Content-Type ctype (NULL: none), the body (copied)
 * and the headers of base and extra (either NULL). 0, or -1 when out of
 * memory (the connection is closed).
 */
int httpd_respond(struct httpd_req *req, unsigned status, const char *ctype, const char *body,
                  size_t len, const struct httpd_hdr *base, const struct httpd_hdr *extra);
/*
 * The same with a body that is not copied: it must stay valid until
 * release(release_ud) is called (when it has been sent or the connection
 * closed, or at once when this fails). release may be NULL.
 */
int httpd_respond_ref(struct httpd_req *req, unsigned status, const char *ctype, const char *body,
                      size_t len, void (*release)(void *), void *release_ud,
                      const struct httpd_hdr *base, const struct httpd_hdr *extra);

/*
 * A body produced piece by piece while it is sent (large answers need not
 * be built whole): fill(ud, out) appends the next piece to out and returns
 * 1 when more follows, 0 when that was the last piece, -1 on an error (the
 * connection is then closed: the client sees a truncated answer). It is
 * called whenever the socket has taken what was produced before, on the
 * loop. release(ud) is called once when the answer ends or the connection
 * closes (also when this fails). Sent with Transfer-Encoding: chunked to
 * HTTP/1.1 clients; HTTP/1.0 clients get the body up to the connection's
 * close. HEAD gets the headers only (fill is not called).
 */
typedef int (*httpd_fill_fn)(void *ud, struct rs_buf *out);
int httpd_respond_stream(struct httpd_req *req, unsigned status, const char *ctype,
                         httpd_fill_fn fill, void (*release)(void *), void *ud,
                         const struct httpd_hdr *base, const struct httpd_hdr *extra);

/* ---- the client ------------------------------------------------------------ */

/* The client's address as text into buf ("?" when unknown). */
void httpd_client_addr(const struct httpd_req *req, char *buf, size_t size);

/* A client as a lockout sees it: an IPv4 address, or an IPv6 address's /64. */
#define HTTPD_CLIENT_KEY_LEN 9
/*
 * The request's client into key: family byte + IPv4 address, or + the
 * first 8 bytes (the /64) of an IPv6 address (an IPv4-mapped one counts as
 * IPv4). All zero when unknown.
 */
void httpd_client_key(const struct httpd_req *req, unsigned char key[HTTPD_CLIENT_KEY_LEN]);

#endif

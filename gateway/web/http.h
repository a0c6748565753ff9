/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http: restockd's HTTP server (SPEC 11) on base/httpd_srv (restock's own
 * HTTP/1.1 server) with an event loop of its own whose epoll descriptor sits
 * in the daemon's epoll loop (no threads: the core is
 * single-threaded). docs/http-api.md documents every endpoint.
 *
 * Wiring it into a loop that already has an epoll set `ep`:
 *
 *   srv = http_server_start(&env, err, sizeof(err));       (NULL: err says why)
 *   epoll_ctl(ep, EPOLL_CTL_ADD, http_server_fd(srv), ...) with EPOLLIN;
 *   each turn: wait at most http_server_timeout_ms(srv) ms;
 *   when http_server_fd(srv) is readable (or the wait timed out):
 *     http_server_run(srv);
 *   at the end: http_server_stop(srv).
 *
 * http_server_timeout_ms() is also the loop's heartbeat (unless the env
 * passes one): /healthz answers 503 when the loop has not turned for
 * health_max_age_ms. It never returns more than HTTP_MAX_WAIT_MS, so an idle
 * loop still turns.
 *
 * Hardening on every request: Host allow-list (421), strict security headers
 * on every response we build, 404/405 with Allow, HEAD, a request body
 * limit (413), a connection limit and a per-connection idle timeout, Origin
 * checked on every POST, CSRF tokens on HTML forms, admin basic auth
 * against a crypt(3) hash (`openssl passwd -6`) for decisions.
 *
 * The router and the Host check are pure functions (fuzzed by
 * tests/fuzz/fuzz_http_router.c).
 */
#ifndef RS_HTTP_H
#define RS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "base/evloop.h"
#include "config/config.h"
#include "gateway/pipeline.h"
#include "gateway/reading.h"
#include "gateway/scheduler.h"
#include "gateway/store.h"

/* ---- router (pure) ------------------------------------------------------ */

enum http_route {
  HTTP_ROUTE_NOT_FOUND = 0,
  HTTP_ROUTE_METHOD_NOT_ALLOWED, /* the path exists, not for this method: see allow */
  HTTP_ROUTE_DASHBOARD,          /* GET / */
  HTTP_ROUTE_STYLE,              /* GET /static/style.css */
  HTTP_ROUTE_HEALTHZ,            /* GET /healthz */
  HTTP_ROUTE_METRICS,            /* GET /metrics */
  HTTP_ROUTE_API_STATUS,         /* GET /api/v1/status */
  HTTP_ROUTE_API_CONSUMABLES,    /* GET /api/v1/consumables */
  HTTP_ROUTE_API_DEVICES,        /* GET /api/v1/devices */
  HTTP_ROUTE_API_ORDERS,         /* GET /api/v1/orders */
  HTTP_ROUTE_API_ORDER,          /* GET /api/v1/orders/{order} */
  HTTP_ROUTE_API_APPROVE,        /* POST /api/v1/orders/{order}/approve */
  HTTP_ROUTE_API_REJECT,         /* POST /api/v1/orders/{order}/reject */
  HTTP_ROUTE_PAGE_CONSUMABLE,    /* GET /consumables/{device}/{consumable} */
  HTTP_ROUTE_PAGE_ORDER,         /* GET /orders/{order} */
  HTTP_ROUTE_PAGE_APPROVE,       /* POST /orders/{order}/approve (dashboard form) */
  HTTP_ROUTE_PAGE_REJECT,        /* POST /orders/{order}/reject (dashboard form) */
  HTTP_ROUTE_APPROVAL_LINK,      /* GET, POST /approve/{token} (SPEC 10; gateway/approve_http.c) */
  /* stock-take (SPEC 7): POST /api/v1/consumables/{device}/{consumable}/spares|replaced|hold|release */
  HTTP_ROUTE_API_STOCK_SPARES,
  HTTP_ROUTE_API_STOCK_REPLACED,
  HTTP_ROUTE_API_STOCK_HOLD,
  HTTP_ROUTE_API_STOCK_RELEASE,
  /* the same from the consumable page's forms: POST /consumables/{device}/{consumable}/... */
  HTTP_ROUTE_PAGE_STOCK_SPARES,
  HTTP_ROUTE_PAGE_STOCK_REPLACED,
  HTTP_ROUTE_PAGE_STOCK_HOLD,
  HTTP_ROUTE_PAGE_STOCK_RELEASE
};

#define HTTP_ALLOW_GET  1u /* GET and HEAD */
#define HTTP_ALLOW_POST 2u

/* Longest captured segment (an order id is at most 64 bytes; a token more). */
#define HTTP_ARG_MAX 256
/* Longest path the router looks at; longer ones are not found. */
#define HTTP_PATH_MAX 1024

struct http_match {
  enum http_route route;
  unsigned allow;                /* methods the path takes (HTTP_ALLOW_*), 0 when not found */
  char arg[2][HTTP_ARG_MAX + 1]; /* captured segments in path order, "" when unused */
};

/*
 * Match method ("GET", "HEAD", "POST", anything else) and path (the URL
 * path without query, already percent-decoded) against the route table
 * into *m. Captured segments are checked: order ids [A-Za-z0-9._-]{1,64},
 * device and consumable ids [a-z0-9][a-z0-9_.-]{0,63}, tokens
 * [A-Za-z0-9_.~-]{1,256}; a segment that fails its check does not match.
 * Never fails; never reads past the NUL of either string.
 */
void http_route_match(const char *method, const char *path, struct http_match *m);
/*
 * The route table's i-th pattern ("/api/v1/orders/{order}/approve": {x}
 * captures a segment) with the methods it takes (HTTP_ALLOW_*) in *methods;
 * NULL past the end. For holding the table against docs/http-api.md.
 */
const char *http_route_pattern(size_t i, unsigned *methods);

/* The Host allow-list and the listen address: httpd_host_allowed(), httpd_parse_listen() (base/httpd.h). */

/* ---- server ------------------------------------------------------------- */

/* The longest http_server_timeout_ms() answers (ms). */
#define HTTP_MAX_WAIT_MS 1000
/* Default heartbeat age beyond which /healthz says 503. */
#define HTTP_HEALTH_MAX_AGE_MS 10000
/* Loop lag beyond which /healthz says 503. */
#define HTTP_HEALTH_MAX_LAG_MS 5000
/* Largest request body accepted (bytes); larger ones get 413. */
#define HTTP_BODY_MAX 16384

/*
 * The parts of the running core the server reads and drives (all borrowed).
 * restockd fills it with daemon_core_http_view(); the server never calls
 * into the daemon's loop.
 */
struct http_core {
  struct cfg *const *cfg;   /* the running config: *cfg changes on reload */
  struct scheduler *sched;  /* device state */
  struct reading_path *rp;  /* live readings and predictions */
  struct pipeline *pl;      /* orders: approve, reject, counters */
};

struct http_env {
  struct http_core core;    /* config, scheduler, readings, pipeline (borrowed) */
  struct store *st;         /* orders and readings (borrowed) */
  struct rs_clock *clk;     /* the daemon's clock (borrowed) */
  /*
   * Real monotonic ms (clock_real_mono_ms()) of the main loop's last turn,
   * updated by the loop; NULL: http_server_timeout_ms() keeps it.
   */
  const int64_t *heartbeat_ms;
  int64_t health_max_age_ms;  /* 0: HTTP_HEALTH_MAX_AGE_MS */
  /*
   * The main loop (borrowed), or NULL: /healthz also answers 503 when its
   * lag (evloop_lag_ms()) is over HTTP_HEALTH_MAX_LAG_MS, and /metrics
   * shows restock_loop_turn_seconds.
   */
  const struct evloop *loop;
  const char *listen;         /* NULL: the config's http.listen */
  unsigned conn_limit;        /* 0: HTTP_CONN_LIMIT connections at once */
  unsigned conn_per_client;   /* 0: HTTP_CONN_PER_CLIENT at once from one address */
  unsigned conn_timeout_s;    /* 0: 30 s idle per connection */
  unsigned header_timeout_ms; /* 0: HTTP_HEADER_TIMEOUT_MS to send a request's head and body */
  /*
   * Failed logins from one client (address; IPv6: its /64) before it is
   * locked out (429 with Retry-After); 0: HTTP_AUTH_FAIL_LIMIT. Each
   * further failure doubles the lockout, from auth_lock_base_ms (0:
   * HTTP_AUTH_LOCK_BASE_MS) up to HTTP_AUTH_LOCK_MAX_MS.
   */
  unsigned auth_fail_limit;
  unsigned auth_lock_base_ms;
};

/* Connections at once, in total and from one client address. */
#define HTTP_CONN_LIMIT      64
#define HTTP_CONN_PER_CLIENT 16
/* A request's head and body must have arrived this long (real ms) after it began. */
#define HTTP_HEADER_TIMEOUT_MS 10000
/* Per-client login lockout: failures allowed, first lockout, longest lockout. */
#define HTTP_AUTH_FAIL_LIMIT   5
#define HTTP_AUTH_LOCK_BASE_MS 1000
#define HTTP_AUTH_LOCK_MAX_MS  (15 * 60 * 1000)
/* At most HTTPD_LOCKOUT_CLIENTS (base/httpd.h) clients' failures are remembered at once. */

struct http_server;

/*
 * Bind the listen address and start serving (no thread is created). env is
 * copied; what it points to must outlive the server. Returns the server, or
 * NULL with a sentence in err (e.g. "cannot listen on 127.0.0.1:8080:
 * Address already in use").
 */
struct http_server *http_server_start(const struct http_env *env, char *err, size_t errlen);
/* Close every connection and the listen socket; NULL is fine. */
void http_server_stop(struct http_server *s);

/* The descriptor to watch for EPOLLIN (the epoll set of the server's own loop). */
int http_server_fd(const struct http_server *s);
/*
 * How long (ms, 0..HTTP_MAX_WAIT_MS) the loop may wait before calling
 * http_server_run() again. Notes the heartbeat (see http_env) and feeds the
 * poll-duration histogram: call it once per loop turn.
 */
int64_t http_server_timeout_ms(struct http_server *s);
/* Accept, read, answer and time out what is ready; never blocks. */
void http_server_run(struct http_server *s);
/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const struct http_server *s);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * resolve: host names looked up without blocking the caller longer than a
 * timeout. getaddrinfo() has no timeout of its own (a resolver that never
 * answers holds it for resolv.conf's timeout x attempts x servers, or
 * longer), so each lookup runs on a detached thread of its own; the caller
 * waits at most timeout_ms and a lookup that is still running then is
 * abandoned (its thread finishes and frees itself).
 *
 *   on the event loop:  r = rs_resolve_start(loop, host, "502", SOCK_STREAM,
 *                                            2000, done, ud);
 *                       done(ud, &res) runs once on the loop; or
 *                       rs_resolve_cancel(r) and it never runs
 *   on a worker thread: rs_resolve_wait(host, "5683", SOCK_DGRAM, 2000, &res)
 *
 * An address literal ("127.0.0.1", "::1") never starts a thread. The first
 * address getaddrinfo() returns is used. One resolution per call, no cache.
 * A lookup of the same host and service is refused (fails at once, saying
 * so) while an earlier one still runs, and at most 32 lookup threads run at
 * once: a resolver that never answers does not pile up threads.
 */
#ifndef RS_RESOLVE_H
#define RS_RESOLVE_H

#include <stdint.h>
#include <sys/socket.h>

#include "base/evloop.h"

struct rs_resolved {
  int ok;                    /* 1: addr holds the address; 0: failed (why says it) */
  struct sockaddr_storage addr;
  socklen_t addrlen;
  char why[160];             /* "cannot resolve HOST: ..." or "... within N ms" */
};

typedef void (*rs_resolve_fn)(void *ud, const struct rs_resolved *res);

struct rs_resolve;

/*
 * Look up host:service (numeric service) for socktype (SOCK_STREAM,
 * SOCK_DGRAM). done(ud, res) runs once on loop when the lookup ends or
 * timeout_ms passed, whichever is first (never inside this call). Returns
 * the handle (valid until done ran or rs_resolve_cancel()), or NULL when
 * out of memory or threads (nothing runs then).
 */
struct rs_resolve *rs_resolve_start(struct evloop *loop, const char *host, const char *service,
                                    int socktype, int64_t timeout_ms, rs_resolve_fn done,
                                    void *ud);
/* Abandon r: done never runs. NULL is fine. */
void rs_resolve_cancel(struct rs_resolve *r);

/* Blocking, at most timeout_ms: fills *res; returns res->ok ? 0 : -1. */
int rs_resolve_wait(const char *host, const char *service, int socktype, int64_t timeout_ms,
                    struct rs_resolved *res);

#endif

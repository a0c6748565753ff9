/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netio: libcurl's multi interface on the daemon's event loop
 * (base/evloop.h): curl_multi_socket_action() driven by
 * CURLMOPT_SOCKETFUNCTION (each socket libcurl wants watched becomes an
 * evloop io handle) and CURLMOPT_TIMERFUNCTION (one evloop timer). The shop
 * client (commerce.c) and the mail sender (mail.c) each run their transfers
 * through one.
 *
 *   n = netio_new(loop);
 *   netio_add(n, easy, done, ud);    done(ud, easy, result) on the loop when finished
 *   netio_remove(n, easy);           abandon a transfer (done is not called)
 *   netio_free(n);
 *
 * netio_prepare() sets what every transfer needs on the loop: no signals,
 * and CURLOPT_QUICK_EXIT so that abandoning a transfer whose name lookup
 * is still running (threaded resolver) does not wait for the lookup.
 * Nothing here blocks: name lookups run on libcurl's resolver threads.
 * One thread (the loop's) calls everything.
 */
#ifndef RS_NETIO_H
#define RS_NETIO_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "base/evloop.h"
#include "base/rs_util.h"

struct netio;

/* A transfer finished (or failed: result != CURLE_OK). It has left the multi handle: the callee may clean up easy. */
typedef void (*netio_done_fn)(void *ud, CURL *easy, CURLcode result);

/* A multi handle on loop (borrowed). NULL on failure. Calls curl_global_init once. */
struct netio *netio_new(struct evloop *loop);
/* Free; transfers still added must have been removed first. NULL is fine. */
void netio_free(struct netio *n);

/* Options every easy handle on a loop (or not) should carry; see above. */
void netio_prepare(CURL *easy);

/* Start easy (prepared, not owned). 0, or -1 (not added, done not called). */
int netio_add(struct netio *n, CURL *easy, netio_done_fn done, void *ud);
/* Abandon easy: out of the multi handle, done never called. The caller then cleans it up. */
void netio_remove(struct netio *n, CURL *easy);

/*
 * libcurl is not linked: it is loaded with dlopen() by the first libcurl
 * call (adapters/netio_dl.c), so a process that never talks to the shop or
 * sends a mail never maps it. netio_curl_load() loads it now; false (and
 * one error logged naming the library and why) when it cannot be loaded.
 */
bool netio_curl_load(void);
/* What to tell the user when a libcurl handle could not be made: why the library is not loaded
 * ("cannot load libcurl.so.4 (...)"), or "cannot start libcurl". Static storage. */
const char *netio_curl_error(void);

/* curl_global_init() once per process (thread-safe). */
void netio_global_init(void);

/*
 * Off the loop (command-line tools): GET url (http or https, redirects
 * followed within those, at most 10 s) into body, at most 16 MiB. Returns
 * the HTTP status (body then holds the answer), or 0 with a sentence in err
 * when nothing was answered.
 */
long netio_get(const char *url, struct rs_buf *body, char *err, size_t errlen);

#endif

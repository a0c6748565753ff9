/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testhttp: one libcurl request against an in-process struct http_server,
 * turned by the test's own thread (tests/test_http.c, tests/test_approve.c),
 * and an order's state in the store, which those tests and
 * tests/test_abuse_http.c check after a request.
 * Apart from tests/testutil.h because it links libcurl and the gateway: a
 * test that runs without libcurl (test_netio_missing) links testutil only.
 * Each fails the running test on an error.
 */
#ifndef RS_TESTHTTP_H
#define RS_TESTHTTP_H

#include <curl/curl.h>

#include "base/rs_util.h"
#include "gateway/store.h"
#include "gateway/web/http.h"

/* An answer: the status, the body and the header lines (both NUL-terminated). */
struct tu_resp {
  long status;
  struct rs_buf body;
  struct rs_buf head;
};

/* What a request carries besides method and path; every field may be NULL. */
struct tu_req {
  const char *host;           /* Host header, NULL: curl's */
  const char *const *headers; /* more headers, NULL-terminated */
  const char *body;           /* POST body ("" when NULL) */
  const char *userpwd;        /* basic auth "user:password" */
  const char *base;           /* "http://127.0.0.1:PORT" of srv by default */
  const char *ua;             /* User-Agent, NULL: none */
};

/*
 * method ("GET", "HEAD", "POST" or another) on path of srv through multi,
 * into *r (the caller frees it with tu_resp_free). The server is run between
 * curl's turns; on_turn(ud), when not NULL, before each of its runs.
 */
void tu_http_request(CURLM *multi, struct http_server *srv, const char *method, const char *path,
                     const struct tu_req *o, struct tu_resp *r, void (*on_turn)(void *), void *ud);

void tu_resp_free(struct tu_resp *r);

/* The state of order id in st (the test fails when there is none): what a
 * decision over HTTP did, or did not do, to it. */
enum store_order_state tu_order_state(struct store *st, const char *id);

#endif

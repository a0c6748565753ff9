/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd_mhd: libmicrohttpd plumbing for servers that still run on it (the
 * sandbox shop, sim/shop.c): collecting a request body, building responses
 * with header lists, libmicrohttpd's log messages. restockd does not use
 * it (its server is base/httpd_srv.c) and does not link libmicrohttpd.
 */
#ifndef RS_HTTPD_MHD_H
#define RS_HTTPD_MHD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "base/httpd_parse.h"
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

/*
 * Queue a response with status on conn: Content-Type ctype, body (copied),
 * the headers of base and extra (either NULL). MHD's verdict; MHD_NO on no
 * memory.
 */
enum MHD_Result httpd_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
                           const char *body, size_t len, const struct httpd_hdr *base,
                           const struct httpd_hdr *extra);

/* ---- logging ------------------------------------------------------------------ */

/* Where libmicrohttpd's messages go: the cls of MHD_OPTION_EXTERNAL_LOGGER with httpd_log. */
struct httpd_logger {
  enum log_level level;
  const char *prefix; /* "http: " */
};
void httpd_log(void *cls, const char *fmt, va_list ap) RS_PRINTF(2, 0);

#endif

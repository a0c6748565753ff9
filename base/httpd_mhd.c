/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd_mhd: libmicrohttpd plumbing for the sandbox shop (see httpd_mhd.h).
 */
#include "base/httpd_mhd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- request bodies ------------------------------------------------------- */

enum httpd_step httpd_body_collect(void **con_cls, const char *upload_data,
                                   size_t *upload_data_size, size_t max)
{
  struct httpd_body *b = *con_cls;
  if(!b) {
    b = calloc(1, sizeof(*b));
    if(!b)
      return HTTPD_OOM;
    *con_cls = b;
    return HTTPD_FIRST;
  }
  if(*upload_data_size) {
    if(!b->too_large && b->buf.len + *upload_data_size <= max)
      rs_buf_append(&b->buf, upload_data, *upload_data_size);
    else {
      b->too_large = true;
      rs_buf_free(&b->buf);
    }
    *upload_data_size = 0;
    return HTTPD_MORE;
  }
  return HTTPD_DONE;
}

void httpd_body_done(void **con_cls)
{
  struct httpd_body *b = *con_cls;
  if(!b)
    return;
  rs_buf_free(&b->buf);
  free(b);
  *con_cls = NULL;
}

/* ---- responses ------------------------------------------------------------ */

static void add_headers(struct MHD_Response *r, const struct httpd_hdr *h)
{
  for(; h && h->name; h++)
    if(h->value)
      (void)MHD_add_response_header(r, h->name, h->value);
}

/*
 * A response with Content-Type ctype and body (MHD_RESPMEM_MUST_COPY: copied;
 * MHD_RESPMEM_MUST_FREE: the malloc'd body is the response's from now on,
 * also when this fails), then the headers of base and of extra (either
 * NULL). NULL on allocation failure.
 */
static struct MHD_Response *httpd_response(const char *ctype, const char *body, size_t len,
                                           enum MHD_ResponseMemoryMode mode,
                                           const struct httpd_hdr *base,
                                           const struct httpd_hdr *extra)
{
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, mode);
  if(!r) {
    if(mode == MHD_RESPMEM_MUST_FREE)
      free((void *)(uintptr_t)body);
    return NULL;
  }
  (void)MHD_add_response_header(r, "Content-Type", ctype);
  add_headers(r, base);
  add_headers(r, extra);
  return r;
}

enum MHD_Result httpd_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
                           const char *body, size_t len, const struct httpd_hdr *base,
                           const struct httpd_hdr *extra)
{
  struct MHD_Response *r = httpd_response(ctype, body, len, MHD_RESPMEM_MUST_COPY, base, extra);
  enum MHD_Result ret;
  if(!r)
    return MHD_NO;
  ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* ---- logging and passwords ---------------------------------------------------- */

void httpd_log(void *cls, const char *fmt, va_list ap)
{
  const struct httpd_logger *lg = cls;
  char buf[512];
  size_t n;
  (void)vsnprintf(buf, sizeof(buf), fmt, ap);
  n = strlen(buf);
  while(n && buf[n - 1] == '\n')
    buf[--n] = '\0';
  log_msg(lg->level, "%s%s", lg->prefix, buf);
}

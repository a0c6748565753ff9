/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for restockd's HTTP request parser (base/httpd_parse.c):
 * the request head, the lookups on it and the chunked body decoder.
 *
 * Input: byte 0 picks where the bytes after the head are split in two for
 * the chunked decoder; the rest is what a client sent. It is copied into an
 * exact-size heap buffer (the parser writes into it) so ASan sees any read
 * past its end. Invariants checked (abort on breach):
 *   - the result is 0 (more), 1 (parsed) or one of 400, 431, 501, 505, with
 *     a reason for an error;
 *   - a parsed head is within the input and HTTPD_HEAD_MAX, has a method
 *     and a path starting with '/', field names without ':' and at most
 *     HTTPD_MAX_FIELDS fields; never both Content-Length and chunked, never
 *     two Host fields;
 *   - every prefix of a parsed head is "more" (0): a head is never taken
 *     before its blank line;
 *   - the chunked decoder gives the same verdict and bytes whether the body
 *     comes in one piece or in two.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/httpd_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX 4096

static void check(bool ok)
{
  if(!ok)
    abort();
}

/* Decode body[0..n) in pieces split at cut; the verdict, the decoded bytes into out and the bytes used. */
static enum httpd_chunked_rc decode(const char *body, size_t n, size_t cut, struct rs_buf *out,
                                    size_t *used)
{
  struct httpd_chunked c;
  enum httpd_chunked_rc rc;
  size_t u = 0;
  memset(&c, 0, sizeof(c));
  *used = 0;
  if(cut > n)
    cut = n;
  rc = httpd_chunked_feed(&c, body, cut, out, BODY_MAX, &u);
  if(rc != HTTPD_CHUNKED_MORE) {
    *used = u;
    return rc;
  }
  rc = httpd_chunked_feed(&c, body + cut, n - cut, out, BODY_MAX, &u);
  *used = cut + u;
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct httpd_req *r;
  const char *why = NULL;
  char *buf, *pre;
  size_t n, cut;
  int rc;
  unsigned i;
  if(size < 1)
    return 0;
  cut = data[0];
  n = size - 1;
  buf = malloc(n ? n : 1);
  r = malloc(sizeof(*r));
  if(!buf || !r)
    abort();
  memcpy(buf, data + 1, n);
  rc = httpd_parse_head(buf, n, r, &why);
  check(rc == 0 || rc == 1 || rc == 400 || rc == 414 || rc == 431 || rc == 501 || rc == 505);
  check(rc <= 1 || why != NULL);
  if(rc == 1) {
    unsigned hosts = 0;
    char user[64], pass[64];
    check(r->head_len > 0 && r->head_len <= n && r->head_len <= HTTPD_HEAD_MAX);
    check(r->method && r->method[0]);
    check(r->path && r->path[0] == '/');
    check(!r->authority || (r->authority[0] && !strchr(r->authority, '/')));
    check(r->n_field <= HTTPD_MAX_FIELDS && r->n_arg <= HTTPD_MAX_ARGS &&
          r->n_cookie <= HTTPD_MAX_COOKIES);
    check(!(r->chunked && r->content_length >= 0));
    for(i = 0; i < r->n_field; i++) {
      check(r->field[i].name[0] && !strchr(r->field[i].name, ':'));
      if(!strcasecmp(r->field[i].name, "Host"))
        hosts++;
    }
    check(hosts <= 1);
    (void)httpd_req_header(r, "Host");
    (void)httpd_req_arg(r, "sort");
    (void)httpd_req_cookie(r, "restock_session");
    if(!httpd_req_basic_auth(r, user, sizeof(user), pass, sizeof(pass)))
      check(strlen(user) < sizeof(user) && strlen(pass) < sizeof(pass));
    /* no prefix of the head is taken for a head */
    pre = malloc(r->head_len);
    if(!pre)
      abort();
    memcpy(pre, data + 1, r->head_len - 1);
    {
      struct httpd_req *r2 = malloc(sizeof(*r2));
      if(!r2)
        abort();
      check(httpd_parse_head(pre, r->head_len - 1, r2, &why) == 0);
      free(r2);
    }
    free(pre);
    /* the rest as a chunked body, whole and in two pieces */
    {
      const char *body = (const char *)data + 1 + r->head_len;
      size_t bn = n - r->head_len, u1, u2;
      struct rs_buf a = {0}, b = {0};
      enum httpd_chunked_rc c1 = decode(body, bn, bn, &a, &u1);
      enum httpd_chunked_rc c2 = decode(body, bn, cut, &b, &u2);
      check(c1 == c2);
      check(a.len <= BODY_MAX);
      if(c1 != HTTPD_CHUNKED_BAD && c1 != HTTPD_CHUNKED_TOO_LARGE) {
        check(a.len == b.len && (!a.len || !memcmp(a.data, b.data, a.len)));
        check(u1 == u2 && u1 <= bn);
      }
      rs_buf_free(&a);
      rs_buf_free(&b);
    }
  }
  free(r);
  free(buf);
  return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the HTTP server's pure input handling
 * (gateway/http.h): the router (method + path -> route + captured ids), the
 * Host allow-list check and the listen-address parser.
 *
 * Input: byte 0 picks the method; the rest is "PATH\nHOST\nLISTEN" (missing
 * parts are empty). Each part is copied into an exact-size heap buffer so
 * ASan sees any read past its end. Invariants checked (abort on breach):
 *   - a matched route captured only well-formed ids (no '/', NUL-terminated,
 *     within HTTP_ARG_MAX), and matching is deterministic;
 *   - METHOD_NOT_ALLOWED comes with a non-empty Allow set, NOT_FOUND with none;
 *   - a Host that is allowed has a host part equal (case-insensitively) to an
 *     allow-list entry, so it contains no '/', '@' or space;
 *   - a parsed listen address gives a non-empty host shorter than its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/httpd.h"
#include "gateway/web/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "", "get"};
static const char *const allowed[] = {"127.0.0.1", "localhost", "::1", "[fe80::1]", "gw.example"};

/* Part i (0-based) of the '\n'-separated input, as a fresh NUL-terminated heap string. */
static char *part(const uint8_t *d, size_t n, unsigned want)
{
  size_t i = 0, start = 0;
  unsigned k = 0;
  char *s;
  for(i = 0; i <= n; i++) {
    if(i == n || d[i] == '\n') {
      if(k == want) {
        size_t len = i - start;
        s = malloc(len + 1);
        if(!s)
          return NULL;
        memcpy(s, d + start, len);
        s[len] = '\0';
        return s;
      }
      k++;
      start = i + 1;
    }
  }
  s = malloc(1);
  if(s)
    s[0] = '\0';
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *method;
  char *path, *host, *listen;
  struct http_match m, m2;
  char lhost[64];
  uint16_t port;
  unsigned a;

  if(!size)
    return 0;
  method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
  path = part(data + 1, size - 1, 0);
  host = part(data + 1, size - 1, 1);
  listen = part(data + 1, size - 1, 2);
  if(!path || !host || !listen)
    goto out;

  http_route_match(method, path, &m);
  http_route_match(method, path, &m2);
  if(memcmp(&m, &m2, sizeof(m)))
    abort();
  if(m.route == HTTP_ROUTE_NOT_FOUND && m.allow)
    abort();
  if(m.route == HTTP_ROUTE_METHOD_NOT_ALLOWED && !m.allow)
    abort();
  for(a = 0; a < 2; a++) {
    size_t n = strnlen(m.arg[a], sizeof(m.arg[a]));
    if(n >= sizeof(m.arg[a]) || memchr(m.arg[a], '/', n))
      abort();
    if(m.route <= HTTP_ROUTE_METHOD_NOT_ALLOWED && n)
      abort();
  }

  if(httpd_host_allowed(host, allowed, sizeof(allowed) / sizeof(allowed[0]))) {
    if(strchr(host, '/') || strchr(host, '@') || strchr(host, ' '))
      abort();
  }
  (void)httpd_host_allowed(host, NULL, 0);

  if(httpd_parse_listen(listen, lhost, sizeof(lhost), &port) == 0) {
    size_t n = strnlen(lhost, sizeof(lhost));
    if(!n || n >= sizeof(lhost))
      abort();
  }
out:
  free(path);
  free(host);
  free(listen);
  return 0;
}

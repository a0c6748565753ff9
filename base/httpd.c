/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd: request checks, sessions, lockout, listening, passwords (see httpd.h).
 */
#include "base/httpd.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/codec.h"
#include "base/log.h"
#include "base/rs_util.h"

/* ---- what a server checks of any request ----------------------------------- */

/* The host part of a Host value or allow-list entry into out (lower case, no brackets/port). */
static bool host_part(const char *h, char *out, size_t size)
{
  const char *end;
  size_t n, i;
  if(!h || !*h)
    return false;
  if(h[0] == '[') {
    const char *rb = strchr(h, ']');
    if(!rb)
      return false;
    h++;
    end = rb;
    if(rb[1] && rb[1] != ':')
      return false;
    if(rb[1] == ':') {
      const char *d;
      for(d = rb + 2; *d; d++)
        if(*d < '0' || *d > '9')
          return false;
    }
  }
  else {
    const char *c = strchr(h, ':');
    if(c && strchr(c + 1, ':')) {
      /* a bare IPv6 literal: only valid in the allow-list, never in a Host header */
      end = h + strlen(h);
    }
    else if(c) {
      const char *d;
      for(d = c + 1; *d; d++)
        if(*d < '0' || *d > '9')
          return false;
      end = c;
    }
    else
      end = h + strlen(h);
  }
  n = (size_t)(end - h);
  if(n && h[n - 1] == '.' && h[0] != '[')
    n--;
  if(!n || n >= size)
    return false;
  for(i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)h[i];
    if(ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '@' || ch == '[' || ch == ']')
      return false;
    out[i] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
  }
  out[n] = '\0';
  return true;
}

bool httpd_host_allowed(const char *host, const char *const *allowed, size_t n)
{
  char want[256], have[256];
  size_t i;
  if(!host || !host_part(host, want, sizeof(want)))
    return false;
  /* a Host header never carries a bare IPv6 literal */
  if(host[0] != '[' && strchr(want, ':'))
    return false;
  for(i = 0; i < n; i++) {
    if(!allowed[i] || !host_part(allowed[i], have, sizeof(have)))
      continue;
    if(!strcmp(want, have))
      return true;
  }
  return false;
}

/*
 * Whether url is http(s) on this very host (the Host header, compared
 * case-insensitively, port included): an Origin, "scheme://authority"
 * (origin: nothing may follow), or a Referer, "scheme://authority/path...".
 */
static bool same_origin_url(const char *url, const char *host, bool origin)
{
  const char *rest;
  size_t n;
  if(!strncasecmp(url, "http://", 7))
    rest = url + 7;
  else if(!strncasecmp(url, "https://", 8))
    rest = url + 8;
  else
    return false;
  n = strcspn(rest, "/?#");
  if(origin && rest[n])
    return false;
  return host && n == strlen(host) && !strncasecmp(rest, host, n);
}

bool httpd_origin_ok(const struct httpd_req *req, const char *host)
{
  const char *origin = httpd_req_header(req, "Origin");
  const char *sfs = httpd_req_header(req, "Sec-Fetch-Site");
  const char *referer;
  if(sfs && strcmp(sfs, "same-origin") && strcmp(sfs, "none"))
    return false;
  if(!origin) {
    /*
     * A browser that sends no Origin on a POST (an old one, or a privacy
     * tool that strips it) still sends the Referer of the page the form was
     * on (our pages say "Referrer-Policy: same-origin"): another site's
     * page is refused. Neither header: a client that is not a browser
     * (curl, restockctl), judged by its credential or token alone.
     */
    referer = httpd_req_header(req, "Referer");
    return !referer || same_origin_url(referer, host, false);
  }
  /*
   * Browsers send "Origin: null" under "Referrer-Policy: no-referrer" (a
   * page cached from an older restockd, which said so) and from sandboxed
   * frames and data: pages; Sec-Fetch-Site (set by the browser, not by
   * pages; sent to https:// and loopback only) then tells whether the form
   * was ours.
   */
  if(!strcmp(origin, "null"))
    return sfs && !strcmp(sfs, "same-origin");
  return same_origin_url(origin, host, true);
}

int httpd_form_field(const char *body, size_t len, const char *name, char *out, size_t size)
{
  size_t nl = strlen(name), i = 0;
  while(i < len) {
    size_t end = i, o = 0, k;
    while(end < len && body[end] != '&')
      end++;
    if(end - i > nl && !memcmp(body + i, name, nl) && body[i + nl] == '=') {
      for(k = i + nl + 1; k < end; k++) {
        char ch = body[k];
        if(ch == '+')
          ch = ' ';
        else if(ch == '%') {
          int hi, lo;
          if(k + 2 >= end)
            return -1;
          hi = rs_hexval(body[k + 1]);
          lo = rs_hexval(body[k + 2]);
          if(hi < 0 || lo < 0)
            return -1;
          ch = (char)(hi * 16 + lo);
          k += 2;
        }
        if(o + 1 >= size || !ch)
          return -1;
        out[o++] = ch;
      }
      out[o] = '\0';
      return 0;
    }
    i = end + 1;
  }
  return -1;
}

/* ---- session cookies --------------------------------------------------------- */

bool httpd_session_valid(const char *s)
{
  size_t i;
  if(!s || strlen(s) != HTTPD_SESSION_HEX)
    return false;
  for(i = 0; i < HTTPD_SESSION_HEX; i++)
    if(!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

void httpd_session(const struct httpd_req *req, const char *name, char *sess, size_t size,
                   bool *fresh)
{
  const char *c = httpd_req_cookie(req, name);
  unsigned char r[HTTPD_SESSION_HEX / 2];
  *fresh = false;
  if(httpd_session_valid(c) && size > HTTPD_SESSION_HEX) {
    (void)rs_strlcpy(sess, c, size);
    return;
  }
  if(size <= HTTPD_SESSION_HEX || rs_random(r, sizeof(r))) {
    if(size)
      sess[0] = '\0';
    return;
  }
  codec_hex(r, sizeof(r), sess);
  *fresh = true;
}

void httpd_session_cookie(struct httpd_hdr *h, char *buf, size_t size, const char *name,
                          const char *sess, bool fresh)
{
  if(fresh && sess[0] &&
     !rs_snprintf(buf, size, "%s=%s; Path=/; HttpOnly; SameSite=Strict", name, sess)) {
    h->name = "Set-Cookie";
    h->value = buf;
  }
}

/* ---- the login lockout ------------------------------------------------------- */

/*
 * The failure record of key, or NULL; with add, a new or reused slot (the
 * one whose last failure is oldest) when there is none.
 */
static struct httpd_lockout_client *lockout_find(struct httpd_lockout *l, const unsigned char *key,
                                                 bool add)
{
  struct httpd_lockout_client *slot = NULL;
  size_t i;
  for(i = 0; i < HTTPD_LOCKOUT_CLIENTS; i++)
    if(l->c[i].used && !memcmp(l->c[i].key, key, HTTPD_CLIENT_KEY_LEN))
      return &l->c[i];
  if(!add)
    return NULL;
  for(i = 0; i < HTTPD_LOCKOUT_CLIENTS; i++) {
    struct httpd_lockout_client *a = &l->c[i];
    if(!a->used) {
      slot = a;
      break;
    }
    if(!slot || a->last_ms < slot->last_ms)
      slot = a;
  }
  memset(slot, 0, sizeof(*slot));
  memcpy(slot->key, key, HTTPD_CLIENT_KEY_LEN);
  slot->used = true;
  return slot;
}

int64_t httpd_lockout_check(struct httpd_lockout *l, const unsigned char *key, int64_t now)
{
  struct httpd_lockout_client *a = lockout_find(l, key, false);
  if(a && a->locked_until > now)
    return a->locked_until - now;
  if(a && !a->locked_until && now - a->last_ms > l->max_ms)
    a->used = false; /* failures long ago are forgotten */
  return 0;
}

void httpd_lockout_failed(struct httpd_lockout *l, const unsigned char *key, int64_t now)
{
  struct httpd_lockout_client *a = lockout_find(l, key, true);
  if(!a)
    return;
  a->failures++;
  a->last_ms = now;
  if(a->failures >= l->limit) {
    unsigned shift = a->failures - l->limit;
    int64_t d = l->base_ms;
    while(shift-- && d < l->max_ms)
      d *= 2;
    if(d > l->max_ms)
      d = l->max_ms;
    a->locked_until = now + d;
    log_rl(LOG_LVL_WARNING, "http-lockout",
           "http: %u failed logins from one client: locked out for %" PRId64 " s", a->failures,
           (d + 999) / 1000);
  }
}

void httpd_lockout_ok(struct httpd_lockout *l, const unsigned char *key)
{
  struct httpd_lockout_client *a = lockout_find(l, key, false);
  if(a)
    a->used = false;
}

/* ---- listening -------------------------------------------------------------- */

int httpd_parse_listen(const char *listen, char *host, size_t host_size, uint16_t *port)
{
  const char *colon, *hs, *he;
  int64_t p;
  if(!listen)
    return -1;
  if(listen[0] == '[') {
    const char *rb = strchr(listen, ']');
    if(!rb || rb[1] != ':')
      return -1;
    hs = listen + 1;
    he = rb;
    colon = rb + 1;
  }
  else {
    colon = strrchr(listen, ':');
    if(!colon || memchr(listen, ':', (size_t)(colon - listen)))
      return -1;
    hs = listen;
    he = colon;
  }
  if(he == hs || (size_t)(he - hs) >= host_size)
    return -1;
  if(rs_parse_i64(colon + 1, false, 0, 65535, &p))
    return -1;
  memcpy(host, hs, (size_t)(he - hs));
  host[he - hs] = '\0';
  *port = (uint16_t)p;
  return 0;
}

int httpd_listen(const char *host, uint16_t port, char *err, size_t errlen)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  int fd = -1, one = 1;
  memset(&ss, 0, sizeof(ss));
  if(!strcasecmp(host, "localhost"))
    host = "127.0.0.1";
  if(inet_pton(AF_INET, host, &((struct sockaddr_in *)(void *)&ss)->sin_addr) == 1) {
    struct sockaddr_in *a = (struct sockaddr_in *)(void *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    sl = sizeof(*a);
  }
  else if(inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)(void *)&ss)->sin6_addr) == 1) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)(void *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    sl = sizeof(*a);
  }
  else
    return -2;
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if(fd < 0)
    goto fail;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if(ss.ss_family == AF_INET6)
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if(bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 64))
    goto fail;
  return fd;
fail:
  (void)rs_snprintf(err, errlen, "cannot listen on %s port %u: %s", host, (unsigned)port,
                    strerror(errno));
  if(fd >= 0)
    close(fd);
  return -1;
}

uint16_t httpd_bound_port(int fd)
{
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if(getsockname(fd, (struct sockaddr *)&ss, &sl))
    return 0;
  return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)(void *)&ss)->sin6_port
                                        : ((struct sockaddr_in *)(void *)&ss)->sin_port);
}

/* ---- passwords ---------------------------------------------------------------- */

int httpd_read_hash(const char *path, char *out, size_t size)
{
  FILE *f;
  size_t n;
  if(!path)
    return -1;
  f = fopen(path, "re");
  if(!f) {
    log_err("http: cannot read the admin password hash %s: %s", path, strerror(errno));
    return -1;
  }
  if(!fgets(out, (int)size, f)) {
    fclose(f);
    log_err("http: the admin password hash file %s is empty", path);
    return -1;
  }
  fclose(f);
  n = strcspn(out, "\r\n");
  out[n] = '\0';
  while(n && (out[n - 1] == ' ' || out[n - 1] == '\t'))
    out[--n] = '\0';
  if(out[0] != '$' || n < 4) {
    log_err("http: %s holds no crypt(3) hash (make one with `openssl passwd -6`)", path);
    return -1;
  }
  return 0;
}

bool httpd_password_ok(const char *password, const char *hash)
{
  struct crypt_data *cd = calloc(1, sizeof(*cd));
  const char *h;
  bool ok = false;
  if(!cd)
    return false;
  h = crypt_r(password, hash, cd);
  if(h && h[0] == '$' && strlen(h) == strlen(hash))
    ok = codec_ct_memcmp(h, hash, strlen(hash)) == 0;
  explicit_bzero(cd, sizeof(*cd));
  free(cd);
  return ok;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd: generic libmicrohttpd plumbing (see httpd.h).
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
#include "base/rs_util.h"

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

struct MHD_Response *httpd_response(const char *ctype, const char *body, size_t len,
                                    enum MHD_ResponseMemoryMode mode, const struct httpd_hdr *base,
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

/* How often the headers that make a request ambiguous occur in it. */
struct hdr_count {
  unsigned host, content_length, transfer_encoding;
};

static enum MHD_Result count_hdr(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
  struct hdr_count *c = cls;
  (void)kind;
  (void)value;
  if(!strcasecmp(key, "Host"))
    c->host++;
  else if(!strcasecmp(key, "Content-Length"))
    c->content_length++;
  else if(!strcasecmp(key, "Transfer-Encoding"))
    c->transfer_encoding++;
  return MHD_YES;
}

const char *httpd_ambiguous(struct MHD_Connection *conn)
{
  struct hdr_count c = {0, 0, 0};
  (void)MHD_get_connection_values(conn, MHD_HEADER_KIND, count_hdr, &c);
  if(c.host > 1)
    return "bad request: more than one Host header\n";
  if(c.content_length > 1)
    return "bad request: more than one Content-Length header\n";
  if(c.content_length && c.transfer_encoding)
    return "bad request: both Content-Length and Transfer-Encoding\n";
  return NULL;
}

bool httpd_origin_ok(struct MHD_Connection *conn, const char *host)
{
  const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
  const char *sfs = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
  const char *rest;
  if(sfs && strcmp(sfs, "same-origin") && strcmp(sfs, "none"))
    return false;
  if(!origin)
    return true;
  /*
   * Under "Referrer-Policy: no-referrer" browsers send "Origin: null" on
   * their own forms; Sec-Fetch-Site (set by the browser, not by pages)
   * then tells whether the form was ours.
   */
  if(!strcmp(origin, "null"))
    return sfs && !strcmp(sfs, "same-origin");
  if(!strncasecmp(origin, "http://", 7))
    rest = origin + 7;
  else if(!strncasecmp(origin, "https://", 8))
    rest = origin + 8;
  else
    return false;
  return host && !strcasecmp(rest, host);
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

void httpd_client_addr(struct MHD_Connection *conn, char *buf, size_t size)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  (void)rs_strlcpy(buf, "?", size);
  if(!ci || !ci->client_addr)
    return;
  if(ci->client_addr->sa_family == AF_INET)
    (void)inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                    buf, (socklen_t)size);
  else if(ci->client_addr->sa_family == AF_INET6)
    (void)inet_ntop(AF_INET6,
                    &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, buf,
                    (socklen_t)size);
}

void httpd_client_key(struct MHD_Connection *conn, unsigned char key[HTTPD_CLIENT_KEY_LEN])
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  memset(key, 0, HTTPD_CLIENT_KEY_LEN);
  if(!ci || !ci->client_addr)
    return;
  if(ci->client_addr->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ci->client_addr;
    key[0] = 4;
    memcpy(key + 1, &a->sin_addr, 4);
  }
  else if(ci->client_addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ci->client_addr;
    if(IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      key[0] = 4;
      memcpy(key + 1, a->sin6_addr.s6_addr + 12, 4);
    }
    else {
      key[0] = 6;
      memcpy(key + 1, a->sin6_addr.s6_addr, 8);
    }
  }
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

void httpd_session(struct MHD_Connection *conn, const char *name, char *sess, size_t size,
                   bool *fresh)
{
  const char *c = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, name);
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

/* ---- the header deadline ------------------------------------------------------ */

/* The tracking record of conn (its socket context), or NULL. */
static struct httpd_conn_track *track_of(struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

void httpd_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
  struct httpd_conns *c = cls;
  struct httpd_conn_track *t = *socket_context;
  if(toe == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    t = calloc(1, sizeof(*t));
    if(!t)
      return; /* untracked: only the idle timeout applies */
    t->fd = ci ? ci->connect_fd : -1;
    t->since_ms = clock_real_mono_ms();
    t->waiting = true;
    t->next = c->head;
    if(c->head)
      c->head->prev = t;
    c->head = t;
    *socket_context = t;
    return;
  }
  if(!t)
    return;
  RS_DLIST_UNLINK(c->head, t, prev, next);
  free(t);
  *socket_context = NULL;
}

void httpd_conns_headers_done(struct MHD_Connection *conn)
{
  struct httpd_conn_track *t = track_of(conn);
  if(t)
    t->waiting = false;
}

void httpd_conns_request_done(struct MHD_Connection *conn)
{
  struct httpd_conn_track *t = track_of(conn);
  if(t) {
    /* a kept-alive connection: the next request's headers are due in time too */
    t->waiting = true;
    t->since_ms = clock_real_mono_ms();
  }
}

int64_t httpd_conns_sweep(struct httpd_conns *c)
{
  int64_t now = clock_real_mono_ms(), next = INT64_MAX;
  unsigned cut = 0;
  struct httpd_conn_track *t;
  for(t = c->head; t; t = t->next) {
    int64_t due;
    if(!t->waiting || t->cut || t->fd < 0)
      continue;
    due = t->since_ms + (int64_t)c->timeout_ms;
    if(due <= now) {
      (void)shutdown(t->fd, SHUT_RDWR);
      t->cut = true;
      cut++;
    }
    else if(due - now < next)
      next = due - now;
  }
  if(cut)
    log_rl(LOG_LVL_NOTICE, "http-header-deadline",
           "http: closed %u connection%s that had not sent a request's headers within %u ms", cut,
           cut == 1 ? "" : "s", c->timeout_ms);
  return next;
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

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd_parse: the HTTP/1.x request parser (see httpd_parse.h).
 */
#include "base/httpd_parse.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 tchar: the characters of a token (method, field name). */
static bool is_tchar(unsigned char ch)
{
  if((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
    return true;
  return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool is_ows(char ch)
{
  return ch == ' ' || ch == '\t';
}

/*
 * Percent-decode s in place (plus: '+' is a space). strict: a malformed
 * escape or %00 is an error (-1); otherwise they stay as written. 0 on success.
 */
static int decode_inplace(char *s, bool plus, bool strict)
{
  char *o = s;
  const char *p = s;
  while(*p) {
    if(*p == '%') {
      int hi = rs_hexval((unsigned char)p[1]), lo = hi < 0 ? -1 : rs_hexval((unsigned char)p[2]);
      if(hi >= 0 && lo >= 0 && (hi || lo)) {
        *o++ = (char)(hi * 16 + lo);
        p += 3;
        continue;
      }
      if(strict)
        return -1;
    }
    *o++ = plus && *p == '+' ? ' ' : *p;
    p++;
  }
  *o = '\0';
  return 0;
}

/* Split the query q (in place) into r->arg. */
static void parse_query(char *q, struct httpd_req *r)
{
  while(q && *q) {
    char *amp = strchr(q, '&'), *eq;
    if(amp)
      *amp = '\0';
    eq = strchr(q, '=');
    if(eq)
      *eq = '\0';
    (void)decode_inplace(q, true, false);
    if(eq)
      (void)decode_inplace(eq + 1, true, false);
    if(*q && r->n_arg < HTTPD_MAX_ARGS) {
      r->arg[r->n_arg].name = q;
      r->arg[r->n_arg].value = eq ? eq + 1 : "";
      r->n_arg++;
    }
    q = amp ? amp + 1 : NULL;
  }
}

/* Split a Cookie field's value v (in place) into r->cookie. */
static void parse_cookies(char *v, struct httpd_req *r)
{
  while(v && *v) {
    char *semi = strchr(v, ';'), *eq, *end;
    if(semi)
      *semi = '\0';
    while(is_ows(*v))
      v++;
    end = v + strlen(v);
    while(end > v && is_ows(end[-1]))
      *--end = '\0';
    eq = strchr(v, '=');
    if(eq && eq > v && r->n_cookie < HTTPD_MAX_COOKIES) {
      char *val = eq + 1;
      size_t n;
      *eq = '\0';
      n = strlen(val);
      if(n >= 2 && val[0] == '"' && val[n - 1] == '"') {
        val[n - 1] = '\0';
        val++;
      }
      r->cookie[r->n_cookie].name = v;
      r->cookie[r->n_cookie].value = val;
      r->n_cookie++;
    }
    v = semi ? semi + 1 : NULL;
  }
}

/* Whether the comma-separated list v holds token tok (case-insensitive). */
static bool has_token(const char *v, const char *tok)
{
  size_t tl = strlen(tok);
  while(*v) {
    const char *e;
    size_t n;
    while(*v == ',' || is_ows(*v))
      v++;
    e = v;
    while(*e && *e != ',')
      e++;
    n = (size_t)(e - v);
    while(n && is_ows(v[n - 1]))
      n--;
    if(n == tl && !strncasecmp(v, tok, tl))
      return true;
    v = e;
  }
  return false;
}

/* The request line (NUL-terminated) into r. 0, or an HTTP status with *why. */
static int parse_request_line(char *line, struct httpd_req *r, const char **why)
{
  char *p = line, *target, *q;
  while(is_tchar((unsigned char)*p))
    p++;
  if(p == line || *p != ' ') {
    *why = "bad request: malformed request line\n";
    return 400;
  }
  *p++ = '\0';
  r->method = line;
  target = p;
  while((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
    p++;
  if(p == target || *p != ' ') {
    *why = "bad request: malformed request line\n";
    return 400;
  }
  *p++ = '\0';
  if(strncmp(p, "HTTP/", 5) || !(p[5] >= '0' && p[5] <= '9') || p[6] != '.' ||
     !(p[7] >= '0' && p[7] <= '9') || p[8]) {
    *why = "bad request: malformed request line\n";
    return 400;
  }
  if(p[5] != '1' || p[7] > '1') {
    *why = "HTTP version not supported: only HTTP/1.0 and HTTP/1.1\n";
    return 505;
  }
  r->minor = (unsigned)(p[7] - '0');
  /*
   * absolute-form (a client talking to a proxy): its authority stands for
   * the Host field (RFC 9112 3.2.2), moved to the target's start and ended
   * there (the scheme's bytes make room); the path follows
   */
  if(!strncasecmp(target, "http://", 7) || !strncasecmp(target, "https://", 8)) {
    char *auth = target + (target[4] == ':' ? 7 : 8), *slash = strchr(auth, '/');
    size_t alen;
    if(!slash || slash == auth) {
      *why = "bad request: no host or no path in the request target\n";
      return 400;
    }
    alen = (size_t)(slash - auth);
    memmove(target, auth, alen);
    target[alen] = '\0';
    r->authority = target;
    target = slash;
  }
  if(target[0] != '/') {
    *why = "bad request: the request target is not a path\n";
    return 400;
  }
  q = strchr(target, '?');
  if(q)
    *q++ = '\0';
  if(decode_inplace(target, false, true)) {
    *why = "bad request: malformed percent-encoding in the path\n";
    return 400;
  }
  r->path = target;
  parse_query(q, r);
  return 0;
}

/* One header field line (NUL-terminated, no line end) into r. 0, or an HTTP status. */
static int parse_field(char *line, struct httpd_req *r, const char **why)
{
  char *colon = line, *v, *end;
  if(is_ows(*line)) {
    *why = "bad request: obsolete line folding\n";
    return 400;
  }
  while(is_tchar((unsigned char)*colon))
    colon++;
  if(colon == line || *colon != ':') {
    *why = "bad request: malformed header field\n";
    return 400;
  }
  *colon = '\0';
  v = colon + 1;
  while(is_ows(*v))
    v++;
  for(end = v; *end; end++)
    if(((unsigned char)*end < 0x20 && *end != '\t') || *end == 0x7f) {
      *why = "bad request: control character in a header field\n";
      return 400;
    }
  while(end > v && is_ows(end[-1]))
    *--end = '\0';
  if(r->n_field >= HTTPD_MAX_FIELDS) {
    *why = "request header fields too large: too many fields\n";
    return 431;
  }
  r->field[r->n_field].name = line;
  r->field[r->n_field].value = v;
  r->n_field++;
  return 0;
}

/* What the fields say about framing and the connection; 0 or an HTTP status. */
static int framing(struct httpd_req *r, const char **why)
{
  unsigned host = 0, cl = 0, te = 0, i;
  const char *clv = NULL, *tev = NULL;
  bool close = false, keep = false;
  for(i = 0; i < r->n_field; i++) {
    const char *n = r->field[i].name, *v = r->field[i].value;
    if(!strcasecmp(n, "Host"))
      host++;
    else if(!strcasecmp(n, "Content-Length")) {
      cl++;
      clv = v;
    }
    else if(!strcasecmp(n, "Transfer-Encoding")) {
      te++;
      tev = v;
    }
    else if(!strcasecmp(n, "Connection")) {
      close = close || has_token(v, "close");
      keep = keep || has_token(v, "keep-alive");
    }
  }
  if(host > 1) {
    *why = "bad request: more than one Host header\n";
    return 400;
  }
  if(cl > 1) {
    *why = "bad request: more than one Content-Length header\n";
    return 400;
  }
  if(cl && te) {
    *why = "bad request: both Content-Length and Transfer-Encoding\n";
    return 400;
  }
  if(!host && r->minor == 1) {
    *why = "bad request: no Host header\n";
    return 400;
  }
  r->content_length = -1;
  if(clv) {
    const char *p = clv;
    int64_t n = 0;
    if(!*p) {
      *why = "bad request: malformed Content-Length\n";
      return 400;
    }
    for(; *p; p++) {
      if(*p < '0' || *p > '9' || n > INT64_MAX / 10 - 10) {
        *why = "bad request: malformed Content-Length\n";
        return 400;
      }
      n = n * 10 + (*p - '0');
    }
    r->content_length = n;
  }
  if(te && r->minor == 0) {
    /* RFC 9112 6.1: HTTP/1.0 has no Transfer-Encoding; a proxy reading it as 1.0 frames it otherwise */
    *why = "bad request: Transfer-Encoding in an HTTP/1.0 request\n";
    return 400;
  }
  if(te) {
    if(te > 1 || strcasecmp(tev, "chunked")) {
      *why = "not implemented: only Transfer-Encoding: chunked is understood\n";
      return 501;
    }
    r->chunked = true;
  }
  r->keep_alive = !close && (r->minor == 1 || keep);
  return 0;
}

int httpd_parse_head(char *buf, size_t len, struct httpd_req *r, const char **why)
{
  size_t lim = len < HTTPD_HEAD_MAX ? len : HTTPD_HEAD_MAX, p = 0, i, end = 0;
  bool first = true;
  int rc;

  *why = NULL;
  while(p < lim && (buf[p] == '\r' || buf[p] == '\n'))
    p++;
  for(i = p; i < lim && !end; i++) {
    if(!buf[i]) {
      *why = "bad request: NUL byte in the request head\n";
      return 400;
    }
    if(buf[i] != '\n')
      continue;
    if(i + 1 < lim && buf[i + 1] == '\n')
      end = i + 2;
    else if(i + 2 < lim && buf[i + 1] == '\r' && buf[i + 2] == '\n')
      end = i + 3;
  }
  if(!end) {
    if(len < HTTPD_HEAD_MAX)
      return 0;
    if(!memchr(buf + p, '\n', lim - p)) {
      *why = "URI too long: the request line is longer than the head may be\n";
      return 414;
    }
    *why = "request header fields too large\n";
    return 431;
  }
  memset(r, 0, sizeof(*r));
  r->content_length = -1;
  /* each line from p up to the blank line: NUL at its end (CR or LF) */
  while(p < end) {
    size_t e = p;
    char *line = buf + p;
    while(buf[e] != '\n')
      e++;
    buf[e] = '\0';
    if(e > p && buf[e - 1] == '\r')
      buf[e - 1] = '\0';
    if(!*line)
      break; /* the blank line */
    if(strchr(line, '\r')) {
      *why = "bad request: bare CR in the request head\n";
      return 400;
    }
    rc = first ? parse_request_line(line, r, why) : parse_field(line, r, why);
    if(rc)
      return rc;
    first = false;
    p = e + 1;
  }
  if(first) {
    *why = "bad request: no request line\n";
    return 400;
  }
  if((rc = framing(r, why)))
    return rc;
  for(i = 0; i < r->n_field; i++)
    if(!strcasecmp(r->field[i].name, "Cookie"))
      parse_cookies((char *)(uintptr_t)r->field[i].value, r);
  r->head_len = end;
  return 1;
}

const char *httpd_req_header(const struct httpd_req *r, const char *name)
{
  unsigned i;
  for(i = 0; i < r->n_field; i++)
    if(!strcasecmp(r->field[i].name, name))
      return r->field[i].value;
  return NULL;
}

const char *httpd_req_arg(const struct httpd_req *r, const char *name)
{
  unsigned i;
  for(i = 0; i < r->n_arg; i++)
    if(!strcmp(r->arg[i].name, name))
      return r->arg[i].value;
  return NULL;
}

const char *httpd_req_cookie(const struct httpd_req *r, const char *name)
{
  unsigned i;
  for(i = 0; i < r->n_cookie; i++)
    if(!strcmp(r->cookie[i].name, name))
      return r->cookie[i].value;
  return NULL;
}

/* The value of one base64 character (RFC 4648 section 4), or -1. */
static int b64val(char ch)
{
  if(ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if(ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if(ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if(ch == '+')
    return 62;
  if(ch == '/')
    return 63;
  return -1;
}

int httpd_req_basic_auth(const struct httpd_req *r, char *user, size_t usize, char *pass,
                         size_t psize)
{
  const char *v = httpd_req_header(r, "Authorization"), *colon;
  char dec[512];
  size_t o = 0, ul;
  unsigned acc = 0, bits = 0;
  if(!v || strncasecmp(v, "Basic", 5) || !is_ows(v[5]))
    return -1;
  v += 5;
  while(is_ows(*v))
    v++;
  for(; *v && *v != '='; v++) {
    int d = b64val(*v);
    if(d < 0)
      goto bad;
    acc = (acc << 6) | (unsigned)d;
    bits += 6;
    if(bits >= 8) {
      bits -= 8;
      if(o + 1 >= sizeof(dec))
        goto bad;
      dec[o++] = (char)((acc >> bits) & 0xffu);
    }
  }
  while(*v == '=')
    v++;
  if(*v)
    goto bad;
  dec[o] = '\0';
  colon = memchr(dec, ':', o);
  if(!colon || memchr(dec, '\0', o))
    goto bad;
  ul = (size_t)(colon - dec);
  if(ul >= usize || o - ul - 1 >= psize)
    goto bad;
  memcpy(user, dec, ul);
  user[ul] = '\0';
  memcpy(pass, colon + 1, o - ul - 1);
  pass[o - ul - 1] = '\0';
  explicit_bzero(dec, sizeof(dec));
  return 0;
bad:
  explicit_bzero(dec, sizeof(dec));
  return -1;
}

/* ---- chunked bodies ------------------------------------------------------- */

enum {
  CK_SIZE,        /* hex digits of a chunk size */
  CK_EXT,         /* a chunk extension, up to the end of the line */
  CK_SIZE_LF,     /* CR seen after the size line */
  CK_DATA,        /* chunk data */
  CK_DATA_END,    /* CRLF after the data */
  CK_DATA_LF,     /* CR seen after the data */
  CK_TRAILER,     /* the start of a trailer line (or the final blank line) */
  CK_TRAILER_LINE,
  CK_TRAILER_LF,  /* CR seen in a trailer line */
  CK_END_LF       /* CR of the final blank line seen */
};

/* Longest chunk-size or trailer line. */
#define CK_LINE_MAX 1024

enum httpd_chunked_rc httpd_chunked_feed(struct httpd_chunked *c, const char *in, size_t n,
                                         struct rs_buf *out, size_t max, size_t *used)
{
  size_t i = 0;
  while(i < n) {
    char ch = in[i];
    if(c->state == CK_DATA) {
      size_t take = n - i;
      if((uint64_t)take > c->left)
        take = (size_t)c->left;
      if(out->len + take > max)
        return HTTPD_CHUNKED_TOO_LARGE;
      rs_buf_append(out, in + i, take);
      c->left -= take;
      i += take;
      if(!c->left)
        c->state = CK_DATA_END;
      continue;
    }
    i++;
    if(++c->framing > HTTPD_CHUNK_FRAMING_MAX)
      return HTTPD_CHUNKED_TOO_LARGE;
    switch(c->state) {
    case CK_SIZE: {
      int d = rs_hexval((unsigned char)ch);
      if(d >= 0) {
        c->left = c->left * 16 + (uint64_t)d;
        c->digits = true;
        if(c->left > (uint64_t)max)
          return HTTPD_CHUNKED_TOO_LARGE;
        break;
      }
      if(!c->digits)
        return HTTPD_CHUNKED_BAD;
      if(ch == ';' || is_ows(ch))
        c->state = CK_EXT;
      else if(ch == '\r')
        c->state = CK_SIZE_LF;
      else if(ch == '\n')
        goto size_done;
      else
        return HTTPD_CHUNKED_BAD;
      break;
    }
    case CK_EXT:
      if(++c->line_len > CK_LINE_MAX)
        return HTTPD_CHUNKED_BAD;
      if(ch == '\r')
        c->state = CK_SIZE_LF; /* a CR ends the line: a bare one is malformed */
      else if(ch == '\n')
        goto size_done;
      break;
    case CK_SIZE_LF:
      if(ch != '\n')
        return HTTPD_CHUNKED_BAD;
    size_done:
      c->line_len = 0;
      c->digits = false;
      c->state = c->left ? CK_DATA : CK_TRAILER;
      break;
    case CK_DATA_END:
      if(ch == '\r')
        c->state = CK_DATA_LF;
      else if(ch == '\n')
        c->state = CK_SIZE;
      else
        return HTTPD_CHUNKED_BAD;
      break;
    case CK_DATA_LF:
      if(ch != '\n')
        return HTTPD_CHUNKED_BAD;
      c->state = CK_SIZE;
      break;
    case CK_TRAILER:
      if(ch == '\n') {
        *used = i;
        return HTTPD_CHUNKED_DONE;
      }
      c->state = ch == '\r' ? CK_END_LF : CK_TRAILER_LINE;
      c->line_len = 0;
      break;
    case CK_TRAILER_LINE:
      if(++c->line_len > CK_LINE_MAX)
        return HTTPD_CHUNKED_BAD;
      if(ch == '\r')
        c->state = CK_TRAILER_LF;
      else if(ch == '\n')
        c->state = CK_TRAILER;
      break;
    case CK_TRAILER_LF:
      if(ch != '\n')
        return HTTPD_CHUNKED_BAD;
      c->state = CK_TRAILER;
      break;
    case CK_END_LF:
      if(ch != '\n')
        return HTTPD_CHUNKED_BAD;
      *used = i;
      return HTTPD_CHUNKED_DONE;
    default:
      return HTTPD_CHUNKED_BAD;
    }
  }
  *used = n;
  return HTTPD_CHUNKED_MORE;
}

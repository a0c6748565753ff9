/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mail: MIME building and one-attempt sending over SMTP (libcurl) or into a
 * directory (see mail.h).
 */
#include "adapters/mail.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "adapters/netio.h"
#include "base/clock.h"
#include "base/codec.h"
#include "base/keyfile.h"
#include "base/rs_util.h"

/* ---- building ----------------------------------------------------------- */

static bool has_crlf(const char *s)
{
  return s && strpbrk(s, "\r\n") != NULL;
}

static bool is_ascii(const char *s)
{
  for(; *s; s++)
    if((unsigned char)*s >= 0x80)
      return false;
  return true;
}

static void b64(struct rs_buf *o, const unsigned char *in, size_t n)
{
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i;
  for(i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16;
    char q[4];
    if(i + 1 < n)
      v |= (unsigned)in[i + 1] << 8;
    if(i + 2 < n)
      v |= in[i + 2];
    q[0] = t[(v >> 18) & 63];
    q[1] = t[(v >> 12) & 63];
    q[2] = i + 1 < n ? t[(v >> 6) & 63] : '=';
    q[3] = i + 2 < n ? t[v & 63] : '=';
    rs_buf_append(o, q, 4);
  }
}

/* Length of the UTF-8 sequence starting at s (1 for a stray byte). */
static size_t utf8_len(const unsigned char *s)
{
  size_t n = 1, i;
  if(s[0] >= 0xf0 && s[0] < 0xf8)
    n = 4;
  else if(s[0] >= 0xe0)
    n = 3;
  else if(s[0] >= 0xc0)
    n = 2;
  for(i = 1; i < n; i++)
    if((s[i] & 0xc0) != 0x80)
      return 1;
  return n;
}

/*
 * Append s as RFC 2047 encoded-words (UTF-8, B), each at most 75
 * characters, never splitting a character, folded with CRLF SP.
 */
static void encoded_words(struct rs_buf *o, const char *s)
{
  const unsigned char *p = (const unsigned char *)s;
  bool first = true;
  while(*p) {
    size_t take = 0;
    /* 45 bytes -> 60 base64 characters + 12 = 72 <= 75 */
    while(p[take]) {
      size_t l = utf8_len(p + take);
      if(take + l > 45)
        break;
      take += l;
    }
    if(!first)
      rs_buf_puts(o, "\r\n ");
    rs_buf_puts(o, "=?UTF-8?B?");
    b64(o, p, take);
    rs_buf_puts(o, "?=");
    p += take;
    first = false;
  }
}

/* A header "Name: value" (encoded when not ASCII) and CRLF. */
static void header_text(struct rs_buf *o, const char *name, const char *value)
{
  rs_buf_printf(o, "%s: ", name);
  if(is_ascii(value))
    rs_buf_puts(o, value);
  else
    encoded_words(o, value);
  rs_buf_puts(o, "\r\n");
}

/* A From/To value: an encoded display name when it is not ASCII, the address as is. */
static void header_addr(struct rs_buf *o, const char *name, const char *value)
{
  const char *lt = strrchr(value, '<');
  rs_buf_printf(o, "%s: ", name);
  if(is_ascii(value) || !lt)
    rs_buf_puts(o, value);
  else {
    size_t n = (size_t)(lt - value);
    char *disp = rs_xstrdup(value);
    disp[n] = '\0';
    while(n && disp[n - 1] == ' ')
      disp[--n] = '\0';
    encoded_words(o, disp);
    rs_buf_printf(o, " %s", lt);
    free(disp);
  }
  rs_buf_puts(o, "\r\n");
}

/* Append text as quoted-printable (lines of at most 76), '\n' becoming CRLF. */
static void quoted_printable(struct rs_buf *o, const char *text)
{
  static const char hexd[] = "0123456789ABCDEF";
  const unsigned char *p = (const unsigned char *)text;
  size_t col = 0;
  for(; *p; p++) {
    char enc[4];
    size_t n;
    unsigned char c = *p;
    if(c == '\r' && p[1] == '\n')
      continue;
    if(c == '\n') {
      rs_buf_puts(o, "\r\n");
      col = 0;
      continue;
    }
    /* spaces and tabs before a line end, '=', controls and non-ASCII are encoded */
    if((c == ' ' || c == '\t') && (p[1] == '\n' || p[1] == '\0' || (p[1] == '\r' && p[2] == '\n')))
      n = 3;
    else if(c == '=' || c >= 0x7f || (c < 0x20 && c != '\t'))
      n = 3;
    else
      n = 1;
    if(n == 3) {
      enc[0] = '=';
      enc[1] = hexd[c >> 4];
      enc[2] = hexd[c & 15];
    }
    else
      enc[0] = (char)c;
    if(col + n > 75) {
      rs_buf_puts(o, "=\r\n");
      col = 0;
    }
    rs_buf_append(o, enc, n);
    col += n;
  }
  if(col)
    rs_buf_puts(o, "\r\n");
}

/* RFC 5322 date of Unix ms, always UTC: "Tue, 01 Dec 2026 18:29:38 +0000". */
static void rfc5322_date(int64_t ms, char *buf, size_t size)
{
  static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if(!gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11) {
    (void)rs_strlcpy(buf, "Thu, 01 Jan 1970 00:00:00 +0000", size);
    return;
  }
  (void)rs_snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday],
                    tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                    tm.tm_sec);
}

static void random_hex(char *out, size_t nbytes)
{
  unsigned char r[32];
  size_t i;
  if(nbytes > sizeof(r))
    nbytes = sizeof(r);
  if(getrandom(r, nbytes, 0) != (ssize_t)nbytes) {
    /* no entropy: unique enough from the time and the pid (these are not secrets) */
    uint64_t v = (uint64_t)clock_real_wall_ms() ^ ((uint64_t)getpid() << 32);
    for(i = 0; i < nbytes; i++)
      r[i] = (unsigned char)(v >> ((i % 8) * 8));
  }
  codec_hex(r, nbytes, out);
}

int mail_build(const struct mail_msg *m, char **out, char *err, size_t errlen)
{
  struct rs_buf o = {0};
  char date[64], boundary[48], rnd[33], dom[128];
  size_t i, n;

  *out = NULL;
  if(!m || !m->from || !m->to || !m->subject || !m->text) {
    (void)rs_strlcpy(err, "a mail needs From, To, Subject and a text", errlen);
    return -1;
  }
  if(has_crlf(m->from) || has_crlf(m->to) || has_crlf(m->subject) || has_crlf(m->msgid_domain)) {
    (void)rs_strlcpy(err, "a mail header value holds a line break", errlen);
    return -1;
  }
  /* the Message-ID's right side: a dot-atom made of the gateway id */
  n = m->msgid_domain ? strlen(m->msgid_domain) : 0;
  if(n >= sizeof(dom))
    n = sizeof(dom) - 1;
  for(i = 0; i < n; i++) {
    char c = m->msgid_domain[i];
    dom[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-')
                 ? c
                 : '-';
  }
  dom[n] = '\0';
  if(!n)
    (void)rs_strlcpy(dom, "restock.invalid", sizeof(dom));

  rfc5322_date(m->date_ms, date, sizeof(date));
  random_hex(rnd, 16);
  (void)rs_snprintf(boundary, sizeof(boundary), "=_restock_%.24s", rnd);
  rs_buf_printf(&o, "Date: %s\r\n", date);
  header_addr(&o, "From", m->from);
  header_addr(&o, "To", m->to);
  header_text(&o, "Subject", m->subject);
  random_hex(rnd, 12);
  rs_buf_printf(&o, "Message-ID: <%" PRId64 ".%s@%s>\r\n", m->date_ms, rnd, dom);
  rs_buf_puts(&o, "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n");
  if(m->html) {
    rs_buf_printf(&o,
                  "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
                  "This is a message in MIME format.\r\n\r\n--%s\r\n",
                  boundary, boundary);
  }
  rs_buf_puts(&o, "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
  quoted_printable(&o, m->text);
  if(m->html) {
    rs_buf_printf(&o,
                  "\r\n--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                  boundary);
    quoted_printable(&o, m->html);
    rs_buf_printf(&o, "\r\n--%s--\r\n", boundary);
  }
  if(o.oom) {
    rs_buf_free(&o);
    (void)rs_strlcpy(err, "out of memory building a mail", errlen);
    return -1;
  }
  *out = o.data;
  return 0;
}

int mail_address(const char *from, char *out, size_t size)
{
  const char *lt, *gt;
  size_t n;
  if(!from || !size)
    return -1;
  lt = strrchr(from, '<');
  if(lt) {
    gt = strchr(lt, '>');
    if(!gt)
      return -1;
    from = lt + 1;
    n = (size_t)(gt - from);
  }
  else {
    while(*from == ' ')
      from++;
    n = strlen(from);
    while(n && from[n - 1] == ' ')
      n--;
  }
  if(!n || n >= size || memchr(from, '@', n) == NULL)
    return -1;
  memcpy(out, from, n);
  out[n] = '\0';
  return strpbrk(out, " \t\r\n<>") ? -1 : 0;
}

/* ---- sending ------------------------------------------------------------ */

void mail_settings_from_cfg(const struct cfg *cfg, struct mail_settings *s)
{
  memset(s, 0, sizeof(*s));
  s->url = cfg->mail.smtp_url;
  s->starttls = cfg->mail.starttls != CFG_STARTTLS_OFF;
  s->username = cfg->mail.username;
  s->password_file = cfg->mail.password_file;
  s->config_dir = cfg->dir;
  s->timeout_ms = cfg->mail.timeout_ms > 0 ? cfg->mail.timeout_ms : 15000;
}

/*
 * Write message into a new file of dir (via a temporary name and rename).
 * The file is 0600 whatever the umask: it holds live approval links.
 */
static enum mail_result send_file(const char *dir, const char *message, char *err, size_t errlen)
{
  char tmp[4096], final[4096], rnd[17];
  int64_t now = clock_real_wall_ms();
  size_t len = strlen(message), off = 0;
  int fd;
  random_hex(rnd, 8);
  if(rs_snprintf(final, sizeof(final), "%s/%lld.%03d000000.%s.eml", dir, (long long)(now / 1000),
                 (int)(now % 1000), rnd) ||
     rs_snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, rnd)) {
    (void)rs_snprintf(err, errlen, "mail directory %s: the path is too long", dir);
    return MAIL_CONFIG;
  }
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if(fd < 0) {
    (void)rs_snprintf(err, errlen, "cannot write a mail into %s: %s", dir, strerror(errno));
    return errno == ENOENT || errno == EACCES ? MAIL_CONFIG : MAIL_RETRY;
  }
  if(fchmod(fd, 0600)) {
    (void)rs_snprintf(err, errlen, "cannot write a mail into %s: %s", dir, strerror(errno));
    close(fd);
    (void)unlink(tmp);
    return MAIL_RETRY;
  }
  while(off < len) {
    ssize_t w = write(fd, message + off, len - off);
    if(w < 0 && errno == EINTR)
      continue;
    if(w < 0) {
      (void)rs_snprintf(err, errlen, "cannot write a mail into %s: %s", dir, strerror(errno));
      close(fd);
      (void)unlink(tmp);
      return MAIL_RETRY;
    }
    off += (size_t)w;
  }
  if(fsync(fd) || close(fd) || rename(tmp, final)) {
    (void)rs_snprintf(err, errlen, "cannot write a mail into %s: %s", dir, strerror(errno));
    (void)unlink(tmp);
    return MAIL_RETRY;
  }
  return MAIL_SENT;
}

/* Read the one-line password file into buf; 0 or -1 with err (never the contents). */
static int read_password(const struct mail_settings *s, char *buf, size_t size, char *err,
                         size_t errlen)
{
  return keyfile_read_line(s->config_dir, s->password_file, "mail.password_file: ", buf, size, err,
                           errlen)
             ? -1
             : 0;
}

struct upload {
  const char *data;
  size_t len, off;
};

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *ud)
{
  struct upload *u = ud;
  size_t room = size * nmemb, n = u->len - u->off;
  if(n > room)
    n = room;
  memcpy(ptr, u->data + u->off, n);
  u->off += n;
  return n;
}

static size_t on_discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
  (void)ptr;
  (void)ud;
  return size * nmemb;
}

/* One SMTP transaction's state: what libcurl reads from and what must outlive the setup. */
struct smtp_tx {
  char from[512];
  char pw[1024];
  char ebuf[CURL_ERROR_SIZE];
  struct curl_slist *rcpts;
  struct upload u;
  char *message; /* the async sender's copy; NULL when borrowed */
};

static void smtp_tx_clear(struct smtp_tx *t)
{
  explicit_bzero(t->pw, sizeof(t->pw));
  curl_slist_free_all(t->rcpts);
  t->rcpts = NULL;
  FREE_NULL(t->message);
}

/*
 * Set h up for one SMTP transaction of message (borrowed, must outlive the
 * transfer) into t. Returns MAIL_SENT when h is ready, else the result with
 * err (an unreadable password file: MAIL_CONFIG).
 */
static enum mail_result smtp_setup(const struct mail_settings *s, bool implicit_tls, CURL *h,
                                   struct smtp_tx *t, const char *from_addr, const char *rcpt,
                                   const char *message, char *err, size_t errlen)
{
  t->pw[0] = '\0';
  t->ebuf[0] = '\0';
  if(s->username && s->password_file && read_password(s, t->pw, sizeof(t->pw), err, errlen))
    return MAIL_CONFIG;
  (void)rs_snprintf(t->from, sizeof(t->from), "<%s>", from_addr);
  t->rcpts = curl_slist_append(NULL, rcpt);
  t->u.data = message;
  t->u.len = strlen(message);
  t->u.off = 0;
  netio_prepare(h);
  curl_easy_setopt(h, CURLOPT_URL, s->url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(s->timeout_ms > 0 ? s->timeout_ms : 30000));
  /* covers the name lookup, the greeting and EHLO */
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   (long)(s->timeout_ms > 0 && s->timeout_ms < 10000 ? s->timeout_ms : 10000));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->ebuf);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if(!implicit_tls)
    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)(s->starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
  if(s->username && t->pw[0]) {
    curl_easy_setopt(h, CURLOPT_USERNAME, s->username);
    curl_easy_setopt(h, CURLOPT_PASSWORD, t->pw);
  }
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, t->from);
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, t->rcpts);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(h, CURLOPT_READDATA, &t->u);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->u.len);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_discard);
  return MAIL_SENT;
}

/* What the finished transaction cc on h means; err for anything but MAIL_SENT. */
static enum mail_result smtp_result(const struct mail_settings *s, CURL *h, CURLcode cc,
                                    const struct smtp_tx *t, char *err, size_t errlen)
{
  enum mail_result res = MAIL_RETRY;
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  switch(cc) {
  case CURLE_OK:
    res = MAIL_SENT;
    break;
  case CURLE_USE_SSL_FAILED:
    res = MAIL_CONFIG;
    (void)rs_snprintf(err, errlen,
                      "the mail server %s does not offer STARTTLS, and mail.starttls requires it "
                      "(the mail stays in the outbox; give the server TLS, use smtps://, or set "
                      "starttls: off on a trusted network)",
                      s->url);
    break;
  case CURLE_LOGIN_DENIED:
    res = MAIL_CONFIG;
    (void)rs_snprintf(err, errlen, "the mail server %s refused the login of mail.username %s",
                      s->url, s->username ? s->username : "(none)");
    break;
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_PEER_FAILED_VERIFICATION:
    res = MAIL_CONFIG;
    (void)rs_snprintf(err, errlen, "mail.smtp_url %s: %s", s->url,
                      t->ebuf[0] ? t->ebuf : curl_easy_strerror(cc));
    break;
  default:
    /* a 5xx is a lasting refusal (a recipient or sender the server will not take) */
    res = code >= 500 && code < 600 ? MAIL_CONFIG : MAIL_RETRY;
    if(code)
      (void)rs_snprintf(err, errlen, "sending a mail through %s failed: %s (SMTP %ld)", s->url,
                        t->ebuf[0] ? t->ebuf : curl_easy_strerror(cc), code);
    else
      (void)rs_snprintf(err, errlen, "sending a mail through %s failed: %s", s->url,
                        t->ebuf[0] ? t->ebuf : curl_easy_strerror(cc));
    break;
  }
  return res;
}

/* One blocking SMTP transaction with libcurl. */
static enum mail_result send_smtp(const struct mail_settings *s, bool implicit_tls,
                                  const char *from_addr, const char *rcpt, const char *message,
                                  char *err, size_t errlen)
{
  struct smtp_tx t;
  enum mail_result res;
  CURL *h;

  memset(&t, 0, sizeof(t));
  netio_global_init();
  h = curl_easy_init();
  if(!h) {
    (void)rs_strlcpy(err, netio_curl_error(), errlen);
    return MAIL_RETRY;
  }
  res = smtp_setup(s, implicit_tls, h, &t, from_addr, rcpt, message, err, errlen);
  if(res == MAIL_SENT)
    res = smtp_result(s, h, curl_easy_perform(h), &t, err, errlen);
  smtp_tx_clear(&t);
  curl_easy_cleanup(h);
  return res;
}

/*
 * Check the settings and the addresses; the transport of s->url: 0 file://
 * (dir in *dir), 1 smtp://, 2 smtps://; -1 with err (MAIL_CONFIG).
 */
static int mail_transport(const struct mail_settings *s, const char *from_addr, const char *rcpt,
                          const char *message, const char **dir, char *err, size_t errlen)
{
  if(errlen)
    err[0] = '\0';
  if(!s || !s->url || !*s->url) {
    (void)rs_strlcpy(err, "mail.smtp_url is not set", errlen);
    return -1;
  }
  if(!from_addr || !rcpt || !message || has_crlf(from_addr) || has_crlf(rcpt)) {
    (void)rs_strlcpy(err, "a mail needs a sender, a recipient and a message", errlen);
    return -1;
  }
  if(!strncmp(s->url, "file://", 7)) {
    *dir = s->url + 7;
    if((*dir)[0] != '/') {
      (void)rs_snprintf(err, errlen, "mail.smtp_url %s: file:// needs an absolute directory",
                        s->url);
      return -1;
    }
    return 0;
  }
  if(!strncmp(s->url, "smtp://", 7))
    return 1;
  if(!strncmp(s->url, "smtps://", 8))
    return 2;
  (void)rs_snprintf(err, errlen, "mail.smtp_url %s: use smtp://, smtps:// or file://", s->url);
  return -1;
}

enum mail_result mail_send(const struct mail_settings *s, const char *from_addr, const char *rcpt,
                           const char *message, char *err, size_t errlen)
{
  const char *dir = NULL;
  int tr = mail_transport(s, from_addr, rcpt, message, &dir, err, errlen);
  if(tr < 0)
    return MAIL_CONFIG;
  if(tr == 0)
    return send_file(dir, message, err, errlen);
  return send_smtp(s, tr == 2, from_addr, rcpt, message, err, errlen);
}

/* ---- the non-blocking sender ------------------------------------------- */

struct mjob {
  struct mail_sender *ms;
  struct mail_settings s; /* strings copied below */
  char *url, *username, *password_file, *config_dir;
  char *from_addr, *rcpt;
  bool implicit_tls;
  struct smtp_tx t;
  CURL *h;
  mail_done_fn done;
  void *ud;
  struct mjob *next;
};

struct mail_sender {
  struct evloop *loop;
  struct netio *nio; /* made with the first mail: libcurl's TLS set-up costs RSS */
  struct mjob *wait_head, *wait_tail, *running;
  size_t n_wait, n_running;
  unsigned k;
};

static char *dup_or_null(const char *s)
{
  return s ? rs_xstrdup(s) : NULL;
}

static void mjob_free(struct mjob *j)
{
  if(j->h)
    curl_easy_cleanup(j->h);
  smtp_tx_clear(&j->t);
  free(j->url);
  free(j->username);
  free(j->password_file);
  free(j->config_dir);
  free(j->from_addr);
  free(j->rcpt);
  free(j);
}

static void mjob_finish(struct mjob *j, enum mail_result r, const char *err)
{
  j->done(j->ud, r, r == MAIL_SENT ? "" : err);
  mjob_free(j);
}

static void msend_pump(struct mail_sender *ms);

static void on_mail_done(void *ud, CURL *h, CURLcode cc)
{
  struct mjob *j = ud, **pp;
  struct mail_sender *ms = j->ms;
  char err[512];
  enum mail_result r;
  for(pp = &ms->running; *pp; pp = &(*pp)->next) {
    if(*pp == j) {
      *pp = j->next;
      ms->n_running--;
      break;
    }
  }
  err[0] = '\0';
  r = smtp_result(&j->s, h, cc, &j->t, err, sizeof(err));
  mjob_finish(j, r, err);
  msend_pump(ms);
}

static void msend_pump(struct mail_sender *ms)
{
  if(ms->wait_head && !ms->nio)
    ms->nio = netio_new(ms->loop);
  while(ms->wait_head && ms->n_running < ms->k) {
    struct mjob *j = ms->wait_head;
    char err[512];
    enum mail_result r;
    RS_QUEUE_SHIFT(ms->wait_head, ms->wait_tail, j, next);
    ms->n_wait--;
    err[0] = '\0';
    j->h = curl_easy_init();
    if(!j->h) {
      mjob_finish(j, MAIL_RETRY, netio_curl_error());
      continue;
    }
    r = smtp_setup(&j->s, j->implicit_tls, j->h, &j->t, j->from_addr, j->rcpt, j->t.message, err,
                   sizeof(err));
    if(r != MAIL_SENT) {
      mjob_finish(j, r, err);
      continue;
    }
    if(!ms->nio || netio_add(ms->nio, j->h, on_mail_done, j)) {
      mjob_finish(j, MAIL_RETRY, "cannot start the transfer");
      continue;
    }
    j->next = ms->running;
    ms->running = j;
    ms->n_running++;
  }
}

struct mail_sender *mail_sender_new(struct evloop *loop, unsigned max_in_flight)
{
  struct mail_sender *ms = calloc(1, sizeof(*ms));
  if(!ms)
    return NULL;
  ms->loop = loop;
  ms->k = max_in_flight ? max_in_flight : MAIL_MAX_IN_FLIGHT;
  return ms;
}

void mail_sender_set_max(struct mail_sender *ms, unsigned k)
{
  if(k) {
    ms->k = k;
    msend_pump(ms);
  }
}

void mail_sender_free(struct mail_sender *ms)
{
  if(!ms)
    return;
  while(ms->running) {
    struct mjob *j = ms->running;
    ms->running = j->next;
    netio_remove(ms->nio, j->h);
    mjob_free(j);
  }
  while(ms->wait_head) {
    struct mjob *j = ms->wait_head;
    ms->wait_head = j->next;
    mjob_free(j);
  }
  netio_free(ms->nio);
  free(ms);
}

int mail_send_start(struct mail_sender *ms, const struct mail_settings *s, const char *from_addr,
                    const char *rcpt, const char *message, mail_done_fn done, void *ud)
{
  const char *dir = NULL;
  char err[512];
  int tr = mail_transport(s, from_addr, rcpt, message, &dir, err, sizeof(err));
  struct mjob *j;
  if(tr <= 0) {
    enum mail_result r = tr < 0 ? MAIL_CONFIG : send_file(dir, message, err, sizeof(err));
    done(ud, r, r == MAIL_SENT ? "" : err);
    return 0;
  }
  j = rs_xcalloc(1, sizeof(*j));
  j->ms = ms;
  j->s = *s;
  j->s.url = j->url = dup_or_null(s->url);
  j->s.username = j->username = dup_or_null(s->username);
  j->s.password_file = j->password_file = dup_or_null(s->password_file);
  j->s.config_dir = j->config_dir = dup_or_null(s->config_dir);
  j->from_addr = rs_xstrdup(from_addr);
  j->rcpt = rs_xstrdup(rcpt);
  j->t.message = rs_xstrdup(message);
  j->implicit_tls = tr == 2;
  j->done = done;
  j->ud = ud;
  RS_QUEUE_PUSH(ms->wait_head, ms->wait_tail, j, next);
  ms->n_wait++;
  msend_pump(ms);
  return 0;
}

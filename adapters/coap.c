/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coap: the CoAP device backend on libcoap 4.3.1. See adapters/coap.h for
 * the behaviour; this file is the mechanics.
 */
#include "adapters/coap.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <coap3/coap.h>

#include "adapters/coap_payload.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "base/resolve.h"
#include "base/log.h"

#define TOKEN_LEN         8
#define PSK_MAX           256    /* bytes of key we accept from psk_file */
#define DEFAULT_MAX_AGE_S 60     /* RFC 7252 5.10.5 */
#define OBS_REORDER_MS    128000 /* RFC 7641 3.4: a notification this much newer is fresh */
#define DETAIL_MAX        384
#define DIAG_MAX          96 /* bytes of a server's diagnostic payload we quote */

/* One Uri-Path or Uri-Query option value (decoded bytes, owned). */
struct seg {
  uint8_t *s;
  size_t len;
};

struct segs {
  struct seg *v;
  size_t n;
};

enum pstate { PS_IDLE, PS_PENDING, PS_DONE };

/* Per point: its request, the current poll's result, its observation. */
struct cpoint {
  const struct cfg_point *pt;
  struct segs path; /* base path + point path */
  uint8_t token[TOKEN_LEN];
  enum pstate st;
  bool answered;     /* st == PS_DONE because a reply came (not a nack) */
  int tries;         /* GETs sent in this poll */
  int64_t next_send; /* real mono ms of the next attempt */
  struct reading_out {
    enum reading_error err;
    int code;
    struct codec_value val;
    char detail[DETAIL_MAX];
  } res;
  /* observe */
  bool obs_on;       /* registered with the server in this session */
  bool obs_refused;  /* the server answered the last registration without Observe */
  bool obs_have_seq; /* obs_seq/obs_seq_ms hold the last notification's number */
  uint32_t obs_seq;
  int64_t obs_seq_ms;
  int64_t obs_fresh_until; /* real mono ms */
  /* last logged state, to log changes only */
  enum reading_error log_err;
  int log_code;
};

struct coapa {
  const struct cfg_device *dev;
  coap_context_t *ctx;
  coap_session_t *sess;
  char *host;
  uint16_t port;
  bool dtls;
  bool dtls_up; /* the current session finished its handshake */
  uint8_t key[PSK_MAX];
  size_t keylen;
  struct segs query;
  struct cpoint *pts;
  size_t n_pts;
  uint8_t tok_prefix[4];
  /* where readings of notifications go while libcoap runs */
  adapter_emit_fn emit;
  void *emit_ctx;
  int64_t wall_ms;
  /* the liveness ping of a poll that had nothing to GET (every point observed) */
  bool ping_wait; /* a ping is out and no pong came yet */
  bool ponged;
  /* a notification is the device answering too (real mono ms; 0: none yet) */
  int64_t heard_ms;     /* the last notification taken */
  int64_t last_poll_ms; /* when the last poll began */
  /* a session error seen while libcoap ran */
  bool broken;
  bool refused;      /* this poll: a datagram was refused (ICMP port unreachable) */
  bool too_big;      /* this poll: libcoap discarded a PDU too large for it */
  unsigned bad_pdus; /* this poll: datagrams libcoap discarded as malformed */
  enum rs_err broken_rc;
  char broken_msg[200];
  struct coapa_stats stats;
  int64_t rst_window; /* real mono ms the current one-second RST window began */
  unsigned rst_n;     /* RSTs sent in it */
};

/* ---- libcoap process-wide setup ---- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void set_broken(struct coapa *c, enum rs_err rc, const char *msg);

/* The device whose poll runs on this thread: libcoap's log lines name no session. */
static _Thread_local struct coapa *tl_poll;

/*
 * libcoap's own log lines, at debug (errors at info): restock logs what
 * matters itself. A refused send during a poll (the kernel's ICMP port
 * unreachable, one line per datagram while a server is down) is noted on
 * the device and said once in the poll's error instead. Datagrams libcoap
 * discards (too large, malformed) are counted on the device, in a poll and
 * between polls (coapa_on_readable: an observed point's), from the start of
 * its last poll: past COAPA_RST_PER_S the session is ended (set_broken).
 */
static void lib_log(coap_log_t level, const char *message)
{
  size_t n = strlen(message);
  while(n && (message[n - 1] == '\n' || message[n - 1] == '\r'))
    n--;
  if(tl_poll && strstr(message, "Connection refused")) {
    tl_poll->refused = true;
    log_debug("libcoap: %.*s", (int)n, message);
  }
  else if(tl_poll && (strstr(message, "pdu too big") || strstr(message, "malformed PDU"))) {
    struct coapa *c = tl_poll;
    char why[200];
    if(strstr(message, "pdu too big"))
      c->too_big = true;
    else if(++c->bad_pdus > COAPA_RST_PER_S) {
      /* libcoap answers each with a RST: a peer that answers those again would keep a
         ping-pong going at full speed; end this poll (and its session) */
      (void)rs_snprintf(why, sizeof(why), "%s (%u discarded in this poll; ended early)",
                        c->too_big ? "replies too large for one datagram (the server must send "
                                     "larger bodies block-wise, Block2)"
                                   : "datagrams that are not CoAP messages",
                        c->bad_pdus);
      set_broken(c, RS_ERR_PROTOCOL, why);
    }
    log_debug("libcoap: %.*s", (int)n, message);
  }
  else if(level <= LOG_ERR)
    log_info("libcoap: %.*s", (int)n, message);
  else
    log_debug("libcoap: %.*s", (int)n, message);
}

static void lib_init(void)
{
  coap_startup();
  coap_set_log_handler(lib_log);
  coap_set_log_level(LOG_WARNING);
  coap_dtls_set_log_level(LOG_WARNING);
}

/* ---- small helpers ---- */

static int64_t budget_ms(const struct cfg_device *d)
{
  int64_t t = d->timeout_ms > 0 ? d->timeout_ms : 1000;
  int r = d->retries > 0 ? d->retries : 0;
  return t * (r + 1);
}

static void segs_free(struct segs *s)
{
  size_t i;
  for(i = 0; i < s->n; i++)
    FREE_NULL(s->v[i].s);
  FREE_NULL(s->v);
  s->n = 0;
}

/*
 * Append the sep-separated parts of s[0..len-1] to out, percent-decoded,
 * skipping empty parts. Returns 0, or -1 with a sentence in err on a bad
 * %-escape (out keeps what was appended; the caller frees it).
 */
static int segs_split(struct segs *out, const char *s, size_t len, char sep, char *err,
                      size_t errlen)
{
  size_t i = 0;
  while(i < len) {
    size_t j = i, k, o = 0;
    uint8_t *d;
    while(j < len && s[j] != sep)
      j++;
    if(j == i) {
      i++;
      continue;
    }
    d = rs_xmalloc(j - i + 1);
    for(k = i; k < j; k++) {
      if(s[k] == '%') {
        int h = k + 2 < j ? rs_hexval((unsigned char)s[k + 1]) : -1;
        int l = h >= 0 ? rs_hexval((unsigned char)s[k + 2]) : -1;
        if(l < 0) {
          FREE_NULL(d);
          (void)rs_snprintf(err, errlen, "bad %%-escape in \"%.*s\"", (int)(j - i), s + i);
          return -1;
        }
        d[o++] = (uint8_t)(h * 16 + l);
        k += 2;
      }
      else
        d[o++] = (uint8_t)s[k];
    }
    out->v = rs_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
    out->v[out->n].s = d;
    out->v[out->n].len = o;
    out->n++;
    i = j + 1;
  }
  return 0;
}

static void segs_copy(struct segs *dst, const struct segs *src)
{
  size_t i;
  for(i = 0; i < src->n; i++) {
    dst->v = rs_xrealloc(dst->v, (dst->n + 1) * sizeof(*dst->v));
    dst->v[dst->n].s = rs_xmalloc(src->v[i].len + 1);
    memcpy(dst->v[dst->n].s, src->v[i].s, src->v[i].len);
    dst->v[dst->n].len = src->v[i].len;
    dst->n++;
  }
}

/*
 * Read the PSK from path into c->key: the file's bytes, one trailing "\n"
 * or "\r\n" dropped; 1..PSK_MAX bytes. Returns 0, or -1 with a sentence
 * naming the file (never its contents) in err.
 */
static int read_psk(struct coapa *c, const char *path, char *err, size_t errlen)
{
  uint8_t buf[PSK_MAX + 3];
  size_t n = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int rc = -1;
  if(fd < 0) {
    (void)rs_snprintf(err, errlen, "psk_file %s: %s", path, strerror(errno));
    return -1;
  }
  for(;;) {
    ssize_t r = read(fd, buf + n, sizeof(buf) - n);
    if(r < 0 && errno == EINTR)
      continue;
    if(r < 0) {
      (void)rs_snprintf(err, errlen, "psk_file %s: %s", path, strerror(errno));
      goto out;
    }
    if(r == 0)
      break;
    n += (size_t)r;
    if(n == sizeof(buf))
      break;
  }
  if(n && buf[n - 1] == '\n') {
    n--;
    if(n && buf[n - 1] == '\r')
      n--;
  }
  if(n == 0) {
    (void)rs_snprintf(err, errlen, "psk_file %s is empty", path);
    goto out;
  }
  if(n > PSK_MAX) {
    (void)rs_snprintf(err, errlen, "psk_file %s holds more than %d bytes", path, PSK_MAX);
    goto out;
  }
  memcpy(c->key, buf, n);
  c->keylen = n;
  rc = 0;
out:
  explicit_bzero(buf, sizeof(buf));
  close(fd);
  return rc;
}

/* "host:port" for messages ("[::1]:5683" for IPv6 literals). */
static void peer_name(const struct coapa *c, char *buf, size_t size)
{
  if(strchr(c->host, ':'))
    (void)rs_snprintf(buf, size, "[%s]:%u", c->host, (unsigned)c->port);
  else
    (void)rs_snprintf(buf, size, "%s:%u", c->host, (unsigned)c->port);
}

/* Record a session error (the first one wins) seen inside a libcoap callback. */
static void set_broken(struct coapa *c, enum rs_err rc, const char *msg)
{
  if(c->broken)
    return;
  c->broken = true;
  c->broken_rc = rc;
  (void)rs_strlcpy(c->broken_msg, msg, sizeof(c->broken_msg));
  c->stats.session_errors++;
}

static struct cpoint *find_point(struct coapa *c, coap_bin_const_t tok)
{
  size_t i;
  if(tok.length != TOKEN_LEN)
    return NULL;
  i = (size_t)tok.s[4] << 24 | (size_t)tok.s[5] << 16 | (size_t)tok.s[6] << 8 | tok.s[7];
  if(i >= c->n_pts || memcmp(c->pts[i].token, tok.s, TOKEN_LEN))
    return NULL;
  return &c->pts[i];
}

/* The token of the liveness probe: the session's prefix and an index no point has. */
static void probe_token(const struct coapa *c, uint8_t *tok)
{
  memcpy(tok, c->tok_prefix, 4);
  memset(tok + 4, 0xff, TOKEN_LEN - 4);
}

static bool is_probe(const struct coapa *c, coap_bin_const_t tok)
{
  uint8_t pt[TOKEN_LEN];
  probe_token(c, pt);
  return tok.length == TOKEN_LEN && !memcmp(tok.s, pt, TOKEN_LEN);
}

/* Log a point's error when it differs from the last one logged, and a recovery. */
static void note_point(struct coapa *c, struct cpoint *p, enum reading_error e, int code,
                       const char *detail)
{
  if(p->log_err == e && p->log_code == code)
    return;
  if(e == READING_OK)
    log_notice("device %s point %s: reading again", c->dev->id, p->pt->id);
  else
    log_warn("device %s point %s: %s", c->dev->id, p->pt->id,
             detail && *detail ? detail : reading_error_name(e));
  p->log_err = e;
  p->log_code = code;
}

/* Hand p's result to emit (when set) as one reading at wall_ms. */
static void emit_point(struct coapa *c, struct cpoint *p, adapter_emit_fn emit, void *ectx,
                       int64_t wall_ms)
{
  struct reading rd;
  memset(&rd, 0, sizeof(rd));
  rd.device = c->dev->id;
  rd.point = p->pt->id;
  rd.wall_ms = wall_ms;
  rd.error = p->res.err;
  rd.code = p->res.code;
  rd.detail = p->res.detail[0] ? p->res.detail : NULL;
  if(p->res.err == READING_OK) {
    rd.value = codec_value_as_double(&p->res.val);
    rd.is_bool = p->res.val.kind == CODEC_V_BOOL;
    rd.is_int = p->res.val.kind == CODEC_V_INT || p->res.val.kind == CODEC_V_UINT;
  }
  note_point(c, p, rd.error, rd.code, rd.detail);
  if(emit)
    emit(ectx, &rd);
}

/* ---- replies ---- */

/*
 * Turn a reply into p->res: 2.05 decoded per the point's format, other
 * codes an exception with "C.DD Phrase[: diagnostic]".
 */
static void take_reply(struct coapa *c, struct cpoint *p, const coap_pdu_t *rcvd)
{
  coap_pdu_code_t code = coap_pdu_get_code(rcvd);
  unsigned cls = COAP_RESPONSE_CLASS(code), det = (unsigned)code & 0x1f;
  size_t len = 0, off = 0, total = 0;
  const uint8_t *data = NULL;
  char cerr[CODEC_ERR_MAX];

  memset(&p->res, 0, sizeof(p->res));
  if(!coap_get_data_large(rcvd, &len, &data, &off, &total)) {
    len = 0;
    data = NULL;
  }
  if(code == COAP_RESPONSE_CODE_CONTENT) {
    enum codec_err ce;
    if(off != 0 || (total && total != len)) {
      /* without a Size2 option libcoap's total is only "more than this" (len + 1) */
      p->res.err = READING_ERR_MALFORMED;
      if(off != 0)
        (void)rs_snprintf(p->res.detail, sizeof(p->res.detail),
                          "incomplete block-wise body: only %zu bytes from byte %zu came (the "
                          "blocks before were lost)",
                          len, off);
      else
        (void)rs_snprintf(p->res.detail, sizeof(p->res.detail),
                          "incomplete block-wise body: the first %zu bytes came, the rest did not "
                          "(the server sent no further block, or the same block again)",
                          len);
      c->stats.malformed++;
      return;
    }
    ce = cpay_decode(p->pt, len ? data : NULL, len, &p->res.val, cerr, sizeof(cerr));
    if(ce) {
      p->res.err = READING_ERR_MALFORMED;
      (void)rs_snprintf(p->res.detail, sizeof(p->res.detail), "%s", cerr);
      c->stats.malformed++;
    }
    return;
  }
  {
    const char *phrase = coap_response_phrase((unsigned char)code);
    char diag[DIAG_MAX + 1];
    size_t i, n = 0;
    for(i = 0; i < len && n < DIAG_MAX; i++)
      diag[n++] = data[i] >= 0x20 && data[i] < 0x7f ? (char)data[i] : '?';
    diag[n] = '\0';
    if(phrase && !strcmp(diag, phrase))
      n = 0; /* libcoap servers repeat the phrase as the diagnostic */
    p->res.err = READING_ERR_EXCEPTION;
    p->res.code = (int)code;
    (void)rs_snprintf(p->res.detail, sizeof(p->res.detail), "%u.%02u%s%s%s%s", cls, det,
                      phrase ? " " : "", phrase ? phrase : "", n ? ": " : "", diag);
    c->stats.exceptions++;
  }
}

/* An option's unsigned value, or dflt when pdu lacks it. */
static uint32_t opt_uint(const coap_pdu_t *pdu, uint16_t num, uint32_t dflt, bool *present)
{
  coap_opt_iterator_t it;
  coap_opt_t *o = coap_check_option(pdu, num, &it);
  if(present)
    *present = o != NULL;
  if(!o)
    return dflt;
  return coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o));
}

/* RFC 7641 3.4: is notification v2 (at t2) newer than v1 (at t1)? */
static bool obs_newer(uint32_t v1, int64_t t1, uint32_t v2, int64_t t2)
{
  const uint32_t half = 1u << 23;
  return (v1 < v2 && v2 - v1 < half) || (v1 > v2 && v1 - v2 > half) || t2 > t1 + OBS_REORDER_MS;
}

/*
 * A message matched nothing of ours: COAP_RESPONSE_FAIL (libcoap answers it
 * with a RST) while this second's budget of COAPA_RST_PER_S lasts, then
 * COAP_RESPONSE_OK (dropped without an answer, logged once a minute).
 */
static coap_response_t unsolicited(struct coapa *c)
{
  int64_t now = clock_real_mono_ms();
  c->stats.unsolicited++;
  if(now - c->rst_window >= 1000) {
    c->rst_window = now;
    c->rst_n = 0;
  }
  if(c->rst_n < COAPA_RST_PER_S) {
    c->rst_n++;
    return COAP_RESPONSE_FAIL;
  }
  c->stats.rst_suppressed++;
  log_rl(LOG_LVL_WARNING, "coap-reset-storm",
         "device %s: more than %d unsolicited CoAP messages a second; the rest of this second's "
         "are dropped without a reset",
         c->dev->id, COAPA_RST_PER_S);
  return COAP_RESPONSE_OK;
}

/* Whether two results of a point are the same reading (error, code, value). */
static bool same_result(const struct reading_out *a, const struct reading_out *b)
{
  if(a->err != b->err || a->code != b->code)
    return false;
  return a->err != READING_OK || (a->val.kind == b->val.kind &&
                                  codec_value_as_double(&a->val) == codec_value_as_double(&b->val));
}

/*
 * The liveness GET reads the first point, observed: a reply that is not
 * what its observation last said (another value, 4.04) means a notification
 * was lost, or the server restarted and forgot the observation (its
 * resources made anew, the ping answered while no notification will ever
 * come). Every observation of the device is then taken as stale: the next
 * poll registers again and reads the values, instead of Max-Age + 5 s later.
 */
static void check_probe_reply(struct coapa *c, const coap_pdu_t *rcvd)
{
  struct cpoint *p = &c->pts[0];
  struct cpoint now = *p; /* take_reply() writes only its res */
  struct coapa_stats keep = c->stats;
  size_t i;
  take_reply(c, &now, rcvd);
  c->stats = keep; /* not a reading: counted nowhere */
  if(same_result(&now.res, &p->res))
    return;
  /* rate-limited: a server that changes a value without notifying every change would
     say it at every poll with a liveness GET */
  log_rl(LOG_LVL_INFO, "coap-probe-stale",
         "device %s point %s: the liveness GET read %s than the last notification (one "
         "was lost, or the server restarted and forgot the observation); registering again",
         c->dev->id, p->pt->id,
         now.res.err == READING_OK && p->res.err == READING_OK ? "another value"
                                                               : "another result");
  for(i = 0; i < c->n_pts; i++)
    c->pts[i].obs_fresh_until = 0;
}

/*
 * libcoap's response handler: a reply to a poll's GET (recorded in the
 * point), or an observe notification (emitted at once). Unknown tokens get
 * COAP_RESPONSE_FAIL, so libcoap answers with RST and the server forgets a
 * stale observation.
 */
static coap_response_t on_response(coap_session_t *s, const coap_pdu_t *sent,
                                   const coap_pdu_t *rcvd, const coap_mid_t mid)
{
  struct coapa *c = coap_session_get_app_data(s);
  struct cpoint *p;
  int64_t now = clock_real_mono_ms();
  bool has_obs = false;
  uint32_t seq, max_age;
  (void)sent;
  (void)mid;
  if(!c)
    return COAP_RESPONSE_FAIL;
  if(is_probe(c, coap_pdu_get_token(rcvd))) {
    c->ponged = true; /* any answer to the liveness probe: the server is there */
    if(c->n_pts && c->pts[0].obs_on && c->ping_wait)
      check_probe_reply(c, rcvd);
    return COAP_RESPONSE_OK;
  }
  p = find_point(c, coap_pdu_get_token(rcvd));
  if(!p)
    return unsolicited(c);
  seq = opt_uint(rcvd, COAP_OPTION_OBSERVE, 0, &has_obs);
  max_age = opt_uint(rcvd, COAP_OPTION_MAXAGE, DEFAULT_MAX_AGE_S, NULL);
  if(p->st == PS_PENDING) {
    /* the reply to this poll's GET (a registration when the point observes) */
    c->stats.responses++;
    take_reply(c, p, rcvd);
    p->st = PS_DONE;
    p->answered = true;
    if(p->pt->observe) {
      if(p->res.err == READING_ERR_EXCEPTION) {
        p->obs_on = false; /* an error code: no observation; the next poll tries again */
      }
      else if(has_obs) {
        if(!p->obs_on)
          log_info("device %s point %s: observing (Max-Age %u s)", c->dev->id, p->pt->id,
                   (unsigned)max_age);
        p->obs_refused = false;
        p->obs_on = true;
        p->obs_have_seq = true;
        p->obs_seq = seq;
        p->obs_seq_ms = now;
        p->obs_fresh_until = now + (int64_t)max_age * 1000 + COAPA_OBS_MARGIN_MS;
      }
      else {
        /* a 2.05 without Observe: the server does not offer it for this resource (now:
           each GET still asks, so a server updated or replaced underneath is observed) */
        if(!p->obs_refused)
          log_notice("device %s point %s: the server does not offer Observe; polling it",
                     c->dev->id, p->pt->id);
        p->obs_refused = true;
        p->obs_on = false;
      }
    }
    return COAP_RESPONSE_OK;
  }
  if(!p->obs_on)
    /* a notification of an observation we dropped: RST ends it at the
       server; a late or duplicate reply is just ignored */
    return has_obs ? unsolicited(c) : COAP_RESPONSE_OK;
  /* a notification */
  if(has_obs && p->obs_have_seq && !obs_newer(p->obs_seq, p->obs_seq_ms, seq, now))
    return COAP_RESPONSE_OK; /* out of order: older than what we have */
  take_reply(c, p, rcvd);
  if(has_obs) {
    p->obs_have_seq = true;
    p->obs_seq = seq;
    p->obs_seq_ms = now;
  }
  p->obs_fresh_until = now + (int64_t)max_age * 1000 + COAPA_OBS_MARGIN_MS;
  if(p->res.err == READING_ERR_EXCEPTION || !has_obs)
    p->obs_on = false; /* RFC 7641 3.2: an error or a reply without Observe ends it */
  c->heard_ms = now;   /* the server is there: a poll needs no ping to know it */
  c->stats.notifications++;
  emit_point(c, p, c->emit, c->emit_ctx, c->wall_ms);
  return COAP_RESPONSE_OK;
}

/*
 * libcoap's nack handler: a GET that will get no reply (an RST, a DTLS
 * failure, ICMP, or a confirmable message out of retransmissions; restock's
 * GETs are non-confirmable). The point is done without an answer.
 */
static void on_nack(coap_session_t *s, const coap_pdu_t *sent, const coap_nack_reason_t reason,
                    const coap_mid_t mid)
{
  struct coapa *c = coap_session_get_app_data(s);
  struct cpoint *p;
  (void)mid;
  if(!c || !sent)
    return;
  if(is_probe(c, coap_pdu_get_token(sent))) {
    if(reason == COAP_NACK_RST)
      c->ponged = true; /* a reset is an answer too: the server is there */
    return;
  }
  p = find_point(c, coap_pdu_get_token(sent));
  if(reason == COAP_NACK_TLS_FAILED)
    set_broken(c, c->dtls_up ? RS_ERR_IO : RS_ERR_AUTH,
               c->dtls_up ? "the DTLS session failed"
                          : "the DTLS handshake failed (wrong psk_identity or psk_file?)");
  if(!p || p->st != PS_PENDING)
    return;
  memset(&p->res, 0, sizeof(p->res));
  p->st = PS_DONE;
  switch(reason) {
  case COAP_NACK_RST:
    /* the server refused the message itself: it answered, with "no" */
    p->answered = true;
    p->res.err = READING_ERR_EXCEPTION;
    (void)rs_strlcpy(p->res.detail, "the server reset the request (RST)", sizeof(p->res.detail));
    c->stats.exceptions++;
    break;
  case COAP_NACK_TLS_FAILED:
    p->res.err = READING_ERR_IO;
    (void)rs_strlcpy(p->res.detail, c->broken_msg, sizeof(p->res.detail));
    break;
  case COAP_NACK_ICMP_ISSUE:
  case COAP_NACK_NOT_DELIVERABLE:
    p->res.err = READING_ERR_NO_ANSWER;
    (void)rs_strlcpy(p->res.detail, "not deliverable (ICMP: port or host unreachable)",
                     sizeof(p->res.detail));
    c->stats.timeouts++;
    break;
  case COAP_NACK_TOO_MANY_RETRIES:
  default:
    p->res.err = READING_ERR_NO_ANSWER;
    (void)rs_strlcpy(p->res.detail, "no answer (libcoap gave up)", sizeof(p->res.detail));
    c->stats.timeouts++;
    break;
  }
}

/* libcoap's event handler: count handshakes, note session failures. */
static int on_event(coap_session_t *s, const coap_event_t ev)
{
  struct coapa *c = s ? coap_session_get_app_data(s) : NULL;
  if(!c || s != c->sess)
    return 0;
  switch(ev) {
  case COAP_EVENT_DTLS_CONNECTED:
    c->dtls_up = true;
    c->stats.handshakes++;
    break;
  case COAP_EVENT_DTLS_ERROR:
    set_broken(c, c->dtls_up ? RS_ERR_IO : RS_ERR_AUTH,
               c->dtls_up ? "DTLS error on the session"
                          : "the DTLS handshake failed (wrong psk_identity or psk_file?)");
    break;
  case COAP_EVENT_DTLS_CLOSED:
    set_broken(c, RS_ERR_IO, "the server closed the DTLS session");
    break;
  case COAP_EVENT_SESSION_FAILED:
  case COAP_EVENT_SESSION_CLOSED:
    set_broken(c, RS_ERR_IO, "the CoAP session failed");
    break;
  default:
    break;
  }
  return 0;
}

/* ---- sessions ---- */

/*
 * Resolve c->host (numeric first, then a name lookup) into dst with
 * c->port. Returns RS_OK, or RS_ERR_IO with a sentence in err.
 */
static enum rs_err resolve(const struct coapa *c, coap_address_t *dst, char *err, size_t errlen)
{
  struct rs_resolved res;
  char port[8];
  (void)rs_snprintf(port, sizeof(port), "%u", (unsigned)c->port);
  /* a name lookup never holds the device's thread longer than one poll's budget */
  if(rs_resolve_wait(c->host, port, SOCK_DGRAM, budget_ms(c->dev), &res)) {
    (void)rs_strlcpy(err, res.why, errlen);
    return RS_ERR_IO;
  }
  coap_address_init(dst);
  if((size_t)res.addrlen > sizeof(dst->addr)) {
    (void)rs_snprintf(err, errlen, "cannot resolve %s: address too long", c->host);
    return RS_ERR_IO;
  }
  memcpy(&dst->addr, &res.addr, res.addrlen);
  dst->size = res.addrlen;
  return RS_OK;
}

/* Drop the session (no deregistration: use sess_close_clean for that). */
static void sess_drop(struct coapa *c)
{
  size_t i;
  if(c->sess) {
    coap_session_set_app_data(c->sess, NULL);
    coap_session_release(c->sess);
    c->sess = NULL;
  }
  c->dtls_up = false;
  for(i = 0; i < c->n_pts; i++) {
    c->pts[i].obs_on = false;
    c->pts[i].obs_have_seq = false;
  }
}

/* Close the session after an error: counted, logged, reopened on the next poll. */
static void sess_reset(struct coapa *c, const char *why)
{
  if(!c->sess)
    return;
  c->stats.resets++;
  log_debug("device %s: closing the CoAP session (%s)", c->dev->id, why);
  sess_drop(c);
}

/*
 * Make c->sess to the device (UDP, or DTLS-PSK; the handshake runs inside
 * coap_io_process). Returns RS_OK, or RS_ERR_IO with a sentence in err.
 */
static enum rs_err sess_open(struct coapa *c, char *err, size_t errlen)
{
  coap_address_t dst;
  enum rs_err rc;
  size_t i;

  rc = resolve(c, &dst, err, errlen);
  if(rc)
    return rc;
  if(c->dtls) {
    coap_dtls_cpsk_t sd;
    memset(&sd, 0, sizeof(sd));
    sd.version = COAP_DTLS_CPSK_SETUP_VERSION;
    sd.psk_info.identity.s = (const uint8_t *)c->dev->psk_identity;
    sd.psk_info.identity.length = strlen(c->dev->psk_identity);
    sd.psk_info.key.s = c->key;
    sd.psk_info.key.length = c->keylen;
    c->sess = coap_new_client_session_psk2(c->ctx, NULL, &dst, COAP_PROTO_DTLS, &sd);
  }
  else
    c->sess = coap_new_client_session(c->ctx, NULL, &dst, COAP_PROTO_UDP);
  if(!c->sess) {
    char peer[300];
    peer_name(c, peer, sizeof(peer));
    (void)rs_snprintf(err, errlen, "cannot make a CoAP%s session to %s", c->dtls ? "s" : "", peer);
    return RS_ERR_IO;
  }
  coap_session_set_app_data(c->sess, c);
  c->dtls_up = false;
  c->broken = false;
  c->stats.sessions++;
  (void)coap_prng(c->tok_prefix, sizeof(c->tok_prefix));
  for(i = 0; i < c->n_pts; i++) {
    memcpy(c->pts[i].token, c->tok_prefix, 4);
    c->pts[i].token[4] = (uint8_t)(i >> 24);
    c->pts[i].token[5] = (uint8_t)(i >> 16);
    c->pts[i].token[6] = (uint8_t)(i >> 8);
    c->pts[i].token[7] = (uint8_t)i;
  }
  return RS_OK;
}

/*
 * Send p's GET (with Observe: 0 when observe) on c->sess. Returns 0, or -1
 * when libcoap refused to build or queue it.
 */
static int send_get_tok(struct coapa *c, struct cpoint *p, bool observe, const uint8_t *token);

static int send_get(struct coapa *c, struct cpoint *p, bool observe)
{
  return send_get_tok(c, p, observe, p->token);
}

/* Send a GET of p with token (Observe: 0 when observe). */
static int send_get_tok(struct coapa *c, struct cpoint *p, bool observe, const uint8_t *token)
{
  coap_pdu_t *pdu;
  coap_optlist_t *ol = NULL;
  size_t i;
  int ok = 1;

  pdu = coap_pdu_init(COAP_MESSAGE_NON, COAP_REQUEST_CODE_GET, coap_new_message_id(c->sess),
                      coap_session_max_pdu_size(c->sess));
  if(!pdu)
    return -1;
  if(!coap_add_token(pdu, TOKEN_LEN, token))
    ok = 0;
  if(ok && observe)
    ok = coap_insert_optlist(&ol, coap_new_optlist((uint16_t)COAP_OPTION_OBSERVE, 0, NULL));
  for(i = 0; ok && i < p->path.n; i++)
    ok = coap_insert_optlist(
        &ol, coap_new_optlist((uint16_t)COAP_OPTION_URI_PATH, p->path.v[i].len, p->path.v[i].s));
  for(i = 0; ok && i < c->query.n; i++)
    ok = coap_insert_optlist(
        &ol, coap_new_optlist((uint16_t)COAP_OPTION_URI_QUERY, c->query.v[i].len, c->query.v[i].s));
  if(ok && ol)
    ok = coap_add_optlist_pdu(pdu, &ol);
  coap_delete_optlist(ol);
  if(!ok) {
    coap_delete_pdu(pdu);
    return -1;
  }
  if(coap_send(c->sess, pdu) == COAP_INVALID_MID)
    return -1;
  c->stats.requests++;
  return 0;
}

/* ---- adapter ops ---- */

static void coapa_free(struct coapa *c)
{
  size_t i;
  if(!c)
    return;
  sess_drop(c);
  if(c->ctx)
    coap_free_context(c->ctx);
  for(i = 0; i < c->n_pts; i++)
    segs_free(&c->pts[i].path);
  FREE_NULL(c->pts);
  segs_free(&c->query);
  FREE_NULL(c->host);
  explicit_bzero(c->key, sizeof(c->key));
  free(c);
}

/*
 * open: parse the uri, read the PSK, make the libcoap context. The session
 * is made lazily by the first poll. On failure a->priv stays NULL.
 */
static enum rs_err coapa_open(struct adapter *a, char *err, size_t errlen)
{
  const struct cfg_device *d = a->dev;
  struct coapa *c;
  coap_uri_t u;
  struct segs base = {NULL, 0};
  enum rs_err rc = RS_ERR_INVALID;
  size_t i;

  a->priv = NULL;
  if(!coapa_dl_load()) {
    (void)rs_snprintf(err, errlen, "%s", coapa_dl_error());
    return RS_ERR_IO;
  }
  (void)pthread_once(&lib_once, lib_init);
  if(!d->uri || coap_split_uri((const uint8_t *)d->uri, strlen(d->uri), &u) < 0) {
    (void)rs_snprintf(err, errlen, "uri %s is not a valid CoAP URI", d->uri ? d->uri : "(none)");
    return RS_ERR_INVALID;
  }
  if(u.scheme != COAP_URI_SCHEME_COAP && u.scheme != COAP_URI_SCHEME_COAPS) {
    (void)rs_snprintf(err, errlen, "uri %s: only coap:// and coaps:// are supported", d->uri);
    return RS_ERR_INVALID;
  }
  if(!u.host.length) {
    (void)rs_snprintf(err, errlen, "uri %s has no host", d->uri);
    return RS_ERR_INVALID;
  }
  c = rs_xcalloc(1, sizeof(*c));
  c->dev = d;
  c->dtls = u.scheme == COAP_URI_SCHEME_COAPS;
  c->host = rs_xmalloc(u.host.length + 1);
  memcpy(c->host, u.host.s, u.host.length);
  c->host[u.host.length] = '\0';
  c->port = u.port;
  if(segs_split(&base, (const char *)u.path.s, u.path.length, '/', err, errlen) ||
     segs_split(&c->query, (const char *)u.query.s, u.query.length, '&', err, errlen))
    goto out;
  if(c->dtls) {
    if(!coap_dtls_is_supported()) {
      (void)rs_snprintf(err, errlen, "this libcoap has no DTLS support (coaps:// needs it)");
      rc = RS_ERR_IO;
      goto out;
    }
    if(!d->psk_identity || !d->psk_file) {
      (void)rs_snprintf(err, errlen, "coaps:// needs psk_identity and psk_file");
      goto out;
    }
    if(read_psk(c, d->psk_file, err, errlen)) {
      rc = RS_ERR_IO;
      goto out;
    }
  }
  c->n_pts = d->n_points;
  c->pts = rs_xcalloc(c->n_pts ? c->n_pts : 1, sizeof(*c->pts));
  for(i = 0; i < c->n_pts; i++) {
    struct cpoint *p = &c->pts[i];
    const char *path = d->points[i].path ? d->points[i].path : "";
    p->pt = &d->points[i];
    segs_copy(&p->path, &base);
    if(segs_split(&p->path, path, strlen(path), '/', err, errlen))
      goto out;
  }
  c->ctx = coap_new_context(NULL);
  if(!c->ctx) {
    (void)rs_snprintf(err, errlen, "cannot make a libcoap context");
    rc = RS_ERR_NOMEM;
    goto out;
  }
  coap_context_set_block_mode(c->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
  coap_register_response_handler(c->ctx, on_response);
  coap_register_nack_handler(c->ctx, on_nack);
  coap_register_event_handler(c->ctx, on_event);
  a->priv = c;
  c = NULL;
  rc = RS_OK;
out:
  segs_free(&base);
  coapa_free(c);
  return rc;
}

/* close: deregister observations, drop the session, free everything. */
static void coapa_close(struct adapter *a)
{
  struct coapa *c = a->priv;
  size_t i;
  if(!c)
    return;
  /* after a reload a->dev is the new config and the old one may be gone:
     nothing below reads the points' config (p->pt) */
  c->dev = a->dev;
  if(c->sess) {
    bool sent = false;
    for(i = 0; i < c->n_pts; i++) {
      coap_binary_t tok;
      if(!c->pts[i].obs_on)
        continue;
      tok.length = TOKEN_LEN;
      tok.s = c->pts[i].token;
      if(coap_cancel_observe(c->sess, &tok, COAP_MESSAGE_NON))
        sent = true;
      c->pts[i].obs_on = false;
    }
    if(sent) {
      c->emit = NULL;
      (void)coap_io_process(c->ctx, COAP_IO_NO_WAIT);
    }
  }
  coapa_free(c);
  a->priv = NULL;
}

static size_t count_pending(const struct coapa *c)
{
  size_t i, n = 0;
  for(i = 0; i < c->n_pts; i++)
    n += c->pts[i].st == PS_PENDING;
  return n;
}

/*
 * poll: GET every point that is not freshly observed, wait for the replies
 * until one shared deadline, emit one reading per point asked. See coap.h.
 */
static enum rs_err coapa_poll(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ectx,
                              char *err, size_t errlen)
{
  struct coapa *c = a->priv;
  int64_t start = clock_real_mono_ms(), deadline = start + budget_ms(c->dev), now;
  size_t i, n_sent = 0, n_answered = 0, n_lost = 0;
  char peer[300];
  enum rs_err rc = RS_OK;
  int64_t attempt = c->dev->timeout_ms > 0 ? c->dev->timeout_ms : 1000;
  int retries = c->dev->retries > 0 ? c->dev->retries : 0;
  /* a notification since the last poll began: the server was there since */
  bool heard = c->heard_ms && c->heard_ms >= c->last_poll_ms;

  c->last_poll_ms = start;
  peer_name(c, peer, sizeof(peer));
  c->emit = emit;
  c->emit_ctx = ectx;
  c->wall_ms = wall_ms;
  c->refused = c->too_big = false;
  c->bad_pdus = 0;
  tl_poll = c;
  for(i = 0; i < c->n_pts; i++)
    c->pts[i].st = PS_IDLE;
  if(!c->sess) {
    rc = sess_open(c, err, errlen);
    if(rc)
      goto out;
  }
  for(i = 0; i < c->n_pts; i++) {
    struct cpoint *p = &c->pts[i];
    p->answered = false;
    if(p->obs_on && start < p->obs_fresh_until)
      continue; /* notifications keep it current */
    if(p->obs_on)
      log_info("device %s point %s: no notification within Max-Age; registering again", c->dev->id,
               p->pt->id);
    n_sent++;
    p->st = PS_PENDING;
    p->tries = 1;
    p->next_send = start + attempt;
    /* a refused send (over UDP: ICMP port unreachable from an earlier
       datagram) is nobody listening: retried at the next attempt */
    (void)send_get(c, p, p->pt->observe);
  }
  /*
   * Every point is observed and fresh: nothing to GET. A server that died
   * sends no notifications, which would only show when Max-Age ran out; so
   * ask for a sign of life each poll: a plain GET of the first point (no
   * Observe, a token of its own, so the observation is not touched), sent
   * again every `timeout` like any GET, on the same deadline. (A CoAP ping,
   * an empty confirmable message, went unanswered by libcoap's server about
   * half the time while it had an observer.) A notification is a sign of
   * life as good as a pong: none is sent when one came since the last poll
   * began, and one coming while the ping waits ends the wait (a device whose
   * pushes arrive while requests to it are lost is not down).
   */
  c->ping_wait = false;
  c->ponged = false;
  if(!n_sent && c->sess && !heard) {
    int ping_tries = 1;
    int64_t ping_next = start + attempt;
    uint8_t tok[TOKEN_LEN];
    probe_token(c, tok);
    c->ping_wait = c->n_pts && send_get_tok(c, &c->pts[0], false, tok) == 0;
    while(c->ping_wait && !c->broken && !c->ponged && c->heard_ms < start) {
      now = clock_real_mono_ms();
      if(now >= deadline)
        break;
      if(now >= ping_next && ping_tries <= retries && (!c->dtls || c->dtls_up)) {
        ping_tries++;
        ping_next += attempt;
        c->stats.retransmissions++;
        (void)send_get_tok(c, &c->pts[0], false, tok);
      }
      {
        int64_t wake = ping_tries <= retries && ping_next < deadline ? ping_next : deadline;
        (void)coap_io_process(c->ctx, (uint32_t)(wake > now ? wake - now : 1));
      }
    }
    if(c->ping_wait && !c->ponged && c->heard_ms < start) {
      int64_t took = clock_real_mono_ms() - start;
      rc = c->broken ? c->broken_rc : RS_ERR_TIMEOUT;
      (void)rs_snprintf(err, errlen,
                        "no answer to a liveness GET (ping) from %s within %lld ms while "
                        "observing (server down?); registering again at the next poll",
                        peer, (long long)took);
      c->stats.timeouts++;
      sess_reset(c, err);
      c->ping_wait = false;
      goto out;
    }
    c->ping_wait = false;
  }
  while(!c->broken && count_pending(c)) {
    int64_t wake = deadline;
    now = clock_real_mono_ms();
    if(now >= deadline)
      break;
    for(i = 0; i < c->n_pts; i++) {
      struct cpoint *p = &c->pts[i];
      if(p->st != PS_PENDING || p->tries > retries)
        continue;
      /* a DTLS session still in its handshake has its own timers; the
         queued request goes out once it is up */
      if(now >= p->next_send && (!c->dtls || c->dtls_up)) {
        p->tries++;
        p->next_send += attempt;
        c->stats.retransmissions++;
        (void)send_get(c, p, p->pt->observe);
      }
      if(p->tries <= retries && p->next_send < wake && (!c->dtls || c->dtls_up))
        wake = p->next_send;
    }
    if(wake <= now)
      wake = now + 1;
    (void)coap_io_process(c->ctx, (uint32_t)(wake - now));
  }
  for(i = 0; i < c->n_pts; i++) {
    struct cpoint *p = &c->pts[i];
    n_answered += p->answered;
    n_lost += p->st != PS_IDLE && !p->answered;
    if(p->st == PS_PENDING) {
      memset(&p->res, 0, sizeof(p->res));
      p->res.err =
          c->broken && c->broken_rc != RS_ERR_TIMEOUT ? READING_ERR_IO : READING_ERR_NO_ANSWER;
      if(c->broken)
        (void)rs_strlcpy(p->res.detail, c->broken_msg, sizeof(p->res.detail));
      else
        (void)rs_snprintf(p->res.detail, sizeof(p->res.detail), "no answer within %lld ms",
                          (long long)(deadline - start));
      p->st = PS_DONE;
      c->stats.timeouts++;
    }
  }
  /* a notification in this poll (emitted among its readings) is the device answering */
  if(n_sent && !n_answered && (c->broken || c->heard_ms < start)) {
    int64_t took = clock_real_mono_ms() - start;
    if(c->broken)
      rc = c->broken_rc;
    else
      rc = RS_ERR_TIMEOUT;
    if(c->broken)
      (void)rs_snprintf(err, errlen, "%s %s: %s", c->dtls ? "coaps" : "coap", peer, c->broken_msg);
    else if(c->dtls && !c->dtls_up)
      (void)rs_snprintf(err, errlen,
                        "no DTLS handshake with %s within %lld ms (server down, or a wrong "
                        "psk_identity or psk_file)",
                        peer, (long long)took);
    else if(c->too_big)
      (void)rs_snprintf(err, errlen,
                        "no answer from %s within %lld ms: its replies were too large for one "
                        "datagram and discarded (the server must send larger bodies block-wise, "
                        "Block2)",
                        peer, (long long)took);
    else if(c->refused)
      (void)rs_snprintf(err, errlen,
                        "no answer from %s within %lld ms: connection refused (port unreachable: "
                        "nothing listens on that UDP port; is the CoAP server running?)",
                        peer, (long long)took);
    else
      (void)rs_snprintf(err, errlen, "no answer from %s within %lld ms (timeout %lld ms x %d)",
                        peer, (long long)took, (long long)c->dev->timeout_ms, c->dev->retries + 1);
    sess_reset(c, err);
    goto out;
  }
  for(i = 0; i < c->n_pts; i++)
    if(c->pts[i].st == PS_DONE)
      emit_point(c, &c->pts[i], emit, ectx, wall_ms);
  if(c->broken || n_lost)
    sess_reset(c, c->broken ? c->broken_msg : "requests left without an answer");
out:
  for(i = 0; i < c->n_pts; i++)
    c->pts[i].st = PS_IDLE;
  c->emit = NULL;
  c->emit_ctx = NULL;
  tl_poll = NULL;
  return rc;
}

static int coapa_fd(const struct adapter *a)
{
  const struct coapa *c = a->priv;
  return c && c->ctx ? coap_context_get_coap_fd(c->ctx) : -1;
}

/* Process what arrived (notifications are emitted from on_response). */
static enum rs_err coapa_on_readable(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit,
                                     void *ectx)
{
  struct coapa *c = a->priv, *outer = tl_poll;
  if(!c || !c->ctx)
    return RS_OK;
  c->emit = emit;
  c->emit_ctx = ectx;
  c->wall_ms = wall_ms;
  /* libcoap's lines name this device here too: datagrams it discards between polls
     (an observed point's) count towards ending a ping-pong (lib_log) */
  tl_poll = c;
  (void)coap_io_process(c->ctx, COAP_IO_NO_WAIT);
  tl_poll = outer;
  c->emit = NULL;
  c->emit_ctx = NULL;
  if(c->broken)
    sess_reset(c, c->broken_msg);
  return RS_OK;
}

/* libcoap has work queued (a retransmission, a cancel): look again in 100 ms. */
static int64_t coapa_next_timeout(const struct adapter *a)
{
  struct coapa *c = a->priv;
  if(!c || !c->ctx || !c->sess || coap_can_exit(c->ctx))
    return INT64_MAX;
  return clock_real_mono_ms() + 100;
}

static void coapa_on_timeout(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ectx)
{
  (void)coapa_on_readable(a, wall_ms, emit, ectx);
}

const struct adapter_ops coapa_ops = {
    .name = "coap",
    .open = coapa_open,
    .close = coapa_close,
    .poll = coapa_poll,
    .fd = coapa_fd,
    .on_readable = coapa_on_readable,
    .next_timeout = coapa_next_timeout,
    .on_timeout = coapa_on_timeout,
    .reconfigure = NULL,
};

void coapa_get_stats(const struct adapter *a, struct coapa_stats *out)
{
  const struct coapa *c = a ? a->priv : NULL;
  if(c)
    *out = c->stats;
  else
    memset(out, 0, sizeof(*out));
}

int coapa_observing(const struct adapter *a, size_t i)
{
  const struct coapa *c = a ? a->priv : NULL;
  return c && i < c->n_pts && c->pts[i].obs_on;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log: one line per event (see log.h). A line is "<N>" + message + "\n":
 * CR and LF inside the message become the two characters "\r" / "\n", other
 * control characters (but tab) become '?', so one event is always one line.
 * A message longer than LOG_MSG_MAX bytes is cut at a UTF-8 character
 * boundary and ends with "…". The whole line goes out in one write(2) and is
 * shorter than PIPE_BUF, so lines from threads never interleave.
 */
#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MSG_MAX  2048
#define LOG_ELLIPSIS "\xe2\x80\xa6" /* U+2026 */
#define LOG_PREFIX_MAX 64

static _Atomic int log_level = LOG_LVL_INFO;
static _Atomic int log_fd = 2;
/* NULL: the journal's "<4>" prefix; else "PROG: warning: " (log_set_command) */
static const char *log_prog;

void log_set_level(enum log_level lvl)
{
  atomic_store(&log_level, (int)lvl);
}

enum log_level log_get_level(void)
{
  return (enum log_level)atomic_load(&log_level);
}

static const struct {
  const char *name;
  enum log_level lvl;
} level_names[] = {
    {"error", LOG_LVL_ERR}, {"warning", LOG_LVL_WARNING}, {"notice", LOG_LVL_NOTICE},
    {"info", LOG_LVL_INFO}, {"debug", LOG_LVL_DEBUG},
};

/* "error", "warning", "notice", "info", "debug" -> 0 and *out; else -1. */
int log_parse_level(const char *name, enum log_level *out)
{
  size_t i;
  if(!name)
    return -1;
  for(i = 0; i < RS_ARRAY_LEN(level_names); i++) {
    if(!strcmp(name, level_names[i].name)) {
      *out = level_names[i].lvl;
      return 0;
    }
  }
  return -1;
}

void log_set_command(const char *prog)
{
  log_prog = prog;
}

void log_set_fd(int fd)
{
  atomic_store(&log_fd, fd);
}

/* Write all of buf to fd, retrying on EINTR and short writes. */
static void write_all(int fd, const char *buf, size_t len)
{
  while(len) {
    ssize_t n = write(fd, buf, len);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      return;
    }
    buf += n;
    len -= (size_t)n;
  }
}

static void log_vmsg(enum log_level lvl, const char *suffix, const char *fmt, va_list ap)
    RS_PRINTF(3, 0);

/*
 * Format and write one line at lvl when lvl is within the current level.
 * Never fails visibly; errno is preserved for the caller.
 */
void log_msg(enum log_level lvl, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  log_vmsg(lvl, NULL, fmt, ap);
  va_end(ap);
}

/* ---- rate-limited lines ------------------------------------------------- */

struct rl_kind {
  char kind[48];
  int64_t window_start;  /* CLOCK_MONOTONIC ms of the last line written */
  unsigned long dropped; /* lines not written since */
  bool used;
};

static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rl_kind rl_kinds[LOG_RL_KINDS];
static _Atomic int64_t rl_window_ms = 60000;

void log_rl_set_window_ms(int64_t ms)
{
  atomic_store(&rl_window_ms, ms);
}

static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Write the line when its kind wrote none in the current window (with the
 * count of those left out since), else count it. The slot of a kind is
 * found by name; when the table is full the last slot is shared.
 */
void log_rl(enum log_level lvl, const char *kind, const char *fmt, ...)
{
  struct rl_kind *k = NULL;
  int64_t now, win = atomic_load(&rl_window_ms);
  unsigned long dropped = 0;
  char suffix[96];
  size_t i;
  va_list ap;

  if((int)lvl > atomic_load(&log_level))
    return;
  now = mono_ms();
  pthread_mutex_lock(&rl_lock);
  for(i = 0; i < LOG_RL_KINDS && !k; i++) {
    if(!rl_kinds[i].used) {
      k = &rl_kinds[i];
      k->used = true;
      (void)rs_strlcpy(k->kind, kind, sizeof(k->kind));
      k->window_start = now - win;
      k->dropped = 0;
    }
    else if(!strncmp(rl_kinds[i].kind, kind, sizeof(rl_kinds[i].kind) - 1))
      k = &rl_kinds[i];
  }
  if(!k)
    k = &rl_kinds[LOG_RL_KINDS - 1];
  if(now - k->window_start < win) {
    k->dropped++;
    pthread_mutex_unlock(&rl_lock);
    return;
  }
  dropped = k->dropped;
  k->dropped = 0;
  k->window_start = now;
  pthread_mutex_unlock(&rl_lock);
  suffix[0] = '\0';
  if(dropped)
    (void)snprintf(suffix, sizeof(suffix),
                   " (and %lu more like this, not logged, since the last one)", dropped);
  va_start(ap, fmt);
  log_vmsg(lvl, suffix, fmt, ap);
  va_end(ap);
}

/*
 * The start of a line into line (LOG_PREFIX_MAX bytes): "<4>" for the journal, or
 * "PROG: warning: " once log_set_command() named a command. Returns its length.
 */
static int log_prefix(char *line, enum log_level lvl)
{
  const char *name = "error";
  size_t i;
  int n;

  if(!log_prog)
    return snprintf(line, LOG_PREFIX_MAX, "<%d>", (int)lvl);
  for(i = 0; i < RS_ARRAY_LEN(level_names); i++)
    if(level_names[i].lvl == lvl)
      name = level_names[i].name;
  n = snprintf(line, LOG_PREFIX_MAX, "%.40s: %s: ", log_prog, name);
  return n < LOG_PREFIX_MAX ? n : LOG_PREFIX_MAX - 1;
}

/* The line of log_msg(), with suffix (NULL: none) after the message. */
static void log_vmsg(enum log_level lvl, const char *suffix, const char *fmt, va_list ap)
{
  /* the formatted text may be longer than what is kept: the surplus is cut */
  char raw[LOG_MSG_MAX + 1];
  char line[LOG_PREFIX_MAX + LOG_MSG_MAX + sizeof(LOG_ELLIPSIS) + 2];
  size_t o, i, rawlen, prefix;
  bool cut = false;
  int saved = errno, n;

  if((int)lvl > atomic_load(&log_level))
    return;
  n = vsnprintf(raw, sizeof(raw), fmt, ap);
  if(n < 0) {
    rs_strlcpy(raw, "(unformattable log message)", sizeof(raw));
    n = (int)strlen(raw);
  }
  rawlen = strlen(raw);
  if((size_t)n > rawlen)
    cut = true;
  if(suffix && *suffix && !cut) {
    /* the count goes after the message, and is cut with it when too long */
    size_t sl = strlen(suffix);
    if(rawlen + sl < sizeof(raw)) {
      memcpy(raw + rawlen, suffix, sl + 1);
      rawlen += sl;
    }
  }

  n = log_prefix(line, lvl);
  prefix = o = (size_t)n;
  for(i = 0; i < rawlen; i++) {
    unsigned char ch = (unsigned char)raw[i];
    size_t need = (ch == '\n' || ch == '\r') ? 2 : 1;
    if(o - prefix + need > LOG_MSG_MAX) {
      cut = true;
      break;
    }
    if(ch == '\n' || ch == '\r') {
      line[o++] = '\\';
      line[o++] = ch == '\n' ? 'n' : 'r';
    }
    else if((ch < 0x20 && ch != '\t') || ch == 0x7f)
      line[o++] = '?';
    else
      line[o++] = (char)ch;
  }
  if(cut) {
    /* drop a UTF-8 sequence that the cut left incomplete */
    size_t j = o;
    while(j > prefix && ((unsigned char)line[j - 1] & 0xC0) == 0x80)
      j--;
    if(j > prefix && (unsigned char)line[j - 1] >= 0xC0) {
      unsigned char lead = (unsigned char)line[j - 1];
      size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      if(o - (j - 1) < want)
        o = j - 1;
    }
    memcpy(line + o, LOG_ELLIPSIS, sizeof(LOG_ELLIPSIS) - 1);
    o += sizeof(LOG_ELLIPSIS) - 1;
  }
  line[o++] = '\n';
  write_all(atomic_load(&log_fd), line, o);
  errno = saved;
}

int log_level_option(const char *prog, const char *arg, enum log_level *out)
{
  if(!log_parse_level(arg, out))
    return 0;
  fprintf(stderr,
          "%s: --log-level: unknown level '%s' (expected error, warning, notice, info or "
          "debug)\n",
          prog, arg);
  return -1;
}

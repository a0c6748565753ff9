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
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_MSG_MAX  2048
#define LOG_ELLIPSIS "\xe2\x80\xa6" /* U+2026 */

static _Atomic int log_level = LOG_LVL_INFO;
static _Atomic int log_fd = 2;

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

/*
 * Format and write one line at lvl when lvl is within the current level.
 * Never fails visibly; errno is preserved for the caller.
 */
void log_msg(enum log_level lvl, const char *fmt, ...)
{
  /* the formatted text may be longer than what is kept: the surplus is cut */
  char raw[LOG_MSG_MAX + 1];
  char line[8 + LOG_MSG_MAX + sizeof(LOG_ELLIPSIS) + 2];
  size_t o, i, rawlen, prefix;
  bool cut = false;
  int saved = errno, n;
  va_list ap;

  if((int)lvl > atomic_load(&log_level))
    return;
  va_start(ap, fmt);
  n = vsnprintf(raw, sizeof(raw), fmt, ap);
  va_end(ap);
  if(n < 0) {
    rs_strlcpy(raw, "(unformattable log message)", sizeof(raw));
    n = (int)strlen(raw);
  }
  rawlen = strlen(raw);
  if((size_t)n > rawlen)
    cut = true;

  n = snprintf(line, sizeof(line), "<%d>", (int)lvl);
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

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * escape: HTML, JSON string and URL escaping (see escape.h).
 */
#include "base/escape.h"

#include <math.h>
#include <string.h>

void escape_html(struct rs_buf *out, const char *s)
{
  const char *p, *run;
  if(!s)
    return;
  run = s;
  for(p = s; *p; p++) {
    const char *rep = NULL;
    unsigned char ch = (unsigned char)*p;
    switch(ch) {
    case '&':
      rep = "&amp;";
      break;
    case '<':
      rep = "&lt;";
      break;
    case '>':
      rep = "&gt;";
      break;
    case '"':
      rep = "&quot;";
      break;
    case '\'':
      rep = "&#39;";
      break;
    default:
      if(ch < 0x20 && ch != '\n' && ch != '\t')
        rep = "\xef\xbf\xbd"; /* U+FFFD for control characters */
      break;
    }
    if(rep) {
      rs_buf_append(out, run, (size_t)(p - run));
      rs_buf_puts(out, rep);
      run = p + 1;
    }
  }
  rs_buf_append(out, run, (size_t)(p - run));
}

void escape_json_str(struct rs_buf *out, const char *s)
{
  rs_buf_puts(out, "\"");
  for(; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if(ch == '"' || ch == '\\')
      rs_buf_printf(out, "\\%c", ch);
    else if(ch < 0x20)
      rs_buf_printf(out, "\\u%04x", ch);
    else
      rs_buf_append(out, s, 1);
  }
  rs_buf_puts(out, "\"");
}

void escape_json_num(struct rs_buf *out, double v, int dec)
{
  char tmp[64];
  size_t n;
  if(!isfinite(v)) {
    rs_buf_puts(out, "null");
    return;
  }
  if(rs_snprintf(tmp, sizeof(tmp), "%.*f", dec, v)) {
    rs_buf_printf(out, "%.6g", v);
    return;
  }
  n = strlen(tmp);
  if(strchr(tmp, '.')) {
    while(n && tmp[n - 1] == '0')
      tmp[--n] = '\0';
    if(n && tmp[n - 1] == '.')
      tmp[--n] = '\0';
  }
  if(!strcmp(tmp, "-0"))
    (void)rs_strlcpy(tmp, "0", sizeof(tmp));
  rs_buf_puts(out, tmp);
}

void escape_url(struct rs_buf *out, const char *s)
{
  static const char hexd[] = "0123456789ABCDEF";
  for(; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
       ch == '-' || ch == '_' || ch == '.' || ch == '~')
      rs_buf_append(out, s, 1);
    else {
      char e[3] = {'%', hexd[ch >> 4], hexd[ch & 15]};
      rs_buf_append(out, e, 3);
    }
  }
}

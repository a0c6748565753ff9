/* SPDX-License-Identifier: Apache-2.0 */
/*
 * escape: appending text to an rs_buf escaped for where it goes: HTML text
 * and attribute values, JSON strings, URL query values.
 */
#ifndef RS_ESCAPE_H
#define RS_ESCAPE_H

#include "base/rs_util.h"

/*
 * s escaped for HTML text and quoted attribute values (& < > " '; control
 * characters other than newline and tab become U+FFFD). NULL appends nothing.
 */
void escape_html(struct rs_buf *out, const char *s);
/* s as a quoted JSON string (" and \ escaped, control characters as \u00XX); NULL as "". */
void escape_json_str(struct rs_buf *out, const char *s);
/* v as a JSON number with at most dec decimals, trailing zeros dropped; null when not finite. */
void escape_json_num(struct rs_buf *out, double v, int dec);
/* s percent-encoded for a URL query value (only unreserved characters kept). */
void escape_url(struct rs_buf *out, const char *s);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
#include "base/rs_err.h"

#include "base/rs_util.h"

/* Returns a static string for rc; "unknown error" for values outside the enum. */
const char *rs_strerror(enum rs_err rc)
{
  /* in the enum's order */
  static const char *const names[] = {
      "success",   "out of memory",        "input/output error", "database error", "state conflict",
      "not found", "invalid argument",     "timed out",          "protocol error", "disk full",
      "busy",      "authentication failed"};
  _Static_assert(RS_ARRAY_LEN(names) == RS_ERR_AUTH + 1, "a name for every value");
  return (unsigned)rc < RS_ARRAY_LEN(names) ? names[rc] : "unknown error";
}

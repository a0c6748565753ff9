/* SPDX-License-Identifier: Apache-2.0 */
#include "base/rs_err.h"

/* Returns a static string for rc; "unknown error" for values outside the enum. */
const char *rs_strerror(enum rs_err rc)
{
  switch(rc) {
  case RS_OK:
    return "success";
  case RS_ERR_NOMEM:
    return "out of memory";
  case RS_ERR_IO:
    return "input/output error";
  case RS_ERR_DB:
    return "database error";
  case RS_ERR_CONFLICT:
    return "state conflict";
  case RS_ERR_NOT_FOUND:
    return "not found";
  case RS_ERR_INVALID:
    return "invalid argument";
  case RS_ERR_TIMEOUT:
    return "timed out";
  case RS_ERR_PROTOCOL:
    return "protocol error";
  case RS_ERR_FULL:
    return "disk full";
  case RS_ERR_BUSY:
    return "busy";
  case RS_ERR_AUTH:
    return "authentication failed";
  }
  return "unknown error";
}

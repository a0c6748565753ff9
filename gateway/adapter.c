/* SPDX-License-Identifier: Apache-2.0 */
/*
 * adapter: the registry of device backends compiled into restockd, and the
 * names of reading errors. The device-polling work adds one `case` per
 * transport below, pointing at the backend's `static const` ops table
 * (exported from adapters/ through a header of its own).
 */
#include "gateway/adapter.h"

/* Returns a static label for e; "unknown" for values outside the enum. */
const char *reading_error_name(enum reading_error e)
{
  switch(e) {
  case READING_OK:
    return "ok";
  case READING_ERR_NO_ANSWER:
    return "no_answer";
  case READING_ERR_IO:
    return "io";
  case READING_ERR_EXCEPTION:
    return "exception";
  case READING_ERR_MALFORMED:
    return "malformed";
  }
  return "unknown";
}

/* No backend is built in yet: every transport answers NULL. */
const struct adapter_ops *adapter_default_lookup(void *ctx, enum cfg_transport t)
{
  (void)ctx;
  switch(t) {
  case CFG_TR_MODBUS_TCP:
  case CFG_TR_MODBUS_RTU:
  case CFG_TR_COAP:
    break;
  }
  return NULL;
}

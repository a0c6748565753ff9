/* SPDX-License-Identifier: Apache-2.0 */
/*
 * adapter: the registry of device backends compiled into restockd, and the
 * names of reading errors. The device-polling work adds one `case` per
 * transport below, pointing at the backend's `static const` ops table
 * (exported from adapters/ through a header of its own).
 */
#include "adapters/adapter.h"

#include "adapters/coap.h"
#include "adapters/modbus.h"
#include "base/rs_util.h"

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

/* Modbus TCP and RTU (adapters/modbus.h) and CoAP (adapters/coap.h) are built in. */
const struct adapter_ops *adapter_default_lookup(void *ctx, enum cfg_transport t)
{
  (void)ctx;
  switch(t) {
  case CFG_TR_MODBUS_TCP:
    return &modbus_tcp_ops;
  case CFG_TR_MODBUS_RTU:
    return &modbus_rtu_ops;
  case CFG_TR_COAP:
    return &coapa_ops;
  }
  return NULL;
}

int adapter_bus_key(const struct cfg_device *d, char *buf, size_t size)
{
  switch(d->transport) {
  case CFG_TR_MODBUS_TCP:
    return rs_snprintf(buf, size, "modbus-tcp %s:%u", d->host ? d->host : "", (unsigned)d->port);
  case CFG_TR_MODBUS_RTU:
    return rs_snprintf(buf, size, "modbus-rtu %s", d->serial ? d->serial : "");
  case CFG_TR_COAP:
    break;
  }
  return rs_snprintf(buf, size, "%s %s", cfg_transport_name(d->transport), d->id);
}

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
  /* in the enum's order */
  static const char *const names[] = {"ok", "no_answer", "io", "exception", "malformed"};
  _Static_assert(RS_ARRAY_LEN(names) == READING_ERR_MALFORMED + 1, "a name for every value");
  return (unsigned)e < RS_ARRAY_LEN(names) ? names[e] : "unknown";
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
    /* the resolved port: /dev/ttyUSB0 and a /dev/serial/by-id link to it are one bus */
    return rs_snprintf(buf, size, "modbus-rtu %s",
                       d->serial_port ? d->serial_port : d->serial ? d->serial : "");
  case CFG_TR_COAP:
    break;
  }
  return rs_snprintf(buf, size, "%s %s", cfg_transport_name(d->transport), d->id);
}

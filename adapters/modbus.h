/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modbus: the Modbus TCP and Modbus RTU device backends (gateway/adapter.h)
 * on libmodbus 3.1.6.
 *
 * Connections: devices on one bus (adapter_bus_key(): one host:port, or one
 * serial port) share one libmodbus context, kept in a process-wide registry
 * keyed by bus (refcounted; the registry itself is locked, a connection is
 * only ever used by its bus's thread). So one process runs one scheduler
 * over Modbus devices (restockd does); two schedulers polling the same bus
 * at once would share a connection from two threads. Each transaction first sets the
 * device's unit id (modbus_set_slave) and response timeout. Connecting is
 * lazy (first poll) and happens again after any I/O error or malformed TCP
 * reply, which closes the connection.
 *
 * A poll reads the device's plan (adapters/modbus_plan.h) with function
 * codes 1, 2, 3, 4 and decodes each point with mbc_decode(); raw[] holds the
 * registers (or bits) as they came off the wire. Within one poll at most
 * retries + 1 attempts fail on timeouts, I/O errors, busy replies or garbage
 * (shared by all its requests), so a dead device costs at most timeout x
 * (retries + 1) (+ busy_wait after each exception 6). Exception 6 (server
 * busy) is retried after busy_wait; other exceptions are final for that
 * request and reported on its points with reading.code = the exception code;
 * oversized or garbage replies, and replies with the wrong count or function,
 * are READING_ERR_MALFORMED; a reply cut off mid-frame is a timeout (libmodbus
 * waits for the rest). When no
 * request got any answer the poll fails with RS_ERR_TIMEOUT (nothing came
 * back) or RS_ERR_IO (refused, reset), and emits nothing.
 *
 * File descriptors: libmodbus 3.1.6 waits with select(), which corrupts
 * memory for descriptors >= 1024. TCP sockets are connected here (poll(2),
 * the device timeout) and moved below 1024 before libmodbus sees them; a
 * serial port's descriptor is moved down after opening. When no descriptor
 * below 1024 is free the poll fails with a sentence saying so.
 *
 * RTU: rs485: true switches the port to RS485 mode; failure (e.g. a pty,
 * "Inappropriate ioctl") is logged once as a warning and polling goes on.
 * The port is flushed after opening.
 */
#ifndef RS_MODBUS_H
#define RS_MODBUS_H

#include "adapters/adapter.h"

/* Lowest descriptor number libmodbus must never see (FD_SETSIZE). */
#define MODBUS_FD_LIMIT 1024

extern const struct adapter_ops modbus_tcp_ops;
extern const struct adapter_ops modbus_rtu_ops;

#endif

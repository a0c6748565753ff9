/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modbus: the Modbus TCP and Modbus RTU device backends (adapters/adapter.h).
 *
 * TCP (modbus_tcp.c) runs on the daemon's event loop (base/evloop.h), not
 * on libmodbus: non-blocking connects, one 12-byte MBAP request per read,
 * replies framed by their MBAP length and matched by transaction id,
 * timeouts from the loop's timers. Every device (every host:port) has its
 * request in flight at once; a device that does not answer costs only its
 * own timeouts; any descriptor number works (epoll). Devices on one
 * host:port (a TCP-to-RTU bridge) share one connection and take turns.
 * Without an event loop (restockctl probe, the scheduler's inline mode) its
 * poll() runs a loop of the calling thread's own until the poll is done.
 * docs/architecture.md says why TCP does not go through libmodbus.
 *
 * RTU (modbus.c) uses libmodbus 3.1.6 on one bus thread per serial port:
 * devices on one port share one libmodbus context, kept in a process-wide
 * registry keyed by port (its path resolved when the device opens or, while
 * it does not resolve, at each poll; refcounted), which a poll holds: two
 * spellings of a port missing at load (two buses) take turns on it once it
 * appears. Each transaction first sets the
 * device's unit id (modbus_set_slave) and response timeout. Opening is lazy
 * (first poll) and happens again after an I/O error. libmodbus waits with
 * select(), which corrupts memory for descriptors >= 1024: a serial port's
 * descriptor is moved below 1024 after opening (when none is free the poll
 * fails with a sentence saying so). rs485: true switches the port to RS485
 * mode; failure (e.g. a pty, "Inappropriate ioctl") is logged once as a
 * warning and polling goes on. The port is flushed after opening.
 *
 * Both: a poll reads the device's plan (adapters/modbus_plan.h) with
 * function codes 1, 2, 3, 4 and decodes each point with mbc_decode(); raw[]
 * holds the registers (or bits) as they came off the wire. How failures
 * count (retries, busy, exceptions, malformed replies, "did not answer") is
 * shared: adapters/modbus_dev.h.
 */
#ifndef RS_MODBUS_H
#define RS_MODBUS_H

#include "adapters/adapter.h"

/* Lowest descriptor number libmodbus must never see (FD_SETSIZE). */
#define MODBUS_FD_LIMIT 1024

extern const struct adapter_ops modbus_tcp_ops;
extern const struct adapter_ops modbus_rtu_ops;

#endif

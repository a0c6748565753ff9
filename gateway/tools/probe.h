/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe: `restockctl probe DEVICE [POINT] [--plan] [--json]` (SPEC 2, 4).
 * Reads one device (or one of its points) now, through the same adapter
 * the daemon uses, on the calling thread; no daemon needed.
 *
 * Table output: a header line "DEVICE: up, rtt N ms" (or "down"), then one
 * line per point: POINT, RAW (registers in hex as they came off the wire),
 * VALUE, UNIT, ERROR. --json prints one document:
 *   {"device": ID, "state": "up"|"down", "rtt_ms": N|null,
 *    "points": [{"id", "value": NUMBER|BOOL|null, "raw": [N...], "error": null|"..."}]}
 * --plan prints the planned requests (adapters/modbus_plan.h text form; for
 * CoAP one "GET URI" line per point) without sending anything.
 */
#ifndef RS_PROBE_H
#define RS_PROBE_H

/*
 * argv[0] is "probe". Returns the exit code: 0 every point read; 1 the
 * device did not answer or a point got an exception, malformed reply or
 * other error; 2 bad usage, invalid config, unknown device or point.
 * Output on stdout, diagnostics on stderr.
 */
int probe_main(const char *config_dir, int argc, char **argv);

#endif

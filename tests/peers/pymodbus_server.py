# SPDX-License-Identifier: Apache-2.0
"""Test peer: a pymodbus 3.0 Modbus TCP server on 127.0.0.1 serving the
values a test wrote into a JSON file:

  {"units": {"1": {"hr": {"100": 20, ...}, "ir": {...}, "co": {"0": 1}, "di": {}}}}

usage: /usr/bin/python3 pymodbus_server.py PORT SPEC.json
Every table of every unit has addresses 0..999 (zero_mode: address 0 is the
first register). Requests for unit ids not in the file are dropped (pymodbus
3.0 does not answer them). Prints "ready" once it listens.
"""
import json
import logging
import socket
import sys
import threading
import time


def main():
    port = int(sys.argv[1])
    with open(sys.argv[2]) as f:
        spec = json.load(f)
    logging.disable(logging.CRITICAL)  # pymodbus logs an error on every disconnect
    from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                    ModbusSlaveContext)
    from pymodbus.server import StartTcpServer
    logging.disable(logging.CRITICAL)
    slaves = {}
    for unit, tables in spec["units"].items():
        blocks = {}
        for t in ("hr", "ir", "co", "di"):
            vals = [0] * 1000
            for addr, v in tables.get(t, {}).items():
                vals[int(addr)] = int(v)
            blocks[t] = ModbusSequentialDataBlock(0, vals)
        slaves[int(unit)] = ModbusSlaveContext(zero_mode=True, **blocks)
    ctx = ModbusServerContext(slaves=slaves, single=False)

    def announce():
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    print("ready", flush=True)
                    return
            except OSError:
                time.sleep(0.02)
    threading.Thread(target=announce, daemon=True).start()
    # SO_REUSEADDR: the port may be held (not listened on) by the test (tests/testports.py)
    StartTcpServer(context=ctx, address=("127.0.0.1", port), allow_reuse_address=True)


if __name__ == "__main__":
    main()

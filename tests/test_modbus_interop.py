# SPDX-License-Identifier: Apache-2.0
"""Interop: registers encoded by adapters/modbus_codec, served by pymodbus,
read back by mbpoll (an independent Modbus client with its own float and
int32 decoding). Shows the encoder's ABCD and CDAB orders match what other
tools call big-endian word order (mbpoll -B) and its default (CDAB).

usage: /usr/bin/python3 test_modbus_interop.py PATH/TO/modbus_encode_tool
Exit 0 on success, 1 on a mismatch, 77 when pymodbus or mbpoll is missing.
"""
import os
import shutil
import socket
import subprocess
import sys
import time

from testports import reserve_port  # tests/testports.py

HOST = "127.0.0.1"
# (address, type, endian, value as text, mbpoll type, mbpoll -B)
CASES = [
    (0, "float32", "ABCD", "123.456", "4:float", True),
    (2, "float32", "CDAB", "123.456", "4:float", False),
    (4, "float32", "ABCD", "-0.1", "4:float", True),
    (6, "float32", "CDAB", "-98765.4", "4:float", False),
    (8, "int32", "ABCD", "-123456789", "4:int", True),
    (10, "int32", "CDAB", "-123456789", "4:int", False),
    (12, "int32", "CDAB", "305419896", "4:int", False),  # 0x12345678
    (14, "uint16", "ABCD", "65535", "4", False),
    (15, "int16", "ABCD", "-2", "4", False),
]


def encode(tool, typ, endian, value):
    out = subprocess.run([tool, typ, endian, value], check=True, capture_output=True, text=True)
    return [int(r) for r in out.stdout.split()]


def serve(port, regs):
    """Child mode: serve regs as holding registers 0.. on port, unit 1."""
    import logging
    from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                    ModbusSlaveContext)
    from pymodbus.server import StartTcpServer
    logging.disable(logging.CRITICAL)  # pymodbus logs an error on every disconnect
    slave = ModbusSlaveContext(hr=ModbusSequentialDataBlock(0, regs), zero_mode=True)
    StartTcpServer(context=ModbusServerContext(slaves=slave, single=True), address=(HOST, port),
                   allow_reuse_address=True)  # the test holds the port (tests/testports.py)


def wait_port(port, proc, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def mbpoll(port, address, mtype, big):
    cmd = ["mbpoll", "-m", "tcp", "-p", str(port), "-a", "1", "-0", "-1", "-o", "2",
           "-r", str(address), "-c", "1", "-t", mtype]
    if big:
        cmd.append("-B")
    cmd.append(HOST)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("[%d]:" % address):
            return line.split(":", 1)[1].strip()
    raise RuntimeError("no value in mbpoll output (rc %d): %s %s"
                       % (out.returncode, out.stdout, out.stderr))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), [int(r) for r in sys.argv[3].split(",")])
        return 0
    tool = sys.argv[1]
    try:
        import pymodbus  # noqa: F401
        import serial_asyncio  # noqa: F401  pymodbus 3.0 needs it even for TCP
    except ImportError as e:
        print("skipped: %s" % e)
        return 77
    if not shutil.which("mbpoll"):
        print("skipped: mbpoll not installed")
        return 77
    regs = [0] * 32
    for addr, typ, endian, value, _, _ in CASES:
        enc = encode(tool, typ, endian, value)
        regs[addr:addr + len(enc)] = enc
    port = reserve_port()
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", str(port),
                             ",".join(str(r) for r in regs)])
    failures = 0
    try:
        if not wait_port(port, proc):
            print("FAIL: pymodbus server did not start on port %d" % port)
            return 1
        for addr, typ, endian, value, mtype, big in CASES:
            got = mbpoll(port, addr, mtype, big)
            if mtype.endswith("float"):
                # mbpoll prints 6 significant digits; compare as numbers.
                ok = abs(float(got) - float(value)) <= abs(float(value)) * 1e-5
            elif typ == "int16":
                # 16-bit registers print as "65534 (-2)": unsigned, then signed.
                ok = int(got.split("(")[-1].rstrip(")")) == int(value)
            else:
                ok = int(got.split()[0]) == int(value)
            print("%s %s %s at %d: mbpoll read %s -> %s"
                  % (typ, endian, value, addr, got, "ok" if ok else "MISMATCH"))
            failures += not ok
        # The wrong order must not read back right (the check can fail).
        got = mbpoll(port, 0, "4:float", False)
        if abs(float(got) - 123.456) < 0.01:
            print("FAIL: ABCD registers also read as CDAB: %s" % got)
            failures += 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: Apache-2.0
"""Device polling over Modbus against real peers on 127.0.0.1 (SPEC 4).

usage: /usr/bin/python3 test_modbus.py CASE --encode TOOL --poll TOOL
       --probe TOOL --server RTU_SERVER --restockd RESTOCKD --peers DIR

CASE is one of:
  types         every type x endian, encoded by adapters/modbus_codec
                (modbus_encode_tool), served by pymodbus, read through the
                adapter (probe --json and the scheduler's readings)
  mbpoll        mbpoll reads the same registers: an independent cross-check
  rtu           socat pty pair, our libmodbus RTU server answering units 1
                and 2 on one port, two devices sharing the port (rs485 on:
                fails on a pty, must be non-fatal)
  rtu_spellings two devices on one port under two names (the pty and a symlink to it, as
                /dev/ttyUSB0 and a /dev/serial/by-id link): one bus, both read (each
                spelling its own bus took the port's lock from the other)
  rtu_spellings_late  the same, with the port missing when the scheduler starts: the
                pty pair, its symlink and the slave appear later (a USB adapter plugged in
                after start): both devices read without a reload, one connection (before:
                one spelling was refused 'in use' until a reload)
  rtu_late      a slave slower than the timeout (socat pty pair): its late reply is never
                taken as the answer to the next request (RTU has no transaction id: point
                b read as point a's value); the error names the late reply
  rtu_garbled   a slave whose replies come garbled (as with a wrong baud rate or parity:
                bad CRC): the point's error says to check the serial settings
  rtu_shared    restockd polls an RTU device while restockctl probe asks for it too: the
                probe is refused ("in use by another process") instead of the two
                reading each other's replies (values swapped between points)
  exceptions    exception 6 (busy) retried after busy_wait; exception 2
                counted per kind; always-busy counted as exception_6
  hostile       short, oversized, garbage, wrong-count, wrong-function
                replies and closed connections: no crash, every fault counted
  split         every reply cut in two writes at each byte position in turn, a late
                reply to the previous request in front of every third: every value
                read right, no error counted (a frame's part kept between reads)
  garbage       a device that answers every request, but only with garbage,
                is counted as malformed and shown down after down_after
  down_restart  device down at start, then up; killed and restarted on the
                same port: it reconnects (each step waits for its event)
  isolation     a device that accepts and never answers does not delay a
                device on another bus (it is read on while the mute poll
                hangs; inline it is not); no pile-up; the scheduler shuts
                down with the poll in flight
  continuous    poll_interval 0ms reads a device again as soon as its reply is
                in (no rounds skipped); a 500ms device on the same
                connection keeps its interval
  probe         probe table, --json, --plan, POINT, exit codes 0/1/2
  fdlimit       every descriptor below 1100 taken: Modbus TCP still reads (its
                socket is numbered above 1024: epoll, not libmodbus' select())
  many          2,000 Modbus TCP devices, each on a port of its own: 2,000
                connections open at once on one event loop, every device up
                and every value right (RLIMIT_NOFILE raised as needed)
  daemon        restockd with a silent device stops on SIGTERM (exit 0)
Exit 0 pass, 1 fail, 77 skip (a peer is missing).
No check is on how long something took: a generous timeout only guards
against a hang (and says so); speed is measured in bench/poll.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from testcheck import check, failures  # tests/testcheck.py
from testports import reserve_port  # tests/testports.py

HOST = "127.0.0.1"
PY = "/usr/bin/python3"
procs = []


def start(cmd, wait_ready=True):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    if wait_ready:
        line = p.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError("peer did not start: %s" % " ".join(cmd))
    return p


def stop(p):
    if p.poll() is None:
        p.kill()
        p.wait()


def pymodbus(args, port, units):
    spec = os.path.join(args.tmp, "spec-%d.json" % port)
    with open(spec, "w") as f:
        json.dump({"units": units}, f)
    return start([PY, os.path.join(args.peers, "pymodbus_server.py"), str(port), spec])


def write_config(args, name, devices_yaml):
    d = os.path.join(args.tmp, name)
    os.makedirs(os.path.join(d, "devices.d"), exist_ok=True)
    with open(os.path.join(d, "restock.yaml"), "w") as f:
        # an HTTP port of its own: tests run in parallel (restockd's default is 8080)
        f.write("gateway: {id: test-gw}\nstorage: {path: %s/restock.db}\n"
                "http: {listen: \"127.0.0.1:%d\"}\n" % (d, reserve_port()))
    with open(os.path.join(d, "devices.d", "10-test.yaml"), "w") as f:
        f.write("devices:\n" + devices_yaml)
    return d


V_POINT = "      - {id: v, register: holding, address: 0, type: uint16}\n"


def tcp_device(dev_id, port, settings=(), points=V_POINT, unit=None):
    """One Modbus TCP device on 127.0.0.1:port for devices.d: settings are its other keys
    ("poll_interval: 200ms", ...), points the YAML lines of its points."""
    y = "  - id: %s\n    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d%s}\n" % (
        dev_id, port, ", unit_id: %d" % unit if unit else "")
    return y + "".join("    %s\n" % k for k in settings) + "    points:\n" + points


def bad_and_good(args, mode, value):
    """A hostile_server.py peer in mode and a pymodbus peer whose holding register 0 is value,
    each on a port of its own; returns (the bad one's port, the good one's)."""
    bad, good = reserve_port(), reserve_port()
    start([PY, os.path.join(args.peers, "hostile_server.py"), mode, str(bad)])
    pymodbus(args, good, {"1": {"hr": {"0": value}}})
    return bad, good


def encode(args, typ, endian, value):
    out = subprocess.run([args.encode, typ, endian, value], check=True, capture_output=True,
                         text=True)
    return [int(r) for r in out.stdout.split()]


def decode(args, typ, endian, regs):
    out = subprocess.run([args.encode, "-d", typ, endian] + [str(r) for r in regs], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def probe(args, cfg, *rest):
    out = subprocess.run([args.probe, cfg, "probe"] + list(rest), capture_output=True, text=True,
                         timeout=60)
    return out.returncode, out.stdout, out.stderr


class PollOut:
    """The poll tool's lines, parsed: readings, status by device, shutdown ms; readings
    (n) and good (ok) readings by device."""

    def __init__(self):
        self.readings, self.status, self.shut, self.good, self.n = [], {}, None, {}, {}

    def line(self, line):
        f = line.rstrip("\n").split(" ")
        if f[0] == "R":
            self.readings.append({
                "wall": int(f[1]), "device": f[2], "point": f[3], "error": f[4],
                "code": int(f[5]), "value": float(f[6]),
                "raw": [] if f[7] == "-" else [int(x) for x in f[7].split(",")]})
            self.n[f[2]] = self.n.get(f[2], 0) + 1
            if f[4] == "ok":
                self.good[f[2]] = self.good.get(f[2], 0) + 1
        elif f[0] == "S":
            st = {"id": f[1]}
            for kv in f[2:]:
                k, v = kv.split("=", 1)
                if k == "errors":
                    st[k] = {} if v == "-" else {a: int(b) for a, b in
                                                 (x.split(":") for x in v.split(","))}
                else:
                    st[k] = int(v)
            self.status[f[1]] = st
        elif f[0] == "F":
            self.shut = int(f[1])
        elif f[0] == "D":
            self.status["_open"] = {"sockets": int(f[1]), "max_fd": int(f[2])}


def poll(args, cfg, run_ms, extra=()):
    """Run the scheduler; returns (readings, status by device, shutdown ms, stderr)."""
    try:
        out = subprocess.run([args.poll, cfg, str(run_ms)] + list(extra), capture_output=True,
                             text=True, timeout=run_ms / 1000 + 60)
    except subprocess.TimeoutExpired:
        check(False, "the poll tool hung: still running 60 s after its %d ms" % run_ms)
        return [], {}, None, ""
    o = PollOut()
    for line in out.stdout.splitlines():
        o.line(line)
    check(out.returncode == 0, "poll tool exits 0 (rc %d)" % out.returncode)
    return o.readings, o.status, o.shut, out.stderr


def poll_stderr(args):
    """What the last poll_until() run logged."""
    with open(os.path.join(args.tmp, "poll_until.err")) as ef:
        return ef.read()


def poll_until(args, cfg, done, what, guard_s=60):
    """Run the scheduler until done(PollOut so far) holds (then stop it); a hang guard of
    guard_s fails saying what was awaited. Returns (readings, status by device,
    shutdown ms)."""
    errlog = os.path.join(args.tmp, "poll_until.err")
    with open(errlog, "w") as ef:
        p = subprocess.Popen([args.poll, cfg, str(guard_s * 1000), "--stdin"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=ef, text=True)
    procs.append(p)
    o, seen = PollOut(), False
    for line in p.stdout:
        o.line(line)
        if line.startswith("R ") and done(o):
            seen = True
            break
    check(seen, ("seen: %s" if seen else "hung: %s, not within %d s") % (
        (what,) if seen else (what, guard_s)))
    try:
        rest, _ = p.communicate(timeout=60)  # closes its stdin: it stops and reports
    except subprocess.TimeoutExpired:
        check(False, "the poll tool hung: still running 60 s after its stdin closed")
        return o.readings, o.status, o.shut
    for line in rest.splitlines():
        o.line(line)
    check(p.returncode == 0, "poll tool exits 0 (rc %d)" % p.returncode)
    return o.readings, o.status, o.shut


# ---------------------------------------------------------------------------

TYPES = [("int16", "-2"), ("uint16", "65535"), ("int32", "-123456789"),
         ("uint32", "4000000000"), ("int64", "-1234567890123456789"),
         ("uint64", "18446744073709551615"), ("float32", "123.456"),
         ("float64", "-98765.4321")]
ENDIANS = ["ABCD", "DCBA", "BADC", "CDAB"]


def types_plant(args):
    """Points for every type x endian; returns (hr values, points yaml, expectations)."""
    hr, pts, exp = {}, [], {}
    addr = 0
    for typ, val in TYPES:
        for e in ENDIANS:
            regs = encode(args, typ, e, val)
            for i, r in enumerate(regs):
                hr[str(addr + i)] = r
            pid = "%s_%s" % (typ, e.lower())
            pts.append("      - {id: %s, register: holding, address: %d, type: %s, endian: %s}"
                       % (pid, addr, typ, e))
            exp[pid] = (decode(args, typ, e, regs), regs)
            addr += 4
    # a scaled value, bools on a register bit, a coil and a discrete input
    hr[str(addr)] = 20
    pts.append("      - {id: scaled, register: holding, address: %d, type: uint16, scale: 0.01, "
               "unit: bar}" % addr)
    exp["scaled"] = (0.2, [20])
    hr[str(addr + 1)] = 0x0004
    pts.append("      - {id: bit2, register: holding, address: %d, type: bool, bit: 2}"
               % (addr + 1))
    pts.append("      - {id: bit3, register: holding, address: %d, type: bool, bit: 3}"
               % (addr + 1))
    exp["bit2"] = (True, [4])
    exp["bit3"] = (False, [4])
    pts.append("      - {id: door, register: coil, address: 5, type: bool}")
    pts.append("      - {id: full, register: discrete, address: 7, type: bool}")
    exp["door"] = (True, [1])
    exp["full"] = (False, [0])
    return hr, "\n".join(pts) + "\n", exp


def case_types(args):
    port = reserve_port()
    hr, pts, exp = types_plant(args)
    pymodbus(args, port, {"1": {"hr": hr, "co": {"5": 1}, "di": {"7": 0}}})
    cfg = write_config(args, "types", """  - id: plc
    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d}
    poll_interval: 300ms
    points:
%s""" % (port, pts))
    rc, out, err = probe(args, cfg, "plc", "--json")
    check(rc == 0, "probe of every type exits 0 (rc %d, %s)" % (rc, err.strip()))
    doc = json.loads(out)
    check(doc["device"] == "plc" and doc["state"] == "up" and isinstance(doc["rtt_ms"], int),
          "probe --json: device, state up, rtt_ms")
    got = {p["id"]: p for p in doc["points"]}
    for pid, (value, regs) in exp.items():
        p = got.get(pid)
        if not check(p is not None, "probe lists %s" % pid):
            continue
        check(p["error"] is None, "%s: no error (%s)" % (pid, p["error"]))
        check(p["value"] == value and type(p["value"]) == type(value),
              "%s: value %r == %r" % (pid, p["value"], value))
        check(p["raw"] == regs, "%s: raw %r == registers on the wire %r" % (pid, p["raw"], regs))

    readings, status, _ = poll_until(args, cfg, lambda o: o.n.get("plc", 0) >= 3 * len(exp),
                                     "3 polls of the device")
    st = status["plc"]
    check(st["up"] == 1 and st["polls"] >= 3 and st["failures"] == 0 and st["errors"] == {},
          "scheduler: plc up, >= 3 polls, no failures or errors (%r)" % st)
    seen = {}
    for r in readings:
        seen.setdefault(r["point"], r)
    for pid, (value, regs) in exp.items():
        r = seen.get(pid)
        if not check(r is not None and r["error"] == "ok", "scheduler reading for %s" % pid):
            continue
        want = float(value) if not isinstance(value, bool) else (1.0 if value else 0.0)
        check(r["value"] == want and r["raw"] == regs,
              "scheduler %s: value %r raw %r" % (pid, r["value"], r["raw"]))


def case_mbpoll(args):
    if not shutil.which("mbpoll"):
        print("skip: mbpoll not installed")
        sys.exit(77)
    port = reserve_port()
    cases = [("float32", "ABCD", "123.456", "4:float", True),
             ("float32", "CDAB", "-0.5", "4:float", False),
             ("int32", "ABCD", "-123456789", "4:int", True),
             ("int32", "CDAB", "305419896", "4:int", False),
             ("uint16", "ABCD", "65535", "4", False),
             ("int16", "ABCD", "-2", "4", False)]
    hr, pts = {}, []
    for i, (typ, e, val, _, _) in enumerate(cases):
        for k, r in enumerate(encode(args, typ, e, val)):
            hr[str(10 * i + k)] = r
        pts.append("      - {id: p%d, register: holding, address: %d, type: %s, endian: %s}"
                   % (i, 10 * i, typ, e))
    pymodbus(args, port, {"1": {"hr": hr}})
    cfg = write_config(args, "mbpoll", """  - id: plc
    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d}
    points:
%s
""" % (port, "\n".join(pts)))
    rc, out, err = probe(args, cfg, "plc", "--json")
    check(rc == 0, "probe exits 0")
    ours = {p["id"]: p["value"] for p in json.loads(out)["points"]}
    for i, (typ, e, val, mtype, big) in enumerate(cases):
        cmd = ["mbpoll", "-m", "tcp", "-p", str(port), "-a", "1", "-0", "-1", "-o", "2",
               "-r", str(10 * i), "-c", "1", "-t", mtype] + (["-B"] if big else []) + [HOST]
        o = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
        theirs = None
        for line in o.splitlines():
            if line.strip().startswith("[%d]:" % (10 * i)):
                theirs = line.split(":", 1)[1].split()[0]
        if not check(theirs is not None, "mbpoll read %s %s" % (typ, e)):
            continue
        if typ in ("uint16", "int16"):
            # mbpoll prints a 16-bit register without a sign: compare the bits
            check(int(ours["p%d" % i]) & 0xFFFF == int(theirs) & 0xFFFF,
                  "%s %s: adapter %r, mbpoll %r" % (typ, e, ours["p%d" % i], theirs))
            continue
        theirs_v = float(theirs)
        check(abs(float(ours["p%d" % i]) - theirs_v) <= 1e-3 * max(1, abs(theirs_v)),
              "%s %s: adapter %r, mbpoll %r" % (typ, e, ours["p%d" % i], theirs))


def socat_pair(args):
    if not shutil.which("socat"):
        print("skip: socat not installed")
        sys.exit(77)
    a, b = os.path.join(args.tmp, "ptyA"), os.path.join(args.tmp, "ptyB")
    start(["socat", "-d", "-d", "pty,raw,echo=0,link=%s" % a, "pty,raw,echo=0,link=%s" % b],
          wait_ready=False)
    end = time.monotonic() + 10
    while time.monotonic() < end and not (os.path.exists(a) and os.path.exists(b)):
        time.sleep(0.05)
    if not (os.path.exists(a) and os.path.exists(b)):
        raise RuntimeError("socat made no pty pair")
    return a, b


def case_rtu(args):
    a, b = socat_pair(args)
    start([args.server, "--rtu", a, "--units", "1,2"])
    cfg = write_config(args, "rtu", """  - id: pump-1
    transport: {type: modbus-rtu, serial: %s, baud: 19200, parity: N, unit_id: 1, rs485: true}
    poll_interval: 200ms
    timeout: 500ms
    points:
      - {id: level, register: holding, address: 10, type: uint16}
      - {id: hours, register: input, address: 3, type: uint16}
      - {id: valve, register: coil, address: 4, type: bool}
  - id: pump-2
    transport: {type: modbus-rtu, serial: %s, baud: 19200, parity: N, unit_id: 2, rs485: true}
    poll_interval: 200ms
    timeout: 500ms
    points:
      - {id: level, register: holding, address: 10, type: uint16}
      - {id: full, register: discrete, address: 4, type: bool}
""" % (b, b))
    rc, out, err = probe(args, cfg, "pump-2", "--json")
    check(rc == 0, "probe over RTU exits 0 with rs485 failing on the pty (rc %d %s)"
          % (rc, err.strip()))
    got = {p["id"]: p["value"] for p in json.loads(out)["points"]} if out else {}
    check(got.get("level") == 2010 and got.get("full") is True,
          "unit 2 over RTU: level 2010, full true (%r)" % got)
    # 4 polls of each: pump-1 has 3 points, pump-2 2
    readings, status, _ = poll_until(
        args, cfg, lambda o: o.n.get("pump-1", 0) >= 12 and o.n.get("pump-2", 0) >= 8,
        "4 polls of each RTU device")
    stderr = poll_stderr(args)
    for dev, level in (("pump-1", 1010), ("pump-2", 2010)):
        good = [r for r in readings if r["device"] == dev and r["point"] == "level"
                and r["error"] == "ok"]
        check(len(good) >= 4 and all(r["value"] == level for r in good),
              "%s: %d good level readings, all %d" % (dev, len(good), level))
        check(status[dev]["errors"] == {}, "%s: no errors (%r)" % (dev, status[dev]["errors"]))
    hours = [r for r in readings if r["device"] == "pump-1" and r["point"] == "hours"]
    check(hours and hours[0]["value"] == 1503, "pump-1 input 3 = 1503")
    valve = [r for r in readings if r["device"] == "pump-1" and r["point"] == "valve"]
    check(valve and valve[0]["value"] == 1.0, "pump-1 coil 4 = (4+1)%2 = 1")
    check(stderr.count("RS485 mode") == 1,
          "RS485 failure on the pty logged once per port (%d)" % stderr.count("RS485 mode"))


def case_rtu_spellings(args):
    a, b = socat_pair(args)
    start([args.server, "--rtu", a, "--units", "1,2"])
    # a second name for the same port, as /dev/serial/by-id/... is for /dev/ttyUSB0
    alias = os.path.join(args.tmp, "by-id-link")
    os.symlink(os.path.realpath(b), alias)
    cfg = write_config(args, "rtu_spellings", """  - id: pump-1
    transport: {type: modbus-rtu, serial: %s, baud: 19200, parity: N, unit_id: 1}
    poll_interval: 200ms
    timeout: 500ms
    points:
      - {id: level, register: holding, address: 10, type: uint16}
  - id: pump-2
    transport: {type: modbus-rtu, serial: %s, baud: 19200, parity: N, unit_id: 2}
    poll_interval: 200ms
    timeout: 500ms
    points:
      - {id: level, register: holding, address: 10, type: uint16}
""" % (b, alias))
    readings, status, _ = poll_until(
        args, cfg, lambda o: o.good.get("pump-1", 0) >= 4 and o.good.get("pump-2", 0) >= 4,
        "4 good readings of each device, one per spelling of the port", guard_s=20)
    for dev, level in (("pump-1", 1010), ("pump-2", 2010)):
        good = [r for r in readings if r["device"] == dev and r["error"] == "ok"]
        check(len(good) >= 4 and all(r["value"] == level for r in good),
              "%s: %d good level readings, all %d" % (dev, len(good), level))
    err = poll_stderr(args)
    check("in use by another process" not in err,
          "no device refused its port by the other spelling (%r)" % err[-300:])


def case_rtu_spellings_late(args):
    # the names the devices give the port exist only once socat made the pair; then
    # by-id-link is a second name for ptyB's /dev/pts/N, as /dev/serial/by-id/... for ttyUSB0
    a, b = os.path.join(args.tmp, "ptyA"), os.path.join(args.tmp, "ptyB")
    alias = os.path.join(args.tmp, "by-id-link")
    cfg = write_config(args, "rtu_spellings_late", """  - id: pump-1
    transport: {type: modbus-rtu, serial: %s, baud: 19200, parity: N, unit_id: 1}
    poll_interval: 200ms
    timeout: 300ms
    retries: 0
    points:
      - {id: level, register: holding, address: 10, type: uint16}
  - id: pump-2
    transport: {type: modbus-rtu, serial: %s, baud: 19200, parity: N, unit_id: 2}
    poll_interval: 200ms
    timeout: 300ms
    retries: 0
    points:
      - {id: level, register: holding, address: 10, type: uint16}
""" % (b, alias))
    if not shutil.which("socat"):
        print("skip: socat not installed")
        sys.exit(77)
    errlog = os.path.join(args.tmp, "late.err")
    with open(errlog, "w") as ef:
        p = subprocess.Popen([args.poll, cfg, "60000", "--stdin"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=ef, text=True)
    procs.append(p)
    o = PollOut()
    # both devices fail while the port is missing (two polls each)
    for line in p.stdout:
        o.line(line)
        if o.n.get("pump-1", 0) >= 2 and o.n.get("pump-2", 0) >= 2:
            break
    missing = [r for r in o.readings if r["error"] == "ok"]
    check(o.n.get("pump-1", 0) >= 2 and o.n.get("pump-2", 0) >= 2 and not missing,
          "both devices fail while the port is missing (%r)" % o.n)
    a2, b2 = socat_pair(args)
    assert (a2, b2) == (a, b)
    os.symlink(os.path.realpath(b), alias)
    start([args.server, "--rtu", a, "--units", "1,2"])
    seen = False
    late = PollOut()
    for line in p.stdout:
        late.line(line)
        if late.good.get("pump-1", 0) >= 4 and late.good.get("pump-2", 0) >= 4:
            seen = True
            break
    check(seen, "4 good readings of each device once the port appeared, without a reload (%r)"
          % late.good)
    try:
        p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        check(False, "the poll tool hung: still running 60 s after its stdin closed")
    for dev, level in (("pump-1", 1010), ("pump-2", 2010)):
        good = [r for r in late.readings if r["device"] == dev and r["error"] == "ok"]
        check(len(good) >= 4 and all(r["value"] == level for r in good),
              "%s: %d good level readings, all %d" % (dev, len(good), level))
    with open(errlog) as ef:
        err = ef.read()
    check("in use by another process" not in err,
          "no device refused the port by the other spelling (%r)" % err[-400:])


RTU_LATE = """  - id: slow
    transport: {type: modbus-rtu, serial: %s, baud: 19200, parity: N, unit_id: 1}
    poll_interval: 500ms
    timeout: 300ms
    points:
      - {id: a, register: holding, address: 10, type: uint16}
      - {id: b, register: holding, address: 190, type: uint16}
"""


def case_rtu_late(args):
    a, b = socat_pair(args)
    cfg = write_config(args, "rtu_late", RTU_LATE % b)
    # a slave slower than usual but within the timeout reads right
    srv = start([args.server, "--rtu", a, "--units", "1", "--slow", "100"])
    rc, out, err = probe(args, cfg, "slow", "--json")
    got = {p["id"]: p["value"] for p in json.loads(out)["points"]} if out else {}
    check(rc == 0 and got == {"a": 1010, "b": 1190},
          "a reply within the timeout reads both points (rc %d, %r %s)" % (rc, got, err.strip()))
    stop(srv)
    # every reply 450 ms after its request, against a timeout of 300 ms
    start([args.server, "--rtu", a, "--units", "1", "--slow", "450"])
    rc, out, err = probe(args, cfg, "slow", "--json")
    got = {p["id"]: p for p in json.loads(out)["points"]} if out else {}
    check(rc == 1 and got.get("a", {}).get("value") in (None, 1010)
          and got.get("b", {}).get("value") in (None, 1190),
          "probe: no point takes another request's late reply as its value (rc %d, %r)"
          % (rc, got))
    check(any("reply came" in (p["error"] or "") and "after the request" in (p["error"] or "")
              for p in got.values()),
          "probe: the error names the late reply (%r)" % [p["error"] for p in got.values()])
    readings, _, _ = poll_until(args, cfg, lambda o: o.n.get("slow", 0) >= 8,
                                "4 polls of the slow device")
    wrong = [r for r in readings if r["error"] == "ok"
             and r["value"] != {"a": 1010, "b": 1190}[r["point"]]]
    check(not wrong, "scheduler: no reading holds another point's value (%r)" % wrong[:4])


def case_rtu_garbled(args):
    a, b = socat_pair(args)
    cfg = write_config(args, "rtu_garbled", RTU_LATE % b)
    fd = os.open(a, os.O_RDWR | os.O_NOCTTY)

    def garble():
        # each request gets 7 bytes of a frame whose CRC is wrong, as a wrong baud rate gives
        while True:
            try:
                if len(os.read(fd, 256)) >= 8:
                    os.write(fd, bytes([1, 3, 2, 0x03, 0xF2, 0x00, 0x00]))
            except OSError:
                return

    threading.Thread(target=garble, daemon=True).start()
    rc, out, err = probe(args, cfg, "slow", "--json")
    got = {p["id"]: p for p in json.loads(out)["points"]} if out else {}
    e = (got.get("a") or {}).get("error") or ""
    check(rc == 1 and got.get("a", {}).get("value") is None, "garbled replies read nothing (rc %d)"
          % rc)
    check("check that the device uses 19200 baud, parity N, 8 data and 1 stop bits" in e,
          "the error points at the serial settings (%r)" % e)


def case_rtu_shared(args):
    a, b = socat_pair(args)
    start([args.server, "--rtu", a, "--units", "1"])
    cfg = write_config(args, "rtu_shared", (RTU_LATE % b).replace("500ms", "0ms"))
    p = subprocess.Popen([args.restockd, "--config", cfg], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    procs.append(p)
    lines = []
    threading.Thread(target=lambda: [lines.append(l) for l in p.stderr], daemon=True).start()
    end = time.monotonic() + 30  # a hang guard only
    while time.monotonic() < end and not any("restockd running" in l for l in lines):
        time.sleep(0.05)
    wrong, refused = [], 0
    for _ in range(5):
        rc, out, err = probe(args, cfg, "slow", "--json")
        for pt in json.loads(out)["points"] if out else []:
            if pt["value"] is not None and pt["value"] != {"a": 1010, "b": 1190}[pt["id"]]:
                wrong.append(pt)
            if "in use by another process" in (pt["error"] or ""):
                refused += 1
    check(not wrong, "the probe never reads restockd's replies as its own (%r)" % wrong[:4])
    check(refused == 10, "the probe is refused while restockd holds the port (%d of 10 points)"
          % refused)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    # once restockd is gone, the probe reads
    rc, out, err = probe(args, cfg, "slow", "--json")
    got = {pt["id"]: pt["value"] for pt in json.loads(out)["points"]} if out else {}
    check(rc == 0 and got == {"a": 1010, "b": 1190}, "the probe reads after restockd stopped (%r)"
          % got)


def case_exceptions(args):
    port = reserve_port()
    start([args.server, "--tcp", str(port), "--busy", "2", "--exception", "2@150"])
    cfg = write_config(args, "exc", """  - id: plc
    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d}
    poll_interval: 300ms
    busy_wait: 50ms
    retries: 2
    points:
      - {id: ok, register: holding, address: 100, type: uint16}
      - {id: bad, register: holding, address: 150, type: uint16}
""" % port)
    t0 = time.monotonic()
    rc, out, err = probe(args, cfg, "plc", "--json")
    took = time.monotonic() - t0
    doc = json.loads(out)
    got = {p["id"]: p for p in doc["points"]}
    check(rc == 1, "probe with an exception exits 1 (rc %d)" % rc)
    check(doc["state"] == "up", "a device answering with exceptions is up")
    check(got["ok"]["value"] == 1100 and got["ok"]["error"] is None,
          "busy twice, then retried after busy_wait: ok = 1100 (%r)" % got["ok"])
    check(took >= 0.1, "two busy waits of 50 ms were waited (%.3f s)" % took)
    check(got["bad"]["value"] is None and "exception 2" in (got["bad"]["error"] or ""),
          "exception 2 on its point: %r" % got["bad"]["error"])

    readings, status, _ = poll_until(args, cfg, lambda o: o.n.get("plc", 0) >= 4,
                                     "2 polls of the device (2 points each)")
    st = status["plc"]
    check(st["up"] == 1 and st["errors"].get("exception_2", 0) >= 2
          and "exception_6" not in st["errors"],
          "scheduler counts exception_2 per poll, busy retried is no error (%r)" % st)
    bad = [r for r in readings if r["point"] == "bad"]
    check(bad and all(r["error"] == "exception" and r["code"] == 2 for r in bad),
          "readings carry exception code 2")

    port2 = reserve_port()
    start([args.server, "--tcp", str(port2), "--busy", "1000000"])
    cfg2 = write_config(args, "busy", tcp_device(
        "busy", port2, ["poll_interval: 300ms", "busy_wait: 20ms", "retries: 1"],
        "      - {id: v, register: holding, address: 1, type: uint16}\n"))
    _, status, _ = poll_until(args, cfg2, lambda o: o.n.get("busy", 0) >= 2,
                              "2 polls of the always-busy device")
    check(status["busy"]["errors"].get("exception_6", 0) >= 2,
          "always busy: counted as exception_6 (%r)" % status["busy"]["errors"])


AB_POINTS = ("      - {id: a, register: holding, address: 0, type: uint32}\n"
             "      - {id: b, register: input, address: 0, type: uint16}\n")


def case_hostile(args):
    port, good = bad_and_good(args, "hostile", 42)
    cfg = write_config(args, "hostile", tcp_device(
        "evil", port, ["poll_interval: 100ms", "timeout: 300ms", "retries: 0"], AB_POINTS)
        + tcp_device("good", good, ["poll_interval: 100ms"]))
    # 6 polls of the hostile device (2 points each: every fault kind comes up)
    readings, status, _ = poll_until(
        args, cfg, lambda o: o.n.get("evil", 0) >= 12 and o.good.get("good", 0) >= 20,
        "6 polls of the hostile device and 20 readings of the good one")
    stderr = poll_stderr(args)
    ev = status["evil"]["errors"]
    check(ev.get("malformed", 0) >= 3, "hostile replies counted as malformed (%r)" % ev)
    check(ev.get("io", 0) >= 1, "connections closed by the server counted as io (%r)" % ev)
    check(ev.get("timeout", 0) >= 1, "a short frame counted as a timeout (%r)" % ev)
    check(status["evil"]["polls"] >= 5, "the hostile device kept being polled")
    g = [r for r in readings if r["device"] == "good" and r["error"] == "ok"]
    check(len(g) >= 20 and all(r["value"] == 42 for r in g),
          "a good device on another bus reads 42 throughout (%d readings)" % len(g))
    check("AddressSanitizer" not in stderr and "runtime error" not in stderr,
          "no sanitizer report")
    rc, out, _ = probe(args, cfg, "evil", "--json")
    check(rc == 1, "probe of the hostile device exits 1 (rc %d)" % rc)


def case_split(args):
    port, good = bad_and_good(args, "split", 42)
    pts = ("      - {id: a, register: holding, address: 0, type: uint16}\n"
           "      - {id: b, register: holding, address: 1, type: uint16}\n")
    cfg = write_config(args, "split", tcp_device(
        "cut", port, ["poll_interval: 50ms", "timeout: 2s", "retries: 0"], pts)
        + tcp_device("good", good, ["poll_interval: 100ms"]))
    # the reply is 13 bytes: 12 cut positions; 30 polls take each one twice or more
    readings, status, _ = poll_until(
        args, cfg, lambda o: o.n.get("cut", 0) >= 60, "30 polls of the device cutting its replies")
    stderr = poll_stderr(args)
    cut = [r for r in readings if r["device"] == "cut"]
    bad = [r for r in cut if r["error"] != "ok" or r["value"] != (40 if r["point"] == "a" else 41)]
    check(len(cut) >= 60 and not bad,
          "every cut reply read right: a 40, b 41 (%d readings, wrong: %r)" % (len(cut), bad[:3]))
    check(status["cut"]["errors"] == {}, "no error counted (%r)" % status["cut"]["errors"])
    check(status["cut"]["up"] == 1, "the device is up (%r)" % status["cut"])
    check("AddressSanitizer" not in stderr and "runtime error" not in stderr,
          "no sanitizer report")


def case_garbage(args):
    port, good = bad_and_good(args, "garbage", 42)
    cfg = write_config(args, "garbage", tcp_device(
        "babbler", port, ["poll_interval: 100ms", "timeout: 300ms", "retries: 0", "down_after: 3",
                          "max_backoff: 200ms"], AB_POINTS)
        + tcp_device("good", good, ["poll_interval: 100ms", "down_after: 3"]))
    readings, status, _ = poll_until(
        args, cfg, lambda o: o.n.get("babbler", 0) >= 10 and o.good.get("good", 0) >= 3,
        "5 polls of the babbling device")
    stderr = poll_stderr(args)
    st = status["babbler"]
    check(st["polls"] >= 4, "the babbling device kept being polled (%r)" % st)
    check(st["up"] == 0, "a device answering only garbage is shown down (%r)" % st)
    check(st["errors"].get("malformed", 0) >= 3, "its replies counted as malformed (%r)" % st)
    check(all(r["error"] != "ok" for r in readings if r["device"] == "babbler"),
          "no value was taken from garbage")
    check(status["good"]["up"] == 1, "the good device is up (%r)" % status["good"])
    check("down after" in stderr, "'down after' logged")
    # probe says what restockd shows: down, with each point's malformed reply as its error
    rc, out, _ = probe(args, cfg, "babbler")
    check(rc == 1 and out.startswith("babbler: down (no well-formed answer: no point could be "
                                     "read)\n"),
          "probe of the babbling device: exit 1, down (rc %d): %r" % (rc, out.splitlines()[:1]))
    rc, out, _ = probe(args, cfg, "babbler", "--json")
    doc = json.loads(out) if out.startswith("{") else {}
    check(rc == 1 and doc.get("state") == "down" and doc.get("rtt_ms", 0) is None
          and all(p["error"] and p["value"] is None for p in doc.get("points", [{}])),
          "probe --json of the babbling device: down, rtt_ms null, an error on every point: %r"
          % doc)


def case_down_restart(args):
    port = reserve_port()
    cfg = write_config(args, "down", tcp_device(
        "plc", port, ["poll_interval: 200ms", "timeout: 300ms", "retries: 0", "down_after: 2",
                      "max_backoff: 800ms"]))
    # runs until its stdin closes (60 s at most); each step waits for what it looks for
    errlog = os.path.join(args.tmp, "down.err")
    with open(errlog, "w") as ef:
        p = subprocess.Popen([args.poll, cfg, "60000", "--stdin"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=ef, text=True)
    procs.append(p)

    def wait_reading(pred):
        """The next reading line (fields) pred accepts; None when the tool ended first."""
        for line in p.stdout:
            f = line.split(" ")
            if f[0] == "R" and pred(f):
                return f
        return None

    check(wait_reading(lambda f: f[4] != "ok") and wait_reading(lambda f: f[4] != "ok"),
          "down at start: failed readings before the server runs")
    srv = pymodbus(args, port, {"1": {"hr": {"0": 7}}})
    check(wait_reading(lambda f: f[4] == "ok" and f[6] == "7"),
          "the server came up: the device reads 7")
    stop(srv)
    check(wait_reading(lambda f: f[4] != "ok"), "killed: failures while it is gone")
    srv = pymodbus(args, port, {"1": {"hr": {"0": 8}}})
    check(wait_reading(lambda f: f[4] == "ok" and f[6] == "8"),
          "restarted on the same port: it reconnects and reads 8")
    out, _ = p.communicate(timeout=60)  # closes its stdin: it stops and reports
    with open(errlog) as ef:
        err = ef.read()
    st = [l for l in out.splitlines() if l.startswith("S ")]
    check("answering again" in err, "logs 'answering again'")
    check(st and "up=1" in st[0] and ("io:" in st[0] or "timeout:" in st[0]),
          "status: up at the end, io/timeout errors counted (%s)" % (st[0] if st else None))


def good_before_mute(readings):
    """Good readings of device good before the first reading of device mute (None: no mute)."""
    n = 0
    for r in readings:
        if r["device"] == "mute":
            return n
        n += r["device"] == "good" and r["error"] == "ok"
    return None


def case_isolation(args):
    silent, good = bad_and_good(args, "silent", 5)
    cfg = write_config(args, "iso", tcp_device(
        "mute", silent, ["poll_interval: 500ms", "timeout: 1s", "retries: 2"])
        + tcp_device("good", good, ["poll_interval: 200ms"]))
    readings, status, shut, _ = poll(args, cfg, 4000)
    # the mute device's first poll hangs for timeout x (retries + 1) = 3 s, 15 of the good
    # device's rounds: how many good readings come before the mute device's first one
    n = good_before_mute(readings)
    check(n is not None and n >= 5,
          "the good device keeps being read while the mute one's poll hangs (%s readings)" % n)
    check(all(r["error"] == "ok" for r in readings if r["device"] == "good"),
          "every reading of the good device is ok")
    m = status["mute"]
    check(m["errors"].get("timeout", 0) >= 1, "the mute device's timeouts are counted")
    check(m["skipped"] >= 1 and m["polls"] <= 3,
          "no pile-up: rounds skipped while a poll runs (%r)" % m)
    check(shut is not None,
          "the scheduler shuts down with the mute poll in flight (%s ms)" % shut)
    # the same plant inline (everything on one thread) shows why the workers exist
    readings, _, _, _ = poll(args, cfg, 4000, ["--inline"])
    n = good_before_mute(readings)
    check(n is not None and n <= 1,
          "inline, the mute device does hold up the good one (%s readings before it)" % n)


def case_continuous(args):
    port = reserve_port()
    pymodbus(args, port, {"1": {"hr": {"0": 7}}, "2": {"hr": {"0": 7}}})
    cfg = write_config(args, "cont", tcp_device("fast", port, ["poll_interval: 0ms"])
                       + tcp_device("paced", port, ["poll_interval: 500ms"], unit=2))
    readings, status, _ = poll_until(
        args, cfg, lambda o: o.good.get("paced", 0) >= 3, "3 readings of the 500ms device")
    fast = [r for r in readings if r["device"] == "fast"]
    paced = [r for r in readings if r["device"] == "paced"]
    check(all(r["error"] == "ok" and r["value"] == 7 for r in fast + paced),
          "every reading of both devices is 7")
    # poll_interval 0ms: the next poll starts when the last one ended, with no pause, so it
    # is read many times while the 500ms device on the same connection waits its interval
    # (10 local round trips against 500 ms)
    if len(paced) >= 3:
        between = [r for r in fast if paced[0]["wall"] <= r["wall"] <= paced[2]["wall"]]
        check(len(between) >= 10, "the 0ms device is read continuously (%d readings between "
              "the 500ms device's 1st and 3rd)" % len(between))
        gaps = [b["wall"] - a["wall"] for a, b in zip(paced, paced[1:])]
        check(all(g >= 450 for g in gaps),
              "the 500ms device is never read sooner than its interval (gaps %s ms)" % gaps)
    check(status.get("fast", {}).get("skipped") == 0,
          "continuous polling skips no rounds (%r)" % status.get("fast"))


def case_probe(args):
    port = reserve_port()
    srv = start([args.server, "--tcp", str(port), "--units", "1,2,3", "--exception", "2@150"])
    cfg = write_config(args, "probe", """  - id: press
    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d}
    timeout: 300ms
    retries: 1
    points:
      - {id: filter_dp, register: holding, address: 100, type: uint16, scale: 0.01, unit: bar}
      - {id: hours, register: holding, address: 104, type: uint32}
      - {id: door, register: coil, address: 3, type: bool}
  - id: press-bad
    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d, unit_id: 2}
    points:
      - {id: good, register: holding, address: 10, type: uint16}
      - {id: bad, register: holding, address: 150, type: uint16}
  - id: press-none
    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d, unit_id: 3}
    points:
      - {id: bad, register: holding, address: 150, type: uint16}
""" % (port, port, port))
    rc, out, err = probe(args, cfg, "press")
    check(rc == 0, "probe press exits 0 (rc %d %s)" % (rc, err.strip()))
    lines = out.splitlines()
    check(lines and lines[0].startswith("press: up, rtt "), "table header: %r" % lines[:1])
    row = [l.split() for l in lines if l.startswith("filter_dp")]
    check(row and row[0][1] == "0x044c" and row[0][2] == "11" and row[0][3] == "bar"
          and row[0][4] == "-", "filter_dp row: raw 0x044c, value 11, unit bar: %r" % row)
    row = [l.split() for l in lines if l.startswith("hours")]
    check(row and row[0][1:3] == ["0x0450", "0x0451"] and row[0][3] == str(1104 * 65536 + 1105),
          "hours row: two registers, uint32 ABCD: %r" % row)
    rc, out, _ = probe(args, cfg, "press", "door", "--json")
    doc = json.loads(out)
    check(rc == 0 and [p["id"] for p in doc["points"]] == ["door"]
          and doc["points"][0]["value"] is False and doc["points"][0]["raw"] == [0],
          "probe DEVICE POINT reads one point: %r" % doc["points"])
    rc, out, _ = probe(args, cfg, "press", "--plan")
    check(rc == 0 and out == "coil 3..3 (1 bit): door@3\n"
          "holding 100..105 (6 registers): filter_dp@100 hours@104\n",
          "--plan prints the requests: %r" % out)
    rc, out, _ = probe(args, cfg, "press-bad", "--json")
    doc = json.loads(out)
    check(rc == 1 and doc["state"] == "up", "an exception makes probe exit 1 (rc %d)" % rc)
    # every point an exception: the device answers, but it is not "up" to whoever reads it
    rc, out, _ = probe(args, cfg, "press-none")
    check(rc == 1 and out.startswith("press-none: failing: no point could be read (the device "
                                      "answers, with errors only), rtt "),
          "every point an exception: exit 1, 'failing', not 'up' (rc %d): %r"
          % (rc, out.splitlines()[:1]))
    rc, _, err = probe(args, cfg, "pres")
    check(rc == 2 and err == "restockctl probe: no device 'pres' in %s (did you mean 'press'?)\n"
          % cfg, "unknown device exits 2 with a hint: %r" % err)
    rc, _, err = probe(args, cfg, "pump")
    check(rc == 2 and err == "restockctl probe: no device 'pump' in %s\n" % cfg,
          "an unknown device nothing is close to: exit 2, no hint: %r" % err)
    rc, _, err = probe(args, cfg, "press", "nope")
    check(rc == 2 and err == "restockctl probe: device press has no point 'nope'\n",
          "unknown point exits 2, no hint: %r" % err)
    rc, _, err = probe(args, cfg, "press", "filterdp")
    check(rc == 2 and err == "restockctl probe: device press has no point 'filterdp' "
          "(did you mean 'filter_dp'?)\n", "unknown point exits 2 with a hint: %r" % err)
    stop(srv)
    rc, out, _ = probe(args, cfg, "press", "--json")
    doc = json.loads(out)
    check(rc == 1 and doc["state"] == "down" and doc["rtt_ms"] is None
          and all(p["error"] and p["value"] is None for p in doc["points"]),
          "a device that does not answer: exit 1, down, rtt_ms null, an error on every point")
    # refused, not waited for: the error is the refusal, not "no answer within 300 ms"
    check(all("refused" in p["error"] for p in doc["points"]),
          "a refused connection is reported as refused: %r" % [p["error"] for p in doc["points"]])
    # the connection's failure, said as the device's: not a request's ("coil 3..3 of unit 1:
    # cannot connect" on the holding-register points too)
    check(all(p["error"].startswith("cannot connect to 127.0.0.1:%d" % port)
              for p in doc["points"]),
          "a refused connection is the device's error, no request named: %r"
          % [p["error"] for p in doc["points"]])
    rc, out, _ = probe(args, cfg, "press")
    check(rc == 1 and out.startswith("press: down ("), "table: 'press: down (...)': %r"
          % out.splitlines()[:1])


def case_fdlimit(args):
    """Every descriptor below 1100 taken: Modbus TCP works on a descriptor >= 1024."""
    import resource
    port = reserve_port()
    pymodbus(args, port, {"1": {"hr": {"0": 9}}})
    cfg = write_config(args, "fd", tcp_device(
        "plc", port, ["timeout: 300ms", "poll_interval: 200ms", "retries: 0"]))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 1300:
        print("skip: RLIMIT_NOFILE hard limit %d" % hard)
        sys.exit(77)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1300), hard))
    fds = []
    while not fds or fds[-1] < 1100:
        fds.append(os.open("/dev/null", os.O_RDONLY))
    # every descriptor the parent has open, so the child has no hole below 1100
    inherit = sorted(int(x) for x in os.listdir("/proc/self/fd") if int(x) > 2)
    out = subprocess.run([args.probe, cfg, "probe", "plc", "--json"], capture_output=True,
                         text=True, timeout=30, pass_fds=inherit)
    doc = json.loads(out.stdout) if out.stdout.startswith("{") else None
    check(out.returncode == 0 and doc and doc["state"] == "up"
          and doc["points"][0]["value"] == 9,
          "no descriptor below 1100 free: probe still reads 9 (rc %d, %s)"
          % (out.returncode, out.stdout.strip() or out.stderr.strip()))
    check("AddressSanitizer" not in out.stderr and "buffer overflow" not in out.stderr,
          "no memory error")
    out = subprocess.run([args.poll, cfg, "1000"], capture_output=True, text=True, timeout=30,
                         pass_fds=inherit)
    for fd in fds:
        os.close(fd)
    good = [l for l in out.stdout.splitlines() if l.startswith("R ") and " ok " in l]
    opened = [l.split() for l in out.stdout.splitlines() if l.startswith("D ")]
    check(out.returncode == 0 and len(good) >= 3 and all(l.split()[6] == "9" for l in good),
          "the scheduler on the event loop reads 9 with every low descriptor taken (%d readings)"
          % len(good))
    check(opened and int(opened[0][2]) >= 1100,
          "its connection is descriptor %s (>= 1100)" % (opened[0][2] if opened else None))
    check("AddressSanitizer" not in out.stderr, "no memory error in the scheduler run")


def case_many(args):
    """2,000 devices on 2,000 connections at once, on one event loop."""
    import resource
    n = 2000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 3 * n + 200  # the server: listeners + accepted; the poller: its connections
    if hard < need:
        print("skip: RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
        sys.exit(77)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    p = subprocess.Popen([args.many, str(n)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    ports = [int(x) for x in p.stdout.readline().split()[1:]]
    if p.stdout.readline().strip() != "ready" or len(ports) != n:
        raise RuntimeError("many_server did not start")
    devs = []
    for k, port in enumerate(ports):
        devs.append(tcp_device("d%d" % k, port, ["poll_interval: 500ms", "timeout: 3s"],
                               "      - {id: a, register: holding, address: 0, type: uint16}\n"
                               "      - {id: b, register: holding, address: 1, type: uint16}\n"))
    cfg = write_config(args, "many", "".join(devs))
    # every device read 3 times (2 points each); 2,000 x 3 reads, however long that takes
    readings, status, shut = poll_until(
        args, cfg, lambda o: len(o.good) == n and min(o.good.values()) >= 6,
        "every one of the %d devices read 3 times" % n, guard_s=100)
    opened = status.pop("_open", {"sockets": 0, "max_fd": 0})
    check(opened["sockets"] >= n,
          "%d connections open at once (>= %d), highest descriptor %d"
          % (opened["sockets"], n, opened["max_fd"]))
    up = sum(1 for s in status.values() if s["up"] == 1 and s["failures"] == 0)
    check(up == n, "every device up without a failed poll (%d of %d)" % (up, n))
    good = {}
    wrong = 0
    for r in readings:
        if r["error"] != "ok":
            continue
        k = int(r["device"][1:])
        want = k + (0 if r["point"] == "a" else 1)
        if r["value"] != want:
            wrong += 1
        good[r["device"]] = good.get(r["device"], 0) + 1
    check(wrong == 0, "every value is the device's own (%d wrong)" % wrong)
    check(len(good) == n and min(good.values()) >= 6,
          "every device read at least 3 times (%d devices, fewest readings %d)"
          % (len(good), min(good.values()) if good else 0))
    check(shut is not None, "the scheduler closes its 2,000 connections and ends (%s ms)" % shut)


def case_daemon(args):
    silent, good = bad_and_good(args, "silent", 5)
    cfg = write_config(args, "daemon", tcp_device(
        "mute", silent, ["poll_interval: 1s", "timeout: 1s", "retries: 2"])
        + tcp_device("good", good, ["poll_interval: 1s"]))
    p = subprocess.Popen([args.restockd, "--config", cfg, "--log-level", "debug"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs.append(p)
    lines = []

    def read_err():
        for line in p.stderr:
            lines.append(line)

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    # the first poll of the silent device ends after 3 x 1 s; the next one starts at once
    end = time.monotonic() + 60  # a hang guard only
    while (time.monotonic() < end and p.poll() is None
           and not any("device mute: no answer" in l for l in lines)):
        time.sleep(0.05)
    check(p.poll() is None and any("device mute: no answer" in l for l in lines),
          "restockd runs and logs the silent device")
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=30)  # a hang guard only
    except subprocess.TimeoutExpired:
        check(False, "restockd hung: still running 30 s after SIGTERM with a silent device")
        p.kill()
        p.wait()
    reader.join(timeout=10)
    err = "".join(lines)
    check(p.returncode == 0, "restockd exits 0 after SIGTERM while a poll hangs (rc %s)"
          % p.returncode)
    check("device good: no answer" not in err, "the good device answers")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    for k in ("encode", "poll", "probe", "server", "restockd", "peers"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--many")  # the many-device server (case many)
    args = ap.parse_args()
    probe_env = subprocess.run([PY, "-c", "import pymodbus, serial_asyncio"],
                               capture_output=True)
    if probe_env.returncode:
        print("skip: pymodbus or serial_asyncio missing for %s" % PY)
        return 77
    args.tmp = tempfile.mkdtemp(prefix="restock-modbus-")
    try:
        CASES[args.case](args)
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(args.tmp, ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""restock-sim's simulated devices, checked with independent clients.

usage: test_sim.py RESTOCK_SIM CASE
CASE: modbus | coap | replace | leadtime | pace

Each case writes a small sim config on free loopback ports, starts
restock-sim at a high --time-scale and reads the simulated values with
mbpoll (Modbus TCP) and coap-client-openssl (CoAP), checking them against
the profile: a linear level falls at life's rate (within the noise), a
clogging pressure rises slowly first, a counter counts, a constant stays,
a button press shows on its coil, CoAP text/json/senml payloads agree and
observe notifications arrive; `replace` orders the SKU at the shop and
checks the delivered parts go on the shelf, a worn part gets one
replace_after later, a part with life left keeps its spare, and the time a
part stands empty with no spare is counted.

Time is judged on the simulator's own clock, never on the real one: what a
client reads is bracketed by two GET /sim/devices snapshots (the points'
values as of the simulator's last tick, tracked_seconds after its start),
rates are measured between snapshots, and events (a delivery, a
replacement, a released button) are awaited with a generous hang guard
whose failure says it hung, then checked against the simulated time they
happened in (sim_time).
"""
import datetime
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

from testcheck import check, failures  # tests/testcheck.py
from testports import reserve_port  # tests/testports.py

SIM = os.path.abspath(sys.argv[1])
CASE = sys.argv[2]


class Sim:
    def __init__(self, tmp, yaml_text, scale):
        self.path = os.path.join(tmp, "sim.yaml")
        with open(self.path, "w") as f:
            f.write(yaml_text)
        self.err = open(os.path.join(tmp, "sim.err"), "w+")
        self.proc = subprocess.Popen([SIM, "--config", self.path, "--time-scale", str(scale)],
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.lines = []
        deadline = time.time() + 30
        want = yaml_text.count("\n  - id: ") + (1 if "\nshop:" in yaml_text else 0)
        while len(self.lines) < want and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.strip())
        if len(self.lines) < want:
            self.err.seek(0)
            raise SystemExit("restock-sim did not start: %r\n%s" % (self.lines, self.err.read()))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=15)
        self.err.seek(0)
        err = self.err.read()
        check(rc == 0, "restock-sim exits 0 on SIGTERM (got %s)" % rc)
        check("ERROR" not in err and "AddressSanitizer" not in err and "runtime error" not in err,
              "restock-sim logged no error")
        if failures:
            print(err[-4000:])


def mbpoll(port, table, address, count=1, unit=1, fmt=None, abcd=True, quiet=False):
    """Values read with mbpoll (-0 zero-based, -B big endian ABCD, else its CDAB); None on failure."""
    t = {"coil": "0", "discrete": "1", "input": "3", "holding": "4"}[table]
    if fmt:
        t += ":" + fmt
    cmd = ["mbpoll", "-m", "tcp", "-p", str(port), "-a", str(unit), "-0"] + (["-B"] if abcd else []) + [
        "-1", "-t", t, "-r", str(address), "-c", str(count), "-o", "2", "127.0.0.1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    vals = re.findall(r"^\[(\d+)\]:\s+(\S+)", r.stdout, re.M)
    mbpoll.last = r.stdout + r.stderr
    if r.returncode != 0 or len(vals) != count:
        if quiet:
            return None
        print("mbpoll failed: %s\n%s%s" % (" ".join(cmd), r.stdout[-500:], r.stderr[-500:]))
        return None
    return [float(v) for _, v in vals]


def coap_get(port, path):
    r = subprocess.run(["coap-client-openssl", "-B", "3", "coap://127.0.0.1:%d%s" % (port, path)],
                       capture_output=True, text=True, timeout=20)
    return r.stdout.strip() if r.returncode == 0 else None


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


HANG_GUARD_S = 60
HOUR = 3600
TICK_SLACK = 300  # simulated seconds: 5 minutes, 83 ms at --time-scale 3600


class Snap:
    """One GET /sim/devices: sim (simulated Unix seconds when it answered), points {point id:
    value} of the first device as of the last tick, tick_h (that tick's simulated hours since
    the start), consumables {id: state}, buttons [state] of the first device."""

    def __init__(self, shop):
        st, body = http("GET", "http://127.0.0.1:%d/sim/devices" % shop)
        if st != 200:
            raise SystemExit("GET /sim/devices answered %s: %s" % (st, body))
        j = json.loads(body)
        self.sim = datetime.datetime.fromisoformat(
            j["sim_time"].replace("Z", "+00:00")).timestamp()
        devs = j["devices"]
        self.points = devs[0]["points"] if devs else {}
        self.buttons = devs[0]["buttons"] if devs else []
        self.ks = {k["id"]: k for d in devs for k in d["consumables"]}
        self.tick_h = min((k["tracked_seconds"] for k in self.ks.values()), default=0) / HOUR


def wait_until(probe, done, what):
    """Call probe() until done(its result) holds; that result. A failed check saying it
    hung (and None) when it has not after HANG_GUARD_S real seconds."""
    end = time.monotonic() + HANG_GUARD_S
    while True:
        r = probe()
        if done(r):
            return r
        if time.monotonic() > end:
            check(False, "hung: %s, not after %d s" % (what, HANG_GUARD_S))
            return None
        time.sleep(0.05)


def wait_sim(shop, until, what):
    """A snapshot at simulated time until or later (None if it hung)."""
    return wait_until(lambda: Snap(shop), lambda sn: sn.sim >= until, what)


def fall_rate(shop, a, hours, point, what):
    """Wait hours of simulated time after snapshot a: (the snapshot then, how fast point fell
    per simulated hour between the two ticks, those hours); (None, 0, 0) if it hung."""
    c = wait_sim(shop, a.sim + hours * HOUR, what)
    if c is None:
        return None, 0, 0
    dh = c.tick_h - a.tick_h
    return c, (a.points[point] - c.points[point]) / dh, dh


def between(v, lo, hi, slack):
    """v (a read value) lies within [min(lo, hi) - slack, max(lo, hi) + slack]."""
    return v is not None and min(lo, hi) - slack <= v <= max(lo, hi) + slack


def case_modbus(tmp):
    port = reserve_port()
    shop = reserve_port()
    # 1 real second = 1 simulated hour; the level falls 100 -> 0 in 100 h = 100 s
    sim = Sim(tmp, """simulation: {seed: 3, tick: 50ms}
devices:
  - id: press-01
    transport: {type: modbus-tcp, port: %d, unit_id: 7}
    endian: ABCD
    points:
      - {id: level, register: holding, address: 10, type: float32}
      - {id: level_le, register: holding, address: 20, type: float32, endian: CDAB}
      - {id: dp, register: holding, address: 100, type: uint16, scale: 0.01}
      - {id: temp, register: holding, address: 101, type: int16, scale: 0.1, value: -12.5}
      - {id: hours, register: input, address: 200, type: uint32}
      - {id: btn, register: coil, address: 3}
    consumables:
      - {id: tank, point: level, profile: {kind: linear, full: 100, empty: 0, life: 100h, noise: 0.2}}
      - {id: tank2, point: level_le, profile: {kind: linear, full: 50, empty: 10, life: 100h, start_level: 0.5}}
      - {id: filter, point: dp, profile: {kind: clogging, full: 0.2, empty: 3.5, life: 100h, steepness: 4}}
      - {id: pump, point: hours, profile: {kind: counter, full: 0, empty: 100, life: 100h}}
    buttons:
      - {point: btn, hold: 3h}
shop:
  listen: 127.0.0.1:%d
  db: shop.db
  products: [{sku: X-1, unit_price: "1.00", currency: EUR}]
""" % (port, shop), 3600)
    try:
        check(any(("modbus-tcp://127.0.0.1:%d unit 7" % port) in l for l in sim.lines),
              "the ready line names the device's port and unit")
        # what mbpoll reads lies between two snapshots' values (the noisy level within 1.5)
        a = Snap(shop)
        v1 = mbpoll(port, "holding", 10, unit=7, fmt="float")
        le = mbpoll(port, "holding", 20, unit=7, fmt="float", abcd=False)
        raw = mbpoll(port, "holding", 20, count=2, unit=7)
        t = mbpoll(port, "holding", 101, unit=7)
        dp = mbpoll(port, "holding", 100, unit=7)
        b = Snap(shop)
        hrs = a.tick_h
        check(v1 is not None and between(v1[0], a.points["level"], b.points["level"], 1.5),
              "the float32 level serves the simulated value (%s)" % v1)
        check(abs(a.points["level"] - (100 - hrs)) < 1,
              "linear level starts at 100 and falls 1 per simulated hour (%.2f after %.2f h)"
              % (a.points["level"], hrs))
        check(le is not None and between(le[0], a.points["level_le"], b.points["level_le"], 0.01),
              "the CDAB float serves the simulated value (%s)" % le)
        check(abs(a.points["level_le"] - (30 - 0.4 * hrs)) < 0.1,
              "start_level 0.5 of 50..10 is 30, falling 0.4 per hour (%.2f after %.2f h)"
              % (a.points["level_le"], hrs))
        f = struct.unpack(">f", struct.pack(">HH", int(raw[1]), int(raw[0])))[0] if raw else None
        check(between(f, a.points["level_le"], b.points["level_le"], 0.01),
              "CDAB: the float's high word comes second (%s: %s)" % (raw, f))
        check(t is not None and int(t[0]) == 65536 - 125, "constant int16 -12.5 at scale 0.1 is raw -125 (%s)" % t)
        check(dp is not None and between(dp[0], 100 * a.points["dp"], 100 * b.points["dp"], 1),
              "the clogging pressure serves the simulated value at scale 0.01 (raw %s)" % dp)
        check(0.2 <= a.points["dp"] <= 0.2 + 3.3 * hrs / 100 + 1e-9,
              "a clogging filter rises from full slower than a straight line at first "
              "(%.3f bar after %.2f h)" % (a.points["dp"], hrs))
        c, rate, dh = fall_rate(shop, a, 5, "level", "5 simulated hours")
        if c is None:
            return
        check(0.7 < rate < 1.3, "the level falls at 1 %%/simulated hour (%.3f over %.2f h)" % (rate, dh))
        check(abs(c.points["level"] - (100 - c.tick_h)) < 1,
              "the level is 100 less the simulated hours (%.2f after %.2f h)"
              % (c.points["level"], c.tick_h))
        check(abs(a.points["hours"] - a.tick_h) < 0.01 and abs(c.points["hours"] - c.tick_h) < 0.01,
              "the counter counts simulated hours (%.3f and %.3f after %.3f and %.3f h)"
              % (a.points["hours"], c.points["hours"], a.tick_h, c.tick_h))
        h = mbpoll(port, "input", 200, unit=7, fmt="int")
        d = Snap(shop)
        check(h is not None and between(h[0], c.points["hours"], d.points["hours"], 1),
              "the uint32 input register serves the counter (%s)" % h)
        dp2 = mbpoll(port, "holding", 100, unit=7)
        check(dp2 is not None and dp is not None and dp2[0] >= dp[0] and dp2[0] < 60,
              "the clogging pressure rises slowly at first (%s -> %s)" % (dp, dp2))
        b = mbpoll(port, "coil", 3, unit=7)
        check(b == [0.0], "the button is released before a press (%s)" % b)
        before = Snap(shop)
        st, body = http("POST", "http://127.0.0.1:%d/sim/press/press-01/btn" % shop, b"")
        check(st == 200 and json.loads(body).get("pressed") is True, "POST /sim/press answers 200 (%s)" % st)
        b = mbpoll(port, "coil", 3, unit=7)
        after = Snap(shop)
        # the press holds 3 simulated hours from a moment between the two snapshots
        check(b == [1.0] or after.sim >= before.sim + 3 * HOUR,
              "the coil reads 1 while the press holds (%s)" % b)

        def coil_read():
            v = mbpoll(port, "coil", 3, unit=7)
            return v, Snap(shop)
        rel = wait_until(coil_read, lambda r: r[0] == [0.0], "the coil released after the press")
        check(rel is not None and rel[1].sim >= before.sim + 3 * HOUR,
              "released after hold 3h, not before (%.2f simulated h after the press)"
              % (((rel[1].sim if rel else before.sim) - before.sim) / HOUR))
        st, _ = http("POST", "http://127.0.0.1:%d/sim/press/press-01/nope" % shop, b"")
        check(st == 404, "an unknown button is a 404 (%s)" % st)
        st, body = http("GET", "http://127.0.0.1:%d/sim/devices" % shop)
        j = json.loads(body) if st == 200 else {}
        ks = {k["id"]: k for d in j.get("devices", []) for k in d["consumables"]}
        check(st == 200 and "tank" in ks and 0 < ks["tank"]["remaining"] < 1,
              "GET /sim/devices shows the consumables")
        check(j.get("devices", [{}])[0].get("buttons", [{}])[0].get("presses") == 1,
              "GET /sim/devices counts the press")
        other = mbpoll(port, "holding", 10, unit=9, fmt="float", quiet=True)
        check(other is None and "Target device failed to respond" in mbpoll.last,
              "another unit id gets exception 11 (gateway target failed to respond)")
        bad = mbpoll(port, "holding", 500, unit=7, quiet=True)
        check(bad is None and "Illegal data address" in mbpoll.last,
              "an address outside the map gets exception 2")
    finally:
        sim.stop()


def observe(port, path, want):
    """Observe path with coap-client until want notifications have arrived (or it hung):
    [(Observe number, value)]."""
    # coap-client -v 7 logs every received PDU with its Observe number and payload
    p = subprocess.Popen(["coap-client-openssl", "-v", "7", "-B", str(HANG_GUARD_S), "-s",
                          str(HANG_GUARD_S), "coap://127.0.0.1:%d%s" % (port, path)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    notes = []
    try:
        for line in p.stdout:
            m = re.search(r"c:2\.05 i:\w+ \{\w*\} \[ Observe:(\d+) \] :: '([0-9.]+)'", line)
            if m:
                notes.append((int(m.group(1)), float(m.group(2))))
                if len(notes) >= want:
                    break
    finally:
        p.kill()
        p.wait()
    check(len(notes) >= want, ("observe: %d notifications arrive" % want) +
          ("" if len(notes) >= want else " (hung: %d before coap-client's %d s ran out)"
           % (len(notes), HANG_GUARD_S)))
    return notes


def case_coap(tmp):
    shop = reserve_port()
    # port 0: restock-sim takes a free UDP port and prints it (no window for another test)
    sim = Sim(tmp, """simulation: {seed: 5, tick: 100ms}
devices:
  - id: printer-01
    transport: {type: coap, port: 0}
    points:
      - {id: cyan, path: /ink/cyan, format: text, observe: true}
      - {id: magenta, path: /inks, format: json, pointer: /magenta/level}
      - {id: yellow, path: /inks, format: json, pointer: /yellow/level}
      - {id: black, path: /senml, format: senml, name: black, unit: "%%"}
      - {id: firmware, path: /fw, format: text, value: 7}
    consumables:
      - {id: cyan, point: cyan, profile: {kind: linear, full: 100, empty: 0, life: 100h}}
      - {id: magenta, point: magenta, profile: {kind: linear, full: 100, empty: 0, life: 50h}}
      - {id: yellow, point: yellow, profile: {kind: linear, full: 100, empty: 0, life: 100h, start_level: 0.4}}
      - {id: black, point: black, profile: {kind: linear, full: 100, empty: 0, life: 100h, noise: 0.1}}
shop:
  listen: 127.0.0.1:%d
  db: shop.db
  products: [{sku: X-1, unit_price: "1.00", currency: EUR}]
""" % shop, 3600)
    try:
        m = re.search(r"listening on coap://127\.0\.0\.1:(\d+)", " ".join(sim.lines))
        if not check(m is not None and m.group(1) != "0",
                     "port 0: the CoAP device listens on a port it prints (%r)" % sim.lines):
            return
        port = int(m.group(1))
        a = Snap(shop)
        c1 = coap_get(port, "/ink/cyan")
        js = coap_get(port, "/inks")
        sm = coap_get(port, "/senml")
        b = Snap(shop)
        check(c1 is not None and between(float(c1), a.points["cyan"], b.points["cyan"], 0.01),
              "text: cyan serves the simulated value (%s)" % c1)
        try:
            j = json.loads(js)
            m, y = j["magenta"]["level"], j["yellow"]["level"]
            # one document, one instant t h in: yellow 40 - t, magenta 100 - 2 t
            check(abs(m - (20 + 2 * y)) < 0.01 and between(y, a.points["yellow"], b.points["yellow"], 0.01),
                  "json: two pointers in one document, magenta falls twice as fast (%s)" % js)
        except (TypeError, ValueError, KeyError):
            check(False, "json payload parses (%r)" % js)
        try:
            rec = json.loads(sm)
            check(rec[0]["n"] == "black" and rec[0]["u"] == "%" and
                  between(rec[0]["v"], a.points["black"], b.points["black"], 1),
                  "senml: one record with name, value and unit (%s)" % sm)
        except (TypeError, ValueError, KeyError, IndexError):
            check(False, "senml payload parses (%r)" % sm)
        check(abs(a.points["yellow"] - (a.points["cyan"] - 60)) < 0.01,
              "start_level 0.4: yellow is 40 less cyan's 1 per hour (%.2f, %.2f)"
              % (a.points["yellow"], a.points["cyan"]))
        check(coap_get(port, "/fw") == "7", "a constant point serves its value")
        c, rate, dh = fall_rate(shop, a, 3, "cyan", "3 simulated hours")
        if c is None:
            return
        check(0.95 < rate < 1.05, "cyan falls 1 %%/simulated hour (%.3f over %.2f h)" % (rate, dh))
        # observe: notifications arrive as the value changes
        notes = observe(port, "/ink/cyan", 5)
        seq = [n for n, _ in notes]
        fl = [v for _, v in notes]
        check(all(b > a for a, b in zip(seq, seq[1:])), "observe: Observe numbers increase")
        check(all(b < a for a, b in zip(fl, fl[1:])), "observe: the notified values keep falling")
        r = subprocess.run(["coap-client-openssl", "-B", "2", "coap://127.0.0.1:%d/nope" % port],
                           capture_output=True, text=True, timeout=20)
        check("4.04" in r.stdout + r.stderr, "an unknown path answers 4.04")
    finally:
        sim.stop()


def case_replace(tmp):
    port = reserve_port()
    shop = reserve_port()
    # 1 s = 1 simulated hour. The cartridge is worn (below swap_at 5 %) after
    # 1 h; the order arrives 2 h after it is placed and goes on the shelf; a
    # worn part gets a spare from the shelf replace_after (2 h) later.
    sim = Sim(tmp, """simulation: {seed: 9, tick: 50ms}
devices:
  - id: water-01
    transport: {type: modbus-tcp, port: %d}
    points:
      - {id: level, register: holding, address: 0, type: uint16, scale: 0.1}
      - {id: liters, register: holding, address: 10, type: uint32}
      - {id: other, register: holding, address: 20, type: uint16}
      - {id: dry, register: holding, address: 30, type: uint16}
    consumables:
      - {id: cartridge, point: level, sku: WF-10, replace_after: 2h,
         profile: {kind: linear, full: 100, empty: 0, life: 100h, start_level: 0.06}}
      - {id: meter, point: liters, sku: WF-10, replace_after: 2h,
         profile: {kind: counter, full: 0, empty: 10000, life: 100h, start_level: 0.5}}
      - {id: untouched, point: other, sku: OTHER-1, spares: 2,
         profile: {kind: linear, full: 100, empty: 0, life: 100h, start_level: 0.5}}
      - {id: starved, point: dry, sku: DRY-1,
         profile: {kind: linear, full: 100, empty: 0, life: 10h, start_level: 0.01}}
shop:
  listen: 127.0.0.1:%d
  db: shop.db
  pace: {ship_after: 1h, deliver_after: 1h}
  products:
    - {sku: WF-10, unit_price: "7.40", currency: EUR}
    - {sku: OTHER-1, unit_price: "1.00", currency: EUR}
    - {sku: DRY-1, unit_price: "1.00", currency: EUR}
""" % (port, shop), 3600)
    try:
        a = Snap(shop)
        lv = mbpoll(port, "holding", 0)
        li = mbpoll(port, "holding", 10, fmt="int")
        b = Snap(shop)
        check(lv is not None and between(lv[0], 10 * a.points["level"], 10 * b.points["level"], 1)
              and abs(a.points["level"] - (6 - a.tick_h)) < 0.01,
              "the cartridge starts at 6 %% and falls 1 per hour (raw %s after %.2f h)" % (lv, a.tick_h))
        check(li is not None and between(li[0], a.points["liters"], b.points["liters"], 1)
              and abs(a.points["liters"] - (5000 + 100 * a.tick_h)) < 1,
              "the meter starts at 5000 l and counts 100 an hour (%s after %.2f h)" % (li, a.tick_h))
        order = {"reference": "t-1", "customer_id": "C-1",
                 "ship_to": {"name": "n", "street": "s", "city": "c", "country": "DE"},
                 "currency": "EUR", "lines": [{"sku": "WF-10", "quantity": 2}]}
        placed = Snap(shop)
        st, body = http("POST", "http://127.0.0.1:%d/api/v1/orders" % shop,
                        json.dumps(order).encode(),
                        {"Content-Type": "application/json", "Idempotency-Key": "k-1"})
        check(st == 201, "the shop accepts the order (%s %s)" % (st, body))
        pace = 2 * HOUR  # ship_after + deliver_after (no product has a lead time)
        # every snapshot until the cartridge has its spare: the delivery, then replace_after
        snaps = []

        def probe():
            snaps.append(Snap(shop))
            return snaps[-1]
        done = wait_until(probe, lambda sn: sn.ks["cartridge"]["replacements"] >= 1,
                          "the cartridge replaced after the delivery")
        if done is None:
            return
        cart = [(sn.sim, sn.ks["cartridge"], sn.points["level"]) for sn in snaps]
        waiting = [(t, k, v) for t, k, v in cart if k["replacements"] == 0]
        last = waiting[-1][2] if waiting else b.points["level"]
        check(all(y[2] <= x[2] for x, y in zip(waiting, waiting[1:])) and last < lv[0] / 10,
              "the cartridge depletes until it is replaced (%.1f -> %.1f %%)" % (lv[0] / 10, last))
        # the last moment seen without the unit (the order itself if no snapshot was that early)
        undelivered = [placed.sim] + [t for t, k, _ in cart if k["delivered"] == 0]
        delivered = [t for t, k, _ in cart if k["delivered"] >= 1]
        check(delivered and delivered[0] >= placed.sim + pace,
              "the unit arrives no sooner than the order's pace (%.2f simulated h after the order)"
              % (((delivered or [placed.sim])[0] - placed.sim) / HOUR))
        # the spare is due replace_after (2 h) after the delivery, which came after the last
        # snapshot that did not have it; replace_at is set by the first tick that sees the
        # unit (TICK_SLACK: a tick reads the clock before it takes the simulator's lock)
        due = [(t, k["replace_at"]) for t, k, _ in cart if k["replace_at"]]
        if due:
            t_due, at = due[0]
            at = datetime.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
            check(undelivered[-1] + 2 * HOUR - TICK_SLACK <= at <= t_due + 2 * HOUR,
                  "the spare is due replace_after (2 h) after the delivery")
        else:
            print("note: no snapshot caught the spare while it was due")
        check(done.sim >= placed.sim + pace + 2 * HOUR - TICK_SLACK and done.ks["cartridge"]["shelf"] == 0,
              "the worn cartridge gets the spare from the shelf, no sooner than the delivery "
              "and replace_after (%.2f simulated h after the order)" % ((done.sim - placed.sim) / HOUR))
        v = mbpoll(port, "holding", 0)
        check(v is not None and v[0] > lv[0], "the register shows the new cartridge (%s)" % v)
        li2 = mbpoll(port, "holding", 10, fmt="int")
        check(li2 is not None and li2[0] >= 5000,
              "the meter has life left: its spare stays on the shelf, no reset (%s)" % li2)
        o = mbpoll(port, "holding", 20)
        check(o is not None and o[0] < 50,
              "a part with life left is not swapped although spares are on its shelf (%s)" % o)
        st, body = http("GET", "http://127.0.0.1:%d/sim/devices" % shop)
        ks = {k["id"]: k for d in json.loads(body)["devices"] for k in d["consumables"]}
        check(ks["cartridge"]["replacements"] == 1 and ks["cartridge"]["shelf"] == 0
              and ks["cartridge"]["delivered"] == 1,
              "GET /sim/devices: the cartridge got one unit and fitted it (%s)" % ks["cartridge"])
        check(ks["meter"]["replacements"] == 0 and ks["meter"]["shelf"] == 1,
              "GET /sim/devices: the meter's unit is on its shelf (%s)" % ks["meter"])
        check(ks["untouched"]["replacements"] == 0 and ks["untouched"]["shelf"] == 2,
              "GET /sim/devices: the start shelf (spares: 2) is kept (%s)" % ks["untouched"])
        check(ks["starved"]["stockouts"] == 1 and ks["starved"]["empty_seconds"] > 3600
              and ks["starved"]["empty_now"] and ks["cartridge"]["stockouts"] == 0,
              "GET /sim/devices counts the time a part stood empty with no spare (%s)"
              % ks["starved"])
        sp = ks["starved"]["empty_spans"]
        check(len(sp) == 1 and sp[0][1] - sp[0][0] >= ks["starved"]["empty_seconds"] - 3600
              and ks["cartridge"]["empty_spans"] == [],
              "GET /sim/devices says when it stood empty: one span, still open, as long "
              "as empty_seconds (%s)" % sp)
        first = mbpoll(port, "holding", 0)
        if wait_sim(shop, done.sim + HOUR, "an hour of the new cartridge") is None:
            return
        lv3 = mbpoll(port, "holding", 0)
        check(lv3 is not None and first is not None and lv[0] < lv3[0] < first[0],
              "the new cartridge depletes again (%s -> %s)" % (first, lv3))
    finally:
        sim.stop()


# A shop (on port %d, its database %s) of two products, 4 days' and 1 day's lead time
# (+-10 % jitter); run at 1 s = 1 simulated day (the lead-time and pace cases).
TWO_LEAD_SHOP = """simulation: {seed: 3, tick: 50ms}
shop:
  listen: 127.0.0.1:%d
  db: %s
  pace: {ship_after: 1h, deliver_after: 1h, jitter: 10%%}
  products:
    - {sku: SLOW-4, unit_price: "1.00", currency: EUR, lead_time_days: 4}
    - {sku: FAST-1, unit_price: "1.00", currency: EUR, lead_time_days: 1}
"""


def post_order(port, key, sku):
    """Order one sku from the shop on port (key: the reference and Idempotency-Key); the
    order's id, or None when the shop refused it (a failed check)."""
    order = {"reference": key, "customer_id": "C-1",
             "ship_to": {"name": "n", "street": "s", "city": "c", "country": "DE"},
             "currency": "EUR", "lines": [{"sku": sku, "quantity": 1}]}
    st, body = http("POST", "http://127.0.0.1:%d/api/v1/orders" % port,
                    json.dumps(order).encode(),
                    {"Content-Type": "application/json", "Idempotency-Key": key})
    check(st == 201, "the shop accepts %s (%s)" % (key, st))
    return json.loads(body)["id"] if st == 201 else None


def case_leadtime(tmp):
    shop = reserve_port()
    # Each order arrives after its longest lead time (+-10 % jitter): the 1-day order
    # placed second arrives first (the shop judges an order's status by its simulated age
    # at each request).
    sim = Sim(tmp, TWO_LEAD_SHOP % (shop, "shop.db"), 86400)

    def status(oid):
        st, body = http("GET", "http://127.0.0.1:%d/api/v1/orders/%s" % (shop, oid))
        return json.loads(body)["status"] if st == 200 else None
    try:
        slow = post_order(shop, "k-slow", "SLOW-4")
        fast = post_order(shop, "k-fast", "FAST-1")

        def both():
            st, body = http("GET", "http://127.0.0.1:%d/sim/orders" % shop)
            return {o["id"]: o for o in json.loads(body)["orders"]} if st == 200 else {}
        # the order of events: every view of the two orders until the 4-day one is delivered
        seen = []

        def probe():
            seen.append(both())
            return seen[-1]
        last = wait_until(probe, lambda v: v.get(slow, {}).get("status") == "delivered",
                          "the 4-day order delivered")
        pairs = [(v[fast]["status"], v[slow]["status"]) for v in seen if fast in v and slow in v]
        check(("delivered", "accepted") in pairs or ("delivered", "shipped") in pairs,
              "the 1-day order placed second is delivered while the 4-day one is not yet "
              "(%s)" % sorted(set(pairs)))
        check(last is not None and last[fast]["status"] == "delivered",
              "both are delivered in the end")
        paces = {o: v["pace_ms"] for o, v in (last or {}).items()}
        check(3.6 * 86400e3 <= paces[slow] <= 4.4 * 86400e3 and
              0.9 * 86400e3 <= paces[fast] <= 1.1 * 86400e3,
              "each order's pace is its lead time within the jitter (%s)" % paces)
    finally:
        sim.stop()


def case_pace(tmp):
    # The lead-time jitter of a product's n-th order is its own: two shops with the same
    # seed give the n-th SLOW-4 order the same pace whatever else was ordered in between
    # (one draw for all orders gave SLOW-4's second order another pace once a FAST-1 order
    # came first: one part ordered more often moved every other part's deliveries).
    def paces(name, skus):
        port = reserve_port()
        d = os.path.join(tmp, name)
        os.makedirs(d)
        sim = Sim(d, TWO_LEAD_SHOP % (port, os.path.join(d, "shop.db")), 86400)
        try:
            ids = [post_order(port, "k-%s-%d" % (name, i), sku) for i, sku in enumerate(skus)]
            st, body = http("GET", "http://127.0.0.1:%d/sim/orders" % port)
            got = {o["id"]: o["pace_ms"] for o in json.loads(body)["orders"]} if st == 200 else {}
        finally:
            sim.stop()
        return [got.get(oid) for oid, sku in zip(ids, skus) if sku == "SLOW-4"]

    alone = paces("alone", ["SLOW-4", "SLOW-4", "SLOW-4"])
    mixed = paces("mixed", ["FAST-1", "SLOW-4", "FAST-1", "FAST-1", "SLOW-4", "SLOW-4"])
    check(alone == mixed, "the n-th SLOW-4 order has the same pace with or without FAST-1 orders "
          "between them (%s vs %s)" % (alone, mixed))
    check(len(set(alone)) == 3 and all(3.6 * 86400e3 <= p <= 4.4 * 86400e3 for p in alone),
          "each SLOW-4 order draws its own pace within the jitter (%s)" % alone)


def main():
    with tempfile.TemporaryDirectory(prefix="rs-sim-") as tmp:
        {"modbus": case_modbus, "coap": case_coap, "replace": case_replace,
         "leadtime": case_leadtime, "pace": case_pace}[CASE](tmp)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


main()

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""restock-sim's simulated devices, checked with independent clients.

usage: test_sim.py RESTOCK_SIM CASE
CASE: modbus | coap | replace | leadtime

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
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from testports import reserve_port  # tests/testports.py

SIM = os.path.abspath(sys.argv[1])
CASE = sys.argv[2]
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)
    return cond


class Sim:
    def __init__(self, tmp, yaml_text, scale):
        self.path = os.path.join(tmp, "sim.yaml")
        with open(self.path, "w") as f:
            f.write(yaml_text)
        self.err = open(os.path.join(tmp, "sim.err"), "w+")
        self.proc = subprocess.Popen([SIM, "--config", self.path, "--time-scale", str(scale)],
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.lines = []
        self.t0 = None
        deadline = time.time() + 30
        want = yaml_text.count("\n  - id: ") + (1 if "\nshop:" in yaml_text else 0)
        while len(self.lines) < want and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.strip())
        self.t0 = time.time()
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
        v1 = mbpoll(port, "holding", 10, unit=7, fmt="float")
        t1 = time.time() - sim.t0
        check(v1 is not None and abs(v1[0] - (100 - t1)) < 2.5,
              "linear level starts near 100 and falls 1 per simulated hour (%s at %.1f s)" % (v1, t1))
        le = mbpoll(port, "holding", 20, unit=7, fmt="float", abcd=False)
        check(le is not None and abs(le[0] - 30) < 2, "start_level 0.5 of 50..10 reads ~30 (%s)" % le)
        raw = mbpoll(port, "holding", 20, count=2, unit=7)
        check(raw is not None and 0x41e0 <= raw[1] <= 0x41f8,
              "CDAB: the float's high word (0x41f0 for ~30) comes second (%s)" % raw)
        t = mbpoll(port, "holding", 101, unit=7)
        check(t is not None and int(t[0]) == 65536 - 125, "constant int16 -12.5 at scale 0.1 is raw -125 (%s)" % t)
        dp = mbpoll(port, "holding", 100, unit=7)
        check(dp is not None and 20 <= dp[0] <= 25, "a fresh clogging filter reads near full (raw %s)" % dp)
        time.sleep(6)
        v2 = mbpoll(port, "holding", 10, unit=7, fmt="float")
        t2 = time.time() - sim.t0
        if check(v1 is not None and v2 is not None, "two level readings"):
            rate = (v1[0] - v2[0]) / (t2 - t1)
            check(0.8 < rate < 1.2, "the level falls at 1 %%/simulated hour (%.3f per s)" % rate)
        h = mbpoll(port, "input", 200, unit=7, fmt="int")
        t3 = time.time() - sim.t0
        check(h is not None and abs(h[0] - t3) <= 2, "the counter counts simulated hours (%s at %.1f s)" % (h, t3))
        dp2 = mbpoll(port, "holding", 100, unit=7)
        check(dp2 is not None and dp is not None and dp2[0] >= dp[0] and dp2[0] < 60,
              "the clogging pressure rises slowly at first (%s -> %s)" % (dp, dp2))
        b = mbpoll(port, "coil", 3, unit=7)
        check(b == [0.0], "the button is released before a press (%s)" % b)
        st, body = http("POST", "http://127.0.0.1:%d/sim/press/press-01/btn" % shop, b"")
        check(st == 200 and json.loads(body).get("pressed") is True, "POST /sim/press answers 200 (%s)" % st)
        b = mbpoll(port, "coil", 3, unit=7)
        check(b == [1.0], "the coil reads 1 while the press holds (%s)" % b)
        time.sleep(3.5)
        b = mbpoll(port, "coil", 3, unit=7)
        check(b == [0.0], "released after hold 3h = 3 s (%s)" % b)
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


def case_coap(tmp):
    # port 0: restock-sim takes a free UDP port and prints it (no window for another test)
    sim = Sim(tmp, """simulation: {seed: 5, tick: 100ms}
devices:
  - id: printer-01
    transport: {type: coap, port: 0}
    points:
      - {id: cyan, path: /ink/cyan, format: text, observe: true}
      - {id: magenta, path: /inks, format: json, pointer: /magenta/level}
      - {id: yellow, path: /inks, format: json, pointer: /yellow/level}
      - {id: black, path: /senml, format: senml, name: black, unit: "%"}
      - {id: firmware, path: /fw, format: text, value: 7}
    consumables:
      - {id: cyan, point: cyan, profile: {kind: linear, full: 100, empty: 0, life: 100h}}
      - {id: magenta, point: magenta, profile: {kind: linear, full: 100, empty: 0, life: 50h}}
      - {id: yellow, point: yellow, profile: {kind: linear, full: 100, empty: 0, life: 100h, start_level: 0.4}}
      - {id: black, point: black, profile: {kind: linear, full: 100, empty: 0, life: 100h, noise: 0.1}}
""", 3600)
    try:
        m = re.search(r"listening on coap://127\.0\.0\.1:(\d+)", " ".join(sim.lines))
        if not check(m is not None and m.group(1) != "0",
                     "port 0: the CoAP device listens on a port it prints (%r)" % sim.lines):
            return
        port = int(m.group(1))
        c1 = coap_get(port, "/ink/cyan")
        t1 = time.time() - sim.t0
        check(c1 is not None and abs(float(c1) - (100 - t1)) < 3,
              "text: cyan starts near 100 (%s at %.1f s)" % (c1, t1))
        js = coap_get(port, "/inks")
        try:
            j = json.loads(js)
            m, y = j["magenta"]["level"], j["yellow"]["level"]
            check(m < 100 and abs(y - 40) < 4 and (100 - m) > 1.5 * (40 - y) - 1,
                  "json: two pointers in one document, magenta falls twice as fast (%s)" % js)
        except (TypeError, ValueError, KeyError):
            check(False, "json payload parses (%r)" % js)
        sm = coap_get(port, "/senml")
        try:
            rec = json.loads(sm)
            check(rec[0]["n"] == "black" and rec[0]["u"] == "%" and 90 < rec[0]["v"] <= 100,
                  "senml: one record with name, value and unit (%s)" % sm)
        except (TypeError, ValueError, KeyError, IndexError):
            check(False, "senml payload parses (%r)" % sm)
        check(coap_get(port, "/fw") == "7", "a constant point serves its value")
        time.sleep(3)
        c2 = coap_get(port, "/ink/cyan")
        t2 = time.time() - sim.t0
        if check(c1 is not None and c2 is not None, "two cyan readings"):
            rate = (float(c1) - float(c2)) / (t2 - t1)
            check(0.7 < rate < 1.3, "cyan falls 1 %%/simulated hour (%.3f per s)" % rate)
        # observe for 3 s: notifications arrive as the value changes
        # coap-client -v 7 logs every received PDU with its Observe number and payload
        r = subprocess.run(["coap-client-openssl", "-v", "7", "-B", "3", "-s", "3",
                            "coap://127.0.0.1:%d/ink/cyan" % port],
                           capture_output=True, text=True, timeout=30)
        notes = re.findall(r"c:2\.05 i:\w+ \{\w*\} \[ Observe:(\d+) \] :: '([0-9.]+)'",
                           r.stdout + r.stderr)
        check(len(notes) >= 5, "observe: at least 5 notifications in 3 s (%d)" % len(notes))
        seq = [int(n) for n, _ in notes]
        fl = [float(v) for _, v in notes]
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
        lv = mbpoll(port, "holding", 0)
        check(lv is not None and 40 < lv[0] <= 60, "the cartridge starts at ~6 %% (raw %s)" % lv)
        li = mbpoll(port, "holding", 10, fmt="int")
        check(li is not None and 5000 <= li[0] < 5300, "the meter starts at ~5000 l (%s)" % li)
        order = {"reference": "t-1", "customer_id": "C-1",
                 "ship_to": {"name": "n", "street": "s", "city": "c", "country": "DE"},
                 "currency": "EUR", "lines": [{"sku": "WF-10", "quantity": 2}]}
        t_order = time.time()
        st, body = http("POST", "http://127.0.0.1:%d/api/v1/orders" % shop,
                        json.dumps(order).encode(),
                        {"Content-Type": "application/json", "Idempotency-Key": "k-1"})
        check(st == 201, "the shop accepts the order (%s %s)" % (st, body))
        # worn at 1 h, but nothing on the shelf before the delivery (2 h) + replace_after (2 h)
        time.sleep(2.5)
        lv2 = mbpoll(port, "holding", 0)
        check(lv2 is not None and lv2[0] < lv[0], "still depleting after 2.5 s (%s)" % lv2)
        replaced = None
        while time.time() - t_order < 12:
            v = mbpoll(port, "holding", 0)
            if v and v[0] > 900:
                replaced = time.time() - t_order
                break
            time.sleep(0.2)
        check(replaced is not None and 3.5 <= replaced <= 6.5,
              "the worn cartridge gets the spare ~4 s after the order (%s)" % replaced)
        li2 = mbpoll(port, "holding", 10, fmt="int")
        check(li2 is not None and li2[0] >= 5000,
              "the meter has life left: its spare stays on the shelf, no reset (%s)" % li2)
        o = mbpoll(port, "holding", 20)
        check(o is not None and 40 < o[0] < 50,
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
        time.sleep(2)
        lv3 = mbpoll(port, "holding", 0)
        check(lv3 is not None and 900 < lv3[0] < 1000, "the new cartridge depletes again (%s)" % lv3)
    finally:
        sim.stop()


def case_leadtime(tmp):
    shop = reserve_port()
    # 1 s = 1 simulated day. Each order arrives after its longest lead time
    # (+-10 % jitter): the 1-day order placed second arrives first.
    sim = Sim(tmp, """simulation: {seed: 3, tick: 50ms}
shop:
  listen: 127.0.0.1:%d
  db: shop.db
  pace: {ship_after: 1h, deliver_after: 1h, jitter: 10%%}
  products:
    - {sku: SLOW-4, unit_price: "1.00", currency: EUR, lead_time_days: 4}
    - {sku: FAST-1, unit_price: "1.00", currency: EUR, lead_time_days: 1}
""" % shop, 86400)

    def post(key, sku):
        order = {"reference": key, "customer_id": "C-1",
                 "ship_to": {"name": "n", "street": "s", "city": "c", "country": "DE"},
                 "currency": "EUR", "lines": [{"sku": sku, "quantity": 1}]}
        st, body = http("POST", "http://127.0.0.1:%d/api/v1/orders" % shop,
                        json.dumps(order).encode(),
                        {"Content-Type": "application/json", "Idempotency-Key": key})
        check(st == 201, "the shop accepts %s (%s)" % (key, st))
        return json.loads(body)["id"]

    def status(oid):
        st, body = http("GET", "http://127.0.0.1:%d/api/v1/orders/%s" % (shop, oid))
        return json.loads(body)["status"] if st == 200 else None
    try:
        slow = post("k-slow", "SLOW-4")
        fast = post("k-fast", "FAST-1")
        time.sleep(1.5)
        check(status(fast) == "delivered" and status(slow) in ("accepted", "shipped"),
              "after 1.5 days the 1-day order is delivered, the 4-day one is not (%s, %s)"
              % (status(fast), status(slow)))
        time.sleep(3.2)
        check(status(slow) == "delivered", "after 4.7 days the 4-day order is delivered (%s)"
              % status(slow))
        st, body = http("GET", "http://127.0.0.1:%d/sim/orders" % shop)
        paces = {o["id"]: o["pace_ms"] for o in json.loads(body)["orders"]}
        check(3.6 * 86400e3 <= paces[slow] <= 4.4 * 86400e3 and
              0.9 * 86400e3 <= paces[fast] <= 1.1 * 86400e3,
              "each order's pace is its lead time within the jitter (%s)" % paces)
    finally:
        sim.stop()


def main():
    with tempfile.TemporaryDirectory(prefix="rs-sim-") as tmp:
        {"modbus": case_modbus, "coap": case_coap, "replace": case_replace,
         "leadtime": case_leadtime}[CASE](tmp)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


main()

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench/plant: restock-sim and restockd run a randomised plant for a
simulated year at a high time scale; the figures a plant manager reads, per
part and in total, beside two baselines computed on the same plant, the same
lead times and the same approval delays in the same run.

usage: plant.py BUILD_DIR [--seed N | --seeds N,N...] [--repeat K] [--parts N]
                [--only ID,ID...] [--days N] [--scale N] [--clock sim|own]
                [--out DIR] [--json FILE]

--seeds and --repeat run each seed K times, one after the other, and print an
aggregate: every run's totals, then mean +- standard deviation and [min, max]
per seed and over all, and the parts whose avoidable days moved by a day or
more between repeats of a seed. One run on a shared host is not a figure.

--clock sim (the default) puts restockd on the sim's timeline: the bench
creates restockd's database before the plant starts and gives it the sim's
scaled-clock anchor (SPEC 12 keeps the anchor in the database), so both
agree on every weekday and hour. --clock own is the old way: restockd's
timeline starts at the real time it started, shifted from the sim's by the
time of day the bench ran.

Each run prints a timing line: how far restockd fell behind simulated time
(the gaps between its hourly readings in its database), how late the
scripted approver answered, and the sim's longest gap between ticks.

--only keeps the named parts of the seed's plant (the same parts as in the
whole plant, fewer of them: a quicker look at one part's decisions with less
load on the host; batching with the other parts of a supplier is gone, so
totals are not comparable with a whole plant's).

Plant (from --seed): parts across profiles (linear, weekly shifts, clogging,
counters, rate changes, bursts), pack sizes 1-10, lead times 1-21 days,
some approval-required parts answered by a scripted approver after 0-3
simulated days and some never answered.

Figures per part and in total:
  stockout days   simulated days a part stood worn out with no spare
  avoidable       of those, the days in hours when perfect information's same
                  part was not empty (the stockout days it avoided). A baseline's
                  order of a part takes the lead-time draw the shop gave restock's
                  line of it placed nearest in time, so a part whose installed life
                  at the start is below its lead time (plus its approval) is empty
                  under perfect information too and those hours do not count: what
                  is left is what restock's own timing lost (a later or smaller line)
  shelf mean/max  units on the shelf (time-weighted mean, maximum)
  ordered/fitted  units ordered per unit fitted (net: less the units on the shelf
                  or on the way at the end)
  early           orders that arrived while a spare was on the shelf and the
                  installed part had more than its lead time of life left
  doubles         order lines for a part placed while an earlier line for it
                  was still on the way

Baselines (simulated here on the same plant, same jitter draws; like restock,
they order only from restockd's first reading of every part on: at this time
scale restockd's start-up takes about a simulated day that a real gateway's
does not):
  (s,S)    a min/max reordering rule like Odoo's: when shelf + on order
           falls to s = ceil(lead-time demand), order up to S = s + pack
  perfect  each order placed lead time + 1 day before the shelf and the
           installed part run out (it knows the future exactly; as many lines
           of a part on their way at once as that takes)
  perfect1 perfect information kept to SPEC 7's one open line, as restock is:
           it drafts only while no line of the part is on its way, as late as
           it can, enough packs to last from the line's arrival until a line
           drafted then arrives (a day of margin each). A totals row, and
           restock's avoidable days against it: what a policy SPEC 7 allows
           could have avoided (a speed-up while a line is on its way is not
           met by another line)
"""
import argparse
import calendar
import json
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

DAY = 86400.0
HOUR = 3600.0
START = "2027-01-04T00:00:00Z"  # a Monday, 00:00 UTC
START_TS = 1799020800.0         # the same, as Unix seconds

WARMUP_DAYS = 30  # stockouts are also counted after this, once restock has history

KINDS = ["linear", "weekly", "clogging", "counter", "ratechange", "burst"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------- the plant

def make_plant(seed, n):
    """n parts with profile, life, pack, lead time, approval, from seed."""
    rnd = random.Random(seed)
    parts = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        p = {
            "id": "p%02d" % i,
            "sku": "SKU-%02d" % i,
            "kind": kind,
            "life_days": rnd.choice([4, 6, 8, 10, 14, 20, 30, 45, 60, 90]),
            "pack": rnd.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 10]),
            "lead": rnd.randint(1, 21),
            "start_level": round(rnd.uniform(0.3, 1.0), 2),
            "spares": rnd.choice([0, 0, 1]),
            "approval": "auto",
            "answer_days": None,
        }
        r = rnd.random()
        if r < 0.2:
            p["approval"] = "required"
            p["answer_days"] = round(rnd.uniform(0, 3), 2)
        elif r < 0.28:
            p["approval"] = "required"  # never answered
        if kind == "ratechange":
            p["rate_at_days"] = rnd.randint(60, 240)
            p["rate_factor"] = rnd.choice([0.5, 2.0])
        parts.append(p)
    return parts


def duty_of(p):
    """Operating hours: weekly Mon-Fri 06-22; burst Sat 00-24 only; else always."""
    if p["kind"] == "weekly":
        return {"days": [0, 1, 2, 3, 4], "from": 6, "to": 22}
    if p["kind"] == "burst":
        return {"days": [5], "from": 0, "to": 24}
    return None


def duty_share(p):
    d = duty_of(p)
    if not d:
        return 1.0
    return len(d["days"]) * (d["to"] - d["from"]) / 168.0


def operating(p, t):
    """Whether part p wears at simulated time t (seconds since START)."""
    d = duty_of(p)
    if not d:
        return True
    day = int(t // DAY) % 7  # START is a Monday
    hour = (t % DAY) / HOUR
    return day in d["days"] and d["from"] <= hour < d["to"]


def rate(p, t):
    if p["kind"] == "ratechange" and t >= p["rate_at_days"] * DAY:
        return p["rate_factor"]
    return 1.0


def sim_yaml(parts, port, shop_port, db, seed):
    out = ["simulation: {seed: %d, tick: 50ms, start: %s}" % (seed, START), "devices:"]
    out.append("  - id: plant")
    out.append("    transport: {type: modbus-tcp, port: %d}" % port)
    out.append("    points:")
    for i, p in enumerate(parts):
        if p["kind"] == "counter":
            out.append("      - {id: %s, register: holding, address: %d, type: uint32, scale: 0.1}"
                       % (p["id"], i * 2))
        else:
            out.append("      - {id: %s, register: holding, address: %d, type: uint16, scale: 0.01}"
                       % (p["id"], i * 2))
    out.append("    consumables:")
    for p in parts:
        life_h = p["life_days"] * 24
        prof = {"linear": "kind: linear, full: 100, empty: 0",
                "ratechange": "kind: linear, full: 100, empty: 0",
                "weekly": "kind: weekly, full: 100, empty: 0",
                "burst": "kind: linear, full: 100, empty: 0",
                "clogging": "kind: clogging, full: 0.2, empty: 3.5, steepness: 3",
                "counter": "kind: counter, full: 0, empty: %d" % (life_h * duty_share(p))}[p["kind"]]
        if p["kind"] == "counter":
            # a counter counts operating hours; its life is its rated hours
            prof = "kind: counter, full: 0, empty: %d" % life_h
        d = duty_of(p)
        extra = ""
        if d:
            days = ", ".join(["mon", "tue", "wed", "thu", "fri", "sat", "sun"][x] for x in d["days"])
            extra += ", duty: {days: [%s], from: %d, to: %d}" % (days, d["from"], d["to"])
        if p["kind"] == "ratechange":
            extra += ", rate_change: {after: %dd, factor: %g}" % (p["rate_at_days"], p["rate_factor"])
        if p["kind"] not in ("counter",):
            extra += ", noise: %s" % ("0.002" if p["kind"] == "clogging" else "0.2")
        # life is operating time: a weekly/burst part lasts life / duty share in calendar time
        life = "%dh" % round(life_h * duty_share(p))
        out.append("      - {id: %s, point: %s, sku: %s, spares: %d, replace_after: 2h," %
                   (p["id"], p["id"], p["sku"], p["spares"]))
        out.append("         profile: {%s, life: %s, start_level: %s%s}}" %
                   (prof, life, p["start_level"], extra))
    out.append("shop:")
    out.append("  listen: 127.0.0.1:%d" % shop_port)
    out.append("  db: %s" % db)
    out.append("  pace: {ship_after: 1d, deliver_after: 1d, jitter: 10%}")
    out.append("  faults: {seed: %d}" % seed)
    out.append("  products:")
    for p in parts:
        out.append('    - {sku: %s, unit_price: "5.00", currency: EUR, lead_time_days: %d}'
                   % (p["sku"], p["lead"]))
    return "\n".join(out) + "\n"


def supplier_of(p):
    """A plant buys fast parts locally and slow ones from far: suppliers by lead-time band.
    (With one supplier for every part, an order waits for its slowest line: SPEC 13.)"""
    if p["approval"] == "required" and p["answer_days"] is None:
        return "never"
    for top, name in ((3, "express"), (9, "regional"), (15, "maker")):
        if p["lead"] <= top:
            return name
    return "import"


def restock_config(parts, d, port, shop_port, http_port, state):
    os.makedirs(os.path.join(d, "devices.d"))
    os.makedirs(os.path.join(d, "rules.d"))
    os.makedirs(os.path.join(state, "mail"), exist_ok=True)
    cat = []
    for p in parts:
        sup = supplier_of(p)
        cat.append('  - {sku: %s, supplier: %s, unit_price: "5.00", currency: EUR, pack_size: %d, '
                   'lead_time: %dd, approval: %s}' % (p["sku"], sup, p["pack"], p["lead"],
                                                      p["approval"]))
    with open(os.path.join(d, "restock.yaml"), "w") as f:
        f.write("""gateway: {id: plant-gw, site: "bench/plant"}
http:
  listen: 127.0.0.1:%d
  public_url: http://127.0.0.1:%d
storage:
  path: %s/restock.db
commerce:
  base_url: http://127.0.0.1:%d/api/v1
  timeout: 5s
  status_interval: 2h
  customer_id: BENCH-1
  ship_to: {name: "Bench", street: "s 1", city: "c", postcode: "1", country: DE}
mail:
  smtp_url: file://%s/mail
  from: restock@bench.example
orders:
  currency: EUR
  batching: {window: 6h, flush_value: "250.00", max_lines: 20, urgent_margin: 1d}
  approval:
    require_over_value: "100000.00"
    approvers: [lead@bench.example]
    link_ttl: 14d
    remind_before: 2d
catalog:
%s
suppliers:
  - {id: express, name: "Local distributor, 1-3 days"}
  - {id: regional, name: "Regional wholesaler, 4-9 days"}
  - {id: maker, name: "Manufacturer, 10-15 days"}
  - {id: import, name: "Importer, 16-21 days"}
  - {id: never, name: "Nobody answers its approvals"}
""" % (http_port, http_port, state, shop_port, state, "\n".join(cat)))
    dev = ["devices:", "  - id: plant",
           "    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d, unit_id: 1}" % port,
           "    poll_interval: 1h", "    timeout: 2s", "    points:"]
    for i, p in enumerate(parts):
        if p["kind"] == "counter":
            dev.append("      - {id: %s, register: holding, address: %d, type: uint32, scale: 0.1}"
                       % (p["id"], i * 2))
        else:
            dev.append("      - {id: %s, register: holding, address: %d, type: uint16, scale: 0.01}"
                       % (p["id"], i * 2))
    dev.append("    consumables:")
    for p in parts:
        if p["kind"] == "counter":
            start = round((1 - p["start_level"]) * p["life_days"] * 24, 1)
            model = "usage: {point: %s, life: %d, start: 0}" % (p["id"], p["life_days"] * 24)
            del start
        elif p["kind"] == "clogging":
            model = "level: {point: %s, full: 0.2, empty: 3.5}" % p["id"]
        else:
            model = "level: {point: %s, full: 100, empty: 0}" % p["id"]
        dev.append("      - {id: %s, sku: %s, kind: %s, spares: %d, %s}" %
                   (p["id"], p["sku"], p["kind"], p["spares"], model))
    with open(os.path.join(d, "devices.d", "plant.yaml"), "w") as f:
        f.write("\n".join(dev) + "\n")


# ---------------------------------------------------------------- baselines

class PartSim:
    """One part in simulated time (hour steps): wear, a shelf, fits, orders."""

    def __init__(self, p, rnd, draws=()):
        self.p = p
        self.rnd = rnd
        self.draws = list(draws)  # (time s, lead-time factor) of the shop's draws for restock
        self.used = 1 - p["start_level"]
        self.shelf = p["spares"]
        self.orders = []          # [arrive_t, qty]
        self.ordered = 0
        self.fitted = 0
        self.empty_h = 0.0
        self.stockouts = 0
        self.out = False
        self.shelf_sum = 0.0
        self.shelf_max = self.shelf
        self.early = 0
        self.doubles = 0
        self.fit_at = None
        self.swap = 0.05
        self.warmup = 0
        self.empty_late_h = 0.0
        self.empty_hours = set()  # hour indexes (since START) it stood empty

    def life_h(self):
        return self.p["life_days"] * 24.0 * duty_share(self.p)  # operating hours

    def worn(self):
        return self.used >= 1 if self.p["kind"] == "counter" else (1 - self.used) <= self.swap

    def on_order(self):
        return sum(q for _, q in self.orders)

    def order(self, t, qty, delay_h=0.0):
        if self.p["approval"] == "required":
            if self.p["answer_days"] is None:
                return
            delay_h = self.p["answer_days"] * 24
        if self.orders:
            self.doubles += 1
        u = self.rnd.random()
        factor = (min(self.draws, key=lambda d: abs(d[0] - t))[1] if self.draws
                  else 1 + 0.1 * (2 * u - 1))
        lead_h = self.p["lead"] * 24 * factor
        self.orders.append([t + (delay_h + lead_h) * HOUR, qty])  # t in seconds
        self.ordered += qty

    def step(self, t):
        """One hour from t (seconds since START)."""
        if operating(self.p, t):
            self.used += rate(self.p, t) / self.life_h()
        for o in [o for o in self.orders if o[0] <= t / HOUR * HOUR]:
            if self.shelf > 0 and (1 - min(self.used, 1)) * self.p["life_days"] > self.p["lead"]:
                self.early += 1
            self.shelf += o[1]
            self.orders.remove(o)
        if self.fit_at is not None and t >= self.fit_at:
            self.shelf -= 1
            self.fitted += 1
            self.used = 0
            self.fit_at = None
        if self.worn() and self.shelf > 0 and self.fit_at is None:
            self.fit_at = t + 2 * HOUR
        empty = self.used >= 1 and self.shelf == 0 and self.fit_at is None
        if empty:
            self.empty_h += 1
            self.empty_hours.add(int(t // HOUR))
            if t >= self.warmup:
                self.empty_late_h += 1
            if not self.out:
                self.stockouts += 1
        self.out = empty
        self.shelf_sum += self.shelf
        self.shelf_max = max(self.shelf_max, self.shelf)

    def hours_left(self, t, units_after):
        """Calendar hours until the installed part and `units_after` more are worn (exact)."""
        used, n, h = self.used, units_after, 0
        while h < 24 * 400:
            if operating(self.p, t + h * HOUR):
                used += rate(self.p, t + h * HOUR) / self.life_h()
            h += 1
            lim = 1.0 if self.p["kind"] == "counter" else 1 - self.swap
            if used >= lim:
                if n == 0:
                    return h
                n -= 1
                used = 0
        return h


def run_baseline(parts, days, policy, seed, first_s=0.0, jitter_of=None):
    """The plant under policy, which can order from first_s (simulated seconds since
    START: when restockd had its first reading of every part) on, like restock. Its order
    of a part takes the lead-time draw the shop gave restock's line of that part placed
    nearest in time (jitter_of: sku -> [(time s, factor)]), its own dice when restock
    placed none."""
    rnd = random.Random(seed * 7919 + (1 if policy == "sS" else 2))
    sims = [PartSim(p, rnd, (jitter_of or {}).get(p["sku"], [])) for p in parts]
    hours = int(days * 24)
    for s in sims:
        p = s.p
        cal_life_days = p["life_days"] * (0.95 if p["kind"] != "counter" else 1)
        s.warmup = WARMUP_DAYS * DAY
        s.smin = math.ceil(p["lead"] / cal_life_days)
        s.smax = s.smin + p["pack"]
        s.next_check = 0
    for h in range(hours):
        t = h * HOUR
        for s in sims:
            p = s.p
            if t < first_s:
                s.step(t)
                continue
            if policy == "sS":
                pos = s.shelf + s.on_order()
                if pos <= s.smin and (p["approval"] == "auto" or p["answer_days"] is not None
                                      or not s.orders):
                    need = s.smax - pos
                    qty = math.ceil(need / p["pack"]) * p["pack"]
                    s.order(t, qty)
            elif policy == "perfect1" and h >= s.next_check and not s.orders:
                # perfect information kept to SPEC 7's one open line: it drafts only while
                # no line of the part is on its way, as late as it can, and enough packs that
                # they last from this line's arrival (or the shelf's end, if later) until a
                # line drafted on that arrival arrives (a day of margin each; a part standing
                # empty uses nothing)
                repl = (p["lead"] * 1.1 + (p["answer_days"] or 0)) * 24
                left = s.hours_left(t, s.shelf)
                wait = left - repl - 24
                if wait <= 0 and (p["approval"] == "auto" or p["answer_days"] is not None):
                    q = p["pack"]
                    while (q < 100 * p["pack"] and
                           s.hours_left(t, s.shelf + q) < max(left, repl + 24) + repl + 24):
                        q += p["pack"]
                    s.order(t, q)
                else:
                    s.next_check = h + max(1, int(wait))
            elif policy == "perfect" and h >= s.next_check:
                # order a pack so it arrives 1 day before the installed part, the shelf
                # and what is on the way run out (as many orders open as that takes)
                left = s.hours_left(t, s.shelf + s.on_order())
                wait = left - (p["lead"] * 1.1 + 1) * 24 - (p["answer_days"] or 0) * 24
                if wait <= 0 and (p["approval"] == "auto" or p["answer_days"] is not None):
                    s.order(t, p["pack"])
                else:
                    s.next_check = h + max(1, int(wait))
            s.step(t)
    return sims


def summarise_sims(sims, days):
    rows = {}
    for s in sims:
        rows[s.p["id"]] = {
            "stockout_days": s.empty_h / 24, "stockouts": s.stockouts,
            "stockout_days_late": s.empty_late_h / 24,
            "shelf_mean": s.shelf_sum / (days * 24), "shelf_max": s.shelf_max,
            "ordered": s.ordered, "fitted": s.fitted, "early": s.early, "doubles": s.doubles,
            "left": s.shelf + s.on_order(), "start": s.p["spares"],
            "empty_hours": sorted(s.empty_hours)}
    return rows


def avoided_days(spans, perfect_hours):
    """Days of the spans [(from_s, to_s)] (seconds since START) that fall in hours in which
    perfect information's same part was not empty: the stockout days it avoided."""
    total = 0.0
    for a, b in spans:
        h = int(a // HOUR)
        while h * HOUR < b:
            lo, hi = max(a, h * HOUR), min(b, (h + 1) * HOUR)
            if hi > lo and h not in perfect_hours:
                total += hi - lo
            h += 1
    return total / DAY


# ---------------------------------------------------------------- the real run

def http_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def restockd_polls(hport):
    """restockd's own count of its polls of the plant's one device (its /metrics), or -1.
    The readings in its database are no count of polls: a value within the deadband is
    stored only once storage.heartbeat (1 h, the poll interval) has passed since the last
    stored one, so a poll less than an hour after the one before is not stored."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % hport, timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith('restock_device_polls_total{device="plant"}'):
                    return int(float(line.split()[-1]))
    except (OSError, ValueError):
        pass
    return -1


def boot_store(d_bin, cfg, state, scale, tmp):
    """Create restockd's database before the plant starts: restockd runs for a moment on the
    same restock.yaml with no devices (so it reads nothing and orders nothing); it stores its
    scaled clock's anchor, which the bench then sets to the sim's."""
    boot = os.path.join(tmp, "boot")
    os.makedirs(os.path.join(boot, "devices.d"))
    os.makedirs(os.path.join(boot, "rules.d"))
    shutil.copy(os.path.join(cfg, "restock.yaml"), boot)
    with open(os.path.join(tmp, "boot.log"), "w") as log:
        d = subprocess.Popen([d_bin, "--config", boot, "--time-scale", str(scale)],
                             stdout=subprocess.DEVNULL, stderr=log)
        try:
            t0 = time.time()
            while time.time() - t0 < 30 and d.poll() is None:
                with open(os.path.join(tmp, "boot.log")) as f:
                    if "restockd running" in f.read():
                        break
                time.sleep(0.02)
        finally:
            d.send_signal(signal.SIGTERM)
            d.wait(timeout=20)
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(state, "restock.db"), uri=True)
    ok = db.execute("SELECT 1 FROM meta WHERE key = 'clock.scaled_anchor'").fetchone()
    db.close()
    if not ok:
        sys.exit("bench/plant: restockd did not create its database; see %s/boot.log" % tmp)


def run_restock(build, parts, days, scale, seed, out, clock="sim"):
    tmp = out
    cfg = os.path.join(tmp, "restock")
    state = os.path.join(tmp, "state")
    os.makedirs(state)
    mport, sport, hport = free_port(), free_port(), free_port()
    with open(os.path.join(tmp, "sim.yaml"), "w") as f:
        f.write(sim_yaml(parts, mport, sport, os.path.join(tmp, "shop.db"), seed))
    restock_config(parts, cfg, mport, sport, hport, state)
    sim_bin = os.path.join(build, "restock-sim")
    d_bin = os.path.join(build, "restockd")
    ctl = os.path.join(build, "restockctl")
    for cmd in ([sim_bin, "--check", "--config", os.path.join(tmp, "sim.yaml")],
                [d_bin, "--check", "--config", cfg]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("bench/plant: %s --check failed:\n%s%s" % (cmd[0], r.stdout, r.stderr))
    if clock == "sim":
        boot_store(d_bin, cfg, state, scale, tmp)
    procs = []
    slog = open(os.path.join(tmp, "sim.log"), "w")
    dlog = open(os.path.join(tmp, "restockd.log"), "w")
    sim = subprocess.Popen([sim_bin, "--config", os.path.join(tmp, "sim.yaml"), "--time-scale",
                            str(scale)], stdout=subprocess.PIPE, stderr=slog, text=True)
    procs.append(sim)
    while "shop listening" not in (sim.stdout.readline() or "shop listening"):
        pass
    sim_t0 = time.time()  # the plant's START, within the time the line took to read
    if clock == "sim":
        # restockd runs on the sim's timeline, to the millisecond: its stored anchor is the
        # sim's (SPEC 12: a restart continues the stored timeline). With its own anchor its
        # simulated clock started at the real time the bench was started, so its weekdays and
        # hours were the sim's shifted by that time of day: a Saturday-only part's burst fell
        # on two of restockd's days or one, depending on when the bench ran
        anchor = http_json("http://127.0.0.1:%d/sim/devices" % sport)["time_anchor"]
        sim_t0 = anchor["real_ms"] / 1000.0
        if anchor["sim_ms"] != int(START_TS * 1000):
            sys.exit("bench/plant: the sim started at %s ms, not START" % anchor["sim_ms"])
        db = sqlite3.connect(os.path.join(state, "restock.db"))
        db.execute("UPDATE meta SET value = ? WHERE key = 'clock.scaled_anchor'",
                   ("%.17g %d %d" % (scale, anchor["sim_ms"], anchor["real_ms"]),))
        db.commit()
        db.close()
    d = subprocess.Popen([d_bin, "--config", cfg, "--time-scale", str(scale)],
                         stdout=subprocess.DEVNULL, stderr=dlog)
    procs.append(d)
    t0 = time.time()
    # when restockd has its first reading of every part, in simulated seconds since START:
    # at this time scale its start-up (config, database, first poll) takes simulated hours
    # that a real gateway's does not; the baselines start ordering then too
    first_s = None
    while first_s is None and time.time() - t0 < 30:
        if d.poll() is not None:
            sys.exit("bench/plant: restockd died at start; logs in %s" % tmp)
        try:
            ks = http_json("http://127.0.0.1:%d/api/v1/consumables" % hport)["consumables"]
            if ks and all(k.get("level_pct") is not None for k in ks):
                first_s = (time.time() - sim_t0) * scale
        except (OSError, ValueError, KeyError):
            pass
        if first_s is None:
            time.sleep(0.01)
    if first_s is None:
        sys.exit("bench/plant: restockd had no reading of every part within 30 s; logs in %s" % tmp)
    real = days * DAY / scale
    approved = set()
    warm = None
    delay = {p["sku"]: p["answer_days"] for p in parts}
    # the scripted approver looks for new pending orders every simulated hour (within
    # 0.02-0.25 s real) on restockd's /api/v1/status (its open orders), and wakes at the next
    # answer due. It looked every 0.25 s real with restockctl (a process, a database and a
    # config each time): at x100800 a pending order waited 0-7 simulated hours to be seen,
    # 2.3 h late on average, that perfect information's approvals were not
    look = min(0.25, max(0.02, HOUR / scale))
    nap = look
    try:
        while time.time() - sim_t0 < real:
            time.sleep(nap)
            nap = look
            if sim.poll() is not None or d.poll() is not None:
                sys.exit("bench/plant: a process died; logs in %s" % tmp)
            if warm is None and (time.time() - sim_t0) * scale >= WARMUP_DAYS * DAY:
                warm = http_json("http://127.0.0.1:%d/sim/devices" % sport)
            try:
                orders = http_json("http://127.0.0.1:%d/api/v1/status" % hport)["orders"]
            except (OSError, ValueError, KeyError):
                continue
            # restockd's simulated clock: the sim's (--clock sim), or anchored at its own
            # start (t0, --clock own)
            d_now = (START_TS + (time.time() - sim_t0) * scale if clock == "sim"
                     else t0 + (time.time() - t0) * scale)
            for o in orders:
                if o.get("state") != "pending_approval" or o["id"] in approved:
                    continue
                # the scripted approver: a part's own delay (0-3 simulated days), or never
                ds = [delay.get(ln["sku"]) for ln in o.get("lines", [])]
                if not ds or any(x is None for x in ds):
                    continue
                created = calendar.timegm(time.strptime(o["created"], "%Y-%m-%dT%H:%M:%SZ"))
                if d_now - created >= max(ds) * DAY:
                    subprocess.run([ctl, "--config", cfg, "orders", "approve", o["id"]],
                                   capture_output=True, text=True)
                    approved.add(o["id"])
                else:
                    nap = min(nap, max(0.002, (created + max(ds) * DAY - d_now) / scale))
        devs = http_json("http://127.0.0.1:%d/sim/devices" % sport)
        polls = restockd_polls(hport)
        sorders = http_json("http://127.0.0.1:%d/sim/orders" % sport)
        r = subprocess.run([ctl, "--config", cfg, "orders", "list", "--json"],
                           capture_output=True, text=True)
        dorders = json.loads(r.stdout)["orders"]
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    timing = run_timing(state, parts, dorders, devs)
    timing["restockd_polls"] = polls
    ks = {k["id"]: k for dv in devs["devices"] for k in dv["consumables"]}
    ks0 = {k["id"]: k for dv in (warm or devs)["devices"] for k in dv["consumables"]}
    sim_days = ks[parts[0]["id"]]["tracked_seconds"] / DAY
    rows = {}
    by_sku = {}
    # the shop's lead-time draw of each order, per part with its time (simulated seconds
    # since START): the order's pace over its slowest line's lead time (1 +- the shop's
    # jitter). A baseline's order of a part takes the draw of restock's line of it placed
    # nearest in time (jitter_of), so a part's stockout days differ between the policies
    # by when they ordered, not by the dice (perfect information ordering two packs at
    # the start got two draws and the earlier one ended its stockout)
    # (the shop stamps an order with the real clock, to the second in the API: the
    # database has its milliseconds, which sim_t0 turns into simulated time)
    lead_of = {p["sku"]: p["lead"] for p in parts}
    jitter_of = {}
    for o in sorders["orders"]:
        body = json.loads(o["body"])
        created = o["created_at"]
        ts = calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ"))
        for ln in body.get("lines", []):
            by_sku.setdefault(ln["sku"], []).append((ts, ts + o["pace_ms"] / 1000.0 / scale,
                                                     ln["quantity"]))
    try:
        sdb = sqlite3.connect("file:%s?mode=ro" % os.path.join(tmp, "shop.db"), uri=True)
        for created_ms, pace_ms, body in sdb.execute(
                "SELECT created_ms, pace_ms, CAST(body AS TEXT) FROM orders ORDER BY seq"):
            lines_ = json.loads(body).get("lines", [])
            slowest = max([lead_of.get(ln["sku"], 0) for ln in lines_] or [0])
            for ln in lines_:
                if slowest > 0 and pace_ms > 0:
                    jitter_of.setdefault(ln["sku"], []).append(
                        ((created_ms / 1000.0 - sim_t0) * scale, pace_ms / (slowest * DAY * 1000)))
        sdb.close()
    except (sqlite3.Error, ValueError) as e:
        print("bench/plant: the shop's draws not read (%s); the baselines draw their own" % e)
    # doubles from restockd's own order history (simulated seconds): a line for a
    # consumable drafted while an earlier line for it had not ended yet. A line's own
    # drafting time comes from the database (the API gives the order's, which is its
    # first line's: a line that joined the draft later is not a double)
    line_created = {}
    try:
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(state, "restock.db"), uri=True)
        for oid, cons, ms in db.execute("SELECT order_id, consumable, created_ms FROM order_lines"
                                        " WHERE order_id IS NOT NULL"):
            line_created[(oid, cons)] = ms / 1000.0
        db.close()
    except sqlite3.Error as e:
        print("bench/plant: line times not read (%s); using the orders' times" % e)
    spans = {}
    for o in dorders:
        t = lambda x: calendar.timegm(time.strptime(x, "%Y-%m-%dT%H:%M:%SZ"))
        end = None
        for tr in o.get("transitions", []):
            if tr["to"] in ("delivered", "cancelled", "rejected", "expired", "failed"):
                end = t(tr["time"])
        for ln in o.get("lines", []):
            c = line_created.get((o["id"], ln["consumable"]), t(o["created"]))
            spans.setdefault(ln["consumable"].split("/")[-1], []).append(
                (c, end if end is not None else float("inf")))
    for p in parts:
        k = ks[p["id"]]
        lines = sorted(by_sku.get(p["sku"], []))
        sp = sorted(spans.get(p["id"], []))
        doubles = sum(1 for i, (c, _) in enumerate(sp) if any(c0 <= c < e0 for c0, e0 in sp[:i]))
        rows[p["id"]] = {
            "stockout_days": k["empty_seconds"] / DAY, "stockouts": k["stockouts"],
            "stockout_days_late": (k["empty_seconds"] - ks0[p["id"]]["empty_seconds"]) / DAY,
            "shelf_mean": k["shelf_mean"], "shelf_max": k["shelf_max"],
            "ordered": sum(q for _, _, q in lines), "fitted": k["replacements"],
            "early": k["early_deliveries"], "doubles": doubles,
            "left": k["shelf"] + sum(q for _, _, q in lines) - k["delivered"],
            "start": p["spares"],
            "empty_spans": [(a - START_TS, b - START_TS) for a, b in k.get("empty_spans", [])]}
    return rows, sim_days, first_s, jitter_of, timing


def run_timing(state, parts, dorders, devs):
    """How far restockd and the scripted approver fell behind simulated time (on a shared
    host a process that waits for a core loses simulated hours: 36 ms real is an hour at
    x100800). From restockd's database: the gaps between its readings of the first part
    (polled every hour); from its orders: how late each approval came after its due time;
    from the sim: its longest gap between two ticks."""
    t = {"polls": 0, "poll_gap_p50_h": float("nan"), "poll_gap_p99_h": float("nan"),
         "poll_gap_max_h": float("nan"), "unpolled_h": float("nan"), "gaps_over_2h": 0,
         "approvals": 0, "approval_late_mean_h": 0.0, "approval_late_max_h": 0.0,
         "sim_tick_gap_max_h": devs.get("tick_gap_max_seconds", float("nan")) / HOUR}
    try:
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(state, "restock.db"), uri=True)
        times = [r[0] for r in db.execute(
            "SELECT r.time_ms FROM readings r JOIN points p ON p.id = r.point_id"
            " WHERE p.point = ? ORDER BY r.time_ms", (parts[0]["id"],))]
        db.close()
    except sqlite3.Error as e:
        print("bench/plant: readings not read (%s)" % e)
        times = []
    gaps = sorted((b - a) / 1000.0 / HOUR for a, b in zip(times, times[1:]))
    if gaps:
        t["polls"] = len(times)
        t["poll_gap_p50_h"] = gaps[len(gaps) // 2]
        t["poll_gap_p99_h"] = gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))]
        t["poll_gap_max_h"] = gaps[-1]
        # simulated hours in which a poll was due and none came (the poll interval is 1 h)
        t["unpolled_h"] = sum(g - 1.0 for g in gaps if g > 1.0)
        t["gaps_over_2h"] = sum(1 for g in gaps if g > 2.0)
    delay = {p["sku"]: p["answer_days"] for p in parts}
    late = []
    stamp = lambda x: calendar.timegm(time.strptime(x, "%Y-%m-%dT%H:%M:%SZ"))
    for o in dorders:
        ds = [delay.get(ln.get("sku")) for ln in o.get("lines", [])]
        if not ds or any(x is None for x in ds):
            continue
        for tr in o.get("transitions", []):
            if tr["to"] == "approved":
                late.append((stamp(tr["time"]) - stamp(o["created"]) - max(ds) * DAY) / HOUR)
                break
    if late:
        t["approvals"] = len(late)
        t["approval_late_mean_h"] = sum(late) / len(late)
        t["approval_late_max_h"] = max(late)
    return t


# ---------------------------------------------------------------- report

def totals(rows, parts, only=None):
    sel = [p for p in parts if only is None or only(p)]
    t = {"stockout_days": 0.0, "stockout_days_late": 0.0, "avoidable_days": 0.0, "stockouts": 0, "ordered": 0, "fitted": 0, "early": 0,
         "doubles": 0, "shelf_mean": 0.0, "shelf_max": 0, "shelf_packs": 0.0,
         "parts_empty": 0, "left": 0, "start": 0}
    for p in sel:
        r = rows[p["id"]]
        for key in ("stockout_days", "stockout_days_late", "stockouts", "ordered", "fitted",
                    "early", "doubles", "left", "start"):
            t[key] += r[key]
        t["avoidable_days"] += r.get("avoidable_days", 0.0)
        t["shelf_mean"] += r["shelf_mean"] / len(sel)
        t["shelf_packs"] += r["shelf_mean"] / p["pack"] / len(sel)
        t["shelf_max"] = max(t["shelf_max"], r["shelf_max"])
        t["parts_empty"] += 1 if r["stockout_days"] > 0 else 0
    t["ordered_per_fitted"] = t["ordered"] / t["fitted"] if t["fitted"] else float("nan")
    # net of what is still on the shelf or on the way at the end: the units bought that were
    # used (below 1 by the spares the plant started with)
    t["net_per_fitted"] = ((t["ordered"] - t["left"]) / t["fitted"]
                           if t["fitted"] else float("nan"))
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seeds", default=None,
                    help="comma-separated seeds, run one after the other (replaces --seed)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of each seed; with several runs an aggregate with the spread")
    ap.add_argument("--parts", type=int, default=32)
    ap.add_argument("--only", default=None,
                    help="comma-separated part ids (p00, p17...) to keep from the plant")
    ap.add_argument("--days", type=float, default=365)
    ap.add_argument("--scale", type=float, default=100800)
    ap.add_argument("--clock", choices=("sim", "own"), default="sim",
                    help="restockd's timeline: the sim's (default) or its own from its start")
    ap.add_argument("--out", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    seeds = [int(x) for x in a.seeds.split(",")] if a.seeds else [a.seed]
    if a.repeat < 1:
        sys.exit("bench/plant: --repeat: at least 1")
    runs = [(sd, k) for sd in seeds for k in range(a.repeat)]
    if len(runs) == 1:
        report = run_once(a, seeds[0], a.out)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(report, f, indent=1)
        return
    base = a.out or tempfile.mkdtemp(prefix="rs-plant-")
    reports = []
    for sd, k in runs:
        print("\n======== seed %d, run %d of %d" % (sd, k + 1, a.repeat), flush=True)
        reports.append(run_once(a, sd, os.path.join(base, "seed%d-run%d" % (sd, k + 1))))
    aggregate(reports)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"runs": reports}, f, indent=1)


def run_once(a, seed, out):
    """One run of seed's plant (restockd, then the baselines); prints its report, returns it."""
    parts = make_plant(seed, a.parts)
    if a.only:
        keep = set(x.strip() for x in a.only.split(",") if x.strip())
        unknown = keep - set(p["id"] for p in parts)
        if unknown:
            sys.exit("bench/plant: --only: no part %s in this plant (p00..p%02d)"
                     % (", ".join(sorted(unknown)), len(parts) - 1))
        parts = [p for p in parts if p["id"] in keep]
    out = out or tempfile.mkdtemp(prefix="rs-plant-")
    if os.path.exists(out) and os.listdir(out):
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)
    print("bench/plant: seed %d, %d parts, %g simulated days at x%g (%.0f s real); logs in %s"
          % (seed, len(parts), a.days, a.scale, a.days * DAY / a.scale, out), flush=True)
    rs, sim_days, first_s, jitter_of, timing = run_restock(
        os.path.abspath(a.build), parts, a.days, a.scale, seed, out, a.clock)
    days = sim_days
    print("restockd's first reading of every part: day %.2f; the baselines order from then "
          "on too" % (first_s / DAY))
    ss = summarise_sims(run_baseline(parts, days, "sS", seed, first_s, jitter_of), days)
    pf = summarise_sims(run_baseline(parts, days, "perfect", seed, first_s, jitter_of), days)
    p1 = summarise_sims(run_baseline(parts, days, "perfect1", seed, first_s, jitter_of), days)
    # stockout days perfect information avoided: hours a policy's part stood empty while
    # perfect information's same part did not (the rest it could not avoid either:
    # parts that start worn with a long lead time)
    for p in parts:
        ph = set(pf[p["id"]]["empty_hours"])
        rs[p["id"]]["avoidable_days"] = avoided_days(rs[p["id"]]["empty_spans"], ph)
        ss[p["id"]]["avoidable_days"] = sum(1 for h in ss[p["id"]]["empty_hours"]
                                            if h not in ph) / 24.0
        pf[p["id"]]["avoidable_days"] = 0.0
        # against perfect information kept to one open line (SPEC 7): what a policy that
        # restock's rules allow could have avoided
        p1h = set(p1[p["id"]]["empty_hours"])
        rs[p["id"]]["avoidable_one_line_days"] = avoided_days(rs[p["id"]]["empty_spans"], p1h)
        p1[p["id"]]["avoidable_days"] = sum(1 for h in p1[p["id"]]["empty_hours"]
                                            if h not in ph) / 24.0
    answered = lambda p: not (p["approval"] == "required" and p["answer_days"] is None)
    print("\nper part (restock | (s,S) | perfect): stockout days (restock and (s,S): of which "
          "perfect information avoided), shelf mean/max, ordered/fitted, early, doubles")
    for p in parts:
        line = "%-4s %-10s pack %2d lead %2dd %-9s" % (
            p["id"], p["kind"], p["pack"], p["lead"],
            "auto" if p["approval"] == "auto" else
            ("never" if p["answer_days"] is None else "ok+%.1fd" % p["answer_days"]))
        for rows in (rs, ss, pf):
            r = rows[p["id"]]
            line += " | %5.1f%s %4.1f/%-2d %2d/%-2d %d %d" % (
                r["stockout_days"], " (%4.1f)" % r["avoidable_days"] if rows is not pf else "",
                r["shelf_mean"], r["shelf_max"], r["ordered"], r["fitted"], r["early"],
                r["doubles"])
        print(line)
    report = {"seed": seed, "parts": len(parts), "days": days, "scale": a.scale,
              "clock": a.clock, "timing": timing}
    print("\ntotals over %.0f simulated days (parts a person answers; the never-answered "
          "parts listed apart):" % days)
    hdr = "%-9s %9s %9s %9s %6s %8s %10s %8s %8s %6s %7s %6s %5s" % (
        "policy", "stockout", "avoidable", "after d%d" % WARMUP_DAYS, "parts", "shelf",
        "shelf/pack", "ord/fit", "net", "early", "doubles", "end", "start")
    print(hdr)
    for name, rows in (("restock", rs), ("(s,S)", ss), ("perfect", pf), ("perfect1", p1)):
        t = totals(rows, parts, answered)
        tn = totals(rows, parts, lambda p: not answered(p))
        report[name] = {"answered": t, "never_answered": tn}
        print("%-9s %8.1fd %8.1fd %8.1fd %6d %8.2f %10.2f %8.3f %8.3f %6d %7d %6d %5d   never "
              "answered: %.1f stockout days" % (name, t["stockout_days"], t["avoidable_days"],
                                               t["stockout_days_late"], t["parts_empty"],
                                               t["shelf_mean"], t["shelf_packs"],
                                               t["ordered_per_fitted"], t["net_per_fitted"],
                                               t["early"], t["doubles"], t["left"], t["start"],
                                               tn["stockout_days"]))
    one = {pid: r["avoidable_one_line_days"] for pid, r in rs.items()
           if answered(next(p for p in parts if p["id"] == pid))}
    report["restock"]["avoidable_one_line_days"] = sum(one.values())
    print("restock's avoidable days against perfect1 (perfect information kept to SPEC 7's one "
          "open line: it drafts only while no line of the part is on its way): %.1f (%s)" % (
              sum(one.values()), ", ".join("%s %.1f" % (k, v) for k, v in
                                           sorted(one.items(), key=lambda kv: -kv[1]) if v >= 0.5)
              or "no part over half a day"))
    print("(avoidable: stockout days in hours when perfect information's same part was not "
          "empty; end: units on the shelf or on the way on the last day; start: spares on the "
          "shelf on day 0. Units are conserved (start + delivered = fitted + shelf), so "
          "ord/fit = 1 + (end - start) / fitted: above 1 by what is in stock or on the way at "
          "the end; net = (ordered - end) / fitted = 1 - start / fitted for every policy, "
          "by construction)")
    # where restock's avoidable days are, by the span they fall in: a span that began in
    # the first WARMUP_DAYS (start-up: restockd has no history), one that began within a
    # lead time + a part's life after a rate change (only a policy that knows the change
    # is coming avoids it), a burst part's (wears on Saturdays only), the rest
    causes = {"start-up": 0.0, "rate change": 0.0, "burst": 0.0, "other": 0.0}
    for p in parts:
        if not answered(p):
            continue
        ph = set(pf[p["id"]]["empty_hours"])
        for a_s, b_s in rs[p["id"]]["empty_spans"]:
            days_av = avoided_days([(a_s, b_s)], ph)
            if p["kind"] == "burst":
                key = "burst"
            elif a_s < WARMUP_DAYS * DAY:
                key = "start-up"
            elif (p["kind"] == "ratechange" and 0 <= a_s - p["rate_at_days"] * DAY
                  <= (p["lead"] + p["life_days"]) * DAY):
                key = "rate change"
            else:
                key = "other"
            causes[key] += days_av
    report["restock"]["avoidable_by_cause"] = causes
    print("restock's avoidable days by the span they fall in: %s (start-up: spans that began "
          "before day %d; rate change: within a lead time + a part's life after its rate "
          "changed; burst: Saturday-only parts)" % (
              ", ".join("%s %.1f" % (k, v) for k, v in causes.items()), WARMUP_DAYS))
    # on the parts restock kept in stock all year: its shelf beside (s,S)'s
    kept = lambda p: answered(p) and rs[p["id"]]["stockout_days"] == 0
    n_kept = sum(1 for p in parts if kept(p))
    if n_kept:
        tk = {name: totals(rows, parts, kept) for name, rows in (("restock", rs), ("(s,S)", ss),
                                                                 ("perfect", pf))}
        report["kept_in_stock"] = {"parts": n_kept, **tk}
        print("\non the %d parts restock kept in stock all year: mean shelf restock %.2f units "
              "(%.2f packs), (s,S) %.2f (%.2f), perfect %.2f (%.2f)" % (
                  n_kept, tk["restock"]["shelf_mean"], tk["restock"]["shelf_packs"],
                  tk["(s,S)"]["shelf_mean"], tk["(s,S)"]["shelf_packs"],
                  tk["perfect"]["shelf_mean"], tk["perfect"]["shelf_packs"]))
    print("units ordered per unit fitted, net of the shelf and orders left at the end: "
          "restock %.3f, (s,S) %.3f, perfect %.3f" % (
              report["restock"]["answered"]["net_per_fitted"],
              report["(s,S)"]["answered"]["net_per_fitted"],
              report["perfect"]["answered"]["net_per_fitted"]))
    report["first_reading_days"] = first_s / DAY
    report["per_part"] = {"restock": rs, "sS": ss, "perfect": pf, "perfect1": p1,
                          "plant": {p["id"]: p for p in parts}}
    print("timing (how far restockd fell behind simulated time): %d polls by restockd's "
          "count of %d hourly rounds; %d readings of %s stored, gap median "
          "%.2f h, p99 %.2f h, max %.2f h; %.0f simulated hours unpolled beyond the 1 h "
          "interval (%d gaps over 2 h); %d approvals, late by mean %.2f h, max %.2f h; the "
          "sim's longest tick gap %.2f h" % (
              timing["restockd_polls"], round(days * 24),
              timing["polls"], parts[0]["id"], timing["poll_gap_p50_h"],
              timing["poll_gap_p99_h"], timing["poll_gap_max_h"], timing["unpolled_h"],
              timing["gaps_over_2h"], timing["approvals"], timing["approval_late_mean_h"],
              timing["approval_late_max_h"], timing["sim_tick_gap_max_h"]))
    # polls lost: restockd's own count against the hourly rounds (its stored readings
    # undercount polls since they keep to their grid: restockd_polls)
    if timing.get("restockd_polls", -1) >= 0 and days > 0:
        lost = max(0.0, 1 - timing["restockd_polls"] / (days * 24))
    else:
        lost = timing["unpolled_h"] / (days * 24) if days > 0 else 0.0
    if lost > 0.05 or timing["poll_gap_max_h"] > 6:
        print("warning: restockd fell behind by %.0f %% of the year's hourly polls (a gap of "
              "%.1f h): this run's figures carry the host's load (seed 13 on the same binaries: "
              "burst avoidable days 22-44 at load 5-14); repeat it, or run at a lower --scale"
              % (100 * lost, timing["poll_gap_max_h"]))
    return report


def spread(xs):
    """'mean sd [min-max]' of a list of numbers (sd the sample standard deviation)."""
    n = len(xs)
    m = sum(xs) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    return m, sd, min(xs), max(xs)


def aggregate(reports):
    """Several runs' figures side by side and their spread: per run one line, then over all
    runs (and, with repeats of a seed, the spread within each seed: what one run's figure
    can move by on the same binaries)."""
    figs = [
        ("stockout", lambda r: r["restock"]["answered"]["stockout_days"], "%.1f"),
        ("avoidable", lambda r: r["restock"]["answered"]["avoidable_days"], "%.1f"),
        ("av start-up", lambda r: r["restock"]["avoidable_by_cause"]["start-up"], "%.1f"),
        ("av rate", lambda r: r["restock"]["avoidable_by_cause"]["rate change"], "%.1f"),
        ("av burst", lambda r: r["restock"]["avoidable_by_cause"]["burst"], "%.1f"),
        ("av other", lambda r: r["restock"]["avoidable_by_cause"]["other"], "%.1f"),
        ("av 1-line", lambda r: r["restock"].get("avoidable_one_line_days", float("nan")),
         "%.1f"),
        ("shelf/pack", lambda r: r["restock"]["answered"]["shelf_packs"], "%.2f"),
        ("ord/fit", lambda r: r["restock"]["answered"]["ordered_per_fitted"], "%.3f"),
        ("pf ord/fit", lambda r: r["perfect"]["answered"]["ordered_per_fitted"], "%.3f"),
        ("doubles", lambda r: r["restock"]["answered"]["doubles"], "%d"),
        ("polls", lambda r: r["timing"].get("restockd_polls", -1), "%d"),
        ("unpolled h", lambda r: r["timing"]["unpolled_h"], "%.0f"),
        ("appr late h", lambda r: r["timing"]["approval_late_max_h"], "%.1f"),
    ]
    print("\n======== %d runs (restock, parts a person answers; pf = perfect information; "
          "polls: restockd's count of its polls (hourly); unpolled h: simulated hours beyond "
          "an hour between two stored readings of the first part; appr late h: "
          "the latest approval after its due time)" % len(reports))
    print("%-8s" % "seed" + "".join("%14s" % name for name, _, _ in figs))
    for r in reports:
        print("%-8d" % r["seed"] + "".join("%14s" % (fmt % get(r)) for _, get, fmt in figs))
    seeds = sorted(set(r["seed"] for r in reports))
    groups = [("all", reports)] if len(seeds) > 1 else []
    if len(reports) > len(seeds):
        groups += [("seed %d" % sd, [r for r in reports if r["seed"] == sd]) for sd in seeds]
    for name, rs in groups:
        if len(rs) < 2:
            continue
        print("%-8s" % name + "".join("%14s" % ("%s+-%s" % (fmt % m, fmt % sd)
                                                  if fmt != "%d" else "%.1f+-%.1f" % (m, sd))
                                       for (_, get, fmt) in figs
                                       for m, sd, _, _ in [spread([get(r) for r in rs])]))
        print("%-8s" % "" + "".join("%14s" % ("[%s,%s]" % (fmt % lo, fmt % hi))
                                    for (_, get, fmt) in figs
                                    for _, _, lo, hi in [spread([get(r) for r in rs])]))
    # the parts whose avoidable days moved most between repeats of a seed: the noise, by part
    for sd in seeds:
        rs = [r for r in reports if r["seed"] == sd]
        if len(rs) < 2:
            continue
        moved = []
        for pid in rs[0]["per_part"]["restock"]:
            xs = [r["per_part"]["restock"][pid]["avoidable_days"] for r in rs]
            if max(xs) - min(xs) >= 1.0:
                moved.append((max(xs) - min(xs), pid, xs))
        moved.sort(reverse=True)
        print("seed %d: parts whose avoidable days moved by a day or more between runs: %s" % (
            sd, "; ".join("%s %s (%s)" % (pid, "/".join("%.1f" % x for x in xs),
                                          rs[0]["per_part"]["plant"][pid]["kind"])
                          for _, pid, xs in moved) or "none"))


if __name__ == "__main__":
    main()

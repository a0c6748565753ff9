#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""restockd against a shop on loopback that lies in ways tests/test_abuse_shop.py
does not cover, while two orders are submitted and tracked.

usage: test_attack_shop.py RESTOCKD RESTOCKCTL CTL_SEED CASE

Two orders (tests/ctl_seed.c) are approved with restockctl; restockd submits
them to the shop below, which misbehaves in the case's way a few times and
then answers like a correct idempotent shop. Asserted, as an operator would
check: restockd keeps running and answering /healthz, its log names what was
wrong, and in the end the shop holds each order exactly once (one key, one
body per order), each order in the database carries its own shop id, and a
delivery of one shop order delivers one order only.

CASE:
  dupid       the second order's POST answered 201 with the FIRST order's shop
              id (a shop bug, a misrouting cache): recorded, two orders shared
              one shop id, and the first order's delivery delivered both (the
              parts were counted on the shelf twice)
  wrongshape  POST answered 200 with valid JSON of the wrong shape (a number
              for the id, an object for the status, then an array)
  trickle     the shop accepts the connection and sends its status line one
              byte a second (never a whole answer within the timeout)
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

from rawshop import RawShop  # tests/rawshop.py
from testconfig import shop_gateway_yaml  # tests/testconfig.py
from testports import reserve_port  # tests/testports.py

RESTOCKD, CTL, SEED, CASE = sys.argv[1:5]
LOG = None


def fail(msg):
    print("FAIL: " + msg)
    if LOG and os.path.exists(LOG):
        with open(LOG, errors="replace") as f:
            print("restockd's log:\n" + f.read()[-4000:])
    sys.exit(1)


class Shop(RawShop):
    """A raw HTTP/1.1 shop (tests/rawshop.py); `bad` answers of the case's kind,
    then correct ones; each order's status by its shop id."""

    def __init__(self, case, bad):
        super().__init__(case, bad)
        self.status = {}  # shop id -> status

    def get(self, s, sid):
        with self.lock:
            st = self.status.get(sid)
        if st:
            self.send(s, 200, json.dumps({"id": sid, "status": st}).encode())
        else:
            self.send(s, 404, b'{"error":{"code":"not_found","message":"unknown order"}}')
        return True

    def record(self, key, body):
        st, ans, sid = super().record(key, body)
        with self.lock:
            self.status.setdefault(sid, "accepted")
        return st, ans, sid

    def post(self, s, key, body):
        with self.lock:
            self.posts.append((key, body))
            first = self.orders and next(iter(self.orders.items()))
        c = self.case
        if c == "dupid" and first and first[0] != key and self.take_bad():
            # the first order's id for another order (its own reference echoed), after the
            # first order's own answer has had time to arrive (POSTs in parallel)
            time.sleep(0.5)
            ref = json.loads(body)["reference"]
            self.send(s, 201, json.dumps({"id": first[1][0], "status": "accepted",
                                          "reference": ref}).encode())
        elif c == "wrongshape" and self.take_bad():
            shapes = [b'{"id": 123456, "status": "accepted"}',
                      b'{"id": "SO-000099", "status": {"state": "accepted"}}',
                      b'[{"id": "SO-000099", "status": "accepted"}]']
            self.send(s, 200, shapes[self.bad % len(shapes)])
        elif c == "trickle" and self.take_bad():
            for ch in b"HTTP/1.1 201 Created\r\n":
                time.sleep(1)
                s.sendall(bytes([ch]))
            return False
        else:
            st, ans, _ = self.record(key, body)
            self.send(s, st, ans)
        return True


EXPECT = {
    "dupid": "the shop's order id SO-000001 is already order",
    "wrongshape": "HTTP 200 without the expected",
    "trickle": "timeout after 2000 ms",
}


def wait_for(what, cond, limit=60):
    end = time.monotonic() + limit  # a hang guard, not a measure
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    fail("timed out waiting for " + what)


def orders(cfg):
    r = subprocess.run([CTL, "--config", cfg, "orders", "list", "--json"], capture_output=True,
                       text=True)
    if r.returncode:
        fail("restockctl orders list: " + r.stderr)
    return {o["id"]: o for o in json.loads(r.stdout)["orders"]}


def healthz(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception as e:  # noqa: BLE001: any failure is the answer
        return str(e)


def main():
    global LOG
    tmp = tempfile.mkdtemp(prefix="attack-shop-")
    bad = {"trickle": 1}.get(CASE, 3)
    shop = Shop(CASE, bad)
    http = reserve_port()
    cfg = os.path.join(tmp, "etc")
    os.mkdir(cfg)
    db = os.path.join(tmp, "restock.db")
    log = LOG = os.path.join(tmp, "restockd.log")
    with open(os.path.join(cfg, "restock.yaml"), "w") as f:
        f.write(shop_gateway_yaml("attack-shop", http, db, shop.port, timeout="2s",
                                  status_interval="1s"))
    ids = []
    for cons, qty in (("press-1/filter", "2"), ("press-2/filter", "3")):
        ids.append(subprocess.run([SEED, db, cons, "FLT-100", qty, "4250"], capture_output=True,
                                  text=True, check=True).stdout.strip())
    for oid in ids:
        r = subprocess.run([CTL, "--config", cfg, "orders", "approve", oid], capture_output=True,
                           text=True)
        if r.returncode:
            fail("approve: " + r.stderr)
    procs = []

    def start():
        with open(log, "a") as errf:
            p = subprocess.Popen([RESTOCKD, "--config", cfg], stdout=subprocess.DEVNULL,
                                 stderr=errf)
        procs.append(p)
        wait_for("/healthz", lambda: healthz(http) == 200)
        return p

    def logtext():
        with open(log, errors="replace") as f:
            return f.read()

    def state(oid):
        return orders(cfg)[oid]["state"]

    try:
        p = start()
        # (or both orders submitted already: the bad answers were taken for good ones)
        wait_for("the bad answers", lambda: shop.bad == 0 or all(
            state(o) == "submitted" for o in ids), 90)
        wait_for("restockd's log to say %r" % EXPECT[CASE], lambda: EXPECT[CASE] in logtext())
        if healthz(http) != 200:
            fail("/healthz during the bad answers: %s" % healthz(http))
        # a restart in the middle: nothing lost, nothing recorded twice
        p.send_signal(signal.SIGTERM)
        if p.wait(15) != 0:
            fail("restockd's exit code after SIGTERM is %d" % p.returncode)
        p = start()
        wait_for("both orders submitted",
                 lambda: all(state(o) == "submitted" for o in ids), 90)
        got = orders(cfg)
        sids = [got[o].get("shop_id") for o in ids]
        if len(set(sids)) != 2:
            fail("the two orders carry shop ids %s: one shop order recorded for two orders"
                 % sids)
        # the shop delivers the first order only: only that one is delivered
        with shop.lock:
            shop.status[sids[0]] = "delivered"
        wait_for("the first order delivered", lambda: state(ids[0]) == "delivered")
        time.sleep(3)  # three status intervals: the second order must stay as it is
        if state(ids[1]) != "submitted":
            fail("order %s (shop id %s) is %s after the shop delivered only %s"
                 % (ids[1], sids[1], state(ids[1]), sids[0]))
        if p.poll() is not None:
            fail("restockd exited (%d)" % p.returncode)
        p.send_signal(signal.SIGTERM)
        if p.wait(15) != 0:
            fail("restockd's exit code after SIGTERM is %d" % p.returncode)
    finally:
        for q in procs:
            if q.poll() is None:
                q.kill()
                q.wait()
    text = logtext()
    by_key = {}
    for k, b in shop.posts:
        by_key.setdefault(k, set()).add(b)
    print("posts %d, keys %s, orders at the shop %d" % (len(shop.posts), sorted(by_key),
                                                       len(shop.orders)))
    if set(by_key) != set(ids) or any(len(b) != 1 for b in by_key.values()):
        fail("the POSTs carried keys %s; expected %s with one body each" % (sorted(by_key), ids))
    if len(shop.orders) != 2:
        fail("the shop holds %d orders, expected 2" % len(shop.orders))
    got = orders(cfg)
    for oid in ids:
        if got[oid].get("shop_id") != shop.orders[oid][0]:
            fail("order %s: the database says shop id %s, the shop recorded %s"
                 % (oid, got[oid].get("shop_id"), shop.orders[oid][0]))
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    con.close()
    if n != 2:
        fail("the database holds %d orders, expected 2" % n)
    for ln in text.splitlines():
        if "SO-" in ln or "shop" in ln:
            print("  " + ln)
    print("PASS: %s" % CASE)


main()

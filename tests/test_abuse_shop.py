#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""restockd against a hostile shop on loopback: answers a real shop would never
give, from a raw socket server, while orders are being submitted and tracked.

usage: test_abuse_shop.py RESTOCKD RESTOCKCTL CTL_SEED CASE

Every case: one order is seeded (tests/ctl_seed.c) and approved with
restockctl; restockd submits it to the shop below, which misbehaves in the
case's way for a while and then answers like a correct idempotent shop. The
test asserts what an operator checks: restockd keeps running and answering
/healthz, the journal line names what was wrong, and in the end the shop holds
the order exactly once (every POST carried the same Idempotency-Key and body)
and the database agrees (`restockctl orders list --json`), also across a
restart in the middle.

CASE:
  garbage200   POST answered 200 with a body that is not JSON
  otherref     POST answered 201 {"id", "status"} for another order's reference
  redirect     POST answered 302 to itself (a redirect loop)
  drip         POST answered one byte a second (never finishing within the timeout)
  reset        POST recorded, then the connection reset in the middle of the answer
  bigbody      POST answered 200 with 2 MiB of JSON
  statusother  status GET answered 200 "delivered" for another shop order id
  status500    status GET answered 500 with an HTML page, then correctly
  fsize        a correct shop, but restockd's database cannot be written (a file
               size limit, RLIMIT_FSIZE, put on the running daemon while the
               first POST is on the wire): the shop's acceptance cannot be recorded, and
               the POST went out again at once, hundreds of times a second; now
               the pipeline waits 5 s between passes while storage fails
"""
import resource
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
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
    """The hostile shop of each case (tests/rawshop.py: the socket, the parsing
    and the correct shop's bookkeeping)."""

    def __init__(self, case, bad):
        super().__init__(case, bad)
        self.gets = 0
        self.status = "accepted"
        self.gate = threading.Event()  # fsize: the first POST waits for it
        if case != "fsize":
            self.gate.set()

    def post(self, s, key, body):
        with self.lock:
            self.posts.append((key, body))
        self.gate.wait(60)
        c = self.case
        bad = not c.startswith("status") and self.take_bad()
        if bad and c == "garbage200":
            self.send(s, 200, b"<html>ok</html> {not json")
        elif bad and c == "otherref":
            self.send(s, 201, b'{"id":"SO-424242","status":"accepted","reference":"R-OTHER-ORDER"}')
        elif bad and c == "redirect":
            self.send(s, 302, b"", extra="Location: /api/v1/orders\r\n")
        elif bad and c == "drip":
            s.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n")
            for ch in b'{"id": "SO-999999", "status": "accepted"':
                time.sleep(1)
                s.sendall(bytes([ch]))
            return False
        elif bad and c == "reset":
            st, ans, _ = self.record(key, body)  # the shop recorded it; the answer is lost
            s.sendall(("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                       "Content-Length: %d\r\n\r\n" % (st, len(ans))).encode() + ans[:10])
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
            return False
        elif bad and c == "bigbody":
            self.send(s, 200, b'{"pad":"' + b"x" * (2 << 20) + b'"}')
        else:
            st, ans, _ = self.record(key, body)
            self.send(s, st, ans)
        return True

    def get(self, s, sid):
        with self.lock:
            self.gets += 1
        if self.case == "statusother" and self.take_bad():
            self.send(s, 200, b'{"id":"SO-777777","status":"delivered"}')
        elif self.case == "status500" and self.take_bad():
            self.send(s, 500, b"<html><body><h1>500 Internal Server Error</h1></body></html>",
                      ctype="text/html")
        elif sid in [v[0] for v in self.orders.values()]:
            self.send(s, 200, json.dumps({"id": sid, "status": self.status}).encode())
        else:
            self.send(s, 404, b'{"error":{"code":"not_found","message":"unknown order"}}')
        return True


# What restockd's log must say for each case.
EXPECT = {
    "garbage200": "HTTP 200 without the expected",
    "otherref": "R-OTHER-ORDER",
    "redirect": "unexpected HTTP status 302",
    "drip": "timeout after 2000 ms",
    "reset": "Connection reset by peer",
    "bigbody": "1 MiB",
    "statusother": "SO-777777",
    "status500": "HTTP 500",
    "fsize": "but that is not recorded",
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
    return json.loads(r.stdout)["orders"]


def healthz(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception as e:  # noqa: BLE001: any failure is the answer
        return str(e)


def main():
    tmp = tempfile.mkdtemp(prefix="abuse-shop-")
    bad = {"drip": 1, "bigbody": 2, "statusother": 1}.get(CASE, 3)
    shop = Shop(CASE, bad)
    http = reserve_port()
    cfg = os.path.join(tmp, "etc")
    os.mkdir(cfg)
    db = os.path.join(tmp, "restock.db")
    global LOG
    log = LOG = os.path.join(tmp, "restockd.log")
    with open(os.path.join(cfg, "restock.yaml"), "w") as f:
        f.write(shop_gateway_yaml("abuse-shop", http, db, shop.port, timeout="2s",
                                  status_interval="1s"))
    oid = subprocess.run([SEED, db, "press-1/filter", "FLT-100", "2", "4250"], capture_output=True,
                         text=True, check=True).stdout.strip()
    def approve():
        r = subprocess.run([CTL, "--config", cfg, "orders", "approve", oid], capture_output=True,
                           text=True)
        if r.returncode:
            fail("approve: " + r.stderr)
    approve()
    procs = []

    def start():
        # stderr through a pipe: the fsize case's limit would stop writes to a log file
        p = subprocess.Popen([RESTOCKD, "--config", cfg], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)

        def copy():
            with open(log, "a") as f:
                for ln in iter(p.stderr.readline, ""):
                    f.write(ln)
                    f.flush()
        threading.Thread(target=copy, daemon=True).start()
        procs.append(p)
        wait_for("/healthz", lambda: healthz(http) == 200)
        return p

    def logtext():
        with open(log, errors="replace") as f:
            return f.read()

    try:
        p = start()
        if CASE == "fsize":
            wait_for("the first POST", lambda: shop.posts)  # held by the shop until the gate
            resource.prlimit(p.pid, resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
            shop.gate.set()
            wait_for("the shop's acceptance", lambda: shop.orders)
            wait_for("restockd's log to say %r" % EXPECT[CASE], lambda: EXPECT[CASE] in logtext())
            n0 = len(shop.posts)
            time.sleep(5)  # a pass every 5 s while storage fails: 1 or 2 POSTs, not hundreds
            if len(shop.posts) - n0 > 3:
                fail("%d POSTs in 5 s while the database cannot record the answer"
                     % (len(shop.posts) - n0))
            if healthz(http) != 503:
                fail("/healthz says %s while the database cannot be written" % healthz(http))
            resource.prlimit(p.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            wait_for("submitted", lambda: [x for x in orders(cfg)
                                           if x["id"] == oid][0]["state"] == "submitted")
        elif CASE in ("statusother", "status500"):
            wait_for("submission", lambda: shop.orders)
            shop.status = "accepted"
            wait_for("the bad status answers", lambda: shop.bad == 0)
            wait_for("restockd's log to say %r" % EXPECT[CASE], lambda: EXPECT[CASE] in logtext())
            # restart in the middle: nothing may be lost or recorded twice
            p.send_signal(signal.SIGTERM)
            p.wait(15)
            p = start()
            wait_for("a correct status answer", lambda: shop.gets >= bad + 2)
            o = [x for x in orders(cfg) if x["id"] == oid][0]
            if o["state"] != "submitted":
                fail("after the bad status answers the order is %s, expected still submitted: %s"
                     % (o["state"], o))
            shop.status = "delivered"
            wait_for("delivered", lambda: [x for x in orders(cfg)
                                           if x["id"] == oid][0]["state"] == "delivered")
        else:
            wait_for("the bad answers", lambda: shop.bad == 0)
            wait_for("restockd's log to say %r" % EXPECT[CASE], lambda: EXPECT[CASE] in logtext())
            if healthz(http) != 200:
                fail("/healthz during the bad answers: %s" % healthz(http))
            p.send_signal(signal.SIGTERM)
            p.wait(15)
            p = start()
            wait_for("submitted", lambda: [x for x in orders(cfg)
                                           if x["id"] == oid][0]["state"] == "submitted", 90)
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
    keys = {k for k, _ in shop.posts}
    bodies = {b for _, b in shop.posts}
    print("posts %d, keys %s, orders at the shop %d" % (len(shop.posts), keys, len(shop.orders)))
    if keys != {oid} or len(bodies) != 1:
        fail("the POSTs carried keys %s and %d bodies; expected only %s with one body"
             % (keys, len(bodies), oid))
    if len(shop.orders) != 1:
        fail("the shop holds %d orders, expected 1" % len(shop.orders))
    o = [x for x in orders(cfg) if x["id"] == oid][0]
    want = {"SO-000001"}
    if o.get("shop_id") not in want:
        fail("the database says shop id %s, the shop recorded SO-000001" % o.get("shop_id"))
    expect = EXPECT[CASE]
    if expect not in text:
        fail("restockd's log does not say %r:\n%s" % (expect, text))
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    con.close()
    if n != 1:
        fail("the database holds %d orders, expected 1" % n)
    for ln in text.splitlines():
        if "SO-" in ln or "shop" in ln or "order" in ln:
            print("  " + ln)
    print("PASS: %s" % CASE)


main()

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The real restockd against restock-sim's demo plant (config/demo).

usage: test_sim_restockd.py RESTOCK_SIM RESTOCKD RESTOCKCTL DEMO_DIR

Copies config/demo to a temp dir with free ports and the state paths moved
there, checks `restockd --check`, then runs both at --time-scale 10080 (a
simulated week per real minute) and waits for the loop to close twice:
an auto-approved ink order is placed, shipped, delivered, and restockd
detects the replaced ink; the bearing order waits for approval with its mail
file, is approved with restockctl, delivered onto the shelf, and the bearing
is replaced from the shelf when it reaches its rated life.
"""
import glob
import json
import urllib.request
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from testcheck import check, failures  # tests/testcheck.py
from testports import reserve_port  # tests/testports.py

SIM, RESTOCKD, CTL, DEMO = [os.path.abspath(a) for a in sys.argv[1:5]]
MAIL_WAIT = 20  # s; a wait this long means it hung: never a measure of speed


def free_port():
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        r = pred()
        if r:
            return r
        time.sleep(0.5)
    return None


def main():
    tmp = tempfile.mkdtemp(prefix="rs-simd-")
    procs = []
    try:
        cfg = os.path.join(tmp, "demo")
        shutil.copytree(DEMO, cfg)
        os.mkdir(os.path.join(tmp, "mail"))
        # CoAP on UDP; the others are TCP: held for the whole run (tests/testports.py)
        ports = {p: free_port() if p == "15683" else reserve_port()
                 for p in ("15683", "15020", "15021", "15022", "18480", "18080")}
        for f in glob.glob(cfg + "/**/*.yaml", recursive=True):
            with open(f) as fh:
                text = fh.read()
            text = text.replace("/var/lib/restock", tmp)
            for old, new in ports.items():
                text = re.sub(r"\b%s\b" % old, str(new), text)
            with open(f, "w") as fh:
                fh.write(text)
        rcfg = os.path.join(cfg, "restock")
        r = subprocess.run([RESTOCKD, "--check", "--config", rcfg], capture_output=True, text=True)
        check(r.returncode == 0 and r.stdout.startswith("OK: 4 devices"),
              "restockd --check passes on the demo config (%s%s)" % (r.stdout, r.stderr))
        r = subprocess.run([SIM, "--check", "--config", os.path.join(cfg, "sim.yaml")],
                           capture_output=True, text=True)
        check(r.returncode == 0, "restock-sim --check passes on the demo sim config")
        serr = open(os.path.join(tmp, "sim.err"), "w+")
        sim = subprocess.Popen([SIM, "--config", os.path.join(cfg, "sim.yaml"), "--time-scale",
                                "10080"], stdout=subprocess.PIPE, stderr=serr, text=True)
        procs.append(sim)
        for _ in range(5):
            if not sim.stdout.readline():
                break
        derr_path = os.path.join(tmp, "d.err")
        derr = open(derr_path, "w+")
        d = subprocess.Popen([RESTOCKD, "--config", rcfg, "--time-scale", "10080"],
                             stdout=subprocess.DEVNULL, stderr=derr)
        procs.append(d)

        def log():
            with open(derr_path) as f:
                return f.read()

        def orders():
            r = subprocess.run([CTL, "--config", rcfg, "orders", "list", "--json"],
                               capture_output=True, text=True)
            try:
                return json.loads(r.stdout)["orders"]
            except (ValueError, KeyError):
                return []

        got = wait_for(lambda: re.search(r"consumable printer-01/ink-\w+: replacement detected", log()), 90)
        check(got is not None, "an ink order is delivered and restockd detects the replaced ink")
        check(any(o["state"] == "delivered" and o["supplier"] == "inkhouse" for o in orders()),
              "the ink order went through to delivered at the shop")
        pend = wait_for(lambda: [o for o in orders() if o["state"] == "pending_approval"
                                 and o["supplier"] == "nordlager"], 60)
        check(bool(pend), "the bearing order waits for approval")
        mails = wait_for(lambda: glob.glob(os.path.join(tmp, "mail", "*")), MAIL_WAIT)
        check(bool(mails), "its approval mail was written (file:// transport)" if mails else
              "hung: no approval mail was written (file:// transport) within %d s" % MAIL_WAIT)
        if pend:
            oid = pend[0]["id"]
            r = subprocess.run([CTL, "--config", rcfg, "orders", "approve", oid],
                               capture_output=True, text=True)
            check(r.returncode == 0, "restockctl approves %s (%s%s)" % (oid, r.stdout, r.stderr))
            def bearing():
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/sim/devices" % ports["18480"],
                                                timeout=5) as r:
                        devs = json.loads(r.read())["devices"]
                except (OSError, ValueError):
                    return None
                return next((k for d in devs for k in d["consumables"] if k["id"] == "bearing"),
                            None)
            got = wait_for(lambda: (bearing() or {}).get("delivered", 0) >= 1, 60)
            check(got, "after approval the bearings ship and arrive on the shelf")
            # the plant fits a spare only when the installed bearing reaches its rated life
            got = wait_for(lambda: "consumable conveyor-01/bearing: replacement detected" in log(), 150)
            check(got is not None, "the worn bearing is replaced from the shelf")
            b = bearing() or {}
            check(b.get("stockouts", 1) == 0, "the bearing never stood empty without a spare (%s)" % b)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = -9
            check(rc == 0, "%s exits 0 on SIGTERM (%s)" % (os.path.basename(p.args[0]), rc))
        if failures:
            for name in ("sim.err", "d.err"):
                with open(os.path.join(tmp, name)) as f:
                    print("---- %s (tail)\n%s" % (name, f.read()[-3000:]))
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


main()

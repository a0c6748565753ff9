#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""restockd keeps serving while its shop and mail peers hang (issue 13).

usage: test_nonblocking.py CASE RESTOCKD RESTOCKCTL CTL_SEED PEERS_DIR
CASE:
  stall     the shop accepts and never answers (blackhole); the SMTP server
            greets and then stalls
  one-slow  the shop holds the first order POST and answers the others at
            once: the others are submitted while the first still hangs
            (a timeout on one order delays the others only by its own time)
  slow-dns  the shop answers one byte per second; the SMTP server's host
            name never resolves: the whole test runs in a user, network and
            mount namespace of its own whose /etc/resolv.conf points at a
            UDP socket on 127.0.0.1:53 that never answers (no DNS query
            leaves the machine). Skipped (77) where namespaces are not
            allowed.
  sigterm   the peers of stall, no window: once an order POST and an
            approval mail are on the wire (connections open at the peers)
            and the device has been polled, SIGTERM: restockd exits 0 (a
            hang guard of 15 s, whose failure says it hung; how long the
            stop took is printed, not judged: bench/stop/run.sh measures
            it) and its database is consistent: integrity and foreign keys
            check, nothing left in the WAL, every approved order still
            approved and unsent in the outbox, every approval mail unsent
            in the mail outbox, the device's readings stored.

A real restockd runs with one Modbus TCP device (a pymodbus peer, polled
every 200 ms), 12 approved orders in its outbox and 3 orders pending approval
with 4 approvers each (12 approval mails), WATCHDOG_USEC=4 s and a datagram
socket as NOTIFY_SOCKET. Over a window of 60 s (NONBLOCKING_WINDOW_S):
  - /healthz and /api/v1/status answer 200 to >= 99 % of probes, none
    waiting on a peer (a probe still unanswered after 5 s, half the shop's
    10 s timeout, failed);
  - watchdog pings are never more than WATCHDOG_USEC/2 + 2 s apart (past
    WATCHDOG_USEC systemd would kill restockd);
  - the device gets >= 90 % of its free poll rate (1 / poll_interval);
  - no loop turn (restock_loop_turn_seconds) waited on a peer: none took
    more than 5 s (how fast turns are is bench/'s business);
  - the peers did get the requests (so the hanging was real).
Then SIGTERM exits 0 (15 s: a hang guard); restockd starts again with the
orders still in its outbox: the watchdog keeps its rhythm from READY on, the
same Idempotency-Keys are sent again with byte-identical bodies, and SIGTERM
again exits 0.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from testcheck import check, failures  # tests/testcheck.py
from testports import reserve_port  # tests/testports.py

CASE = sys.argv[1]
RESTOCKD, RESTOCKCTL, CTL_SEED, PEERS = (os.path.abspath(a) for a in sys.argv[2:6])
PY = "/usr/bin/python3"
WINDOW = float(os.environ.get("NONBLOCKING_WINDOW_S", "60"))
WATCHDOG_USEC = 4000000
POLL_INTERVAL = 0.2
PEER_GUARD = 5.0  # half the shop's 10 s timeout: an HTTP answer or loop turn this slow waited
N_APPROVED, N_PENDING, N_APPROVERS = 12, 3, 4


def enter_namespace():
    """Re-run this script in a user+net+mount namespace with a DNS blackhole."""
    if os.environ.get("RESTOCK_NB_IN_NS"):
        return
    env = dict(os.environ, RESTOCK_NB_IN_NS="1")
    try:
        r = subprocess.run(["unshare", "-rnm", "--", "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        r = None
    if r is None or r.returncode != 0:
        print("SKIP: cannot create user/network/mount namespaces here")
        sys.exit(77)
    sys.exit(subprocess.call(["unshare", "-rnm", "--", PY] + sys.argv, env=env))


def setup_namespace(tmp):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    resolv = os.path.join(tmp, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:30 attempts:5\n")
    subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)


def start_peer(mode, log):
    p = subprocess.Popen([PY, os.path.join(PEERS, "stall_peers.py"), mode, log],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.match(r"port (\d+)", line)
    if not m:
        raise RuntimeError("peer %s did not start: %r" % (mode, line))
    return p, int(m.group(1))


def peer_log(log):
    """The last record a peer logged of every connection: {conn: {"data": .., "closed": ..}}."""
    last = {}
    if os.path.exists(log):
        with open(log) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                last[r["conn"]] = r
    return last


def peer_requests(log):
    """What every connection a peer logged sent, by its last record: {conn: data}."""
    return {k: r["data"] for k, r in peer_log(log).items()}


def posts(log):
    """(key, body) of every complete POST the shop peer received."""
    out = []
    for data in peer_requests(log).values():
        head, sep, body = data.partition("\r\n\r\n")
        if not sep or not head.startswith("POST "):
            continue
        key = re.search(r"(?im)^Idempotency-Key: *(\S+)", head)
        clen = re.search(r"(?im)^Content-Length: *(\d+)", head)
        if key and clen and len(body) >= int(clen.group(1)):
            out.append((key.group(1), body[:int(clen.group(1))]))
    return out


CONFIG = """gateway: {id: nb-test}
http: {listen: "127.0.0.1:%(http)d", public_url: "http://127.0.0.1:%(http)d"}
storage: {path: %(db)s}
commerce:
  base_url: %(shop)s
  timeout: 10s
  status_interval: 1h
  customer_id: C-1042
  ship_to: {name: Plant 7 stores, street: Hafenstrasse 1, city: Bremen, country: DE}
mail:
  smtp_url: %(smtp)s
  starttls: off
  from: restock@nb-test.example
orders:
  currency: EUR
  approval:
    approvers: [%(approvers)s]
catalog:
  - {sku: FLT-100, supplier: acme, unit_price: "42.50", currency: EUR, lead_time: 3d}
suppliers:
  - {id: acme}
"""

DEVICE = """devices:
  - id: dev-1
    transport: {type: modbus-tcp, host: 127.0.0.1, port: %(port)d, unit_id: 1}
    poll_interval: 200ms
    timeout: 500ms
    points:
      - {id: level, register: holding, address: 100, type: uint16}
"""

# slow-dns: a second Modbus TCP device and a CoAP device whose host names never resolve
DEVICE_DNS = """  - id: dev-dns
    transport: {type: modbus-tcp, host: plc.never-resolves.restock-test.invalid, port: 502}
    poll_interval: 1s
    timeout: 500ms
    points:
      - {id: level, register: holding, address: 100, type: uint16}
  - id: coap-dns
    transport: {type: coap, uri: "coap://sensor.never-resolves.restock-test.invalid"}
    poll_interval: 1s
    timeout: 500ms
    points:
      - {id: level, path: /level, format: text}
"""


class Notify:
    """NOTIFY_SOCKET stand-in: every datagram with its arrival time."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []
        self.lock = threading.Lock()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                data = self.sock.recv(4096).decode()
            except OSError:
                return
            with self.lock:
                self.msgs.append((time.monotonic(), data))

    def times(self, what, since=0.0):
        with self.lock:
            return [t for t, m in self.msgs if what in m and t >= since]


def http_get(port, path, timeout=1.0):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                    timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return 0, str(e)


def metrics(port):
    st, text = http_get(port, "/metrics", timeout=5.0)
    if st != 200:
        return None
    polls = re.search(r'^restock_device_polls_total\{device="dev-1"\} (\d+)', text, re.M)
    le = re.search(r'^restock_loop_turn_seconds_bucket\{le="%g"\} (\d+)' % PEER_GUARD, text,
                   re.M)
    cnt = re.search(r'^restock_loop_turn_seconds_count (\d+)', text, re.M)
    return {"polls": int(polls.group(1)) if polls else 0,
            "le_guard": int(le.group(1)) if le else 0,
            "turns": int(cnt.group(1)) if cnt else 0}


def max_gap(times, start, end):
    pts = [start] + [t for t in times if start <= t <= end] + [end]
    return max(b - a for a, b in zip(pts, pts[1:]))


class Daemon:
    def __init__(self, tmp, conf, name):
        self.notify = Notify(os.path.join(tmp, name + ".notify"))
        env = dict(os.environ, NOTIFY_SOCKET=os.path.join(tmp, name + ".notify"),
                   WATCHDOG_USEC=str(WATCHDOG_USEC))
        env.pop("WATCHDOG_PID", None)
        self.log = open(os.path.join(tmp, name + ".log"), "wb")
        self.logpath = self.log.name
        self.proc = subprocess.Popen([RESTOCKD, "--config", conf, "--log-level", "info"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout=30.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            t = self.notify.times("READY=1")
            if t:
                return t[0]
            time.sleep(0.02)
        return None

    def stop(self):
        """SIGTERM; the exit code, or "hung" when it still ran 15 s later (then killed).
        self.stop_s: the seconds from the signal to the exit (reported, never judged)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "hung (killed 15 s after SIGTERM)"
        finally:
            self.stop_s = time.monotonic() - t0

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def probe(port, end, results):
    """GET /healthz and /api/v1/status in turn until end; (path, status, seconds) each."""
    paths = ["/healthz", "/api/v1/status"]
    i = 0
    while time.monotonic() < end:
        t0 = time.monotonic()
        st, _ = http_get(port, paths[i % 2], timeout=PEER_GUARD)
        results.append((paths[i % 2], st, time.monotonic() - t0))
        i += 1
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))


def submitted(db):
    import sqlite3
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM orders WHERE state = 'submitted'").fetchone()[0]
    finally:
        con.close()


def open_posts(log):
    """Connections that sent a POST and are still open, by the peer's log."""
    return [k for k, r in peer_log(log).items()
            if r["data"].startswith("POST ") and not r["closed"]]


def write_conf(tmp, restock_yaml):
    """tmp/conf with restock.yaml (and an empty devices.d); returns the directory."""
    conf = os.path.join(tmp, "conf")
    os.makedirs(os.path.join(conf, "devices.d"))
    with open(os.path.join(conf, "restock.yaml"), "w") as f:
        f.write(restock_yaml)
    return conf


def seed_orders(db, conf, n, n_approved):
    """n orders pending approval (ctl_seed), the first n_approved approved with restockctl;
    returns their ids."""
    ids = []
    for i in range(n):
        oid = subprocess.run([CTL_SEED, db, "dev-1/c%02d" % i, "FLT-100", "1", "4250"],
                             capture_output=True, text=True, check=True).stdout.strip()
        ids.append(oid)
        if i < n_approved:
            r = subprocess.run([RESTOCKCTL, "--config", conf, "orders", "approve", oid],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError("restockctl orders approve: " + r.stderr)
    return ids


def one_slow(tmp, procs):
    """Six orders; the shop holds the first POST: the other five are submitted meanwhile."""
    shop_log = os.path.join(tmp, "shop.log")
    shop, shop_port = start_peer("holdfirst", shop_log)
    procs.append(shop)
    db = os.path.join(tmp, "restock.db")
    http_port = reserve_port()
    cfg = CONFIG % {"http": http_port, "db": db, "shop": "http://127.0.0.1:%d/api/v1" % shop_port,
                    "smtp": "-", "approvers": "-"}
    cfg = re.sub(r"mail:\n(  .*\n)+", "", cfg)  # no mail, no approvers: the shop only
    cfg = re.sub(r"  approval:\n    approvers: .*\n", "", cfg)
    conf = write_conf(tmp, cfg)
    seed_orders(db, conf, 6, 6)
    d = Daemon(tmp, conf, "first")
    try:
        if not check(d.wait_ready() is not None, "restockd starts (READY=1)"):
            return
        end = time.monotonic() + 60
        while submitted(db) < 5 and time.monotonic() < end:
            time.sleep(0.1)
        n = submitted(db)
        time.sleep(1.2)  # the peer logs open connections every second
        held_open = len(open_posts(shop_log)) == 1
        check(n == 5 and held_open,
              "5 of 6 orders submitted while the shop still holds the first POST "
              "(submitted %d, first connection open: %s)" % (n, held_open))
        rc = d.stop()
        check(rc == 0, "SIGTERM with the held POST in flight: exit %s" % rc)
    finally:
        d.close()


def plant(tmp, procs):
    """The peers of cases stall, slow-dns and sigterm, restockd's configuration and its
    seeded orders: (conf, db, http_port, shop_log, smtp_log, order ids)."""
    if CASE == "slow-dns":
        setup_namespace(tmp)
        dns, _ = start_peer("dns", os.path.join(tmp, "dns.log"))
        procs.append(dns)
    shop_log = os.path.join(tmp, "shop.log")
    smtp_log = os.path.join(tmp, "smtp.log")
    shop, shop_port = start_peer("trickle" if CASE == "slow-dns" else "blackhole", shop_log)
    procs.append(shop)
    if CASE != "slow-dns":
        smtp, smtp_port = start_peer("smtpstall", smtp_log)
        procs.append(smtp)
        smtp_url = "smtp://127.0.0.1:%d" % smtp_port
    else:
        smtp_url = "smtp://mail.never-resolves.restock-test.invalid:2525"
    dev_port = reserve_port()
    spec = os.path.join(tmp, "dev.json")
    with open(spec, "w") as f:
        json.dump({"units": {"1": {"hr": {"100": 20}}}}, f)
    dev = subprocess.Popen([PY, os.path.join(PEERS, "pymodbus_server.py"), str(dev_port), spec],
                           stdout=subprocess.PIPE, text=True)
    procs.append(dev)
    if "ready" not in dev.stdout.readline():
        raise RuntimeError("the Modbus peer did not start")

    db = os.path.join(tmp, "restock.db")
    http_port = reserve_port()
    conf = write_conf(tmp, CONFIG % {
        "http": http_port, "db": db, "shop": "http://127.0.0.1:%d/api/v1" % shop_port,
        "smtp": smtp_url,
        "approvers": ", ".join("a%d@nb-test.example" % i for i in range(N_APPROVERS))})
    with open(os.path.join(conf, "devices.d", "dev.yaml"), "w") as f:
        f.write(DEVICE % {"port": dev_port})
        if CASE == "slow-dns":
            f.write(DEVICE_DNS)
    ids = seed_orders(db, conf, N_APPROVED + N_PENDING, N_APPROVED)
    return conf, db, http_port, shop_log, smtp_log, ids


def wait_for(what, cond, guard=30.0):
    """Wait until cond() holds; False (a failed check that says it hung) after guard s."""
    end = time.monotonic() + guard
    while not cond():
        if time.monotonic() > end:
            return check(False, "hung: %s, not after %g s" % (what, guard))
        time.sleep(0.1)
    return True


def sigterm(tmp, procs):
    """Case sigterm: SIGTERM with an order POST and an approval mail in flight."""
    import sqlite3
    conf, db, http_port, shop_log, smtp_log, ids = plant(tmp, procs)
    d = Daemon(tmp, conf, "first")
    try:
        if not check(d.wait_ready() is not None, "restockd starts (READY=1)"):
            return
        # the peers log an open connection every second
        if not (wait_for("an order POST on the wire", lambda: open_posts(shop_log)) and
                wait_for("an approval mail on the wire",
                         lambda: any(not r["closed"] and r["data"]
                                     for r in peer_log(smtp_log).values())) and
                wait_for("the device polled", lambda: (metrics(http_port) or {}).get("polls", 0) >= 3)):
            return
        rc = d.stop()
        check(rc == 0, "SIGTERM with an order POST and a mail in flight: exit %s" % rc)
        print("stop: %.3f s after SIGTERM (reported, not judged)" % d.stop_s, flush=True)
    finally:
        d.close()
    wal = db + "-wal"
    check(not os.path.exists(wal) or os.path.getsize(wal) == 0,
          "nothing left in the WAL (%d bytes)" % (os.path.getsize(wal) if os.path.exists(wal) else 0))
    con = sqlite3.connect(db, timeout=10)
    try:
        q = lambda sql, *a: con.execute(sql, a).fetchall()
        check(q("PRAGMA integrity_check") == [("ok",)], "the database passes its integrity check")
        check(q("PRAGMA foreign_key_check") == [], "no row points at a missing one")
        states = dict(q("SELECT id, state FROM orders WHERE shop_id IS NULL"))
        check(all(states.get(i) == "approved" for i in ids[:N_APPROVED]),
              "every approved order is still approved and unsent, in the outbox (%s)"
              % sorted(set(states.values())))
        check(all(states.get(i) == "pending_approval" for i in ids[N_APPROVED:]),
              "the orders waiting for approval still wait")
        mails = q("SELECT count(*), count(sent_ms) FROM mail_outbox WHERE kind = 'approval'")[0]
        check(mails == (N_PENDING * N_APPROVERS, 0),
              "every approval mail is in the mail outbox, unsent (%d, %d sent)" % mails)
        n = q("SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM readings_recent)")[0][0]
        check(n >= 1, "the device's readings are stored (%d)" % n)
    finally:
        con.close()


def hanging_peers(tmp, procs):
    """Cases stall and slow-dns: the 60 s window, then the restart with the outbox full."""
    conf, db, http_port, shop_log, smtp_log, ids = plant(tmp, procs)
    d = Daemon(tmp, conf, "first")
    try:
        ready = d.wait_ready()
        if not check(ready is not None, "restockd starts (READY=1)"):
            return
        time.sleep(2.0)  # the first requests are on the wire
        m0, t0 = metrics(http_port), time.monotonic()
        results = []
        probe(http_port, t0 + WINDOW, results)
        m1, t1 = metrics(http_port), time.monotonic()
        good = sum(1 for _, st, _ in results if st == 200)
        check(len(results) > 0 and good >= 0.99 * len(results),
              "%d of %d /healthz and /api/v1/status probes answered 200 over %.0f s (none "
              "waited %g s on a peer)" % (good, len(results), t1 - t0, PEER_GUARD))
        slow = [r for r in results if r[1] != 200]
        if slow:
            print("  not answered: %s" % slow[:5])
        gap = max_gap(d.notify.times("WATCHDOG=1"), ready, t1)
        check(gap <= WATCHDOG_USEC / 2e6 + 2,
              "watchdog pings at most %.1f s apart from READY on (limit %.1f s)"
              % (gap, WATCHDOG_USEC / 2e6 + 2))
        if check(m0 is not None and m1 is not None, "/metrics answers"):
            polls = m1["polls"] - m0["polls"]
            free = (t1 - t0) / POLL_INTERVAL
            check(polls >= 0.9 * free, "device polled %d times in %.0f s (free rate: %.0f)"
                  % (polls, t1 - t0, free))
            turns = m1["turns"] - m0["turns"]
            short = m1["le_guard"] - m0["le_guard"]
            check(turns > 0 and short == turns,
                  "no loop turn waited on a peer: %d of %d turns took <= %g s"
                  % (short, turns, PEER_GUARD))
        sent = posts(shop_log)
        check(len(sent) >= 4, "the shop got %d order POSTs (it never answered in time)"
              % len(sent))
        if CASE == "stall":
            n_smtp = len(peer_requests(smtp_log))
            check(n_smtp >= 2, "the SMTP server got %d connections (it stalls)" % n_smtp)
        else:
            log = open(d.logpath, errors="replace").read()
            check(re.search(r"never-resolves\S* failed: Resolving timed out", log) is not None,
                  "the mail to the unresolvable server failed on its lookup, logged")
            for dev in ("dev-dns", "coap-dns"):
                check(re.search(r"device %s: .*cannot resolve \S+never-resolves\S*(:| within)" % dev,
                                log) is not None,
                      "device %s: its lookup gave up within its timeout, logged" % dev)
        rc = d.stop()
        check(rc == 0, "SIGTERM with requests in flight: exit %s" % rc)
    finally:
        d.close()

    first_keys = {}
    for key, body in posts(shop_log):
        first_keys.setdefault(key, body)
    n_before = len(peer_requests(shop_log))
    d = Daemon(tmp, conf, "second")
    try:
        ready = d.wait_ready()
        if not check(ready is not None, "restockd starts again with the outbox full"):
            return
        end = time.monotonic() + 14.0
        while time.monotonic() < end:
            time.sleep(0.2)
        gap = max_gap(d.notify.times("WATCHDOG=1"), ready, time.monotonic())
        check(gap <= WATCHDOG_USEC / 2e6 + 2,
              "after the restart: watchdog pings at most %.1f s apart" % gap)
        again = [(k, b) for k, b in posts(shop_log)]
        resent = {k for k, b in again if k in first_keys}
        same = all(b == first_keys[k] for k, b in again if k in first_keys)
        check(len(peer_requests(shop_log)) > n_before and resent and same,
              "after the restart %d keys were sent again, bodies byte-identical: %s"
              % (len(resent), same))
        check(set(first_keys) <= set(ids[:N_APPROVED]),
              "only approved orders were posted, each keyed by its order id")
        rc = d.stop()
        check(rc == 0, "SIGTERM again: exit %s" % rc)
    finally:
        d.close()


def main():
    if CASE == "slow-dns":
        enter_namespace()
    tmp = tempfile.mkdtemp(prefix="restock-nb-")
    procs = []
    try:
        {"one-slow": one_slow, "sigterm": sigterm}.get(CASE, hanging_peers)(tmp, procs)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        if not failures:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept for inspection: " + tmp)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all ok")


if __name__ == "__main__":
    main()

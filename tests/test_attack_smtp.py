#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""restockd's approval mail against an SMTP server on loopback that misbehaves
in the middle of DATA, and a reload (SIGHUP) while the mail is on the wire.

usage: test_attack_smtp.py RESTOCKD CTL_SEED CASE

One order waits for approval (tests/ctl_seed.c); restockd mails its approval
link. The server below is a raw SMTP server: it takes the envelope and a part
of the message, then misbehaves in the case's way; later it answers like a
correct server. What a user checks: restockd keeps running and answering
/healthz, the log says the mail was not sent and why, the approver gets the
mail exactly once in the end (a message counts when the server said 250 to
its final dot), the outbox records it sent, and the link in it opens the
order's approval page.

CASE:
  dropdata  the server closes the connection in the middle of DATA (twice)
  reload    the server holds the middle of DATA for 3 s while restockd is sent
            SIGHUP (a reload with an unchanged configuration), then finishes
"""
import os
import re
import signal
import socket
import socketserver
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from testconfig import mail_gateway_yaml  # tests/testconfig.py
from testports import reserve_port  # tests/testports.py

RESTOCKD, SEED, CASE = sys.argv[1:4]


LINES = []


def fail(msg):
    print("FAIL: " + msg)
    print("restockd's log:\n" + "".join(LINES[-60:]))
    sys.exit(1)


def wait_for(what, cond, limit=60):
    end = time.monotonic() + limit  # a hang guard, not a measure
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    fail("timed out waiting for " + what)


class Smtp:
    """bad: how many DATA phases to spoil; mails: messages acknowledged with 250."""

    def __init__(self, case, bad, port):
        self.case, self.bad = case, bad
        self.lock = threading.Lock()
        self.mails = []
        self.sessions = 0
        self.in_data = threading.Event()
        srv_self = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                try:
                    srv_self.session(self.rfile, self.request)
                except OSError:
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def server_bind(self):
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                super().server_bind()

        self.srv = Server(("127.0.0.1", port), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def session(self, rf, s):
        with self.lock:
            self.sessions += 1
        s.sendall(b"220 attack ESMTP\r\n")
        while True:
            ln = rf.readline()
            if not ln:
                return
            cmd = ln.strip().upper()
            if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                s.sendall(b"250-attack\r\n250 8BITMIME\r\n")
            elif cmd.startswith(b"MAIL") or cmd.startswith(b"RCPT") or cmd.startswith(b"RSET"):
                s.sendall(b"250 ok\r\n")
            elif cmd == b"QUIT":
                s.sendall(b"221 bye\r\n")
                return
            elif cmd == b"DATA":
                s.sendall(b"354 go ahead\r\n")
                msg = b""
                spoil = False
                with self.lock:
                    if self.bad > 0:
                        self.bad -= 1
                        spoil = True
                while True:
                    d = rf.readline()
                    if not d:
                        return
                    if d == b".\r\n":
                        break
                    msg += d
                    if spoil and len(msg) > 200:
                        if self.case == "dropdata":
                            s.close()  # mid-DATA: no final dot was acknowledged
                            return
                        self.in_data.set()
                        time.sleep(3)  # the reload happens now
                        spoil = False
                with self.lock:
                    self.mails.append(msg)
                s.sendall(b"250 queued\r\n")
            else:
                s.sendall(b"502 no\r\n")


def outbox(db):
    con = sqlite3.connect(db, timeout=10)
    rows = con.execute("SELECT kind, sent_ms FROM mail_outbox").fetchall()
    con.close()
    return rows


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except Exception as e:  # noqa: BLE001: any failure is the answer
        return 0, str(e)


def main():
    tmp = tempfile.mkdtemp(prefix="attack-smtp-")
    http, smtp = reserve_port(), reserve_port()
    db = os.path.join(tmp, "restock.db")
    with open(os.path.join(tmp, "restock.yaml"), "w") as f:
        f.write(mail_gateway_yaml("attack-smtp", http, db, smtp))
    oid = subprocess.run([SEED, db, "press-1/filter", "FLT-100", "2", "4250"],
                         capture_output=True, text=True, check=True).stdout.strip()
    server = Smtp(CASE, 2 if CASE == "dropdata" else 1, smtp)
    p = subprocess.Popen([RESTOCKD, "--config", tmp], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    threading.Thread(target=lambda: LINES.extend(iter(p.stderr.readline, "")),
                     daemon=True).start()
    try:
        if CASE == "reload":
            wait_for("the mail in the middle of DATA", server.in_data.is_set)
            p.send_signal(signal.SIGHUP)
            wait_for("the reload", lambda: any("reload" in ln for ln in LINES))
        else:
            wait_for("two spoiled DATA phases",
                     lambda: sum("not sent" in ln for ln in LINES) >= 2, 90)
        wait_for("the mail at the SMTP server", lambda: server.mails, 90)
        wait_for("the outbox to say sent", lambda: outbox(db)[0][1] is not None)
        time.sleep(3)  # three outbox ticks: a mail not recorded as sent would go again
        if p.poll() is not None:
            fail("restockd exited (%d)" % p.returncode)
        st, _ = get("http://127.0.0.1:%d/healthz" % http)
        if st != 200:
            fail("/healthz says %d" % st)
        if len(server.mails) != 1:
            fail("the approver got %d mails, expected 1" % len(server.mails))
        if len(outbox(db)) != 1:
            fail("the outbox holds %r, expected one mail" % outbox(db))
        body = server.mails[0].decode(errors="replace")
        body = re.sub(r"=\r?\n", "", body)  # quoted-printable soft breaks
        m = re.search(r"http://127\.0\.0\.1:%d/approve/[A-Za-z0-9_=-]+" % http, body)
        if not m:
            fail("no approval link in the mail:\n" + body)
        st, page = get(m.group(0).replace("=3D", "="))
        if st != 200 or oid not in page:
            fail("the mail's link answers %d without order %s" % (st, oid))
        if CASE == "dropdata" and not any("not sent" in ln for ln in LINES):
            fail("the log does not say the mail was not sent")
        p.send_signal(signal.SIGTERM)
        if p.wait(15) != 0:
            fail("restockd's exit code after SIGTERM is %d" % p.returncode)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    for ln in LINES:
        if "mail" in ln or "reload" in ln:
            print("  " + ln.rstrip())
    print("PASS: %s: one mail after %d SMTP sessions" % (CASE, server.sessions))


main()

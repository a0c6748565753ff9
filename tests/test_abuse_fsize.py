#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""restockd when its database cannot grow: a file-size limit (RLIMIT_FSIZE, as
`ulimit -f` or systemd's LimitFSIZE= set it) put on the running daemon, with a
real SMTP server (aiosmtpd) on loopback.

usage: test_abuse_fsize.py RESTOCKD CTL_SEED

An order waits for approval; its mail is queued while the SMTP server is down.
Then every write to the database fails (the limit is set on the running
restockd with prlimit(2)), the next attempt fails too, and the SMTP server
comes up. What a user checks:
  - restockd keeps running (the limit's signal, SIGXFSZ, used to kill it
    without a word);
  - /healthz answers 503 and names the file size limit;
  - a failed attempt that cannot be recorded keeps its backoff (it was tried
    again at every tick);
  - the approver gets the mail once, not once a second (the database could not
    record "sent", and the mail went out again at every tick);
  - the journal is not flooded (a few lines, not one per tick);
  - once the limit is lifted, /healthz is 200 again and the outbox says sent;
    SIGTERM stops restockd with exit 0.
"""
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from testconfig import mail_gateway_yaml  # tests/testconfig.py
from testports import reserve_port  # tests/testports.py

try:
    from aiosmtpd.controller import Controller
except ImportError:
    print("SKIP: aiosmtpd is not installed (python3-aiosmtpd)")
    sys.exit(77)

RESTOCKD, SEED = sys.argv[1:3]


LINES = []
PROC = []  # restockd, once started: a wait ends when it dies


def fail(msg):
    print("FAIL: " + msg)
    print("restockd's log:\n" + "".join(LINES[-60:]))
    sys.exit(1)


def wait_for(what, cond, limit=60):
    end = time.monotonic() + limit  # a hang guard, not a measure
    while time.monotonic() < end:
        if PROC and PROC[0].poll() is not None:
            fail("restockd died (exit %d) while waiting for %s" % (PROC[0].returncode, what))
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    fail("timed out waiting for " + what)


def healthz(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


class Inbox:
    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(envelope.content)
        return "250 OK"


def outbox(db):
    con = sqlite3.connect(db, timeout=10)
    rows = con.execute("SELECT kind, sent_ms FROM mail_outbox").fetchall()
    con.close()
    return rows


def main():
    tmp = tempfile.mkdtemp(prefix="abuse-fsize-")
    http, smtp = reserve_port(), reserve_port()
    db = os.path.join(tmp, "restock.db")
    with open(os.path.join(tmp, "restock.yaml"), "w") as f:
        f.write(mail_gateway_yaml("fsize-it", http, db, smtp))
    subprocess.run([SEED, db, "press-1/filter", "FLT-100", "2", "4250"], capture_output=True,
                   check=True)
    # stderr is a pipe: a log file would meet the same limit
    p = subprocess.Popen([RESTOCKD, "--config", tmp], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    PROC.append(p)
    threading.Thread(target=lambda: LINES.extend(iter(p.stderr.readline, "")),
                     daemon=True).start()
    ctl = None
    try:
        wait_for("the approval mail's first failed attempt",
                 lambda: any("not sent" in ln for ln in LINES))
        if outbox(db) != [("approval", None)]:
            fail("the outbox holds %r, expected one unsent approval mail" % outbox(db))
        # from now on no write to a file of restockd's may reach past 4 KiB
        resource.prlimit(p.pid, resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
        # the next attempt fails too (no server yet) and cannot be recorded either: it is
        # not tried again before its backoff (10 s) instead of at every tick
        wait_for("the second failed attempt",
                 lambda: sum("not sent" in ln for ln in LINES) >= 2)
        time.sleep(4)
        tries = sum("not sent" in ln for ln in LINES)
        if tries != 2:
            fail("%d failed attempts within 4 s of the second; expected none before its "
                 "10 s backoff" % (tries - 2))
        inbox = Inbox()
        ctl = Controller(inbox, hostname="127.0.0.1", port=smtp)
        ctl.start()
        wait_for("the mail at the SMTP server", lambda: inbox.mails, 90)
        wait_for("/healthz degraded", lambda: healthz(http)[0] == 503)
        n0 = len(LINES)
        time.sleep(5)  # five ticks of the outbox: a mail not recorded as sent went out again
        if p.poll() is not None:
            fail("restockd died under the file size limit (exit %d)" % p.returncode)
        st, body = healthz(http)
        if st != 503 or "file size limit" not in body:
            fail("/healthz says %d %r, expected 503 naming the file size limit" % (st, body))
        if len(inbox.mails) != 1:
            fail("the approver got %d mails, expected 1" % len(inbox.mails))
        if len(LINES) - n0 > 10:
            fail("%d log lines in 5 s of a database that cannot grow" % (len(LINES) - n0))
        if not any("was sent but the database cannot record it" in ln for ln in LINES):
            fail("the log does not say the mail was sent but not recorded")
        resource.prlimit(p.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        wait_for("/healthz ok", lambda: healthz(http)[0] == 200)
        wait_for("the outbox to say sent", lambda: outbox(db)[0][1] is not None)
        if len(inbox.mails) != 1:
            fail("the approver got %d mails in all, expected 1" % len(inbox.mails))
        PROC.clear()
        p.send_signal(signal.SIGTERM)
        if p.wait(15) != 0:
            fail("restockd's exit code after SIGTERM is %d" % p.returncode)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if ctl:
            ctl.stop()
    print("PASS: one mail, %d log lines in all" % len(LINES))


main()

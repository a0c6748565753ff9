#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Life cycle of the real restockd process (SPEC 2, 3, 12).

usage: test_lifecycle.py RESTOCKD CONFIG_EXAMPLES_DIR

On a copy of the example plant whose storage.path points into a temp dir:
restockd starts, creates its database, logs that no device answers, reloads
on SIGHUP (a broken rule file is refused with its file:line:column reason and
the old config keeps running; the fixed file is applied), and stops with exit
code 0 on SIGTERM (a 30 s timeout only guards against a hang; no check is on
how long something took). A datagram socket stands in for systemd's
NOTIFY_SOCKET to check READY=1, RELOADING=1 + MONOTONIC_USEC, STOPPING=1.
Also: bad --log-level / --time-scale (exit 2), a missing state directory
(exit 1), an invalid config (exit 2), and the scaled clock's anchor surviving
a restart.
"""
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

from testcheck import check, failures  # tests/testcheck.py
from testports import reserve_port  # tests/testports.py

RESTOCKD = os.path.abspath(sys.argv[1])
EXAMPLES = os.path.abspath(sys.argv[2])
START_TIMEOUT = 30.0  # sanitizer builds start slowly
HANG_GUARD = 30.0  # a wait this long means it hung: never a measure of speed


def set_key(restock_yaml, section, key, value):
    """Set section.key of restock_yaml to value (block or flow style section)."""
    with open(restock_yaml) as f:
        lines = f.read().split("\n")
    out, in_section, done = [], False, False
    for line in lines:
        if re.match(r"^%s:\s*(#.*)?$" % section, line):
            in_section = True
            out.append(line)
            out.append("  %s: %s" % (key, value))
            done = True
            continue
        if re.match(r"^%s:\s*\{" % section, line):
            # a one-line flow mapping: only the key we set survives (enough for a test)
            out.append("%s: {%s: %s}" % (section, key, value))
            done = True
            continue
        if in_section and re.match(r"^\S", line):
            in_section = False
        if in_section and re.match(r"^\s+%s:" % key, line):
            continue
        out.append(line)
    if not done:
        out += ["%s:" % section, "  %s: %s" % (key, value)]
    with open(restock_yaml, "w") as f:
        f.write("\n".join(out) + "\n")


def set_storage_path(restock_yaml, db_path):
    """Point storage.path at db_path, and http.listen at a free loopback port."""
    set_key(restock_yaml, "storage", "path", db_path)
    set_key(restock_yaml, "http", "listen", "127.0.0.1:%d" % reserve_port())


class Daemon:
    def __init__(self, tmp, conf, extra=(), name="restockd", env_extra=None):
        self.logpath = os.path.join(tmp, name + ".log")
        self.sockpath = os.path.join(tmp, name + ".notify")
        if os.path.exists(self.sockpath):
            os.unlink(self.sockpath)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sockpath)
        self.messages = []
        self.cursor = 0
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = self.sockpath
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        env.update(env_extra or {})
        self.log = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            [RESTOCKD, "--config", conf, "--log-level", "debug"] + list(extra),
            stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def text(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=START_TIMEOUT, count=1):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(re.findall(pattern, self.text(), re.M)) >= count:
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return len(re.findall(pattern, self.text(), re.M)) >= count

    def wait_notify(self, pattern, timeout=START_TIMEOUT):
        """Wait for the next notify datagram (after the last one matched) matching pattern."""
        end = time.monotonic() + timeout
        while True:
            while self.cursor < len(self.messages):
                msg = self.messages[self.cursor]
                self.cursor += 1
                if re.search(pattern, msg):
                    return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                return False

    def stop(self, sig=signal.SIGTERM, timeout=HANG_GUARD):
        """Send sig; its exit code, or "hung" when it still ran after timeout (then killed)."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "hung (killed %g s after the signal)" % timeout

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()
        self.log.close()


def run(args, env=None):
    p = subprocess.run([RESTOCKD] + args, capture_output=True, text=True, timeout=60, env=env)
    return p.returncode, p.stdout, p.stderr


def main():
    tmp = tempfile.mkdtemp(prefix="restock-lifecycle-")
    try:
        conf = os.path.join(tmp, "conf")
        shutil.copytree(EXAMPLES, conf)
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        db = os.path.join(state, "restock.db")
        set_storage_path(os.path.join(conf, "restock.yaml"), db)

        rc, out, err = run(["--check", "--config", conf])
        check(rc == 0 and out.startswith("OK: "), "--check accepts the example copy: " + out + err)
        summary = out.strip()[4:]

        # --- usage errors ---
        rc, _, err = run(["--config", conf, "--log-level", "loud"])
        check(rc == 2 and "--log-level" in err and "loud" in err, "bad --log-level exits 2: " + err)
        for bad in ["0", "-3", "fast", "inf", "nan", ""]:
            rc, _, err = run(["--config", conf, "--time-scale", bad])
            check(rc == 2 and "--time-scale" in err, "--time-scale %r exits 2" % bad)
        check(not os.path.exists(db), "usage errors create no database")

        # --- a missing state directory is an error, not created ---
        conf_nodir = os.path.join(tmp, "conf-nodir")
        shutil.copytree(EXAMPLES, conf_nodir)
        missing = os.path.join(tmp, "no-such-dir")
        set_storage_path(os.path.join(conf_nodir, "restock.yaml"),
                         os.path.join(missing, "restock.db"))
        rc, _, err = run(["--config", conf_nodir])
        check(rc == 1 and missing in err, "missing state dir exits 1 naming it: " + err)
        check(not os.path.exists(missing), "the missing state dir is not created")

        # --- an invalid config exits 2 with the --check diagnostics ---
        conf_bad = os.path.join(tmp, "conf-bad")
        shutil.copytree(conf, conf_bad)
        with open(os.path.join(conf_bad, "rules.d", "50-broken.yaml"), "w") as f:
            f.write("rules:\n  - name: broken\n    when: dayz_left < 3\n")
        rc, _, err = run(["--config", conf_bad])
        check(rc == 2 and "rules.d/50-broken.yaml:3:11:" in err,
              "invalid config at start exits 2 with file:line:column: " + err)

        # --- the life cycle ---
        d = Daemon(tmp, conf)
        try:
            check(d.wait_notify(r"(^|\n)READY=1"), "READY=1 sent after start")
            check(os.path.exists(db), "database file created at storage.path")
            devices = re.findall(r"device (\S+): (?:modbus-tcp|modbus-rtu|coap) ", d.text())
            check(len(devices) >= 1, "a log line per device: %s" % devices)
            for dev in devices:
                check(d.wait_log(r"^<4>device %s: no answer \(" % re.escape(dev)),
                      "warning: device %s does not answer" % dev)
            time.sleep(0.3)
            for dev in devices:
                n = len(re.findall(r"device %s: no answer" % re.escape(dev), d.text()))
                check(n == 1, "'no answer' logged once for %s (%d)" % (dev, n))

            # SIGHUP with a broken rule file: refused, old config keeps running
            broken = os.path.join(conf, "rules.d", "50-extra.yaml")
            with open(broken, "w") as f:
                f.write("rules:\n  - name: extra\n    when: dayz_left < 3\n")
            d.proc.send_signal(signal.SIGHUP)
            check(d.wait_notify(r"RELOADING=1"), "RELOADING=1 sent on SIGHUP")
            check(any("MONOTONIC_USEC=" in m for m in d.messages if "RELOADING=1" in m),
                  "RELOADING=1 carries MONOTONIC_USEC")
            check(d.wait_log(r"^<3>rules\.d/50-extra\.yaml:3:11: .*dayz_left"),
                  "broken rule logged at error level with file:line:column")
            check(d.wait_log(r"configuration reload failed"), "reload failure logged")
            check(d.wait_notify(r"(^|\n)READY=1"), "READY=1 after the failed reload")
            check(d.proc.poll() is None, "still running on the old config")
            check("configuration reloaded" not in d.text(), "the broken config was not applied")

            # SIGHUP with the fixed file: applied
            with open(broken, "w") as f:
                f.write("rules:\n  - name: extra\n    match: {kind: filter}\n"
                        "    when: days_left < 3\n")
            rc, out, err = run(["--check", "--config", conf])
            fixed_summary = out.strip()[4:]
            check(rc == 0 and fixed_summary != summary, "the fixed config checks: " + out + err)
            d.proc.send_signal(signal.SIGHUP)
            check(d.wait_log(r"configuration reloaded: " + re.escape(fixed_summary)),
                  "fixed config applied: 'configuration reloaded: %s'" % fixed_summary)
            check(d.wait_notify(r"(^|\n)READY=1"), "READY=1 after the reload")
            check(d.proc.poll() is None, "running after the reload")

            rc = d.stop(signal.SIGTERM)
            check(rc == 0, "SIGTERM: exit code 0 (got %s)" % rc)
            check(d.wait_notify(r"STOPPING=1", timeout=2), "STOPPING=1 sent")
            check("restockd stopped" in d.text(), "clean stop logged")
        finally:
            log = d.text()
            d.close()
        if failures:
            print("---- restockd log ----\n" + log)

        # --- the systemd watchdog: WATCHDOG=1 at half of WATCHDOG_USEC ---
        d = Daemon(tmp, conf, name="watchdog", env_extra={"WATCHDOG_USEC": "400000"})
        try:
            check(d.wait_notify(r"(^|\n)READY=1"), "watchdog run: READY=1")
            pings = 0
            while pings < 3 and d.wait_notify(r"WATCHDOG=1", timeout=HANG_GUARD):
                pings += 1
            check(pings == 3, "WATCHDOG=1 sent again and again (%d pings)" % pings)
            rc = d.stop(signal.SIGTERM)
            check(rc == 0, "watchdog run: SIGTERM exit 0 (got %s)" % rc)
        finally:
            if failures:
                print("---- watchdog log ----\n" + d.text())
            d.close()

        # --- the scaled clock: loud, anchored in the database, kept over a restart ---
        anchors = []
        for i in range(2):
            d = Daemon(tmp, conf, ["--time-scale", "60"], name="scaled%d" % i)
            try:
                check(d.wait_notify(r"(^|\n)READY=1"), "scaled run %d: READY=1" % i)
                check(re.search(r"^<4>TIME IS SCALED.*60 times faster", d.text(), re.M),
                      "scaled run %d: warning that time is scaled" % i)
                rc = d.stop(signal.SIGINT)
                check(rc == 0, "scaled run %d: SIGINT exit 0 (got %s)" % (i, rc))
            finally:
                if failures:
                    print("---- scaled log ----\n" + d.text())
                d.close()
            con = sqlite3.connect(db)
            try:
                tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master "
                                                    "WHERE type='table'")]
                row = None
                for t in tables:
                    cols = [c[1] for c in con.execute("PRAGMA table_info(%s)" % t)]
                    if "key" in cols and "value" in cols:
                        row = con.execute("SELECT value FROM %s WHERE key=?" % t,
                                          ("clock.scaled_anchor",)).fetchone()
                        if row:
                            break
            finally:
                con.close()
            check(row is not None, "scaled run %d: anchor stored in the meta table" % i)
            anchors.append(row[0] if row else None)
        check(anchors[0] == anchors[1] and anchors[0] is not None,
              "the restart continues the same scaled timeline (%s)" % anchors)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

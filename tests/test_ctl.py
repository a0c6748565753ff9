#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""restockctl status and orders, end to end: orders seeded through the store
API, listed, shown, approved and rejected with restockctl (recorded as cli),
and status read from a real restockd over loopback."""
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from testcheck import check, failures  # tests/testcheck.py
from testports import reserve_port  # tests/testports.py

restockd, restockctl, seed = sys.argv[1:4]


def ctl(*args, url=None):
    cmd = [restockctl, "--config", cfg]
    if url:
        cmd += ["--url", url]
    p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def seed_order(consumable, quantity="1"):
    """An order pending approval for consumable (F-1 at 12.50), seeded into the store: its id."""
    return subprocess.run([seed, db, consumable, "F-1", quantity, "1250"], capture_output=True,
                          text=True, check=True).stdout.strip()


def last_transition(oid):
    """The last transition of order oid (orders show --json), {} when there is none."""
    rc, out, _ = ctl("orders", "show", oid, "--json")
    return ((json.loads(out) if rc == 0 else {}).get("transitions") or [{}])[-1]


def utc(text):
    """An ISO 8601 UTC time ("...Z") as a datetime, None for None."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def stop(p, sig):
    """Send sig to p; its exit code (killed after 10 s)."""
    p.send_signal(sig)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return p.returncode


tmp = tempfile.mkdtemp(prefix="restock-ctl-")
cfg = os.path.join(tmp, "config")
os.mkdir(cfg)
port = reserve_port()
db = os.path.join(tmp, "restock.db")
with open(os.path.join(cfg, "restock.yaml"), "w") as f:
    f.write(f"""gateway:
  id: ctl-gw
  site: "Test hall"
http:
  listen: 127.0.0.1:{port}
storage:
  path: {db}
orders:
  currency: EUR
catalog:
  - {{sku: F-1, supplier: acme, unit_price: "12.50"}}
suppliers:
  - {{id: acme}}
""")

oid = seed_order("press-01/filter", "2")
check(oid.startswith("R-"), f"seeded order {oid}")

rc, out, err = ctl("orders", "list", "--json")
doc = json.loads(out) if rc == 0 else {}
mine = [o for o in doc.get("orders", []) if o.get("id") == oid]
check(rc == 0 and len(mine) == 1, "orders list --json lists the order")
if mine:
    o = mine[0]
    check(o["state"] == "pending_approval", "its state is pending_approval")
    check(o["total"] == "25.00" and o["currency"] == "EUR", "total is the decimal string 25.00 EUR")
    check(o["shop_id"] is None, "shop_id is null until submitted")
    check(o["lines"] == [{"consumable": "press-01/filter", "sku": "F-1", "quantity": 2,
                          "unit_price": "12.50", "rule": "seeded"}], "its line is exact")
    check(o["approval"]["required"] is True, "approval.required is true")

rc, out, err = ctl("orders")
check(rc == 0 and oid in out and "pending_approval" in out, "orders (table) shows the order")

rc, out, err = ctl("orders", "show", oid)
check(rc == 0 and "press-01/filter" in out and "total     25.00 EUR" in out,
      "orders show prints lines and total")

rc, out, err = ctl("orders", "approve", oid)
check(rc == 0 and f"order {oid} approved" in out, "orders approve exits 0")
check(err == "", f"a decision that worked writes nothing on stderr (SPEC 2: errors go there): {err!r}")
rc, out, err = ctl("orders", "show", oid, "--json")
o = json.loads(out) if rc == 0 else {}
check(o.get("state") == "approved", "the order is approved in the database")
last = (o.get("transitions") or [{}])[-1]
check(last.get("actor") == "cli" and last.get("from") == "pending_approval"
      and last.get("to") == "approved", "the decision is recorded with actor cli")
check(o.get("approval", {}).get("decided_by") == "cli", "approval.decided_by is cli")

rc, out, err = ctl("orders", "approve", oid)
check(rc == 1 and "not waiting for approval" in err, "a second approve is refused (exit 1)")
check(err.count("\n") == 1 and not err.startswith("<"),
      f"the refusal is one line, without the journal's priority prefix: {err!r}")
rc, out, err = ctl("orders", "reject", oid)
check(rc == 1 and "not waiting for approval" in err, "reject after approve is refused")

oid2 = seed_order("press-01/hose")
rc, out, err = ctl("orders", "reject", oid2)
rc2, out2, _ = ctl("orders", "show", oid2, "--json")
check(rc == 0 and json.loads(out2)["state"] == "rejected", "orders reject moves it to rejected")

rc, out, err = ctl("orders", "show", "R-NOPE")
check(rc == 1 and "no order 'R-NOPE'" in err, "an unknown order exits 1 with a message")
rc, out, err = ctl("orders", "frob")
check(rc == 2, "a bad subcommand is a usage error (exit 2)")
rc, out, err = ctl("orders", "approve")
check(rc == 2 and "needs an order id" in err, "approve without an id is a usage error")

# `restockctl --help` lists every command, its arguments and what it does in
# two columns: the text starts in the same column on every command (on the
# next line when the arguments are too long), two spaces or more from them
rc, out, err = ctl("--help")
lines = out.splitlines()
cols = set()
for cmd in ("status", "orders", "consumables", "probe", "check", "init-db", "test-rules", "replay"):
    at = [i for i, l in enumerate(lines) if l.startswith("  %s " % cmd)]
    if not check(len(at) == 1, "restockctl --help lists %s once" % cmd):
        continue
    line = lines[at[0]]
    nxt = lines[at[0] + 1] if at[0] + 1 < len(lines) else ""
    m = re.match(r"^  \S+(?: +\S.*?\S)?(  +)(\S.*)$", line)
    if re.match(r"^ {20,}\S", nxt):
        cols.add(len(nxt) - len(nxt.lstrip()))
    elif m:
        cols.add(len(line) - len(m.group(2)))
    else:
        check(False, "restockctl --help: %s's text is two spaces from its arguments: %r" % (cmd, line))
check(rc == 0 and len(cols) == 1, "restockctl --help: every command's text starts in one column %s"
      % sorted(cols))


def man_entries(path):
    """{section: [the first word of each .TP entry]} of a man page, troff escapes removed."""
    with open(path) as f:
        lines = f.read().splitlines()
    out, sec = {}, None
    for i, line in enumerate(lines):
        if line.startswith(".SH "):
            sec = line[4:].strip()
        elif line == ".TP" and i + 1 < len(lines):
            word = re.sub(r"\\f[BIRP]", "", lines[i + 1]).replace("\\-", "-").replace('"', "")
            word = re.sub(r"^\.[A-Z]+\s+", "", word).split()
            out.setdefault(sec, []).append(word[0] if word else "")
    return out


# restockctl(1) describes every command of `restockctl --help` and no other, and its options
man = man_entries(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "packaging", "man",
                               "restockctl.1"))
listed = {l.split()[0] for l in lines if re.match(r"^  [a-z]", l)}
check(listed and set(man.get("COMMANDS", [])) == listed,
      "restockctl(1)'s COMMANDS are the commands of restockctl --help (man %s, --help %s)"
      % (sorted(set(man.get("COMMANDS", []))), sorted(listed)))
usage_opts = set(re.findall(r"\[(--[a-z-]+)", lines[0] if lines else "")) | {"--help", "--version"}
check(set(man.get("OPTIONS", [])) == usage_opts,
      "restockctl(1)'s OPTIONS are the options of restockctl's usage (man %s, usage %s)"
      % (sorted(man.get("OPTIONS", [])), sorted(usage_opts)))
# restockd(8)'s OPTIONS are those of `restockd --help`
p = subprocess.run([restockd, "--help"], capture_output=True, text=True, timeout=60)
# the options in brackets, and those of a usage line of their own ("restockd --version")
d_opts = (set(re.findall(r"\[(--[a-z-]+)", p.stdout + p.stderr))
          | set(re.findall(r"^\s*(?:usage: )?restockd (--[a-z-]+)$", p.stdout + p.stderr, re.M))
          | {"--help"})
d_man = man_entries(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "packaging",
                                 "man", "restockd.8"))
check(p.returncode == 0 and set(d_man.get("OPTIONS", [])) == d_opts,
      "restockd(8)'s OPTIONS are the options of restockd --help (man %s, --help %s)"
      % (sorted(d_man.get("OPTIONS", [])), sorted(d_opts)))

# every command answers --help with its usage on stdout and exit 0
for cmd in ("status", "orders", "consumables", "probe", "check", "init-db", "test-rules", "replay"):
    rc, out, err = ctl(cmd, "--help")
    check(rc == 0 and "usage: restockctl" in out and cmd in out and not err,
          f"restockctl {cmd} --help prints its usage and exits 0 (rc {rc}, {err.strip()!r})")

dead = reserve_port()
rc, out, err = ctl("status", url=f"http://127.0.0.1:{dead}")
check(rc == 1 and "cannot reach restockd" in err, "status without a daemon exits 1 and says so")

url = f"http://127.0.0.1:{port}"


def start_daemon(*extra):
    """restockd on cfg (with extra arguments) and whether it serves /healthz."""
    p = subprocess.Popen([restockd, "--config", cfg, *extra], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                return p, r.status == 200
        except OSError:
            time.sleep(0.1)
    return p, False


def stop_daemon(p):
    """SIGTERM; its exit code (killed after 10 s)."""
    return stop(p, signal.SIGTERM)


d, up = start_daemon()
check(up, "restockd serves /healthz")
rc, out, err = ctl("status", "--json", url=url)
st = json.loads(out) if rc == 0 else {}
check(rc == 0 and st.get("gateway", {}).get("id") == "ctl-gw", "status --json is the daemon's document")
check(any(o.get("id") == oid for o in st.get("orders", [])), "the approved order is among open orders")
rc, out, err = ctl("status", url=url)
check(rc == 0 and "gateway ctl-gw" in out and "OPEN ORDER" in out and oid in out,
      "status prints the table")
check("of " in out and " consumables\n" in out and "DAYS LEFT" in out and "STATE" in out,
      "status prints the overview's compact table")
# without --url, restockctl asks the daemon of its --config dir (its http.listen)
rc, out, err = ctl("status", "--json")
check(rc == 0 and json.loads(out).get("gateway", {}).get("id") == "ctl-gw",
      f"status without --url asks the daemon at the config's http.listen (rc {rc}: {err.strip()})")
rc, out, err = ctl("status", "--state", "no-such-state", url=url)
check(rc == 0 and "\n0 of " in out, "status --state filters the rows")
rc, out, err = ctl("status", "--watch", "0", url=url)
check(rc == 2 and "--watch SECONDS" in err, "status --watch 0 is a usage error")
# --watch N prints the table again every N seconds until Ctrl-C, then exits 0
w = subprocess.Popen([restockctl, "--config", cfg, "--url", url, "status", "--watch", "1"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
seen, lines = 0, []
deadline = time.monotonic() + 20
while seen < 2 and time.monotonic() < deadline:
    line = w.stdout.readline()
    if not line:
        break
    lines.append(line)
    seen += line.startswith("gateway ctl-gw")
wrc = stop(w, signal.SIGINT)
check(seen == 2 and wrc == 0,
      f"status --watch 1 prints the table again and stops on Ctrl-C (saw {seen}, rc {wrc})")
check(stop_daemon(d) == 0, "restockd stops cleanly")

# under --time-scale the decision lands on the daemon's (scaled) timeline, not the wall clock
d, up = start_daemon("--time-scale", "1000")
check(up, "restockd --time-scale 1000 serves /healthz")


def daemon_time():
    rc, out, _ = ctl("status", "--json", url=url)
    return utc(json.loads(out)["gateway"]["time"]) if rc == 0 else None


def wall_time():
    return datetime.datetime.now(datetime.timezone.utc)


def approve_between(oid, now):
    """restockctl orders approve oid between two readings of now(): (rc, out, before, after,
    the order's last transition)."""
    before = now()
    rc, out, _ = ctl("orders", "approve", oid)
    after = now()
    return rc, out, before, after, last_transition(oid)


oid3 = seed_order("press-01/pump")
rc, out, before, after, last = approve_between(oid3, daemon_time)
at = utc(last.get("time"))
check(rc == 0 and f"order {oid3} approved" in out, "orders approve exits 0 under --time-scale")
check(last.get("to") == "approved" and before and after and at and before <= at <= after,
      f"the approval is stamped with the daemon's scaled time ({before} <= {at} <= {after})")
check(stop_daemon(d) == 0, "restockd --time-scale stops cleanly")

# restockd back in real time on the same state: the anchor goes, restockctl stamps wall time
d, up = start_daemon()
check(up, "restockd (real time again) serves /healthz")
check(stop_daemon(d) == 0, "restockd (real time again) stops cleanly")
oid4 = seed_order("press-01/valve")
rc, out, before, after, last = approve_between(oid4, wall_time)
before = before.replace(microsecond=0)  # the stamp has whole seconds
at = utc(last.get("time"))
check(rc == 0 and f"order {oid4} approved" in out, "orders approve exits 0 after the real-time run")
check(last.get("to") == "approved" and at and before <= at <= after,
      f"after a real-time run the approval is stamped with the wall clock ({before} <= {at} <= {after})")

print(f"test_ctl: {len(failures)} failed")
sys.exit(1 if failures else 0)

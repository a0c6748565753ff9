#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Stock-take (SPEC 7, issue 11) on the CLI and the API, end to end:
`restockctl consumables set-spares|replaced|hold|release` straight on the
database, then the same over `POST /api/v1/consumables/{device}/{id}/...`
of a real restockd with http.admin. Each change leaves an audit row (actor,
time, subject); bad input (negative or non-integer counts, unknown ids,
releasing what is not held, no credential) gets exit 2 or HTTP 400/401/404
and changes nothing."""
import base64
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from testcheck import check, failures  # tests/testcheck.py
from testports import reserve_port  # tests/testports.py

restockd, restockctl = sys.argv[1:3]
ID = "press-01/filter"


def ctl(*args):
    p = subprocess.run([restockctl, "--config", cfg] + list(args), capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def state():
    """(spares, hold_kind, number of audit rows about ID)"""
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT spares, hold_kind FROM consumable_state WHERE id = ?",
                          (ID,)).fetchone()
        n = con.execute("SELECT count(*) FROM audit WHERE subject = ?", (ID,)).fetchone()[0]
    finally:
        con.close()
    return (row[0], row[1], n) if row else (None, None, n)


def audit_last():
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT actor, action, detail FROM audit WHERE subject = ?"
                           " ORDER BY id DESC LIMIT 1", (ID,)).fetchone()
    finally:
        con.close()


tmp = tempfile.mkdtemp(prefix="restock-stock-")
cfg = os.path.join(tmp, "config")
os.makedirs(os.path.join(cfg, "devices.d"))
port = reserve_port()
db = os.path.join(tmp, "restock.db")
hash_file = os.path.join(cfg, "admin.hash")
pw = subprocess.run(["openssl", "passwd", "-6", "s3cret"], capture_output=True, text=True,
                    check=True).stdout.strip()
with open(hash_file, "w") as f:
    f.write(pw + "\n")
os.chmod(hash_file, 0o600)
with open(os.path.join(cfg, "restock.yaml"), "w") as f:
    f.write(f"""gateway: {{id: stock-gw}}
http:
  listen: 127.0.0.1:{port}
  admin: {{user: ops, password_hash_file: admin.hash}}
storage: {{path: {db}}}
orders: {{currency: EUR}}
catalog:
  - {{sku: F-1, supplier: acme, unit_price: "12.50"}}
suppliers: [{{id: acme}}]
""")
with open(os.path.join(cfg, "devices.d", "press.yaml"), "w") as f:
    f.write(f"""devices:
  - id: press-01
    transport: {{type: modbus-tcp, host: 127.0.0.1, port: {reserve_port()}}}
    poll_interval: 1h
    points: [{{id: dp, register: holding, address: 0, type: uint16}}]
    consumables:
      - {{id: filter, sku: F-1, level: {{point: dp, full: 0, empty: 100}}, spares: 1}}
""")

# ---- the CLI, no daemon needed (the database made by the explicit step) ----
rc, out, err = ctl("init-db")
check(rc == 0 and "created the database" in out, "init-db creates the database (%r)" % err)
rc, out, err = ctl("consumables", "set-spares", ID, "3")
check(rc == 0 and "spares 3 (was 1)" in out, "set-spares 3 exits 0 and says what changed")
s = state()
check(s[0] == 3 and s[2] == 1, "spares is 3 and one audit row is stored")
a = audit_last()
check(a is not None and a[0] == "cli" and a[1] == "set-spares" and "1 -> 3" in a[2],
      "the audit row names actor cli, the action and the change")

for bad in ("-1", "2.5", "x", "+4", "03", ""):
    rc, out, err = ctl("consumables", "set-spares", ID, bad)
    check(rc == 2 and "whole number" in err and state() == s,
          f"set-spares '{bad}' exits 2 with a clear error and changes nothing")
rc, out, err = ctl("consumables", "set-spares", "press-01/nope", "1")
check(rc == 2 and "no consumable 'press-01/nope'" in err and state() == s,
      "an unknown consumable id exits 2 and changes nothing")
rc, out, err = ctl("consumables", "release", ID)
check(rc == 2 and "is not held" in err and state() == s,
      "releasing a consumable that is not held exits 2 and changes nothing")
rc, out, err = ctl("consumables", "frob", ID)
check(rc == 2, "an unknown subcommand is a usage error")

rc, out, err = ctl("consumables", "replaced", ID)
check(rc == 0 and "one spare taken" in out and state()[0] == 2, "replaced takes one spare")
rc, out, err = ctl("consumables", "hold", ID, "--reason", "line stopped for a refit")
check(rc == 0 and state()[1] == "manual", "hold holds it")
check(err == "", f"a stock-take that worked writes nothing on stderr (SPEC 2: errors go there): {err!r}")
check("line stopped for a refit" in (audit_last() or ("", "", ""))[2], "the reason is audited")
rc, out, err = ctl("consumables", "release", ID)
check(rc == 0 and state()[1] is None, "release releases it")
check(state()[2] == 4, "four changes, four audit rows")

# ---- the API of a running restockd ----
d = subprocess.Popen([restockd, "--config", cfg], stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True)
url = f"http://127.0.0.1:{port}"
up = False
for _ in range(100):
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
            up = r.status == 200
            break
    except OSError:
        time.sleep(0.1)
check(up, "restockd serves /healthz")
AUTH = "Basic " + base64.b64encode(b"ops:s3cret").decode()


ERROR_CODES = {}  # the API's error answers seen: {code: [HTTP status, ...]}


def post(path, body=None, auth=True):
    data = json.dumps(body).encode() if body is not None else b""
    req = urllib.request.Request(url + path, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    if auth:
        req.add_header("Authorization", AUTH)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            doc = json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")
        err = doc.get("error") if isinstance(doc, dict) else None
        code = err.get("code") if isinstance(err, dict) else None
        ERROR_CODES.setdefault(code, []).append(e.code)
        return e.code, doc


def documented_error_codes():
    """The codes docs/http-api.md names for errors under /api/ ("with codes `a`, `b`...")."""
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "http-api.md")
    with open(doc) as f:
        text = " ".join(f.read().split())
    m = re.search(r"with codes ((?:`[a-z_]+`(?: \(\d+\))?[,;.]? ?(?:and )?)+)", text)
    return set(re.findall(r"`([a-z_]+)`", m.group(1))) if m else set()


P = "/api/v1/consumables/" + ID
before = state()
code, doc = post(P + "/spares", {"spares": 5}, auth=False)
check(code == 401 and state() == before, "set spares without the credential: 401, nothing changes")
code, doc = post(P + "/hold", None, auth=False)
check(code == 401 and state() == before, "hold without the credential: 401, nothing changes")
code, doc = post(P + "/spares", {"spares": 5})
check(code == 200 and isinstance(doc, dict) and doc.get("spares") == 5 and state()[0] == 5,
      "POST .../spares {\"spares\": 5} sets it (200, the consumable in the answer)")
a = audit_last()
check(a is not None and a[0] == "admin:ops" and a[1] == "set-spares", "audited as admin:ops")
before = state()
for bad in ({"spares": -1}, {"spares": 1.5}, {"spares": "two"}, {}, [1]):
    code, doc = post(P + "/spares", bad)
    check(code == 400 and state() == before, f"spares {json.dumps(bad)}: 400, nothing changes")
code, doc = post("/api/v1/consumables/press-01/nope/spares", {"spares": 1})
check(code == 404 and state() == before, "an unknown consumable: 404")
code, doc = post(P + "/release")
check(code == 400 and "not held" in json.dumps(doc) and state() == before,
      "release when not held: 400, nothing changes")
code, doc = post(P + "/hold", {"reason": "supplier audit"})
check(code == 200 and doc.get("held") is True and doc.get("hold", {}).get("kind") == "manual",
      "hold: 200 and held with kind manual")
check(ERROR_CODES.get("bad_request") and set(ERROR_CODES["bad_request"]) == {400}
      and set(ERROR_CODES.get("unauthorized", [])) == {401}
      and set(ERROR_CODES.get("not_found", [])) == {404},
      "the refusals say bad_request (400), unauthorized (401), not_found (404): %r" % ERROR_CODES)
check(set(ERROR_CODES) <= documented_error_codes(),
      "every error code the API answered is one docs/http-api.md lists (%s; listed: %s)"
      % (sorted(map(str, ERROR_CODES)), sorted(documented_error_codes())))
code, st = 0, {}
with urllib.request.urlopen(url + "/api/v1/status", timeout=10) as r:
    code, st = r.status, json.loads(r.read())
c = [x for x in st.get("consumables", []) if x.get("id") == ID]
check(code == 200 and c and c[0].get("held") is True and c[0].get("spares") == 5
      and "supplier audit" in ((c[0].get("hold") or {}).get("reason") or ""),
      "/api/v1/status shows the hold, its reason and the spares")
with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
    metrics = r.read().decode()
check('restock_consumable_held{consumable="press-01/filter"} 1' in metrics
      and 'restock_alerts{kind="approval_expired"} 0' in metrics,
      "/metrics shows the hold and the alerts by kind")
code, doc = post(P + "/release")
check(code == 200 and doc.get("held") is False, "release: 200 and not held")
code, doc = post(P + "/replaced")
check(code == 200 and doc.get("spares") == 4, "replaced: one spare less")
check(state()[2] == before[2] + 3, "hold, release and replaced left three audit rows")

# the daemon sees a change restockctl makes while it runs
rc, out, err = ctl("consumables", "set-spares", ID, "7")
with urllib.request.urlopen(url + "/api/v1/consumables", timeout=10) as r:
    cs = json.loads(r.read()).get("consumables", [])
check(rc == 0 and any(x.get("id") == ID and x.get("spares") == 7 for x in cs),
      "a restockctl set-spares shows in the running daemon's API")

# the consumable page shows the stock forms and the audit trail
with urllib.request.urlopen(url + "/consumables/" + ID, timeout=10) as r:
    page = r.read().decode()
check('action="/consumables/press-01/filter/spares"' in page and 'name="csrf"' in page,
      "the consumable page has the stock-take forms with a CSRF token")
check("Stock-take history" in page and "admin:ops" in page, "and the audit rows")


def page_form(action):
    """GET the consumable page; the session cookie and the CSRF token of the form to action."""
    import re
    with urllib.request.urlopen(url + "/consumables/" + ID, timeout=10) as r:
        cookie = (r.headers.get("Set-Cookie") or "").split(";")[0]
        html = r.read().decode()
    m = re.search(r'action="' + re.escape(action) + r'"><input type="hidden" name="csrf" '
                  r'value="([0-9a-f]+)"', html)
    return cookie, m.group(1) if m else ""


def form_post(action, fields, cookie, auth=True):
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(url + action, data=data, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    if cookie:
        req.add_header("Cookie", cookie)
    if auth:
        req.add_header("Authorization", AUTH)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


import urllib.parse  # noqa: E402
A = "/consumables/" + ID + "/spares"
cookie, tok = page_form(A)
before = state()
check(cookie and tok, "the page's spares form carries a session and a CSRF token")
code = form_post(A, {"csrf": "0" * len(tok), "spares": "9"}, cookie)
check(code == 403 and state() == before, "a form with a wrong CSRF token: 403, nothing changes")
code = form_post(A, {"csrf": tok, "spares": "9"}, cookie, auth=False)
check(code == 401 and state() == before, "a form without the credential: 401, nothing changes")
code = form_post(A, {"csrf": tok, "spares": "9"}, cookie)
check(code == 303 and state()[0] == 9 and state()[2] == before[2] + 1,
      "the page's form sets spares (303 back to the page) with an audit row")

d.send_signal(signal.SIGTERM)
try:
    d.wait(timeout=10)
except subprocess.TimeoutExpired:
    d.kill()
check(d.returncode == 0, "restockd stops cleanly")
print(f"test_stock_ctl: {len(failures)} failed")
sys.exit(1 if failures else 0)

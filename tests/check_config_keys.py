# SPDX-License-Identifier: Apache-2.0
"""docs/configuration.md names every key the loader takes, and no other.

usage: check_config_keys.py RESTOCKD SOURCE_DIR

A config dir with an unknown key in every mapping of restock.yaml,
devices.d and rules.d goes through `restockd --check`; for a key it does not
know, the loader lists the keys it takes there ("unknown key (expected one
of: ...)"). Each list must be the key table of that mapping in
docs/configuration.md (the first column of the table under its heading).
A key added to the loader without a row, or a row for a key the loader
refuses, fails with the heading and the key.
"""
import os
import re
import subprocess
import sys
import tempfile

from testcheck import check, failures  # tests/testcheck.py

BOGUS = "zzqqxx"

RESTOCK_YAML = """zzqqxx: 1
gateway: {id: gw, zzqqxx: 1}
http: {zzqqxx: 1, admin: {zzqqxx: 1}}
storage: {zzqqxx: 1}
commerce: {zzqqxx: 1, auth: {zzqqxx: 1}, ship_to: {zzqqxx: 1}}
mail: {zzqqxx: 1}
orders: {zzqqxx: 1, batching: {zzqqxx: 1}, approval: {zzqqxx: 1}}
catalog: [{zzqqxx: 1}]
suppliers: [{zzqqxx: 1}]
"""
DEVICES_YAML = """devices:
  - zzqqxx: 1
    transport: {type: modbus-tcp, zzqqxx: 1}
    points: [{zzqqxx: 1}]
    consumables: [{zzqqxx: 1, level: {zzqqxx: 1}}, {usage: {zzqqxx: 1}}, {button: {zzqqxx: 1}}]
  - transport: {type: modbus-rtu, zzqqxx: 1}
  - transport: {type: coap, zzqqxx: 1}
    points: [{zzqqxx: 1}]
"""
RULES_YAML = """rules:
  - zzqqxx: 1
    match: {zzqqxx: 1}
    order: {zzqqxx: 1}
"""

# the loader's key path (file, path without the unknown key) -> where the
# doc has its table: (heading, bold label above the table or None, prefix of
# the rows that belong to it: "admin." for http.admin's rows in http's table)
WHERE = {
    ("restock.yaml", "gateway"): ("gateway", None, ""),
    ("restock.yaml", "http"): ("http", None, ""),
    ("restock.yaml", "http.admin"): ("http", None, "admin."),
    ("restock.yaml", "storage"): ("storage", None, ""),
    ("restock.yaml", "commerce"): ("commerce", None, ""),
    ("restock.yaml", "commerce.auth"): ("commerce", None, "auth."),
    ("restock.yaml", "commerce.ship_to"): ("commerce", None, "ship_to."),
    ("restock.yaml", "mail"): ("mail", None, ""),
    ("restock.yaml", "orders"): ("orders", None, ""),
    ("restock.yaml", "orders.batching"): ("orders", "orders.batching", ""),
    ("restock.yaml", "orders.approval"): ("orders", "orders.approval", ""),
    ("restock.yaml", "catalog[0]"): ("catalog", None, ""),
    ("restock.yaml", "suppliers[0]"): ("suppliers", None, ""),
    ("devices.d/a.yaml", "devices[0]"): ("Device keys", None, ""),
    ("devices.d/a.yaml", "devices[0].transport"): ("modbus-tcp", None, ""),
    ("devices.d/a.yaml", "devices[1].transport"): ("modbus-rtu", None, ""),
    ("devices.d/a.yaml", "devices[2].transport"): ("coap", None, ""),
    ("devices.d/a.yaml", "devices[0].points[0]"): ("Modbus points", None, ""),
    ("devices.d/a.yaml", "devices[2].points[0]"): ("CoAP points", None, ""),
    ("devices.d/a.yaml", "devices[0].consumables[0]"): ("consumables", None, ""),
    ("devices.d/a.yaml", "devices[0].consumables[0].level"): ("level", None, ""),
    ("devices.d/a.yaml", "devices[0].consumables[1].usage"): ("usage", None, ""),
    ("devices.d/a.yaml", "devices[0].consumables[2].button"): ("button", None, ""),
    ("rules.d/a.yaml", "rules[0]"): ("Rule keys", None, ""),
    ("rules.d/a.yaml", "rules[0].match"): ("match", None, ""),
    ("rules.d/a.yaml", "rules[0].order"): ("order", None, ""),
}


def loader_keys(restockd):
    """{(file, path): [keys]} from the loader's unknown-key messages."""
    with tempfile.TemporaryDirectory(prefix="restock-keys-") as d:
        for sub in ("devices.d", "rules.d"):
            os.mkdir(os.path.join(d, sub))
        for name, text in (("restock.yaml", RESTOCK_YAML), ("devices.d/a.yaml", DEVICES_YAML),
                           ("rules.d/a.yaml", RULES_YAML)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        out = subprocess.run([restockd, "--check", "--config", d], capture_output=True,
                             text=True, timeout=60)
    found = {}
    pat = re.compile(r"^(\S+?):\d+:\d+: (?:(\S+)\.)?" + BOGUS +
                     r": unknown key \(expected one of: ([^)]*)\)$")
    for line in (out.stdout + out.stderr).splitlines():
        m = pat.match(line)
        if m:
            found[(m.group(1), m.group(2) or "")] = [k.strip() for k in m.group(3).split(",")]
    return found


def doc_tables(path):
    """[(heading, label, [keys of the first column])] for every key table of the page."""
    tables, heading, label, rows = [], None, None, None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                heading, label, rows = line.lstrip("#").strip(), None, None
            elif line.startswith("**`"):
                label = line[3:line.index("`", 3)]
            elif line.startswith("| key |"):
                rows = []
                tables.append((heading, label, rows))
            elif rows is not None and line.startswith("| `"):
                first = line.split("|")[1]
                rows.extend(re.findall(r"`([^`]+)`", first))
            elif rows is not None and not line.startswith("|"):
                rows = None
    return tables


def main():
    restockd, src = sys.argv[1], sys.argv[2]
    doc = os.path.join(src, "docs", "configuration.md")
    found = loader_keys(restockd)
    tables = doc_tables(doc)
    for where, (heading, label, prefix) in sorted(WHERE.items()):
        if not check(where in found, "%s %s: the loader lists its keys" % where):
            continue
        rows = [r for h, lab, t in tables if h == heading and lab == label for r in t]
        if not check(rows, "docs/configuration.md has a key table under '%s'%s"
                     % (heading, " (%s)" % label if label else "")):
            continue
        documented = {r[len(prefix):] for r in rows
                      if r.startswith(prefix) and "." not in r[len(prefix):]}
        taken = set(found[where])
        check(not taken - documented,
              "%s %s: every key the loader takes has a row under '%s' (missing: %s)"
              % (where[0], where[1], heading, sorted(prefix + k for k in taken - documented)))
        check(not documented - taken,
              "%s %s: every row under '%s' is a key the loader takes (refused: %s)"
              % (where[0], where[1], heading, sorted(prefix + k for k in documented - taken)))
    # the sections of restock.yaml are the page's headings under "4. restock.yaml"
    top = found.get(("restock.yaml", ""), [])
    sections, inside = [], False
    with open(doc) as f:
        for line in f:
            if line.startswith("## "):
                inside = line.startswith("## 4. restock.yaml")
            elif inside and line.startswith("### "):
                sections.append(line[4:].strip())
    check(top and sorted(top) == sorted(sections),
          "restock.yaml's sections are the page's headings under '4. restock.yaml' (loader %s,"
          " page %s)" % (sorted(top), sorted(sections)))
    unknown = sorted(w for w in set(found) - set(WHERE) if w[1])
    check(not unknown, "every mapping the loader reported is one this test knows: %s" % unknown)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

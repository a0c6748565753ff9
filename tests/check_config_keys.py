# SPDX-License-Identifier: Apache-2.0
"""docs/configuration.md names every key the loader takes, and no other.

usage: check_config_keys.py RESTOCKD SOURCE_DIR [CFG_KEYS_DUMP]

A config dir with an unknown key in every mapping of restock.yaml,
devices.d and rules.d goes through `restockd --check`; for a key it does not
know, the loader lists the keys it takes there ("unknown key (expected one
of: ...)"). Each list must be the key table of that mapping in
docs/configuration.md (the first column of the table under its heading).
A key added to the loader without a row, or a row for a key the loader
refuses, fails with the heading and the key. With CFG_KEYS_DUMP
(tests/cfg_keys_dump.c: the loader's key tables with the default each key
takes), every default the loader fills in must be the page's "default"
cell for that key, as written in YAML, and the built-in default rule's
`when` (`cfg_keys_dump --default-rule`) must be the one written out in
docs/configuration.md ("The built-in default rule") and docs/rules.md
("Written out, the built-in `when` is ..."). And a rule's `when` on an unknown
variable lists the variables there are: docs/rules.md's Variables table.
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
calendar: {zzqqxx: 1, closed: [{zzqqxx: 1}]}
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
    when: zzqqxx > 1
    match: {zzqqxx: 1}
    order: {zzqqxx: 1}
"""

# where the page has each of the loader's key tables (cfg_load_key_tables()'s
# names, tests/cfg_keys_dump.c): (heading, bold label above the table or
# None, prefix of the rows that belong to it: "admin." for http.admin's rows
# in http's table)
TABLES = {
    "gateway": ("gateway", None, ""), "http": ("http", None, ""),
    "http.admin": ("http", None, "admin."), "storage": ("storage", None, ""),
    "commerce": ("commerce", None, ""), "commerce.auth": ("commerce", None, "auth."),
    "commerce.ship_to": ("commerce", None, "ship_to."), "mail": ("mail", None, ""),
    "orders": ("orders", None, ""), "orders.batching": ("orders", "orders.batching", ""),
    "orders.approval": ("orders", "orders.approval", ""), "catalog[]": ("catalog", None, ""),
    "suppliers[]": ("suppliers", None, ""), "calendar": ("calendar", None, ""),
    "calendar.closed[]": ("calendar", None, "closed[]."), "devices[]": ("Device keys", None, ""),
    "transport modbus-tcp": ("modbus-tcp", None, ""), "transport modbus-rtu": ("modbus-rtu", None, ""),
    "transport coap": ("coap", None, ""), "points modbus": ("Modbus points", None, ""),
    "points coap": ("CoAP points", None, ""), "consumables[]": ("consumables", None, ""),
    "consumables[].level": ("level", None, ""), "consumables[].usage": ("usage", None, ""),
    "consumables[].button": ("button", None, ""), "rules[]": ("Rule keys", None, ""),
    "rules[].match": ("match", None, ""), "rules[].order": ("order", None, ""),
}

# the loader's key path in its unknown-key messages (file, path without the
# unknown key) -> its table
WHERE = {
    ("restock.yaml", "gateway"): "gateway",
    ("restock.yaml", "http"): "http",
    ("restock.yaml", "http.admin"): "http.admin",
    ("restock.yaml", "storage"): "storage",
    ("restock.yaml", "commerce"): "commerce",
    ("restock.yaml", "commerce.auth"): "commerce.auth",
    ("restock.yaml", "commerce.ship_to"): "commerce.ship_to",
    ("restock.yaml", "mail"): "mail",
    ("restock.yaml", "orders"): "orders",
    ("restock.yaml", "orders.batching"): "orders.batching",
    ("restock.yaml", "orders.approval"): "orders.approval",
    ("restock.yaml", "catalog[0]"): "catalog[]",
    ("restock.yaml", "suppliers[0]"): "suppliers[]",
    ("restock.yaml", "calendar"): "calendar",
    ("restock.yaml", "calendar.closed[0]"): "calendar.closed[]",
    ("devices.d/a.yaml", "devices[0]"): "devices[]",
    ("devices.d/a.yaml", "devices[0].transport"): "transport modbus-tcp",
    ("devices.d/a.yaml", "devices[1].transport"): "transport modbus-rtu",
    ("devices.d/a.yaml", "devices[2].transport"): "transport coap",
    ("devices.d/a.yaml", "devices[0].points[0]"): "points modbus",
    ("devices.d/a.yaml", "devices[2].points[0]"): "points coap",
    ("devices.d/a.yaml", "devices[0].consumables[0]"): "consumables[]",
    ("devices.d/a.yaml", "devices[0].consumables[0].level"): "consumables[].level",
    ("devices.d/a.yaml", "devices[0].consumables[1].usage"): "consumables[].usage",
    ("devices.d/a.yaml", "devices[0].consumables[2].button"): "consumables[].button",
    ("rules.d/a.yaml", "rules[0]"): "rules[]",
    ("rules.d/a.yaml", "rules[0].match"): "rules[].match",
    ("rules.d/a.yaml", "rules[0].order"): "rules[].order",
}


def check_defaults(dump, doc):
    """Every default the loader writes in for a missing key is the one the page's
    "default" column names, as written in YAML (`60s`, `0.5%`, `ABCD`)."""
    out = subprocess.run([dump], capture_output=True, text=True, timeout=60)
    defaults = {}
    doc_tables(doc, defaults)
    seen, n = set(), 0
    for line in out.stdout.splitlines():
        table, key, default = line.split("\t")
        seen.add(table)
        if not check(table in TABLES, "the loader's key table %s is one this test knows" % table):
            continue
        heading, label, prefix = TABLES[table]
        if default == "-":
            continue
        cell = defaults.get((heading, label, prefix + key))
        n += 1
        check(cell == "`%s`" % default,
              "%s: the loader's default for '%s' is `%s`; docs/configuration.md '%s' says %r"
              % (table, prefix + key, default, heading, cell))
    check(out.returncode == 0 and seen == set(TABLES) and n > 30,
          "the loader's %d key tables were read, %d defaults compared" % (len(seen), n))


def check_default_rule(dump, src):
    """The built-in default rule's `when`, as the loader builds it (its early branch's
    confidence is the predictor's), is the one both pages write out."""
    out = subprocess.run([dump, "--default-rule"], capture_output=True, text=True, timeout=60)
    rule = out.stdout.strip()
    if not check(out.returncode == 0 and rule.startswith("runout_risk > "),
                 "cfg_keys_dump --default-rule printed the rule (%r)" % rule):
        return
    with open(os.path.join(src, "docs", "configuration.md")) as f:
        conf = f.read()
    m = re.search(r"### The built-in default rule\n.*?\n  when: ([^\n]*)\n", conf, re.S)
    check(m and m.group(1) == rule,
          "docs/configuration.md's built-in default rule is the loader's:\n  page:   %s\n"
          "  loader: %s" % (m.group(1) if m else None, rule))
    with open(os.path.join(src, "docs", "rules.md")) as f:
        text = " ".join(f.read().split())
    m = re.search(r"Written out, the built-in `when` is `([^`]*)`", text)
    check(m and m.group(1) == rule,
          "docs/rules.md's written-out default rule is the loader's:\n  page:   %s\n"
          "  loader: %s" % (m.group(1) if m else None, rule))


def loader_keys(restockd):
    """{(file, path): [keys]} from the loader's unknown-key messages; the variables
    of its unknown-variable message under ("rules.d/a.yaml", "when")."""
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
        m = re.search(r"unknown variable '%s' \(variables are ([^)]*)\)$" % BOGUS, line)
        if m:
            found[("rules.d/a.yaml", "when")] = [k.strip() for k in m.group(1).split(",")]
    return found


def rules_variables(src):
    """The first column of docs/rules.md's table under "## Variables"."""
    names, inside = set(), False
    with open(os.path.join(src, "docs", "rules.md")) as f:
        for line in f:
            if line.startswith("## "):
                inside = line.startswith("## Variables")
            elif inside and line.startswith("| `"):
                names.update(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
    return names


def cells(line):
    """The cells of a table row, an escaped \\| kept inside its cell."""
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def doc_tables(path, defaults=None):
    """[(heading, label, [keys of the first column])] for every key table of the page;
    with defaults (a dict), also {(heading, label, key): its "default" cell}."""
    tables, heading, label, rows, head = [], None, None, None, None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                heading, label, rows = line.lstrip("#").strip(), None, None
            elif line.startswith("**`"):
                label = line[3:line.index("`", 3)]
            elif line.startswith("| key |"):
                rows, head = [], cells(line)
                tables.append((heading, label, rows))
            elif rows is not None and line.startswith("| `"):
                row = cells(line)
                keys = re.findall(r"`([^`]+)`", row[0])
                rows.extend(keys)
                if defaults is not None and "default" in head and len(keys) == 1:
                    defaults[(heading, label, keys[0])] = row[head.index("default")]
            elif rows is not None and not line.startswith("|"):
                rows = None
    return tables


def main():
    restockd, src = sys.argv[1], sys.argv[2]
    doc = os.path.join(src, "docs", "configuration.md")
    found = loader_keys(restockd)
    tables = doc_tables(doc)
    for where, table in sorted(WHERE.items()):
        heading, label, prefix = TABLES[table]
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
    if len(sys.argv) > 3:
        check_defaults(sys.argv[3], doc)
        check_default_rule(sys.argv[3], src)
    # the rules' variables are docs/rules.md's table of them
    taken, documented = set(found.get(("rules.d/a.yaml", "when"), [])), rules_variables(src)
    check(taken and taken == documented,
          "the variables a rule's `when` takes are docs/rules.md's Variables table (missing "
          "there: %s; not taken: %s)" % (sorted(taken - documented), sorted(documented - taken)))
    found.pop(("rules.d/a.yaml", "when"), None)
    unknown = sorted(w for w in set(found) - set(WHERE) if w[1])
    check(not unknown, "every mapping the loader reported is one this test knows: %s" % unknown)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

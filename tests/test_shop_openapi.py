#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""docs/commerce-api.yaml (the OpenAPI 3 file of SPEC 9) against the sandbox
shop that implements it (restock-sim): every answer the shop gives to the
requests a client can make has its status listed for that path and method,
comes as application/json, and carries the fields the document requires
(OrderCreated, OrderStatus, Product, Error; money as decimal strings). Also
the idempotency rules the document spells out: no key 400, the same key and
body 200 with the first answer, another body 422, a key in progress 409.

usage: test_shop_openapi.py RESTOCK_SIM SOURCE_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

try:
    import yaml  # python3-yaml (scripts/deps.sh test)
except ImportError:
    print("test_shop_openapi: skipped (python3-yaml missing: apt-get install python3-yaml)")
    sys.exit(77)

from testcheck import check, failures  # tests/testcheck.py

sim, src = sys.argv[1:3]
with open(os.path.join(src, "docs", "commerce-api.yaml"), encoding="utf-8") as f:
    api = yaml.safe_load(f)
schemas = api["components"]["schemas"]
TOKEN = "s3cret-token"

tmp = tempfile.mkdtemp(prefix="restock-openapi-")
with open(os.path.join(tmp, "tok"), "w", encoding="utf-8") as f:
    f.write(TOKEN + "\n")
os.chmod(os.path.join(tmp, "tok"), 0o600)
with open(os.path.join(tmp, "sim.yaml"), "w", encoding="utf-8") as f:
    f.write("""shop:
  listen: 127.0.0.1:0
  db: shop.db
  products:
    - {sku: FLT-100, unit_price: "42.50", currency: EUR, lead_time_days: 3}
    - {sku: "INK/C+1", unit_price: "7.00", currency: EUR, available: false}
  processing_delay: 5s
  auth: {type: bearer, token_file: tok}
""")
proc = subprocess.Popen([sim, "--config", os.path.join(tmp, "sim.yaml")], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, text=True)
line = proc.stdout.readline()
m = re.search(r"shop listening on (http://\S+)", line)
if not m:
    print("FAIL: restock-sim did not start its shop: %r" % line)
    proc.kill()
    sys.exit(1)
base = m.group(1)


def request(method, path, body=None, key=None, auth=True):
    """(status, content type, parsed JSON or None) of one request to the shop."""
    req = urllib.request.Request(base + path, method=method,
                                 data=body.encode() if body is not None else None)
    if auth:
        req.add_header("Authorization", "Bearer " + TOKEN)
    if key is not None:
        req.add_header("Idempotency-Key", key)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, ctype, data = r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        status, ctype, data = e.code, e.headers.get("Content-Type", ""), e.read()
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    return status, ctype, doc


def documented(path, method, status):
    """Whether the document lists status for path and method (5XX covers 500-599)."""
    responses = api["paths"][path][method]["responses"]
    return str(status) in responses or (500 <= status <= 599 and "5XX" in responses)


def schema_of(path, method, status):
    """The schema name of the documented JSON answer, or None."""
    r = api["paths"][path][method]["responses"].get(str(status))
    if r is None:
        return None
    if "$ref" in r:
        r = api["components"]["responses"][r["$ref"].split("/")[-1]]
    ref = r["content"]["application/json"]["schema"]["$ref"]
    return ref.split("/")[-1]


def conforms(doc, name):
    """Whether doc has the required fields of schema name, with the documented types."""
    s = schemas[name]
    if not isinstance(doc, dict):
        return False
    for k in s.get("required", []):
        if k not in doc:
            return False
    for k, p in s.get("properties", {}).items():
        if k not in doc:
            continue
        if "$ref" in p or "allOf" in p:
            ref = (p.get("$ref") or p["allOf"][0]["$ref"]).split("/")[-1]
            sub = schemas[ref]
            if sub.get("type") == "string":
                if not isinstance(doc[k], str) or not re.fullmatch(sub["pattern"], doc[k]):
                    return False
            elif not conforms(doc[k], ref):
                return False
        elif p.get("type") == "string" and not isinstance(doc[k], str):
            return False
        elif p.get("type") == "boolean" and not isinstance(doc[k], bool):
            return False
        elif p.get("type") == "number" and (isinstance(doc[k], bool)
                                            or not isinstance(doc[k], (int, float))):
            return False
        if "enum" in p and doc[k] not in p["enum"]:
            return False
    return True


def answer(what, method, path, doc_path, want, **kw):
    """One request: the status is want, documented, JSON, and its body fits the schema."""
    status, ctype, doc = request(method, path, **kw)
    check(status == want, "%s: %d (got %d %r)" % (what, want, status, doc))
    check(documented(doc_path, method.lower(), status),
          "%s: %d is documented for %s %s" % (what, status, method, doc_path))
    check(ctype.startswith("application/json"), "%s: application/json (got %r)" % (what, ctype))
    name = schema_of(doc_path, method.lower(), status)
    check(name is not None and conforms(doc, name),
          "%s: the body is a %s: %r" % (what, name, doc))
    return doc


def order_body(ref, sku="FLT-100", currency="EUR", customer="C-1042"):
    """An OrderRequest as restockd sends it: compact JSON, keys sorted."""
    return json.dumps({"currency": currency, "customer_id": customer,
                       "lines": [{"quantity": 2, "sku": sku, "unit_price": "42.50"}],
                       "reference": ref,
                       "ship_to": {"city": "Bremen", "country": "DE", "name": "Plant 7 stores",
                                   "street": "Hafenstrasse 1"}},
                      sort_keys=True, separators=(",", ":"))


try:
    check(set(api["paths"]) == {"/orders", "/orders/{id}", "/products/{sku}"},
          "the document has the three paths of SPEC 9")
    # POST /orders: the idempotency rules
    answer("no key", "POST", "/orders", "/orders", 400, body=order_body("k-1"))
    answer("a key over 64 characters", "POST", "/orders", "/orders", 400,
           body=order_body("k" * 65), key="k" * 65)
    answer("no credential", "POST", "/orders", "/orders", 401, body=order_body("k-1"), key="k-1",
           auth=False)
    answer("a body that is not JSON", "POST", "/orders", "/orders", 400, body="not json",
           key="k-2")
    answer("an unknown SKU", "POST", "/orders", "/orders", 422, body=order_body("k-3", "NOPE-1"),
           key="k-3")
    answer("another currency", "POST", "/orders", "/orders", 422,
           body=order_body("k-4", currency="USD"), key="k-4")
    # an order POST stays in progress for 5 s (processing_delay): two clients send the same
    # key and body at once; one of them is first (201), the other, while it is processed, 409
    answers = []
    lock = threading.Lock()

    def post_k5():
        """POST k-5 until the answer is 409 or a replay (200); record every answer."""
        while True:
            status, ctype, doc = request("POST", "/orders", body=order_body("k-5"), key="k-5")
            with lock:
                answers.append((status, ctype, doc))
            if status in (200, 409) or status >= 500 or len(answers) > 50:
                return

    threads = [threading.Thread(target=post_k5) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    firsts = [a for a in answers if a[0] == 201]
    check(len(firsts) == 1, "two clients, one key: exactly one 201 (got %r)"
          % [a[0] for a in answers])
    check(any(a[0] == 409 for a in answers) and documented("/orders", "post", 409),
          "the same key while the first request is processed: 409 (documented)")
    for status, ctype, doc in answers:
        name = schema_of("/orders", "post", status)
        check(documented("/orders", "post", status) and ctype.startswith("application/json")
              and name is not None and conforms(doc, name),
              "answer %d to the same key is documented, JSON, a %s: %r" % (status, name, doc))
    created = firsts[0][2] if firsts else {}
    again = answer("the same key and body again", "POST", "/orders", "/orders", 200,
                   body=order_body("k-5"), key="k-5")
    check(again.get("id") == created.get("id"), "the replay is the first answer (same shop id)")
    answer("the same key, another body", "POST", "/orders", "/orders", 422,
           body=order_body("k-5", customer="C-9"), key="k-5")
    # GET /orders/{id}
    oid = created.get("id", "none")
    st = answer("an order's status", "GET", "/orders/" + urllib.request.quote(oid, safe=""),
                "/orders/{id}", 200)
    check(st.get("status") == "accepted", "a new order is accepted: %r" % st)
    answer("an unknown order", "GET", "/orders/SO-NOPE", "/orders/{id}", 404)
    answer("an order without credential", "GET", "/orders/" + oid, "/orders/{id}", 401,
           auth=False)
    # GET /products/{sku}
    p = answer("a product", "GET", "/products/FLT-100", "/products/{sku}", 200)
    check(p.get("unit_price") == "42.50" and p.get("lead_time_days") == 3
          and p.get("available") is True, "the product's figures: %r" % p)
    p = answer("a product with / and + in its SKU", "GET",
               "/products/" + urllib.request.quote("INK/C+1", safe=""), "/products/{sku}", 200)
    check(p.get("sku") == "INK/C+1" and p.get("available") is False,
          "a percent-encoded SKU is the product: %r" % p)
    answer("an unknown product", "GET", "/products/NOPE-1", "/products/{sku}", 404)
    # a method a path does not take: 405 with Allow (the document's conventions)
    status, ctype, doc = request("DELETE", "/orders/" + oid)
    check(status == 405 and ctype.startswith("application/json")
          and (doc or {}).get("error", {}).get("code") == "method_not_allowed",
          "DELETE /orders/{id}: 405 method_not_allowed as the document says (%d %r)"
          % (status, doc))
finally:
    proc.terminate()
    proc.wait(timeout=10)
    subprocess.run(["rm", "-rf", tmp], check=False)

print("test_shop_openapi: %d failed" % len(failures))
sys.exit(1 if failures else 0)

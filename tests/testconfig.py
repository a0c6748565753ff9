# SPDX-License-Identifier: Apache-2.0
"""restock.yaml texts the Python tests share (tests/orders_shop.py,
tests/test_abuse_shop.py, tests/test_abuse_fsize.py, tests/test_attack_*.py):
one gateway ordering from a shop on loopback, with one catalog part (FLT-100
from acme, 42.50 EUR, 3 days) and every commerce setting the shop checks;
one with approval mails sent to an SMTP server on loopback."""


def shop_gateway_yaml(gw_id, http, db, shop, timeout="5s", status_interval="1h", auth=""):
    """restock.yaml of gateway gw_id: HTTP on 127.0.0.1:http, the database db,
    the shop's API at http://127.0.0.1:shop/api/v1 with the given commerce
    timeout and status_interval; auth, when given, is the commerce.auth
    flow mapping ("{type: bearer, token_file: shop.token}")."""
    return """gateway: {id: %s}
http: {listen: "127.0.0.1:%d"}
storage: {path: %s}
commerce:
  base_url: http://127.0.0.1:%d/api/v1
  timeout: %s
%s  status_interval: %s
  customer_id: C-1042
  ship_to: {name: Plant 7 stores, street: Hafenstrasse 1, city: Bremen, postcode: "28195", country: DE}
orders:
  currency: EUR
catalog:
  - {sku: FLT-100, supplier: acme, unit_price: "42.50", currency: EUR, lead_time: 3d}
suppliers:
  - {id: acme}
""" % (gw_id, http, db, shop, timeout, "  auth: %s\n" % auth if auth else "", status_interval)


def mail_gateway_yaml(gw_id, http, db, smtp):
    """restock.yaml of gateway gw_id: HTTP on 127.0.0.1:http (its public URL
    too), the database db, approval mails to anna@example.com through the
    SMTP server on 127.0.0.1:smtp (no STARTTLS), the same catalog part."""
    return """gateway: {id: %s}
http: {listen: "127.0.0.1:%d", public_url: "http://127.0.0.1:%d"}
storage: {path: %s}
mail: {smtp_url: "smtp://127.0.0.1:%d", starttls: "off", from: "restock@example.com"}
orders:
  currency: EUR
  approval: {approvers: [anna@example.com]}
catalog:
  - {sku: FLT-100, supplier: acme, unit_price: "42.50", currency: EUR, lead_time: 3d}
suppliers:
  - {id: acme}
""" % (gw_id, http, http, db, smtp)

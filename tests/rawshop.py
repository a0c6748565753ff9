# SPDX-License-Identifier: Apache-2.0
"""A raw HTTP/1.1 shop on 127.0.0.1 for the hostile-shop tests
(tests/test_abuse_shop.py, tests/test_attack_shop.py): the socket, the
request parsing and the correct shop's bookkeeping; a test's subclass says
how to answer (post(), get()).

`bad` is how many more answers of the case's kind to give before answering
correctly (take_bad()); orders are recorded by key as a correct shop does
(the same key and body get the first answer again)."""
import json
import socketserver
import threading


class RawShop:
    def __init__(self, case, bad):
        self.case, self.bad = case, bad
        self.lock = threading.Lock()
        self.orders = {}  # key -> (shop id, body)
        self.posts = []  # (key, body) of every POST
        shop = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    while shop.serve_one(self.request):
                        pass
                except OSError:
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.srv = Server(("127.0.0.1", 0), Handler)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def take_bad(self):
        with self.lock:
            if self.bad > 0:
                self.bad -= 1
                return True
            return False

    def serve_one(self, s):
        """One request on socket s; False when the connection is over."""
        data = b""
        while b"\r\n\r\n" not in data:
            c = s.recv(65536)
            if not c:
                return False
            data += c
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        hdr = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdr[k.strip().lower()] = v.strip()
        n = int(hdr.get("content-length", "0"))
        while len(body) < n:
            c = s.recv(65536)
            if not c:
                return False
            body += c
        if method == "POST" and path.endswith("/orders"):
            return self.post(s, hdr.get("idempotency-key", ""), body)
        if method == "GET" and "/orders/" in path:
            return self.get(s, path.rsplit("/", 1)[1])
        self.send(s, 404, b'{"error":{"code":"not_found","message":"no"}}')
        return True

    def post(self, s, key, body):
        st, ans, _ = self.record(key, body)
        self.send(s, st, ans)
        return True

    def get(self, s, sid):
        self.send(s, 404, b'{"error":{"code":"not_found","message":"unknown order"}}')
        return True

    @staticmethod
    def send(s, status, body, ctype="application/json", extra=""):
        s.sendall(("HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" %
                   (status, ctype, len(body), extra)).encode() + body)

    def record(self, key, body):
        """The correct shop: the first answer for a key, recorded once;
        (HTTP status, answer, shop id)."""
        with self.lock:
            if key not in self.orders:
                self.orders[key] = ("SO-%06d" % (len(self.orders) + 1), body)
            sid, first = self.orders[key]
        if first != body:
            return 422, b'{"error":{"code":"idempotency_key_reused","message":"other body"}}', sid
        ref = json.loads(body)["reference"]
        return 201, json.dumps({"id": sid, "status": "accepted", "reference": ref}).encode(), sid

# SPDX-License-Identifier: Apache-2.0
"""Test peers that accept and then hang, on 127.0.0.1 (or a DNS blackhole).

usage: /usr/bin/python3 stall_peers.py MODE LOGFILE
MODE:
  blackhole  HTTP: accept, read the request, never answer
  trickle    HTTP: accept, read the request, answer "HTTP/1.1 200 OK" and a
             JSON body one byte per second (it never completes in time)
  smtpstall  SMTP: greet with 220, read what comes, never answer again
  holdfirst  HTTP shop: the first order POST is held (never answered); every
             later POST gets 201 {"id": "SO-<n>", "status": "accepted"};
             GET /products/SKU gets FLT-100's product (42.50 EUR)
  dns        UDP 127.0.0.1:53: read queries, never answer (needs a network
             namespace of one's own)
Prints "port N" once it listens. Every connection's received bytes are
appended to LOGFILE as one JSON line {"conn": k, "data": "<latin-1>",
"closed": bool} when the connection ends ("closed": true) or every second
while it lasts (the last line of a connection wins), so a test can see
which requests arrived and which connections are still open.
"""
import json
import socket
import sys
import threading
import time

LOCK = threading.Lock()
COUNT = [0]
HELD = [False]


def record(logfile, k, data, closed=False):
    with LOCK:
        with open(logfile, "a") as f:
            f.write(json.dumps({"conn": k, "data": data.decode("latin-1"),
                                "closed": closed}) + "\n")


def serve_conn(conn, mode, logfile, k):
    data = b""
    last = 0.0
    conn.settimeout(0.2)
    try:
        if mode == "smtpstall":
            conn.sendall(b"220 stall.test ESMTP ready\r\n")
        sent = 0
        body = b'{"id":"SO-1","status":"accepted"}' + b" " * 4096
        while True:
            try:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            except socket.timeout:
                pass
            now = time.monotonic()
            if mode == "holdfirst" and b"\r\n\r\n" in data and not sent:
                head, _, rest = data.partition(b"\r\n\r\n")
                m = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                post = head.startswith(b"POST ")
                hold = False
                if post:
                    with LOCK:
                        hold = not HELD[0]
                        HELD[0] = True
                if hold:
                    sent = -1  # this one is never answered
                elif len(rest) >= (int(m[0].split(b":")[1]) if m else 0):
                    out = (b'{"id":"SO-%d","status":"accepted"}' % k if post else
                           b'{"sku":"FLT-100","unit_price":"42.50","currency":"EUR",'
                           b'"lead_time_days":3,"available":true}')
                    conn.sendall((b"HTTP/1.1 201 Created" if post else b"HTTP/1.1 200 OK") +
                                 b"\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(out)
                                 + out)
                    sent = 1
                    break
            if mode == "trickle" and b"\r\n\r\n" in data and now - last >= 1.0:
                if sent == 0:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n" % len(body))
                conn.sendall(body[sent:sent + 1])
                sent += 1
            if now - last >= 1.0:
                last = now
                record(logfile, k, data)
    except OSError:
        pass
    finally:
        record(logfile, k, data, closed=True)
        conn.close()


def main():
    mode, logfile = sys.argv[1], sys.argv[2]
    if mode == "dns":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 53))
        print("port 53", flush=True)
        while True:
            s.recvfrom(4096)  # and never answer
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    print("port %d" % srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        with LOCK:
            COUNT[0] += 1
            k = COUNT[0]
        threading.Thread(target=serve_conn, args=(conn, mode, logfile, k), daemon=True).start()


if __name__ == "__main__":
    main()

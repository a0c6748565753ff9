# SPDX-License-Identifier: Apache-2.0
"""An observed CoAP device whose notifications arrive while requests to it
are lost is not down (adapters/coap.c, the liveness GET).

usage: /usr/bin/python3 test_coap_lossy.py POLL_TOOL

The peer is libcoap's coap-server-openssl; its /time resource (?ticks: the
seconds since 1970 as text) is observable and notifies every second (Max-Age
1). Between it and the poll tool sits a UDP relay of ours that models a lossy
uplink: it passes every datagram, except the GETs without an Observe option
that go to the server (the liveness GET a poll sends when every point is
observed and fresh). The sequence:

1. poll 1 registers /time (a GET with Observe: 0 passes the relay): observed.
2. notifications arrive every second, between polls and during them.
3. each later poll has nothing to GET: before, it sent the liveness GET,
   which the relay drops; no pong within timeout x (retries + 1) failed the
   poll ("no answer to a liveness GET (ping)"), reset the session (the next
   poll registered again) and, with down_after 1, marked the device down,
   although a notification had come during that very wait.
   Now a notification since the last poll began, or during the ping's wait,
   is the device answering: every poll succeeds, the device stays up, and the
   one registration lasts the whole run.

Exit 0 pass, 1 fail, 77 skip (libcoap's tools missing). No timing is
asserted; the run's length only gives the device enough polls.
"""
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from testcheck import check, failures  # tests/testcheck.py

SERVER = "/usr/bin/coap-server-openssl"
poll_tool = sys.argv[1]
if not os.access(SERVER, os.X_OK):
    print("skip: %s missing (Debian libcoap3-bin)" % SERVER)
    sys.exit(77)


def coap_request(d):
    """(code, its Observe value or None) of a CoAP datagram, or None when it is not one."""
    if len(d) < 4 or d[0] >> 6 != 1:
        return None
    tkl, code, i, num = d[0] & 0x0F, d[1], 4 + (d[0] & 0x0F), 0
    if tkl > 8 or i > len(d):
        return None
    while i < len(d) and d[i] != 0xFF:
        delta, length = d[i] >> 4, d[i] & 0x0F
        i += 1
        if delta == 13:
            delta, i = d[i] + 13, i + 1
        elif delta == 14:
            delta, i = struct.unpack(">H", d[i:i + 2])[0] + 269, i + 2
        if length == 13:
            length, i = d[i] + 13, i + 1
        elif length == 14:
            length, i = struct.unpack(">H", d[i:i + 2])[0] + 269, i + 2
        num += delta
        if num == 6:
            return code, int.from_bytes(d[i:i + length], "big")
        i += length
    return code, None


class Relay:
    """UDP relay on 127.0.0.1 (port: self.port) to the server at 127.0.0.1:server, one
    upstream socket per client address; drops the client's GETs without Observe."""

    def __init__(self, server):
        self.server = server
        self.down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.down.bind(("127.0.0.1", 0))
        self.port = self.down.getsockname()[1]
        self.up = {}  # client address -> socket to the server
        self.dropped = self.registrations = self.to_client = 0
        self.stop = False
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stop:
            socks = [self.down] + list(self.up.values())
            r, _, _ = select.select(socks, [], [], 0.1)
            for s in r:
                d, addr = s.recvfrom(65536)
                if s is self.down:
                    req = coap_request(d)
                    if req and req[0] == 1 and req[1] is None:
                        self.dropped += 1  # a plain GET: lost on the way
                        continue
                    if req and req[0] == 1 and req[1] == 0:
                        self.registrations += 1  # (Observe: 1 deregisters, at the end)
                    if addr not in self.up:
                        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        u.connect(("127.0.0.1", self.server))
                        self.up[addr] = u
                    self.up[addr].send(d)
                else:
                    client = [a for a, u in self.up.items() if u is s][0]
                    self.to_client += 1
                    self.down.sendto(d, client)


def start_server():
    """coap-server-openssl on a free UDP port; returns (process, port)."""
    for _ in range(20):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        p = subprocess.Popen([SERVER, "-A", "127.0.0.1", "-p", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        if p.poll() is None:
            t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                t.bind(("127.0.0.1", port))
                t.close()  # nobody holds it: the server did not bind
                p.kill()
                p.wait()
                continue
            except OSError:
                return p, port
        p.wait()
    raise RuntimeError("coap-server-openssl did not start")


tmp = tempfile.mkdtemp(prefix="restock-coap-lossy-")
server, port = start_server()
relay = Relay(port)
try:
    os.makedirs(os.path.join(tmp, "cfg", "devices.d"))
    with open(os.path.join(tmp, "cfg", "restock.yaml"), "w") as f:
        f.write("gateway: {id: lossy-gw}\n")
    with open(os.path.join(tmp, "cfg", "devices.d", "clock.yaml"), "w") as f:
        f.write("""devices:
  - id: clock
    transport: {type: coap, uri: "coap://127.0.0.1:%d?ticks"}
    poll_interval: 500ms
    timeout: 500ms
    retries: 1
    down_after: 1
    points:
      - {id: t, path: /time, observe: true}
""" % relay.port)
    out = subprocess.run([poll_tool, os.path.join(tmp, "cfg"), "9000"], capture_output=True,
                         text=True, timeout=120)
finally:
    relay.stop = True
    relay.th.join(timeout=5)
    server.kill()
    server.wait()
    shutil.rmtree(tmp, ignore_errors=True)

st = [l for l in out.stdout.splitlines() if l.startswith("S clock ")]
fields = dict(kv.split("=", 1) for kv in st[0].split()[2:]) if st else {}
good = [l for l in out.stdout.splitlines() if l.startswith("R ") and l.split()[4] == "ok"]
check(out.returncode == 0, "the poll tool exits 0 (rc %d)" % out.returncode)
check(int(fields.get("polls", 0)) >= 8, "the device was polled (%s)" % fields.get("polls"))
check(len(good) >= 5, "notifications arrived all along (%d readings)" % len(good))
check(relay.dropped >= 1, "liveness GETs were lost on the way (%d dropped): the case happened"
      % relay.dropped)
check(fields.get("failures") == "0" and fields.get("up") == "1",
      "no poll failed and the device is up while its notifications arrive (%s)"
      % (st[0] if st else None))
check("liveness GET" not in out.stderr and "down after" not in out.stderr,
      "nothing logged about a missing ping or a down device (%r)" % out.stderr[-300:])
check(relay.registrations == 1,
      "one registration for the whole run: the observation was never reset (%d)"
      % relay.registrations)
print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""How long a new client waits while others hold restockd's connection slots
(docs/BENCHMARKS.md, "HTTP (bench/http)": slots).

  bench/http/slots.py RESTOCKD [ROUNDS]

Starts RESTOCKD on 127.0.0.1 (a config with no devices, in a temp dir),
then measures a newcomer from 127.0.0.6: a new connection, `GET /healthz`,
the time until the whole answer is in, ROUNDS times (default 5):
  1. baseline: nobody else connected;
  2. silent: 64 connections from 127.0.0.2-5 (16 each, the per-client
     limit) that send nothing, each reopened as soon as restockd closes it,
     opened 0.5 s before the newcomer;
The 64 are closed after each newcomer and opened anew for the next. Prints
one line per case: median and max seconds, and how many rounds got no
answer within 30 s. (Clients that ask and do not read hold a slot only for
an answer larger than the kernel's socket buffers take, megabytes: not a
case for a plant of this size; test_httpd covers it.) Only 127.0.0.x; every socket and the daemon end with
the run.
"""
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

WAIT = 30.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def newcomer(port):
    """Seconds from connect to the whole /healthz answer, or None (no answer in WAIT s)."""
    t0 = time.monotonic()
    s = socket.socket()
    s.settimeout(WAIT)
    try:
        s.bind(("127.0.0.6", 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return time.monotonic() - t0 if got.startswith(b"HTTP/1.1 ") else None
    except OSError:
        return None
    finally:
        s.close()


class Holders(threading.Thread):
    """64 connections from 127.0.0.2-5 (16 each) that send nothing; one restockd
    closes is opened again at once."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop = port, threading.Event()
        self.sel = selectors.DefaultSelector()
        self.socks, self.reopened = [], 0

    def open_one(self, i):
        s = socket.socket()
        s.bind(("127.0.0.%d" % (2 + i // 16), 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        self.socks.append(s)
        self.sel.register(s, selectors.EVENT_READ, i)

    def run(self):
        for i in range(64):
            self.open_one(i)
        while not self.stop.is_set():
            for key, _ in self.sel.select(0.05):
                s, i = key.fileobj, key.data
                try:
                    gone = s.recv(1) == b""
                except OSError:
                    gone = True
                if gone:
                    self.sel.unregister(s)
                    s.close()
                    self.socks.remove(s)
                    self.reopened += 1
                    self.open_one(i)
        for s in self.socks:
            s.close()


def wave(port, rounds):
    """rounds times: 64 silent holders, 0.5 s later one newcomer; (median, max, no
    answer, holders reopened)."""
    times, missed, reopened = [], 0, 0
    for _ in range(rounds):
        h = Holders(port)
        h.start()
        time.sleep(0.5)
        t = newcomer(port)
        h.stop.set()
        h.join()
        reopened += h.reopened
        if t is None:
            missed += 1
        else:
            times.append(t)
        time.sleep(0.5)
    return (statistics.median(times) if times else float("nan"),
            max(times) if times else float("nan"), missed, reopened)


def main():
    restockd = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="restock-bench-slots-") as d:
        with open(os.path.join(d, "restock.yaml"), "w") as f:
            f.write("gateway: {id: bench}\nhttp: {listen: 127.0.0.1:%d}\nstorage: {path: %s}\n"
                    % (port, os.path.join(d, "r.db")))
        p = subprocess.Popen([restockd, "--config", d], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if newcomer(port) is not None:
                    break
                time.sleep(0.1)
            base = [newcomer(port) for _ in range(rounds)]
            ok = [t for t in base if t is not None]
            print("%-13s median %6.3f s  max %6.3f s  no answer %d of %d"
                  % ("baseline", statistics.median(ok), max(ok), rounds - len(ok), rounds))
            r = wave(port, rounds)
            print("%-13s median %6.3f s  max %6.3f s  no answer %d of %d  (holders reopened "
                  "after restockd closed them: %d)" % (("silent",) + r[:3] + (rounds, r[3])))
        finally:
            p.terminate()
            p.wait(timeout=20)


if __name__ == "__main__":
    main()

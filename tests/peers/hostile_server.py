# SPDX-License-Identifier: Apache-2.0
"""Test peer: Modbus TCP servers that misbehave, on 127.0.0.1.

usage: /usr/bin/python3 hostile_server.py MODE PORT
MODE:
  silent   accept connections, read requests, never answer
  hostile  answer request k (counted over all connections) with fault k mod 6:
           short (an MBAP header cut off), oversized (a length field of
           65535 and 300 bytes), garbage (random bytes), wrong count (fewer
           registers than asked), wrong function code, then close
  garbage  answer every request, on a connection that stays open, with
           garbage k mod 3: random bytes, fewer registers than asked, or
           another function code (a device that only answers nonsense)
  split    answer every read of holding registers rightly (register a reads
           40 + a), each reply sent in two writes 30 ms apart, cut after
           byte 1, 2, ... of the frame in turn (request k, counted over all
           connections); every third reply is preceded, in its first write,
           by a late copy of the previous transaction's reply
Prints "ready" once it listens.
"""
import os
import socket
import struct
import sys
import threading
import time


def faults(req, k):
    tid, _pid, _ln, unit, fc = struct.unpack(">HHHBB", req[:8])
    count = struct.unpack(">H", req[10:12])[0] if len(req) >= 12 else 1
    kind = k % 6
    if kind == 0:  # short: half a header
        return b"\x00\x01\x00", False
    if kind == 1:  # oversized: a length far beyond a Modbus ADU, and the bytes
        return struct.pack(">HHHBB", tid, 0, 65535, unit, fc) + b"\xff" * 300, False
    if kind == 2:  # garbage
        return os.urandom(37), False
    if kind == 3:  # a well-formed frame with fewer registers than asked
        n = max(count - 1, 0)
        pdu = struct.pack(">BB", fc, 2 * n) + b"\x00\x07" * n
        return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu, False
    if kind == 4:  # another function code
        pdu = struct.pack(">BB", 0x2B, 2) + b"\x00\x01"
        return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu, False
    return b"", True  # close


def split_reply(req, k):
    """Request k's right answer as (first write, second write) for mode split."""
    tid, _pid, _ln, unit, fc, addr, count = struct.unpack(">HHHBBHH", req[:12])
    pdu = struct.pack(">BB", fc, 2 * count) + b"".join(
        struct.pack(">H", 40 + addr + i) for i in range(count))
    frame = struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu
    cut = 1 + k % (len(frame) - 1)
    late = b""
    if k % 3 == 2:
        late = struct.pack(">HHHB", (tid - 1) & 0xFFFF, 0, len(pdu) + 1, unit) + pdu
    return late + frame[:cut], frame[cut:]


COUNTER = [0]
LOCK = threading.Lock()


def client(conn, mode):
    try:
        while True:
            req = conn.recv(260)
            if not req:
                return
            if mode == "silent":
                continue
            with LOCK:
                k = COUNTER[0]
                COUNTER[0] += 1
            if mode == "split":
                first, second = split_reply(req, k)
                conn.sendall(first)
                time.sleep(0.03)
                conn.sendall(second)
                continue
            if mode == "garbage":
                k = 2 + k % 3
            reply, close = faults(req, k)
            if close:
                return
            conn.sendall(reply)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = ls.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=client, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()

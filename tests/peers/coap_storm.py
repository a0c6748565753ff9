# SPDX-License-Identifier: Apache-2.0
"""Test peer: a CoAP server on 127.0.0.1 that turns every datagram it gets
into another one: each GET, and each reset (RST) the client sends back, is
answered with a 2.05 notification under a token the client never made, which
a client answers with a RST -- a ping-pong as fast as both sides go.
MODE oversize: every datagram is answered with a 2.05 under its own token
whose 3000-byte body is too large for libcoap in one datagram (no Block2):
libcoap discards it and answers with a RST, which gets another one.
MODE observe-oversize: a GET is answered (ACK to a CON) with a 2.05 and
Observe under its token, "5"; half a second later, between polls, that
observation gets a notification too large for one datagram, and every
datagram after it (the client's RSTs) another: the ping-pong outside a poll.
MODE block: every GET gets the first block (Block2 0, more to come, 1024
bytes) of a body, also when it asks for the next block (a server that
ignores Block2 in requests); anything else gets nothing.

usage: /usr/bin/python3 coap_storm.py PORT COUNT_FILE [notify|oversize|observe-oversize|block]
PORT 0 takes a free port. Prints "ready PORT" once it listens; writes the number of datagrams received so
far to COUNT_FILE every 100 ms (and at SIGTERM).
"""
import os
import signal
import socket
import struct
import sys
import threading
import time


def main():
    port, count_file = int(sys.argv[1]), sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "notify"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    got = [0]
    mid = [1]

    def dump(*_):
        with open(count_file + ".tmp", "w") as f:
            f.write("%d\n" % got[0])
        os.replace(count_file + ".tmp", count_file)

    def ticker():
        while True:
            time.sleep(0.1)
            dump()

    def stop(*_):
        dump()
        os._exit(0)

    obs = []  # observe-oversize: (the observer, its token)

    def oversize_note():
        mid[0] = (mid[0] + 1) & 0xFFFF
        peer, tok = obs[0]
        hdr = struct.pack(">BBH", 0x40 | 0x10 | len(tok), 0x45, mid[0])
        s.sendto(hdr + tok + bytes([0x61, 9]) + b"\xff" + b"6" + b" " * 2999, peer)

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=ticker, daemon=True).start()
    print("ready %d" % s.getsockname()[1], flush=True)
    while True:
        data, peer = s.recvfrom(2048)
        got[0] += 1
        mid[0] = (mid[0] + 1) & 0xFFFF
        if mode == "block":
            tkl = data[0] & 0x0F if data else 0
            block = b""
            if len(data) > 4 + tkl and data[1] == 1:
                # Block2 (option 23) = num 0, M 1, SZX 6 (1024 bytes), after Uri-Path (11)
                block = bytes([0xD1, 23 - 13, 0x0E])
            if block:  # block 0 again, whatever block is asked for
                hdr = struct.pack(">BBH", 0x40 | 0x10 | tkl, 0x45, mid[0])
                s.sendto(hdr + data[4:4 + tkl] + block + b"\xff" + b"7" + b" " * 1023, peer)
            continue
        if mode == "observe-oversize":
            tkl = data[0] & 0x0F if data else 0
            if len(data) >= 4 + tkl and data[1] == 1 and not obs:
                ack = (data[0] >> 4) & 3 == 0
                hdr = struct.pack(">BBH", 0x40 | (0x20 if ack else 0x10) | tkl, 0x45,
                                  struct.unpack(">H", data[2:4])[0] if ack else mid[0])
                s.sendto(hdr + data[4:4 + tkl] + bytes([0x61, 1]) + b"\xff" + b"5", peer)
                obs.append((peer, data[4:4 + tkl]))
                threading.Timer(0.5, lambda: oversize_note()).start()
            elif obs and (data[0] >> 4) & 3 == 3:
                oversize_note()
            continue
        if mode == "oversize":
            tkl = data[0] & 0x0F if data else 0
            hdr = struct.pack(">BBH", 0x40 | 0x10 | tkl, 0x45, mid[0])
            s.sendto(hdr + data[4:4 + tkl] + b"\xff" + b"4" + b" " * 2999, peer)
            continue
        tok = os.urandom(8)
        # ver 1, NON (1), token length 8; code 2.05 (0x45); Observe option (6) = 7
        hdr = struct.pack(">BBH", 0x40 | 0x10 | 8, 0x45, mid[0])
        s.sendto(hdr + tok + bytes([0x61, 7]) + b"\xff" + b"42", peer)


if __name__ == "__main__":
    main()

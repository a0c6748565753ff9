# SPDX-License-Identifier: Apache-2.0
"""Test peer: a CoAP server on 127.0.0.1 that turns every datagram it gets
into another one: each GET, and each reset (RST) the client sends back, is
answered with a 2.05 notification under a token the client never made, which
a client answers with a RST -- a ping-pong as fast as both sides go.

usage: /usr/bin/python3 coap_storm.py PORT COUNT_FILE
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

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=ticker, daemon=True).start()
    print("ready %d" % s.getsockname()[1], flush=True)
    while True:
        data, peer = s.recvfrom(2048)
        got[0] += 1
        mid[0] = (mid[0] + 1) & 0xFFFF
        tok = os.urandom(8)
        # ver 1, NON (1), token length 8; code 2.05 (0x45); Observe option (6) = 7
        hdr = struct.pack(">BBH", 0x40 | 0x10 | 8, 0x45, mid[0])
        s.sendto(hdr + tok + bytes([0x61, 7]) + b"\xff" + b"42", peer)


if __name__ == "__main__":
    main()

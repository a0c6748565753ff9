# SPDX-License-Identifier: Apache-2.0
"""Loopback TCP ports for the Python tests, without the race of "find a free
port, close it, let the peer bind it" (another test binding port 0 in
between could take it).

reserve_port() binds a socket to 127.0.0.1 port 0 with SO_REUSEADDR and
SO_REUSEPORT, never listens on it, and keeps it open until the test exits.
The kernel hands a port held that way to no other port-0 bind and refuses it
to a plain bind, while a peer that sets SO_REUSEADDR (restockd, restock-sim,
libmodbus, our peers) can bind and listen on it, again after a restart. Until
a peer listens, connecting is refused, as to a device that is off.

TCP only: a second bound UDP socket would take datagrams."""
import socket

_held = []


def reserve_port(host="127.0.0.1"):
    """A TCP port on host that stays ours (see above) for the life of this process."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((host, 0))
    _held.append(s)
    return s.getsockname()[1]

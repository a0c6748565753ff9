# SPDX-License-Identifier: Apache-2.0
"""Abuse suite, devices: a CoAP reset storm is bounded (issue 15 item 11).

usage: /usr/bin/python3 test_abuse_coap.py POLL_TOOL PEERS_DIR

The peer (tests/peers/coap_storm.py) answers every datagram -- our GET, and
each RST we send back -- with a notification under a token we never made.
Answering each with a RST made a ping-pong as fast as both sides go (14,401
datagrams from restock in 3 s); now at most COAPA_RST_PER_S (20) RSTs a
second go out per device, and the device, which never answered our GET, is
down after down_after polls.

Then two more peers of the same script: one whose every reply is too large
for one datagram (libcoap discards it and sends a RST, which the peer
answers again): the poll ends early naming it, the ping-pong bounded alike,
also between polls (an observed point notified with such datagrams);
one that sends the first block of a block-wise body again whatever block is
asked for: the point says the body is incomplete and how much came.
"""
import os
import subprocess
import sys
import tempfile
import time

from testcheck import check, failures  # tests/testcheck.py

RST_PER_S = 20
poll_tool, peers = sys.argv[1], sys.argv[2]


tmp = tempfile.mkdtemp(prefix="restock-abuse-coap-")
count_file = os.path.join(tmp, "count")
os.makedirs(os.path.join(tmp, "cfg", "devices.d"))
with open(os.path.join(tmp, "cfg", "restock.yaml"), "w") as f:
    f.write("gateway: {id: abuse-gw}\n")


def run_peer(mode, name, dev, tool_ms, device_keys, point_keys="", interval="1s"):
    """Start coap_storm.py in mode (None: the storm), poll device dev (more
    keys: device_keys, its point's point_keys) every interval for tool_ms ms
    with the poll tool; returns the poll tool's result, the datagrams the peer
    got, the device's status line and its polls."""
    if os.path.exists(count_file):
        os.remove(count_file)
    # the peer binds a free port itself and says which (no window for another test to take it)
    peer = subprocess.Popen(["/usr/bin/python3", os.path.join(peers, "coap_storm.py"), "0",
                             count_file] + ([mode] if mode else []),
                            stdout=subprocess.PIPE, text=True)
    ready = peer.stdout.readline().split()
    check(len(ready) == 2 and ready[0] == "ready", "the %s peer is ready" % name)
    port = int(ready[1]) if len(ready) == 2 else 0
    with open(os.path.join(tmp, "cfg", "devices.d", "storm.yaml"), "w") as f:
        f.write("""devices:
  - id: %s
    transport: {type: coap, uri: "coap://127.0.0.1:%d"}
    poll_interval: %s
    timeout: 300ms
%s    points:
      - {id: v, path: /v%s}
""" % (dev, port, interval, "".join("    %s\n" % k for k in device_keys), point_keys))
    try:
        out = subprocess.run([poll_tool, os.path.join(tmp, "cfg"), str(tool_ms)],
                             capture_output=True, text=True, timeout=60)
    finally:
        peer.terminate()
        peer.wait(timeout=10)
    with open(count_file) as f:
        got = int(f.read().strip() or "0")
    st = [l for l in out.stdout.splitlines() if l.startswith("S %s " % dev)]
    polls = int(st[0].split("polls=")[1].split()[0]) if st else 0
    return out, got, st, polls


def no_sanitizer_report(out):
    check("AddressSanitizer" not in out.stderr and "runtime error" not in out.stderr,
          "no sanitizer report")


out, got, st, polls = run_peer(None, "storm", "stormy", 3000,
                               ["retries: 0", "down_after: 2"])
check(out.returncode == 0, "the poll tool exits 0 (rc %d)" % out.returncode)
check(polls >= 2, "the device was polled (%d polls)" % polls)
bound = (polls + 1) * (RST_PER_S + 2)
check(0 < got <= bound,
      "datagrams sent to the storming peer: %d, at most %d (%d polls)" % (got, bound, polls))
check(st and "up=0" in st[0], "the device that never answered our GET is down (%s)"
      % (st[0] if st else None))
check("dropped without a reset" in out.stderr, "the storm is logged")
check(out.stderr.count("dropped without a reset") <= 2, "and logged once a minute, not per message")
no_sanitizer_report(out)

# A peer whose every reply is too large for one datagram (no Block2) and that
# answers libcoap's RST for it with another: the poll ends early with the
# reason, and the ping-pong is bounded like the storm above.
out, got, st, polls = run_peer("oversize", "oversize", "big", 3000,
                               ["retries: 0", "down_after: 2"])
check(out.returncode == 0, "the poll tool exits 0 (rc %d)" % out.returncode)
check(polls >= 2, "the device was polled (%d polls)" % polls)
bound = (polls + 1) * (RST_PER_S + 2)
check(0 < got <= bound, "datagrams sent to the oversize peer: %d, at most %d (%d polls)"
      % (got, bound, polls))
check("too large for one datagram" in out.stderr,
      "the poll's error names the oversized replies (%s)" % out.stderr.strip()[-300:])
no_sanitizer_report(out)

# The same ping-pong between polls: an observed point's notification too
# large for one datagram, and another for each RST (48,289 datagrams in 3 s
# before: the early end counted only during a poll). The session is closed
# after as many as a poll takes.
out, got, st, polls = run_peer("observe-oversize", "observe-oversize", "obs", 3000,
                               [], ", observe: true", "10s")
check(polls == 1 and st and "up=1" in st[0],
      "one poll, answered and observed (%s)" % (st[0] if st else None))
check(0 < got <= 2 * RST_PER_S,
      "datagrams sent to the peer notifying between polls: %d, at most %d" % (got, 2 * RST_PER_S))
no_sanitizer_report(out)

# A body sent block-wise whose second block never comes: the point says how
# much came and that the rest did not, not a made-up total.
out, got, st, polls = run_peer("block", "block", "blocky", 2000, ["retries: 1"])
check("incomplete block-wise body: the first 1024 bytes came, the rest did not" in out.stderr
      and "of 1025 bytes" not in out.stderr,
      "the stalled block-wise body is named as such (%s)" % out.stderr.strip()[-300:])
subprocess.run(["rm", "-rf", tmp])
print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)

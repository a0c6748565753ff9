#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Check one approval mail with Python's email package (an independent MIME
parser) and print what a reader sees as one JSON object:
{"subject", "from", "to", "message_id", "date", "links", "text", "html"}.

usage: test_approve_mime.py FILE     (exit 1 with a message when malformed)
"""
import email
import email.policy
import email.utils
import json
import re
import sys


def fail(msg):
    print("MIME check failed: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    raw = open(sys.argv[1], "rb").read()
    # every line ends in CRLF and is at most 998 characters (RFC 5322 2.1.1)
    # (aiosmtpd's Maildir stores LF line ends: accept those from it)
    for line in raw.split(b"\n"):
        if len(line.rstrip(b"\r")) > 998:
            fail("a line is longer than 998 characters")
    if b"\r\n" in raw and raw.count(b"\n") != raw.count(b"\r\n"):
        fail("mixed line ends")
    # headers are 7-bit ASCII (non-ASCII only as RFC 2047 encoded-words)
    head = raw.split(b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n", 1)[0]
    try:
        head.decode("ascii")
    except UnicodeDecodeError:
        fail("a header is not ASCII")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for h in ("Date", "From", "To", "Subject", "Message-ID", "MIME-Version"):
        if msg[h] is None:
            fail("no %s header" % h)
    if email.utils.parsedate_to_datetime(str(msg["Date"])) is None:
        fail("Date is not RFC 5322")
    mid = str(msg["Message-ID"])
    if not re.fullmatch(r"<[^<>@\s]+@[A-Za-z0-9.-]+>", mid):
        fail("Message-ID %r is not <id@domain>" % mid)
    if msg.get_content_type() != "multipart/alternative":
        fail("top level is %s, not multipart/alternative" % msg.get_content_type())
    parts = {p.get_content_type(): p for p in msg.iter_parts()}
    if set(parts) != {"text/plain", "text/html"}:
        fail("parts are %s" % sorted(parts))
    for p in parts.values():
        if p.get_content_charset() != "utf-8":
            fail("%s is not UTF-8" % p.get_content_type())
        if p["Content-Transfer-Encoding"] not in ("quoted-printable", "base64"):
            fail("%s has transfer encoding %s" % (p.get_content_type(),
                                                  p["Content-Transfer-Encoding"]))
    text = parts["text/plain"].get_content().replace("\r\n", "\n")
    html = parts["text/html"].get_content().replace("\r\n", "\n")
    links = re.findall(r"https?://[^\s\"<>]+/approve/[A-Za-z0-9_-]+", text)
    hlinks = re.findall(r'href="(https?://[^"]+/approve/[A-Za-z0-9_-]+)"', html)
    if len(set(links)) != 1:
        fail("the text part has %d distinct approval links" % len(set(links)))
    if set(hlinks) != set(links):
        fail("the HTML part's link differs from the text part's")
    print(json.dumps({
        "subject": str(msg["Subject"]),
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "message_id": mid,
        "date": str(msg["Date"]),
        "links": sorted(set(links)),
        "text": text,
        "html": html,
    }))


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: Apache-2.0
"""check() for the Python tests: prints "ok: WHAT" or "FAIL: WHAT" (flushed,
so that the lines keep their order beside a peer's or a daemon's output) and
keeps every failed WHAT in `failures` (the same list in every module that
imports it). A test exits 1 when `failures` is not empty."""

failures = []


def check(cond, what):
    """Print and record one check; returns cond (for `if not check(...): return`)."""
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond

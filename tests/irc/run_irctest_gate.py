#!/usr/bin/env python3
"""The irctest gate: runs irctest (progval/irctest, the snapshot in
../shared/tools/irctest or IRCTEST_DIR) against chatroom-server --irc-port
with irctest's standard selection (not services, not implementation-specific,
not deprecated, not strict; server tests only), prints passed / failed /
skipped per spec marker, writes that summary as Markdown (and every test's outcome beside it, as
JSON), and fails when a
test of the expected-pass list fails or did not run. Tests outside the list
may fail: they are the work still to do.

Usage: run_irctest_gate.py CHATROOM_SERVER [--expected FILE] [--summary FILE]
                           [--workers N] [-- PYTEST_ARGS...]
Exit status: 0 when every expected test passed, 1 otherwise, 77 (skipped)
when irctest or Debian's pytest is not there.
"""
import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SELECTION = "not services and not implementation-specific and not deprecated and not strict"
SPEC_MARKERS = ("RFC1459", "RFC2812", "IRCv3", "modern", "ircdocs")
OUTCOMES = ("passed", "failed", "skipped")


def counts(results, marker=None):
    c = {k: 0 for k in OUTCOMES}
    for r in results.values():
        if marker is not None and marker not in r["markers"]:
            continue
        if r["outcome"] in c:
            c[r["outcome"]] += 1
    return c


def summary_table(results, seconds, workers):
    lines = [
        f"irctest against chatroom-server, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{seconds:.0f} s with {workers} worker(s); selection `{SELECTION}`, server tests only.",
        "",
        "| spec marker | passed | failed | skipped |",
        "|---|---|---|---|",
    ]
    for m in SPEC_MARKERS:
        c = counts(results, m)
        lines.append(f"| {m} | {c['passed']} | {c['failed']} | {c['skipped']} |")
    c = counts(results)
    lines.append(f"| **all** (a test may carry several markers) | {c['passed']} | {c['failed']} | {c['skipped']} |")
    other = {r["outcome"] for r in results.values()} - set(OUTCOMES)
    for o in sorted(other):
        lines.append(f"\n{o}: {sum(1 for r in results.values() if r['outcome'] == o)}")
    return "\n".join(lines) + "\n"


def end_leftovers(pid_file):
    """Ends, by PID, every server the controller started that still runs."""
    try:
        with open(pid_file, encoding="ascii") as f:
            pids = [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return 0
    ended = 0
    for pid in pids:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"chatroom-server" not in f.read():
                    continue  # the PID was reused by something else
            os.kill(pid, signal.SIGKILL)
            ended += 1
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            pass
    return ended


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--expected", default=os.path.join(HERE, "irctest_expected_pass.txt"))
    ap.add_argument("--summary", default="irctest-summary.md")
    ap.add_argument("--workers", type=int, default=int(os.environ.get("CHATROOM_IRCTEST_WORKERS", "2")))
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    a.pytest_args = extra

    irctest = os.environ.get("IRCTEST_DIR", os.path.join(HERE, "..", "..", "..", "shared", "tools", "irctest"))
    irctest = os.path.abspath(irctest)
    if not os.path.isfile(os.path.join(irctest, "conftest.py")):
        print(f"SKIP: no irctest at {irctest} (set IRCTEST_DIR)")
        return 77
    probe = subprocess.run(["/usr/bin/python3", "-c", "import pytest"], capture_output=True)
    if probe.returncode != 0:
        print("SKIP: /usr/bin/python3 has no pytest (apt-get install python3-pytest python3-pytest-xdist)")
        return 77
    if a.workers > 1:
        # irctest takes a file lock per server under xdist (irc_utils/filelock.py).
        probe = subprocess.run(["/usr/bin/python3", "-c", "import xdist, filelock"], capture_output=True)
        if probe.returncode != 0:
            a.workers = 1

    with open(a.expected, encoding="utf-8") as f:
        expected = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]

    with tempfile.TemporaryDirectory(prefix="irctest-gate-") as tmp:
        report = os.path.join(tmp, "report.json")
        pids = os.path.join(tmp, "pids")
        env = dict(os.environ)
        env.update(
            CHATROOM_SERVER_BINARY=os.path.abspath(a.server),
            CHATROOM_IRCTEST_REPORT=report,
            CHATROOM_IRCTEST_PIDS=pids,
            PYTHONPATH=HERE + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
            PYTHONDONTWRITEBYTECODE="1",
        )
        cmd = ["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider", "-p", "irctest_report",
               "--controller", "irctest_controller.chatroom", "-m", SELECTION,
               "--ignore=irctest/self_tests", "-q", "-rfE", "--tb=line", "-o", "junit_logging=no"]
        if a.workers > 1:
            cmd += ["-n", str(a.workers)]
        cmd += a.pytest_args
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=irctest, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, errors="replace")
        finally:
            leftovers = end_leftovers(pids)
        seconds = time.monotonic() - start
        # pytest's own summary of failures, short.
        tail = [ln for ln in proc.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
        try:
            with open(report, encoding="utf-8") as f:
                results = json.load(f)
        except FileNotFoundError:
            print(proc.stdout[-5000:])
            print("FAIL: irctest wrote no report")
            return 1

    table = summary_table(results, seconds, a.workers)
    with open(a.summary, "w", encoding="utf-8") as f:
        f.write(table)
    with open(os.path.splitext(a.summary)[0] + ".json", "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, sort_keys=True)  # every test's outcome, markers and reason
    print("\n".join(tail))
    print()
    print(table)
    print(f"summary written to {os.path.abspath(a.summary)}")
    if leftovers:
        print(f"note: {leftovers} chatroom-server process(es) were still running after pytest and were ended")

    bad = []
    for node in expected:
        r = results.get(node)
        if r is None:
            bad.append(f"  {node}: did not run")
        elif r["outcome"] != "passed":
            bad.append(f"  {node}: {r['outcome']} {r.get('reason', '')}")
    newly = sorted(n for n, r in results.items() if r["outcome"] == "passed" and n not in set(expected))
    if newly:
        print(f"{len(newly)} test(s) pass that are not in {os.path.basename(a.expected)} (add them):")
        for n in newly:
            print("  " + n)
    if bad:
        print(f"FAIL: {len(bad)} of the {len(expected)} expected-pass tests did not pass:")
        print("\n".join(bad))
        return 1
    print(f"OK: all {len(expected)} expected-pass tests passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

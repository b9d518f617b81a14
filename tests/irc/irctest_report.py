"""A pytest plugin (-p irctest_report) that records each irctest test's
outcome and spec markers, for run_irctest_gate.py.

Outcomes are read from the reports pytest (or pytest-xdist's controller)
receives, so it works with -n too: a test is "passed", "failed" (its setup,
call or teardown failed), "skipped" or "xfailed"/"xpassed". Its markers come
from the report's keywords (markers are keywords). The result is written as
JSON to the file named by CHATROOM_IRCTEST_REPORT when the session ends.
"""
import json
import os

# irctest's specification markers (its pytest.ini).
SPEC_MARKERS = ("RFC1459", "RFC2812", "IRCv3", "modern", "ircdocs")

_results = {}


def pytest_runtest_logreport(report):
    entry = _results.setdefault(
        report.nodeid,
        {"outcome": "passed", "markers": sorted(m for m in SPEC_MARKERS if m in report.keywords)},
    )
    if hasattr(report, "wasxfail"):
        entry["outcome"] = "xfailed" if report.skipped else "xpassed"
    elif report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] != "failed":
        entry["outcome"] = "skipped"
    if report.failed:
        entry["reason"] = (report.longreprtext or "").strip().splitlines()[-1:] or [""]
        entry["reason"] = entry["reason"][0][:200]
    elif report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            entry["reason"] = str(longrepr[2])[:200]


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("CHATROOM_IRCTEST_REPORT")
    if not path or hasattr(session.config, "workerinput"):  # only the controller writes
        return
    with open(path, "w", encoding="utf-8") as f:
        json.dump(_results, f, indent=1, sort_keys=True)

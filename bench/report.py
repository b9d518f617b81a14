#!/usr/bin/env python3
"""Summarises bench-results.jsonl (written by bench/run) as a table.

Usage: report.py RESULTS.jsonl

Per scenario and server: medians over the valid repetitions of deliveries/s,
server CPU-us per 1,000 deliveries, latency p50/p99 and peak RSS (idle
scenario: KiB per connection and the time for one line to reach every
connection). Ratios compare chatroom with the best of redis and nats:
throughput ratio = chatroom / best (higher is better), cpu ratio =
chatroom / best (lower is better).
"""
import json
import statistics
import sys

SERVERS = ["chatroom1", "chatroom", "redis", "nats", "seed"]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=0, thousands=True):
    if v is None:
        return "n/a"
    if digits == 0:
        return f"{v:,.0f}" if thousands else f"{v:.0f}"
    return f"{v:,.{digits}f}"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "build-release/bench-results.jsonl"
    order, info, runs, skipped = [], {}, {}, {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            sc = rec.get("scenario")
            if sc is None:
                continue
            if "description" in rec:
                if sc not in info:
                    order.append(sc)
                info[sc] = rec
                continue
            if sc not in info:
                order.append(sc)
                info[sc] = {"description": "", "kind": rec.get("mode", "load")}
            server = rec.get("server", "?")
            if "skipped" in rec:
                skipped[(sc, server)] = rec["skipped"]
                continue
            runs.setdefault((sc, server), []).append(rec)

    out = []
    saturated = False
    for sc in order:
        kind = info[sc].get("kind", "load")
        out.append("")
        out.append(f"{sc}: {info[sc].get('description', '')}")
        medians = {}
        if kind == "idle":
            out.append(f"  {'server':<9} {'valid':>5} {'KiB/conn':>9} {'fan-out us':>11} "
                       f"{'fan-out p50':>11} {'RSS after KiB':>14}")
        else:
            out.append(f"  {'server':<9} {'valid':>5} {'deliveries/s':>13} {'cpu-us/1k':>10} "
                       f"{'p50 us':>10} {'p99 us':>10} {'peak RSS KiB':>13} {'lg busy':>8}")
        for server in SERVERS:
            key = (sc, server)
            if key in skipped:
                out.append(f"  {server:<9} {'n/a':>5}  ({skipped[key]})")
                continue
            recs = runs.get(key)
            if not recs:
                continue
            good = [r for r in recs if r.get("ok")]
            valid = f"{len(good)}/{len(recs)}"
            if not good:
                why = "; ".join(sorted({str(r.get("failure") or
                                            f"missing {r.get('missing')}, out of order {r.get('out_of_order')}")
                                        for r in recs}))
                out.append(f"  {server:<9} {valid:>5}  FAILED: {why}")
                continue
            m = lambda k: median([r.get(k) for r in good])  # noqa: E731
            if kind == "idle":
                row = {"kib": m("kib_per_conn"), "fan": m("fanout_us")}
                medians[server] = row
                out.append(f"  {server:<9} {valid:>5} {fmt(row['kib'], 2):>9} {fmt(row['fan']):>11} "
                           f"{fmt(m('fanout_p50_us')):>11} {fmt(m('rss_after_kib')):>14}")
            else:
                row = {"dps": m("deliveries_per_s"), "cpu": m("cpu_us_per_1k")}
                medians[server] = row
                busy = m("loadgen_busy")
                mark = "*" if busy is not None and busy >= 0.9 else " "
                saturated = saturated or mark == "*"
                out.append(f"  {server:<9} {valid:>5} {fmt(row['dps']):>12}{mark} {fmt(row['cpu'], 1):>10} "
                           f"{fmt(m('lat_p50_us')):>10} {fmt(m('lat_p99_us')):>10} "
                           f"{fmt(m('server_peak_rss_kib')):>13} {fmt(busy, 2):>8}")
        # Ratios of chatroom against the best of redis/nats.
        ref_sc = sc
        if kind == "mt":
            ref_sc = "S2"
            if "S2" in order:
                for server in ("redis", "nats"):
                    good = [r for r in runs.get(("S2", server), []) if r.get("ok")]
                    if good:
                        medians[server] = {
                            "dps": median([r.get("deliveries_per_s") for r in good]),
                            "cpu": median([r.get("cpu_us_per_1k") for r in good]),
                        }
        if kind == "mt" and medians.get("chatroom") and medians.get("chatroom1"):
            one, many = medians["chatroom1"]["dps"], medians["chatroom"]["dps"]
            if one and many:
                out.append(f"  chatroom --threads N / --threads 1 (both unpinned): throughput {fmt(many / one, 2)}")
        chat = medians.get("chatroom")
        refs = {s: medians[s] for s in ("redis", "nats") if s in medians}
        suffix = " (vs S2, pinned single core)" if kind == "mt" else ""
        if chat and refs:
            if kind == "idle":
                best = min((v["kib"], s) for s, v in refs.items() if v["kib"] is not None)
                fan = min((v["fan"], s) for s, v in refs.items() if v["fan"] is not None)
                r1 = chat["kib"] / best[0] if chat["kib"] is not None and best[0] else None
                r2 = chat["fan"] / fan[0] if chat["fan"] is not None and fan[0] else None
                out.append(f"  chatroom / best: KiB/conn {fmt(r1, 2)} (best {best[1]}), "
                           f"fan-out time {fmt(r2, 2)} (best {fan[1]})")
            else:
                tput = max((v["dps"], s) for s, v in refs.items() if v["dps"] is not None)
                cpus = [(v["cpu"], s) for s, v in refs.items() if v["cpu"] is not None]
                r1 = chat["dps"] / tput[0] if tput[0] else None
                line = f"  chatroom / best: throughput {fmt(r1, 2)} (best {tput[1]})"
                if cpus and chat["cpu"] is not None:
                    cbest = min(cpus)
                    r2 = chat["cpu"] / cbest[0] if cbest[0] else None
                    line += f", cpu {fmt(r2, 2)} (best {cbest[1]})"
                out.append(line + suffix)
        elif ref_sc == sc or kind == "mt":
            out.append("  chatroom / best: n/a")
    if saturated:
        out.append("")
        out.append("* load generator busy >= 90% of the run (lg busy = its CPU time / run time):")
        out.append("  that server was faster than one load-generator thread can consume, so its")
        out.append("  deliveries/s is a lower bound; cpu-us/1k (server CPU per delivery) still holds.")
    print("\n".join(out).lstrip("\n"))


if __name__ == "__main__":
    main()

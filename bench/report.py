#!/usr/bin/env python3
"""Summarises bench-results.jsonl (written by bench/run) as a table.

Usage: report.py RESULTS.jsonl

Per scenario and server: medians over the valid repetitions of deliveries/s,
server CPU-us per 1,000 deliveries, latency p50/p99 and peak RSS (idle
scenario: KiB per connection and the time for one line to reach every
connection). Ratios compare chatroom with the best of redis and nats:
throughput ratio = chatroom / best (higher is better), cpu ratio =
chatroom / best (lower is better); chatroom's (and every --extra chatroom
binary's) CPU per delivery against the floor relay; chatroom against each
--extra binary (e.g. chatroom10, the 1.0 baseline); and in the stalled-reader
scenario, each server's deliveries/s with the stalled reader against without.
A WebSocket scenario (kind "web", e.g. S2w, or "webjson", S2j: the JSON
dialect) also shows the plain-TCP rows of its twin (the same name without the
last letter, e.g. S2) and the ratio WebSocket / TCP of CPU per delivery and
deliveries/s, from the medians and paired by repetition. The IRC scenario (kind "irc", SI) compares chatroom's IRC with
the best of ngircd and inspircd and with its own line protocol (chatroom-line).
"spread" is (max - min) / median over the valid repetitions, in percent: the
noise of that row.
"""
import json
import statistics
import sys

FIRST = ["chatroom1", "chatroom", "chatroom-line"]
LAST = ["redis", "nats", "seed", "floor", "ngircd", "inspircd"]
STALL = "+stall"  # row suffix: the run with stalled readers


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return None
    mid = statistics.median(values)
    return (max(values) - min(values)) / mid * 100 if mid else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, digits=0, thousands=True):
    if v is None:
        return "n/a"
    if digits == 0:
        return f"{v:,.0f}" if thousands else f"{v:.0f}"
    return f"{v:,.{digits}f}"


def tcp_twin(sc):
    """The plain-TCP scenario a WebSocket scenario repeats: S2w -> S2, S2j -> S2."""
    return sc[:-1] if sc.endswith(("w", "j")) else None


def web_lines(sc, runs, medians, chat_like, row_line):
    """Beside a WebSocket scenario: its TCP twin's rows, then WebSocket / TCP
    per chatroom binary, from the medians and paired by repetition (the
    twin's repetition of the same number in the same run)."""
    twin = tcp_twin(sc)
    lines = []
    for name in chat_like:
        ws = medians.get(name)
        good = [r for r in runs.get((twin, name), []) if r.get("ok")]
        if not ws or not good:
            continue
        tcp, text = row_line(f"{name} ({twin}, tcp)", good, len(runs.get((twin, name), [])))
        lines.append(text)
        lines.append(f"  {name} {sc} / {twin} (WebSocket / TCP): cpu per delivery "
                     f"{fmt(ratio(ws['cpu'], tcp['cpu']), 2)}, deliveries/s "
                     f"{fmt(ratio(ws['dps'], tcp['dps']), 2)}")
        a = {(r.get("run", ""), r.get("rep")): r for r in runs.get((sc, name), []) if r.get("ok")}
        b = {(r.get("run", ""), r.get("rep")): r for r in good}
        common = sorted(set(a) & set(b), key=str)
        if len(common) >= 2:
            parts = []
            for k, label in (("cpu_us_per_1k", "cpu per delivery"), ("deliveries_per_s", "deliveries/s")):
                rs = [ratio(a[c].get(k), b[c].get(k)) for c in common]
                rs = [r for r in rs if r is not None]
                if rs:
                    parts.append(f"{label} {fmt(median(rs), 2)} ({fmt(min(rs), 2)}-{fmt(max(rs), 2)})")
            if parts:
                lines.append(f"  {name} {sc} / {twin}, paired by repetition (median of {len(common)}, "
                             f"range): " + ", ".join(parts))
    return lines


def comparisons(kind, medians, chat_like, extras):
    """Lines comparing chatroom with the floor relay, with each --extra
    binary (A/B), and each server with and without its stalled reader."""
    lines = []
    if kind == "idle":
        for x in extras:
            a, b = medians.get("chatroom"), medians.get(x)
            if a and b:
                lines.append(f"  chatroom / {x}: KiB/conn {fmt(ratio(a['kib'], b['kib']), 2)}, "
                             f"fan-out time {fmt(ratio(a['fan'], b['fan']), 2)}")
        return lines
    floor = medians.get("floor")
    if floor and kind != "mt":
        for name in chat_like:
            c = medians.get(name)
            if c:
                lines.append(f"  {name} / floor: cpu per delivery {fmt(ratio(c['cpu'], floor['cpu']), 2)}, "
                             f"throughput {fmt(ratio(c['dps'], floor['dps']), 2)}")
    for x in extras:
        for suffix in ("", STALL):
            a, b = medians.get("chatroom" + suffix), medians.get(x + suffix)
            if a and b:
                lines.append(f"  chatroom{suffix} / {x}{suffix}: deliveries/s {fmt(ratio(a['dps'], b['dps']), 2)}, "
                             f"cpu per delivery {fmt(ratio(a['cpu'], b['cpu']), 2)}")
    if kind == "stall":
        for name, row in medians.items():
            if not name.endswith(STALL):
                continue
            base = medians.get(name[:-len(STALL)])
            if base:
                extra = None
                if row.get("elapsed") is not None and base.get("elapsed") is not None:
                    extra = (row["elapsed"] - base["elapsed"]) * 1e3
                lines.append(f"  {name[:-len(STALL)]}: with a stalled reader / without: deliveries/s "
                             f"{fmt(ratio(row['dps'], base['dps']), 2)}, cpu per delivery "
                             f"{fmt(ratio(row['cpu'], base['cpu']), 2)}, run time {extra:+,.0f} ms; "
                             f"stalled reader dropped in {row['dropped']}/{row['runs']} runs"
                             if extra is not None else
                             f"  {name[:-len(STALL)]}: with a stalled reader / without: deliveries/s "
                             f"{fmt(ratio(row['dps'], base['dps']), 2)}; stalled reader dropped "
                             f"in {row['dropped']}/{row['runs']} runs")
    return lines


def irc_lines(sc, runs, medians):
    """SI: chatroom's IRC against the best IRC peer (target: 0.1x its CPU per
    delivery) and against its own line protocol under the same load (target:
    1.3x), with the same ratios paired by repetition."""
    lines = []
    chat = medians.get("chatroom")
    if not chat:
        return lines

    def by_rep(server):
        return {r.get("rep"): r for r in runs.get((sc, server), []) if r.get("ok")}

    def paired_cpu(other):
        a, b = by_rep("chatroom"), by_rep(other)
        rs = [ratio(a[c].get("cpu_us_per_1k"), b[c].get("cpu_us_per_1k")) for c in sorted(set(a) & set(b), key=str)]
        rs = [x for x in rs if x is not None]
        if len(rs) < 2:
            return ""
        return f" (paired by repetition: {fmt(median(rs), 3)}, {fmt(min(rs), 3)}-{fmt(max(rs), 3)})"

    peers = [(medians[s]["cpu"], s) for s in ("ngircd", "inspircd") if medians.get(s, {}).get("cpu")]
    if peers and chat.get("cpu"):
        best = min(peers)
        r = ratio(chat["cpu"], best[0])
        verdict = "met" if r is not None and r <= 0.1 else "NOT met"
        lines.append(f"  chatroom (IRC) / best IRC server ({best[1]}): cpu per delivery {fmt(r, 3)}"
                     f"{paired_cpu(best[1])} (target <= 0.1: {verdict}), deliveries/s "
                     f"{fmt(ratio(chat['dps'], medians[best[1]]['dps']), 2)}")
    line = medians.get("chatroom-line")
    if line and line.get("cpu") and chat.get("cpu"):
        r = ratio(chat["cpu"], line["cpu"])
        verdict = "met" if r is not None and r <= 1.3 else "NOT met"
        lines.append(f"  chatroom IRC / line protocol, same load: cpu per delivery {fmt(r, 2)}"
                     f"{paired_cpu('chatroom-line')} (target <= 1.3: {verdict})")
    return lines


def paired(sc, kind, runs, chat_like, extras):
    """chatroom against each --extra binary and the chatroom binaries against
    the floor, repetition by repetition: they ran next to each other
    (interleaved), so their ratio cancels most of the drift of a shared
    machine; the median of those ratios."""
    def by_rep(server):
        return {(r.get("run", ""), r.get("rep")): r for r in runs.get((sc, server), []) if r.get("ok")}
    keys = [("kib_per_conn", "KiB/conn")] if kind == "idle" else \
        [("deliveries_per_s", "deliveries/s"), ("cpu_us_per_1k", "cpu per delivery")]
    lines = []
    for x in extras:
        for suffix in ("",) if kind == "idle" else ("", STALL):
            a, b = by_rep("chatroom" + suffix), by_rep(x + suffix)
            common = sorted(set(a) & set(b), key=str)
            if len(common) < 2:
                continue
            parts = []
            for k, label in keys:
                rs = [ratio(a[c].get(k), b[c].get(k)) for c in common]
                rs = [r for r in rs if r is not None]
                if rs:
                    parts.append(f"{label} {fmt(median(rs), 2)} ({fmt(min(rs), 2)}-{fmt(max(rs), 2)})")
            if parts:
                lines.append(f"  chatroom{suffix} / {x}{suffix}, paired by repetition (median of "
                             f"{len(common)}, range): " + ", ".join(parts))
    if kind in ("load", "stall"):
        floor = by_rep("floor")
        for name in chat_like:
            a = by_rep(name)
            rs = [ratio(a[c].get("cpu_us_per_1k"), floor[c].get("cpu_us_per_1k"))
                  for c in sorted(set(a) & set(floor), key=str)]
            rs = [r for r in rs if r is not None]
            if len(rs) >= 2:
                lines.append(f"  {name} / floor, paired by repetition (median of {len(rs)}, range): "
                             f"cpu per delivery {fmt(median(rs), 2)} ({fmt(min(rs), 2)}-{fmt(max(rs), 2)})")
    if kind == "stall":
        for server in sorted({s for (c, s) in runs if c == sc and not s.endswith(STALL)}):
            a, b = by_rep(server + STALL), by_rep(server)
            common = sorted(set(a) & set(b), key=str)
            rs = [ratio(a[c].get("deliveries_per_s"), b[c].get("deliveries_per_s")) for c in common]
            rs = [r for r in rs if r is not None]
            extra = [(a[c]["elapsed_s"] - b[c]["elapsed_s"]) * 1e3 for c in common
                     if a[c].get("elapsed_s") is not None and b[c].get("elapsed_s") is not None]
            if len(rs) >= 2:
                lines.append(f"  {server}: with a stalled reader / without, paired by repetition "
                             f"(median of {len(rs)}, range): deliveries/s {fmt(median(rs), 2)} "
                             f"({fmt(min(rs), 2)}-{fmt(max(rs), 2)}), run time "
                             f"{median(extra):+,.0f} ms")
    return lines


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
            if rec.get("stalled"):
                server += STALL
            if "skipped" in rec:
                skipped[(sc, server)] = rec["skipped"]
                continue
            runs.setdefault((sc, server), []).append(rec)

    seen = []
    for _, server in list(runs) + list(skipped):
        base = server[:-len(STALL)] if server.endswith(STALL) else server
        if base not in seen:
            seen.append(base)
    extras = [s for s in seen if s not in FIRST and s not in LAST]
    bases = FIRST + extras + LAST
    servers = []
    for b in bases:
        servers += [b, b + STALL]
    chat_like = ["chatroom"] + extras
    have_peers = any(s in ("redis", "nats") for _, s in runs)

    out = []
    saturated = False
    for sc in order:
        kind = info[sc].get("kind", "load")
        out.append("")
        out.append(f"{sc}: {info[sc].get('description', '')}")
        medians = {}
        w = max([9] + [len(x) for x in servers if (sc, x) in runs or (sc, x) in skipped])
        if kind in ("web", "webjson"):
            w = max([w] + [len(f"{x} ({tcp_twin(sc)}, tcp)") for x in chat_like
                           if (tcp_twin(sc), x) in runs])

        def row_line(label, good, total):
            """Medians of one load row and its table line."""
            nonlocal saturated
            m = lambda k: median([r.get(k) for r in good])  # noqa: E731
            row = {"dps": m("deliveries_per_s"), "cpu": m("cpu_us_per_1k"), "elapsed": m("elapsed_s")}
            sp = f"{fmt(spread([r.get('deliveries_per_s') for r in good]))}/" \
                 f"{fmt(spread([r.get('cpu_us_per_1k') for r in good]))}"
            busy = m("loadgen_busy")
            mark = "*" if busy is not None and busy >= 0.9 else " "
            saturated = saturated or mark == "*"
            valid = f"{len(good)}/{total}"
            return row, (f"  {label:<{w}} {valid:>5} {fmt(row['dps']):>12}{mark} {fmt(row['cpu'], 1):>10} "
                         f"{fmt(m('lat_p50_us')):>10} {fmt(m('lat_p99_us')):>10} "
                         f"{fmt(m('server_peak_rss_kib')):>13} {fmt(busy, 2):>8} {sp:>9}")
        if kind == "idle":
            out.append(f"  {'server':<{w}} {'valid':>5} {'KiB/conn':>9} {'fan-out us':>11} "
                       f"{'fan-out p50':>11} {'RSS after KiB':>14} {'spread %':>9}")
        else:
            out.append(f"  {'server':<{w}} {'valid':>5} {'deliveries/s':>13} {'cpu-us/1k':>10} "
                       f"{'p50 us':>10} {'p99 us':>10} {'peak RSS KiB':>13} {'lg busy':>8} "
                       f"{'spread %':>9}")
        for server in servers:
            key = (sc, server)
            if key in skipped:
                out.append(f"  {server:<{w}} {'n/a':>5}  ({skipped[key]})")
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
                out.append(f"  {server:<{w}} {valid:>5}  FAILED: {why}")
                continue
            m = lambda k: median([r.get(k) for r in good])  # noqa: E731
            if kind == "idle":
                row = {"kib": m("kib_per_conn"), "fan": m("fanout_us")}
                medians[server] = row
                sp = spread([r.get("kib_per_conn") for r in good])
                out.append(f"  {server:<{w}} {valid:>5} {fmt(row['kib'], 2):>9} {fmt(row['fan']):>11} "
                           f"{fmt(m('fanout_p50_us')):>11} {fmt(m('rss_after_kib')):>14} "
                           f"{fmt(sp):>9}")
            else:
                row, text = row_line(server, good, len(recs))
                if server.endswith(STALL):
                    row["dropped"] = sum(1 for r in good if r.get("stalled_dropped"))
                    row["runs"] = len(good)
                medians[server] = row
                out.append(text)
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
        if kind == "persist" and medians.get("chatroom") and medians.get("chatroom1"):
            plain, kept = medians["chatroom1"], medians["chatroom"]
            if plain.get("dps") and kept.get("dps"):
                cpu = kept["cpu"] / plain["cpu"] if kept.get("cpu") and plain.get("cpu") else None
                out.append(f"  chatroom --history-db / without (chatroom1 here): throughput {fmt(kept['dps'] / plain['dps'], 2)}, "
                           f"CPU per delivery {fmt(cpu, 2)}")
        if kind in ("web", "webjson"):
            out.extend(web_lines(sc, runs, medians, chat_like, row_line))
        if kind == "irc":
            out.extend(irc_lines(sc, runs, medians))
        out.extend(comparisons(kind, medians, chat_like, extras))
        out.extend(paired(sc, kind, runs, chat_like, extras))
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
        elif have_peers and kind not in ("web", "webjson") and (ref_sc == sc or kind == "mt"):
            out.append("  chatroom / best: n/a")
    if any(info[sc].get("kind") not in ("idle",) for sc in order):
        out.append("")
        out.append("spread %: (max - min) / median of the valid repetitions (deliveries/s / cpu;")
        out.append("  idle: KiB/conn), the noise of that row.")
    if saturated:
        out.append("")
        out.append("* load generator busy >= 90% of the run (lg busy = its CPU time / run time):")
        out.append("  that server was faster than one load-generator thread can consume, so its")
        out.append("  deliveries/s is a lower bound; cpu-us/1k (server CPU per delivery) still holds.")
    print("\n".join(out).lstrip("\n"))


if __name__ == "__main__":
    main()

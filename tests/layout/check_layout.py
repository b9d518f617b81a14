#!/usr/bin/env python3
"""The 3.0 layout, enforced: which folder of include/chatroom/ may include
which, and how long a header may grow.

    core/     core/ only (and version.hpp): it knows no dialect, transport or backplane
    line/     core/, line/
    client/   core/, line/, client/
    server.hpp, line.hpp, core.hpp   core/, line/ (and their own umbrellas)
    tls/      core/, line/, client/, tls/, server.hpp, client.hpp
    web/      core/, line/, web/, server.hpp; web/listener.hpp also tls.hpp (https/wss)
    redis/    core/, redis/
    sqlite/   core/, sqlite/
    irc/      core/, line/ (the line protocol's wording for replies IRC has no numeric for), irc/, server.hpp,
              tls/ (IRC over TLS: its stream, when CHATROOM_USE_OPENSSL is defined)

Nothing inside include/ includes a 2.x forwarding header. A header has at
most 350 lines; the few that are still longer are listed below with the
length they may not pass, so the list only shrinks.

Usage: check_layout.py [INCLUDE_DIR]   (prints each violation; exit 1 if any)
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*<(chatroom/[^>]+)>', re.M)

RULES = {  # folder (or top-level file) -> prefixes it may include
    "core": ["chatroom/core/", "chatroom/version.hpp"],
    "line": ["chatroom/core/", "chatroom/line/"],
    "client": ["chatroom/core/", "chatroom/line/", "chatroom/client/"],
    "tls": ["chatroom/core/", "chatroom/line/", "chatroom/client/", "chatroom/tls/",
            "chatroom/server.hpp", "chatroom/client.hpp"],
    "web": ["chatroom/core/", "chatroom/line/", "chatroom/web/", "chatroom/server.hpp"],
    "redis": ["chatroom/core/", "chatroom/redis/"],
    "sqlite": ["chatroom/core/", "chatroom/sqlite/"],
    "irc": ["chatroom/core/", "chatroom/line/", "chatroom/irc/", "chatroom/server.hpp", "chatroom/version.hpp",
            "chatroom/tls/"],
    "server.hpp": ["chatroom/core/", "chatroom/line/"],
    "core.hpp": ["chatroom/core/"],
    "line.hpp": ["chatroom/line/"],
    "client.hpp": ["chatroom/client/"],
    "tls.hpp": ["chatroom/tls/"],
    "web.hpp": ["chatroom/web/"],
    "redis.hpp": ["chatroom/redis/"],
    "sqlite.hpp": ["chatroom/sqlite/"],
    "irc.hpp": ["chatroom/irc/"],
    "version.hpp": [],
}

# Edges the 3.0 structure has not removed yet, each with what removes it.
# The test fails when one is no longer needed, so the list stays true.
ALLOWED = {
    ("chatroom/web/listener.hpp", "chatroom/tls.hpp"): "web/tls.hpp, the https/wss glue, of its own",
}

# The 2.x public paths, kept one release as forwarding headers for users only.
FORWARDING = {"chatroom/options.hpp", "chatroom/events.hpp", "chatroom/stats.hpp", "chatroom/access.hpp",
              "chatroom/sanitize.hpp", "chatroom/message.hpp", "chatroom/core/message.hpp", "chatroom/room_event.hpp", "chatroom/room_log.hpp",
              "chatroom/transport.hpp", "chatroom/protocol.hpp", "chatroom/renderer.hpp",
              "chatroom/line_framer.hpp", "chatroom/redis_options.hpp", "chatroom/detail/redis_connection.hpp",
              "chatroom/detail/redis_entry.hpp", "chatroom/detail/web_policy.hpp"}

MAX_LINES = 350
# Longer headers not split yet, with the length they may not pass.
LONG = {}


def rule_for(name: str):
    rest = name[len("chatroom/"):]
    key = rest.split("/", 1)[0]
    return RULES.get(key)


def main() -> int:
    root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2] / "include"
    problems, used_allowed = [], set()
    for path in sorted(root.glob("chatroom/**/*.hpp")):
        name = path.relative_to(root).as_posix()
        if name in FORWARDING:
            continue
        text = path.read_text()
        lines = text.count("\n")
        limit = LONG.get(name, MAX_LINES)
        if lines > limit:
            problems.append(f"{name}: {lines} lines, more than {limit}")
        allowed = rule_for(name)
        if allowed is None:
            problems.append(f"{name}: not in a known folder of the layout")
            continue
        for inc in INCLUDE.findall(text):
            if inc in FORWARDING:
                problems.append(f"{name}: includes the 2.x forwarding header {inc}")
            elif not any(inc == p or (p.endswith("/") and inc.startswith(p)) for p in allowed):
                if (name, inc) in ALLOWED:
                    used_allowed.add((name, inc))
                else:
                    problems.append(f"{name}: may not include {inc}")
    for edge in sorted(set(ALLOWED) - used_allowed):
        problems.append(f"allowed edge {edge[0]} -> {edge[1]} is gone: remove it from ALLOWED")
    for long_name in sorted(LONG):
        if not (root / long_name).exists():
            problems.append(f"{long_name} is listed as long but no longer exists: remove it from LONG")
    for p in problems:
        print(p)
    print(f"layout: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

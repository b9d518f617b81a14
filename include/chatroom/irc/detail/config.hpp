#pragma once

#include <chatroom/irc/detail/directory.hpp>
#include <chatroom/irc/options.hpp>
#include <chatroom/irc/renderer.hpp>

#include <chrono>
#include <utility>
#include <string>

namespace chatroom::irc::detail {

// What every connection of one IRC listener shares: its options, when it
// started (003), and one event renderer per combination of tag
// capabilities, so an event is rendered once per combination; and the
// directory of its connections (directory.hpp).
struct config {
    explicit config(irc_options o)
        : options(cleaned(std::move(o))),
          created(format_time(std::chrono::system_clock::now())),
          plain(options.server_name, no_tags),
          timed(options.server_name, server_time),
          tagged(options.server_name, message_tags),
          both(options.server_name, server_time | message_tags) {}

    const event_renderer& events(unsigned caps) const noexcept {
        switch (caps & (server_time | message_tags)) {
        case server_time: return timed;
        case message_tags: return tagged;
        case server_time | message_tags: return both;
        default: return plain;
        }
    }

    // Names that cannot break a line: letters, digits, '.', '-', '_' only.
    static irc_options cleaned(irc_options o) {
        for (std::string* name : {&o.server_name, &o.network}) {
            std::string kept;
            for (const char ch : *name)
                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                    ch == '-' || ch == '_')
                    kept += ch;
            *name = kept.empty() ? std::string("chatroom.irc") : kept;
        }
        return o;
    }

    irc_options options;
    std::string created;
    event_renderer plain, timed, tagged, both;
    mutable directory users; // its own lock: the rest is immutable
};

} // namespace chatroom::irc::detail

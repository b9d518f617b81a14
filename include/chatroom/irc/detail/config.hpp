#pragma once

#include <chatroom/irc/detail/directory.hpp>
#include <chatroom/irc/options.hpp>
#include <chatroom/irc/renderer.hpp>

#include <array>
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
          renderers{{{options.server_name, no_tags},
                     {options.server_name, server_time},
                     {options.server_name, message_tags},
                     {options.server_name, server_time | message_tags},
                     {options.server_name, account_tag},
                     {options.server_name, account_tag | server_time},
                     {options.server_name, account_tag | message_tags},
                     {options.server_name, account_tag | server_time | message_tags}}} {}

    // The renderer of the tags these capabilities add (away-notify adds
    // lines, not tags: the connection's, detail/connection.hpp).
    const event_renderer& events(unsigned caps) const noexcept {
        return renderers[(caps & (server_time | message_tags)) + ((caps & account_tag) ? 4 : 0)];
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
    std::array<event_renderer, 8> renderers; // by server-time, message-tags and account-tag
    mutable directory users; // its own lock: the rest is immutable
};

} // namespace chatroom::irc::detail

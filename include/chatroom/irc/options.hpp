#pragma once

/// @file
/// What an IRC listener (irc/listener.hpp) says of itself.

#include <chatroom/irc/message.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace chatroom {

/// The IRC listener's settings: names it gives itself in numerics and
/// sources. The rooms, nicks, limits and MOTD are the server's.
struct irc_options {
    /// The server's name: the source of numerics and notices, and the host
    /// part of every member's source (`nick!nick@server_name`): no member's
    /// address is shown. Only letters, digits, '.', '-' and '_' are kept
    /// (of network too); an empty name is "chatroom.irc".
    std::string server_name = "chatroom.irc";
    /// NETWORK in ISUPPORT (005), and named in 001.
    std::string network = "chatroom";
    /// The longest line read, tags included (CR LF not counted); a longer
    /// one is answered 417 and discarded.
    std::size_t max_line_bytes = irc::max_tag_bytes + irc::max_body_bytes;
    ///@{
    /// Keepalive: a connection that sends nothing for ping_interval is sent
    /// `PING :<server_name>`; when still nothing arrives within pong_timeout,
    /// it gets `ERROR :Closing link: <address> (Ping timeout: N seconds)` (N:
    /// the two together) and is dropped, and its channels see it QUIT with
    /// that reason. Any line counts, not only PONG. ping_interval 0: off;
    /// pong_timeout 0: ping_interval again.
    std::chrono::seconds ping_interval{120};
    std::chrono::seconds pong_timeout{60};
    ///@}
};

} // namespace chatroom

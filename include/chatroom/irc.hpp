#pragma once

/// @file
/// IRC clients in the same rooms (docs/irc.md): message parsing and writing
/// with IRCv3 tags, the framer, the renderer of room events, and
/// listen_irc. Opt-in; Asio only.
#include <chatroom/irc/framer.hpp>
#include <chatroom/irc/listener.hpp>
#include <chatroom/irc/message.hpp>
#include <chatroom/irc/options.hpp>
#include <chatroom/irc/renderer.hpp>

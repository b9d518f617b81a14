#pragma once

/// @file
/// The line protocol of telnet, nc and chatroom-client (docs/protocol.md):
/// the framer (with the server side of telnet), commands, reply texts and the
/// CRLF renderer.
#include <chatroom/line/command.hpp>
#include <chatroom/line/framer.hpp>
#include <chatroom/line/renderer.hpp>
#include <chatroom/line/replies.hpp>

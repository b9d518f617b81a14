#pragma once

/// @file
/// What a decoder (a dialect's bytes-to-lines half: line/framer.hpp for the
/// line protocol, the WebSocket decoder for browsers) hands to the core.
namespace chatroom {

/// What a decoder hands to its consumer.
enum class frame_event {
    line,     ///< a complete line, its end (LF, CR LF or CR NUL) and telnet commands removed
    too_long, ///< the current line passed the limit; the rest of it, up to its end, is discarded
};

} // namespace chatroom

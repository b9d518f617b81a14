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

/// What a decoder made of a line beyond its bytes, handed with the line to
/// the member's interpreter (a decoder calls on(frame_event::line, text, d)
/// instead of on(frame_event::line, text)): a dialect that must read a line
/// whole to split or refuse it (the browsers' JSON commands) reads it once,
/// and its interpreter takes the result. The core passes it on unread. A
/// dialect derives its own type from this; form() is an address that type
/// owns, so that an interpreter reads only the form it knows.
class decoded_line {
public:
    /// The address that names the deriving dialect's type (compare it with
    /// that dialect's own tag before reading the derived object).
    const void* form() const noexcept { return form_; }

protected:
    /// Made only as part of a dialect's own type, which passes its tag.
    explicit decoded_line(const void* form) noexcept : form_(form) {}
    /// Copied only as part of the deriving type.
    decoded_line(const decoded_line&) = default;
    /// Assigned only as part of the deriving type.
    decoded_line& operator=(const decoded_line&) = default;
    ~decoded_line() = default;

private:
    const void* form_;
};

} // namespace chatroom

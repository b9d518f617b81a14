#pragma once

#include <chatroom/core/decoder.hpp>

#include <string_view>

namespace chatroom::detail {

class commands;
class member;

// A dialect's interpreter: what a member's line means. Each member carries
// one beside its renderer (member.hpp), chosen by its session factory: the
// line protocol's (line/detail/interpreter.hpp) for telnet, nc, TLS and
// browsers today. It turns a line into requests to the core's operations
// (commands.hpp), which answer with typed replies that the member's renderer
// words. Called with the hub's lock held, once per line: the one virtual
// call a line costs for the seam (line or decoded, never both).
class interpreter {
public:
    virtual ~interpreter() = default;
    virtual void line(commands& core, member& m, std::string_view text) const = 0;
    // A line its decoder has read already (core/decoder.hpp): d is what the
    // decoder made of text, valid during the call. A dialect whose decoder
    // hands such lines over overrides this to act on d instead of reading
    // text again; by default the text is read as any line.
    virtual void decoded(commands& core, member& m, std::string_view text, const decoded_line& d) const {
        (void)d;
        line(core, m, text);
    }
    // Whether a new member starts in the lobby, as the line protocol's
    // always did; a dialect whose clients join their rooms themselves (IRC)
    // says no, and its members are in no room until they join one.
    virtual bool starts_in_lobby() const noexcept { return true; }
};

} // namespace chatroom::detail

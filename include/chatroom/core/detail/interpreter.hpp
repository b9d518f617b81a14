#pragma once

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
// call a line costs for the seam.
class interpreter {
public:
    virtual ~interpreter() = default;
    virtual void line(commands& core, member& m, std::string_view text) const = 0;
    // Whether a new member starts in the lobby, as the line protocol's
    // always did; a dialect whose clients join their rooms themselves (IRC)
    // says no, and its members are in no room until they join one.
    virtual bool starts_in_lobby() const noexcept { return true; }
};

} // namespace chatroom::detail

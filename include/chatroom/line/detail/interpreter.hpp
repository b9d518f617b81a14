#pragma once

#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/interpreter.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/line/command.hpp>

#include <string_view>

namespace chatroom::detail {

// The line protocol's interpreter (docs/protocol.md): a line is sanitized,
// then "/word ..." is a command and anything else is chat for the room.
class line_interpreter final : public interpreter {
public:
    void line(commands& core, member& m, std::string_view raw) const override {
        std::string_view text = raw;
        if (!is_plain_text(raw)) { // the common case skips the copy
            std::string& clean = core.scratch();
            clean.clear();
            sanitize_append(clean, raw);
            text = clean;
        }
        if (text.empty()) return;
        if (text.front() != '/') { // chat, the common case: no call into the parser
            protocol::command chat;
            chat.arg = text;
            return core.request(m, chat);
        }
        core.request(m, protocol::parse(text));
    }
};

// The one instance, shared by every line-protocol member.
inline const line_interpreter& line_interpreter_instance() noexcept {
    static const line_interpreter i;
    return i;
}

} // namespace chatroom::detail

#pragma once

#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/interpreter.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/line/command.hpp>
#include <chatroom/web/detail/json_command.hpp>

#include <string>
#include <string_view>

namespace chatroom::detail {

// The JSON dialect's interpreter (docs/web-protocol.md): a browser's command
// object becomes requests to the core, which answers with typed replies that
// json_renderer words. The session's decoder reads every message against the
// schema, answers the bad ones itself (web_decoder) and hands the others on
// with their command (decoded), so a message is read once; each string is
// sanitized as a line is. A member may be in several rooms: join adds one,
// part leaves one, and the commands that take a room address it
// (not_in_room when the member is not in it).
// Stateless: the one instance serves every JSON member, under the hub's lock.
class json_interpreter final : public interpreter {
public:
    // The decoder's command for its message.
    void decoded(commands& core, member& m, std::string_view raw, const decoded_line& d) const override {
        if (d.form() != &browser_command_form) return line(core, m, raw);
        run(core, m, static_cast<const browser_command&>(d));
    }

    // Text that no decoder read (a host's or a test's): read here. A
    // refusal has nobody to answer, and nothing happens.
    void line(commands& core, member& m, std::string_view raw) const override {
        browser_command c;
        if (!parse_browser_command(raw, c)) run(core, m, c);
    }

private:
    static void run(commands& core, member& m, const browser_command& c) {
        std::string a, b, room;
        history_query query;
        protocol::command cmd;
        auto clean = [](std::string& out, std::string_view in) {
            out.clear();
            sanitize_append(out, in);
            return std::string_view(out);
        };
        // The room the command addresses (empty: the member's current one).
        cmd.room = room_name(room, c.room);
        switch (c.kind) {
        case browser_command_kind::say:
            // Each line of text is a chat line; the core gathers those of
            // one message into one event.
            {
                std::size_t said = 0;
                for_each_line(c.text, [&](std::string_view l) {
                    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
                    if (!m.state.attached || clean(a, l).empty()) return;
                    cmd.arg = a;
                    core.request(m, cmd);
                    ++said;
                });
                // Flood control costs a line one token, and the hub charges
                // one per message: the other lines of a say pay here, so
                // that 20 lines cost what they cost typed on telnet (the
                // bucket is only read while flood control is on).
                if (said > 1) m.state.tokens -= static_cast<double>(said - 1);
            }
            return;
        case browser_command_kind::me:
            cmd.kind = protocol::command_kind::me;
            cmd.arg = clean(a, one_line(c.text));
            break;
        case browser_command_kind::join:
            // In addition to the rooms the member is in.
            cmd.kind = protocol::command_kind::join;
            cmd.arg = cmd.room;
            cmd.room = {};
            break;
        case browser_command_kind::part:
            cmd.kind = protocol::command_kind::part;
            cmd.text = clean(b, one_line(c.reason));
            break;
        case browser_command_kind::nick:
            cmd.kind = protocol::command_kind::nick;
            cmd.arg = clean(a, c.nick);
            break;
        case browser_command_kind::msg:
            cmd.kind = protocol::command_kind::msg;
            cmd.arg = clean(a, c.to);
            cmd.text = clean(b, one_line(c.text));
            break;
        case browser_command_kind::who: cmd.kind = protocol::command_kind::who; break;
        case browser_command_kind::rooms: cmd.kind = protocol::command_kind::rooms; break;
        case browser_command_kind::topic:
            cmd.kind = protocol::command_kind::topic;
            cmd.arg = protocol::trim(clean(a, one_line(c.text)));
            // Only "" clears the topic (with a room named): text that cleans
            // to nothing names no room, so the core answers with its usage.
            if (cmd.arg.empty() && !c.text.empty()) cmd.room = {};
            break;
        case browser_command_kind::history:
            cmd.kind = protocol::command_kind::history;
            if (c.before.empty() && c.after.empty()) {
                if (c.limit != 0) cmd.arg = a = std::to_string(c.limit);
                break;
            }
            // Older than an id ("load older"), or newer (what a client that
            // was away missed); the core checks the id and caps the limit.
            query.range = c.before.empty() ? history_range::after : history_range::before;
            query.id = c.before.empty() ? c.after : c.before;
            query.limit = c.limit != 0 ? static_cast<std::size_t>(c.limit) : 100;
            cmd.history = &query;
            break;
        case browser_command_kind::login:
            cmd.kind = protocol::command_kind::login;
            cmd.arg = clean(a, c.name);
            cmd.text = clean(b, c.secret);
            break;
        case browser_command_kind::quit:
            cmd.kind = protocol::command_kind::quit;
            cmd.arg = clean(a, one_line(c.reason));
            break;
        case browser_command_kind::help: cmd.kind = protocol::command_kind::help; break;
        case browser_command_kind::echo:
            // From now on its own chat, action and private messages come
            // back to it, with ids and times, marked own
            // (json_renderer::render_own): the page draws its lines from
            // them, where the room ordered them.
            m.state.echo = true;
            return;
        case browser_command_kind::line:
            // A line of the line protocol, as typed: the operator commands
            // and the host's custom commands.
            if (clean(a, one_line(c.text)).empty()) return;
            cmd = protocol::parse(a);
            break;
        }
        core.request(m, cmd);
    }

    // A room as named: sanitized, without a leading '#'.
    static std::string_view room_name(std::string& out, std::string_view in) {
        out.clear();
        sanitize_append(out, in);
        std::string_view name = protocol::trim(out);
        if (!name.empty() && name.front() == '#') name.remove_prefix(1);
        return name;
    }

    // CR and LF become spaces where one line is expected.
    static std::string one_line(std::string_view in) {
        std::string s(in);
        for (char& ch : s)
            if (ch == '\r' || ch == '\n') ch = ' ';
        return s;
    }
};

// The one instance, shared by every JSON member.
inline const json_interpreter& json_interpreter_instance() noexcept {
    static const json_interpreter i;
    return i;
}

} // namespace chatroom::detail

#pragma once

// IRCv3 batch and draft/chathistory over the core's history: the
// CHATHISTORY command (LATEST, BEFORE, AFTER, AROUND, BETWEEN) asked of the
// core as the JSON dialect asks its history pages (protocol::command's
// history query, answered later by a reply_kind::history that the
// connection words here as a `chathistory` batch), and the history
// replayed on JOIN wrapped in such a batch for a client that negotiated
// `batch`. Included by numerics.hpp, with the connection whole.

#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/irc/detail/chathistory_query.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/detail/requests.hpp>
#include <chatroom/irc/message.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::irc::detail {

// Answers a client may have under way at once; more are refused.
inline constexpr std::size_t max_histories_under_way = 16;

// A client's word as a middle parameter of a FAIL: '*' when it could not
// be one (empty, a blank in it, a leading ':'), else at most 64 bytes.
inline std::string shown_param(std::string_view s) {
    if (s.empty() || s.front() == ':' || s.find(' ') != std::string_view::npos) return "*";
    return std::string(split_utf8(s, 64).front());
}

// Lines of an event renderer (CR LF each) as one batch's: "batch=ID" first
// in their tags; LF-separated, as wording returns them.
inline std::string in_batch(std::string_view rendered, std::string_view id) {
    std::string out;
    while (!rendered.empty()) {
        std::size_t end = rendered.find("\r\n");
        std::string_view line = rendered.substr(0, end);
        rendered = end == std::string_view::npos ? std::string_view() : rendered.substr(end + 2);
        if (line.empty()) continue;
        if (!id.empty()) {
            out += "@batch=";
            out.append(id.data(), id.size());
            const bool tagged = line.front() == '@';
            if (tagged) line.remove_prefix(1);
            out += tagged ? ';' : ' ';
        }
        out.append(line.data(), line.size());
        out += '\n';
    }
    return out;
}

// The lines that answer an ask, as PRIVMSG (CTCP ACTION for /me) with
// their original time and msgid as the client's capabilities allow, in a
// `chathistory` batch when it negotiated batch. LF-separated.
inline std::string history_batch(const connection& c, const history_ask& a, const std::vector<history_line>& lines) {
    session_state& st = c.state();
    const bool batched = (st.caps & batch_cap) != 0;
    const std::string id = batched ? "h" + std::to_string(++st.batches) : std::string();
    std::string out = batched ? c.from_server("BATCH +" + id + " chathistory " + a.target) + '\n' : std::string();
    for (const history_line& l : lines) {
        room_event e;
        e.kind = l.line->action ? room_event_kind::action : room_event_kind::chat;
        e.room = a.room;
        e.nick = l.line->nick;
        e.time = l.line->time;
        e.log_id = l.index == 0 ? l.line->id : l.line->id + "-" + std::to_string(l.index);
        if (l.line->action) e.text = l.line->text;
        else e.add_line(l.line->text);
        std::string rendered;
        c.events().append_event(rendered, e);
        out += in_batch(rendered, id);
    }
    if (batched) out += c.from_server("BATCH -" + id) + '\n';
    return out;
}

// The core's answer to the oldest CHATHISTORY under way for its room.
inline std::string history_answer(const connection& c, const reply& r) {
    session_state& st = c.state();
    auto it = std::find_if(st.histories.begin(), st.histories.end(),
                           [&](const history_ask& a) { return r.subject.empty() || protocol::same_name(a.room, r.subject); });
    if (it == st.histories.end()) it = st.histories.begin();
    if (it == st.histories.end()) return {};
    const history_ask a = std::move(*it);
    st.histories.erase(it);
    if (r.kind != reply_kind::history)
        return c.from_server("FAIL CHATHISTORY MESSAGE_ERROR " + a.subcommand + " " + a.target +
                             " :Messages could not be retrieved" +
                             (r.kind == reply_kind::history_not_kept ? ": this server keeps no history" : ""));
    return history_batch(c, a, select_history(a, r.past));
}

// CHATHISTORY subcommand target ref [ref] limit, for a channel the client
// is in: checked, planned (chathistory_query.hpp) and asked of the core,
// whose answer comes later; errors as FAIL CHATHISTORY at once.
inline void chathistory(commands& core, member& m, const connection& c, const irc_message& msg) {
    session_state& st = c.state();
    const std::string sub = upper(msg.param(0));
    auto fail = [&](std::string_view code, const std::string& params, std::string_view text) {
        emit(st, c.from_server("FAIL CHATHISTORY " + std::string(code) + " " + params + " :" + std::string(text)));
    };
    if (sub == "TARGETS")
        return fail("INVALID_PARAMS", sub, "TARGETS is not supported: private messages are not kept");
    if (sub != "LATEST" && sub != "BEFORE" && sub != "AFTER" && sub != "AROUND" && sub != "BETWEEN")
        return fail("INVALID_PARAMS", shown_param(sub), "Unknown subcommand");
    const bool between = sub == "BETWEEN";
    if (msg.params.size() < (between ? 5u : 4u)) return fail("NEED_MORE_PARAMS", sub, "Missing parameters");
    const std::string target = shown_param(msg.params[1]);
    std::string room;
    const std::string name = room_of(msg.params[1], room) ? seat_in(m, room) : std::string();
    if (name.empty()) return fail("INVALID_TARGET", sub + " " + target, "Messages could not be retrieved");
    const auto first = parse_history_ref(msg.params[2], sub == "LATEST");
    if (!first) return fail("INVALID_PARAMS", sub + " " + shown_param(msg.params[2]), "Invalid message reference");
    std::optional<history_ref> second;
    if (between) {
        second = parse_history_ref(msg.params[3], false);
        if (!second || second->is != first->is)
            return fail("INVALID_PARAMS", sub + " " + shown_param(msg.params[3]),
                        "Invalid message reference (both must be msgid= or both timestamp=)");
    }
    const std::string& count = msg.params[between ? 4 : 3];
    const auto limit = chatroom::detail::parse_number(count);
    if (!limit) return fail("INVALID_PARAMS", sub + " " + shown_param(count), "Invalid limit");
    if (st.histories.size() >= max_histories_under_way)
        return fail("MESSAGE_ERROR", sub + " " + target, "Too many requests under way");
    history_ask a;
    a.subcommand = sub;
    a.target = channel_of(name);
    a.room = name;
    a.limit = *limit == 0 || *limit > c.history_page() ? c.history_page() : static_cast<std::size_t>(*limit);
    const history_query q = plan_history(a, *first, second ? &*second : nullptr, c.history_page());
    if (a.empty) return emit(st, history_batch(c, a, {}));
    st.histories.push_back(a);
    protocol::command cmd;
    cmd.kind = command_kind::history;
    cmd.room = name;
    cmd.history = &q;
    core.request(m, cmd);
}

// JOIN's request to the core: for a client that negotiated batch, the
// room's past the core replays goes in a `chathistory` batch, which the
// names that follow close (connection::names).
inline void ask_join(commands& core, member& m, const connection& c, std::string_view chan, const std::string& room) {
    session_state& st = c.state();
    st.replaying = (st.caps & batch_cap) != 0;
    ask(core, m, st, asked::join, chan, command_kind::join, room);
    st.replaying = false;
    if (seat_in(m, room).empty()) emit(st, c.end_replay()); // refused: no names follow
}

// A line of the room's past replayed to this client as it joins, in the
// join's `chathistory` batch (opened by the first).
inline message connection::replayed(const room_event& e) const {
    std::string out;
    if (st_.replay_batch.empty()) {
        st_.replay_batch = "h" + std::to_string(++st_.batches);
        out = from_server("BATCH +" + st_.replay_batch + " chathistory " + channel_of(e.room)) + "\r\n";
    }
    std::string rendered;
    events().append_event(rendered, e);
    const std::string lines = in_batch(rendered, st_.replay_batch);
    out += framed(lines);
    return message::copy_of(out);
}

// "BATCH -ID" for a join's replay batch still open (empty when none).
inline std::string connection::end_replay() const {
    if (st_.replay_batch.empty()) return {};
    const std::string id = std::exchange(st_.replay_batch, std::string());
    return from_server("BATCH -" + id) + '\n';
}

} // namespace chatroom::irc::detail

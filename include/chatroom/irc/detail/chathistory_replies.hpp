#pragma once

// The words of IRCv3 batch and draft/chathistory: the lines that answer a
// CHATHISTORY (or a JOIN's replay) as a `chathistory` batch, and FAIL when
// the core could not answer. Included at the end of numerics.hpp, with the
// connection whole; the command itself is chathistory.hpp.

#include <chatroom/core/names.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/irc/detail/chathistory_query.hpp>
#include <chatroom/irc/detail/connection.hpp>
#include <chatroom/irc/message.hpp>

#include <algorithm>
#include <cstddef>
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
        e.account = l.line->account;
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

} // namespace chatroom::irc::detail

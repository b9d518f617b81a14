#pragma once

// IRCv3 batch and draft/chathistory over the core's history: the
// CHATHISTORY command (LATEST, BEFORE, AFTER, AROUND, BETWEEN) asked of the
// core as the JSON dialect asks its history pages (protocol::command's
// history query, answered later by a reply_kind::history that the
// connection words here as a `chathistory` batch), and the history
// replayed on JOIN wrapped in such a batch for a client that negotiated
// `batch`. Its words are chathistory_replies.hpp.

#include <chatroom/core/command.hpp>
#include <chatroom/core/detail/commands.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/irc/detail/chathistory_query.hpp>
#include <chatroom/irc/detail/chathistory_replies.hpp>
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
inline void ask_join(commands& core, member& m, const connection& c, std::string_view chan, const std::string& room,
                     std::string_view key = {}) {
    session_state& st = c.state();
    st.replaying = (st.caps & batch_cap) != 0;
    ask(core, m, st, asked::join, chan, command_kind::join, room, key);
    st.replaying = false;
    if (seat_in(m, room).empty()) emit(st, c.end_replay()); // refused: no names follow
}

// A line of the room's past replayed to this client as it joins, in the
// join's `chathistory` batch (opened by the first).
inline shared_bytes connection::replayed(const room_event& e) const {
    std::string out;
    if (st_.replay_batch.empty()) {
        st_.replay_batch = "h" + std::to_string(++st_.batches);
        out = from_server("BATCH +" + st_.replay_batch + " chathistory " + channel_of(e.room)) + "\r\n";
    }
    std::string rendered;
    events().append_event(rendered, e);
    const std::string lines = in_batch(rendered, st_.replay_batch);
    out += framed(lines);
    return shared_bytes::copy_of(out);
}

// "BATCH -ID" for a join's replay batch still open (empty when none).
inline std::string connection::end_replay() const {
    if (st_.replay_batch.empty()) return {};
    const std::string id = std::exchange(st_.replay_batch, std::string());
    return from_server("BATCH -" + id) + '\n';
}

} // namespace chatroom::irc::detail

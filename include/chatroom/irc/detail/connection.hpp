#pragma once

#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/renderer.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/irc/detail/chathistory_query.hpp>
#include <chatroom/irc/detail/config.hpp>
#include <chatroom/irc/message.hpp>
#include <chatroom/irc/renderer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::irc::detail {

// What the interpreter asked the core last, so the reply that answers it is
// worded for that question (the core's `who` is NAMES or WHO, its `rooms`
// LIST, a TOPIC query, LUSERS or whether a room is open).
// (outside: a PRIVMSG to a channel the client is not in; numerics.hpp
// answers 404 when it may not speak there.)
enum class asked { none, welcome, join, names, who, list, topic, lusers, notice, nick, part, exists, outside };

// What started the login under way, whose verdict the connection words
// (login_replies.hpp): SASL, or PASS (OPER's are worded as /login's).
enum class login_via { none, sasl, pass };

// The longest AWAY message kept (AWAYLEN), in bytes.
inline constexpr std::size_t max_away_bytes = 200;

// Capabilities of the connection's own, beside the renderer's tag_caps:
// batch (chathistory answers and JOIN replays in a batch) and
// draft/chathistory (the CHATHISTORY command; chathistory.hpp).
inline constexpr unsigned batch_cap = 1u << 12;
inline constexpr unsigned chathistory_cap = 1u << 13;

// The user modes 004 advertises: exactly those 221 may show (user_modes.hpp).
inline constexpr std::string_view offered_user_modes = "iow";

// One IRC connection's state, beside its renderer: registration, the
// capabilities it negotiated, what it was told before registration (the
// MOTD), and bytes the interpreter has for the peer. Touched with the hub's
// lock held (the interpreter, the renderer, the decoder's replies, which the
// session hands over inside the hub's receive), or on the session's
// executor once the member has left (its last words).
struct session_state {
    bool registered = false;
    bool cap_negotiating = false; // CAP LS or REQ seen, END not yet
    bool got_user = false;
    bool registering = false;     // the interpreter is taking the nick from the core
    unsigned caps = no_tags;
    std::string wanted_nick; // NICK before registration
    std::string user, realname;
    std::vector<std::string> motd; // the server's welcome notices, for 375/372/376
    std::string last_joined;       // the room a joined_room named: a topic reply is its
    std::string pending;           // lines for the peer, sent after the line that made them
    asked question = asked::none;
    std::string target;            // the channel or nick asked about
    std::string who_format;        // WHO #chan's second argument (WHOX: "%fields,token") while it is answered
    std::string last_quit;         // the last QUIT told, and when it happened
    std::chrono::system_clock::time_point last_quit_time{};
    std::string away;              // AWAY's message; empty: not away
    std::string last_away, last_away_text; // the last AWAY told (away-notify), and when it happened
    std::chrono::system_clock::time_point last_away_time{};
    bool exists = false;           // the answer to asked::exists: the room asked about is open
    bool departed = false;         // remembered for WHOWAS already
    bool invisible = false;        // user mode +i: hidden from WHO masks of those sharing no channel
    bool wallops = false;          // user mode +w: kept and shown (the server sends no WALLOPS)
    std::deque<history_ask> histories; // CHATHISTORY asked, oldest first, until the core answers
    bool replaying = false;        // a JOIN with batch: the core's replay goes in a batch
    std::string replay_batch;      // that batch's id while it is open
    std::uint64_t batches = 0;     // batch ids given so far
    // Logging in (registration.hpp): the login under way, a SASL exchange's
    // base64 so far, PASS's password until its login starts, and a PASS
    // refused (464: every later line is ignored while the connection closes).
    login_via via = login_via::none;
    bool sasl_open = false;
    std::string sasl_payload;
    std::string password;
    bool pass_refused = false;
};

// The renderer of one IRC member: numerics need its nick, and what it gets
// depends on its registration and capabilities. Events that read alike for
// every member with its capabilities are rendered by the shared
// event_renderer for them (shared_for); the rest here.
class connection final : public renderer {
public:
    explicit connection(std::shared_ptr<const config> cfg) : cfg_(std::move(cfg)) {}
    // Its member is gone from the hub by now (the session owns this
    // renderer and outlives its time in the hub): nothing else reads it.
    ~connection() override {
        if (!self_) return;
        cfg_->users.remove(this);
        if (st_.registered && !st_.departed) cfg_->users.remember({self_->state.nick, st_.user, st_.realname});
    }
    // Remembered for WHOWAS once (QUIT, or the connection's end).
    void depart() const {
        if (!self_ || !st_.registered || st_.departed) return;
        st_.departed = true;
        cfg_->users.remember({self_->state.nick, st_.user, st_.realname});
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // The member this renderer words for, and the server's limit of rooms
    // per member (0: none), for CHANLIMIT; set once, before its session
    // starts. From then on the listener's directory lists it.
    void bind(const chatroom::detail::member& m, std::size_t room_limit, std::size_t history_page = 100) {
        self_ = &m;
        chanlimit_ = room_limit;
        history_page_ = history_page == 0 ? 1 : history_page;
        cfg_->users.add(this);
    }
    // Ends the connection (ERROR and all said before it go out first): set
    // once by the listener, called with the hub's lock held (a refused PASS).
    void on_drop(std::function<void(std::string)> drop) { drop_ = std::move(drop); }

    // Its member (null before bind); read its state with the hub's lock held.
    const chatroom::detail::member* self() const noexcept { return self_; }

    session_state& state() const noexcept { return st_; }
    // The most lines one history query answers (CHATHISTORY=, --history-page).
    std::size_t history_page() const noexcept { return history_page_; }
    const config& settings() const noexcept { return *cfg_; }
    const event_renderer& events() const noexcept { return cfg_->events(st_.caps); }
    // What shared_for answers a chat line or action with, kept at hand for
    // fan-out: called wherever registered or caps change.
    void refresh_share() const noexcept { share_chats_with(st_.registered ? &events() : nullptr); }

    // The member's nick as numerics name it: "*" until it is registered.
    // With the hub's lock held.
    std::string nick() const { return st_.registered && self_ ? self_->state.nick : std::string("*"); }

    // An away event, and the join of a member who is away, are worded here:
    // they read differently with away-notify.
    const renderer& shared_for(const room_event& e) const noexcept override {
        if (!st_.registered || e.kind == room_event_kind::away || (e.kind == room_event_kind::joined && !e.text.empty()))
            return *this;
        if (is_quit(e)) {
            // Said once to a member that shared several rooms with the one
            // quitting (render() words the copies as nothing); else the
            // QUIT is rendered once for every member with these
            // capabilities, this one noted as told.
            if (told_quit(e)) return *this;
            try {
                note_quit(e);
            } catch (...) {
                return *this; // render() notes it
            }
        }
        return events();
    }

    shared_bytes render(const room_event& e) const override {
        if (!st_.registered) {
            // A nick claimed across servers is decided later: its rename
            // completes the registration.
            if (e.kind == room_event_kind::renamed && !st_.registering && self_ && !st_.wanted_nick.empty() && e.nick == st_.wanted_nick &&
                self_->state.nick == e.nick) {
                st_.registered = true;
                refresh_share();
                return shared_bytes::copy_of(framed(welcome() + motd()));
            }
            return {};
        }
        if (is_quit(e)) {
            if (told_quit(e)) return {};
            note_quit(e);
        }
        if (st_.replaying && (e.kind == room_event_kind::chat || e.kind == room_event_kind::action)) return replayed(e);
        if (e.kind == room_event_kind::away || (e.kind == room_event_kind::joined && !e.text.empty())) return away_of(e);
        return events().render(e);
    }

    // With away-notify, an away event as AWAY, said once to a member that
    // shares several of the rooms told (appended together: one time), and an
    // away member's JOIN followed by its AWAY; without it, none and the JOIN.
    shared_bytes away_of(const room_event& e) const {
        const bool notify = (st_.caps & away_notify) != 0;
        if (e.kind == room_event_kind::joined) {
            std::string out;
            events().append_event(out, e);
            if (notify) {
                room_event a;
                a.kind = room_event_kind::away;
                a.nick = e.nick;
                a.account = e.account;
                a.text = e.text;
                a.time = e.time;
                events().append_event(out, a);
            }
            return shared_bytes::copy_of(out);
        }
        if (!notify || (e.nick == st_.last_away && e.text == st_.last_away_text &&
                        e.time - st_.last_away_time < std::chrono::seconds(1)))
            return {};
        st_.last_away = e.nick;
        st_.last_away_text = e.text;
        st_.last_away_time = e.time;
        return events().render(e);
    }

    std::string wording(const reply& r) const override;
    // A JOIN's replayed line in its batch, and the batch's end (chathistory.hpp).
    shared_bytes replayed(const room_event& e) const;
    std::string end_replay() const;

    // ---- lines the interpreter and the wording build ---------------------------

    // ":server CODE nick params... :text" (params may be empty; text is
    // cut to fit the line).
    std::string numeric(std::string_view code, std::string_view params, std::string_view text) const {
        const std::string& server = cfg_->options.server_name;
        const std::string_view me = st_.registered && self_ ? std::string_view(self_->state.nick) : std::string_view("*");
        std::string line;
        line.reserve(server.size() + code.size() + me.size() + params.size() + text.size() + 8);
        line += ':';
        line += server;
        line += ' ';
        line.append(code.data(), code.size());
        line += ' ';
        line.append(me.data(), me.size());
        if (!params.empty()) {
            line += ' ';
            line.append(params.data(), params.size());
        }
        line += " :";
        const std::size_t room = max_body_bytes - 2 > line.size() ? max_body_bytes - 2 - line.size() : 0;
        const std::string_view piece = first_utf8_piece(text, room);
        line.append(piece.data(), piece.size());
        return line;
    }
    // ":server COMMAND params": a line from the server.
    std::string from_server(std::string_view rest) const { return ":" + cfg_->options.server_name + " " + std::string(rest); }
    // ":nick!nick@host rest": a line from this member.
    // The member's own JOIN, PART and MODE, which the others get as room
    // events: stamped now with server-time, as theirs are.
    std::string from_self(std::string_view rest) const {
        std::string line = (st_.caps & server_time) ? "@time=" + format_time(std::chrono::system_clock::now()) + " " : std::string();
        return line + ":" + events().source(nick()) + " " + std::string(rest);
    }

    // 001-005 and the MOTD (or 422): what a client reads once registered.
    std::string welcome() const;
    std::string motd() const;
    // 353 and 366 for a room and its members.
    std::string names(std::string_view room, const std::vector<std::string>& nicks) const;
    // 352 (or WHOX's 354, as who_format asks) for each member of a room and
    // 315 (WHO #chan; who.hpp).
    std::string who_channel(std::string_view room, const std::vector<std::string>& nicks) const;

    // Lines separated by LF, each framed (CR LF), empty ones dropped.
    std::string framed(std::string_view lines) const {
        std::string out;
        while (!lines.empty()) {
            const std::size_t nl = lines.find('\n');
            append(out, lines.substr(0, nl));
            lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
        }
        return out;
    }

    std::size_t framed_size(std::size_t n) const noexcept override { return events().framed_size(n); }
    std::string_view line_break() const noexcept override { return "\r\n"; }
    char* frame(char* out, std::string_view a, std::string_view b) const noexcept override {
        return events().frame(out, a, b);
    }

private:
    // A quit is a left event in each room of the one quitting: said once to
    // a member that shared several of them (its copies are appended
    // together, so they carry one time).
    bool told_quit(const room_event& e) const noexcept {
        return e.nick == st_.last_quit && e.time - st_.last_quit_time < std::chrono::seconds(1);
    }
    void note_quit(const room_event& e) const {
        st_.last_quit = e.nick;
        st_.last_quit_time = e.time;
    }

    // The verdict of a login SASL or PASS started (login_replies.hpp):
    // false for a reply that is not one.
    bool login_reply(const reply& r, std::string& out) const;
    std::string numerics_of(const reply& r) const;
    // 251, 253, 254, 255, 265, 266 (numerics.hpp).
    std::string lusers_of(const std::vector<room_summary>& rooms) const;

    std::shared_ptr<const config> cfg_;
    const chatroom::detail::member* self_ = nullptr;
    std::size_t chanlimit_ = 0;
    std::size_t history_page_ = 100;
    mutable session_state st_;
    std::function<void(std::string)> drop_;
};

} // namespace chatroom::irc::detail

#include <chatroom/irc/detail/numerics.hpp>
#include <chatroom/irc/detail/login_replies.hpp>
#include <chatroom/irc/detail/who.hpp>

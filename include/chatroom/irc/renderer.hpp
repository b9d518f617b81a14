#pragma once

/// @file
/// Room events as IRC: a chat line is `:nick!nick@host PRIVMSG #room :text`
/// (`NOTICE` when it was said as a notice), an action a CTCP ACTION, joins,
/// leaves and renames JOIN, PART and NICK, a topic change TOPIC, a notice
/// from the host or the server a NOTICE from the server. Text longer
/// than a line allows is cut at UTF-8 boundaries, so no line passes 512
/// bytes (tags aside). Tags follow the capabilities a client negotiated:
/// `time` with server-time, `msgid` and a client's own `+tags` with
/// message-tags, `account` with account-tag, none without.
/// One event_renderer per combination is shared by every IRC member that
/// negotiated it (irc/detail/connection.hpp picks it), so an event is
/// rendered once per combination. render() is const and thread-safe.

#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/core/renderer.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/irc/message.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace chatroom::irc {

/// Which tags a client gets: one bit per IRCv3 capability that adds one.
enum tag_caps : unsigned {
    no_tags = 0,
    server_time = 1,  ///< `time=2026-12-06T15:17:38.123Z`
    message_tags = 2, ///< `msgid=...` (and the client may send tags)
    // Capabilities that add no tag (the connection's, not the renderer's):
    multi_prefix = 4,      ///< every prefix in NAMES and WHO (@+), not only the highest
    userhost_in_names = 8, ///< NAMES lists nick!user\@host
    away_notify = 16,      ///< AWAY lines of members sharing a channel (detail/connection.hpp)
    account_tag = 32,      ///< `account=NAME` on what a logged-in member says or does
};

/// Whether a left event is its member leaving the server (by QUIT, a lost
/// connection, a kick from the server, its server's loss), which IRC says
/// once, not per channel, as a QUIT. Only the core's flag decides: a PART
/// whose text reads "quit: ..." stays a PART.
inline bool is_quit(const room_event& e) { return e.kind == room_event_kind::left && e.left_server; }

/// The reason a QUIT gives for a left event that is_quit(), from the core's
/// words: "quit" is "Quit", "quit: why" "Quit: why", "connection lost: why"
/// the why ("Ping timeout: 180 seconds"), none (the client closed)
/// "Connection closed", any other as it is ("too slow", "server lost").
inline std::string quit_reason(const room_event& e) {
    const std::string_view r = e.reason;
    if (r == "quit") return "Quit";
    if (r.substr(0, 6) == "quit: ") return "Quit: " + std::string(r.substr(6));
    if (r.size() > 17 && r.substr(0, 17) == "connection lost: ") return std::string(r.substr(17));
    if (r.empty()) return "Connection closed";
    return std::string(r);
}

/// Room `dev` is channel `#dev`.
inline std::string channel_of(std::string_view room) { return "#" + std::string(room); }

/// "2026-12-06T15:17:38.123Z": a time as server-time writes it (UTC).
inline std::string format_time(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    long long days = ms / 86400000, rest = ms % 86400000;
    if (rest < 0) {
        rest += 86400000;
        --days;
    }
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    days += 719468;
    const long long era = (days >= 0 ? days : days - 146096) / 146097;
    const long long doe = days - era * 146097;
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long long mp = (5 * doy + 2) / 153;
    const long long d = doy - (153 * mp + 2) / 5 + 1;
    const long long m = mp < 10 ? mp + 3 : mp - 9;
    const long long y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    char buf[96];
    const long long s = rest / 1000;
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", y, m, d, s / 3600, s / 60 % 60,
                  s % 60, rest % 1000);
    return buf;
}

/// Writes room events as IRC lines for members with one combination of tag
/// capabilities; replies are the per-member renderer's (detail/connection.hpp),
/// which words them as numerics.
class event_renderer final : public renderer {
public:
    /// host: what follows the '@' of every user's source and is the
    /// server's name in its notices.
    event_renderer(std::string host, unsigned caps) : host_(std::move(host)), caps_(caps) {}

    /// The capabilities it renders for (a mask of the values above).
    unsigned caps() const noexcept { return caps_; }
    /// The host part of members' sources (nick!user\@host).
    const std::string& host() const noexcept { return host_; }

    shared_bytes render(const room_event& e) const override {
        if (e.kind == room_event_kind::chat && !e.text.empty()) {
            shared_bytes lines;
            if (render_chat(e, lines)) return lines;
        }
        std::string out;
        out.reserve(e.text.size() + 2 * e.nick.size() + host_.size() + e.room.size() + 96);
        append_event(out, e);
        return shared_bytes::copy_of(out);
    }

    /// A chat event's lines when each fits one IRC line and all carry the
    /// same tags (no msgid, whose "-N" differs line to line): the tags and
    /// ":nick!nick@host PRIVMSG #room :" are written once, then each line
    /// after them straight into the block, as append_event would write
    /// them. False, having done nothing, for any other.
    bool render_chat(const room_event& e, shared_bytes& out) const {
        if ((caps_ & message_tags) && (e.seq != 0 || !e.log_id.empty())) return false; // msgid
        const bool time = (caps_ & server_time) && e.time != std::chrono::system_clock::time_point{};
        const bool own = (caps_ & message_tags) && !e.client_tags.empty();
        const bool account = (caps_ & account_tag) && !e.account.empty();
        std::string head;
        head.reserve(e.client_tags.size() + e.account.size() + 2 * e.nick.size() + host_.size() + e.room.size() + 64);
        append_tags(head, e, account, own, {}, 0, time ? format_time(e.time) : std::string());
        const std::size_t tags = head.size();
        head += ':';
        head += e.nick;
        head += '!';
        head += e.nick;
        head += '@';
        head += host_;
        head += e.as_notice ? " NOTICE #" : " PRIVMSG #";
        head += e.room;
        head += " :";
        const std::size_t source = head.size() - tags;
        if (source + 2 + 4 > max_body_bytes) return false;
        const std::size_t room = max_body_bytes - 2 - source; // what a line's text may take
        std::size_t size = 0;
        bool fits = true;
        e.for_each_line([&](std::string_view l) {
            fits = fits && l.size() <= room;
            size += head.size() + l.size() + 2;
        });
        if (!fits) return false;
        out = shared_bytes::build(size, [&](char* w) {
            e.for_each_line([&](std::string_view l) {
                std::memcpy(w, head.data(), head.size());
                w += head.size();
                if (!l.empty()) std::memcpy(w, l.data(), l.size());
                w += l.size();
                *w++ = '\r';
                *w++ = '\n';
            });
        });
        return true;
    }

    /// Appends the event's lines, each ended by CR LF.
    void append_event(std::string& out, const room_event& e) const {
        // The tags of this event, the same on each of its lines but the
        // msgid's "-N" suffix: worked out once.
        const bool time = (caps_ & server_time) && e.time != std::chrono::system_clock::time_point{};
        const bool msgid = (caps_ & message_tags) && (e.seq != 0 || !e.log_id.empty());
        const std::string id = msgid ? (e.log_id.empty() ? std::to_string(e.seq) : e.log_id) : std::string();
        const std::string stamp = time ? format_time(e.time) : std::string();
        // A client's own tags, to those that negotiated message-tags only.
        const bool own = (caps_ & message_tags) && !e.client_tags.empty();
        const bool account = (caps_ & account_tag) && !e.account.empty();
        std::size_t n = 0; // lines so far, for a msgid per line
        auto tags = [&](std::string& o) {
            append_tags(o, e, account, own, id, n, stamp);
            if (msgid) ++n;
        };
        // ":nick!nick@host COMMAND [#]target :text", written straight into
        // out: a chat line is the hot path, rendered once per event.
        auto say = [&](std::string_view command, bool channel, std::string_view target, std::string_view text,
                       bool action) {
            const std::size_t head =
                3 + 2 * e.nick.size() + host_.size() + 1 + command.size() + 1 + (channel ? 1 : 0) + target.size() + 2;
            const std::size_t wrap = action ? 9 : 0; // "\1ACTION " and "\1"
            const std::size_t room = max_body_bytes - 2 - head - wrap;
            for_each_utf8_piece(text, room, [&](std::string_view piece) {
                tags(out);
                const std::size_t at = out.size();
                out.resize(at + head + wrap + piece.size() + 2);
                char* w = &out[at];
                auto put = [&w](std::string_view v) {
                    if (!v.empty()) std::memcpy(w, v.data(), v.size());
                    w += v.size();
                };
                *w++ = ':';
                put(e.nick);
                *w++ = '!';
                put(e.nick);
                *w++ = '@';
                put(host_);
                *w++ = ' ';
                put(command);
                *w++ = ' ';
                if (channel) *w++ = '#';
                put(target);
                put(" :");
                if (action) put("\x01" "ACTION ");
                put(piece);
                if (action) *w++ = '\x01';
                put("\r\n");
            });
        };
        auto plain = [&](const std::string& line) {
            tags(out);
            out += line;
            out += "\r\n";
        };
        // A line said as a notice (IRC's NOTICE) is relayed as one.
        const std::string_view verb = e.as_notice ? std::string_view("NOTICE") : std::string_view("PRIVMSG");
        switch (e.kind) {
        case room_event_kind::chat:
            // No text: a TAGMSG, to those that negotiated message-tags only.
            if (e.text.empty()) {
                if (own) plain(":" + source(e.nick) + " TAGMSG " + channel_of(e.room));
                break;
            }
            e.for_each_line([&](std::string_view l) { say(verb, true, e.room, l, false); });
            break;
        case room_event_kind::action: say("PRIVMSG", true, e.room, e.text, true); break;
        case room_event_kind::private_message: say(verb, false, e.target, e.text, false); break;
        case room_event_kind::joined: plain(":" + source(e.nick) + " JOIN " + channel_of(e.room)); break;
        case room_event_kind::left: {
            if (is_quit(e)) {
                plain(":" + source(e.nick) + " QUIT :" + std::string(split_utf8(quit_reason(e), 300).front()));
                break;
            }
            if (!e.kicked_by.empty()) { // out of the room by an operator's hand
                std::string line = ":" + source(e.kicked_by) + " KICK " + channel_of(e.room) + " " + e.nick;
                plain(line + " :" + std::string(split_utf8(e.reason.empty() ? e.kicked_by : e.reason, 300).front()));
                break;
            }
            std::string line = ":" + source(e.nick) + " PART " + channel_of(e.room);
            if (!e.reason.empty()) line += " :" + std::string(split_utf8(e.reason, 300).front());
            plain(line);
            break;
        }
        case room_event_kind::renamed: plain(":" + source(e.old_nick) + " NICK " + e.nick); break;
        case room_event_kind::notice: {
            const std::string head = ":" + host_ + " NOTICE " + channel_of(e.room) + " :";
            for (std::string_view piece : split_utf8(e.text, max_body_bytes - 2 - head.size()))
                plain(head + std::string(piece));
            break;
        }
        case room_event_kind::topic: {
            // From its setter, or from the server when the host set it; one
            // line: a topic past what a line holds is cut at a UTF-8 boundary.
            const std::string head =
                ":" + (e.nick.empty() ? host_ : source(e.nick)) + " TOPIC " + channel_of(e.room) + " :";
            plain(head + std::string(split_utf8(e.text, max_body_bytes - 2 - head.size()).front()));
            break;
        }
        case room_event_kind::mode: // "+o bob", "-t": one change, as checked (room_roles.hpp)
            plain(":" + (e.nick.empty() ? host_ : source(e.nick)) + " MODE " + channel_of(e.room) + " " + e.text);
            break;
        case room_event_kind::away: // to those with away-notify only (detail/connection.hpp)
            if (e.text.empty()) plain(":" + source(e.nick) + " AWAY");
            else plain(":" + source(e.nick) + " AWAY :" + std::string(split_utf8(e.text, 300).front()));
            break;
        }
    }

    /// "nick!nick@host": a member as IRC names a message's source.
    std::string source(std::string_view nick) const {
        std::string s;
        s.reserve(nick.size() * 2 + host_.size() + 2);
        s.append(nick.data(), nick.size());
        s += '!';
        s.append(nick.data(), nick.size());
        s += '@';
        s += host_;
        return s;
    }

    // Replies are worded per member (detail/connection.hpp); here a reply is
    // a notice from the server in the line protocol's words.
    std::string wording(const reply& r) const override { return ":" + host_ + " NOTICE * :" + r.detail; }

    std::size_t framed_size(std::size_t n) const noexcept override { return n == 0 ? 0 : n + 2; }
    std::string_view line_break() const noexcept override { return "\r\n"; }
    char* frame(char* out, std::string_view a, std::string_view b) const noexcept override {
        if (a.empty() && b.empty()) return out;
        if (!a.empty()) std::memcpy(out, a.data(), a.size());
        out += a.size();
        if (!b.empty()) std::memcpy(out, b.data(), b.size());
        out += b.size();
        *out++ = '\r';
        *out++ = '\n';
        return out;
    }

private:
    // A line's tags, in the one order both writers use (render_chat,
    // append_event): the speaker's account, the client's own tags, the msgid
    // (none: empty; "-N" on a line after the first) and the time (none:
    // empty), then a space; nothing without any.
    static void append_tags(std::string& o, const room_event& e, bool account, bool own, std::string_view msgid,
                            std::size_t n, std::string_view stamp) {
        if (!account && !own && msgid.empty() && stamp.empty()) return;
        const std::size_t at = o.size();
        auto next = [&] { o += o.size() == at ? '@' : ';'; };
        if (account) {
            next();
            o += "account=";
            append_escaped_tag_value(o, e.account);
        }
        if (own) {
            next();
            o += e.client_tags;
        }
        if (!msgid.empty()) {
            next();
            o += "msgid=";
            append_escaped_tag_value(o, msgid);
            if (n > 0) {
                o += '-';
                o += std::to_string(n);
            }
        }
        if (!stamp.empty()) {
            next();
            o += "time=";
            o += stamp;
        }
        o += ' ';
    }

    std::string host_;
    unsigned caps_;
};

} // namespace chatroom::irc

#pragma once

#include <chatroom/core/detail/chat_batch.hpp>
#include <chatroom/core/detail/fanout.hpp>
#include <chatroom/core/detail/host_events.hpp>
#include <chatroom/core/detail/host_rooms.hpp>
#include <chatroom/core/detail/member.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/events.hpp>
#include <chatroom/core/shared_bytes.hpp>
#include <chatroom/core/names.hpp>
#include <chatroom/core/options.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>
#include <chatroom/core/room_log.hpp>
#include <chatroom/core/sanitize.hpp>
#include <chatroom/core/stats.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatroom::detail {

// Who is in which room: members enter and leave rooms (several at once, up
// to max_rooms_per_member; the line protocol's one), rooms open with their
// first member and close with their last (unless the host keeps them), the
// room hears joins and leaves, and a shared log hears every room of a
// member. Guarded by the hub's lock.
class membership {
public:
    struct parts {
        const server_options& opts;
        counters& count;
        room_directory& rooms;
        fanout& out;
        host_events& events;
        host_rooms& policy;
        chat_batch& batch;
    };

    explicit membership(parts p) : p_(p) {}

    void set_log(room_log& log) noexcept { log_ = &log; }
    void set_stopping() noexcept { stopping_ = true; }
    // Rooms opened since the last call (the hub fills their history).
    std::vector<std::string> take_opened() { return std::exchange(opened_, {}); }

    // The room a request names, if m is in it; m's current room when it names none.
    static room* room_of(const member& m, std::string_view name) {
        if (name.empty()) return m.state.current();
        for (const member_state::seat& s : m.state.seats)
            if (protocol::same_name(s.in->name(), name)) return s.in;
        return nullptr;
    }

    // The nicks of a room's members and of others (a shared log's remote
    // members), sorted case-insensitively (a /who, an IRC JOIN's NAMES).
    // Sorted as pointers, each with its first 8 folded bytes as one number
    // (big-endian, zero-padded: the same order as comparing those bytes),
    // so most comparisons are one; equal prefixes compare in full.
    static std::vector<std::string> sorted_nicks(const room& r, const std::vector<std::string>& others) {
        struct keyed {
            std::uint64_t prefix;
            const std::string* nick;
        };
        std::vector<keyed> order;
        order.reserve(others.size() + r.members().size());
        auto add = [&](const std::string& n) {
            std::uint64_t k = 0;
            for (std::size_t i = 0; i < 8; ++i)
                k = k << 8 | (i < n.size() ? static_cast<unsigned char>(protocol::fold_char(n[i])) : 0u);
            order.push_back({k, &n});
        };
        for (const std::string& n : others) add(n);
        for (const member* x : r.members()) add(x->state.nick);
        std::sort(order.begin(), order.end(), [](const keyed& a, const keyed& b) {
            return a.prefix != b.prefix ? a.prefix < b.prefix : protocol::name_less(*a.nick, *b.nick);
        });
        std::vector<std::string> nicks;
        nicks.reserve(order.size());
        for (const keyed& k : order) nicks.push_back(*k.nick);
        return nicks;
    }

    static bool share_a_room(const member& a, const member& b) {
        for (const member_state::seat& s : a.state.seats)
            if (room_of(b, s.in->name()) == s.in) return true;
        return false;
    }

    // Why m may not go to room_name, if it may not: a bad name, in it
    // already, a limit, the host's room options. switching: m leaves its
    // current room for it (the line protocol's /join), so only the
    // server's limit on open rooms applies. key: what the member gave for
    // a room with +k (room_roles.hpp).
    std::optional<reply> refusal(const member& m, std::string_view room_name, bool switching,
                                 std::string_view key = {}) {
        if (!protocol::is_valid_name(room_name)) return reply::of(reply_kind::bad_room);
        if (room* in = room_of(m, room_name); in && (!switching || in == m.state.current()))
            return reply::of(reply_kind::already_in, in->name());
        const std::size_t per_member = p_.opts.max_rooms_per_member, per_server = p_.opts.max_rooms;
        if (!switching && per_member && m.state.seats.size() >= per_member)
            return too_many(room_name, per_member, {});
        if (per_server && p_.rooms.size() >= per_server && !p_.rooms.find(room_name))
            return too_many(room_name, per_server, "server");
        if (const room* r = p_.rooms.find(room_name);
            r && ((r->roles().modes() & (mode_invite_only | mode_key | mode_limit)) || !r->roles().bans().list().empty()))
            if (auto no = settings_refusal(m, *r, key)) return no;
        if (!p_.policy.empty()) return p_.policy.join_refusal(m, room_name);
        return std::nullopt;
    }

    // The room of that name open on this server, if any.
    room* find_room(std::string_view name) { return p_.rooms.find(name); }

    // Puts m in a room, creating the room, and greets it there: the room's
    // name and size, its topic, its kept history.
    void enter(member& m, std::string_view name) {
        bool created = false;
        room& r = p_.rooms.find_or_create(name, created);
        if (created) {
            counters::add(p_.count.rooms);
            log_->room_opened(r.name());
            opened_.push_back(r.name());
        }
        if (created) r.roles().set_created(seconds_now());
        r.add(m);
        r.roles().uninvite(m.state.nick);
        publish_presence(m);
        if (announces(r.size() - 1)) {
            room_event e = event_of(room_event_kind::joined, m, &r);
            if (m.state.away) e.text = *m.state.away; // those told of away members hear it after the join
            log_->append(e);
        }
        std::vector<std::string> elsewhere;
        log_->remote_members(r.name(), elsewhere);
        // The first member of a room nobody is in (on any server this one
        // knows of) becomes its operator (room_roles.hpp); not in the lobby.
        if (r.size() == 1 && elsewhere.empty() && !r.roles().any_op() && !protocol::same_name(r.name(), protocol::lobby))
            grant_first(m, r);
        std::string hello;
        m.dialect().append(hello, reply::joined_room(r.name(), r.size() + elsewhere.size()));
        if (!r.topic().empty()) {
            reply topic = reply::topic(r.name(), r.topic());
            topic.extra = r.topic_by(); // who set it and when (IRC's 333)
            topic.count = static_cast<std::size_t>(r.topic_time());
            m.dialect().append(hello, topic);
        }
        p_.out.push(m, shared_bytes::copy_of(hello));
        for (const room_event& past : r.history()) p_.out.push(m, m.dialect().render(past));
        p_.events.emit(server_event_kind::joined, m, r.name());
    }

    // m leaves r, which hears why (reason may be empty). publish: the shared
    // log hears where m is now (not when m is leaving the server: gone()
    // says that at once). kicked_by: the operator who put m out of the room
    // (m hears it too).
    void leave(member& m, room& r, std::string_view reason, bool publish = true, bool left_server = false,
               std::string_view kicked_by = {}) {
        p_.batch.end_of(m, &r);
        room_event e = event_of(room_event_kind::left, m, &r);
        e.reason = std::string(reason);
        e.left_server = left_server;
        e.kicked_by = std::string(kicked_by);
        if (!kicked_by.empty()) p_.out.push(m, m.dialect().render(e));
        r.roles().forget(m.state.nick);
        r.remove(m);
        if (publish) publish_presence(m);
        if ((!r.empty() || log_->shared()) && !stopping_ && announces(r.size())) log_->append(e);
        p_.events.emit(server_event_kind::left, m, r.name(), {}, reason);
        if (r.empty() && !p_.policy.keeps(r.name())) {
            p_.policy.erase(r.name());
            log_->room_closed(r.name());
            p_.rooms.erase(r);
            counters::sub(p_.count.rooms);
        }
    }

    // m leaves every room it is in, each hearing why.
    void leave_all(member& m, std::string_view reason) {
        while (!m.state.seats.empty()) leave(m, *m.state.seats.back().in, reason, false, true);
    }

    // Tells a shared log where m is: each of its rooms, by name.
    void publish_presence(const member& m) {
        if (!log_->wants_presence()) return;
        std::vector<std::string_view> names;
        names.reserve(m.state.seats.size());
        for (const member_state::seat& s : m.state.seats) names.push_back(s.in->name());
        log_->presence(m.state.nick, names);
    }

    // An event of m's in r (none: a private message).
    static room_event event_of(room_event_kind kind, const member& m, const room* r) {
        room_event e;
        e.kind = kind;
        if (r) e.room = r->name();
        e.nick = m.state.nick;
        e.account = m.state.account;
        e.origin = m.id();
        return e;
    }

    // m is away with text as its message (sanitized, at most max_away_bytes
    // at a UTF-8 boundary), or back (none): an away event in each of its
    // rooms, for the dialects that tell it (IRC's away-notify). Nothing when
    // nothing changed.
    void set_away(member& m, std::string_view text) {
        std::string clean;
        sanitize_append(clean, text.substr(0, utf8_cut(text, max_away_bytes)));
        if (clean == (m.state.away ? std::string_view(*m.state.away) : std::string_view())) return;
        m.state.away = clean.empty() ? nullptr : std::make_unique<const std::string>(clean);
        for (const member_state::seat& s : m.state.seats) {
            room_event e = event_of(room_event_kind::away, m, s.in);
            e.text = clean;
            log_->append(e);
        }
    }

    // The longest AWAY message kept (IRC's AWAYLEN), in bytes.
    static constexpr std::size_t max_away_bytes = 200;

    // Bytes of the longest start of text of at most max that ends at a
    // UTF-8 character boundary.
    static std::size_t utf8_cut(std::string_view text, std::size_t max) noexcept {
        if (text.size() <= max) return text.size();
        while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80) --max;
        return max;
    }

private:
    static std::int64_t seconds_now() {
        using namespace std::chrono;
        return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
    }

    // A room's +b, +i, +k, +l (room_roles.hpp): none stops the server's
    // operators; an invitation lets in past all but a ban.
    std::optional<reply> settings_refusal(const member& m, const room& r, std::string_view key) {
        const room_roles& s = r.roles();
        if (m.state.op) return std::nullopt;
        if (r.banned(m)) return reply::of(reply_kind::room_banned, r.name());
        if (s.is_invited(m.state.nick)) return std::nullopt;
        if (s.has(mode_invite_only)) return reply::of(reply_kind::room_private, r.name());
        if (s.has(mode_key) && key != s.key()) return reply::of(reply_kind::bad_key, r.name());
        if (s.has(mode_limit)) {
            std::vector<std::string> elsewhere;
            log_->remote_members(r.name(), elsewhere);
            if (r.size() + elsewhere.size() >= s.limit()) {
                reply full = reply::of(reply_kind::room_full, r.name());
                full.count = s.limit();
                return full;
            }
        }
        return std::nullopt;
    }

    // The server makes m the operator of r: an event, so other servers
    // know; applied here at once too (a shared log delivers it later).
    void grant_first(member& m, room& r) {
        mode_change c{true, 'o', m.state.nick};
        r.roles().apply(c);
        room_event e;
        e.kind = room_event_kind::mode;
        e.room = r.name();
        e.text = mode_text(c);
        e.origin = m.id(); // m knows: it is alone in the room
        log_->append(e);
    }

    static reply too_many(std::string_view room_name, std::size_t limit, std::string_view whose) {
        reply r = reply::of(reply_kind::too_many_rooms, room_name);
        r.count = limit;
        r.extra = std::string(whose);
        return r;
    }

    // Joins and leaves are announced in rooms smaller than quiet_room_size
    // (counting the others: each announcement costs a delivery per member).
    bool announces(std::size_t others) const noexcept {
        return p_.opts.quiet_room_size == 0 || others < p_.opts.quiet_room_size;
    }

    parts p_;
    room_log* log_ = nullptr;
    bool stopping_ = false;
    std::vector<std::string> opened_;
};

} // namespace chatroom::detail

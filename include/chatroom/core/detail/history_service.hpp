#pragma once

// Where a hub's history questions go: the host's store (SQLite, ...) when it
// set one, else the rooms' rings in memory. It keeps each ordered message in
// the store, answers queries (a member's /history, the host's
// async_history), and, when a room opens with a store behind it, fills the
// room's ring from the store so joiners get lines said before a restart with
// their original ids and times. Hub is the hub (hub.hpp), which makes this
// its friend.

#include <chatroom/core/detail/history_ring.hpp>
#include <chatroom/core/detail/room.hpp>
#include <chatroom/core/command.hpp>
#include <chatroom/core/history.hpp>
#include <chatroom/core/reply.hpp>
#include <chatroom/core/room_event.hpp>

#include <asio/post.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace chatroom::detail {

struct history_service {
    // A member's /history, asked once the hub's lock is released.
    struct request {
        std::weak_ptr<member> who;
        history_query query;
    };

    // A history request from m about room (one it is in): a dialect's
    // whole query (cmd.history), or "/history [N]", the latest N (20 when
    // not given). Capped at page; nullopt for an N that is not a positive
    // number or a query with no limit.
    static std::optional<request> asked(member& m, const std::string& room, const protocol::command& cmd,
                                        std::size_t page) {
        request r{m.weak_from_this(), {}};
        if (cmd.history) {
            if (cmd.history->limit == 0) return std::nullopt;
            r.query = *cmd.history;
        } else {
            std::uint64_t lines = 20;
            if (!cmd.arg.empty()) {
                const auto n = parse_number(cmd.arg);
                if (!n || *n == 0) return std::nullopt;
                lines = *n;
            }
            r.query.limit = static_cast<std::size_t>(std::min<std::uint64_t>(lines, page));
        }
        r.query.room = room;
        r.query.limit = std::min(r.query.limit, page);
        return r;
    }

    std::unique_ptr<history_store> store;

    // Under the hub's lock, for every ordered event.
    void keep(const room_event& e) {
        // Not a chat event without text (IRC's TAGMSG: room_event::client_tags).
        if (store && ((e.kind == room_event_kind::chat && !e.text.empty()) || e.kind == room_event_kind::action))
            store->keep(e);
    }

    // Answers q (its limit capped at the page size); done(ec, page) runs
    // later on the hub's executor, with no lock held. Called unlocked.
    template <class Hub, class Done>
    static void ask(Hub& h, history_query q, Done done) {
        q.limit = std::min(q.limit, h.opts_.history_page);
        auto later = [self = h.shared_from_this(), done = std::move(done)](std::error_code ec, history_page page) mutable {
            asio::post(self->ex_, [done = std::move(done), ec, page = std::move(page)]() mutable {
                done(ec, std::move(page));
            });
        };
        history_store* store = nullptr;
        std::error_code ec;
        history_page page;
        h.locked([&] {
            if (h.admission_.closed()) ec = make_error_code(history_errc::stopping);
            else if ((store = h.history_.store.get())) return;
            else if (h.opts_.history_lines == 0) ec = make_error_code(history_errc::not_kept);
            else if (const room* r = h.rooms_.find(q.room)) ec = r->ring().answer(q, h.opts_.history_page, page);
        });
        if (store) return store->query(q, std::move(later));
        later(ec, std::move(page));
    }

    // A room opened here: its ring is filled from the store (the latest
    // history_lines), and the members already in it get those lines.
    template <class Hub>
    static void room_opened(Hub& h, const std::string& room) {
        // A shared log (a backplane) replays a room that opens itself.
        if (!h.history_.store || h.opts_.history_lines == 0 || h.log_->shared()) return;
        history_query q;
        q.room = room;
        q.limit = h.opts_.history_lines;
        h.history_.store->query(q, [self = h.shared_from_this(), room](std::error_code ec, history_page page) {
            if (ec || page.events.empty()) return;
            asio::post(self->ex_, [self, room, page = std::move(page)] { replay_older(*self, room, page.events); });
        });
    }

    // Lines of a room's past from the store, older than its ring: kept, and
    // sent to the members already in the room.
    template <class Hub>
    static void replay_older(Hub& h, const std::string& room_name, const std::vector<room_event>& past) {
        h.locked([&] {
            auto* r = h.rooms_.find(room_name);
            if (!r) return;
            const std::size_t added = r->ring().remember_older(past);
            for (member* m : r->members())
                for (std::size_t i = 0; i < added; ++i) h.out_.push(*m, m->dialect().render(r->history()[i]));
        });
    }

    // /history's answer, as the member's dialect words it. A store counts
    // messages, and one may hold several lines: the answer holds at most
    // `lines` lines. latest: the last lines (/history N prints N lines, as
    // in 2.0). The others, which a client pages through by id, in whole
    // messages: the newest for before, the oldest for after and between
    // (what a reconnecting client missed, in order); a single message
    // longer than `lines` comes whole.
    static reply answer_of(const std::string& room, std::error_code ec, const history_page& page, std::size_t lines,
                           history_range range = history_range::latest) {
        if (ec == history_errc::not_kept) return reply::of(reply_kind::history_not_kept);
        if (ec) return reply::of(reply_kind::history_failed, {}, ec.message());
        reply r = reply::of(reply_kind::history, room);
        r.count = page.unavailable ? 1 : 0;
        const bool oldest_first = range == history_range::after || range == history_range::between;
        std::size_t first = 0, last = page.events.size(), total = 0; // the messages kept: [first, last)
        auto size_of = [](const room_event& e) { return e.kind == room_event_kind::action ? 1 : e.line_count; };
        if (oldest_first) {
            for (last = 0; last < page.events.size(); ++last) {
                const std::size_t n = size_of(page.events[last]);
                if (last > 0 && total + n > lines) break;
                total += n;
            }
        } else {
            for (first = page.events.size(); first > 0; --first) {
                const std::size_t n = size_of(page.events[first - 1]);
                if (first < page.events.size() && total + n > lines) break;
                total += n;
            }
        }
        const bool cut_lines = range == history_range::latest;
        if (cut_lines) first = 0, last = page.events.size();
        for (std::size_t i = first; i < last; ++i) {
            const room_event& e = page.events[i];
            const std::string id = id_of(e);
            if (e.kind == room_event_kind::action) {
                r.past.push_back({e.time, e.nick, e.text, true, id, e.account});
                continue;
            }
            e.for_each_line(
                [&](std::string_view line) { r.past.push_back({e.time, e.nick, std::string(line), false, id, e.account}); });
        }
        r.more = page.more || (oldest_first ? last < page.events.size() : first > 0);
        if (cut_lines && r.past.size() > lines) {
            r.past.erase(r.past.begin(), r.past.end() - static_cast<std::ptrdiff_t>(lines));
            r.more = true;
        }
        return r;
    }
};

} // namespace chatroom::detail

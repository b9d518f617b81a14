#pragma once

// A room's last lines in memory (--history N): what a joiner is sent, and
// the history store of a server that has no other. One line an entry: a
// chat event of several lines is kept as one entry per line, all with the
// event's id and time. Guarded by the hub's lock.

#include <chatroom/core/history.hpp>
#include <chatroom/core/room_event.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace chatroom::detail {

// A message id as two numbers that compare in the room's order: the
// in-process log's "41" is {41, 0}, a Redis stream id "MS-N" is {MS, N}.
struct message_key {
    std::uint64_t major = 0;
    std::uint64_t minor = 0;
    friend bool operator<(const message_key& a, const message_key& b) noexcept {
        return a.major != b.major ? a.major < b.major : a.minor < b.minor;
    }
    friend bool operator<=(const message_key& a, const message_key& b) noexcept { return !(b < a); }
};

inline std::optional<std::uint64_t> parse_number(std::string_view s) noexcept {
    std::uint64_t v = 0;
    if (s.empty() || s.size() > 20) return std::nullopt;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// "41" or "MS-N"; nullopt for anything else (an id from outside is untrusted).
inline std::optional<message_key> parse_message_id(std::string_view id) noexcept {
    const std::size_t dash = id.find('-');
    if (dash == std::string_view::npos) {
        auto n = parse_number(id);
        if (!n) return std::nullopt;
        return message_key{*n, 0};
    }
    auto ms = parse_number(id.substr(0, dash));
    auto n = parse_number(id.substr(dash + 1));
    if (!ms || !n) return std::nullopt;
    return message_key{*ms, *n};
}

inline message_key key_of(const room_event& e) noexcept {
    if (e.log_id.empty()) return {e.seq, 0};
    return parse_message_id(e.log_id).value_or(message_key{});
}

class history_ring {
public:
    explicit history_ring(std::size_t limit) : limit_(limit) {}

    std::size_t limit() const noexcept { return limit_; }
    const std::deque<room_event>& events() const noexcept { return kept_; }

    // Chat lines and actions, one line an entry.
    void remember(const room_event& e) {
        if (limit_ == 0) return;
        if (e.kind == room_event_kind::chat && e.line_count != 1) {
            e.for_each_line([&](std::string_view line) {
                room_event one = e;
                one.clear_text();
                one.add_line(line);
                keep(std::move(one));
            });
        } else if (e.kind == room_event_kind::chat || e.kind == room_event_kind::action) {
            keep(e);
        }
    }

    // Events of the room's past read from elsewhere (a store) that are older
    // than everything kept: put before it, as far as the limit allows.
    // Returns how many entries were added at the front.
    std::size_t remember_older(const std::vector<room_event>& past) {
        if (limit_ == 0) return 0;
        history_ring older(limit_);
        for (const room_event& e : past)
            if (kept_.empty() || key_of(e) < key_of(kept_.front())) older.remember(e);
        std::size_t taken = 0;
        while (!older.kept_.empty() && kept_.size() < limit_) {
            kept_.push_front(std::move(older.kept_.back()));
            older.kept_.pop_back();
            ++taken;
        }
        return taken;
    }

    // Answers q from what is kept (at most page entries); bad_query for an
    // id that is not one.
    std::error_code answer(const history_query& q, std::size_t page, history_page& out) const {
        const std::size_t n = std::min(q.limit, page);
        out = {};
        std::optional<message_key> from, to;
        if (q.range != history_range::latest && !(q.range == history_range::between && q.id.empty())) {
            from = parse_message_id(q.id);
            if (!from) return make_error_code(history_errc::bad_query);
        }
        if (q.range == history_range::between && !q.id.empty()) {
            to = parse_message_id(q.until_id);
            if (!to || *to < *from) return make_error_code(history_errc::bad_query);
        }
        if (q.range == history_range::between && q.id.empty() && q.until < q.since)
            return make_error_code(history_errc::bad_query);
        auto first_after = [&](message_key k) {
            return std::find_if(kept_.begin(), kept_.end(), [&](const room_event& e) { return k < key_of(e); });
        };
        switch (q.range) {
        case history_range::latest: return take_last(kept_.end(), n, out);
        case history_range::before:
            return take_last(std::find_if(kept_.begin(), kept_.end(), [&](const room_event& e) { return *from <= key_of(e); }),
                             n, out);
        case history_range::after:
            if (trimmed_ && *from < trimmed_through_) { // what followed it is gone
                out.unavailable = true;
                return take_last(kept_.end(), n, out);
            }
            return take_first(first_after(*from), [](const room_event&) { return true; }, n, out);
        case history_range::between:
            if (from)
                return take_first(std::find_if(kept_.begin(), kept_.end(), [&](const room_event& e) { return *from <= key_of(e); }),
                                  [&](const room_event& e) { return key_of(e) <= *to; }, n, out);
            return take_first(std::find_if(kept_.begin(), kept_.end(), [&](const room_event& e) { return q.since <= e.time; }),
                              [&](const room_event& e) { return e.time <= q.until; }, n, out);
        }
        return {};
    }

private:
    void keep(room_event e) {
        if (kept_.size() == limit_) {
            trimmed_ = true;
            trimmed_through_ = key_of(kept_.front());
            kept_.pop_front();
        }
        kept_.push_back(std::move(e));
    }

    using iterator = std::deque<room_event>::const_iterator;

    // The n entries before end (more: some older remain).
    std::error_code take_last(iterator end, std::size_t n, history_page& out) const {
        const std::size_t before = static_cast<std::size_t>(end - kept_.begin());
        const std::size_t count = std::min(n, before);
        out.events.assign(end - static_cast<std::ptrdiff_t>(count), end);
        out.more = before > count;
        return {};
    }

    // Up to n entries from begin while in(e) holds (more: another follows).
    template <class In>
    std::error_code take_first(iterator it, In in, std::size_t n, history_page& out) const {
        for (; it != kept_.end() && in(*it); ++it) {
            if (out.events.size() == n) {
                out.more = true;
                break;
            }
            out.events.push_back(*it);
        }
        return {};
    }

    std::deque<room_event> kept_;
    std::size_t limit_;
    bool trimmed_ = false;        // an entry was ever dropped to make room
    message_key trimmed_through_; // the last one dropped
};

} // namespace chatroom::detail
